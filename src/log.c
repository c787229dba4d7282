#define _DEFAULT_SOURCE
/* log.c: leveled messages on stderr, each written with one write(2). */
#include "log.h"

#include <errno.h>
#include <math.h>
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

/* Append printf output to out[n..len), keeping a NUL; returns the new n. */
static size_t	append(char *, size_t, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static size_t
append(char *out, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n + 1 >= len)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(out + n, len - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return n;
	return (size_t)r >= len - n ? len - 1 : n + (size_t)r;
}

/* A field's value: quoted as in logfmt when it holds a space, quote or '='. */
static size_t
text_value(char *out, size_t len, size_t n, const char *v)
{
	if (v[0] != '\0' && strpbrk(v, " \"=\\") == NULL) {
		for (; *v != '\0' && n + 2 < len; v++)
			out[n++] = (unsigned char)*v < 0x20 ? '?' : *v;
		return n;
	}
	if (n + 3 >= len)
		return n;
	out[n++] = '"';
	n = json_escape(out, len - 1, n, v);
	out[n++] = '"';
	return n;
}

/* Seconds: whole when whole, else with one decimal. */
static void
fmt_secs(char *buf, size_t len, double s)
{
	if (s == (double)(long long)s)
		snprintf(buf, len, "%lld", (long long)s);
	else
		snprintf(buf, len, "%.1f", s);
}

/* One string field: ` k=v` (text) or `,"k":"v"` (JSON). */
static size_t
str_field(char *out, size_t len, size_t n, const char *k, const char *v,
    int js)
{
	if (!js) {
		n = append(out, len, n, " %s=", k);
		return text_value(out, len, n, v);
	}
	n = append(out, len, n, ",\"%s\":\"", k);
	n = json_escape(out, len, n, v);
	return append(out, len, n, "\"");
}

/* The fields, as ` k=v` (text) or `,"k":v` (JSON). */
static size_t
fields(char *out, size_t len, size_t n, const struct log_fields *f, int js)
{
	char num[32];

	if (f == NULL)
		return n;
	if (f->path != NULL)
		n = str_field(out, len, n, "path", f->path, js);
	if (f->lease != NULL && f->lease[0] != '\0')
		n = str_field(out, len, n, "lease_id", f->lease, js);
	if (f->has_ttl && isfinite(f->ttl)) {
		fmt_secs(num, sizeof(num), f->ttl);
		n = append(out, len, n, js ? ",\"ttl\":%s" : " ttl=%s", num);
	}
	if (f->status != 0)
		n = append(out, len, n, js ? ",\"status\":%ld" : " status=%ld",
		    f->status);
	if (f->pid != 0)
		n = append(out, len, n, js ? ",\"child_pid\":%d" :
		    " child_pid=%d", f->pid);
	return n;
}

/* Format into one buffer so that concurrent writers never interleave a line. */
void
log_at(enum log_level l, const char *event, const struct log_fields *f,
    const char *fmt, ...)
{
	char line[1536], msg[768], ts[40];
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
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* Room for the closing "}\n" or "\n" is kept out of every append. */
	if (json) {
		len = append(line, sizeof(line) - 3, 0, "{\"time\":\"%s.%03ldZ\","
		    "\"level\":\"%s\",\"event\":\"", ts, now.tv_nsec / 1000000,
		    names[l]);
		len = json_escape(line, sizeof(line) - 3, len, event);
		len = append(line, sizeof(line) - 3, len, "\",\"pid\":%d,"
		    "\"msg\":\"", (int)getpid());
		len = json_escape(line, sizeof(line) - 64, len, msg);
		len = append(line, sizeof(line) - 3, len, "\"");
		len = fields(line, sizeof(line) - 3, len, f, 1);
		memcpy(line + len, "}\n", 2);
		len += 2;
	} else {
		len = append(line, sizeof(line) - 1, 0, "%s.%03ldZ leasewrap: "
		    "%s: %s: %s", ts, now.tv_nsec / 1000000, names[l], event, msg);
		len = fields(line, sizeof(line) - 1, len, f, 0);
		line[len++] = '\n';
	}
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}
