/*
 * fuzz_metrics: the Prometheus page (metrics.c) with hostile label values
 * and sample values.  Input: 8 bytes of a gauge value, then two
 * NUL-separated paths.  The page stays UTF-8, every sample one line
 * "name{labels} value", and the ok and error series of each path, and two
 * different paths, stay distinct series.
 */
#include "fuzz.h"
#include "metrics.h"


static double gauge;
static const char *gauge_path;

/* The gauges function: one deadline for the first path. */
static void
gauges(void *arg)
{
	metrics_set(*(struct metrics **)arg, M_DEADLINE, gauge, "path",
	    gauge_path);
}

/* Sample lines of a metric; each is name{...} value with a closed label set. */
static size_t
samples(const char *page, const char *name)
{
	size_t count = 0, nl = strlen(name);
	const char *line, *eol;

	for (line = page; *line != '\0'; line = eol + 1) {
		eol = strchr(line, '\n');
		FUZZ_CHECK(eol != NULL);
		if (strncmp(line, name, nl) != 0 || line[nl] != '{')
			continue;
		/* The label set ends at the last "} " of the line. */
		FUZZ_CHECK(eol - line > 3 && memchr(line, '}', (size_t)(eol -
		    line)) != NULL);
		count++;
	}
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *a, *b, err[128];
	struct metrics *m;
	const char *page;
	size_t len;

	if (size < 8)
		return 0;
	memcpy(&gauge, data, sizeof(gauge));
	buf = fuzz_str(data + 8, size - 8);
	a = buf;
	b = a + strlen(a) < buf + (size - 8) ? a + strlen(a) + 1 : a + strlen(a);
	gauge_path = a;
	m = metrics_new(NULL, NULL, NULL, gauges, &m, err, sizeof(err));
	FUZZ_CHECK(m != NULL);
	metrics_add(m, M_FETCHES, 1, "path", a, "result", "ok");
	metrics_add(m, M_FETCHES, 1, "path", a, "result", "error");
	metrics_add(m, M_FETCHES, 1, "path", b, "result", "ok");
	metrics_add(m, M_LOGINS, 1, "method", a, "result", b);	/* both hostile */
	page = metrics_render(m, &len);
	FUZZ_CHECK(strlen(page) == len);
	fuzz_check_utf8(page, len, 0);
	FUZZ_CHECK(samples(page, "leasewrap_secret_fetches_total") ==
	    (strcmp(a, b) == 0 ? 2u : 3u));
	FUZZ_CHECK(samples(page, "leasewrap_credential_deadline_seconds") == 1);
	FUZZ_CHECK(samples(page, "leasewrap_logins_total") == 1);
	metrics_free(m);
	free(buf);
	return 0;
}
