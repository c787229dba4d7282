/*
 * params.h: the "?key=value&key=value" part of a secret path: the
 * parameters of a write request (or a KV v2 "?version=N" read), parsed
 * without I/O.
 */
#ifndef LW_PARAMS_H
#define LW_PARAMS_H

#include <stddef.h>

/*
 * Check the query after a path's "?": non-empty "key=value" pairs joined
 * by "&", each key once, percent-decoded (and "+" as a space, as a URL
 * query) to UTF-8.  -1 with a message in err (naming the key, never a value).
 */
int	 params_check(const char *query, char *err, size_t errlen);
/* Is path a plain read: no "?", or only "?version=N" (a KV v2 version)? */
int	 params_is_read(const char *path);
/* The path to send: path up to its "?" (a fresh string). */
char	*params_base(const char *path);
/* The parameters of path as a JSON object of strings (a fresh string), or NULL if it has none. */
char	*params_json(const char *path);

#endif
