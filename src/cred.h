/*
 * cred.h: one credential per Vault path: read, KV v2 mount lookup, renew,
 * rotate, refresh, the current and next values, the last call.
 */
#ifndef LW_CRED_H
#define LW_CRED_H

#include <stddef.h>

struct cred;
struct lease;
struct sup;
struct vj_secret;

/* Group the requested names by path (one read, one lease per path) and send every read at once. */
void		 creds_read_all(struct sup *);
/* The command started: arm every credential's next step. */
void		 creds_start_timers(struct sup *);
/* Plan a credential's next step (renew, rotate, refresh) and its last call. */
void		 cred_schedule(struct cred *);
/* When a credential ends: its lease's end, or its token's when sooner; 0 when it has no lease. */
double		 cred_deadline(const struct cred *);
/* Is a replacement being read for it now? */
int		 cred_replacing(const struct cred *);
/* Does it end with its token, which a login will replace? */
int		 cred_awaits_login(const struct cred *);
/* Call the last call again in delay seconds. */
void		 cred_last_call_in(struct cred *, double delay);
/* Move the fetched credentials into use; their old leases retire; keep: until creds_commit() or creds_undo(). */
void		 creds_promote(struct sup *, int keep);
/* The command was told of the kept promotion: forget what it replaced. */
void		 creds_commit(struct sup *);
/* It could not be told: the replaced credentials are in use again, the new ones wait. */
void		 creds_undo(struct sup *);
/* The token's end moved: plan again every settled credential. */
void		 creds_token_moved(struct sup *);
/* A stop signal during the first reads: give up those waiting to retry; how many. */
int		 creds_stop_retries(struct sup *);
/* Exiting: cancel renewals and stop every timer (reads run on: their leases get revoked). */
void		 creds_stop(struct sup *);
/* Wipe and free every credential. */
void		 creds_free(struct sup *);
/* The credential read for path (NULL if none). */
const struct cred *creds_find(const struct sup *, const char *path);
/* How many credentials (distinct paths) there are. */
size_t		 creds_count(const struct sup *);
/* The i-th of them. */
struct cred	*creds_at(const struct sup *, size_t i);
/* Its path as the user wrote it. */
const char	*cred_path(const struct cred *);
/* The values in use. */
const struct vj_secret *cred_values(const struct cred *);
/* Their lease, or NULL (leases.h). */
struct lease	*cred_lease(const struct cred *);
/* The lease's duration as issued, in seconds. */
double		 cred_duration(const struct cred *);
/* What its margins scale with: the lease, or its token's TTL when shorter (lease_life). */
double		 cred_life(const struct cred *);
/* Can the lease be renewed? */
int		 cred_renewable(const struct cred *);
/* Are new values fetched and not yet in use? */
int		 cred_has_next(const struct cred *);
/* Has every initial read settled? */
int		 creds_settled(const struct sup *);
/* The first credential whose initial read failed, with its exit code, HTTP status and message; NULL if none. */
const struct cred *creds_failed(const struct sup *, int *code, long *status,
		    const char **msg);

#endif
