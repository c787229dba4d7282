/* signals.c: the forwarding table, the signal and child watchers, job control, the leftovers a command leaves. */
#define _GNU_SOURCE
#include "signals.h"
#include "config.h"
#include "log.h"
#include "sup.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
signals_block(void)
{
	sigset_t set;

	handled_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int
signals_is_stop(int sig)
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

/* Note pid as already dealt with: signals_drain() passes over it. */
static void
drain_note(struct sup *s, pid_t pid)
{
	s->drain_sent = realloc(s->drain_sent,
	    (s->ndrain_sent + 1) * sizeof(pid_t));
	if (s->drain_sent == NULL)
		abort();
	s->drain_sent[s->ndrain_sent++] = pid;
}

void
signals_forget(struct sup *s, pid_t pid)
{
	if (pid > 0)
		drain_note(s, pid);
}

/*
 * tini returns at once and, as PID 1, lets
 * the kernel kill the rest (krallin/tini#180); dumb-init sends SIGTERM
 * without waiting (Yelp/dumb-init#212): here they get the same time to
 * exit as the command, before the leases they may use are revoked.
 */
int
signals_drain(struct sup *s)
{
	pid_t kids[1024];
	size_t i, j, n = list_children(kids, 1024);

	if (n == 0) {
		ev_timer_stop(s->loop, &s->drain_timer);
		return 0;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->ndrain_sent; j++)
			if (s->drain_sent[j] == kids[i])
				break;
		if (j < s->ndrain_sent)
			continue;
		drain_note(s, kids[i]);
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

/* A forwarded signal came: the state machine decides. */
static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	s->on->signal(s, w->signum);
}

/* A child of ours exited (libev reaped it): the state machine decides. */
static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;

	(void)loop;
	(void)revents;
	s->on->reaped(s, w->rpid, w->rstatus);
}

void
signals_start(struct sup *s)
{
	sigset_t set;
	int i;

	for (i = 1; i < NSIG; i++) {
		if (!is_forwarded(i))
			continue;
		ev_signal_init(&s->sigw[i], signal_cb, i);
		s->sigw[i].data = s;
		ev_signal_start(s->loop, &s->sigw[i]);
	}
	/* Writing a log line from the background must never stop us. */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	ev_child_init(&s->childw, child_cb, 0, 0);
	s->childw.data = s;
	ev_child_start(s->loop, &s->childw);
	ev_child_init(&s->stopw, stop_cb, 0, 1);
	s->stopw.data = s;
	ev_child_start(s->loop, &s->stopw);
	ev_init(&s->drain_timer, drain_timer_cb);
	s->drain_timer.data = s;
	/* Handlers are in place: let the signals blocked in main() through. */
	handled_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void
signals_stop(struct sup *s)
{
	int i;

	for (i = 1; i < NSIG; i++)
		if (is_forwarded(i))
			ev_signal_stop(s->loop, &s->sigw[i]);
	ev_child_stop(s->loop, &s->childw);
	ev_child_stop(s->loop, &s->stopw);
	ev_timer_stop(s->loop, &s->drain_timer);
	free(s->drain_sent);
	s->drain_sent = NULL;
}
