/* log.h: leveled one-line messages on stderr; callers never pass secrets. */
#ifndef LW_LOG_H
#define LW_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Parse "debug", "info", "warn", "error" or "off"; -1 if unknown. */
int	log_parse_level(const char *);
void	log_set_level(enum log_level);
/* Text lines (default) or one JSON object a line: time, level, event, msg. */
void	log_set_json(int);
int	log_enabled(enum log_level);
/* One line: "leasewrap: <level>: <event>: <message>". */
void	log_msg(enum log_level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...)	log_msg(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)	log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)	log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...)	log_msg(LOG_ERROR, ev, __VA_ARGS__)

#endif
