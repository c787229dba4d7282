/* config.h: flags, environment and config file merged into one config. */
#ifndef LW_CONFIG_H
#define LW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "runas.h"
#include "spec.h"
#include "template.h"

enum { CHANGE_RESTART, CHANGE_SIGNAL, CHANGE_EXIT };
enum { RESTART_NEVER, RESTART_ON_FAILURE, RESTART_ALWAYS };
enum { EXPIRE_EXIT, EXPIRE_WARN };
enum { AUTH_TOKEN, AUTH_APPROLE, AUTH_KUBERNETES, AUTH_JWT, AUTH_CERT,
    AUTH_NONE };

/* A duration per Vault path: --refresh-interval and --settle-delay PATH=DURATION. */
struct pathdur {
	char		*path;		/* as spec_parse_path() leaves it */
	long long	 ms;
	int		 from_file;
};
struct pathdurs {
	struct pathdur	*v;
	size_t		 n;
};

struct config {
	char		 *vault_addr;	/* the address in use: agent_addr if set */
	char		 *agent_addr;	/* VAULT_AGENT_ADDR: wins over VAULT_ADDR */
	char		 *proxy_addr;	/* VAULT_PROXY_ADDR / VAULT_HTTP_PROXY */
	int		  disable_redirects;	/* VAULT_DISABLE_REDIRECTS */
	char		 *namespace;
	char		 *token_file;
	char		 *config_path;
	unsigned long long from_file;	/* bit per option: set by the -c file */
	struct spec	 *specs;	/* -s, then those of templates (spec.tmpl) */
	size_t		  nspecs;
	struct ctemplate {		/* -T NAME=TEXT */
		char		*name;
		struct tmpl	 t;
	}		 *templates;
	size_t		  ntemplates;
	struct ctemplate *files;	/* --file, --file-template: name is DEST */
	size_t		  nfiles;
	char		 *file_mode;	/* --file-mode as given */
	unsigned int	  file_perm;	/* its value; 0600 by default */
	int		  keep_files;	/* --keep-files */
	int		  no_revoke;
	int		  pass_token;
	int		  env_refs;
	int		  log_level;
	int		  log_json;	/* --log-format json */
	long long	  request_timeout_ms;
	long long	  connect_timeout_ms;
	long long	  start_timeout_ms;
	size_t		  max_response;
	/* The credential lifecycle (leasewrap(1), "ROTATION"). */
	int		  on_change;	/* CHANGE_RESTART, _SIGNAL, _EXIT */
	int		  change_signal;	/* for CHANGE_SIGNAL */
	int		  kill_signal;
	long long	  kill_timeout_ms;
	long long	  rotate_before_ms;	/* used when rotate_before_pct is 0 */
	double		  rotate_before_pct;	/* fraction of the lease, or 0 */
	long long	  refresh_interval_ms;	/* the default */
	struct pathdurs	  refreshes;	/* --refresh-interval PATH=DURATION */
	int		  restart;	/* RESTART_NEVER, _ON_FAILURE, _ALWAYS */
	int		  max_restarts;
	int		  on_expire;	/* EXPIRE_EXIT, EXPIRE_WARN */
	long long	  revoke_grace_ms;
	long long	  settle_delay_ms;	/* --settle-delay, the default; 0: none */
	struct pathdurs	  settles;	/* --settle-delay PATH=DURATION */
	int		  revoke_certs;	/* --revoke-certs */
	char		**env_files;	/* NULL-terminated; may be NULL */
	size_t		  nenv_files;
	int		  env_file_format;	/* ENVFILE_DOTENV, ... */
	/* Logging in (leasewrap(1), "AUTHENTICATION"). */
	int		  auth;		/* AUTH_TOKEN, ... */
	char		 *auth_mount;	/* default: the method's name */
	char		 *auth_role;
	char		 *role_id;
	char		 *role_id_file;
	char		 *secret_id_file;
	int		  secret_id_wrapped;
	char		 *jwt_file;
	/* TLS, as the Vault CLI's VAULT_* variables. */
	char		 *ca_cert;
	char		 *ca_path;
	char		 *client_cert;
	char		 *client_key;
	char		 *tls_server_name;
	int		  tls_skip_verify;
	int		  insecure_http;
	/* The command as a process (leasewrap(1), "THE COMMAND"). */
	int		  process_group;	/* signal its whole group */
	long long	  timeout_ms;		/* stop it after this; 0: never */
	char		 *user;			/* --user USER[:GROUP] */
	struct runas	  runas;		/* resolved --user */
	/* Prometheus metrics (leasewrap(1), "METRICS"). */
	char		 *metrics_file;
	char		 *metrics_addr;
	char		**argv;		/* the command; NULL-terminated */
	int		  argc;
	int		  argv_owned;	/* argv came from the file */
	int		  check;	/* "leasewrap check": read, report, revoke */
	int		  help;
	int		  version;
};

/*
 * Build cfg from argv, the environment envp and the config file named by
 * -c.  Precedence: flags, then environment, then the file.  Resolves
 * --user and checks the folders of the file outputs (removing our stale
 * temporaries there).  Returns 0, or an exit code (LW_EXIT_USAGE,
 * LW_EXIT_CONFIG, LW_EXIT_NOPERM for --user without root) with a
 * one-line message.
 */
int	config_load(struct config *cfg, int argc, char **argv, char **envp,
	    char *err, size_t errlen);
void	config_free(struct config *);
/*
 * How often a secret at path without a lease is read again, in ms: its own
 * --refresh-interval PATH=DURATION (*own set) or the default.
 */
long long config_refresh_ms(const struct config *, const char *path,
	    int *own);
/* How long new credentials from path settle, in ms: its own --settle-delay PATH=DURATION or the default. */
long long config_settle_ms(const struct config *, const char *path);
/* The longest settle delay of any path read: a login replaces them all. */
long long config_settle_max_ms(const struct config *);
/* A signal by name ("TERM", "SIGTERM") or number; -1 if unknown. */
int	config_parse_signal(const char *);
/* The name of an AUTH_* method. */
const char *config_auth_name(int);
/*
 * How a message names option flag ("token-file"): usual ("--token-file",
 * "VAULT_CACERT or --ca-cert") unless the value came from the config file,
 * then its key there, written into buf: "token_file" in config "x.json".
 */
const char *config_origin(const struct config *, const char *flag,
	    const char *usual, char *buf, size_t len);
/* The text of --help. */
void	config_usage(FILE *);

#endif
