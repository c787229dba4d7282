/* token.h: the tokens leasewrap uses: load, lookup, renew, login, unwrap, revoke-self. */
#ifndef LW_TOKEN_H
#define LW_TOKEN_H

#include <stddef.h>

struct sup;
struct tokens;
struct tokgen;

/* No token yet, for s (its config, Vault client, metrics, events). */
struct tokens	*tokens_new(struct sup *);
/* Stop the timer, wipe and free every token; NULL is fine. */
void		 tokens_free(struct tokens *);
/* The given token: VAULT_TOKEN, else --token-file, else ~/.vault-token (the CLI's order). */
int		 tokens_load(struct tokens *, char *err, size_t errlen);
/* The Vault client is ready: use the given token, or log in (events: logged_in or fatal). */
void		 tokens_start(struct tokens *);
/* Look up a given token's life after delay seconds, unless it is known. */
void		 tokens_look_up_later(struct tokens *, double delay);
/* Exiting: cancel lookups and renewals and the timer (logins run on: their tokens get revoked). */
void		 tokens_stop(struct tokens *);
/* At exit, after the leases: revoke-self every login token; how many are out or to be retried. */
int		 tokens_revoke_logins(struct tokens *);
/* Can a login replace a token that ends? */
int		 tokens_can_login(const struct tokens *);
/* The token in use now (new reads get their leases under it). */
struct tokgen	*tokens_current(const struct tokens *);
/* When a token ends (ev_now time); 0 when never or not known yet; NULL is fine. */
double		 token_deadline(const struct tokgen *);
/* Its TTL as issued, when it ends (0 when never or not known); NULL is fine. */
double		 token_ttl(const struct tokgen *);
/* Will it end for good: at its max TTL, not renewable, or dead? */
int		 token_ends_for_good(const struct tokgen *);
/* Has Vault stopped accepting it? */
int		 token_dead(const struct tokgen *);

#endif
