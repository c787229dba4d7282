/* test_child.c: exit-code mapping and a clean spawn (child.c). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "exitcodes.h"
#include "runas.h"

extern char **environ;

/* Opened before child_init(): a descriptor the command would inherit. */
static int fd_before = -1;

/* Wait for pid, retrying on EINTR; return the raw status. */
static int
reap(pid_t pid)
{
	int status = 0;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r == -1 && errno == EINTR);
	assert_int_equal(r, pid);
	return status;
}

/* The wait status of a real child that exits with code. */
static int
status_of_exit(int code)
{
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0)
		_exit(code);
	return reap(pid);
}

/* The wait status of a real child killed by sig. */
static int
status_of_signal(int sig)
{
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0) {
		sigset_t set;

		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		_exit(99);	/* not reached */
	}
	return reap(pid);
}

static void
test_exit_codes_passed_through(void **state)
{
	static const int codes[] = { 0, 1, 2, 42, 126, 127, 254, 255 };
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		st = status_of_exit(codes[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(child_exit_code(st), codes[i]);
	}
}

static void
test_signals_are_128_plus_n(void **state)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGPIPE,
	    SIGALRM, SIGTERM, SIGUSR2 };
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		st = status_of_signal(sigs[i]);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), sigs[i]);
		assert_int_equal(child_exit_code(st), 128 + sigs[i]);
	}
	/* The usual ones, spelled out. */
	assert_int_equal(child_exit_code(status_of_signal(SIGTERM)), 143);
	assert_int_equal(child_exit_code(status_of_signal(SIGKILL)), 137);
	assert_int_equal(child_exit_code(status_of_signal(SIGINT)), 130);
}

static void
test_exec_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(child_exec_exit_code(ENOENT), 127);
	assert_int_equal(child_exec_exit_code(ENOTDIR), 127);
	assert_int_equal(child_exec_exit_code(EACCES), 126);
	assert_int_equal(child_exec_exit_code(ENOEXEC), 126);
	assert_int_equal(child_exec_exit_code(EPERM), 126);
	assert_int_equal(LW_EXIT_NOTFOUND, 127);
	assert_int_equal(LW_EXIT_NOEXEC, 126);
}

/* Spawn argv with our environment; wait and return the exit code. */
static int
run(char *const argv[], int *exec_errno)
{
	pid_t pid;

	*exec_errno = -1;
	pid = child_spawn(argv, environ, exec_errno);
	assert_true(pid > 0);
	return child_exit_code(reap(pid));
}

/* Run "sh -c script" and return its exit code. */
static int
run_sh(const char *script)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	int e;
	int code = run(argv, &e);

	assert_int_equal(e, 0);
	return code;
}

static void
test_spawn_exit_code(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	int e;

	(void)state;
	assert_int_equal(run(argv, &e), 3);
	assert_int_equal(e, 0);
	assert_int_equal(run_sh("kill -TERM $$"), 143);
}

/* The given envp is the child's whole environment. */
static void
test_spawn_envp(void **state)
{
	char *argv[] = { "/bin/sh", "-c",
	    "test \"$LW_TEST_VAR\" = 'a b' && test -z \"$HOME\"", NULL };
	char *envp[] = { "LW_TEST_VAR=a b", "PATH=/usr/bin:/bin", NULL };
	pid_t pid;
	int e = -1;

	(void)state;
	pid = child_spawn(argv, envp, &e);
	assert_true(pid > 0);
	assert_int_equal(e, 0);
	assert_int_equal(child_exit_code(reap(pid)), 0);
}

/* The child leads a process group of its own. */
static void
test_spawn_own_process_group(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	pid_t pid;
	int e = -1;

	(void)state;
	pid = child_spawn(argv, environ, &e);
	assert_true(pid > 0);
	/* The group is set before child_spawn returns. */
	assert_int_equal(getpgid(pid), pid);
	assert_int_equal(child_exit_code(reap(pid)), 0);
}

