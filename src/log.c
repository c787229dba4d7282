#define _DEFAULT_SOURCE
/* log.c: leveled messages on stderr, each written with one write(2). */
#include "log.h"
#include "util.h"

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

/*
 * How much of a line each part may take once escaped, so that every part
 * always fits whole in LOG_LINE_MAX: a longer value is cut at a character
 * and ends in "...".
 */
#define EVENT_MAX	64
#define MSG_MAX		1200
#define FIELD_MAX	256

enum esc_mode {
	ESC_MSG,	/* text message: controls as \xHH, the rest as it is */
	ESC_QUOTED,	/* text "value": also \" and \\ */
	ESC_JSON,	/* inside a JSON string */
};

/*
 * Characters a terminal or a line reader acts on: C0, DEL, C1 and the
 * Unicode line and paragraph separators.
 */
static int
is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 ||
	    cp == 0x2029;
}

/*
 * Escape s into out (at most cap bytes, NUL-terminated) so that nothing a
 * terminal or a JSON parser acts on is left: is_control() characters
 * become \xHH per byte (text) or \uHHHH (JSON), a byte that is not UTF-8
 * \xHH or \ufffd, CR and LF in a message spaces.  Returns the length.
 */
static size_t
escape(char *out, size_t cap, const char *in, enum esc_mode mode)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	char unit[8];
	size_t n = 0, ulen, k;

	while (*s != '\0') {
		unsigned cp;

		k = util_utf8_len(s);
		cp = k == 2 ? ((s[0] & 0x1fu) << 6 | (s[1] & 0x3fu)) :
		    k == 3 ? ((s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 |
		    (s[2] & 0x3fu)) : s[0];
		if (k == 0 || is_control(cp)) {
			if (mode != ESC_QUOTED && (cp == '\n' || cp == '\r'))
				ulen = (size_t)snprintf(unit, sizeof(unit), " ");
			else if (mode == ESC_JSON && k == 0)
				ulen = (size_t)snprintf(unit, sizeof(unit),
				    "\\ufffd");
			else if (mode == ESC_JSON)
				ulen = (size_t)snprintf(unit, sizeof(unit),
				    "\\u%c%c%c%c", hex[cp >> 12 & 15],
				    hex[cp >> 8 & 15], hex[cp >> 4 & 15],
				    hex[cp & 15]);
			else
				ulen = (size_t)snprintf(unit, sizeof(unit),
				    "\\x%c%c", hex[s[0] >> 4], hex[s[0] & 15]);
			if (k == 0 || mode != ESC_JSON)
				k = 1;	/* \xe2\x80\xa8: one byte at a time */
		} else if (mode != ESC_MSG && (*s == '"' || *s == '\\')) {
			unit[0] = '\\';
			unit[1] = (char)*s;
			ulen = 2;
		} else {
			memcpy(unit, s, k);
			ulen = k;
		}
		/* Keep room for "..." unless this is the last unit. */
		if (n + ulen + (s[k] != '\0' ? 3 : 0) >= cap) {
			if (n + 3 < cap) {
				memcpy(out + n, "...", 3);
				n += 3;
			}
			break;
		}
		memcpy(out + n, unit, ulen);
		n += ulen;
		s += k;
	}
	if (cap > 0)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}

/* Append len bytes of p to out[*n..size) only if they fit whole. */
static void
put(char *out, size_t size, size_t *n, const char *p, size_t len)
{
	if (*n + len >= size)
		return;
	memcpy(out + *n, p, len);
	*n += len;
}

/* put() of printf output (short, fixed parts only). */
static void	putf(char *, size_t, size_t *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static void
putf(char *out, size_t size, size_t *n, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r > 0 && (size_t)r < sizeof(buf))
		put(out, size, n, buf, (size_t)r);
}

/* A text field's value: bare when it needs no quote, else "escaped". */
static void
text_value(char *out, size_t size, size_t *n, const char *v)
{
	char buf[FIELD_MAX + 8];
	size_t len = escape(buf, FIELD_MAX, v, ESC_MSG);

	if (v[0] != '\0' && strpbrk(v, " \"=\\") == NULL &&
	    strcmp(buf, v) == 0) {
		put(out, size, n, buf, len);
		return;
	}
	buf[0] = '"';
	len = escape(buf + 1, FIELD_MAX, v, ESC_QUOTED);
	buf[len + 1] = '"';
	put(out, size, n, buf, len + 2);
}

/* Seconds: whole when whole, else with one decimal; huge ones as %g. */
static void
fmt_secs(char *buf, size_t len, double s)
{
	if (!(fabs(s) < 1e15))
		snprintf(buf, len, "%.6g", s);
	else if (s == floor(s))
		snprintf(buf, len, "%.0f", s);
	else
		snprintf(buf, len, "%.1f", s);
}

