/*
 * floor.c: the least a program can do for leasewrap's job, on the same
 * libcurl: one read of a credential (username and password), run the
 * command with it, one revocation when the answer has a lease, over one
 * kept-alive connection.  No event loop, no renewal, no error handling
 * beyond giving up: the bench's floor.
 * Over HTTPS it trusts what leasewrap trusts: VAULT_CACERT alone when set,
 * else the system's CA folder looked up by hash (libcurl's CURLOPT_CAPATH,
 * without its CA bundle file, which OpenSSL would parse whole).
 *
 *	VAULT_ADDR=... VAULT_TOKEN=... [VAULT_CACERT=...] floor PATH -- command [args...]
 *
 * Built by tests/bench/bench.py with `cc ... $(pkg-config --libs libcurl)`.
 */
#include <curl/curl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

struct buf {
	char	data[65536];
	size_t	len;
};

/* Collect the answer (a credential is far below 64 KiB). */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (b->len + len >= sizeof(b->data))
		return 0;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* The string value of "key": "..." in the JSON text (enough for Vault's answer). */
static int
field(const char *json, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"' || (e = strchr(p, '"')) == NULL ||
	    (size_t)(e - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

int
main(int argc, char **argv)
{
	char url[1024], hdr[512], lease[256], user[128], pass[128], body[512];
	char envu[160], envp[160], **env;
	struct curl_slist *h = NULL;
	struct buf b = { .len = 0 };
	long status = 0;
	pid_t pid;
	int st, n;
	CURL *c;

	const char *addr = getenv("VAULT_ADDR"), *token = getenv("VAULT_TOKEN");
	const char *cacert = getenv("VAULT_CACERT");

	if (argc < 4 || strcmp(argv[2], "--") != 0 || addr == NULL ||
	    token == NULL) {
		fprintf(stderr, "usage: VAULT_ADDR=... VAULT_TOKEN=... floor "
		    "PATH -- command...\n");
		return 64;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	snprintf(hdr, sizeof(hdr), "X-Vault-Token: %s", token);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	if (cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	snprintf(url, sizeof(url), "%s/v1/%s", addr, argv[1]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (curl_easy_perform(c) != CURLE_OK)
		return 69;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || field(b.data, "lease_id", lease, sizeof(lease)) ||
	    field(b.data, "username", user, sizeof(user)) ||
	    field(b.data, "password", pass, sizeof(pass)))
		return 69;
	snprintf(envu, sizeof(envu), "PGUSER=%s", user);
	snprintf(envp, sizeof(envp), "PGPASSWORD=%s", pass);
	for (n = 0; environ[n] != NULL; n++)
		;
	env = calloc((size_t)n + 3, sizeof(*env));
	memcpy(env, environ, (size_t)n * sizeof(*env));
	env[n] = envu;
	env[n + 1] = envp;
	if (posix_spawnp(&pid, argv[3], NULL, NULL, argv + 3, env) != 0 ||
	    waitpid(pid, &st, 0) == -1)
		return 127;
	/* A KV answer has no lease ("lease_id": ""): nothing to revoke. */
	if (lease[0] == '\0')
		goto done;
	snprintf(url, sizeof(url), "%s/v1/sys/leases/revoke", addr);
	snprintf(body, sizeof(body), "{\"lease_id\":\"%s\"}", lease);
	b.len = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) != CURLE_OK)
		return 69;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
done:
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(env);
	curl_global_cleanup();
	if (status != 204 && status != 200)
		return 69;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
