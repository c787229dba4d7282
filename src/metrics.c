#define _GNU_SOURCE
/*
 * metrics.c: Prometheus metrics.  Counters and gauges live in one small
 * table of series; the page is rendered on demand for a scrape, and to a
 * file that is replaced by rename.  The HTTP side is libmicrohttpd in its
 * external-epoll mode: its one epoll descriptor is an ev_io on our loop,
 * so no thread and no lock.
 */
#include "metrics.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <microhttpd.h>

static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
} descs[M_COUNT] = {
	[M_BUILD_INFO] = { "leasewrap_build_info", "gauge",
	    "leasewrap's version, as a label; always 1" },
	[M_DEADLINE] = { "leasewrap_credential_deadline_seconds", "gauge",
	    "Seconds until the credentials from this path end (lease or token)" },
	[M_DEADLINE_TS] = { "leasewrap_credential_deadline_timestamp_seconds",
	    "gauge", "When the credentials from this path end, Unix time" },
	[M_TOKEN_DEADLINE] = { "leasewrap_token_deadline_seconds", "gauge",
	    "Seconds until leasewrap's Vault token expires" },
	[M_LEASES] = { "leasewrap_leases_held", "gauge",
	    "Vault leases leasewrap holds now, not yet revoked" },
	[M_CHILD_UP] = { "leasewrap_child_running", "gauge",
	    "1 while the command runs" },
	[M_FETCHES] = { "leasewrap_secret_fetches_total", "counter",
	    "Secret reads by path and result (ok or error)" },
	[M_RENEWALS] = { "leasewrap_lease_renewals_total", "counter",
	    "Lease renewals by path and result (ok or error)" },
	[M_REVOCATIONS] = { "leasewrap_lease_revocations_total", "counter",
	    "Lease revocations by result (ok or error)" },
	[M_LOGINS] = { "leasewrap_logins_total", "counter",
	    "Vault logins by auth method and result (ok or error)" },
	[M_TOKEN_RENEWALS] = { "leasewrap_token_renewals_total", "counter",
	    "Renewals of leasewrap's token by result (ok or error)" },
	[M_CHILD_STARTS] = { "leasewrap_child_starts_total", "counter",
	    "Command starts by reason: initial, rotation (new credentials) "
	    "or exit (--restart after it exited)" },
	[M_CHILD_SIGNALS] = { "leasewrap_child_signals_total", "counter",
	    "Signals sent to the command for new credentials "
	    "(--on-change signal)" },
	[M_REQUESTS] = { "leasewrap_vault_requests_total", "counter",
	    "Vault requests by HTTP status code (\"error\": no answer)" },
	[M_LATENCY] = { "leasewrap_vault_request_duration_seconds",
	    "histogram", "Vault request latency" },
};

struct series {
	enum metric	 m;
	char		 labels[320];	/* rendered: k="v",k="v" */
	double		 v;
	int		 set;		/* gauges: set since the last begin */
};

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10 };
#define NBOUNDS	(sizeof(bounds) / sizeof(bounds[0]))

static struct {
	struct series	*series;
	size_t		 n, cap;
	unsigned long	 buckets[NBOUNDS];	/* not cumulative */
	unsigned long	 count;
	double		 sum;
	char		*page;
	size_t		 len, pagecap;
	struct ev_loop	*loop;
	metrics_gauges_fn gauges;
	void		*arg;
	char		*file;
	int		 file_failing;
	ev_timer	 tick;		/* file rewrites */
	struct MHD_Daemon *mhd;
	ev_io		 mhd_io;
	ev_timer	 mhd_timer;
} M;

