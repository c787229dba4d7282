/* signals.c: which signals are forwarded, job control, and the leftovers a command leaves. */
#define _GNU_SOURCE
#include "sup.h"
#include "supervisor.h"
#include "log.h"
#include "config.h"

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
 * Signals passed on to the child: every catchable one and the real-time
 * ones, as tini does (krallin/tini src/tini.c, configure_signals: all but
 * SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP and SIGSYS, which a
 * process raises on itself, and the terminal's SIGTTIN and SIGTTOU); nor
 * SIGCHLD (ours) nor SIGPIPE (ours to ignore).  SIGTSTP is passed on: ^Z
 * stops the command, and stop_cb() follows it.
 */
int
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

/* The signals leasewrap handles: the forwarded ones and SIGCHLD. */
void
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
int
is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
	    sig == SIGQUIT;
}

/*
 * Job control at a terminal (as sudo does): the command was stopped by ^Z
 * while it owned the terminal.  Take the terminal back and stop ourselves,
 * so that the shell sees the job stopped; on "fg" give it back and resume
 * the command.  Not as PID 1, whom nobody would resume.
 */
void
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
void
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
 * 1 while leftovers remain.  tini returns at once and, as PID 1, lets
 * the kernel kill the rest (krallin/tini#180); dumb-init sends SIGTERM
 * without waiting (Yelp/dumb-init#212): here they get the same time to
 * exit as the command, before the leases they may use are revoked.
 */
int
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
