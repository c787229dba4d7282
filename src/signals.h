/*
 * signals.h: the signals leasewrap forwards (tini's table), the signal and
 * child watchers that report up to the state machine, job control at a
 * terminal, and the leftovers a command leaves behind.
 */
#ifndef LW_SIGNALS_H
#define LW_SIGNALS_H

#include <sys/types.h>

struct sup;

/* Block the signals leasewrap forwards (and SIGCHLD); first thing in main(). */
void	signals_block(void);
/* Watch them and the children (events signal and reaped), follow ^Z, unblock them. */
void	signals_start(struct sup *);
/* Stop every watcher and the drain timer. */
void	signals_stop(struct sup *);
/* Is sig one that means "stop" rather than "tell the child something"? */
int	signals_is_stop(int sig);
/*
 * The command exited: ask what it left behind to stop (--kill-signal),
 * SIGKILL it after --kill-timeout.  Returns 1 while leftovers remain.
 */
int	signals_drain(struct sup *);
/* A child of ours that never ran the command (its exec failed): not a leftover to signal. */
void	signals_forget(struct sup *, pid_t);

#endif
