/*
 * supervisor.c: the state machine.  Every event the modules report
 * (struct sup_events) and every timer of the run lands here, and only
 * here does the state change; docs/architecture.md has the state x event
 * table.
 */
#define _GNU_SOURCE
#include "supervisor.h"
#include "child.h"
#include "command.h"
#include "config.h"
#include "cred.h"
#include "env.h"
#include "exitcodes.h"
#include "lease.h"
#include "leases.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "preflight.h"
#include "refresh.h"
#include "signals.h"
#include "sup.h"
#include "token.h"
#include "util.h"
#include "vault.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void	shutdown_now(struct sup *);

double
rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

void
timer_in(struct sup *s, ev_timer *w, double delay)
{
	ev_timer_stop(s->loop, w);
	ev_timer_set(w, delay > 0 ? delay : 0., 0.);
	ev_timer_start(s->loop, w);
}

int
sup_exiting(const struct sup *s)
{
	return s->state == ST_REVOKING || s->state == ST_DONE;
}

/* Every step is over: leave the loop with the exit code set. */
static void
finish(struct sup *s)
{
	s->state = ST_DONE;
	ev_break(s->loop, EVBREAK_ALL);
}

/* Leave with code: stop the command's leftovers, revoke, finish; once. */
static void
fail(struct sup *s, int code)
{
	if (s->state == ST_DRAINING || sup_exiting(s))
		return;		/* the exit code is set: let the leftovers go */
	s->exit_code = code;
	shutdown_now(s);
}

/*
 * Start (or start again) the command with the credentials in use: any
 * state -> RUNNING; why is "initial", "rotation" or "exit" (for
 * leasewrap_child_starts_total).
 */
static void
spawn_child(struct sup *s, const char *why)
{
	int code;

	creds_promote(s, 0);
	if ((code = command_start(s)) != 0) {
		fail(s, code);
		return;
	}
	s->state = ST_RUNNING;
	if (s->cfg->timeout_ms > 0 && !ev_is_active(&s->timeout_timer))
		timer_in(s, &s->timeout_timer,
		    (double)s->cfg->timeout_ms / 1000.0);
	metrics_add(s->metrics, M_CHILD_STARTS, 1, "reason", why, NULL, NULL);
	/* The old child is gone: nobody uses the retired leases. */
	if (s->cfg->on_change != CHANGE_SIGNAL)
		leases_revoke_retired(s->leases);
}

/* RUNNING -> STOPPING: ask the child to stop; what follows its exit depends on why. */
static void
begin_stop(struct sup *s, enum stop_reason why)
{
	if (s->state == ST_STOPPING) {
		/* Exiting beats restarting; an expiry beats a plain exit. */
		if (why != STOP_RESTART && s->stop_reason == STOP_RESTART)
			s->stop_reason = why;
		return;
	}
	s->state = ST_STOPPING;
	s->stop_reason = why;
	command_stop(s, why == STOP_RESTART || why == STOP_ROTATED ?
	    BOUND_BUDGET : why == STOP_EXPIRED ? BOUND_DEADLINE :
	    BOUND_KILL_TIMEOUT, why == STOP_RESTART ?
	    "new credentials" : why == STOP_ROTATED ? "--on-change exit" :
	    why == STOP_EXPIRED ? "credentials expire" :
	    why == STOP_TIMEOUT ? "--timeout" :
	    why == STOP_DATAERR ? "a new value cannot be given to it" :
	    "exiting");
}

/* Signal mode, once: a replaced lease that ends before --revoke-grace is over. */
static void
grace_check(struct sup *s)
{
	double grace = (double)s->cfg->revoke_grace_ms / 1000.0, left;
	size_t i;

	for (i = 0; i < creds_count(s) && !s->grace_warned; i++) {
		const struct cred *c = creds_at(s, i);

		left = cred_deadline(c) - ev_now(s->loop);
		if (!cred_has_next(c) || cred_deadline(c) <= 0 || left >= grace)
			continue;
		s->grace_warned = 1;
		log_at(LOG_WARN, "lease.grace", LF(.path = cred_path(c),
		    .lease = lease_id(cred_lease(c)), LF_TTL(left)), "the "
		    "replaced credentials end in %.1f s, before --revoke-grace "
		    "(%.1f s) is over: the command has %.1f s to move over; its "
		    "lease (%.0f s as issued) or max TTL leaves no more; lower "
		    "--revoke-grace or lengthen the lease", left, grace, left,
		    cred_duration(c));
	}
}

