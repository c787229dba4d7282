/* supervisor.c: the state machine that ties Vault reads, the child and revocation. */
#define _GNU_SOURCE
#include "supervisor.h"
#include "child.h"
#include "config.h"
#include "env.h"
#include "exitcodes.h"
#include "log.h"
#include "secret.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Signals passed on to the child (SIGCHLD is ours; fatal faults are not). */
static const int forwarded[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGWINCH,
};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

enum state {
	ST_FETCHING,	/* reading secrets from Vault */
	ST_RUNNING,	/* the child runs */
	ST_REVOKING,	/* revoking leases before exit */
	ST_DONE,
};

/* One Vault path, read once however many names use it. */
struct read {
	struct sup		*sup;
	char			*path;		/* as the user wrote it */
	char			*read_path;	/* after KV v2 resolution */
	int			 done;
	int			 resolved;	/* mount lookup already tried */
	int			 fail_code;	/* exit code if it failed */
	int			 attempts;	/* tries so far */
	char			 fail[384];
	struct vj_secret	 sec;
	ev_timer		 retry;		/* backoff before the next try */
};

/* A lease leasewrap created and must revoke. */
struct lease {
	struct sup	*sup;
	char		*id;
	int		 done;
	int		 attempts;
	ev_timer	 retry;
};

/* How long revocation keeps retrying a Vault that fails (leasewrap(1)). */
#define REVOKE_WINDOW	30.0

struct sup {
	struct ev_loop		*loop;
	const struct config	*cfg;
	char			**envp_in;
	enum state		 state;
	int			 exit_code;
	struct vault		*vault;
	struct secret		*token;
	struct read		*reads;
	size_t			 nreads;
	struct lease		*leases;
	size_t			 nleases, capleases;
	ev_tstamp		 start_deadline;	/* give up retrying reads */
	ev_tstamp		 revoke_deadline;	/* give up retrying revokes */
	pid_t			 child;
	int			 stop_signal;	/* signal that ended a fetch */
	ev_signal		 sigw[NFORWARDED];
	ev_child		 childw;
};

static void	start_revoke(struct sup *);
static void	read_start(struct read *);
static void	retry_cb(struct ev_loop *, ev_timer *, int);
static void	revoke_retry_cb(struct ev_loop *, ev_timer *, int);

void
supervisor_block_signals(void)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < NFORWARDED; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Is sig one that means "stop" rather than "tell the child something"? */
static int
is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
	    sig == SIGQUIT;
}

/* Every step is over: leave the loop with the exit code set. */
static void
finish(struct sup *s)
{
	s->state = ST_DONE;
	ev_break(s->loop, EVBREAK_ALL);
}

/* The token: VAULT_TOKEN, else --token-file, else ~/.vault-token (the CLI's order). */
static int
load_token(struct sup *s, char *err, size_t errlen)
{
	const char *v = NULL, *home = NULL, *path;
	char buf[8192], homefile[4096];
	size_t len;
	ssize_t n;
	int fd, explicit_file = 0;

	for (char **e = s->envp_in; *e != NULL; e++) {
		if (strncmp(*e, "VAULT_TOKEN=", 12) == 0)
			v = *e + 12;
		else if (strncmp(*e, "HOME=", 5) == 0)
			home = *e + 5;
	}
	if (v != NULL && *v != '\0') {
		s->token = secret_new(v, strlen(v));
		return 0;
	}
	if (s->cfg->token_file != NULL) {
		path = s->cfg->token_file;
		explicit_file = 1;
	} else if (home != NULL) {
		snprintf(homefile, sizeof(homefile), "%s/.vault-token", home);
		path = homefile;
	} else
		path = NULL;
	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (explicit_file)
			return errf(err, errlen, "token file \"%s\": %s; check "
			    "--token-file", path, strerror(errno));
		return errf(err, errlen, "no Vault token: set VAULT_TOKEN, give "
		    "--token-file, or run \"vault login\" to write "
		    "~/.vault-token");
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "token file \"%s\": %s", path,
		    strerror(errno));
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0 || memchr(buf, '\n', len) != NULL) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "token file \"%s\" %s; it should hold "
		    "one token", path, len == 0 ? "is empty" : "has several lines");
	}
	s->token = secret_new(buf, len);
	secret_wipe(buf, sizeof(buf));
	return 0;
}

