/*
 * fuzz_log: log-line rendering (log.c) with hostile messages and fields.
 * Input: one flags byte, 8 bytes of TTL (any double: NaN, 1e300), then
 * NUL-separated event, message, path and lease ID.  Whatever they hold,
 * the line is one line of valid UTF-8 with no control character, and in
 * JSON one object whose fields are all there and hold what was given.
 */
#include "fuzz.h"
#include "log.h"

#include <jansson.h>
#include <time.h>

/* The next NUL-separated part of the input (empty once it runs out). */
static const char *
part(char **p, const char *end)
{
	const char *s = *p;

	if (*p >= end)
		return "";
	*p += strlen(*p) + 1;
	return s;
}

/* One line, UTF-8 (as glibc decodes it), no control character but the end. */
static void
check_line(const char *line, size_t n)
{
	FUZZ_CHECK(n > 0 && line[n - 1] == '\n' && strlen(line) == n);
	fuzz_check_utf8(line, n - 1, 1);
}

/* A JSON line: one object with msg, and path/lease_id when they were given. */
static void
check_json(const char *line, size_t n, const struct log_fields *f)
{
	json_t *o = json_loadb(line, n - 1, 0, NULL);

	FUZZ_CHECK(json_is_object(o));
	FUZZ_CHECK(json_is_string(json_object_get(o, "msg")));
	if (f->path != NULL)
		FUZZ_CHECK(json_is_string(json_object_get(o, "path")));
	if (f->lease != NULL && f->lease[0] != '\0')
		FUZZ_CHECK(json_is_string(json_object_get(o, "lease_id")));
	if (f->status != 0)
		FUZZ_CHECK(json_is_integer(json_object_get(o, "status")));
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LOG_LINE_MAX], *buf, *p, *end;
	struct timespec now = { 1700000000, 123456789 };
	struct log_fields f;
	const char *event, *msg;
	size_t n;
	int js;

	if (size < 9)
		return 0;
	memset(&f, 0, sizeof(f));
	js = data[0] & 1;
	f.has_ttl = (data[0] >> 1) & 1;
	memcpy(&f.ttl, data + 1, sizeof(f.ttl));
	f.status = (data[0] >> 2) & 1 ? 503 : 0;
	f.pid = (data[0] >> 3) & 1 ? 4242 : 0;
	buf = fuzz_str(data + 9, size - 9);
	p = buf;
	end = buf + (size - 9);
	event = part(&p, end);
	msg = part(&p, end);
	f.path = (data[0] >> 4) & 1 ? part(&p, end) : NULL;
	f.lease = part(&p, end);
	n = log_render(line, sizeof(line), js, (enum log_level)(data[0] >> 5),
	    event, &f, msg, &now, 1);
	check_line(line, n);
	if (js)
		check_json(line, n, &f);
	free(buf);
	return 0;
}
