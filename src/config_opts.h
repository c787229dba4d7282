/*
 * config_opts.h: the option table shared by config.c (flags, environment)
 * and config_file.c (the JSON file); private to those two.
 */
#ifndef LW_CONFIG_OPTS_H
#define LW_CONFIG_OPTS_H

#include <stddef.h>

struct config;
struct spec;

/*
 * Every option once: its flag, its config-file key (NULL: flag only) and
 * how its value is read.  The command line and the file share set_value().
 */
enum opt_id {
	O_SECRET, O_CONFIG, O_VAULT_ADDR, O_NAMESPACE, O_TOKEN_FILE,
	O_NO_REVOKE, O_PASS_TOKEN, O_NO_ENV_REFS, O_LOG_LEVEL,
	O_REQUEST_TIMEOUT, O_CONNECT_TIMEOUT, O_START_TIMEOUT,
	O_ON_CHANGE, O_KILL_SIGNAL, O_KILL_TIMEOUT, O_ROTATE_BEFORE,
	O_REFRESH_INTERVAL, O_RESTART, O_MAX_RESTARTS, O_ON_EXPIRE,
	O_ENV_FILE, O_REVOKE_GRACE, O_AUTH, O_AUTH_MOUNT, O_AUTH_ROLE,
	O_ROLE_ID, O_ROLE_ID_FILE, O_SECRET_ID_FILE, O_SECRET_ID_WRAPPED,
	O_JWT_FILE, O_CA_CERT, O_CA_PATH, O_CLIENT_CERT, O_CLIENT_KEY,
	O_TLS_SERVER_NAME, O_TLS_SKIP_VERIFY, O_INSECURE_HTTP,
	O_PROCESS_GROUP, O_TIMEOUT, O_LOG_FORMAT, O_METRICS_FILE,
	O_METRICS_ADDR, O_ENV_FILE_FORMAT, O_USER,
	O_AGENT_ADDR, O_PROXY_ADDR, O_DISABLE_REDIRECTS, O_TEMPLATE,
	O_FILE, O_FILE_TEMPLATE, O_FILE_MODE, O_KEEP_FILES,
	O_SETTLE_DELAY, O_REVOKE_CERTS,
	O_HELP, O_VERSION, O_COUNT
};

enum opt_kind {
	K_VALUE,	/* takes a string, parsed by set_value() */
	K_STRING,	/* takes a string, kept as it is at field */
	K_LIST,		/* repeatable value; an array in the file */
	K_FLAG,		/* no value; a boolean in the file */
	K_NEGFLAG,	/* "--no-x"; the file's "x": false */
	K_SPECIAL,	/* handled by its own code */
};

struct optdef {
	const char	*name;		/* long flag without "--" */
	int		 shortopt;	/* 0: none */
	enum opt_kind	 kind;
	const char	*key;		/* config-file key, NULL: flag only */
	size_t		 field;		/* K_STRING: offset of its char * */
};

/* Every option, indexed by enum opt_id. */
extern const struct optdef config_opts[O_COUNT];

/* Which options a higher source (the command line, the environment) set. */
struct seen {
	int	set[O_COUNT];
};

/* Add sp to the list, replacing an entry of the same name when replace is set. */
int	config_add_spec(struct config *, struct spec *sp, int replace,
	    char *err, size_t errlen);
/* What config_add_template() adds: -T, --file or --file-template. */
enum { TK_TEMPLATE, TK_FILE, TK_FILE_TEMPLATE };

/*
 * Add "NAME=TEXT" (-T), "DEST=PATH#FIELD" (--file) or "DEST=SRC"
 * (--file-template, SRC read now) of kind k, unless one of that name is
 * there (an earlier source wins) or, with replace, refuse it; each
 * placeholder becomes a spec.tmpl spec.  -1 with a message.
 */
int	config_add_template(struct config *, int k, const char *arg,
	    int replace, char *err, size_t errlen);
/*
 * The config file's "template", "file" or "file_template" (key): an array
 * of "NAME=TEXT" or an object NAME -> TEXT; relative files beside it.
 */
int	config_file_templates(struct config *, const char *path,
	    const char *key, void *json, char *err, size_t errlen);
/*
 * An inherited NAME=vault:TEXT whose TEXT has placeholders: a template
 * NAME, unless a template or one of the first nflags specs (-s) has that
 * name; it replaces a config-file secret of that name.  -1 with a message.
 */
int	config_env_template(struct config *, size_t nflags, const char *name,
	    size_t nlen, const char *text, char *err, size_t errlen);
/*
 * Once every source is read: no template shares a name with a -s secret
 * (an inherited "vault:" reference of that name gives way), and
 * --file-mode is a mode.  -1 with a message.
 */
int	config_check_templates(struct config *, char *err, size_t errlen);
/* Free the templates. */
void	config_free_templates(struct config *);
/*
 * --refresh-interval or --settle-delay (option id) "DURATION" (the
 * default, unless keep_default: a higher source set it) or
 * "PATH=DURATION"; from_file: an earlier entry for PATH wins, else one is
 * an error.  -1 with what was expected.
 */
int	config_add_pathdur(struct config *, int id, const char *arg,
	    int from_file, int keep_default, char *err, size_t errlen);
/* The config file's "refresh_interval" or "settle_delay": a string, an array of them, or an object PATH -> DURATION. */
int	config_file_pathdur(struct config *, int id, const char *path,
	    int keep_default, void *json, char *err, size_t errlen);
/* Once every source is read: each PATH is read by a secret; 0 or the exit code. */
int	config_check_pathdurs(const struct config *, char *err, size_t errlen);
/* Free the per-path durations. */
void	config_free_pathdurs(struct config *);
/* Set option id from its text value; -1 with what was expected. */
int	config_set_value(struct config *, int id, const char *v, char *err,
	    size_t errlen);
/* Set a K_FLAG or K_NEGFLAG option to on (the flag's sense). */
void	config_set_flag(struct config *, int id, int on);
/* Load the JSON config file over what the command line left unset. */
int	config_load_file(struct config *, const struct seen *seen,
	    const char *path, char *err, size_t errlen);

#endif
