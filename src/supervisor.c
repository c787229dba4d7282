/* supervisor.c: the state machine tying Vault reads, renewals, the child and revocation. */
#define _GNU_SOURCE
#include "supervisor.h"
#include "addr.h"
#include "auth.h"
#include "child.h"
#include "config.h"
#include "env.h"
#include "envfile.h"
#include "exitcodes.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "preflight.h"
#include "secret.h"
#include "tokenfile.h"
#include "util.h"
#include "vault.h"
#include "vault_json.h"

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

/*
 * Signals passed on to the child: every catchable one, as tini does, but
 * SIGCHLD (ours), the faults a process raises on itself, SIGPIPE (ours to
 * ignore) and the terminal's SIGTTIN/SIGTTOU.  pid1.md §3 B3, B13.
 */
static int
is_forwarded(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGCHLD: case SIGFPE: case SIGILL:
	case SIGSEGV: case SIGBUS: case SIGABRT: case SIGTRAP: case SIGSYS:
	case SIGPIPE: case SIGTTIN: case SIGTTOU:
		return 0;
	default:
		return sig < 32 || (sig >= SIGRTMIN && sig <= SIGRTMAX);
	}
}

/* How long revocation keeps retrying a Vault that fails (leasewrap(1)). */
#define REVOKE_WINDOW		30.0
/* The longest wait between retries of a renewal or a rotation. */
#define RETRY_CAP		30.0
/* Restarts of a crashing command: 1 s doubling, at most this. */
#define RESTART_BACKOFF_CAP	30.0
/* A command that ran this long has not crash-looped: reset the backoff. */
#define RESTART_RESET_AFTER	60.0

enum state {
	ST_FETCHING,	/* reading secrets before the first start */
	ST_RUNNING,	/* the child runs */
	ST_STOPPING,	/* kill signal sent; waiting for the child to exit */
	ST_BACKOFF,	/* the child crashed; waiting to start it again */
	ST_DRAINING,	/* the command exited; stopping what it left */
	ST_REVOKING,	/* revoking leases before exit */
	ST_DONE,
};

/* Why the child is being stopped: what follows its exit. */
enum stop_reason {
	STOP_RESTART,	/* start it again with new credentials */
	STOP_EXIT,	/* leasewrap is exiting: keep the child's code */
	STOP_ROTATED,	/* --on-change exit */
	STOP_EXPIRED,	/* a credential died with no replacement */
	STOP_TIMEOUT,	/* --timeout */
	STOP_DATAERR,	/* a new value cannot be given to it (exit 65) */
};

enum lease_state { LS_ACTIVE, LS_RETIRED, LS_REVOKING, LS_DONE };

/* A lease leasewrap created and must revoke. */
struct lease {
	struct sup		*sup;
	char			*id;
	enum lease_state	 state;
	ev_tstamp		 retired_at;
	int			 attempts;
	ev_timer		 retry;
};

enum op { OP_NONE, OP_READ, OP_RENEW };
enum purpose { P_INITIAL, P_RENEW, P_ROTATE, P_REFRESH };

/* One Vault path: read once however many names use it. */
struct cred {
	struct sup		*sup;
	char			*path;		/* as the user wrote it */
	char			*read_path;	/* after KV v2 resolution */
	int			 resolved;	/* mount lookup already tried */
	int			 done;		/* the initial read settled */
	int			 fail_code;	/* exit code if it failed */
	long			 fail_status;	/* Vault's HTTP status then */
	char			 fail[384];
	enum op			 op;		/* request in flight */
	enum purpose		 purpose;	/* of the read in flight */
	int			 attempts;
	struct vj_secret	 cur;		/* the values in use */
	struct lease		*lease;		/* cur's lease, or NULL */
	struct tokgen		*tg;		/* the token cur's lease has */
	double			 duration;	/* cur's lease as issued, s */
	ev_tstamp		 lease_end;	/* cur's lease ends; 0: none */
	int			 renewable;
	int			 final;		/* cannot be extended further */
	double			 jitter;	/* in [0, 1), per lease */
	ev_tstamp		 issued;	/* when cur's lease began */
	double			 learned_max;	/* the path's max TTL, once seen */
	struct vj_secret	 next;		/* fetched, not yet applied */
	struct lease		*next_lease;
	struct tokgen		*next_tg;
	int			 has_next;
	int			 doomed_logged;
	ev_timer		 timer;		/* renew, rotate, refresh, retry */
	ev_timer		 expiry;	/* last call before the deadline */
};

/* Log fields for c's current lease, with a TTL. */
#define CRED_LF(c, t)	LF(.path = (c)->path, \
			    .lease = (c)->lease ? (c)->lease->id : NULL, LF_TTL(t))

/*
 * One token leasewrap used (vault-api.md §3): the one it was given, or
 * one per login.  Leases die with the token that created them, so each
 * credential remembers its token.
 */
struct tokgen {
	struct sup	*sup;
	struct secret	*value;
	int		 login;		/* from a login: revoke it at exit */
	int		 known;		/* its TTL is known */
	ev_tstamp	 deadline;	/* 0: never expires */
	double		 duration;
	int		 renewable;
	int		 final;		/* cannot be renewed further */
	int		 dead;		/* Vault no longer accepts it */
	int		 revoked;	/* revoke-self done or not wanted */
	struct tokgen	*next;
};

struct sup {
	struct ev_loop		*loop;
	const struct config	*cfg;
	char			**envp_in;
	enum state		 state;
	enum stop_reason	 stop_reason;
	int			 exit_code;
	int			 shutting_down;	/* a stop signal came */
	struct vault		*vault;
	struct metrics		*metrics;	/* or NULL: not exporting */
	struct tokgen		*tok;		/* the token in use */
	struct tokgen		*tokgens;	/* every token, newest first */
	struct tokenfile	*tokfile;	/* --token-file, watched */
	int			 tok_busy;	/* login, lookup or renewal out */
	int			 tok_attempts;
	ev_timer		 tok_timer;
	struct secret		*secret_id;	/* unwrapped AppRole secret ID */
	struct cred		*creds;
	size_t			 ncreds;
	struct lease		**leases;
	size_t			 nleases;
	ev_tstamp		 start_deadline;
	ev_tstamp		 revoke_deadline;
	pid_t			 child;
	ev_tstamp		 child_started;
	int			 restarts;	/* in a row, for --restart */
	int			 await_creds;	/* child stopped; new ones coming */
	int			 stop_signal;	/* signal that ended a fetch */
	ev_signal		 sigw[NSIG];
	ev_child		 childw;
	ev_child		 stopw;		/* the child stopping (job control) */
	ev_timer		 kill_timer;
	ev_timer		 backoff_timer;
	ev_timer		 grace_timer;	/* signal mode: revoke retired */
	ev_timer		 timeout_timer;	/* --timeout */
	ev_timer		 drain_timer;	/* leftovers: SIGKILL after this */
	int			 drained;
	pid_t			*drain_sent;	/* leftovers already signalled */
	size_t			 ndrain_sent;
};

static void	cred_schedule(struct cred *);
static void	cred_due(struct cred *);
static void	cred_read(struct cred *, enum purpose);
static void	request_apply(struct sup *);
static int	rotation_pending(const struct sup *);
static void	shutdown_now(struct sup *);
static void	revoke_one(struct lease *);
static void	begin_stop(struct sup *, enum stop_reason);
static void	spawn_child(struct sup *, const char *);
static void	maybe_finish(struct sup *);
static void	token_cb(const struct vault_resp *, void *);
static void	renew_cb(const struct vault_resp *, void *);
static int	drain_step(struct sup *);

/* A random number in [0, 1). */
static double
rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* The signals leasewrap handles: the forwarded ones and SIGCHLD. */
static void
handled_set(sigset_t *set)
{
	int sig;

	sigemptyset(set);
	for (sig = 1; sig < NSIG; sig++)
		if (is_forwarded(sig))
			sigaddset(set, sig);
	sigaddset(set, SIGCHLD);
}

void
supervisor_block_signals(void)
{
	sigset_t set;

	handled_set(&set);
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

/*
 * Send sig to the command, or with --process-group to its whole group; the
 * pid itself too when the group does not exist yet (pid1.md §4, ESRCH).
 */
static void
signal_child(struct sup *s, int sig)
{
	if (s->child <= 0)
		return;
	if (s->cfg->process_group && kill(-s->child, sig) == 0)
		return;
	if (kill(s->child, sig) == -1)
		log_at(LOG_DEBUG, "signal", LF(.pid = (int)s->child),
		    "sending signal %d: %s", sig, strerror(errno));
}

/* Start a one-shot timer w after delay seconds (never negative). */
static void
timer_in(struct sup *s, ev_timer *w, double delay)
{
	ev_timer_stop(s->loop, w);
	ev_timer_set(w, delay > 0 ? delay : 0., 0.);
	ev_timer_start(s->loop, w);
}

/*
 * Time to stop the command: at most --kill-timeout, less for short leases,
 * plus half a second.  A credential is acted on this long before it dies.
 */
static double
stop_time(const struct sup *s, double duration)
{
	double kt = (double)s->cfg->kill_timeout_ms / 1000.0;

	if (duration > 0 && kt > duration / 4)
		kt = duration / 4;
	return kt + 0.5;
}

/*
 * Like Vault's own client (vault-api.md §9.3): retry transport errors, 412,
 * 429 and 5xx but 501; any other answer is final.
 */
static int
retryable(const struct vault_resp *resp)
{
	if (resp->too_big || resp->tls_error || resp->fatal)
		return 0;
	return resp->status == 0 || resp->status == 412 ||
	    resp->status == 429 || (resp->status >= 500 && resp->status != 501);
}

/* Make value the token in use; the older ones stay until exit. */
static struct tokgen *
add_tokgen(struct sup *s, struct secret *value, int login)
{
	struct tokgen *t = xcalloc(1, sizeof(*t));

	t->sup = s;
	t->value = value;
	t->login = login;
	t->next = s->tokgens;
	s->tokgens = t;
	s->tok = t;
	if (s->vault != NULL)
		vault_set_token(s->vault, value);
	return t;
}

static void	token_file_cb(struct secret *, void *);
static void	token_cb(const struct vault_resp *, void *);

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
		add_tokgen(s, secret_new(v, strlen(v)), 0);
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
			    "%s", path, strerror(errno), config_origin(s->cfg,
			    "token-file", "--token-file", homefile,
			    sizeof(homefile)));
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
	add_tokgen(s, secret_new(buf, len), 0);
	secret_wipe(buf, sizeof(buf));
	if (explicit_file)	/* an Agent's sink may rotate it */
		s->tokfile = tokenfile_new(s->loop, path, s->tok->value,
		    token_file_cb, s);
	return 0;
}

/* ---- leases ---------------------------------------------------------- */

static void	revoke_retry_cb(struct ev_loop *, ev_timer *, int);
static void	release_lease(struct lease *);

