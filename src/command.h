/* command.h: the command: start it, signal it, stop it with the kill timer. */
#ifndef LW_COMMAND_H
#define LW_COMMAND_H

#include <stddef.h>

struct sup;

/* Arm nothing yet: set up the kill timer. */
void	command_init(struct sup *);
/*
 * Start the command with the credentials in use (its environment and the
 * outputs); 0, or the exit code to leave with after a one-line error.
 */
int	command_start(struct sup *);
/*
 * The message for a command that execve(2) refused with errno e ("cannot
 * run ...", with what to check) in err; returns its exit code (126, 127).
 */
int	command_exec_error(const char *argv0, int e, char *err, size_t errlen);
/* Send sig to the command, or with --process-group to its whole group. */
void	command_signal(struct sup *, int sig);
/* How soon a stop ends in SIGKILL. */
enum stop_bound {
	BOUND_KILL_TIMEOUT,	/* --kill-timeout */
	BOUND_DEADLINE,		/* and before the credentials die (expiry) */
	BOUND_BUDGET,		/* and within the stop budget a rotation planned */
};
/* Send --kill-signal; SIGKILL after --kill-timeout, or sooner as bound says (lease_kill_after). */
void	command_stop(struct sup *, enum stop_bound, const char *why);
/* The command exited: the kill timer is moot. */
void	command_gone(struct sup *);

#endif