static void
test_spawn_not_found(void **state)
{
	char *abs[] = { "/nonexistent/leasewrap-test-cmd", NULL };
	char *bare[] = { "leasewrap-no-such-command-xyzzy", NULL };
	int e;

	(void)state;
	assert_int_equal(run(abs, &e), 127);
	assert_int_equal(e, ENOENT);
	assert_int_equal(run(bare, &e), 127);
	assert_int_equal(e, ENOENT);
}

/* A file without execute permission (even for root) is 126, EACCES. */
static void
test_spawn_not_executable(void **state)
{
	char path[] = "/tmp/lw-test-noexec-XXXXXX";
	char *argv[] = { path, NULL };
	char *dir[] = { "/tmp", NULL };
	int fd, e;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(run(argv, &e), 126);
	assert_int_equal(e, EACCES);
	unlink(path);
	assert_int_equal(run(dir, &e), 126);
	assert_int_equal(e, EACCES);
}

/* Descriptors opened after child_init() stay ours; earlier ones are passed on. */
static void
test_spawn_descriptors(void **state)
{
	char script[128];
	int fd_after, fd_pipe[2];

	(void)state;
	assert_true(fd_before > 2);
	fd_after = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */
	assert_true(fd_after > 2);
	assert_int_equal(pipe(fd_pipe), 0);

	/* Controls: the script sees its own descriptors. */
	assert_int_equal(run_sh("test -e /proc/self/fd/1"), 0);
	assert_int_equal(run_sh("test ! -e /proc/self/fd/999"), 0);

	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d", fd_after);
	assert_int_equal(run_sh(script), 0);
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d",
	    fd_pipe[0]);
	assert_int_equal(run_sh(script), 0);
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d",
	    fd_pipe[1]);
	assert_int_equal(run_sh(script), 0);
	snprintf(script, sizeof(script), "test -e /proc/self/fd/%d", fd_before);
	assert_int_equal(run_sh(script), 0);
	close(fd_pipe[0]);
	close(fd_pipe[1]);
	close(fd_after);
}

/* How many descriptors we have open. */
static int
count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

/*
 * child_spawn returns once the command has exec'd (its /proc/PID/exe is
 * the command's), and leaves no descriptor behind, whether exec worked or
 * not.
 */
static void
spawn_returns_after_exec(void)
{
	char *sleeper[] = { "/bin/sleep", "30", NULL };
	char *missing[] = { "/nonexistent/leasewrap-test-cmd", NULL };
	char link[64], exe[PATH_MAX], want[PATH_MAX];
	ssize_t n;
	pid_t pid;
	int e = -1, fds = count_fds();

	assert_non_null(realpath(sleeper[0], want));
	pid = child_spawn(sleeper, environ, &e);
	assert_true(pid > 0);
	assert_int_equal(e, 0);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(exe, want);
	assert_int_equal(count_fds(), fds);
	kill(pid, SIGKILL);
	assert_int_equal(child_exit_code(reap(pid)), 128 + SIGKILL);
	assert_int_equal(run(missing, &e), 127);
	assert_int_equal(e, ENOENT);
	assert_int_equal(count_fds(), fds);
}

static void
test_spawn_returns_after_exec(void **state)
{
	(void)state;
	spawn_returns_after_exec();
}

/*
 * With --user the child is forked, not vforked (child.c): as ourselves,
 * the same contract holds, and HOME is the user's.
 */
static void
test_spawn_forked_for_user(void **state)
{
	gid_t groups[64];
	struct runas ra;
	int n;

	(void)state;
	if (geteuid() != 0) {
		printf("skipped: --user needs root\n");
		skip();
	}
	assert_true((n = getgroups(64, groups)) >= 0);
	memset(&ra, 0, sizeof(ra));
	ra.set = 1;
	ra.uid = getuid();
	ra.gid = getgid();
	ra.groups = groups;
	ra.ngroups = (size_t)n;
	ra.home = "/leasewrap-test-home";
	child_set_user(&ra);
	spawn_returns_after_exec();
	assert_int_equal(run_sh("exit 3"), 3);
	assert_int_equal(run_sh("test \"$HOME\" = /leasewrap-test-home"), 0);
	child_set_user(NULL);
	assert_int_equal(run_sh("test \"$HOME\" != /leasewrap-test-home"), 0);
}

