/* child.h: start the command with fork/exec and map its status to an exit code. */
#ifndef LW_CHILD_H
#define LW_CHILD_H

#include <sys/types.h>

/*
 * Remember what a bare run of the command would inherit (signal mask,
 * ignored signals, open descriptors).  Call first thing in main().
 */
void	child_init(void);
/*
 * Fork and exec argv with envp in its own process group, with the
 * inherited mask and dispositions and none of our descriptors.  Returns
 * the pid; when exec fails the child exits 126/127 and *exec_errno says
 * why (0 on success).  -1 if fork itself failed.
 */
pid_t	child_spawn(char *const argv[], char *const envp[], int *exec_errno);
/* The exit code for a wait status: the code, or 128+N for signal N. */
int	child_exit_code(int wstatus);
/* 127 for "not found" errors, 126 for the rest (the shell's rule). */
int	child_exec_exit_code(int exec_errno);

#endif