/* Remember a lease so that it is revoked at exit whatever happens next. */
static void
add_lease(struct sup *s, const char *id)
{
	if (s->nleases == s->capleases) {
		s->capleases = s->capleases ? s->capleases * 2 : 8;
		s->leases = realloc(s->leases, s->capleases * sizeof(*s->leases));
		if (s->leases == NULL) {
			log_error("internal", "out of memory");
			abort();
		}
	}
	s->leases[s->nleases].sup = s;
	s->leases[s->nleases].id = xstrdup(id);
	s->leases[s->nleases].done = 0;
	s->leases[s->nleases].attempts = 0;
	ev_timer_init(&s->leases[s->nleases].retry, revoke_retry_cb, 0., 0.);
	s->nleases++;
}

/* Turn a failed answer into an exit code and a message without any secret. */
static void
read_failed(struct read *r, const struct vault_resp *resp)
{
	const struct config *cfg = r->sup->cfg;
	char verr[256];

	if (resp->status == 0) {
		if (resp->too_big) {
			r->fail_code = LW_EXIT_DATAERR;
			snprintf(r->fail, sizeof(r->fail), "reading \"%s\": "
			    "Vault's answer is larger than %zu bytes; is "
			    "VAULT_ADDR a Vault server?", r->path,
			    cfg->max_response);
		} else {
			r->fail_code = LW_EXIT_UNAVAILABLE;
			snprintf(r->fail, sizeof(r->fail), "cannot reach Vault "
			    "at %s: %s; check VAULT_ADDR and that Vault is "
			    "up", cfg->vault_addr, resp->error);
		}
		return;
	}
	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	if (resp->status == 403) {
		r->fail_code = LW_EXIT_NOPERM;
		if (strstr(verr, "invalid token") != NULL)
			snprintf(r->fail, sizeof(r->fail), "Vault rejected the "
			    "token reading \"%s\" (403: %s); check VAULT_TOKEN "
			    "or log in again", r->path, verr);
		else
			snprintf(r->fail, sizeof(r->fail), "permission denied "
			    "reading \"%s\" (403); check the token's policies",
			    r->path);
	} else if (resp->status == 404) {
		r->fail_code = LW_EXIT_DATAERR;
		snprintf(r->fail, sizeof(r->fail), "no secret at \"%s\" (404); "
		    "check the path%s", r->path, verr[0] ? "" : "");
	} else if (resp->status == 429 || resp->status >= 500) {
		r->fail_code = LW_EXIT_UNAVAILABLE;
		snprintf(r->fail, sizeof(r->fail), "Vault is unavailable "
		    "reading \"%s\" (%ld%s%s); try again later", r->path,
		    resp->status, verr[0] ? ": " : "", verr);
	} else {
		r->fail_code = LW_EXIT_DATAERR;
		snprintf(r->fail, sizeof(r->fail), "Vault refused to read "
		    "\"%s\" (%ld%s%s)", r->path, resp->status,
		    verr[0] ? ": " : "", verr);
	}
}

/*
 * Like Vault's own client (vault-api.md §9.3): retry transport errors, 412,
 * 429 and 5xx but 501; any other answer is final.
 */
static int
read_retryable(const struct vault_resp *resp)
{
	if (resp->too_big)
		return 0;
	return resp->status == 0 || resp->status == 412 ||
	    resp->status == 429 || (resp->status >= 500 && resp->status != 501);
}

/*
 * The wait before try number attempts+1: an exponential backoff with jitter
 * (250 ms doubling, at most 10 s, each between half and all of it).
 */
