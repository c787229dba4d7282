/* addr.c: a Vault address parsed with libcurl's URL API, and the plain-http guard. */
#include "addr.h"
#include "dl.h"
#include "exitcodes.h"
#include "secret.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A part of u as a copy of ours (curl's own is freed at once), or NULL. */
static char *
part(CURLU *u, CURLUPart what, unsigned int flags)
{
	char *p = NULL, *copy;

	if (curl_url_get(u, what, &p, flags) != CURLUE_OK || p == NULL)
		return NULL;
	copy = xstrdup(p);
	curl_free(p);
	return copy;
}

int
addr_loopback_host(const char *host)
{
	unsigned char a[16];
	char buf[64];
	size_t n;

	if (host == NULL)
		return 0;
	n = strlen(host);
	/* curl resolves "localhost" to the loopback itself (RFC 6761). */
	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (n < 3 || n - 2 >= sizeof(buf) || host[0] != '[' ||
	    host[n - 1] != ']')
		return 0;
	memcpy(buf, host + 1, n - 2);
	buf[n - 2] = '\0';
	if (strchr(buf, '%') != NULL || inet_pton(AF_INET6, buf, a) != 1)
		return 0;
	/* ::1, or ::ffff:127.x.y.z */
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
		return 1;
	return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
	    a[12] == 127;
}

/* unix://PATH: everything after the scheme is the socket (ParseAddress). */
static int
parse_unix(const char *url, struct vault_addr *a, char *err, size_t errlen)
{
	const char *path = url + 7;

	if (*path == '\0')
		return errf(err, errlen, "Vault address \"unix://\" names no "
		    "socket; write it like unix:///run/vault-agent.sock");
	a->socket = xstrdup(path);
	a->base = xstrdup("http://localhost/v1/");
	a->host = xstrdup("localhost");
	a->port = xstrdup("80");
	a->loopback = 1;
	return 0;
}

int
addr_parse(const char *url, struct vault_addr *a, char *err, size_t errlen)
{
	char *scheme = NULL, *path = NULL, *user = NULL, *pass = NULL;
	size_t n, len;
	CURLU *u;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (dl_curl(err, errlen) == -1)
		return -1;
	if (strncmp(url, "unix://", 7) == 0)
		return parse_unix(url, a, err, errlen);
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return errf(err, errlen, "Vault address \"%.60s\" must start "
		    "with https://, http:// or unix://", strchr(url, '@') ?
		    "(not shown: it holds a \"@\")" : url);
	if ((u = curl_url()) == NULL)
		return errf(err, errlen, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		errf(err, errlen, "Vault address \"%.60s\" is not a valid URL; "
		    "write it like https://vault.example.com:8200",
		    strchr(url, '@') ? "(not shown: it holds a \"@\")" : url);
		goto out;
	}
	user = part(u, CURLUPART_USER, 0);
	pass = part(u, CURLUPART_PASSWORD, 0);
	if (user != NULL || pass != NULL) {
		/* Never echo it: it may be a password. */
		errf(err, errlen, "the Vault address has a user name or "
		    "password in it (before \"@\"); remove it: Vault takes "
		    "none there, and the host is what follows the \"@\"");
		goto out;
	}
	scheme = part(u, CURLUPART_SCHEME, 0);
	a->host = part(u, CURLUPART_HOST, 0);
	a->port = part(u, CURLUPART_PORT, 0);
	a->port_given = a->port != NULL;
	if (a->port == NULL)
		a->port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	path = part(u, CURLUPART_PATH, 0);
	if (scheme == NULL || a->host == NULL || a->port == NULL) {
		errf(err, errlen, "Vault address \"%.60s\" has no host; write "
		    "it like https://vault.example.com:8200", url);
		goto out;
	}
	a->https = strcmp(scheme, "https") == 0;
	a->loopback = addr_loopback_host(a->host);
	n = path != NULL ? strlen(path) : 0;
	while (n > 0 && path[n - 1] == '/')
		n--;
	/* The Go client joins the prefix and "/v1/...": ".../v1" doubles it. */
	if (n >= 3 && strncmp(path + n - 3, "/v1", 3) == 0) {
		errf(err, errlen, "Vault address \"%.60s\" ends in /v1; drop "
		    "it: leasewrap, like the Vault CLI, adds /v1/ itself", url);
		goto out;
	}
	len = strlen(scheme) + strlen(a->host) + strlen(a->port) + n + 16;
	a->base = xmalloc(len);
	if (a->port_given)
		snprintf(a->base, len, "%s://%s:%s%.*s/v1/", scheme, a->host,
		    a->port, (int)n, path != NULL ? path : "");
	else
		snprintf(a->base, len, "%s://%s%.*s/v1/", scheme, a->host,
		    (int)n, path != NULL ? path : "");
	rc = 0;
out:
	if (pass != NULL) {
		secret_wipe(pass, strlen(pass));
		free(pass);
	}
	free(user);
	free(scheme);
	free(path);
	curl_url_cleanup(u);
	if (rc == -1)
		addr_clear(a);
	return rc;
}

void
addr_clear(struct vault_addr *a)
{
	free(a->base);
	free(a->socket);
	free(a->host);
	free(a->port);
	memset(a, 0, sizeof(*a));
}

int
addr_check(const char *url, int insecure_http, char *err, size_t errlen)
{
	struct vault_addr a;

	if (dl_curl(err, errlen) == -1)
		return LW_EXIT_SOFTWARE;
	if (addr_parse(url, &a, err, errlen) == -1)
		return LW_EXIT_CONFIG;
	if (!a.https && !a.loopback && !insecure_http) {
		errf(err, errlen, "VAULT_ADDR \"%s\" is plain http:// to "
		    "another machine (%s): the token would cross the network "
		    "unencrypted; use https://, or --insecure-http if you "
		    "really mean it", url, a.host);
		addr_clear(&a);
		return LW_EXIT_CONFIG;
	}
	addr_clear(&a);
	return 0;
}
