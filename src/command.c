/* command.c: the command: start it, signal it, stop it with the kill timer, restart it. */
#define _GNU_SOURCE
#include "sup.h"
#include "child.h"
#include "config.h"
#include "env.h"
#include "exitcodes.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"

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
 * Send sig to the command, or with --process-group to its whole group; the
 * pid itself when kill(-pid) fails with ESRCH: the child has not run its
 * own setpgid() (child.c) yet.
 */
void
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

/*
 * Start (or start again) the command with the credentials in use; why is
 * "initial", "rotation" or "exit" (for leasewrap_child_starts_total).
 */
void
spawn_child(struct sup *s, const char *why)
{
	char **envp;
	int e, code;

	promote(s);
	if ((envp = output_build(s, 1, &code)) == NULL) {
		s->exit_code = code;
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
void
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
void
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

/* The crash backoff is over: start the command again. */
void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == ST_WAITING) {
		log_error("lease.expire", "no new credentials within "
		    "--start-timeout; exiting (exit %d)", LW_EXIT_EXPIRED);
		s->exit_code = LW_EXIT_EXPIRED;
		shutdown_now(s);
		return;
	}
	spawn_child(s, "exit");
}

/* The command exited on its own: restart it or exit, as --restart says. */
void
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
		s->exit_code = code;
		shutdown_now(s);
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

/* --timeout passed: stop the command. */
void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	log_error("child.timeout", "the command ran longer than --timeout; "
	    "stopping it (exit %d)", LW_EXIT_TIMEOUT);
	if (s->state == ST_RUNNING || s->state == ST_STOPPING)
		begin_stop(s, STOP_TIMEOUT);
	else if (s->state == ST_BACKOFF || s->state == ST_WAITING) {
		s->exit_code = LW_EXIT_TIMEOUT;
		shutdown_now(s);
	}
}