/* In a process of its own: make close_range(2) fail as on Linux < 5.9. */
static int
descriptors_without_close_range(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};
	char script[128];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	int fd_mid, fd_high, st, e;
	pid_t pid;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 3;
	if (syscall(SYS_close_range, 1000U, 1000U, 0) != -1 || errno != ENOSYS)
		return 3;
	/* Between the inherited descriptor and child_spawn's pipe. */
	fd_mid = open("/dev/null", O_RDONLY);
	/* Above everything. */
	fd_high = dup2(fd_mid, 200);
	if (fd_mid <= fd_before || fd_high != 200)
		return 4;
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d && "
	    "test ! -e /proc/self/fd/%d && test -e /proc/self/fd/%d", fd_mid,
	    fd_high, fd_before);
	if ((pid = child_spawn(argv, environ, &e)) <= 0 || e != 0)
		return 5;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return 6;
	return child_exit_code(st) == 0 ? 0 : 1;
}

/* Without close_range(2), our descriptors are still closed by hand. */
static void
test_spawn_descriptors_fallback(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(descriptors_without_close_range());
	st = reap(pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 3) {
		printf("skipped: cannot install a seccomp filter to hide "
		    "close_range(2)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Signals the parent blocked after child_init() are unblocked in the child. */
static void
test_spawn_signal_mask(void **state)
{
	char *argv[] = { "grep", "-Eq", "^SigBlk:[[:space:]]*0+$",
	    "/proc/self/status", NULL };
	sigset_t set, old, now;
	int e;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	assert_true(sigismember(&now, SIGUSR1));
	/* grep itself, not under sh: dash clears the mask of its children. */
	assert_int_equal(run(argv, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

/* A signal the parent ignored after child_init() is default in the child. */
static void
test_spawn_signal_dispositions(void **state)
{
	struct sigaction ign, old;

	(void)state;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGUSR2, &ign, &old), 0);
	/* SIGUSR2 is 12: bit 0x800 of SigIgn. */
	assert_int_equal(run_sh("m=$(sed -n 's/^SigIgn:[[:space:]]*//p' "
	    "/proc/self/status); test $(( 0x$m & 0x800 )) -eq 0"), 0);
	assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes_passed_through),
		cmocka_unit_test(test_signals_are_128_plus_n),
		cmocka_unit_test(test_exec_exit_codes),
		cmocka_unit_test(test_spawn_exit_code),
		cmocka_unit_test(test_spawn_envp),
		cmocka_unit_test(test_spawn_own_process_group),
		cmocka_unit_test(test_spawn_not_found),
		cmocka_unit_test(test_spawn_not_executable),
		cmocka_unit_test(test_spawn_returns_after_exec),
		cmocka_unit_test(test_spawn_forked_for_user),
		cmocka_unit_test(test_spawn_descriptors),
		cmocka_unit_test(test_spawn_descriptors_fallback),
		cmocka_unit_test(test_spawn_signal_mask),
		cmocka_unit_test(test_spawn_signal_dispositions),
	};

	struct sigaction dfl;
	sigset_t none;

	/*
	 * A known start: nothing blocked, SIGUSR2 at its default.  Then, as
	 * main.c does, child_init() first, with one descriptor already open.
	 */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGUSR2, &dfl, NULL);
	fd_before = open("/dev/null", O_RDONLY);
	if (fd_before < 0) {
		perror("open /dev/null");
		return 1;
	}
	child_init();
	return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
