/* supervisor.c: the state machine tying Vault reads, renewals, the child and revocation. */
#define _GNU_SOURCE
#include "supervisor.h"
#include "sup.h"
#include "child.h"
#include "env.h"
#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
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

/* A random number in [0, 1). */
double
rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* Every step is over: leave the loop with the exit code set. */
static void
finish(struct sup *s)
{
	s->state = ST_DONE;
	ev_break(s->loop, EVBREAK_ALL);
}

/* Revoking leases or done: nothing new may start, answers only settle. */
int
sup_exiting(const struct sup *s)
{
	return s->state == ST_REVOKING || s->state == ST_DONE;
}

/* Start a one-shot timer w after delay seconds (never negative). */
void
timer_in(struct sup *s, ev_timer *w, double delay)
{
	ev_timer_stop(s->loop, w);
	ev_timer_set(w, delay > 0 ? delay : 0., 0.);
	ev_timer_start(s->loop, w);
}

/* New credentials are ready: restart, signal or exit, as --on-change says. */
void
request_apply(struct sup *s)
{
	char **envp;
	int code;

	if (s->state == ST_WAITING && !rotation_pending(s)) {
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
		if ((envp = output_build(s, 0, &code)) == NULL) {
			s->exit_code = code;
			begin_stop(s, STOP_EXIT);
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
			s->state = ST_WAITING;
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
	}
}

/* All initial reads answered: start the child, or clean up after a failure. */
void
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

/* Stop everything that would act later, revoke every lease, then finish. */
void
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

/* Exit once every lease is settled and no request is still out. */
void
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
	case ST_WAITING:
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
	o.metrics = s->metrics;
	if ((s->vault = vault_new(s->loop, &o, err, sizeof(err))) == NULL) {
		log_error("config", "%s", err);
		return LW_EXIT_CONFIG;
	}
	s->start_deadline = ev_now(s->loop) +
	    (double)cfg->start_timeout_ms / 1000.0;
	if (cfg->auth == AUTH_TOKEN) {
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
	srandom((unsigned)getpid() ^ (unsigned)(ev_time() * 1e6));
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