/* Remember a lease so that it is revoked at exit whatever happens next. */
static struct lease *
add_lease(struct sup *s, const char *id)
{
	struct lease *l = xcalloc(1, sizeof(*l)), **ls;

	ls = realloc(s->leases, (s->nleases + 1) * sizeof(*ls));
	if (ls == NULL) {
		log_error("internal", "out of memory");
		abort();
	}
	s->leases = ls;
	l->sup = s;
	l->id = xstrdup(id);
	l->state = LS_ACTIVE;
	ev_timer_init(&l->retry, revoke_retry_cb, 0., 0.);
	l->retry.data = l;
	s->leases[s->nleases++] = l;
	/* A read that lands while exiting: revoke its lease at once. */
	if (s->state == ST_REVOKING)
		release_lease(l);
	return l;
}

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
	char verr[256], quoted[512];
	double delay;
	int ok;

	ok = resp->status == 204 || resp->status == 200 || resp->status == 202;
	metrics_add(s->metrics, M_REVOCATIONS, 1, "result", ok ? "ok" : "error",
	    NULL, NULL);
	if (ok)
		log_at(LOG_INFO, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "revoked");
	else {
		vj_error_text(resp->body, resp->len, verr, sizeof(verr));
		delay = lease_retry_delay(lease_backoff(l->attempts, 10.0,
		    rnd()), resp->retry_after);
		/* At exit, every answer but a settled one is retried (§6.2). */
		if ((s->state == ST_REVOKING ? !vj_revoke_settled(resp->status)
		    && !resp->tls_error && !resp->fatal : retryable(resp) ||
		    vj_backend_failure(resp->status, resp->body, resp->len)) &&
		    (s->state != ST_REVOKING ||
		    ev_now(s->loop) + delay <= s->revoke_deadline)) {
			log_at(LOG_WARN, "lease.revoke", LF(.lease = l->id,
			    .status = resp->status), "revoking failed (%ld%s%s); "
			    "retrying in %.1f s", resp->status,
			    verr[0] || resp->error[0] ? ": " : "",
			    verr[0] ? verr : resp->error, delay);
			timer_in(s, &l->retry, delay);
			return;
		}
		util_shell_quote(l->id, quoted, sizeof(quoted));
		log_at(LOG_ERROR, "lease.revoke", LF(.lease = l->id,
		    .status = resp->status), "could not revoke the lease "
		    "(%ld%s%s); %s revoke it with: vault lease revoke %s",
		    resp->status, verr[0] || resp->error[0] ? ": " : "",
		    verr[0] ? verr : resp->error, resp->status == 403 ?
		    "grant \"update\" on sys/leases/revoke to the token's "
		    "policy, and" : "", quoted);
	}
	l->state = LS_DONE;
	maybe_finish(s);
}

/* PUT sys/leases/revoke for one lease (vault-api.md §6.2). */
static void
revoke_one(struct lease *l)
{
	json_t *body = json_pack("{s:s}", "lease_id", l->id);
	char *text = json_dumps(body, JSON_COMPACT);

	l->state = LS_REVOKING;
	l->attempts++;
	vault_request(l->sup->vault, "PUT", "sys/leases/revoke", text,
	    revoke_cb, l);
	free(text);
	json_decref(body);
}

/* A lease leasewrap is done with: revoke it, or with --no-revoke let it be. */
static void
release_lease(struct lease *l)
{
	if (l->sup->cfg->no_revoke)
		l->state = LS_DONE;
	else
		revoke_one(l);
}

/* Revoke the leases no running child uses any more. */
static void
revoke_retired(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->nleases; i++)
		if (s->leases[i]->state == LS_RETIRED)
			release_lease(s->leases[i]);
}

/* Signal mode: revoke the leases retired --revoke-grace ago; wait for the rest. */
static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;
	double grace = (double)s->cfg->revoke_grace_ms / 1000.0, next = -1;
	ev_tstamp now = ev_now(s->loop);
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < s->nleases; i++) {
		struct lease *l = s->leases[i];
		double left = l->retired_at + grace - now;

		if (l->state != LS_RETIRED)
			continue;
		if (left <= 0.001)
			release_lease(l);
		else if (next < 0 || left < next)
			next = left;
	}
	if (next >= 0)
		timer_in(s, &s->grace_timer, next);
}

/* ---- the token ------------------------------------------------------- */

static void	token_step(struct sup *);
static void	start_reads(struct sup *);

/* Can leasewrap get itself a new token when this one ends? */
static int
can_login(const struct sup *s)
{
	return s->cfg->auth != AUTH_TOKEN && s->cfg->auth != AUTH_NONE;
}

/* The token's deadline moved: every credential's deadline moves with it. */
static void
token_changed(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].op == OP_NONE && !s->creds[i].has_next &&
		    s->creds[i].done)
			cred_schedule(&s->creds[i]);
}

/*
 * Plan the token's next step: renew it at two thirds of its life; log in
 * again when it cannot be renewed, early enough for the credentials it
 * carries to be replaced under the new token.
 */
static void
token_schedule(struct sup *s)
{
	struct tokgen *t = s->tok;
	ev_tstamp now = ev_now(s->loop);
	double remaining, lead;

	ev_timer_stop(s->loop, &s->tok_timer);
	if (t == NULL || !t->known || t->deadline <= 0)
		return;
	remaining = t->deadline - now;
	if (t->renewable && !t->final && !t->dead) {
		/* Before the last call of the credentials it carries. */
		double d = lease_renew_delay(remaining,
		    lease_grace(t->duration, rnd()));
		double last = (remaining - stop_time(s, 0)) * 2.0 / 3.0;

		timer_in(s, &s->tok_timer, d < last ? d : last);
		return;
	}
	lead = lease_rotate_lead(t->duration, 0, 0.2, stop_time(s,
	    t->duration) + 2.0, rnd());
	if (!can_login(s)) {
		/* By then a rotated --token-file may hold the next token. */
		tokenfile_due(s->tokfile, t->dead ? 0 : remaining - 2 * lead);
		return;
	}
	timer_in(s, &s->tok_timer, t->dead ? 0 : remaining - 2 * lead);
}

/* The --token-file holds a new token: use it; leases under the old one keep its end. */
static void
token_file_cb(struct secret *value, void *arg)
{
	struct sup *s = arg;

	if (s->state >= ST_REVOKING) {
		secret_free(value);
		return;
	}
	s->tok->final = 1;	/* no longer renewed: what it carries ends with it */
	add_tokgen(s, value, 0);
	log_info("token", "the token file \"%s\" holds a new token: using it",
	    s->cfg->token_file);
	token_changed(s);
	vault_cancel(s->vault, token_cb);	/* the old token's lookup */
	s->tok_busy = 0;
	timer_in(s, &s->tok_timer, 0);		/* look the new one up */
}

/* Read the token's life from an auth block (a login or renew-self). */
static void
token_take_auth(struct sup *s, struct tokgen *t, json_t *auth, int renewal)
{
	double ttl = vj_seconds(json_object_get(auth, "lease_duration"));

	t->renewable = json_is_true(json_object_get(auth, "renewable"));
	if (renewal && ttl < t->duration)
		t->final = 1;		/* capped at its max TTL (§3.2) */
	if (!renewal)
		t->duration = ttl;
	t->known = 1;
	t->deadline = ttl > 0 ? ev_now(s->loop) + ttl : 0;
}

/* lookup-self or renew-self answered: learn the token's life. */
static void
token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	struct sup *s = t->sup;
	char verr[256];
	json_t *root, *v;
	double ttl;
	int was_renew = t->known;

	s->tok_busy = 0;
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (was_renew)
		metrics_add(s->metrics, M_TOKEN_RENEWALS, 1, "result",
		    resp->status == 200 ? "ok" : "error", NULL, NULL);
	if (resp->status == 200 &&
	    (root = json_loadb(resp->body, resp->len, 0, NULL)) != NULL) {
		if (was_renew)
			token_take_auth(s, t, json_object_get(root, "auth"), 1);
		else {
			v = json_object_get(root, "data");
			ttl = vj_seconds(json_object_get(v, "ttl"));
			t->renewable = json_is_true(json_object_get(v,
			    "renewable"));
			t->duration = vj_seconds(json_object_get(v,
			    "creation_ttl"));
			if (t->duration <= 0)
				t->duration = ttl;
			t->known = 1;
			t->deadline = ttl > 0 ? ev_now(s->loop) + ttl : 0;
		}
		json_decref(root);
		s->tok_attempts = 0;
		if (t->deadline > 0)
			log_at(LOG_INFO, "token", LF(LF_TTL(t->deadline -
			    ev_now(s->loop))), "token %s: %.0f s left%s",
			    was_renew ? "renewed" : "looked up",
			    t->deadline - ev_now(s->loop),
			    t->final ? " (its max TTL: it cannot be renewed "
			    "further)" : t->renewable ? ", renewable" :
			    ", not renewable");
		token_schedule(s);
		token_changed(s);
		return;
	}
	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	if (vj_policy_denied(resp->status, resp->body, resp->len)) {
		/* A live token a policy keeps off its own endpoint (§1.5). */
		vj_policy_hint(was_renew ? "auth/token/renew-self" :
		    "auth/token/lookup-self", verr, sizeof(verr));
		log_at(LOG_WARN, "token", LF(.status = resp->status), "%s; "
		    "%s", verr, was_renew ? "it will not be renewed" : "its "
		    "lifetime is unknown: the leases' own answers decide");
		t->final = was_renew;
		token_schedule(s);
		token_changed(s);
		return;
	}
	if (resp->status == 403 || (resp->status == 400 && was_renew)) {
		/* Revoked, expired, or not renewable after all. */
		log_at(LOG_ERROR, "token", LF(.status = resp->status),
		    "Vault %s the token (%ld%s%s)%s",
		    resp->status == 403 ? "no longer accepts" : "will not renew",
		    resp->status, verr[0] ? ": " : "", verr, can_login(s) ?
		    "; logging in again" : "");
		if (resp->status == 403) {
			t->dead = 1;
			t->deadline = ev_now(s->loop);
		}
		t->final = 1;
		token_schedule(s);
		token_changed(s);
		return;
	}
	s->tok_attempts++;
	log_at(LOG_WARN, "token", LF(.status = resp->status),
	    "%s failed (%ld%s%s); retrying", was_renew ?
	    "renewing the token" : "looking up the token", resp->status,
	    verr[0] || resp->error[0] ? ": " : "", verr[0] ? verr : resp->error);
	timer_in(s, &s->tok_timer, lease_retry_delay(lease_backoff(
	    s->tok_attempts, RETRY_CAP, rnd()), resp->retry_after));
}