/*
 * Signal mode: rewrite the files, then signal.  A file that cannot be
 * written keeps the old credentials in use, unsignalled, and is tried
 * again; their last call ends the run if it never can be.
 */
static void
signal_change(struct sup *s)
{
	char **envp;
	double delay;
	int code;

	grace_check(s);
	creds_promote(s, 1);
	if ((envp = output_build(s, &code)) == NULL &&
	    code != LW_EXIT_DATAERR) {
		creds_undo(s);
		delay = lease_retry_delay(++s->apply_attempts, 1, 0, rnd());
		log_warn("envfile", "the new credentials cannot be written: the "
		    "command keeps the old ones and is not signalled; trying "
		    "again in %.1f s", delay);
		timer_in(s, &s->apply_timer, delay);
		return;
	}
	creds_commit(s);
	s->apply_attempts = 0;
	if (envp == NULL) {
		/* A missing field, or a value the files cannot carry. */
		begin_stop(s, STOP_DATAERR);
		return;
	}
	env_free(envp);
	log_at(LOG_INFO, "child.signal", LF(.pid = (int)s->child),
	    "sending signal %d (new credentials)", s->cfg->change_signal);
	command_signal(s, s->cfg->change_signal);
	metrics_add(s->metrics, M_CHILD_SIGNALS, 1, NULL, NULL, NULL, NULL);
	leases_start_grace(s->leases);
}

/* Signal mode: the files could not be written; try again while the command runs. */
static void
apply_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == ST_RUNNING)
		signal_change(s);
}

/* Is a credential too close to its end to start the command on, with no replacement yet? */
static int
creds_rotation_pending(const struct sup *s)
{
	double kt = (double)s->cfg->kill_timeout_ms / 1000.0, end;
	size_t i;

	for (i = 0; i < creds_count(s); i++) {
		const struct cred *c = creds_at(s, i);

		end = cred_deadline(c);
		if (end > 0 && !cred_has_next(c) && end - ev_now(s->loop) <
		    lease_stop_time(cred_life(c), kt))
			return 1;
	}
	return 0;
}

/* Event creds_ready: restart, signal or exit, as --on-change says. */
static void
on_creds_ready(struct sup *s)
{
	if (s->state == ST_WAITING && !creds_rotation_pending(s)) {
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
		signal_change(s);
		break;
	}
}

/* Event rotation_due (--on-change exit): stop the command if it runs. */
static void
on_rotation_due(struct sup *s)
{
	if (s->state == ST_RUNNING)
		begin_stop(s, STOP_ROTATED);
}

/* Log fields for a credential at its last call, left seconds before its end. */
#define LAST_LF(c, left)	LF(.path = cred_path(c), \
			    .lease = lease_id(cred_lease(c)), LF_TTL(left))

/* Event last_call: a credential ends soon and nothing replaced it. */
static void
on_last_call(struct sup *s, struct cred *c)
{
	double left = cred_deadline(c) - ev_now(s->loop);

	/* In signal mode, fetched ones the files could not take help no one. */
	if ((cred_has_next(c) && !(s->cfg->on_change == CHANGE_SIGNAL &&
	    s->state == ST_RUNNING)) || sup_exiting(s) ||
	    s->state == ST_WAITING ||
	    s->state == ST_DRAINING ||
	    (s->state == ST_STOPPING && (s->stop_reason == STOP_RESTART ||
	    s->stop_reason == STOP_ROTATED)))
		return;		/* a restart or exit before the end is under way */
	if ((cred_replacing(c) || cred_awaits_login(c)) &&
	    s->cfg->on_change == CHANGE_RESTART && s->state == ST_RUNNING) {
		/* No time to wait for them with the command running. */
		log_at(LOG_WARN, "lease.expire", LAST_LF(c, left), "credentials "
		    "end in %.1f s; new ones are on their way: stopping the "
		    "command until they come", left);
		begin_stop(s, STOP_RESTART);
		return;
	}
	if (cred_replacing(c) && s->cfg->on_change == CHANGE_SIGNAL &&
	    s->state == ST_RUNNING && left > 0.5) {
		/* A signal applies them at once: wait for them a little more. */
		cred_last_call_in(c, left - 0.5);
		return;
	}
	if (s->cfg->on_expire == EXPIRE_WARN) {
		log_at(LOG_WARN, "lease.expire", LAST_LF(c, left), "credentials "
		    "end in %.1f s with no replacement; the command keeps them "
		    "(--on-expire warn)", left);
		return;
	}
	log_at(LOG_ERROR, "lease.expire", LAST_LF(c, left), "%s: credentials "
	    "end in %.1f s and could not be replaced; stopping the command "
	    "(exit %d)", cred_path(c), left, LW_EXIT_EXPIRED);
	if (s->state == ST_RUNNING || s->state == ST_STOPPING)
		begin_stop(s, STOP_EXPIRED);
	else
		fail(s, LW_EXIT_EXPIRED);
}

