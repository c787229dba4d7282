/* log.h: leveled one-line messages on stderr; callers never pass secrets. */
#ifndef LW_LOG_H
#define LW_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/*
 * Fields a line may carry besides its message; all are optional (zero: none).
 * None of them is ever secret: a path, a lease ID, a TTL, an HTTP status
 * or a child's pid.
 */
struct log_fields {
	const char	*path;		/* a Vault path */
	const char	*lease;		/* a lease ID */
	long		 status;	/* an HTTP status */
	int		 pid;		/* the command's (or a leftover's) pid */
	int		 has_ttl;
	double		 ttl;		/* seconds */
};

/* LF(.path = p, LF_TTL(t)): a pointer to fields for log_at(). */
#define LF(...)		(&(const struct log_fields){ __VA_ARGS__ })
#define LF_TTL(x)	.has_ttl = 1, .ttl = (x)

/* Parse "debug", "info", "warn", "error" or "off"; -1 if unknown. */
int	log_parse_level(const char *);
/* Print messages at this level and above. */
void	log_set_level(enum log_level);
/* Text lines (default) or one JSON object a line. */
void	log_set_json(int);
/* Would a message at this level be printed? */
int	log_enabled(enum log_level);
/*
 * One line.  Text: "<time> leasewrap: <level>: <event>: <message> k=v ...";
 * JSON: {"time", "level", "event", "pid", "msg", then the fields}.
 */
void	log_at(enum log_level, const char *event, const struct log_fields *,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The longest line log_render() writes, its newline and NUL included. */
#define LOG_LINE_MAX	2304

struct timespec;
/*
 * The line log_at() writes, into out (size >= LOG_LINE_MAX, else 0 is
 * returned): always one line ending in "\n", valid UTF-8, no control
 * character, and in JSON one valid object.  Pure: the fuzzer's target.
 */
size_t	log_render(char *out, size_t size, int json, enum log_level,
	    const char *event, const struct log_fields *, const char *msg,
	    const struct timespec *now, int pid);

#define log_msg(l, ev, ...)	log_at(l, ev, (const struct log_fields *)0, \
				    __VA_ARGS__)
#define log_debug(ev, ...)	log_msg(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)	log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)	log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...)	log_msg(LOG_ERROR, ev, __VA_ARGS__)

#endif
