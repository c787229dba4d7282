/*
 * tokenfile.h: a --token-file that another process rotates (a Vault Agent
 * token sink, vault#6395): watched with libev's ev_stat and re-read when it
 * changes or when the supervisor asks (before the token in use expires).
 */
#ifndef LW_TOKENFILE_H
#define LW_TOKENFILE_H

struct ev_loop;
struct secret;
struct tokenfile;

/* The file now holds a token other than the last one seen: cb owns value. */
typedef void (*tokenfile_cb)(struct secret *value, void *arg);

/* Watch path, whose token in use is current (copied); NULL on no memory. */
struct tokenfile	*tokenfile_new(struct ev_loop *, const char *path,
			    const struct secret *current, tokenfile_cb, void *arg);
/* Re-read the file after delay seconds (0: at the next loop turn); NULL is a no-op. */
void			 tokenfile_due(struct tokenfile *, double delay);
/* Stop watching and free; accepts NULL. */
void			 tokenfile_free(struct tokenfile *);

#endif
