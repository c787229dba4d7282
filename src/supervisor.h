/* supervisor.h: fetch secrets, run the command, revoke; returns the exit code. */
#ifndef LW_SUPERVISOR_H
#define LW_SUPERVISOR_H

struct config;

/* Run the whole life of one leasewrap invocation; returns the exit code. */
int	supervisor_run(const struct config *, char **envp);

#endif
