/*
 * util.h: small helpers: durations, names, checked allocation (pure), and
 * replacing a file atomically in a folder no other user can write.
 */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Parse "90", "90s", "5m", "1h30m", "250ms" into milliseconds; -1 if malformed. */
long long	 util_parse_duration_ms(const char *);
/* Format milliseconds as "1h2m3s" (or "250ms") into buf. */
char		*util_format_duration(long long ms, char *buf, size_t len);
/* The first start-up retry line's ", retrying for up to 60s (--start-timeout)". */
char		*util_retry_window(long long ms, char *buf, size_t len);
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
/* A growing buffer ({ NULL, 0, 0 } is empty), NUL-terminated once used. */
struct ubuf {
	char	*p;
	size_t	 len, cap;
};
/* Append n bytes to b; the old storage is wiped when it moves (it may hold secrets). */
void		 util_buf_add(struct ubuf *b, const void *p, size_t n);
/* Wipe and free b's storage; b is empty again. */
void		 util_buf_drop(struct ubuf *b);
/*
 * Replace path with len bytes of buf: a temporary "path.XXXXXX" beside it
 * (mode, close-on-exec), fsync'd when sync is set, then rename(2), so a
 * reader sees the old file or the new one, never half of one; owned by
 * uid:gid unless uid is -1.  0; -1 if the temporary cannot be created,
 * -2 if a later step failed (the temporary is removed); errno says why.
 */
int		 util_replace_file(const char *path, const void *buf, size_t len,
		    unsigned int mode, int sync, long uid, long gid);
/*
 * The message for path when no file can be created beside it (errno e):
 * "PATH": cannot create a file beside it: ...; always -1.
 */
int		 util_no_folder(const char *path, int e, char *err, size_t errlen);
/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 if none starts there. */
size_t		 util_utf8_len(const unsigned char *s);
/* A seed for srandom(): getrandom(2), or pid and time before entropy is ready. */
unsigned int	 util_random_seed(void);
/*
 * s as one shell word into out (NUL-terminated): as it is when it holds
 * only [A-Za-z0-9/_.:@%+=,-], else in single quotes (' as '\'').  Returns
 * the length; a word too long for out is cut short but stays quoted.
 */
size_t		 util_shell_quote(const char *s, char *out, size_t len);
/*
 * May leasewrap write path?  Not when its folder is missing or we cannot
 * create a file there (util_no_folder's message), nor when another user can
 * write it (group or world write, or an owner other than root, us or
 * owner), unless the folder is sticky and path is absent or ours (or
 * owner's; -1: none).  0; -1 with a message starting "PATH": in err.
 */
int		 util_check_output(const char *path, long owner, char *err,
		    size_t errlen);
/*
 * Remove the stale "path.XXXXXX" temporaries of ours (or owner's) that a
 * killed leasewrap left beside path; how many went.
 */
int		 util_sweep_temps(const char *path, long owner);
/* snprintf into a caller's error buffer; always returns -1 for "return errf(...)". */
int		 errf(char *err, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
