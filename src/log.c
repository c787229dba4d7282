#define _DEFAULT_SOURCE
/* log.c: leveled messages on stderr, each written with one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level threshold = LOG_WARN;
static int json;

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

void
log_set_json(int on)
{
	json = on;
}

int
log_enabled(enum log_level l)
{
	return l >= threshold && threshold != LOG_OFF;
}

/* Append s to out as the inside of a JSON string. */
static size_t
json_escape(char *out, size_t len, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0' && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else
			out[n++] = (char)c;
	}
	return n;
}

/* Format into one buffer so that concurrent writers never interleave a line. */
void
log_msg(enum log_level l, const char *event, const char *fmt, ...)
{
	char line[1024], msg[768], ts[40];
	int saved = errno;
	struct timespec now;
	struct tm tm;
	va_list ap;
	size_t len, i;

	if (!log_enabled(l))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keep it one line whatever the message holds. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	if (json) {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		len = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\","
		    "\"level\":\"%s\",\"event\":\"", ts, now.tv_nsec / 1000000,
		    names[l]);
		len = json_escape(line, sizeof(line), len, event);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "\",\"pid\":%d,\"msg\":\"", (int)getpid());
		len = json_escape(line, sizeof(line) - 3, len, msg);
		memcpy(line + len, "\"}\n", 3);
		len += 3;
	} else {
		snprintf(line, sizeof(line), "leasewrap: %s: %s: %s", names[l],
		    event, msg);
		len = strlen(line);
		if (len >= sizeof(line) - 1)
			len = sizeof(line) - 2;
		line[len++] = '\n';
	}
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}