/* Turn a failed login or unwrap into a message and an exit code. */
static int
login_failed(struct sup *s, const struct vault_resp *resp, int unwrapping,
    char *msg, size_t len)
{
	const struct config *cfg = s->cfg;
	char verr[256], path[256];

	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	auth_login_path(cfg, path, sizeof(path));
	if (resp->status == 0 && resp->fatal) {
		snprintf(msg, len, "%s", resp->error);
		return LW_EXIT_CONFIG;
	}
	if (resp->status == 0 && resp->tls_error) {
		snprintf(msg, len, "TLS with Vault at %s failed: %s; set "
		    "VAULT_CACERT (--ca-cert) to the CA of its certificate, or "
		    "VAULT_TLS_SERVER_NAME to the name in it", cfg->vault_addr,
		    resp->error);
		return LW_EXIT_CONFIG;
	}
	if (resp->status == 0) {
		snprintf(msg, len, "cannot reach Vault at %s: %s; check "
		    "VAULT_ADDR and that Vault is up", cfg->vault_addr,
		    resp->error);
		return LW_EXIT_UNAVAILABLE;
	}
	if (resp->status == 429 || resp->status >= 500) {
		snprintf(msg, len, "Vault is unavailable for %s (%ld%s%s)",
		    unwrapping ? "sys/wrapping/unwrap" : path, resp->status,
		    verr[0] ? ": " : "", verr);
		return LW_EXIT_UNAVAILABLE;
	}
	if (unwrapping && strstr(verr, "wrapping token is not valid") != NULL)
		snprintf(msg, len, "the wrapped secret ID in \"%s\" was already "
		    "unwrapped or has expired (400: %s): someone may have "
		    "intercepted it; issue a new one", cfg->secret_id_file,
		    verr);
	else if (unwrapping)
		snprintf(msg, len, "cannot unwrap the secret ID in \"%s\" "
		    "(%ld%s%s)", cfg->secret_id_file, resp->status,
		    verr[0] ? ": " : "", verr);
	else
		snprintf(msg, len, "%s login at %s was refused (%ld%s%s); check "
		    "%s", config_auth_name(cfg->auth), path, resp->status,
		    verr[0] ? ": " : "", verr,
		    cfg->auth == AUTH_APPROLE ? "the role ID and secret ID" :
		    cfg->auth == AUTH_CERT ? "the client certificate and "
		    "--auth-role" : "--auth-role and that the JWT is current "
		    "and bound to that role");
	return LW_EXIT_NOPERM;
}

static void	login_start(struct sup *);

/* A login or unwrap failed: retry while allowed, else give up or wait. */
static void
login_retry_or_fail(struct sup *s, const struct vault_resp *resp,
    int unwrapping)
{
	char msg[1200];
	double delay = lease_retry_delay(lease_backoff(s->tok_attempts + 1,
	    10.0, rnd()), resp->retry_after);
	int code = login_failed(s, resp, unwrapping, msg, sizeof(msg));
	int again = (resp->status == 0 && !resp->tls_error && !resp->fatal) ||
	    resp->status == 412 || resp->status == 429 ||
	    (resp->status >= 500 && resp->status != 501);

	s->tok_attempts++;
	if (s->state == ST_FETCHING) {
		if (again && s->stop_signal == 0 &&
		    ev_now(s->loop) + delay <= s->start_deadline) {
			log_at(LOG_WARN, "auth.retry", LF(.status =
			    resp->status), "%s; retrying in %.1f s", msg, delay);
			timer_in(s, &s->tok_timer, delay);
			return;
		}
		log_at(LOG_ERROR, "auth", LF(.status = resp->status), "%s",
		    msg);
		s->exit_code = s->stop_signal ? 128 + s->stop_signal : code;
		shutdown_now(s);
		return;
	}
	/* Running: the credentials in hand hold; keep trying. */
	delay = lease_retry_delay(lease_backoff(s->tok_attempts, RETRY_CAP,
	    rnd()), resp->retry_after);
	log_at(LOG_WARN, "auth.retry", LF(.status = resp->status), "%s; "
	    "retrying in %.1f s", msg, delay);
	timer_in(s, &s->tok_timer, delay);
}

/* The login answered: a new token to use from now on. */
static void
login_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;
	json_t *root = NULL, *auth, *ct;
	struct tokgen *t;
	char msg[400] = "";

	s->tok_busy = 0;
	if (resp->status == 200)
		root = json_loadb(resp->body, resp->len, 0, NULL);
	auth = json_object_get(root, "auth");
	ct = json_object_get(auth, "client_token");
	if (s->state >= ST_REVOKING) {
		/* A token made while exiting must not outlive us. */
		if (json_is_string(ct) && !s->cfg->no_revoke) {
			t = add_tokgen(s, secret_new(json_string_value(ct),
			    json_string_length(ct)), 1);
			token_take_auth(s, t, auth, 0);
		}
		json_decref(root);
		maybe_finish(s);
		return;
	}
	if (root != NULL && vj_login_mfa(resp->body, resp->len, msg,
	    sizeof(msg)))
		ct = NULL;	/* no token to use: MFA, or an empty one */
	metrics_add(s->metrics, M_LOGINS, 1, "method",
	    config_auth_name(s->cfg->auth), "result",
	    json_is_string(ct) ? "ok" : "error");
	if (msg[0] != '\0') {
		json_decref(root);
		log_at(s->state == ST_FETCHING ? LOG_ERROR : LOG_WARN, "auth",
		    LF(.status = resp->status), "%s", msg);
		if (s->state == ST_FETCHING) {
			s->exit_code = LW_EXIT_NOPERM;
			shutdown_now(s);
		} else	/* the credentials in hand hold; an operator may fix it */
			timer_in(s, &s->tok_timer, lease_backoff(
			    ++s->tok_attempts, RETRY_CAP, rnd()));
		return;
	}
	if (!json_is_string(ct)) {
		json_decref(root);
		login_retry_or_fail(s, resp, 0);
		return;
	}
	t = add_tokgen(s, secret_new(json_string_value(ct),
	    json_string_length(ct)), 1);
	token_take_auth(s, t, auth, 0);
	json_decref(root);
	s->tok_attempts = 0;
	log_at(LOG_INFO, "auth.login", LF(LF_TTL(t->duration)),
	    "logged in with %s: token for %.0f s%s",
	    config_auth_name(s->cfg->auth), t->duration,
	    t->renewable ? ", renewable" : "");
	token_schedule(s);
	if (s->state == ST_FETCHING)
		start_reads(s);
	else
		token_changed(s);
}

/* sys/wrapping/unwrap answered: keep the secret ID for every login. */
static void
unwrap_cb(const struct vault_resp *resp, void *arg)
{
	struct sup *s = arg;
	json_t *root = NULL, *sid;

	s->tok_busy = 0;
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (resp->status == 200)
		root = json_loadb(resp->body, resp->len, 0, NULL);
	sid = json_object_get(json_object_get(root, "data"), "secret_id");
	if (!json_is_string(sid)) {
		json_decref(root);
		login_retry_or_fail(s, resp, 1);
		return;
	}
	s->secret_id = secret_new(json_string_value(sid),
	    json_string_length(sid));
	json_decref(root);
	log_info("auth.unwrap", "unwrapped the secret ID");
	login_start(s);
}

/* Log in with the configured method, unwrapping the secret ID first if asked. */
static void
login_start(struct sup *s)
{
	struct secret *body = NULL, *wrapping = NULL;
	char err[512], path[256];
	int rc;

	s->tok_busy = 1;
	if (s->cfg->secret_id_wrapped && s->secret_id == NULL) {
		/* The wrapping token is the request's own token (§4.5 a). */
		if (auth_read_file(s->cfg->secret_id_file, "wrapped secret ID",
		    1, &wrapping, err, sizeof(err)) == -1) {
			rc = LW_EXIT_CONFIG;
			goto fail;
		}
		vault_request_with(s->vault, wrapping, "PUT",
		    "sys/wrapping/unwrap", NULL, unwrap_cb, s);
		secret_free(wrapping);	/* the request holds its own copy */
		return;
	}
	if ((rc = auth_login_body(s->cfg, s->secret_id, &body, err,
	    sizeof(err))) != 0)
		goto fail;
	auth_login_path(s->cfg, path, sizeof(path));
	vault_request_with(s->vault, NULL, "PUT", path, secret_str(body),
	    login_cb, s);
	secret_free(body);
	return;
fail:
	s->tok_busy = 0;
	log_error("auth", "%s", err);
	if (s->state == ST_FETCHING) {
		s->exit_code = rc;
		shutdown_now(s);
	} else {
		/* The files may come back (a projected token is rewritten). */
		timer_in(s, &s->tok_timer, lease_backoff(++s->tok_attempts,
		    RETRY_CAP, rnd()));
	}
}

/* The token timer: log in, look the token up, or renew it, as due. */
static void
token_step(struct sup *s)
{
	struct tokgen *t = s->tok;
	char body[64];

	if (s->tok_busy || s->state >= ST_REVOKING)
		return;
	if (t == NULL || ((t->final || t->dead || !t->renewable) &&
	    t->known && can_login(s))) {
		login_start(s);
		return;
	}
	s->tok_busy = 1;
	if (!t->known) {
		vault_request(s->vault, "GET", "auth/token/lookup-self", NULL,
		    token_cb, t);
		return;
	}
	snprintf(body, sizeof(body), "{\"increment\":%.0f}", t->duration);
	vault_request(s->vault, "PUT", "auth/token/renew-self", body, token_cb,
	    t);
}

static void
token_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	token_step(s);		/* with no token yet, that is a login retry */
}

/* ---- credentials ----------------------------------------------------- */

/* The end of a credential: its lease's, or its token's if that comes first. */
static ev_tstamp
cred_deadline(const struct cred *c)
{
	const struct tokgen *t = c->tg;

	if (c->lease_end <= 0)
		return 0;
	if (t != NULL && t->deadline > 0 && t->deadline < c->lease_end)
		return t->deadline;
	return c->lease_end;
}

/* Does the credential's token end it before its lease does, for good? */
static int
token_bound(const struct cred *c)
{
	const struct tokgen *t = c->tg;

	return t != NULL && t->deadline > 0 && t->deadline <= c->lease_end &&
	    (t->final || t->dead || !t->renewable);
}

/*
 * Is a token-bound credential past help?  New credentials help only under
 * a newer token; with the token in use, only a login can make one.
 */
static int
doomed_by_token(const struct cred *c)
{
	return token_bound(c) && c->tg == c->sup->tok;
}

/* Load cur's lease facts after a read or a promotion. */
static void
cred_take_lease(struct cred *c)
{
	c->duration = (double)c->cur.lease_duration;
	c->renewable = c->cur.renewable;
	c->final = !c->renewable;
	c->lease_end = c->cur.lease_id != NULL && c->duration > 0 ?
	    ev_now(c->sup->loop) + c->duration : 0;
	c->jitter = rnd();
	c->issued = ev_now(c->sup->loop);
	c->attempts = 0;
	c->doomed_logged = 0;
}

