/*
 * cred_int.h: struct cred, private to cred.c (reads, renewals, timing)
 * and handover.c (the settle delay, promotion of fetched credentials).
 */
#ifndef LW_CRED_INT_H
#define LW_CRED_INT_H

#include "vault_json.h"

#include <ev.h>

enum op { OP_NONE, OP_READ, OP_RENEW };
enum purpose { P_INITIAL, P_RENEW, P_ROTATE, P_REFRESH, P_SETTLE };

/* What a promotion replaced, kept until the command was told (signal mode). */
struct cred_was {
	int			 has;
	struct vj_secret	 cur;
	struct lease		*lease;
	struct tokgen		*tg;
	double			 duration, jitter;
	ev_tstamp		 lease_end, issued;
	int			 renewable, final;
};

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
	struct tokgen		*tg;		/* the token cur's lease has (leases die with it) */
	double			 duration;	/* cur's lease as issued, s */
	ev_tstamp		 lease_end;	/* cur's lease ends; 0: none */
	ev_tstamp		 rotates_at;	/* a static role's next rotation; 0 */
	int			 renewable;
	int			 final;		/* cannot be extended further */
	double			 jitter;	/* in [0, 1), per lease */
	ev_tstamp		 issued;	/* when cur's lease began */
	ev_tstamp		 read_at;	/* cur was last read (no lease: refresh from then) */
	double			 learned_max;	/* the path's max TTL, once seen */
	struct vj_secret	 next;		/* fetched, not yet applied */
	struct lease		*next_lease;
	struct tokgen		*next_tg;
	ev_tstamp		 next_sent;	/* next's request was sent */
	ev_tstamp		 answer_sent;	/* the answer in hand's request was sent */
	int			 has_next;
	int			 settling;	/* fetched, waiting out --settle-delay */
	int			 doomed_logged;
	struct cred_was		 was;	/* signal mode: what a promotion replaced */
	ev_timer		 timer;		/* renew, rotate, refresh, retry */
	ev_timer		 expiry;	/* last call before the deadline */
};

/* Log fields for c's current lease, with a TTL. */
#define CRED_LF(c, t)	LF(.path = (c)->path, .lease = lease_id((c)->lease), \
			    LF_TTL(t))

/* Load cur's lease facts after a read or a promotion. */
void	cred_take_lease(struct cred *, ev_tstamp since);
/* Just fetched: wait --settle-delay before they count (1), or not at all (0). */
int	cred_settle_begin(struct cred *);
/* The settle delay is over: the values count as fetched now. */
void	cred_settle_end(struct cred *);
/* Its path's --settle-delay in seconds (0 in check mode: no command to hand them to). */
double	cred_settle_delay(const struct cred *);
/* Once per run: a lease too short to hold the settle delay, with the numbers. */
void	cred_settle_warn(const struct cred *, double lead, double want);

#endif