/* One string field: ` k=v` (text) or `,"k":"v"` (JSON), whole or not at all. */
static void
str_field(char *out, size_t size, size_t *n, const char *k, const char *v,
    int js)
{
	char buf[FIELD_MAX + 40];
	size_t len, start = *n;

	if (!js) {
		putf(out, size, n, " %s=", k);
		if (*n == start)
			return;
		len = *n;
		text_value(out, size, n, v);
		if (*n == len)
			*n = start;
		return;
	}
	len = (size_t)snprintf(buf, sizeof(buf), ",\"%s\":\"", k);
	len += escape(buf + len, FIELD_MAX, v, ESC_JSON);
	buf[len++] = '"';
	put(out, size, n, buf, len);
}

/* The fields, as ` k=v` (text) or `,"k":v` (JSON). */
static void
fields(char *out, size_t size, size_t *n, const struct log_fields *f, int js)
{
	char num[40];

	if (f == NULL)
		return;
	if (f->path != NULL)
		str_field(out, size, n, "path", f->path, js);
	if (f->lease != NULL && f->lease[0] != '\0')
		str_field(out, size, n, "lease_id", f->lease, js);
	if (f->has_ttl && isfinite(f->ttl)) {
		fmt_secs(num, sizeof(num), f->ttl);
		putf(out, size, n, js ? ",\"ttl\":%s" : " ttl=%s", num);
	}
	if (f->status != 0)
		putf(out, size, n, js ? ",\"status\":%ld" : " status=%ld",
		    f->status);
	if (f->pid != 0)
		putf(out, size, n, js ? ",\"child_pid\":%d" : " child_pid=%d",
		    f->pid);
}

/*
 * t as "YYYY-MM-DDTHH:MM:SS" in UTC.  By hand: gmtime_r() and strftime()
 * load the local time zone (/etc/localtime) on first use, which no line
 * shows.  The date from the day count is H. Hinnant's civil_from_days
 * ("chrono-Compatible Low-Level Date Algorithms").
 */
static void
utc_stamp(char *out, size_t size, time_t t)
{
	long long days = (long long)t / 86400, secs = (long long)t % 86400;
	long long era, yoe, doe, doy, mp, d, m;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;		/* from 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
	    yoe + era * 400 + (m <= 2), m, d, secs / 3600, secs / 60 % 60,
	    secs % 60);
}

size_t
log_render(char *out, size_t size, int js, enum log_level l,
    const char *event, const struct log_fields *f, const char *msg,
    const struct timespec *now, int pid)
{
	char ts[128], ev[EVENT_MAX + 4], m[MSG_MAX + 4];
	size_t n = 0, evlen, mlen;

	if (size < LOG_LINE_MAX)
		return 0;
	if ((unsigned)l > LOG_ERROR)
		l = LOG_ERROR;
	utc_stamp(ts, sizeof(ts), now->tv_sec);
	/* size - 2: room for the closing "}\n" or "\n" is always kept. */
	size -= 2;
	if (js) {
		evlen = escape(ev, EVENT_MAX, event, ESC_JSON);
		mlen = escape(m, MSG_MAX, msg, ESC_JSON);
		putf(out, size, &n, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\","
		    "\"event\":\"", ts, now->tv_nsec / 1000000 % 1000, names[l]);
		put(out, size, &n, ev, evlen);
		putf(out, size, &n, "\",\"pid\":%d,\"msg\":\"", pid);
		put(out, size, &n, m, mlen);
		put(out, size, &n, "\"", 1);
		fields(out, size, &n, f, 1);
		out[n++] = '}';
	} else {
		evlen = escape(ev, EVENT_MAX, event, ESC_MSG);
		mlen = escape(m, MSG_MAX, msg, ESC_MSG);
		putf(out, size, &n, "%s.%03ldZ leasewrap: %s: ", ts,
		    now->tv_nsec / 1000000 % 1000, names[l]);
		put(out, size, &n, ev, evlen);
		put(out, size, &n, ": ", 2);
		put(out, size, &n, m, mlen);
		fields(out, size, &n, f, 0);
	}
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

/* Format into one buffer so that concurrent writers never interleave a line. */
void
log_at(enum log_level l, const char *event, const struct log_fields *f,
    const char *fmt, ...)
{
	char line[LOG_LINE_MAX], msg[1024];
	int saved = errno;
	struct timespec now;
	va_list ap;
	size_t len;

	if (!log_enabled(l))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	len = log_render(line, sizeof(line), json, l, event, f, msg, &now,
	    (int)getpid());
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}