/* RUNNING -> BACKOFF or exit: the command exited on its own; --restart says which. */
static void
child_exited_alone(struct sup *s, int code)
{
	const struct config *cfg = s->cfg;
	double ran = ev_now(s->loop) - s->child_started, delay;
	int again;

	again = !s->shutting_down && (cfg->restart == RESTART_ALWAYS ||
	    (cfg->restart == RESTART_ON_FAILURE && code != 0));
	if (again && ran >= LEASE_RESTART_RESET)
		s->restarts = 0;
	if (again && s->restarts >= cfg->max_restarts) {
		log_error("child.restart", "the command exited %d times in a "
		    "row; giving up (--max-restarts %d)", s->restarts + 1,
		    cfg->max_restarts);
		again = 0;
	}
	if (!again) {
		fail(s, code);
		return;
	}
	delay = lease_restart_delay(s->restarts);
	s->restarts++;
	log_warn("child.restart", "the command exited with %d; starting it "
	    "again in %.0f s (restart %d of %d)", code, delay, s->restarts,
	    cfg->max_restarts);
	s->state = ST_BACKOFF;
	timer_in(s, &s->backoff_timer, delay);
}

/* STOPPING -> RUNNING, WAITING or exit: the command stopped as asked. */
static void
child_stopped(struct sup *s, int code)
{
	switch (s->stop_reason) {
	case STOP_RESTART:
		if (s->shutting_down)
			fail(s, code);
		else if (creds_rotation_pending(s)) {
			log_info("child.wait", "waiting for new credentials");
			s->state = ST_WAITING;
			timer_in(s, &s->backoff_timer,
			    (double)s->cfg->start_timeout_ms / 1000.0);
		} else
			spawn_child(s, "rotation");
		break;
	case STOP_EXIT:
		fail(s, code);
		break;
	case STOP_ROTATED:
		log_warn("lease.rotate", "the credentials end soon and "
		    "--on-change exit is set: exiting (exit %d) for a fresh "
		    "start", LW_EXIT_ROTATED);
		fail(s, LW_EXIT_ROTATED);
		break;
	case STOP_EXPIRED:
		fail(s, LW_EXIT_EXPIRED);
		break;
	case STOP_TIMEOUT:
		fail(s, LW_EXIT_TIMEOUT);
		break;
	case STOP_DATAERR:
		fail(s, LW_EXIT_DATAERR);
		break;
	}
}

/* Event reaped: the command (or an orphan, or a leftover) exited. */
static void
on_reaped(struct sup *s, pid_t pid, int status)
{
	int code;

	if (s->state == ST_DRAINING) {
		if (!signals_drain(s))
			shutdown_now(s);	/* DRAINING -> REVOKING */
		return;
	}
	if (pid != s->child || s->child <= 0)
		return;		/* an orphan or a failed exec: reaped */
	code = child_exit_code(status);
	command_gone(s);
	log_at(LOG_INFO, "child.exit", LF(.pid = pid), "exited: code %d",
	    code);
	metrics_changed(s->metrics);
	if (s->state != ST_STOPPING)
		child_exited_alone(s, code);
	else
		child_stopped(s, code);
}

/* BACKOFF -> RUNNING; WAITING -> exit: the backoff or the wait is over. */
static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == ST_WAITING) {
		log_error("lease.expire", "no new credentials within "
		    "--start-timeout; exiting (exit %d)", LW_EXIT_EXPIRED);
		fail(s, LW_EXIT_EXPIRED);
		return;
	}
	spawn_child(s, "exit");
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
	else if (s->state == ST_BACKOFF || s->state == ST_WAITING)
		fail(s, LW_EXIT_TIMEOUT);
}

