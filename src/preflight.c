/* preflight.c: settings refused before any request (plain http, CA files, client certificate, login flags). */
#define _GNU_SOURCE
#include "sup.h"
#include "auth.h"
#include "config.h"
#include "exitcodes.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

/* Refuse settings that would leak the token or cannot work, before any request. */
int
check_vault_settings(struct sup *s)
{
	const struct config *cfg = s->cfg;
	char err[512];

	if (cfg->vault_addr == NULL) {
		log_error("config", "VAULT_ADDR is not set; set it or give "
		    "--vault-addr, like https://vault.example.com:8200");
		return LW_EXIT_CONFIG;
	}
	if (strncmp(cfg->vault_addr, "http://", 7) == 0 &&
	    !loopback_host(cfg->vault_addr) && !cfg->insecure_http) {
		log_error("config", "VAULT_ADDR \"%s\" is plain http:// to "
		    "another machine: the token would cross the network "
		    "unencrypted; use https://, or --insecure-http if you "
		    "really mean it", cfg->vault_addr);
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) == -1) {
		log_error("config", "CA file \"%s\": %s; check VAULT_CACERT "
		    "or --ca-cert", cfg->ca_cert, strerror(errno));
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_path != NULL && access(cfg->ca_path, R_OK | X_OK) == -1) {
		log_error("config", "CA folder \"%s\": %s; check VAULT_CAPATH "
		    "or --ca-path", cfg->ca_path, strerror(errno));
		return LW_EXIT_CONFIG;
	}
	if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
		log_error("config", "a client certificate needs both "
		    "--client-cert and --client-key (VAULT_CLIENT_CERT and "
		    "VAULT_CLIENT_KEY)");
		return LW_EXIT_CONFIG;
	}
	if (auth_check(cfg, err, sizeof(err)) == -1) {
		log_error("auth", "%s", err);
		return LW_EXIT_USAGE;
	}
	if (cfg->tls_skip_verify)
		log_warn("tls", "NOT VERIFYING VAULT'S CERTIFICATE "
		    "(VAULT_SKIP_VERIFY or --tls-skip-verify): anyone on the "
		    "path can read the token and the secrets");
	return 0;
}