static double
backoff_delay(int attempts)
{
	double delay = 0.25;
	int i;

	for (i = 1; i < attempts && delay < 10.0; i++)
		delay *= 2;
	if (delay > 10.0)
		delay = 10.0;
	return delay / 2 + delay / 2 * ((double)random() / RAND_MAX);
}

/* Try a read again after a backoff, while --start-timeout allows. */
static int
schedule_retry(struct read *r)
{
	struct sup *s = r->sup;
	double delay = backoff_delay(r->attempts);

	if (s->stop_signal != 0 || ev_now(s->loop) + delay > s->start_deadline)
		return 0;
	log_warn("fetch.retry", "%s; retrying in %.1f s (try %d)", r->fail,
	    delay, r->attempts + 1);
	ev_timer_init(&r->retry, retry_cb, delay, 0.);
	r->retry.data = r;
	ev_timer_start(s->loop, &r->retry);
	return 1;
}

/* All reads answered: start the child, or clean up after a failure. */
static void
reads_settled(struct sup *s)
{
	struct env_var *vars;
	char err[512], **envp;
	size_t i, j;
	int e;

	for (i = 0; i < s->nreads; i++)
		if (!s->reads[i].done)
			return;
	if (s->stop_signal != 0) {
		log_info("fetch.abort", "signal %d before the command started; "
		    "revoking and exiting", s->stop_signal);
		s->exit_code = 128 + s->stop_signal;
		start_revoke(s);
		return;
	}
	for (i = 0; i < s->nreads; i++)
		if (s->reads[i].fail_code != 0) {
			log_error("fetch", "%s", s->reads[i].fail);
			s->exit_code = s->reads[i].fail_code;
			start_revoke(s);
			return;
		}
	vars = xcalloc(s->cfg->nspecs, sizeof(*vars));
	for (i = 0; i < s->cfg->nspecs; i++) {
		const struct spec *sp = &s->cfg->specs[i];
		struct secret *val = NULL;

		for (j = 0; j < s->nreads; j++)
			if (strcmp(s->reads[j].path, sp->path) == 0)
				break;
		if (vj_field(&s->reads[j].sec, sp->field, &val, err,
		    sizeof(err)) == -1) {
			log_error("fetch", "%s: secret \"%s\" %s; check the "
			    "part after \"#\"", sp->name, sp->path, err);
			for (j = 0; j < i; j++)
				secret_free((struct secret *)vars[j].value);
			free(vars);
			s->exit_code = LW_EXIT_DATAERR;
			start_revoke(s);
			return;
		}
		vars[i].name = sp->name;
		vars[i].value = val;
	}
	envp = env_build(s->envp_in, vars, s->cfg->nspecs, s->cfg->pass_token);
	for (i = 0; i < s->cfg->nspecs; i++)
		secret_free((struct secret *)vars[i].value);
	free(vars);
	/* The reads' data are no longer needed: wipe them now. */
	for (i = 0; i < s->nreads; i++)
		vj_secret_clear(&s->reads[i].sec);
	s->child = child_spawn(s->cfg->argv, envp, &e);
	env_free(envp);
	if (s->child == -1) {
		log_error("child.start", "cannot start \"%s\": %s",
		    s->cfg->argv[0], strerror(errno));
		s->exit_code = LW_EXIT_OSERR;
		start_revoke(s);
		return;
	}
	if (e != 0) {
		log_error("child.start", "cannot run \"%s\": %s%s",
		    s->cfg->argv[0], strerror(e),
		    child_exec_exit_code(e) == LW_EXIT_NOTFOUND ?
		    "; check the command name and PATH" :
		    "; check that it is an executable file");
		s->exit_code = child_exec_exit_code(e);
		/* The child exits on its own; the reaper collects it. */
		s->child = -1;
		start_revoke(s);
		return;
	}
	s->state = ST_RUNNING;
	log_info("child.start", "pid %d: %s", (int)s->child, s->cfg->argv[0]);
}