/* Append label k="v" to out, escaped as the text format wants. */
static size_t
label(char *out, size_t len, size_t n, const char *k, const char *v)
{
	if (n > 0 && n + 1 < len)
		out[n++] = ',';
	for (; *k != '\0' && n + 1 < len; k++)
		out[n++] = *k;
	if (n + 2 < len) {
		out[n++] = '=';
		out[n++] = '"';
	}
	for (; *v != '\0' && n + 4 < len; v++) {
		if (*v == '\\' || *v == '"') {
			out[n++] = '\\';
			out[n++] = *v;
		} else if (*v == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else
			out[n++] = *v;
	}
	if (n + 1 < len)
		out[n++] = '"';
	out[n] = '\0';
	return n;
}

static struct series *
find(enum metric m, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	char labels[sizeof(M.series[0].labels)];
	size_t i, n = 0;

	labels[0] = '\0';
	if (k1 != NULL)
		n = label(labels, sizeof(labels), n, k1, v1);
	if (k2 != NULL)
		(void)label(labels, sizeof(labels), n, k2, v2);
	for (i = 0; i < M.n; i++)
		if (M.series[i].m == m && strcmp(M.series[i].labels, labels) == 0)
			return &M.series[i];
	if (M.n == M.cap) {
		M.cap = M.cap ? M.cap * 2 : 32;
		M.series = xrealloc(M.series, M.cap * sizeof(*M.series));
	}
	memset(&M.series[M.n], 0, sizeof(M.series[0]));
	M.series[M.n].m = m;
	memcpy(M.series[M.n].labels, labels, sizeof(labels));
	return &M.series[M.n++];
}

void
metrics_add(enum metric m, double v, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	struct series *s;

	if (M.loop == NULL)
		return;		/* not exporting */
	s = find(m, k1, v1, k2, v2);
	s->v += v;
	s->set = 1;
	metrics_changed();
}

void
metrics_set(enum metric m, double v, const char *k1, const char *v1)
{
	struct series *s;

	if (M.loop == NULL)
		return;
	s = find(m, k1, v1, NULL, NULL);
	s->v = v;
	s->set = 1;
}

void
metrics_request(long status, double seconds)
{
	char code[24];
	size_t i;

	if (M.loop == NULL)
		return;
	if (status > 0)
		snprintf(code, sizeof(code), "%ld", status);
	else
		snprintf(code, sizeof(code), "error");
	for (i = 0; i < NBOUNDS; i++)
		if (seconds <= bounds[i]) {
			M.buckets[i]++;
			break;
		}
	M.count++;
	M.sum += seconds;
	metrics_add(M_REQUESTS, 1, "code", code, NULL, NULL);
}

/* Append to the page buffer. */
static void	put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
put(const char *fmt, ...)
{
	va_list ap;
	int r;

	for (;;) {
		if (M.pagecap - M.len < 256 || M.page == NULL) {
			M.pagecap = M.pagecap ? M.pagecap * 2 : 4096;
			M.page = xrealloc(M.page, M.pagecap);
		}
		va_start(ap, fmt);
		r = vsnprintf(M.page + M.len, M.pagecap - M.len, fmt, ap);
		va_end(ap);
		if (r >= 0 && (size_t)r < M.pagecap - M.len) {
			M.len += (size_t)r;
			return;
		}
		M.pagecap *= 2;
		M.page = xrealloc(M.page, M.pagecap);
	}
}

/* A sample value: whole numbers without a fraction. */
static void
put_value(double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		put(" %.0f\n", v);
	else
		put(" %.6f\n", v);
}

const char *
metrics_render(size_t *len)
{
	unsigned long cum;
	size_t i, j;

	for (i = 0; i < M.n; i++)
		if (strcmp(descs[M.series[i].m].type, "gauge") == 0)
			M.series[i].set = 0;
	metrics_set(M_BUILD_INFO, 1, "version", LW_VERSION);
	if (M.gauges != NULL)
		M.gauges(M.arg);
	M.len = 0;
	for (i = 0; i < M_COUNT; i++) {
		put("# HELP %s %s\n# TYPE %s %s\n", descs[i].name,
		    descs[i].help, descs[i].name, descs[i].type);
		if (i == M_LATENCY) {
			for (j = 0, cum = 0; j < NBOUNDS; j++) {
				cum += M.buckets[j];
				put("%s_bucket{le=\"%g\"} %lu\n", descs[i].name,
				    bounds[j], cum);
			}
			put("%s_bucket{le=\"+Inf\"} %lu\n", descs[i].name,
			    M.count);
			put("%s_sum", descs[i].name);
			put_value(M.sum);
			put("%s_count %lu\n", descs[i].name, M.count);
			continue;
		}
		for (j = 0; j < M.n; j++) {
			const struct series *s = &M.series[j];

			if (s->m != (enum metric)i || !s->set)
				continue;
			if (s->labels[0] != '\0')
				put("%s{%s}", descs[i].name, s->labels);
			else
				put("%s", descs[i].name);
			put_value(s->v);
		}
	}
	*len = M.len;
	return M.page;
}

/* ---- the file -------------------------------------------------------- */

/* Replace the file: a hidden temporary beside it, then rename. */
static int
write_file(void)
{
	char *tmp, *slash;
	const char *page;
	size_t len, off = 0, tlen;
	ssize_t w;
	int fd, saved;

	page = metrics_render(&len);
	tlen = strlen(M.file) + 16;
	tmp = xmalloc(tlen);
	if ((slash = strrchr(M.file, '/')) != NULL)
		snprintf(tmp, tlen, "%.*s/.%s.XXXXXX", (int)(slash - M.file),
		    M.file, slash + 1);
	else
		snprintf(tmp, tlen, ".%s.XXXXXX", M.file);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		saved = errno;
		free(tmp);
		errno = saved;
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, page + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, M.file) == -1) {
		fd = -1;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

static void
file_now(void)
{
	if (write_file() == -1) {
		if (!M.file_failing)
			log_warn("metrics", "cannot write \"%s\": %s; will try "
			    "again", M.file, strerror(errno));
		M.file_failing = 1;
	} else
		M.file_failing = 0;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	file_now();
}

/* Rewritten at most every 0.25 s after a change, and every 15 s anyway. */
#define FILE_SOON	0.25
#define FILE_EVERY	15.0

void
metrics_changed(void)
{
	if (M.file == NULL || M.loop == NULL)
		return;
	if (ev_is_active(&M.tick) &&
	    ev_timer_remaining(M.loop, &M.tick) <= FILE_SOON)
		return;
	ev_timer_stop(M.loop, &M.tick);
	ev_timer_set(&M.tick, FILE_SOON, FILE_EVERY);
	ev_timer_start(M.loop, &M.tick);
}

/* ---- HTTP ------------------------------------------------------------ */

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned int code, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	static const char notfound[] = "not found: leasewrap serves /metrics\n";
	static const char badmethod[] = "method not allowed: use GET\n";
	static const char home[] = "leasewrap: metrics at /metrics\n";
	const char *page;
	size_t len;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {		/* headers only so far */
		*state = conn;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;	/* a body is read and dropped */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
		    badmethod, sizeof(badmethod) - 1);
	if (strcmp(url, "/metrics") == 0) {
		page = metrics_render(&len);
		return answer(conn, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8", page, len);
	}
	if (strcmp(url, "/") == 0)
		return answer(conn, MHD_HTTP_OK, text, home,
		    sizeof(home) - 1);
	return answer(conn, MHD_HTTP_NOT_FOUND, text, notfound,
	    sizeof(notfound) - 1);
}

/* Run MHD, then wake again when it says it must run next. */
static void
mhd_run(void)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(M.mhd);
	ev_timer_stop(M.loop, &M.mhd_timer);
	if (MHD_get_timeout(M.mhd, &ms) == MHD_YES) {
		ev_timer_set(&M.mhd_timer, (double)ms / 1000.0, 0.);
		ev_timer_start(M.loop, &M.mhd_timer);
	}
}