/* Arm the next step for a credential: renew, rotate, refresh, and the last call. */
static void
cred_schedule(struct cred *c)
{
	struct sup *s = c->sup;
	const struct config *cfg = s->cfg;
	ev_tstamp now = ev_now(s->loop), deadline;
	double lead, st, interval;

	ev_timer_stop(s->loop, &c->timer);
	ev_timer_stop(s->loop, &c->expiry);
	if (s->state >= ST_REVOKING || c->has_next)
		return;
	if (c->lease_end <= 0) {
		/* No lease (KV): re-read on a schedule, spread by +-10 %. */
		interval = (double)cfg->refresh_interval_ms / 1000.0;
		if (c->cur.lease_duration > 0 &&
		    (double)c->cur.lease_duration * 0.9 < interval)
			interval = (double)c->cur.lease_duration * 0.9;
		c->purpose = P_REFRESH;
		timer_in(s, &c->timer, interval * (0.9 + 0.2 * rnd()));
		return;
	}
	deadline = cred_deadline(c);
	st = stop_time(s, c->duration);
	timer_in(s, &c->expiry, deadline - st - now);
	if (c->renewable && !c->final && !token_bound(c)) {
		/* Renew well before the last call, however short the lease. */
		double d = lease_renew_delay(c->lease_end - now,
		    lease_grace(c->duration, c->jitter));

		if (d > (deadline - st - now) * 2.0 / 3.0)
			d = (deadline - st - now) * 2.0 / 3.0;
		/*
		 * Leases of one path share a max TTL: once a capped renewal
		 * showed it, rotate on time instead of finding out late.
		 */
		if (c->learned_max > 0) {
			lead = lease_rotate_lead(c->duration,
			    (double)cfg->rotate_before_ms / 1000.0,
			    cfg->rotate_before_pct, st + 1.0, c->jitter);
			if (c->issued + c->learned_max - lead - now <= d) {
				c->purpose = P_ROTATE;
				if (c->issued + c->learned_max - lead <= now)
					cred_due(c);
				else
					timer_in(s, &c->timer, c->issued +
					    c->learned_max - lead - now);
				return;
			}
		}
		c->purpose = P_RENEW;
		timer_in(s, &c->timer, d);
		return;
	}
	if (doomed_by_token(c)) {
		/* With a login on the way, wait for the new token. */
		if (!c->doomed_logged && !can_login(s))
			log_at(LOG_WARN, "lease.doomed", LF(.path = c->path,
			    .lease = c->lease ? c->lease->id : NULL,
			    LF_TTL(deadline - now)), "the token expires in "
			    "%.0f s and cannot be renewed; its credentials die "
			    "with it", deadline - now);
		c->doomed_logged = 1;
		return;		/* only the last call is left */
	}
	lead = lease_rotate_lead(c->duration,
	    (double)cfg->rotate_before_ms / 1000.0, cfg->rotate_before_pct,
	    st + 1.0, c->jitter);
	c->purpose = P_ROTATE;
	log_at(LOG_DEBUG, "lease.schedule", LF(.path = c->path,
	    .lease = c->lease ? c->lease->id : NULL, LF_TTL(deadline - now)),
	    "rotating in %.1f s, %.1f s before its end", deadline - lead - now,
	    lead);
	if (deadline - lead - now <= 0)
		cred_due(c);	/* late already: before the last call can fire */
	else
		timer_in(s, &c->timer, deadline - lead - now);
}

/* sys/leases/renew answered (vault-api.md §6.1). */
static void
renew_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	struct sup *s = c->sup;
	char verr[256];
	json_t *root;
	double ttl;

	c->op = OP_NONE;
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (resp->status == 200 &&
	    (root = json_loadb(resp->body, resp->len, 0, NULL)) != NULL) {
		ttl = vj_seconds(json_object_get(root, "lease_duration"));
		c->renewable = json_is_true(json_object_get(root, "renewable"));
		json_decref(root);
		metrics_add(s->metrics, M_RENEWALS, 1, "path", c->path,
		    "result", "ok");
		c->attempts = 0;
		c->lease_end = ev_now(s->loop) + ttl;
		if (ttl < c->duration || !c->renewable) {
			c->final = 1;
			if (ttl < c->duration)
				c->learned_max = c->lease_end - c->issued;
			log_at(LOG_INFO, "lease.renew", CRED_LF(c, ttl),
			    "renewed for %.0f s, its max TTL: it will be "
			    "replaced", ttl);
		} else
			log_at(LOG_INFO, "lease.renew", CRED_LF(c, ttl),
			    "renewed for %.0f s", ttl);
		cred_schedule(c);
		return;
	}
	metrics_add(s->metrics, M_RENEWALS, 1, "path", c->path, "result",
	    "error");
	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	if (retryable(resp) || vj_backend_failure(resp->status, resp->body,
	    resp->len)) {
		/* The lease still holds: keep renewing, no new credentials. */
		c->attempts++;
		log_at(LOG_WARN, "lease.renew", LF(.path = c->path,
		    .lease = c->lease ? c->lease->id : NULL,
		    .status = resp->status), "renewal failed (%ld%s%s); "
		    "retrying", resp->status,
		    verr[0] || resp->error[0] ? ": " : "",
		    verr[0] ? verr : resp->error);
		c->purpose = P_RENEW;
		timer_in(s, &c->timer, lease_retry_delay(lease_backoff(
		    c->attempts, RETRY_CAP, rnd()), resp->retry_after));
		return;
	}
	/* Lost, expired or not renewable: only new credentials help now. */
	log_at(LOG_WARN, "lease.renew", LF(.path = c->path,
	    .lease = c->lease ? c->lease->id : NULL, .status = resp->status),
	    "cannot renew (%ld%s%s); fetching new credentials", resp->status,
	    verr[0] ? ": " : "", verr);
	c->final = 1;
	c->attempts = 0;
	cred_read(c, P_ROTATE);
}

static void
cred_renew(struct cred *c)
{
	json_t *body = json_pack("{s:s,s:I}", "lease_id", c->lease->id,
	    "increment", (json_int_t)c->duration);
	char *text = json_dumps(body, JSON_COMPACT);

	c->op = OP_RENEW;
	vault_request(c->sup->vault, "PUT", "sys/leases/renew", text, renew_cb,
	    c);
	free(text);
	json_decref(body);
}

/* The credential's timer: renew, rotate or refresh, as scheduled. */
static void
cred_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	cred_due(w->data);
}

/* Renew, rotate or refresh a credential now. */
static void
cred_due(struct cred *c)
{
	if (c->op != OP_NONE || c->sup->state >= ST_REVOKING)
		return;
	switch (c->purpose) {
	case P_INITIAL:
		break;		/* first reads retry through initial_timer_cb */
	case P_RENEW:
		cred_renew(c);
		break;
	case P_ROTATE:
		if (c->sup->cfg->on_change == CHANGE_EXIT) {
			/* No use fetching: the orchestrator starts us anew. */
			log_at(LOG_INFO, "lease.rotate", LF(.path = c->path),
			    "credentials end soon; --on-change exit");
			if (c->sup->state == ST_RUNNING)
				begin_stop(c->sup, STOP_ROTATED);
			return;
		}
		cred_read(c, P_ROTATE);
		break;
	case P_REFRESH:
		cred_read(c, P_REFRESH);
		break;
	}
}

/* The last call: the credential dies soon and nothing replaced it. */
static void
cred_expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cred *c = w->data;
	struct sup *s = c->sup;
	double left = cred_deadline(c) - stop_time(s, c->duration) -
	    ev_now(s->loop);

	(void)loop;
	(void)revents;
	if (left > 0.01) {
		/* Armed before the token's end moved (token_changed skips a busy one). */
		timer_in(s, &c->expiry, left);
		return;
	}
	if (c->has_next || s->state >= ST_REVOKING ||
	    (s->state == ST_BACKOFF && s->await_creds) ||
	    (s->state == ST_STOPPING && s->stop_reason == STOP_RESTART))
		return;		/* a restart onto new credentials is under way */
	if (((c->op == OP_READ && c->purpose == P_ROTATE) ||
	    (token_bound(c) && can_login(s))) &&
	    s->cfg->on_change == CHANGE_RESTART && s->state == ST_RUNNING) {
		/* No time to wait for them with the command running. */
		log_at(LOG_WARN, "lease.expire", CRED_LF(c, cred_deadline(c) -
		    ev_now(s->loop)), "credentials end in %.1f s; new ones are "
		    "on their way: stopping the command until they come",
		    cred_deadline(c) - ev_now(s->loop));
		begin_stop(s, STOP_RESTART);
		return;
	}
	if (c->op == OP_READ && c->purpose == P_ROTATE &&
	    s->cfg->on_change == CHANGE_SIGNAL && s->state == ST_RUNNING &&
	    cred_deadline(c) - ev_now(s->loop) > 0.5) {
		/* A signal applies them at once: wait for them a little more. */
		timer_in(s, &c->expiry, cred_deadline(c) - ev_now(s->loop) -
		    0.5);
		return;
	}
	if (s->cfg->on_expire == EXPIRE_WARN) {
		log_at(LOG_WARN, "lease.expire", CRED_LF(c, cred_deadline(c) -
		    ev_now(s->loop)), "credentials end in %.1f s with no "
		    "replacement; the command keeps them (--on-expire warn)",
		    cred_deadline(c) - ev_now(s->loop));
		return;
	}
	log_at(LOG_ERROR, "lease.expire", CRED_LF(c, cred_deadline(c) -
	    ev_now(s->loop)), "%s: credentials end in %.1f s and could not be "
	    "replaced; stopping the command (exit %d)", c->path,
	    cred_deadline(c) - ev_now(s->loop), LW_EXIT_EXPIRED);
	if (s->state == ST_RUNNING || s->state == ST_STOPPING)
		begin_stop(s, STOP_EXPIRED);
	else {
		s->exit_code = LW_EXIT_EXPIRED;
		shutdown_now(s);
	}
}

/* Do the fields the command uses differ between two reads of a path? */
static int
values_differ(const struct sup *s, const struct cred *c,
    const struct vj_secret *a, const struct vj_secret *b)
{
	struct secret *va, *vb;
	char err[64];
	size_t i;
	int differ = 0;

	for (i = 0; i < s->cfg->nspecs && !differ; i++) {
		const struct spec *sp = &s->cfg->specs[i];

		if (strcmp(sp->path, c->path) != 0)
			continue;
		va = vb = NULL;
		if (vj_field(a, sp->field, &va, err, sizeof(err)) == -1 ||
		    vj_field(b, sp->field, &vb, err, sizeof(err)) == -1 ||
		    !secret_equal(va, vb))
			differ = 1;
		secret_free(va);
		secret_free(vb);
	}
	return differ;
}

/* Turn a failed answer into an exit code and a message without any secret. */
static void
read_failed(struct cred *c, const struct vault_resp *resp)
{
	const struct config *cfg = c->sup->cfg;
	char verr[256];

	c->fail_status = resp->status;
	if (resp->status == 0) {
		if (resp->fatal) {
			c->fail_code = LW_EXIT_CONFIG;
			snprintf(c->fail, sizeof(c->fail), "%s", resp->error);
		} else if (resp->too_big) {
			c->fail_code = LW_EXIT_DATAERR;
			snprintf(c->fail, sizeof(c->fail), "reading \"%s\": "
			    "Vault's answer is larger than %zu bytes; is "
			    "VAULT_ADDR a Vault server?", c->path,
			    cfg->max_response);
		} else if (resp->tls_error) {
			c->fail_code = LW_EXIT_CONFIG;
			snprintf(c->fail, sizeof(c->fail), "TLS with Vault at "
			    "%s failed: %s; set VAULT_CACERT (--ca-cert) to the "
			    "CA of its certificate, or VAULT_TLS_SERVER_NAME to "
			    "the name in it", cfg->vault_addr, resp->error);
		} else {
			c->fail_code = LW_EXIT_UNAVAILABLE;
			snprintf(c->fail, sizeof(c->fail), "cannot reach Vault "
			    "at %s: %s; check VAULT_ADDR and that Vault is "
			    "up", cfg->vault_addr, resp->error);
		}
		return;
	}
	vj_error_text(resp->body, resp->len, verr, sizeof(verr));
	if (resp->status == 403) {
		c->fail_code = LW_EXIT_NOPERM;
		if (strstr(verr, "invalid token") != NULL)
			snprintf(c->fail, sizeof(c->fail), "the token is "
			    "invalid or expired: Vault refused it reading \"%s\" "
			    "(403: invalid token); see \"vault token lookup\", "
			    "then set VAULT_TOKEN or log in again", c->path);
		else
			snprintf(c->fail, sizeof(c->fail), "permission denied "
			    "reading \"%s\" (403); check the token's policies",
			    c->path);
	} else if (resp->status == 404 && vj_kv2_gone(resp->body, resp->len,
	    verr, sizeof(verr))) {
		c->fail_code = LW_EXIT_DATAERR;
		snprintf(c->fail, sizeof(c->fail), "secret \"%s\" has no "
		    "current version (404): %s", c->path, verr);
	} else if (resp->status == 404) {
		c->fail_code = LW_EXIT_DATAERR;
		snprintf(c->fail, sizeof(c->fail), "no secret at \"%s\" (404); "
		    "check the path", c->path);
	} else if (resp->status == 412 || resp->status == 429 ||
	    resp->status >= 500) {
		c->fail_code = LW_EXIT_UNAVAILABLE;
		snprintf(c->fail, sizeof(c->fail), "Vault is unavailable "
		    "reading \"%s\" (%ld%s%s); try again later", c->path,
		    resp->status, verr[0] ? ": " : "", verr);
	} else {
		c->fail_code = LW_EXIT_DATAERR;
		snprintf(c->fail, sizeof(c->fail), "Vault refused to read "
		    "\"%s\" (%ld%s%s)", c->path, resp->status,
		    verr[0] ? ": " : "", verr);
	}
}

