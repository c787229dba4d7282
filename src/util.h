/*
 * util.h: small helpers: durations, names, checked allocation (pure), and
 * replacing a file atomically.
 */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Parse "90", "90s", "5m", "1h30m", "250ms" into milliseconds; -1 if malformed. */
long long	 util_parse_duration_ms(const char *);
/* Format milliseconds as "1h2m3s" (or "250ms") into buf. */
char		*util_format_duration(long long ms, char *buf, size_t len);
/* True if s is a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*). */
int		 util_valid_env_name(const char *s, size_t len);
/* malloc/calloc/realloc/strdup that abort with a message instead of returning NULL. */
void		*xmalloc(size_t);
/* calloc or abort. */
void		*xcalloc(size_t, size_t);
/* realloc or abort. */
void		*xrealloc(void *, size_t);
/* strdup or abort. */
char		*xstrdup(const char *);
/* strndup or abort. */
char		*xstrndup(const char *, size_t);
/*
 * Replace path with len bytes of buf: a temporary "path.XXXXXX" beside it
 * (mode, close-on-exec), fsync'd when sync is set, then rename(2), so a
 * reader sees the old file or the new one, never half of one.  0; -1 if
 * the temporary cannot be created, -2 if a later step failed (the
 * temporary is removed); errno says why.
 */
int		 util_replace_file(const char *path, const void *buf, size_t len,
		    unsigned int mode, int sync);
/* snprintf into a caller's error buffer; always returns -1 for "return errf(...)". */
int		 errf(char *err, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