/* sys/internal/ui/mounts answered: retry a plain KV v2 path as mount/data/rest. */
static void
mount_cb(const struct vault_resp *resp, void *arg)
{
	struct read *r = arg;
	char err[128], *mount = NULL;
	int version = 0;
	size_t ml;

	if (resp->status == 200 && vj_parse_mount(resp->body, resp->len,
	    &mount, &version, err, sizeof(err)) == 0 && version == 2) {
		ml = strlen(mount);
		if (strncmp(r->path, mount, ml) == 0 &&
		    strncmp(r->path + ml, "data/", 5) != 0) {
			size_t len = strlen(r->path) + 6;

			free(r->read_path);
			r->read_path = xmalloc(len);
			snprintf(r->read_path, len, "%sdata/%s", mount,
			    r->path + ml);
			log_debug("fetch.kv2", "%s is on KV v2 mount %s: reading "
			    "%s", r->path, mount, r->read_path);
			free(mount);
			r->fail_code = 0;
			r->fail[0] = '\0';
			read_start(r);
			return;
		}
	}
	free(mount);
	r->done = 1;	/* keep the first failure */
	reads_settled(r->sup);
}

/* A secret read answered. */
static void
read_cb(const struct vault_resp *resp, void *arg)
{
	struct read *r = arg;
	struct sup *s = r->sup;
	char err[384];

	log_debug("fetch", "GET %s: %ld in %.1f ms", r->read_path, resp->status,
	    resp->seconds * 1000);
	if (resp->status == 200) {
		if (vj_parse_secret(r->read_path, resp->body, resp->len, &r->sec,
		    err, sizeof(err)) == -1) {
			r->fail_code = LW_EXIT_DATAERR;
			snprintf(r->fail, sizeof(r->fail), "%s", err);
		} else {
			if (r->sec.lease_id != NULL) {
				add_lease(s, r->sec.lease_id);
				log_info("lease.create", "%s: lease %s, %lld s%s",
				    r->path, r->sec.lease_id,
				    r->sec.lease_duration,
				    r->sec.renewable ? ", renewable" : "");
			}
		}
		r->done = 1;
		reads_settled(s);
		return;
	}
	read_failed(r, resp);
	if (read_retryable(resp) && schedule_retry(r))
		return;
	/* A plain path on KV v2 gives 404 (or 403 under a data/ policy). */
	if ((resp->status == 404 || resp->status == 403) && !r->resolved &&
	    s->stop_signal == 0) {
		size_t len = strlen(r->path) + 32;
		char *p = xmalloc(len);

		r->resolved = 1;
		snprintf(p, len, "sys/internal/ui/mounts/%s", r->path);
		vault_request(s->vault, "GET", p, NULL, mount_cb, r);
		free(p);
		return;
	}
	r->done = 1;
	reads_settled(s);
}

static void
read_start(struct read *r)
{
	r->attempts++;
	vault_request(r->sup->vault, "GET", r->read_path, NULL, read_cb, r);
}

/* The backoff is over: try the read again. */
static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct read *r = w->data;

	(void)loop;
	(void)revents;
	if (r->sup->stop_signal != 0) {
		r->done = 1;
		reads_settled(r->sup);
		return;
	}
	r->fail_code = 0;
	read_start(r);
}

static void	revoke_one(struct lease *);

/* The backoff is over: revoke again. */
static void
revoke_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	revoke_one(w->data);
}

/* A revocation answered: done, retried after a backoff, or reported. */
static void
revoke_cb(const struct vault_resp *resp, void *arg)
{
	struct lease *l = arg;
	struct sup *s = l->sup;
	char verr[256];
	double delay;
	size_t i;

	if (resp->status == 204 || resp->status == 200 || resp->status == 202)
		log_info("lease.revoke", "revoked %s", l->id);
	else {
		vj_error_text(resp->body, resp->len, verr, sizeof(verr));
		delay = backoff_delay(l->attempts);
		if (read_retryable(resp) &&
		    ev_now(s->loop) + delay <= s->revoke_deadline) {
			log_warn("lease.revoke", "revoking %s failed (%ld%s%s); "
			    "retrying in %.1f s", l->id, resp->status,
			    verr[0] || resp->error[0] ? ": " : "",
			    verr[0] ? verr : resp->error, delay);
			ev_timer_init(&l->retry, revoke_retry_cb, delay, 0.);
			l->retry.data = l;
			ev_timer_start(s->loop, &l->retry);
			return;
		}
		log_error("lease.revoke", "could not revoke lease %s (%ld%s%s);"
		    " revoke it with: vault lease revoke %s", l->id,
		    resp->status, verr[0] || resp->error[0] ? ": " : "",
		    verr[0] ? verr : resp->error, l->id);
	}
	l->done = 1;
	for (i = 0; i < s->nleases; i++)
		if (!s->leases[i].done)
			return;
	finish(s);
}

