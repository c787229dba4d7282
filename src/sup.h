/*
 * sup.h: the supervisor's shared state, private to its modules (supervisor.c,
 * signals.c, token.c, leases.c, cred.c, command.c, output.c, preflight.c).
 */
#ifndef LW_SUP_H
#define LW_SUP_H

#include <ev.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "vault_json.h"

struct config;
struct engine;
struct metrics;
struct secret;
struct vault;
struct vault_resp;

/* How long revocation keeps retrying a Vault that fails (leasewrap(1)). */
#define REVOKE_WINDOW		30.0

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
};

enum lease_state { LS_ACTIVE, LS_RETIRED, LS_REVOKING, LS_DONE };

/* A lease leasewrap created and must revoke. */
struct lease {
	struct sup		*sup;
	char			*id;
	enum lease_state	 state;
	ev_tstamp		 retired_at;
	int			 attempts;
	ev_timer		 retry;
};

enum op { OP_NONE, OP_READ, OP_RENEW };
enum purpose { P_INITIAL, P_RENEW, P_ROTATE, P_REFRESH };

/* One Vault path: read once however many names use it. */
struct cred {
	struct sup		*sup;
	char			*path;		/* as the user wrote it */
	char			*read_path;	/* after KV v2 resolution */
	const struct engine	*eng;		/* its kind (engines.h) */
	int			 resolved;	/* mount lookup already tried */
	int			 done;		/* the initial read settled */
	int			 fail_code;	/* exit code if it failed */
	long			 fail_status;	/* Vault's HTTP status then */
	char			 fail[384];
	enum op			 op;		/* request in flight */
	enum purpose		 purpose;	/* of the read in flight */
	int			 attempts;
	struct vj_secret	 cur;		/* the values in use */
	struct lease		*lease;		/* cur's lease, or NULL */
	struct tokgen		*tg;		/* the token cur's lease has */
	double			 duration;	/* cur's lease as issued, s */
	ev_tstamp		 lease_end;	/* cur's lease ends; 0: none */
	int			 renewable;
	int			 final;		/* cannot be extended further */
	double			 jitter;	/* in [0, 1), per lease */
	ev_tstamp		 issued;	/* when cur's lease began */
	double			 learned_max;	/* the path's max TTL, once seen */
	struct vj_secret	 next;		/* fetched, not yet applied */
	struct lease		*next_lease;
	struct tokgen		*next_tg;
	int			 has_next;
	int			 doomed_logged;
	ev_timer		 timer;		/* renew, rotate, refresh, retry */
	ev_timer		 expiry;	/* last call before the deadline */
};

/* Log fields for c's current lease, with a TTL. */
#define CRED_LF(c, t)	LF(.path = (c)->path, \
			    .lease = (c)->lease ? (c)->lease->id : NULL, LF_TTL(t))

/*
 * One token leasewrap used: the one it was given, or one per login.
 * Leases die with the token that created them (hashicorp/vault
 * vault/expiration.go, RevokeByToken), so each credential remembers its
 * token.
 */
struct tokgen {
	struct sup	*sup;
	struct secret	*value;
	int		 login;		/* from a login: revoke it at exit */
	int		 known;		/* its TTL is known */
	ev_tstamp	 deadline;	/* 0: never expires */
	double		 duration;
	int		 renewable;
	int		 final;		/* cannot be renewed further */
	int		 dead;		/* Vault no longer accepts it */
	int		 revoked;	/* revoke-self done or not wanted */
	struct tokgen	*next;
};

struct sup {
	struct ev_loop		*loop;
	const struct config	*cfg;
	char			**envp_in;
	enum state		 state;
	enum stop_reason	 stop_reason;
	int			 exit_code;
	int			 shutting_down;	/* a stop signal came */
	struct vault		*vault;
	struct metrics		*metrics;	/* or NULL: not exporting */
	struct tokgen		*tok;		/* the token in use */
	struct tokgen		*tokgens;	/* every token, newest first */
	int			 tok_busy;	/* login, lookup or renewal out */
	int			 tok_attempts;
	ev_timer		 tok_timer;
	struct secret		*secret_id;	/* unwrapped AppRole secret ID */
	struct cred		*creds;
	size_t			 ncreds;
	struct lease		**leases;
	size_t			 nleases;
	ev_tstamp		 start_deadline;
	ev_tstamp		 revoke_deadline;
	pid_t			 child;
	ev_tstamp		 child_started;
	int			 restarts;	/* in a row, for --restart */
	int			 stop_signal;	/* signal that ended a fetch */
	ev_signal		 sigw[NSIG];
	ev_child		 childw;
	ev_child		 stopw;		/* the child stopping (job control) */
	ev_timer		 kill_timer;
	ev_timer		 backoff_timer;
	ev_timer		 grace_timer;	/* signal mode: revoke retired */
	ev_timer		 timeout_timer;	/* --timeout */
	ev_timer		 drain_timer;	/* leftovers: SIGKILL after this */
	int			 drained;
	pid_t			*drain_sent;	/* leftovers already signalled */
	size_t			 ndrain_sent;
};

/* ---- supervisor.c ---- */