/* Event reads_settled: once all initial reads answered, FETCHING -> RUNNING or exit. */
static void
on_reads_settled(struct sup *s)
{
	const struct cred *c;
	const char *msg;
	long status;
	int code;

	if (s->state != ST_FETCHING || !creds_settled(s))
		return;
	if (s->stop_signal != 0) {
		log_info("fetch.abort", "signal %d before the command started; "
		    "revoking and exiting", s->stop_signal);
		fail(s, 128 + s->stop_signal);
		return;
	}
	if ((c = creds_failed(s, &code, &status, &msg)) != NULL) {
		log_at(LOG_ERROR, "fetch", LF(.path = cred_path(c),
		    .status = status), "%s", msg);
		fail(s, code);
		return;
	}
	refresh_warn_ignored(s);
	if (s->cfg->check) {
		fail(s, output_check_report(s));
		return;
	}
	spawn_child(s, "initial");
	if (s->state != ST_RUNNING)
		return;
	creds_start_timers(s);
	/*
	 * Not on the start path: a second after the start, learn how long a
	 * given token lives (a job done sooner never needs to know).
	 */
	if (creds_count(s) > 0)
		tokens_look_up_later(s->tk, 1.0);
}

/* -> DRAINING -> REVOKING: stop all that would act later, revoke every lease, then finish. */
static void
shutdown_now(struct sup *s)
{
	if (sup_exiting(s))
		return;		/* revoking already */
	if (!s->drained && s->child <= 0) {
		s->drained = 1;
		s->state = ST_DRAINING;
		ev_timer_stop(s->loop, &s->timeout_timer);
		ev_timer_stop(s->loop, &s->backoff_timer);
		if (signals_drain(s))
			return;		/* leftovers first, then the leases */
	}
	s->state = ST_REVOKING;
	ev_timer_stop(s->loop, &s->timeout_timer);
	ev_timer_stop(s->loop, &s->drain_timer);
	tokens_stop(s->tk);
	creds_stop(s);
	ev_timer_stop(s->loop, &s->backoff_timer);
	ev_timer_stop(s->loop, &s->apply_timer);
	s->revoke_deadline = ev_now(s->loop) + REVOKE_WINDOW;
	leases_revoke_all(s->leases);
	if (!s->cfg->no_revoke)
		output_remove(s);
	s->on->settled(s);
}

/* Event settled: REVOKING -> DONE once every lease is settled and no request is out. */
static void
on_settled(struct sup *s)
{
	if (s->state != ST_REVOKING || !leases_settled(s->leases))
		return;
	if (s->vault != NULL && vault_pending(s->vault) > 0)
		return;
	if (tokens_revoke_logins(s->tk) > 0)
		return;
	finish(s);
}

/* Event signal: forward it to the child, or end a fetch, a backoff or a wait. */
static void
on_signal(struct sup *s, int sig)
{
	switch (s->state) {
	case ST_RUNNING:
	case ST_STOPPING:
		if (signals_is_stop(sig)) {
			s->shutting_down = 1;
			if (s->state == ST_STOPPING &&
			    s->stop_reason == STOP_RESTART)
				s->stop_reason = STOP_EXIT;
		}
		command_signal(s, sig);
		break;
	case ST_BACKOFF:
	case ST_WAITING:
		if (signals_is_stop(sig))
			fail(s, 128 + sig);
		break;
	case ST_FETCHING:
		if (signals_is_stop(sig) && s->stop_signal == 0) {
			log_info("signal", "signal %d while fetching secrets",
			    sig);
			s->stop_signal = sig;
			/* The reads only waiting to be tried again end now. */
			(void)creds_stop_retries(s);
			on_reads_settled(s);
		}
		break;
	default:
		log_debug("signal", "signal %d ignored while exiting", sig);
		break;
	}
}

/* Event token_moved: every credential's deadline moves with the token's. */
static void
on_token_moved(struct sup *s)
{
	creds_token_moved(s);
}

/* The table of events the modules report. */
static const struct sup_events events = {
	.reads_settled = on_reads_settled,
	.creds_ready = on_creds_ready,
	.last_call = on_last_call,
	.rotation_due = on_rotation_due,
	.logged_in = creds_read_all,
	.token_moved = on_token_moved,
	.settled = on_settled,
	.fatal = fail,
	.signal = on_signal,
	.reaped = on_reaped,
};

