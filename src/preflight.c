/* preflight.c: what is refused before the first Vault request: bad settings, and local mistakes that would otherwise cost a lease. */
#define _GNU_SOURCE
#include "preflight.h"
#include "addr.h"
#include "auth.h"
#include "command.h"
#include "exitcodes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 if file is an executable regular file, else the errno execve(2) would give. */
static int
exec_errno_of(const char *file)
{
	struct stat st;

	if (stat(file, &st) == -1)
		return errno;
	if (!S_ISREG(st.st_mode) || access(file, X_OK) == -1)
		return EACCES;
	return 0;
}

/*
 * glibc's execvpe (posix/execvpe.c): a name with a slash is run as it is;
 * otherwise each PATH entry is tried in turn (an empty one is the working
 * directory), not-found errors go on to the next, and EACCES is reported
 * only if no entry had the file.
 */
int
preflight_exec_errno(const char *argv0, const char *path)
{
	char cand[4096];
	const char *p, *end;
	int e, eacces = 0;

	if (argv0[0] == '\0')
		return ENOENT;
	if (strchr(argv0, '/') != NULL)
		return exec_errno_of(argv0);
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		if (end == p)
			snprintf(cand, sizeof(cand), "%s", argv0);
		else
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - p),
			    p, argv0);
		e = exec_errno_of(cand);
		if (e == 0)
			return 0;
		if (e == EACCES)
			eacces = 1;
		else if (e != ENOENT && e != ENOTDIR && e != ESTALE &&
		    e != ENODEV && e != ETIMEDOUT)
			return e;
		if (*end == '\0')
			break;
	}
	return eacces ? EACCES : ENOENT;
}

/*
 * Every file output safe to write (util_check_output): the env files, the
 * metrics file, then every --file and --file-template; no stale temporary
 * of ours left beside them.
 */
static int
check_outputs(const struct config *cfg, const char **event, char *err,
    size_t errlen)
{
	long owner = cfg->runas.set ? (long)cfg->runas.uid : -1;
	size_t i, n = cfg->nenv_files + 1 + cfg->nfiles;
	char why[512], where[512];
	const char *p, *kind;

	for (i = 0; i < n; i++) {
		*event = "config";
		if (i < cfg->nenv_files) {
			p = cfg->env_files[i];
			*event = "envfile";
			kind = "env file";
		} else if (i == cfg->nenv_files) {
			p = cfg->metrics_file;
			kind = config_origin(cfg, "metrics-file",
			    "--metrics-file", where, sizeof(where));
		} else {
			p = cfg->files[i - cfg->nenv_files - 1].name;
			kind = "file";
		}
		if (p == NULL)
			continue;
		if (util_check_output(p, owner, why, sizeof(why)) == -1) {
			errf(err, errlen, "%s %s", kind, why);
			return LW_EXIT_CONFIG;
		}
		(void)util_sweep_temps(p, owner);
	}
	return 0;
}

int
preflight_run(const struct config *cfg, const char **event, char *err,
    size_t errlen)
{
	int e;

	*event = "config";
	if (cfg->check)
		return 0;
	/* The command's environment cannot change: only a file shows it new values. */
	if (cfg->on_change == CHANGE_SIGNAL && cfg->nenv_files == 0 &&
	    cfg->nfiles == 0) {
		errf(err, errlen, "--on-change signal (signal %d) tells the "
		    "command to re-read its credentials, but nothing it can "
		    "re-read is written: add --env-file FILE or --file (or use "
		    "--on-change restart)", cfg->change_signal);
		return LW_EXIT_USAGE;
	}
	/* The message and code command_start() would give after the read. */
	if (cfg->nspecs != 0 &&
	    (e = preflight_exec_errno(cfg->argv[0], getenv("PATH"))) != 0) {
		*event = "child.start";
		return command_exec_error(cfg->argv[0], e, err, errlen);
	}
	return check_outputs(cfg, event, err, errlen);
}

int
preflight_check(const struct config *cfg, const char **event, char *err,
    size_t errlen)
{
	char where[512];
	int rc;

	*event = "config";
	if (cfg->vault_addr == NULL) {
		errf(err, errlen, "VAULT_ADDR is not set; set it or give "
		    "--vault-addr, like https://vault.example.com:8200");
		return LW_EXIT_CONFIG;
	}
	if ((rc = addr_check(cfg->vault_addr, cfg->insecure_http, err,
	    errlen)) != 0) {
		if (rc != LW_EXIT_CONFIG)
			*event = "internal";
		return rc;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) == -1) {
		errf(err, errlen, "CA file \"%s\": %s; check %s", cfg->ca_cert,
		    strerror(errno), config_origin(cfg, "ca-cert",
		    "VAULT_CACERT or --ca-cert", where, sizeof(where)));
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_path != NULL && access(cfg->ca_path, R_OK | X_OK) == -1) {
		errf(err, errlen, "CA folder \"%s\": %s; check %s", cfg->ca_path,
		    strerror(errno), config_origin(cfg, "ca-path",
		    "VAULT_CAPATH or --ca-path", where, sizeof(where)));
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
