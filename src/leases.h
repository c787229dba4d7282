/* leases.h: the leases leasewrap created and must revoke: retire, grace, revoke with retries. */
#ifndef LW_LEASES_H
#define LW_LEASES_H

#include <stddef.h>

struct sup;
struct lease;
struct leases;
struct vj_secret;

/* An empty table of leases for s (its config, Vault client, metrics, events). */
struct leases	*leases_new(struct sup *);
/* Stop every timer and free the table; NULL is fine. */
void		 leases_free(struct leases *);
/* Remember a lease so that it is revoked at exit whatever happens next. */
struct lease	*leases_add(struct leases *, const char *id);
/*
 * With --revoke-certs, a certificate answer (no lease) of path to revoke
 * like a lease (MOUNT/revoke, its serial number); else NULL.
 */
struct lease	*leases_add_cert(struct leases *, const char *path,
		    const struct vj_secret *);
/* The lease's ID (never secret), or NULL for no lease (and for a certificate). */
const char	*lease_id(const struct lease *);
/* Is it the one a credential uses (not retired, revoked or left)? */
int		 lease_active(const struct lease *);
/* The command stopped using it at when: revoke it at the next start or after the grace. */
void		 lease_retire(struct lease *, double when);
/* A retired lease back in use (its replacement could not be applied). */
void		 lease_unretire(struct lease *);
/* A new command started: revoke every retired lease now. */
void		 leases_revoke_retired(struct leases *);
/* Signal mode: revoke the retired leases once --revoke-grace has passed. */
void		 leases_start_grace(struct leases *);
/* Exiting: revoke every lease not revoked yet (--no-revoke: leave them). */
void		 leases_revoke_all(struct leases *);
/* How many leases are held (not revoked or left; certificates not counted). */
size_t		 leases_held(const struct leases *);
/* Is every lease and certificate revoked, or given up on? */
int		 leases_settled(const struct leases *);

#endif