static void
mhd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	mhd_run();
}

static void
mhd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	mhd_run();
}

/* A listening socket for "HOST:PORT", "[V6]:PORT" or ":PORT"; -1 on error. */
static int
listen_on(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *h, *port;
	size_t hl;
	int fd, e, one = 1;

	if ((colon = strrchr(addr, ':')) == NULL || colon[1] == '\0') {
		snprintf(err, errlen, "--metrics-addr \"%.80s\": expected "
		    "HOST:PORT, like 127.0.0.1:9437 or :9437", addr);
		return -1;
	}
	h = addr;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "--metrics-addr: host name too long");
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	port = colon + 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(hl ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "--metrics-addr \"%.80s\": %s", addr,
		    gai_strerror(e));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, res->ai_protocol);
	if (fd != -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
	if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "--metrics-addr \"%.80s\": %s; choose "
		    "another address or port", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
metrics_start(struct ev_loop *loop, const char *file, const char *addr,
    metrics_gauges_fn gauges, void *arg, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	int fd;

	M.loop = loop;
	M.gauges = gauges;
	M.arg = arg;
	if (file != NULL) {
		M.file = xstrdup(file);
		if (write_file() == -1) {
			snprintf(err, errlen, "--metrics-file \"%.200s\": %s; "
			    "check that its folder exists and is writable",
			    file, strerror(errno));
			free(M.file);
			M.file = NULL;
			return -1;
		}
		ev_timer_init(&M.tick, tick_cb, FILE_EVERY, FILE_EVERY);
		ev_timer_start(loop, &M.tick);
	}
	if (addr == NULL)
		return 0;
	if ((fd = listen_on(addr, err, errlen)) == -1)
		return -1;
	M.mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_END);
	if (M.mhd == NULL ||
	    (info = MHD_get_daemon_info(M.mhd, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL) {
		snprintf(err, errlen, "--metrics-addr \"%.80s\": cannot start "
		    "the HTTP server", addr);
		if (M.mhd != NULL)
			MHD_stop_daemon(M.mhd);
		M.mhd = NULL;
		close(fd);
		return -1;
	}
	ev_io_init(&M.mhd_io, mhd_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(loop, &M.mhd_io);
	ev_timer_init(&M.mhd_timer, mhd_timer_cb, 0., 0.);
	return 0;
}

void
metrics_stop(void)
{
	if (M.loop == NULL)
		return;
	if (M.mhd != NULL) {
		ev_io_stop(M.loop, &M.mhd_io);
		ev_timer_stop(M.loop, &M.mhd_timer);
		MHD_stop_daemon(M.mhd);	/* closes the listening socket too */
		M.mhd = NULL;
	}
	if (M.file != NULL) {
		ev_timer_stop(M.loop, &M.tick);
		file_now();
		free(M.file);
		M.file = NULL;
	}
	free(M.series);
	free(M.page);
	memset(&M, 0, sizeof(M));
}