/* PUT sys/leases/revoke for one lease (vault-api.md §6.2). */
static void
revoke_one(struct lease *l)
{
	json_t *body = json_pack("{s:s}", "lease_id", l->id);
	char *text = json_dumps(body, JSON_COMPACT);

	l->attempts++;
	vault_request(l->sup->vault, "PUT", "sys/leases/revoke", text,
	    revoke_cb, l);
	free(text);
	json_decref(body);
}

/* Revoke every lease in parallel, then finish. */
static void
start_revoke(struct sup *s)
{
	size_t i;

	s->state = ST_REVOKING;
	if (s->nleases == 0 || s->cfg->no_revoke) {
		if (s->nleases > 0)
			log_info("lease.keep", "--no-revoke: leaving %zu lease(s)",
			    s->nleases);
		finish(s);
		return;
	}
	s->revoke_deadline = ev_now(s->loop) + REVOKE_WINDOW;
	for (i = 0; i < s->nleases; i++)
		revoke_one(&s->leases[i]);
}

/* Reap every child that exited; the main one moves the state on. */
static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (w->rpid != s->child || s->child <= 0)
		return;		/* an orphan or a failed exec: reaped, nothing to do */
	s->exit_code = child_exit_code(w->rstatus);
	s->child = 0;
	log_info("child.exit", "pid %d exited: code %d", w->rpid, s->exit_code);
	start_revoke(s);
}

/* A stop signal ends the reads that are only waiting to be tried again. */
static void
stop_retries(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->nreads; i++)
		if (ev_is_active(&s->reads[i].retry)) {
			ev_timer_stop(s->loop, &s->reads[i].retry);
			s->reads[i].done = 1;
		}
	reads_settled(s);
}

/* Forward a signal to the child, or end a fetch that is under way. */
static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;
	int sig = w->signum;

	(void)loop;
	(void)revents;
	switch (s->state) {
	case ST_RUNNING:
		if (s->child > 0 && kill(s->child, sig) == -1)
			log_debug("signal", "forwarding %d: %s", sig,
			    strerror(errno));
		break;
	case ST_FETCHING:
		if (is_stop_signal(sig) && s->stop_signal == 0) {
			log_info("signal", "signal %d while fetching secrets",
			    sig);
			s->stop_signal = sig;
			stop_retries(s);
		}
		break;
	default:
		log_debug("signal", "signal %d ignored while exiting", sig);
		break;
	}
}

/* Group the requested names by path: one read, one lease per path. */
static void
plan_reads(struct sup *s)
{
	size_t i, j;

	s->reads = xcalloc(s->cfg->nspecs, sizeof(*s->reads));
	for (i = 0; i < s->cfg->nspecs; i++) {
		const char *p = s->cfg->specs[i].path;

		for (j = 0; j < s->nreads; j++)
			if (strcmp(s->reads[j].path, p) == 0)
				break;
		if (j < s->nreads)
			continue;
		s->reads[s->nreads].sup = s;
		s->reads[s->nreads].path = xstrdup(p);
		s->reads[s->nreads].read_path = xstrdup(p);
		s->nreads++;
	}
}