static void	reads_settled(struct sup *);

/* sys/internal/ui/mounts answered: retry a plain KV v2 path as mount/data/rest. */
static void
mount_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	char err[128], *mount = NULL;
	int version = 0;
	size_t ml, len;

	c->op = OP_NONE;
	if (resp->status == 200 && vj_parse_mount(resp->body, resp->len,
	    &mount, &version, err, sizeof(err)) == 0 && version == 2) {
		ml = strlen(mount);
		if (strncmp(c->path, mount, ml) == 0 &&
		    strncmp(c->path + ml, "data/", 5) != 0) {
			len = strlen(c->path) + 6;
			free(c->read_path);
			c->read_path = xmalloc(len);
			snprintf(c->read_path, len, "%sdata/%s", mount,
			    c->path + ml);
			log_at(LOG_DEBUG, "fetch.kv2", LF(.path = c->path),
			    "on KV v2 mount %s: reading %s", mount,
			    c->read_path);
			free(mount);
			c->fail_code = 0;
			c->fail[0] = '\0';
			cred_read(c, c->purpose);
			return;
		}
	}
	free(mount);
	metrics_add(c->sup->metrics, M_FETCHES, 1, "path", c->path, "result",
	    "error");
	c->done = 1;	/* keep the first failure */
	reads_settled(c->sup);
}

/* The initial read failed: retry, resolve a KV v2 path, or give up. */
static void
initial_failed(struct cred *c, const struct vault_resp *resp)
{
	struct sup *s = c->sup;
	double delay = lease_retry_delay(lease_backoff(c->attempts, 10.0,
	    rnd()), resp->retry_after);
	size_t len;
	char *p;

	read_failed(c, resp);
	/* A 404 or 403 that leads to the KV v2 lookup is not a failure yet. */
	if (!((resp->status == 404 || resp->status == 403) && !c->resolved))
		metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result",
		    "error");
	if (retryable(resp) && s->stop_signal == 0 &&
	    ev_now(s->loop) + delay <= s->start_deadline) {
		log_at(LOG_WARN, "fetch.retry", LF(.path = c->path,
		    .status = resp->status), "%s; retrying in %.1f s (try %d)",
		    c->fail, delay, c->attempts + 1);
		timer_in(s, &c->timer, delay);
		return;
	}
	/* A plain path on KV v2 gives 404 (or 403 under a data/ policy). */
	if ((resp->status == 404 || resp->status == 403) && !c->resolved &&
	    s->stop_signal == 0) {
		c->resolved = 1;
		len = strlen(c->path) + 32;
		p = xmalloc(len);
		snprintf(p, len, "sys/internal/ui/mounts/%s", c->path);
		c->op = OP_READ;
		vault_request(s->vault, "GET", p, NULL, mount_cb, c);
		free(p);
		return;
	}
	c->done = 1;
	reads_settled(s);
}

/* A read answered: the first one, a rotation, or a refresh. */
static void
read_cb(const struct vault_resp *resp, void *arg)
{
	struct cred *c = arg;
	struct sup *s = c->sup;
	struct vj_secret sec;
	char err[384];
	double delay;

	c->op = OP_NONE;
	log_at(LOG_DEBUG, "fetch", LF(.path = c->read_path,
	    .status = resp->status), "GET %s: %ld in %.1f ms", c->read_path,
	    resp->status, resp->seconds * 1000);
	if (resp->status == 200 && vj_parse_secret(c->read_path, resp->body,
	    resp->len, &sec, err, sizeof(err)) == 0) {
		struct lease *l = NULL;

		metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result",
		    "ok");

		if (sec.lease_id != NULL) {
			l = add_lease(s, sec.lease_id);
			log_at(LOG_INFO, "lease.create", LF(.path = c->path,
			    .lease = sec.lease_id,
			    LF_TTL((double)sec.lease_duration)),
			    "new lease: %lld s%s", sec.lease_duration,
			    sec.renewable ? ", renewable" : "");
		}
		if (c->purpose == P_INITIAL) {
			c->cur = sec;
			c->lease = l;
			c->tg = s->tok;
			cred_take_lease(c);
			c->done = 1;
			reads_settled(s);
			return;
		}
		if (s->state >= ST_REVOKING) {
			vj_secret_clear(&sec);
			maybe_finish(s);
			return;
		}
		if (c->purpose == P_REFRESH && l == NULL &&
		    !values_differ(s, c, &c->cur, &sec)) {
			log_at(LOG_DEBUG, "fetch.refresh", LF(.path = c->path),
			    "unchanged");
			vj_secret_clear(&sec);
			c->attempts = 0;
			cred_schedule(c);
			return;
		}
		log_at(LOG_INFO, "fetch.new", LF(.path = c->path),
		    "new credentials%s", c->purpose == P_REFRESH ?
		    " (a value changed)" : "");
		if (c->has_next) {
			vj_secret_clear(&c->next);
			if (c->next_lease != NULL)
				c->next_lease->state = LS_RETIRED;
		}
		c->next = sec;
		c->next_lease = l;
		c->next_tg = s->tok;
		c->has_next = 1;
		ev_timer_stop(s->loop, &c->timer);
		request_apply(s);
		return;
	}
	if (resp->status == 200 || c->purpose != P_INITIAL)
		metrics_add(s->metrics, M_FETCHES, 1, "path", c->path, "result",
		    "error");
	if (resp->status == 200) {
		/* Not a usable secret: that is final, like a 4xx. */
		c->fail_code = LW_EXIT_DATAERR;
		snprintf(c->fail, sizeof(c->fail), "%s", err);
		if (c->purpose == P_INITIAL) {
			c->done = 1;
			reads_settled(s);
			return;
		}
	} else if (c->purpose == P_INITIAL) {
		initial_failed(c, resp);
		return;
	} else
		read_failed(c, resp);
	if (s->state >= ST_REVOKING) {
		maybe_finish(s);
		return;
	}
	if (s->await_creds) {
		log_at(LOG_ERROR, "lease.expire", LF(.path = c->path),
		    "%s; the command is stopped and its "
		    "credentials end: exiting (exit %d)", c->fail,
		    LW_EXIT_EXPIRED);
		s->exit_code = LW_EXIT_EXPIRED;
		shutdown_now(s);
		return;
	}
	/* A rotation or refresh failed: the command keeps what it has. */
	c->attempts++;
	delay = lease_retry_delay(lease_backoff(c->attempts, RETRY_CAP, rnd()),
	    resp->retry_after);
	log_at(LOG_WARN, "fetch.retry", LF(.path = c->path,
	    .status = resp->status), "%s; retrying in %.1f s", c->fail, delay);
	timer_in(s, &c->timer, delay);
}

static void
cred_read(struct cred *c, enum purpose p)
{
	c->purpose = p;
	c->op = OP_READ;
	c->attempts++;
	vault_request(c->sup->vault, "GET", c->read_path, NULL, read_cb, c);
}

/* Before the first start, the credential timer only paces retries. */
static void
initial_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cred *c = w->data;

	(void)loop;
	(void)revents;
	if (c->sup->stop_signal != 0) {
		c->done = 1;
		reads_settled(c->sup);
		return;
	}
	c->fail_code = 0;
	cred_read(c, P_INITIAL);
}

/* ---- metrics --------------------------------------------------------- */

/* The gauges, set afresh before each scrape or file write. */
static void
metrics_gauges(void *arg)
{
	struct sup *s = arg;
	ev_tstamp now = ev_time(), d;
	size_t i, held = 0;

	for (i = 0; i < s->ncreds; i++) {
		const struct cred *c = &s->creds[i];

		if (c->lease == NULL || c->lease->state != LS_ACTIVE ||
		    (d = cred_deadline(c)) <= 0)
			continue;
		metrics_set(s->metrics, M_DEADLINE, d - now, "path", c->path);
		metrics_set(s->metrics, M_DEADLINE_TS, (double)(long long)d, "path",
		    c->path);
	}
	for (i = 0; i < s->nleases; i++)
		if (s->leases[i]->state != LS_DONE)
			held++;
	metrics_set(s->metrics, M_LEASES, (double)held, NULL, NULL);
	metrics_set(s->metrics, M_CHILD_UP, s->child > 0, NULL, NULL);
	if (s->tok != NULL && s->tok->deadline > 0 && !s->tok->dead)
		metrics_set(s->metrics, M_TOKEN_DEADLINE, s->tok->deadline - now, NULL,
		    NULL);
}

/*
 * Every series whose labels are known at start, at 0: a counter that
 * appears only at its first increment hides that increment from rate().
 */
static void
metrics_zero(struct sup *s)
{
	static const char *const results[] = { "ok", "error" };
	static const char *const reasons[] = { "initial", "rotation", "exit" };
	size_t i, r;

	for (r = 0; r < 2; r++) {
		for (i = 0; i < s->cfg->nspecs; i++) {
			metrics_add(s->metrics, M_FETCHES, 0, "path",
			    s->cfg->specs[i].path, "result", results[r]);
			metrics_add(s->metrics, M_RENEWALS, 0, "path",
			    s->cfg->specs[i].path, "result", results[r]);
		}
		metrics_add(s->metrics, M_REVOCATIONS, 0, "result", results[r],
		    NULL, NULL);
		metrics_add(s->metrics, M_TOKEN_RENEWALS, 0, "result",
		    results[r], NULL, NULL);
		if (can_login(s))
			metrics_add(s->metrics, M_LOGINS, 0, "method",
			    config_auth_name(s->cfg->auth), "result",
			    results[r]);
	}
	for (r = 0; r < 3; r++)
		metrics_add(s->metrics, M_CHILD_STARTS, 0, "reason", reasons[r],
		    NULL, NULL);
	metrics_add(s->metrics, M_CHILD_SIGNALS, 0, NULL, NULL, NULL, NULL);
}

/* ---- the child ------------------------------------------------------- */

/* Move fetched credentials into use; their old leases retire. */
static void
promote(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		struct cred *c = &s->creds[i];

		if (!c->has_next)
			continue;
		if (c->lease != NULL) {
			c->lease->state = LS_RETIRED;
			c->lease->retired_at = ev_now(s->loop);
		}
		vj_secret_clear(&c->cur);
		c->cur = c->next;
		c->lease = c->next_lease;
		c->tg = c->next_tg;
		memset(&c->next, 0, sizeof(c->next));
		c->next_lease = NULL;
		c->has_next = 0;
		cred_take_lease(c);
		cred_schedule(c);
	}
}

