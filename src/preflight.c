/* preflight.c: settings refused before any request (plain http, CA files, client certificate, login flags). */
#define _GNU_SOURCE
#include "preflight.h"
#include "auth.h"
#include "config.h"
#include "exitcodes.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Is host (of an http:// address) this machine? */
static int
loopback_host(const char *addr)
{
	const char *h = addr + 7;	/* after "http://" */
	size_t n = strcspn(h, ":/");

	if (h[0] == '[')
		return strncmp(h, "[::1]", 5) == 0;
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    strncmp(h, "127.", 4) == 0;
}

int
preflight_check(const struct config *cfg, const char **event, char *err,
    size_t errlen)
{
	*event = "config";
	if (cfg->vault_addr == NULL) {
		errf(err, errlen, "VAULT_ADDR is not set; set it or give "
		    "--vault-addr, like https://vault.example.com:8200");
		return LW_EXIT_CONFIG;
	}
	if (strncmp(cfg->vault_addr, "http://", 7) == 0 &&
	    !loopback_host(cfg->vault_addr) && !cfg->insecure_http) {
		errf(err, errlen, "VAULT_ADDR \"%s\" is plain http:// to "
		    "another machine: the token would cross the network "
		    "unencrypted; use https://, or --insecure-http if you "
		    "really mean it", cfg->vault_addr);
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) == -1) {
		errf(err, errlen, "CA file \"%s\": %s; check VAULT_CACERT "
		    "or --ca-cert", cfg->ca_cert, strerror(errno));
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_path != NULL && access(cfg->ca_path, R_OK | X_OK) == -1) {
		errf(err, errlen, "CA folder \"%s\": %s; check "
		    "VAULT_CAPATH or --ca-path", cfg->ca_path, strerror(errno));
		return LW_EXIT_CONFIG;
	}
	if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
		errf(err, errlen, "a client certificate needs both "
		    "--client-cert and --client-key (VAULT_CLIENT_CERT and "
		    "VAULT_CLIENT_KEY)");
		return LW_EXIT_CONFIG;
	}
	*event = "auth";
	if (auth_check(cfg, err, errlen) == -1)
		return LW_EXIT_USAGE;
	return 0;
}
