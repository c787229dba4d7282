/* command.c: the command: start it, signal it, stop it with the kill timer. */
#define _GNU_SOURCE
#include "command.h"
#include "child.h"
#include "config.h"
#include "cred.h"
#include "env.h"
#include "exitcodes.h"
#include "lease.h"
#include "log.h"
#include "output.h"
#include "signals.h"
#include "sup.h"
#include "util.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <string.h>

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
		command_signal(s, SIGKILL);
	}
}

void
command_init(struct sup *s)
{
	ev_init(&s->kill_timer, kill_timer_cb);
	s->kill_timer.data = s;
}

/*
 * Send sig to the command, or with --process-group to its whole group; the
 * pid itself when kill(-pid) fails with ESRCH: the child has not run its
 * own setpgid() (child.c) yet.
 */
void
command_signal(struct sup *s, int sig)
{
	if (s->child <= 0)
		return;
	if (s->cfg->process_group && kill(-s->child, sig) == 0)
		return;
	if (kill(s->child, sig) == -1)
		log_at(LOG_DEBUG, "signal", LF(.pid = (int)s->child),
		    "sending signal %d: %s", sig, strerror(errno));
}

int
command_exec_error(const char *argv0, int e, char *err, size_t errlen)
{
	int code = child_exec_exit_code(e);

	errf(err, errlen, "cannot run \"%s\": %s%s", argv0, strerror(e),
	    code == LW_EXIT_NOTFOUND ? "; check the command name and PATH" :
	    "; check that it is an executable file");
	return code;
}

int
command_start(struct sup *s)
{
	char **envp;
	int e, code;

	if ((envp = output_build(s, &code)) == NULL)
		return code;
	s->child = child_spawn(s->cfg->argv, envp, &e);
	env_free(envp);
	if (s->child == -1) {
		log_error("child.start", "cannot start \"%s\": %s",
		    s->cfg->argv[0], strerror(errno));
		return LW_EXIT_OSERR;
	}
	if (e != 0) {
		char err[512];

		code = command_exec_error(s->cfg->argv[0], e, err, sizeof(err));
		log_error("child.start", "%s", err);
		/* It exits on its own; the reaper collects it, unsignalled. */
		signals_forget(s, s->child);
		s->child = -1;
		return code;
	}
	s->child_started = ev_now(s->loop);
	log_at(LOG_INFO, "child.start", LF(.pid = (int)s->child), "started %s",
	    s->cfg->argv[0]);
	return 0;
}

void
command_stop(struct sup *s, enum stop_bound bound, const char *why)
{
	double cfg_kt = (double)s->cfg->kill_timeout_ms / 1000.0, kt = cfg_kt;
	size_t i;

	/* SIGKILL before the credentials die, not after; a rotation's within its budget. */
	for (i = 0; bound != BOUND_KILL_TIMEOUT && i < creds_count(s); i++) {
		const struct cred *c = creds_at(s, i);
		double end = cred_deadline(c), k;

		if (end <= 0)
			continue;
		k = lease_kill_after(cfg_kt, bound == BOUND_BUDGET ?
		    cred_life(c) : 0, end - ev_now(s->loop));
		if (k < kt)
			kt = k;
	}
	log_at(LOG_INFO, "child.stop", LF(.pid = (int)s->child), "sending "
	    "signal %d (%s)", s->cfg->kill_signal, why);
	command_signal(s, s->cfg->kill_signal);
	timer_in(s, &s->kill_timer, kt);
}

void
command_gone(struct sup *s)
{
	s->child = 0;
	ev_timer_stop(s->loop, &s->kill_timer);
}