/*
 * When the credentials in use start to end: the earliest deadline of the
 * leased ones, as Unix seconds (ev_now is wall-clock time); 0 if none is
 * leased.  The command gets it as LEASEWRAP_DEADLINE.
 */
static long long
env_deadline(const struct sup *s)
{
	ev_tstamp d, min = 0;
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if ((d = cred_deadline(&s->creds[i])) > 0 && (min == 0 || d < min))
			min = d;
	return (long long)min;
}

/*
 * The child's environment from the credentials in use, with
 * LEASEWRAP_DEADLINE last when a credential is leased; *nvars is how many
 * variables leasewrap added (they end the list).  NULL on a missing field.
 */
static char **
build_env(struct sup *s, size_t *nvars)
{
	struct env_var *vars;
	char err[512], num[32], **envp;
	long long deadline = env_deadline(s);
	size_t i, j, n = s->cfg->nspecs;

	vars = xcalloc(n + 1, sizeof(*vars));
	for (i = 0; i < n; i++) {
		const struct spec *sp = &s->cfg->specs[i];
		struct secret *val = NULL;

		for (j = 0; j < s->ncreds; j++)
			if (strcmp(s->creds[j].path, sp->path) == 0)
				break;
		if (vj_field(&s->creds[j].cur, sp->field, &val, err,
		    sizeof(err)) == -1) {
			log_at(LOG_ERROR, "fetch", LF(.path = sp->path), "%s: "
			    "secret \"%s\" %s; check the part after \"#\"",
			    sp->name, sp->path, err);
			for (j = 0; j < i; j++)
				secret_free((struct secret *)vars[j].value);
			free(vars);
			return NULL;
		}
		vars[i].name = sp->name;
		vars[i].value = val;
	}
	if (deadline > 0) {
		snprintf(num, sizeof(num), "%lld", deadline);
		vars[n].name = "LEASEWRAP_DEADLINE";
		vars[n++].value = secret_new(num, strlen(num));
	}
	envp = env_build(s->envp_in, vars, n, s->cfg->pass_token);
	for (i = 0; i < n; i++)
		secret_free((struct secret *)vars[i].value);
	free(vars);
	*nvars = n;
	return envp;
}

/* Rewrite every --env-file with leasewrap's variables (not the inherited ones). */
static int
write_env_files(struct sup *s, char **envp, size_t nvars)
{
	char err[512];
	size_t i, n = 0;
	int r;

	if (s->cfg->nenv_files == 0)
		return 0;
	while (envp[n] != NULL)
		n++;
	for (i = 0; i < s->cfg->nenv_files; i++)
		if ((r = envfile_write(s->cfg, s->cfg->env_files[i],
		    envp + n - nvars, nvars, err, sizeof(err))) != 0) {
			log_error("envfile", "%s", err);
			return r;	/* -2: a value the format cannot carry */
		}
	return 0;
}

/*
 * Start (or start again) the command with the credentials in use; why is
 * "initial", "rotation" or "exit" (for leasewrap_child_starts_total).
 */
static void
spawn_child(struct sup *s, const char *why)
{
	char **envp;
	size_t nvars;
	int e;

	promote(s);
	if ((envp = build_env(s, &nvars)) == NULL) {
		s->exit_code = LW_EXIT_DATAERR;
		shutdown_now(s);
		return;
	}
	if ((e = write_env_files(s, envp, nvars)) != 0) {
		env_free(envp);
		s->exit_code = e == -2 ? LW_EXIT_DATAERR : LW_EXIT_CONFIG;
		shutdown_now(s);
		return;
	}
	s->child = child_spawn(s->cfg->argv, envp, &e);
	env_free(envp);
	if (s->child == -1) {
		log_error("child.start", "cannot start \"%s\": %s",
		    s->cfg->argv[0], strerror(errno));
		s->exit_code = LW_EXIT_OSERR;
		shutdown_now(s);
		return;
	}
	if (e != 0) {
		log_error("child.start", "cannot run \"%s\": %s%s",
		    s->cfg->argv[0], strerror(e),
		    child_exec_exit_code(e) == LW_EXIT_NOTFOUND ?
		    "; check the command name and PATH" :
		    "; check that it is an executable file");
		s->exit_code = child_exec_exit_code(e);
		s->child = -1;	/* it exits on its own; the reaper collects it */
		shutdown_now(s);
		return;
	}
	s->state = ST_RUNNING;
	s->child_started = ev_now(s->loop);
	if (s->cfg->timeout_ms > 0 && !ev_is_active(&s->timeout_timer))
		timer_in(s, &s->timeout_timer,
		    (double)s->cfg->timeout_ms / 1000.0);
	log_at(LOG_INFO, "child.start", LF(.pid = (int)s->child), "started %s",
	    s->cfg->argv[0]);
	metrics_add(s->metrics, M_CHILD_STARTS, 1, "reason", why, NULL, NULL);
	/* The old child is gone: nobody uses the retired leases. */
	if (s->cfg->on_change != CHANGE_SIGNAL)
		revoke_retired(s);
}

/* The kill timeout passed: SIGKILL the child. */
static void
kill_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (s->child > 0) {
		log_at(LOG_WARN, "child.kill", LF(.pid = (int)s->child),
		    "pid %d did not exit in time; SIGKILL", (int)s->child);
		signal_child(s, SIGKILL);
	}
}

/* Ask the child to stop; what follows its exit depends on why. */
static void
begin_stop(struct sup *s, enum stop_reason why)
{
	double kt = (double)s->cfg->kill_timeout_ms / 1000.0;
	size_t i;

	if (s->state == ST_STOPPING) {
		/* Exiting beats restarting; an expiry beats a plain exit. */
		if (why != STOP_RESTART && s->stop_reason == STOP_RESTART)
			s->stop_reason = why;
		return;
	}
	s->state = ST_STOPPING;
	s->stop_reason = why;
	if (why == STOP_EXPIRED)
		/* SIGKILL before the credentials die, not after. */
		for (i = 0; i < s->ncreds; i++) {
			double left = cred_deadline(&s->creds[i]) -
			    ev_now(s->loop) - 0.25;

			if (s->creds[i].lease_end > 0 && left < kt)
				kt = left > 0 ? left : 0;
		}
	log_at(LOG_INFO, "child.stop", LF(.pid = (int)s->child), "sending "
	    "signal %d (%s)", s->cfg->kill_signal, why == STOP_RESTART ?
	    "new credentials" :
	    why == STOP_ROTATED ? "--on-change exit" :
	    why == STOP_EXPIRED ? "credentials expire" :
	    why == STOP_TIMEOUT ? "--timeout" : "exiting");
	signal_child(s, s->cfg->kill_signal);
	timer_in(s, &s->kill_timer, kt);
}

/* New credentials are ready: restart, signal or exit, as --on-change says. */
static void
request_apply(struct sup *s)
{
	char **envp;
	size_t nvars;

	if (s->state == ST_BACKOFF && s->await_creds && !rotation_pending(s)) {
		s->await_creds = 0;
		ev_timer_stop(s->loop, &s->backoff_timer);
		spawn_child(s, "rotation");
		return;
	}
	if (s->state != ST_RUNNING)
		return;		/* applied at the next start */
	switch (s->cfg->on_change) {
	case CHANGE_RESTART:
		begin_stop(s, STOP_RESTART);
		break;
	case CHANGE_EXIT:
		begin_stop(s, STOP_ROTATED);
		break;
	case CHANGE_SIGNAL:
		promote(s);
		if ((envp = build_env(s, &nvars)) == NULL) {
			s->exit_code = LW_EXIT_DATAERR;
			begin_stop(s, STOP_EXIT);
			break;
		}
		if (write_env_files(s, envp, nvars) == -2) {
			env_free(envp);	/* the file would keep revoked values */
			begin_stop(s, STOP_DATAERR);
			break;
		}
		env_free(envp);
		log_at(LOG_INFO, "child.signal", LF(.pid = (int)s->child),
		    "sending signal %d (new credentials)",
		    s->cfg->change_signal);
		signal_child(s, s->cfg->change_signal);
		metrics_add(s->metrics, M_CHILD_SIGNALS, 1, NULL, NULL, NULL,
		    NULL);
		/* Old leases stay alive until the command has moved over. */
		if (!ev_is_active(&s->grace_timer))
			timer_in(s, &s->grace_timer,
			    (double)s->cfg->revoke_grace_ms / 1000.0);
		break;
	}
}

/* The crash backoff is over: start the command again. */
static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (s->await_creds) {
		log_error("lease.expire", "no new credentials within "
		    "--start-timeout; exiting (exit %d)", LW_EXIT_EXPIRED);
		s->exit_code = LW_EXIT_EXPIRED;
		shutdown_now(s);
		return;
	}
	spawn_child(s, "exit");
}

/* The command exited on its own: restart it or exit, as --restart says. */
static void
child_exited_alone(struct sup *s, int code)
{
	const struct config *cfg = s->cfg;
	double ran = ev_now(s->loop) - s->child_started, delay;
	int again;

	again = !s->shutting_down && (cfg->restart == RESTART_ALWAYS ||
	    (cfg->restart == RESTART_ON_FAILURE && code != 0));
	if (again && ran >= RESTART_RESET_AFTER)
		s->restarts = 0;
	if (again && s->restarts >= cfg->max_restarts) {
		log_error("child.restart", "the command exited %d times in a "
		    "row; giving up (--max-restarts %d)", s->restarts + 1,
		    cfg->max_restarts);
		again = 0;
	}
	if (!again) {
		s->exit_code = code;
		shutdown_now(s);
		return;
	}
	delay = 1.0;
	for (int i = 0; i < s->restarts && delay < RESTART_BACKOFF_CAP; i++)
		delay *= 2;
	if (delay > RESTART_BACKOFF_CAP)
		delay = RESTART_BACKOFF_CAP;
	s->restarts++;
	log_warn("child.restart", "the command exited with %d; starting it "
	    "again in %.0f s (restart %d of %d)", code, delay, s->restarts,
	    cfg->max_restarts);
	s->state = ST_BACKOFF;
	timer_in(s, &s->backoff_timer, delay);
}

/*
 * Is a credential too close to its end to start the command on, with no
 * replacement fetched yet?  Then a restart waits for the replacement.
 */
static int
rotation_pending(const struct sup *s)
{
	ev_tstamp now = ev_now(s->loop);
	size_t i;

	for (i = 0; i < s->ncreds; i++) {
		const struct cred *c = &s->creds[i];

		if (c->lease_end > 0 && !c->has_next &&
		    cred_deadline(c) - now < stop_time(s, c->duration))
			return 1;
	}
	return 0;
}