/* The Vault client from the settings. */
static int
vault_start(struct sup *s)
{
	const struct config *cfg = s->cfg;
	struct vault_opts o;
	char err[512];

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
	return 0;
}

/* Check the settings, get a token, and start reading. */
static int
start_fetch(struct sup *s)
{
	const struct config *cfg = s->cfg;
	const char *event;
	char err[512];
	int rc;

	if ((rc = preflight_check(cfg, &event, err, sizeof(err))) != 0) {
		log_error(event, "%s", err);
		return rc;
	}
	if (cfg->tls_skip_verify)
		log_warn("tls", "NOT VERIFYING VAULT'S CERTIFICATE "
		    "(VAULT_SKIP_VERIFY or --tls-skip-verify): anyone on the "
		    "path can read the token and the secrets");
	if (cfg->auth == AUTH_TOKEN &&
	    tokens_load(s->tk, err, sizeof(err)) == -1) {
		log_error("auth", "%s", err);
		return cfg->token_file != NULL ? LW_EXIT_CONFIG : LW_EXIT_NOPERM;
	}
	if ((rc = vault_start(s)) != 0)
		return rc;
	ev_now_update(s->loop);		/* the set-up took time: from now */
	s->start_deadline = ev_now(s->loop) +
	    (double)cfg->start_timeout_ms / 1000.0;
	tokens_start(s->tk);
	/* With --auth none no token is sent: the Agent adds its own. */
	if (cfg->auth == AUTH_TOKEN || cfg->auth == AUTH_NONE)
		creds_read_all(s);
	return 0;
}

/* Free everything the run holds. */
static void
sup_free(struct sup *s)
{
	vault_free(s->vault);
	creds_free(s);
	leases_free(s->leases);
	tokens_free(s->tk);
	ev_timer_stop(s->loop, &s->kill_timer);
	ev_timer_stop(s->loop, &s->backoff_timer);
	ev_timer_stop(s->loop, &s->timeout_timer);
	ev_timer_stop(s->loop, &s->apply_timer);
	signals_stop(s);
	if (s->vault != NULL)
		vault_global_cleanup();
}

/* Set up the process and the run's watchers; 0 or an exit code. */
static int
sup_init(struct sup *s, const struct config *cfg, char **envp)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->on = &events;
	s->envp_in = envp;
	s->state = ST_FETCHING;
	/* Secrets must not end up in a core file or be readable via ptrace. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Orphans of the command are ours to reap, as with tini -s. */
	if (getpid() != 1)
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	srandom(util_random_seed());
	if ((s->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_error("internal", "cannot start the event loop");
		return LW_EXIT_SOFTWARE;
	}
	s->tk = tokens_new(s);
	s->leases = leases_new(s);
	command_init(s);
	ev_init(&s->backoff_timer, backoff_cb);
	s->backoff_timer.data = s;
	ev_init(&s->timeout_timer, timeout_cb);
	s->timeout_timer.data = s;
	ev_init(&s->apply_timer, apply_cb);
	s->apply_timer.data = s;
	signals_start(s);
	return 0;
}

int
supervisor_run(const struct config *cfg, char **envp)
{
	struct sup s;
	const char *event;
	char err[512];
	int rc;

	/* Before anything is leased. */
	if ((rc = preflight_run(cfg, &event, err, sizeof(err))) != 0) {
		log_error(event, "%s", err);
		return rc;
	}
	if ((rc = sup_init(&s, cfg, envp)) != 0)
		return rc;
	if (output_metrics_start(&s, err, sizeof(err)) == -1) {
		log_error("config", "%s", err);
		sup_free(&s);
		return LW_EXIT_CONFIG;
	}
	/* A stop signal that came during start-up ends us before any read. */
	ev_run(s.loop, EVRUN_NOWAIT);
	if (s.state == ST_DONE)
		;
	else if (cfg->nspecs == 0)
		on_reads_settled(&s);
	else if ((rc = start_fetch(&s)) != 0) {
		metrics_free(s.metrics);
		sup_free(&s);
		return rc;
	}
	if (s.state != ST_DONE)
		ev_run(s.loop, 0);
	rc = s.exit_code;
	metrics_free(s.metrics);	/* the file's last write sees the end */
	sup_free(&s);
	return rc;
}
