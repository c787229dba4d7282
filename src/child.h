/* child.h: start the command with fork/exec and map its status to an exit code. */
#ifndef LW_CHILD_H
#define LW_CHILD_H

#include <sys/types.h>

/*
 * Remember what a bare run of the command would inherit (signal mask,
 * ignored signals, open descriptors).  Call first thing in main().
 */
void	child_init(void);
struct runas;

/*
 * Run every command from now on as ra (--user; NULL or unset: as we are):
 * its groups, gid and uid set in the child before exec, HOME its home.
 * ra must outlive the spawns.
 */
void	child_set_user(const struct runas *ra);
/*
 * Start argv with envp in its own process group (vfork, or fork with
 * --user; then exec), with the inherited mask and dispositions and none of
 * our descriptors.  Returns the pid once the child has exec'd; when exec
 * fails the child exits 126/127 and *exec_errno says why (0 on success).
 * -1 if the process could not be created.
 */
pid_t	child_spawn(char *const argv[], char *const envp[], int *exec_errno);
/* The exit code for a wait status: the code, or 128+N for signal N. */
int	child_exit_code(int wstatus);
/* 127 for "not found" errors, 126 for the rest (the shell's rule). */
int	child_exec_exit_code(int exec_errno);

#endif
