/* secret.h: the one type that holds secret bytes; wiped before it is freed. */
#ifndef LW_SECRET_H
#define LW_SECRET_H

#include <stddef.h>

struct secret;

/* A copy of len bytes of p, NUL-terminated. */
struct secret	*secret_new(const char *p, size_t len);
/* "prefix" + value, as one secret (for "NAME=value" and header lines). */
struct secret	*secret_concat(const char *prefix, const struct secret *);
/* The bytes, NUL-terminated (valid until secret_free). */
const char	*secret_str(const struct secret *);
/* How many bytes, without the NUL. */
size_t		 secret_len(const struct secret *);
/* Constant-time equality of two secrets. */
int		 secret_equal(const struct secret *, const struct secret *);
/* Wipe and free; accepts NULL. */
void		 secret_free(struct secret *);
/* Wipe n bytes at p (never optimised away). */
void		 secret_wipe(void *p, size_t n);
/* Allocators that wipe on free, installed into jansson and libcurl. */
void		*secure_malloc(size_t);
/* calloc that wipes on free. */
void		*secure_calloc(size_t, size_t);
/* realloc that never leaves an unwiped old block. */
void		*secure_realloc(void *, size_t);
/* strdup that wipes on free. */
char		*secure_strdup(const char *);
/* Wipe the whole block, then free it; NULL is fine. */
void		 secure_free(void *);

#endif
