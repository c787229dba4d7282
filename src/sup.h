/*
 * sup.h: the state one run shares between supervisor.c (the state machine,
 * the only one to change .state) and the modules it drives: signals.c,
 * token.c, leases.c, cred.c, command.c, output.c.  Modules report up
 * through struct sup_events.  Private to those files; the modules' own
 * structs (struct cred, struct tokens, struct leases) are opaque here.
 */
#ifndef LW_SUP_H
#define LW_SUP_H

#include <ev.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "vault_json.h"

struct config;
struct cred;
struct engine;
struct lease;
struct leases;
struct metrics;
struct tokens;
struct tokgen;
struct vault;

/* How long revocation keeps retrying a Vault that fails (leasewrap(1)). */
#define REVOKE_WINDOW		30.0

/* The supervisor's states; the state x event table is in docs/architecture.md. */
enum state {
	ST_FETCHING,	/* reading secrets before the first start */
	ST_RUNNING,	/* the child runs */
	ST_STOPPING,	/* kill signal sent; waiting for the child to exit */
	ST_BACKOFF,	/* the child crashed; waiting to start it again */
	ST_WAITING,	/* stopped for new credentials; waiting for them */
	ST_DRAINING,	/* the command exited; stopping what it left */
	ST_REVOKING,	/* revoking leases before exit */
	ST_DONE,	/* finished: the loop ends */
};

/* Why the child is being stopped: what follows its exit. */
enum stop_reason {
	STOP_RESTART,	/* start it again with new credentials */
	STOP_EXIT,	/* leasewrap is exiting: keep the child's code */
	STOP_ROTATED,	/* --on-change exit */
	STOP_EXPIRED,	/* a credential died with no replacement */
	STOP_TIMEOUT,	/* --timeout */
	STOP_DATAERR,	/* a new value cannot be given to it (exit 65) */
};

struct sup;

/* What the modules report up to the state machine (supervisor.c). */
struct sup_events {
	/* An initial read settled (or gave up). */
	void	(*reads_settled)(struct sup *);
	/* New credentials were fetched for a credential in use. */
	void	(*creds_ready)(struct sup *);
	/* A credential ends soon and nothing replaced it: the last call. */
	void	(*last_call)(struct sup *, struct cred *);
	/* --on-change exit: a credential ends soon. */
	void	(*rotation_due)(struct sup *);
	/* The first login's token is in hand: read the secrets. */
	void	(*logged_in)(struct sup *);
	/* The token's end moved: every credential's end moves with it. */
	void	(*token_moved)(struct sup *);
	/* A request settled; while exiting, maybe the last one. */
	void	(*settled)(struct sup *);
	/* Nothing more can be done: exit with code. */
	void	(*fatal)(struct sup *, int code);
	/* A forwarded signal came. */
	void	(*signal)(struct sup *, int sig);
	/* A child exited (pid, its wait status). */
	void	(*reaped)(struct sup *, pid_t, int status);
};

/* One run of leasewrap. */
struct sup {
	struct ev_loop		*loop;
	const struct config	*cfg;
	const struct sup_events	*on;
	char			**envp_in;
	enum state		 state;
	enum stop_reason	 stop_reason;
	int			 exit_code;
	int			 shutting_down;	/* a stop signal came */
	struct vault		*vault;
	struct metrics		*metrics;	/* or NULL: not exporting */
	struct tokens		*tk;		/* token.c */
	struct leases		*leases;	/* leases.c */
	struct cred		*creds;		/* cred.c: one per path */
	size_t			 ncreds;
	ev_tstamp		 start_deadline;
	ev_tstamp		 revoke_deadline;
	pid_t			 child;		/* command.c */
	ev_tstamp		 child_started;
	int			 restarts;	/* in a row, for --restart */
	int			 stop_signal;	/* signal that ended a fetch */
	ev_timer		 kill_timer;	/* command.c */
	ev_timer		 backoff_timer;
	ev_timer		 timeout_timer;	/* --timeout */
	ev_timer		 apply_timer;	/* signal mode: write the files again */
	int			 apply_attempts;
	int			 grace_warned;	/* signal mode: a grace cut short, said once */
	int			 settle_warned;	/* a lease too short for --settle-delay, said once */
	ev_signal		 sigw[NSIG];	/* signals.c */
	ev_child		 childw;
	ev_child		 stopw;		/* the child stopping (job control) */
	ev_timer		 drain_timer;	/* leftovers: SIGKILL after this */
	int			 drained;
	pid_t			*drain_sent;	/* leftovers already signalled */
	size_t			 ndrain_sent;
};

/* A random number in [0, 1). */
double	rnd(void);
/* Start a one-shot timer w after delay seconds (never negative). */
void	timer_in(struct sup *, ev_timer *w, double delay);
/* Revoking leases or done: nothing new may start, answers only settle. */
int	sup_exiting(const struct sup *);

#endif
