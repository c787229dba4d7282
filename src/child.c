/* child.c: vfork or fork, then exec (tmux job.c, tini): a clean child, a checked exec. */
#define _GNU_SOURCE
#include "child.h"
#include "exitcodes.h"
#include "runas.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_INHERITED_FDS 64

static sigset_t	orig_mask;
static sigset_t	orig_ignored;
static int	inherited_fds[MAX_INHERITED_FDS];
static int	ninherited;
static const struct runas *run_as;	/* --user, or NULL */

void
child_init(void)
{
	struct sigaction sa;
	DIR *d;
	struct dirent *de;
	int sig, fd;

	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	sigemptyset(&orig_ignored);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&orig_ignored, sig);
	/* A bare run keeps the descriptors its parent gave it, so do we. */
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && ninherited < MAX_INHERITED_FDS) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = (int)strtol(de->d_name, NULL, 10);
		if (fd > 2 && fd != dirfd(d))
			inherited_fds[ninherited++] = fd;
	}
	closedir(d);
}

void
child_set_user(const struct runas *ra)
{
	run_as = ra != NULL && ra->set ? ra : NULL;
}

/*
 * envp with HOME set to the --user's home in its place (or added last),
 * built before fork: no allocation between fork and exec.  The entries
 * are envp's own but *home.
 */
static char **
user_env(char *const envp[], char **home)
{
	size_t n = 0, i, k = 0, hl = strlen(run_as->home);
	char **e;
	int set = 0;

	while (envp[n] != NULL)
		n++;
	e = xcalloc(n + 2, sizeof(char *));
	*home = xmalloc(hl + 6);
	memcpy(*home, "HOME=", 5);
	memcpy(*home + 5, run_as->home, hl + 1);
	for (i = 0; i < n; i++)
		if (strncmp(envp[i], "HOME=", 5) != 0)
			e[k++] = envp[i];
		else if (!set++)
			e[k++] = *home;
	if (!set)
		e[k++] = *home;
	e[k] = NULL;
	return e;
}

/* Close lo..hi, by hand if close_range(2) is missing or filtered. */
static void
close_span(unsigned lo, unsigned hi)
{
	long max;

	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (; lo <= hi && lo < (unsigned)max; lo++)
		close((int)lo);
}

/* Close every descriptor from 3 up that the parent did not hand us (but keep, if >= 0). */
static void
close_ours(int keep)
{
	int lo = 3, i, j, fds[MAX_INHERITED_FDS + 1], n = 0, t;

	for (i = 0; i < ninherited; i++)
		fds[n++] = inherited_fds[i];
	fds[n++] = keep;
	for (i = 1; i < n; i++)		/* insertion sort: n is tiny */
		for (j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (fds[i] > lo)
			close_span((unsigned)lo, (unsigned)fds[i] - 1);
		if (fds[i] + 1 > lo)
			lo = fds[i] + 1;
	}
	close_span((unsigned)lo, ~0U);
}

/* In the child: exec failed with e; tell the parent (errp, or else errfd) and exit code. */
static void
child_fail(int errfd, volatile int *errp, int e, int code)
{
	if (errp != NULL)
		*errp = e;
	else
		(void)!write(errfd, &e, sizeof(e));
	_exit(code);
}

/*
 * In the child: become what a bare exec would have been, then exec.  Only
 * system calls and no allocation: a vforked child shares our memory.
 */
static void
exec_child(char *const argv[], char *const envp[], int errfd,
    volatile int *errp)
{
	struct sigaction sa;
	int sig;

	setpgid(0, 0);
	if (isatty(STDIN_FILENO))
		(void)tcsetpgrp(STDIN_FILENO, getpgrp());
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa.sa_handler = sigismember(&orig_ignored, sig) ? SIG_IGN :
		    SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	close_ours(errfd);
	if (runas_apply(run_as) == -1)
		child_fail(errfd, errp, errno, LW_EXIT_NOEXEC);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	execvpe(argv[0], argv, envp);
	child_fail(errfd, errp, errno, child_exec_exit_code(errno));
}

/*
 * With vfork(2) the child borrows our memory until its exec (as glibc's
 * posix_spawn does): no page table is copied nor page copied on write, and
 * we go on only once it has exec'd or exited, with exec's errno in e: no
 * pipe.  Its own setpgid() has run by then: no race with a kill(-pid).
 * Not for --user: setuid() in a child that shares our memory would run
 * glibc's setxid broadcast to the threads libcurl's resolver may have
 * left in it; that child is forked.
 */
static pid_t
spawn_shared(char *const argv[], char *const envp[], int *exec_errno)
{
	sigset_t all, saved;
	volatile int e = 0;
	pid_t pid;

	/* No handler of ours may run in the child before it reset them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	if ((pid = vfork()) == 0)
		exec_child(argv, envp, -1, &e);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid > 0)
		*exec_errno = e;
	return pid;
}

/* --user: fork, and learn exec's errno from a close-on-exec pipe. */
static pid_t
spawn_forked(char *const argv[], char *const envp[], int *exec_errno)
{
	sigset_t all, saved;
	int fds[2], e = 0;
	ssize_t n;
	pid_t pid;
	char **uenv, *home = NULL;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	envp = uenv = user_env(envp, &home);
	/* No handler of ours may run in the child between fork and exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		exec_child(argv, envp, fds[1], NULL);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* no race with a kill(-pid) */
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(fds[1]);
	free(uenv);
	free(home);
	if (pid == -1) {
		close(fds[0]);
		return -1;
	}
	/* The pipe closes on exec; data means exec failed. */
	do
		n = read(fds[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(fds[0]);
	if (n == (ssize_t)sizeof(e))
		*exec_errno = e;
	return pid;
}

pid_t
child_spawn(char *const argv[], char *const envp[], int *exec_errno)
{
	*exec_errno = 0;
	return run_as == NULL ? spawn_shared(argv, envp, exec_errno) :
	    spawn_forked(argv, envp, exec_errno);
}

int
child_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return LW_EXIT_SOFTWARE;
}

int
child_exec_exit_code(int e)
{
	return (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ||
	    e == ELOOP) ? LW_EXIT_NOTFOUND : LW_EXIT_NOEXEC;
}