/* Reap every child that exited; the main one moves the state on. */
static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;
	int code;

	(void)loop;
	(void)revents;
	if (s->state == ST_DRAINING) {
		drain_step(s);
		return;
	}
	if (w->rpid != s->child || s->child <= 0)
		return;		/* an orphan or a failed exec: reaped */
	code = child_exit_code(w->rstatus);
	s->child = 0;
	ev_timer_stop(s->loop, &s->kill_timer);
	log_at(LOG_INFO, "child.exit", LF(.pid = w->rpid), "exited: code %d",
	    code);
	metrics_changed(s->metrics);
	if (s->state != ST_STOPPING) {
		child_exited_alone(s, code);
		return;
	}
	switch (s->stop_reason) {
	case STOP_RESTART:
		if (s->shutting_down) {
			s->exit_code = code;
			shutdown_now(s);
		} else if (rotation_pending(s)) {
			log_info("child.wait", "waiting for new credentials");
			s->state = ST_BACKOFF;
			s->await_creds = 1;
			timer_in(s, &s->backoff_timer,
			    (double)s->cfg->start_timeout_ms / 1000.0);
		} else
			spawn_child(s, "rotation");
		break;
	case STOP_EXIT:
		s->exit_code = code;
		shutdown_now(s);
		break;
	case STOP_ROTATED:
		s->exit_code = LW_EXIT_ROTATED;
		shutdown_now(s);
		break;
	case STOP_EXPIRED:
		s->exit_code = LW_EXIT_EXPIRED;
		shutdown_now(s);
		break;
	case STOP_TIMEOUT:
		s->exit_code = LW_EXIT_TIMEOUT;
		shutdown_now(s);
		break;
	case STOP_DATAERR:
		s->exit_code = LW_EXIT_DATAERR;
		shutdown_now(s);
		break;
	}
}

/*
 * Job control at a terminal (as sudo does): the command was stopped by ^Z
 * while it owned the terminal.  Take the terminal back and stop ourselves,
 * so that the shell sees the job stopped; on "fg" give it back and resume
 * the command.  Not as PID 1, whom nobody would resume.
 */
static void
stop_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;
	int sig;

	(void)loop;
	(void)revents;
	if (w->rpid != s->child || s->child <= 0 || !WIFSTOPPED(w->rstatus) ||
	    getpid() == 1)
		return;
	sig = WSTOPSIG(w->rstatus);
	if ((sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) ||
	    !isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != s->child)
		return;
	(void)tcsetpgrp(STDIN_FILENO, getpgrp());
	raise(SIGSTOP);
	/* The shell said "fg". */
	(void)tcsetpgrp(STDIN_FILENO, s->child);
	kill(-s->child, SIGCONT);
}

/* ---- start and end ---------------------------------------------------- */

/*
 * "leasewrap check": one line per variable on stdout, never a value; the
 * leases are revoked by the shutdown that follows.  Returns the exit code.
 */
static int
check_report(struct sup *s)
{
	char err[512], dur[32];
	struct secret *val;
	size_t i, j;
	int rc = 0;

	for (i = 0; i < s->cfg->nspecs; i++) {
		const struct spec *sp = &s->cfg->specs[i];
		const struct cred *c;

		for (j = 0; j < s->ncreds; j++)
			if (strcmp(s->creds[j].path, sp->path) == 0)
				break;
		c = &s->creds[j];
		val = NULL;
		if (vj_field(&c->cur, sp->field, &val, err, sizeof(err)) == -1) {
			printf("%-16s %s#%s  MISSING: %s\n", sp->name, sp->path,
			    sp->field, err);
			log_at(LOG_ERROR, "check", LF(.path = sp->path), "%s: "
			    "secret \"%s\" %s; check the part after \"#\"",
			    sp->name, sp->path, err);
			rc = LW_EXIT_DATAERR;
			continue;
		}
		secret_free(val);
		util_format_duration((long long)(c->duration * 1000), dur,
		    sizeof(dur));
		if (c->lease != NULL)
			printf("%-16s %s#%s  ok, lease %s%s\n", sp->name,
			    sp->path, sp->field, dur, c->renewable ?
			    " renewable" : ", not renewable");
		else
			printf("%-16s %s#%s  ok, no lease (%s)\n", sp->name,
			    sp->path, sp->field, c->cur.kv2 ? "KV v2" :
			    "re-read on --refresh-interval");
	}
	fflush(stdout);
	return rc;
}

/* All initial reads answered: start the child, or clean up after a failure. */
static void
reads_settled(struct sup *s)
{
	size_t i;

	if (s->state != ST_FETCHING)
		return;
	for (i = 0; i < s->ncreds; i++)
		if (!s->creds[i].done)
			return;
	if (s->stop_signal != 0) {
		log_info("fetch.abort", "signal %d before the command started; "
		    "revoking and exiting", s->stop_signal);
		s->exit_code = 128 + s->stop_signal;
		shutdown_now(s);
		return;
	}
	for (i = 0; i < s->ncreds; i++)
		if (s->creds[i].fail_code != 0) {
			log_at(LOG_ERROR, "fetch", LF(.path = s->creds[i].path,
			    .status = s->creds[i].fail_status), "%s",
			    s->creds[i].fail);
			s->exit_code = s->creds[i].fail_code;
			shutdown_now(s);
			return;
		}
	if (s->cfg->check) {
		s->exit_code = check_report(s);
		shutdown_now(s);
		return;
	}
	spawn_child(s, "initial");
	if (s->state != ST_RUNNING)
		return;
	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_init(&s->creds[i].timer, cred_timer_cb, 0., 0.);
		s->creds[i].timer.data = &s->creds[i];
		cred_schedule(&s->creds[i]);
	}
	/*
	 * Not on the start path: a second after the start, learn how long a
	 * given token lives (a job done sooner never needs to know).
	 */
	if (s->ncreds > 0 && s->tok != NULL && !s->tok->known)
		timer_in(s, &s->tok_timer, 1.0);
}

/* The processes whose parent is leasewrap (orphans adopted as PID 1 or subreaper). */
static size_t
list_children(pid_t *out, size_t max)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	pid_t me = getpid(), ppid;
	size_t n = 0;
	ssize_t len;
	DIR *d;
	int fd;

	/* The kernel's own list, where it has one (CONFIG_PROC_CHILDREN). */
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)me);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		char list[8192], *tok, *save = NULL;

		len = read(fd, list, sizeof(list) - 1);
		close(fd);
		if (len >= 0 && (size_t)len < sizeof(list) - 1) {
			list[len] = '\0';
			for (tok = strtok_r(list, " \n", &save); tok != NULL &&
			    n < max; tok = strtok_r(NULL, " \n", &save))
				out[n++] = (pid_t)strtol(tok, NULL, 10);
			return n;
		}
	}
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces or ')'. */
		if ((p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == me)
			out[n++] = (pid_t)strtol(de->d_name, NULL, 10);
	}
	closedir(d);
	return n;
}

/* Leftovers past --kill-timeout: SIGKILL them. */
static void
drain_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	pid_t kids[1024];
	size_t i, n = list_children(kids, 1024);

	(void)loop;
	(void)revents;
	(void)w;
	if (n > 0)
		log_warn("child.kill", "%zu process(es) left by the command did "
		    "not exit in time; SIGKILL", n);
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
}

/*
 * The command exited: ask what it left behind to stop (--kill-signal),
 * SIGKILL it after --kill-timeout, and go on once none is left.  Returns
 * 1 while leftovers remain.  pid1.md §3 B8.
 */
static int
drain_step(struct sup *s)
{
	pid_t kids[1024];
	size_t i, j, n = list_children(kids, 1024);

	if (n == 0) {
		ev_timer_stop(s->loop, &s->drain_timer);
		if (s->state == ST_DRAINING)
			shutdown_now(s);
		return 0;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->ndrain_sent; j++)
			if (s->drain_sent[j] == kids[i])
				break;
		if (j < s->ndrain_sent)
			continue;
		s->drain_sent = realloc(s->drain_sent,
		    (s->ndrain_sent + 1) * sizeof(pid_t));
		if (s->drain_sent == NULL)
			abort();
		s->drain_sent[s->ndrain_sent++] = kids[i];
		log_at(LOG_INFO, "child.leftover", LF(.pid = (int)kids[i]),
		    "left by the command: sending signal %d",
		    s->cfg->kill_signal);
		kill(kids[i], s->cfg->kill_signal);
	}
	if (!ev_is_active(&s->drain_timer))
		timer_in(s, &s->drain_timer,
		    (double)s->cfg->kill_timeout_ms / 1000.0);
	return 1;
}

/* --timeout passed: stop the command. */
static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	log_error("child.timeout", "the command ran longer than --timeout; "
	    "stopping it (exit %d)", LW_EXIT_TIMEOUT);
	if (s->state == ST_RUNNING || s->state == ST_STOPPING)
		begin_stop(s, STOP_TIMEOUT);
	else if (s->state == ST_BACKOFF) {
		s->exit_code = LW_EXIT_TIMEOUT;
		shutdown_now(s);
	}
}

/* Stop everything that would act later, revoke every lease, then finish. */
static void
shutdown_now(struct sup *s)
{
	size_t i;

	if (!s->drained && s->child <= 0) {
		s->drained = 1;
		s->state = ST_DRAINING;
		ev_timer_stop(s->loop, &s->timeout_timer);
		if (drain_step(s))
			return;		/* leftovers first, then the leases */
	}
	s->state = ST_REVOKING;
	ev_timer_stop(s->loop, &s->timeout_timer);
	ev_timer_stop(s->loop, &s->drain_timer);
	/* Token lookups and renewals create nothing: no need to wait for them. */
	vault_cancel(s->vault, token_cb);
	vault_cancel(s->vault, renew_cb);
	s->tok_busy = 0;
	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_stop(s->loop, &s->creds[i].expiry);
	}
	ev_timer_stop(s->loop, &s->tok_timer);
	ev_timer_stop(s->loop, &s->backoff_timer);
	ev_timer_stop(s->loop, &s->grace_timer);
	s->revoke_deadline = ev_now(s->loop) + REVOKE_WINDOW;
	if (s->cfg->no_revoke) {
		if (s->nleases > 0)
			log_info("lease.keep", "--no-revoke: leaving %zu "
			    "lease(s)", s->nleases);
		for (i = 0; i < s->nleases; i++)
			s->leases[i]->state = LS_DONE;
	} else {
		for (i = 0; i < s->nleases; i++)
			if (s->leases[i]->state == LS_ACTIVE ||
			    s->leases[i]->state == LS_RETIRED)
				revoke_one(s->leases[i]);
			else if (s->leases[i]->state == LS_REVOKING &&
			    ev_is_active(&s->leases[i]->retry)) {
				ev_timer_stop(s->loop, &s->leases[i]->retry);
				revoke_one(s->leases[i]);
			}
		for (i = 0; i < s->cfg->nenv_files; i++)
			(void)unlink(s->cfg->env_files[i]);
	}
	maybe_finish(s);
}

/* revoke-self answered for one of our login tokens. */
static void
revoke_token_cb(const struct vault_resp *resp, void *arg)
{
	struct tokgen *t = arg;
	char verr[256];

	if (resp->status == 204 || resp->status == 200)
		log_info("auth.revoke", "revoked the login token");
	else if (!t->dead) {
		vj_error_text(resp->body, resp->len, verr, sizeof(verr));
		log_at(LOG_WARN, "auth.revoke", LF(.status = resp->status),
		    "could not revoke the login token "
		    "(%ld%s%s); it expires on its own", resp->status,
		    verr[0] || resp->error[0] ? ": " : "",
		    verr[0] ? verr : resp->error);
	}
	maybe_finish(t->sup);
}

/*
 * At exit, after the leases: revoke-self every token leasewrap logged in
 * for (a token the user gave is never revoked).  Returns how many went out.
 */
