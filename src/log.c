/* log.c: leveled messages on stderr, each written with one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level threshold = LOG_WARN;

static const char *const names[] = { "debug", "info", "warn", "error", "off" };

int
log_parse_level(const char *s)
{
	int i;

	for (i = LOG_DEBUG; i <= LOG_OFF; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return LOG_WARN;
	return -1;
}

void
log_set_level(enum log_level l)
{
	threshold = l;
}

int
log_enabled(enum log_level l)
{
	return l >= threshold && threshold != LOG_OFF;
}

/* Format into one buffer so that concurrent writers never interleave a line. */
void
log_msg(enum log_level l, const char *event, const char *fmt, ...)
{
	char line[1024];
	int n, saved = errno;
	va_list ap;
	size_t len;

	if (!log_enabled(l))
		return;
	n = snprintf(line, sizeof(line), "leasewrap: %s: %s: ", names[l],
	    event);
	if (n < 0)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	len = strlen(line);
	/* Keep it one line whatever the message holds. */
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}