/* Validate the Vault settings and send every read at once. */
static int
start_fetch(struct sup *s)
{
	struct vault_opts o;
	char err[512];
	size_t i;
	int rc;

	if (s->cfg->vault_addr == NULL) {
		log_error("config", "VAULT_ADDR is not set; set it or give "
		    "--vault-addr, like https://vault.example.com:8200");
		return LW_EXIT_CONFIG;
	}
	if (load_token(s, err, sizeof(err)) == -1) {
		log_error("auth", "%s", err);
		return s->cfg->token_file != NULL ? LW_EXIT_CONFIG :
		    LW_EXIT_NOPERM;
	}
	if (vault_global_init() == -1) {
		log_error("internal", "cannot start libcurl");
		return LW_EXIT_SOFTWARE;
	}
	memset(&o, 0, sizeof(o));
	o.addr = s->cfg->vault_addr;
	o.namespace = s->cfg->namespace;
	o.connect_timeout_ms = s->cfg->connect_timeout_ms;
	o.request_timeout_ms = s->cfg->request_timeout_ms;
	o.max_response = s->cfg->max_response;
	if ((s->vault = vault_new(s->loop, &o, err, sizeof(err))) == NULL) {
		log_error("config", "%s", err);
		return LW_EXIT_CONFIG;
	}
	vault_set_token(s->vault, s->token);
	s->start_deadline = ev_now(s->loop) +
	    (double)s->cfg->start_timeout_ms / 1000.0;
	srandom((unsigned)getpid() ^ (unsigned)(ev_time() * 1e6));
	plan_reads(s);
	log_debug("fetch", "reading %zu path(s) for %zu variable(s)",
	    s->nreads, s->cfg->nspecs);
	for (i = 0; i < s->nreads; i++)
		read_start(&s->reads[i]);
	rc = 0;
	return rc;
}

/* Start the command at once when no secret is needed. */
static void
start_plain(struct sup *s)
{
	s->nreads = 0;
	reads_settled(s);
}

static void
sup_free(struct sup *s)
{
	size_t i;

	vault_free(s->vault);
	for (i = 0; i < s->nreads; i++) {
		ev_timer_stop(s->loop, &s->reads[i].retry);
		vj_secret_clear(&s->reads[i].sec);
		free(s->reads[i].path);
		free(s->reads[i].read_path);
	}
	free(s->reads);
	for (i = 0; i < s->nleases; i++) {
		ev_timer_stop(s->loop, &s->leases[i].retry);
		free(s->leases[i].id);
	}
	free(s->leases);
	secret_free(s->token);
	if (s->vault != NULL || s->token != NULL)
		vault_global_cleanup();
}

int
supervisor_run(const struct config *cfg, char **envp)
{
	struct sup s;
	sigset_t set;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.envp_in = envp;
	s.state = ST_FETCHING;
	/* Secrets must not end up in a core file or be readable via ptrace. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Orphans of the command are ours to reap, as with tini -s. */
	if (getpid() != 1)
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((s.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_error("internal", "cannot start the event loop");
		return LW_EXIT_SOFTWARE;
	}
	for (i = 0; i < NFORWARDED; i++) {
		ev_signal_init(&s.sigw[i], signal_cb, forwarded[i]);
		s.sigw[i].data = &s;
		ev_signal_start(s.loop, &s.sigw[i]);
	}
	ev_child_init(&s.childw, child_cb, 0, 0);
	s.childw.data = &s;
	ev_child_start(s.loop, &s.childw);
	/* Handlers are in place: let the signals blocked in main() through. */
	sigemptyset(&set);
	for (i = 0; i < NFORWARDED; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	if (cfg->nspecs == 0)
		start_plain(&s);
	else if ((rc = start_fetch(&s)) != 0) {
		sup_free(&s);
		return rc;
	}
	if (s.state != ST_DONE)
		ev_run(s.loop, 0);
	rc = s.exit_code;
	for (i = 0; i < NFORWARDED; i++)
		ev_signal_stop(s.loop, &s.sigw[i]);
	ev_child_stop(s.loop, &s.childw);
	sup_free(&s);
	return rc;
}