static int
revoke_login_tokens(struct sup *s)
{
	struct tokgen *t;
	int n = 0;

	for (t = s->tokgens; t != NULL; t = t->next) {
		if (!t->login || t->revoked)
			continue;
		t->revoked = 1;
		if (s->cfg->no_revoke || t->dead || (t->deadline > 0 &&
		    t->deadline <= ev_now(s->loop)))
			continue;
		vault_request_with(s->vault, t->value, "PUT",
		    "auth/token/revoke-self", NULL, revoke_token_cb, t);
		n++;
	}
	return n;
}

/* Exit once every lease is settled and no request is still out. */
static void
maybe_finish(struct sup *s)
{
	size_t i;

	if (s->state != ST_REVOKING)
		return;
	for (i = 0; i < s->nleases; i++)
		if (s->leases[i]->state != LS_DONE)
			return;
	if (s->vault != NULL && vault_pending(s->vault) > 0)
		return;
	if (revoke_login_tokens(s) > 0)
		return;
	finish(s);
}

/* A stop signal ends the reads that are only waiting to be tried again. */
static void
stop_retries(struct sup *s)
{
	size_t i;

	for (i = 0; i < s->ncreds; i++)
		if (ev_is_active(&s->creds[i].timer)) {
			ev_timer_stop(s->loop, &s->creds[i].timer);
			s->creds[i].done = 1;
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
	case ST_STOPPING:
		if (is_stop_signal(sig)) {
			s->shutting_down = 1;
			if (s->state == ST_STOPPING &&
			    s->stop_reason == STOP_RESTART)
				s->stop_reason = STOP_EXIT;
		}
		signal_child(s, sig);
		break;
	case ST_BACKOFF:
		if (is_stop_signal(sig)) {
			s->exit_code = 128 + sig;
			shutdown_now(s);
		}
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

	s->creds = xcalloc(s->cfg->nspecs, sizeof(*s->creds));
	for (i = 0; i < s->cfg->nspecs; i++) {
		const char *p = s->cfg->specs[i].path;
		struct cred *c;

		for (j = 0; j < s->ncreds; j++)
			if (strcmp(s->creds[j].path, p) == 0)
				break;
		if (j < s->ncreds)
			continue;
		c = &s->creds[s->ncreds++];
		c->sup = s;
		c->path = xstrdup(p);
		c->read_path = xstrdup(p);
		ev_timer_init(&c->timer, initial_timer_cb, 0., 0.);
		c->timer.data = c;
		ev_timer_init(&c->expiry, cred_expiry_cb, 0., 0.);
		c->expiry.data = c;
	}
}

/* Refuse settings that would leak the token or cannot work, before any request. */
static int
check_vault_settings(struct sup *s)
{
	const struct config *cfg = s->cfg;
	char err[512];
	int rc;

	if (cfg->vault_addr == NULL) {
		log_error("config", "VAULT_ADDR is not set; set it or give "
		    "--vault-addr, like https://vault.example.com:8200");
		return LW_EXIT_CONFIG;
	}
	if ((rc = addr_check(cfg->vault_addr, cfg->insecure_http, err,
	    sizeof(err))) != 0) {
		log_error(rc == LW_EXIT_CONFIG ? "config" : "internal", "%s", err);
		return rc;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) == -1) {
		log_error("config", "CA file \"%s\": %s; check %s",
		    cfg->ca_cert, strerror(errno), config_origin(cfg, "ca-cert",
		    "VAULT_CACERT or --ca-cert", err, sizeof(err)));
		return LW_EXIT_CONFIG;
	}
	if (cfg->ca_path != NULL && access(cfg->ca_path, R_OK | X_OK) == -1) {
		log_error("config", "CA folder \"%s\": %s; check %s",
		    cfg->ca_path, strerror(errno), config_origin(cfg, "ca-path",
		    "VAULT_CAPATH or --ca-path", err, sizeof(err)));
		return LW_EXIT_CONFIG;
	}
	if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
		log_error("config", "a client certificate needs both "
		    "--client-cert and --client-key (VAULT_CLIENT_CERT and "
		    "VAULT_CLIENT_KEY)");
		return LW_EXIT_CONFIG;
	}
	if ((rc = auth_check(cfg, err, sizeof(err))) != 0) {
		log_error("auth", "%s", err);
		return rc;
	}
	if (cfg->tls_skip_verify)
		log_warn("tls", "NOT VERIFYING VAULT'S CERTIFICATE "
		    "(VAULT_SKIP_VERIFY or --tls-skip-verify): anyone on the "
		    "path can read the token and the secrets");
	return 0;
}

/* Send every read at once. */
static void
start_reads(struct sup *s)
{
	size_t i;

	char hint[512];

	plan_reads(s);
	for (i = 0; i < s->ncreds; i++)
		if (vj_namespace_hint(s->creds[i].path, s->cfg->namespace, hint,
		    sizeof(hint))) {
			log_warn("fetch", "%s", hint);
			break;
		}
	log_debug("fetch", "reading %zu path(s) for %zu variable(s)",
	    s->ncreds, s->cfg->nspecs);
	for (i = 0; i < s->ncreds; i++)
		cred_read(&s->creds[i], P_INITIAL);
}

/* Check the settings, get a token, and start reading. */
static int
start_fetch(struct sup *s)
{
	const struct config *cfg = s->cfg;
	struct vault_opts o;
	char err[512];
	int rc;

	if ((rc = check_vault_settings(s)) != 0)
		return rc;
	if (cfg->auth == AUTH_TOKEN && load_token(s, err, sizeof(err)) == -1) {
		log_error("auth", "%s", err);
		return cfg->token_file != NULL ? LW_EXIT_CONFIG : LW_EXIT_NOPERM;
	}
	if (vault_global_init(err, sizeof(err)) == -1) {
		log_error("internal", "%s", err);
		return LW_EXIT_SOFTWARE;
	}
	memset(&o, 0, sizeof(o));
	o.addr = cfg->vault_addr;
	o.namespace = cfg->namespace;
	o.connect_timeout_ms = cfg->connect_timeout_ms;
	o.request_timeout_ms = cfg->request_timeout_ms;
	o.max_response = cfg->max_response;
	o.ca_cert = cfg->ca_cert;
	o.ca_path = cfg->ca_path;
	o.client_cert = cfg->client_cert;
	o.client_key = cfg->client_key;
	o.tls_server_name = cfg->tls_server_name;
	o.tls_skip_verify = cfg->tls_skip_verify;
	o.disable_redirects = cfg->disable_redirects;
	o.proxy = cfg->proxy_addr;
	o.metrics = s->metrics;
	if ((s->vault = vault_new(s->loop, &o, err, sizeof(err))) == NULL) {
		log_error("config", "%s", err);
		return LW_EXIT_CONFIG;
	}
	s->start_deadline = ev_now(s->loop) +
	    (double)cfg->start_timeout_ms / 1000.0;
	if (cfg->auth == AUTH_NONE)
		start_reads(s);		/* no token: the Agent adds its own */
	else if (cfg->auth == AUTH_TOKEN) {
		vault_set_token(s->vault, s->tok->value);
		start_reads(s);
	} else
		login_start(s);
	return 0;
}

static void
sup_free(struct sup *s)
{
	struct tokgen *t, *tn;
	size_t i;

	vault_free(s->vault);
	for (i = 0; i < s->ncreds; i++) {
		ev_timer_stop(s->loop, &s->creds[i].timer);
		ev_timer_stop(s->loop, &s->creds[i].expiry);
		vj_secret_clear(&s->creds[i].cur);
		vj_secret_clear(&s->creds[i].next);
		free(s->creds[i].path);
		free(s->creds[i].read_path);
	}
	free(s->creds);
	for (i = 0; i < s->nleases; i++) {
		ev_timer_stop(s->loop, &s->leases[i]->retry);
		free(s->leases[i]->id);
		free(s->leases[i]);
	}
	free(s->leases);
	ev_timer_stop(s->loop, &s->tok_timer);
	ev_timer_stop(s->loop, &s->kill_timer);
	ev_timer_stop(s->loop, &s->backoff_timer);
	ev_timer_stop(s->loop, &s->grace_timer);
	ev_timer_stop(s->loop, &s->timeout_timer);
	ev_timer_stop(s->loop, &s->drain_timer);
	free(s->drain_sent);
	for (t = s->tokgens; t != NULL; t = tn) {
		tn = t->next;
		secret_free(t->value);
		free(t);
	}
	secret_free(s->secret_id);
	tokenfile_free(s->tokfile);
	if (s->vault != NULL)
		vault_global_cleanup();
}

int
supervisor_run(const struct config *cfg, char **envp)
{
	struct sup s;
	sigset_t set;
	char err[512];
	size_t i;
	int rc;

	if ((rc = preflight_run(cfg)) != 0)	/* before anything is leased */
		return rc;
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
	srandom(util_random_seed());
	if ((s.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_error("internal", "cannot start the event loop");
		return LW_EXIT_SOFTWARE;
	}
	for (i = 1; i < NSIG; i++) {
		if (!is_forwarded((int)i))
			continue;
		ev_signal_init(&s.sigw[i], signal_cb, (int)i);
		s.sigw[i].data = &s;
		ev_signal_start(s.loop, &s.sigw[i]);
	}
	/* Writing a log line from the background must never stop us. */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	ev_child_init(&s.childw, child_cb, 0, 0);
	s.childw.data = &s;
	ev_child_start(s.loop, &s.childw);
	ev_child_init(&s.stopw, stop_cb, 0, 1);
	s.stopw.data = &s;
	ev_child_start(s.loop, &s.stopw);
	ev_init(&s.kill_timer, kill_timer_cb);
	s.kill_timer.data = &s;
	ev_init(&s.backoff_timer, backoff_cb);
	s.backoff_timer.data = &s;
	ev_init(&s.grace_timer, grace_cb);
	s.grace_timer.data = &s;
	ev_init(&s.timeout_timer, timeout_cb);
	s.timeout_timer.data = &s;
	ev_init(&s.drain_timer, drain_timer_cb);
	s.drain_timer.data = &s;
	ev_init(&s.tok_timer, token_timer_cb);
	s.tok_timer.data = &s;
	/* Handlers are in place: let the signals blocked in main() through. */
	handled_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	if (!cfg->check && (cfg->metrics_file != NULL ||
	    cfg->metrics_addr != NULL) && (s.metrics = metrics_new(s.loop,
	    cfg->metrics_file, cfg->metrics_addr, metrics_gauges, &s, err,
	    sizeof(err))) == NULL) {
		log_error("config", "%s", err);
		sup_free(&s);
		return LW_EXIT_CONFIG;
	}
	metrics_zero(&s);

	/* A stop signal that came during start-up ends us before any read. */
	ev_run(s.loop, EVRUN_NOWAIT);
	if (s.state == ST_DONE)
		;
	else if (cfg->nspecs == 0)
		reads_settled(&s);
	else if ((rc = start_fetch(&s)) != 0) {
		metrics_free(s.metrics);
		sup_free(&s);
		return rc;
	}
	if (s.state != ST_DONE)
		ev_run(s.loop, 0);
	rc = s.exit_code;
	metrics_free(s.metrics);	/* the file's last write sees the end */
	for (i = 1; i < NSIG; i++)
		if (is_forwarded((int)i))
			ev_signal_stop(s.loop, &s.sigw[i]);
	ev_child_stop(s.loop, &s.childw);
	ev_child_stop(s.loop, &s.stopw);
	sup_free(&s);
	return rc;
}