/* A random number in [0, 1). */
double	rnd(void);
/* Revoking leases or done: nothing new may start, answers only settle. */
int	sup_exiting(const struct sup *s);
/* Start a one-shot timer w after delay seconds (never negative). */
void	timer_in(struct sup *s, ev_timer *w, double delay);
/* New credentials are ready: restart, signal or exit, as --on-change says. */
void	request_apply(struct sup *s);
/* All initial reads answered: start the child, or clean up after a failure. */
void	reads_settled(struct sup *s);
/* Stop everything that would act later, revoke every lease, then finish. */
void	shutdown_now(struct sup *s);
/* Exit once every lease is settled and no request is still out. */
void	maybe_finish(struct sup *s);

/* ---- signals.c ---- */

/*
 * Signals passed on to the child: every catchable one, as tini does, but
 * SIGCHLD (ours), the faults a process raises on itself, SIGPIPE (ours to
 * ignore) and the terminal's SIGTTIN/SIGTTOU.  pid1.md §3 B3, B13.
 */
int	is_forwarded(int sig);
/* The signals leasewrap handles: the forwarded ones and SIGCHLD. */
void	handled_set(sigset_t *set);
/* Is sig one that means "stop" rather than "tell the child something"? */
int	is_stop_signal(int sig);
/*
 * Job control at a terminal (as sudo does): the command was stopped by ^Z
 * while it owned the terminal.  Take the terminal back and stop ourselves,
 * so that the shell sees the job stopped; on "fg" give it back and resume
 * the command.  Not as PID 1, whom nobody would resume.
 */
void	stop_cb(struct ev_loop *loop, ev_child *w, int revents);
/* Leftovers past --kill-timeout: SIGKILL them. */
void	drain_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
/*
 * The command exited: ask what it left behind to stop (--kill-signal),
 * SIGKILL it after --kill-timeout, and go on once none is left.  Returns
 * 1 while leftovers remain.  pid1.md §3 B8.
 */
int	drain_step(struct sup *s);

/* ---- token.c ---- */

/* The token: VAULT_TOKEN, else --token-file, else ~/.vault-token (the CLI's order). */
int	load_token(struct sup *s, char *err, size_t errlen);
/* Can leasewrap get itself a new token when this one ends? */
int	can_login(const struct sup *s);
/* lookup-self or renew-self answered: learn the token's life. */
void	token_cb(const struct vault_resp *resp, void *arg);
/* Log in with the configured method, unwrapping the secret ID first if asked. */
void	login_start(struct sup *s);
void	token_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
/*
 * At exit, after the leases: revoke-self every token leasewrap logged in
 * for (a token the user gave is never revoked).  Returns how many went out.
 */
int	revoke_login_tokens(struct sup *s);

/* ---- leases.c ---- */

/* Remember a lease so that it is revoked at exit whatever happens next. */
struct lease *	add_lease(struct sup *s, const char *id);
/* PUT sys/leases/revoke for one lease (vault-api.md §6.2). */
void	revoke_one(struct lease *l);
/* Revoke the leases no running child uses any more. */
void	revoke_retired(struct sup *s);
/* Signal mode: revoke the leases retired --revoke-grace ago; wait for the rest. */
void	grace_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- cred.c ---- */

/* The end of a credential: its lease's, or its token's if that comes first. */
ev_tstamp	cred_deadline(const struct cred *c);
/* Arm the next step for a credential: renew, rotate, refresh, and the last call. */
void	cred_schedule(struct cred *c);
/* sys/leases/renew answered (vault-api.md §6.1). */
void	renew_cb(const struct vault_resp *resp, void *arg);
/* The credential's timer: renew, rotate or refresh, as scheduled. */
void	cred_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* Move fetched credentials into use; their old leases retire. */
void	promote(struct sup *s);
/*
 * Is a credential too close to its end to start the command on, with no
 * replacement fetched yet?  Then a restart waits for the replacement.
 */
int	rotation_pending(const struct sup *s);
/* Send every read at once. */
void	start_reads(struct sup *s);

/* ---- command.c ---- */

/*
 * Send sig to the command, or with --process-group to its whole group; the
 * pid itself too when the group does not exist yet (pid1.md §4, ESRCH).
 */
void	signal_child(struct sup *s, int sig);
/*
 * Start (or start again) the command with the credentials in use; why is
 * "initial", "rotation" or "exit" (for leasewrap_child_starts_total).
 */
void	spawn_child(struct sup *s, const char *why);
/* The kill timeout passed: SIGKILL the child. */
void	kill_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* Ask the child to stop; what follows its exit depends on why. */
void	begin_stop(struct sup *s, enum stop_reason why);
/* The crash backoff is over: start the command again. */
void	backoff_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* The command exited on its own: restart it or exit, as --restart says. */
void	child_exited_alone(struct sup *s, int code);
/* --timeout passed: stop the command. */
void	timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- output.c ---- */

/* The gauges, set afresh before each scrape or file write. */
void	metrics_gauges(void *arg);
/*
 * Every series whose labels are known at start, at 0: a counter that
 * appears only at its first increment hides that increment from rate().
 */
void	metrics_zero(struct sup *s);
/*
 * The child's environment from the credentials in use, written to every
 * output (env files) too; NULL with the exit code in *code when a field is
 * missing, or when an output fails and starting is set.
 */
char	**output_build(struct sup *s, int starting, int *code);
/*
 * "leasewrap check": one line per variable on stdout, never a value; the
 * leases are revoked by the shutdown that follows.  Returns the exit code.
 */
int	check_report(struct sup *s);

/* ---- preflight.c ---- */

/* Refuse settings that would leak the token or cannot work, before any request. */
int	check_vault_settings(struct sup *s);

#endif
