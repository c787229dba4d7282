#define _GNU_SOURCE
/*
 * metrics.c: Prometheus metrics.  Counters and gauges live in one small
 * table of series; the page is rendered on demand for a scrape, and to a
 * file that is replaced by rename.  The HTTP side is libmicrohttpd in its
 * external-epoll mode: its one epoll descriptor is an ev_io on our loop,
 * so no thread and no lock.
 */
#include "metrics.h"
#include "dl.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	    "Seconds until the credentials from this path end (lease or "
	    "token)" },
	[M_DEADLINE_TS] = { "leasewrap_credential_deadline_timestamp_seconds",
	    "gauge", "When the credentials from this path end, Unix time" },
	[M_TOKEN_DEADLINE] = { "leasewrap_token_deadline_seconds", "gauge",
	    "Seconds until leasewrap's Vault token expires" },
	[M_LEASES] = { "leasewrap_leases_held", "gauge",
	    "Vault leases leasewrap holds now, not yet revoked "
	    "(certificates have no lease: not counted)" },
	[M_CHILD_UP] = { "leasewrap_child_running", "gauge",
	    "1 while the command runs" },
	[M_FETCHES] = { "leasewrap_secret_fetches_total", "counter",
	    "Secret reads by path and result (ok or error)" },
	[M_RENEWALS] = { "leasewrap_lease_renewals_total", "counter",
	    "Lease renewals by path and result (ok or error)" },
	[M_REVOCATIONS] = { "leasewrap_lease_revocations_total", "counter",
	    "Lease and certificate revocations by result (ok or error)" },
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
	char		*labels;	/* rendered: k="v",k="v" */
	double		 v;
	int		 set;		/* gauges: set since the last begin */
};

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10 };
#define NBOUNDS	(sizeof(bounds) / sizeof(bounds[0]))

/* One open HTTP connection: its socket and when its current request began. */
struct client {
	struct client	*next;
	int		 fd;
	int		 cut;		/* shut down, waiting for MHD to close */
	double		 since;
};

struct metrics {
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
	struct client	*clients;	/* open connections, newest first */
	ev_timer	 sweep;		/* cuts connections past HTTP_DEADLINE */
};

/*
 * A label value longer than this is cut (at a character) and ends in
 * "...~" and a hash of the whole value, so that two long paths stay two
 * series and the page stays small; one that is not UTF-8 ends in "~" and
 * the hash.
 */
#define LABEL_MAX	256
/* Both labels of a series, rendered: a value's byte takes 3 at most (U+FFFD). */
#define LABELS_MAX	(2 * (32 + 3 * LABEL_MAX + 32))

/* FNV-1a, 64 bits: tells long label values apart. */
static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The new length after snprintf returned r at out[n..len): never past len - 1. */
static size_t
fit(size_t len, size_t n, int r)
{
	if (r < 0)
		return n;
	return (size_t)r >= len - n ? len - 1 : n + (size_t)r;
}

/*
 * Append label k="v" to out[n..len) as the text format wants: \\, \" and
 * \n escaped, a byte that is not UTF-8 as U+FFFD (the page must be UTF-8).
 */
static size_t
label(char *out, size_t len, size_t n, const char *k, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t used = 0, c;
	int cut = strlen(v) > LABEL_MAX, mark = cut;

	for (; *p != '\0' && !mark; p += c)
		if ((c = util_utf8_len(p)) == 0)
			mark = 1;	/* U+FFFD would merge two values */
	p = (const unsigned char *)v;

	n = fit(len, n, snprintf(out + n, len - n, "%s%s=\"", n > 0 ? "," : "",
	    k));
	for (; *p != '\0' && n + 8 < len; p += c ? c : 1) {
		c = util_utf8_len(p);
		if (cut && used + (c ? c : 1) > LABEL_MAX - 24)
			break;
		used += c ? c : 1;
		if (c == 0) {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
		} else if (*p == '\\' || *p == '"' || *p == '\n') {
			out[n++] = '\\';
			out[n++] = *p == '\n' ? 'n' : (char)*p;
		} else {
			memcpy(out + n, p, c);
			n += c;
		}
	}
	if (mark)
		n = fit(len, n, snprintf(out + n, len - n, "%s~%016llx",
		    cut ? "..." : "", (unsigned long long)fnv1a(v)));
	if (n + 1 < len)
		out[n++] = '"';
	out[n] = '\0';
	return n;
}

/* The series of metric id with these labels; a new one starts at 0. */
static struct series *
find(struct metrics *m, enum metric id, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	char labels[LABELS_MAX];
	size_t i, n = 0;

	labels[0] = '\0';
	if (k1 != NULL && v1 != NULL)
		n = label(labels, sizeof(labels), n, k1, v1);
	if (k2 != NULL && v2 != NULL)
		(void)label(labels, sizeof(labels), n, k2, v2);
	for (i = 0; i < m->n; i++)
		if (m->series[i].m == id &&
		    strcmp(m->series[i].labels, labels) == 0)
			return &m->series[i];
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->series = xrealloc(m->series, m->cap * sizeof(*m->series));
	}
	memset(&m->series[m->n], 0, sizeof(m->series[0]));
	m->series[m->n].m = id;
	m->series[m->n].labels = xstrdup(labels);
	return &m->series[m->n++];
}

void
metrics_add(struct metrics *m, enum metric id, double v, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	struct series *s;

	if (m == NULL)
		return;		/* not exporting */
	s = find(m, id, k1, v1, k2, v2);
	s->v += v;
	s->set = 1;
	metrics_changed(m);
}

void
metrics_set(struct metrics *m, enum metric id, double v, const char *k1,
    const char *v1)
{
	struct series *s;

	if (m == NULL)
		return;
	s = find(m, id, k1, v1, NULL, NULL);
	s->v = v;
	s->set = 1;
}

void
metrics_request(struct metrics *m, long status, double seconds)
{
	char code[24];
	size_t i;

	if (m == NULL)
		return;
	if (status > 0)
		snprintf(code, sizeof(code), "%ld", status);
	else
		snprintf(code, sizeof(code), "error");
	for (i = 0; i < NBOUNDS; i++)
		if (seconds <= bounds[i]) {
			m->buckets[i]++;
			break;
		}
	m->count++;
	m->sum += seconds;
	metrics_add(m, M_REQUESTS, 1, "code", code, NULL, NULL);
}

/* Append to the page buffer. */
static void	put(struct metrics *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static void
put(struct metrics *m, const char *fmt, ...)
{
	va_list ap;
	int r;

	for (;;) {
		if (m->pagecap - m->len < 256 || m->page == NULL) {
			m->pagecap = m->pagecap ? m->pagecap * 2 : 4096;
			m->page = xrealloc(m->page, m->pagecap);
		}
		va_start(ap, fmt);
		r = vsnprintf(m->page + m->len, m->pagecap - m->len, fmt, ap);
		va_end(ap);
		if (r >= 0 && (size_t)r < m->pagecap - m->len) {
			m->len += (size_t)r;
			return;
		}
		m->pagecap *= 2;
		m->page = xrealloc(m->page, m->pagecap);
	}
}

/* A sample value: whole numbers without a fraction. */
static void
put_value(struct metrics *m, double v)
{
	if (isnan(v))
		put(m, " NaN\n");
	else if (isinf(v))
		put(m, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		put(m, " %.0f\n", v);
	else if (fabs(v) < 1e15)
		put(m, " %.6f\n", v);
	else
		put(m, " %.17g\n", v);
}

const char *
metrics_render(struct metrics *m, size_t *len)
{
	unsigned long cum;
	size_t i, j;

	for (i = 0; i < m->n; i++)
		if (strcmp(descs[m->series[i].m].type, "gauge") == 0)
			m->series[i].set = 0;
	metrics_set(m, M_BUILD_INFO, 1, "version", LW_VERSION);
	if (m->gauges != NULL)
		m->gauges(m->arg);
	m->len = 0;
	for (i = 0; i < M_COUNT; i++) {
		put(m, "# HELP %s %s\n# TYPE %s %s\n", descs[i].name,
		    descs[i].help, descs[i].name, descs[i].type);
		if (i == M_LATENCY) {
			for (j = 0, cum = 0; j < NBOUNDS; j++) {
				cum += m->buckets[j];
				put(m, "%s_bucket{le=\"%g\"} %lu\n", descs[i].name,
				    bounds[j], cum);
			}
			put(m, "%s_bucket{le=\"+Inf\"} %lu\n", descs[i].name,
			    m->count);
			put(m, "%s_sum", descs[i].name);
			put_value(m, m->sum);
			put(m, "%s_count %lu\n", descs[i].name, m->count);
			continue;
		}
		for (j = 0; j < m->n; j++) {
			const struct series *s = &m->series[j];

			if (s->m != (enum metric)i || !s->set)
				continue;
			if (s->labels[0] != '\0')
				put(m, "%s{%s}", descs[i].name, s->labels);
			else
				put(m, "%s", descs[i].name);
			put_value(m, s->v);
		}
	}
	*len = m->len;
	return m->page;
}

/* ---- the file -------------------------------------------------------- */

/* Replace the file with the page (no fsync: the loop must not block). */
static int
write_file(struct metrics *m)
{
	const char *page;
	size_t len;

	page = metrics_render(m, &len);
	return util_replace_file(m->file, page, len, 0644, 0, -1, -1) == 0 ? 0 : -1;
}

/* Write the file now; a failure is logged once until a write works again. */
static void
file_now(struct metrics *m)
{
	if (write_file(m) == -1) {
		if (!m->file_failing)
			log_warn("metrics", "cannot write \"%s\": %s; will try "
			    "again", m->file, strerror(errno));
		m->file_failing = 1;
	} else
		m->file_failing = 0;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	file_now(w->data);
}

/* Rewritten at most every 0.25 s after a change, and every 15 s anyway. */
#define FILE_SOON	0.25
#define FILE_EVERY	15.0

void
metrics_changed(struct metrics *m)
{
	if (m == NULL || m->file == NULL || m->loop == NULL)
		return;
	if (ev_is_active(&m->tick) &&
	    ev_timer_remaining(m->loop, &m->tick) <= FILE_SOON)
		return;
	ev_timer_stop(m->loop, &m->tick);
	ev_timer_set(&m->tick, FILE_SOON, FILE_EVERY);
	ev_timer_start(m->loop, &m->tick);
}

/* ---- HTTP ------------------------------------------------------------ */

/* Queue one whole response: code, content type and a copy of body. */
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

/*
 * Limits that keep slow or many clients from locking a scraper out: how
 * many connections in all and from one address, how long one may stay
 * silent (MHD's idle timeout) and how long a request may take from its
 * connection's start or the previous answer, however it trickles bytes.
 */
#define HTTP_MAX_CONNS	32
#define HTTP_PER_CLIENT	4
#define HTTP_IDLE	5
#define HTTP_DEADLINE	10.0

/* The connection's bookkeeping (NULL if MHD gives none). */
static struct client *
client_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/*
 * GET or HEAD /metrics (and / for a pointer to it); anything else 404/405.
 * Answered as soon as the headers are in: a body is never waited for (MHD
 * then closes the connection), so trickling one holds nothing.
 */
static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	static const char notfound[] = "not found: leasewrap serves /metrics\n";
	static const char badmethod[] = "method not allowed: use GET\n";
	static const char home[] = "leasewrap: metrics at /metrics\n";
	struct metrics *m = cls;
	struct client *c;
	const char *page;
	size_t len;

	(void)version;
	(void)upload;
	if (*state != NULL) {		/* a body we did not wait for */
		*upload_size = 0;
		return MHD_YES;
	}
	*state = conn;
	if ((c = client_of(conn)) != NULL && m->loop != NULL)
		c->since = ev_now(m->loop);	/* the next request's clock */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
		    badmethod, sizeof(badmethod) - 1);
	if (strcmp(url, "/metrics") == 0) {
		page = metrics_render(m, &len);
		return answer(conn, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8", page, len);
	}
	if (strcmp(url, "/") == 0)
		return answer(conn, MHD_HTTP_OK, text, home,
		    sizeof(home) - 1);
	return answer(conn, MHD_HTTP_NOT_FOUND, text, notfound,
	    sizeof(notfound) - 1);
}

/* Arm the sweep for the oldest connection not yet cut. */
static void
sweep_arm(struct metrics *m)
{
	double next = -1, now = ev_now(m->loop);
	struct client *c;

	for (c = m->clients; c != NULL; c = c->next)
		if (!c->cut && (next < 0 || c->since < next))
			next = c->since;
	ev_timer_stop(m->loop, &m->sweep);
	if (next < 0)
		return;
	next = next + HTTP_DEADLINE - now;
	ev_timer_set(&m->sweep, next > 0.05 ? next : 0.05, 0.);
	ev_timer_start(m->loop, &m->sweep);
}

/* MHD opened or closed a connection: keep the list for the sweep. */
static void
notify_cb(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct metrics *m = cls;
	struct client *c, **pp;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		c = xcalloc(1, sizeof(*c));
		c->fd = ci->connect_fd;
		c->since = ev_now(m->loop);
		c->next = m->clients;
		m->clients = c;
		*ctx = c;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *ctx != NULL) {
		for (pp = &m->clients; *pp != NULL; pp = &(*pp)->next)
			if (*pp == *ctx) {
				*pp = (*pp)->next;
				break;
			}
		free(*ctx);
		*ctx = NULL;
	}
	sweep_arm(m);
}

/* Run MHD, then wake again when it says it must run next. */
static void
mhd_run(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(m->mhd);
	ev_timer_stop(m->loop, &m->mhd_timer);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES) {
		ev_timer_set(&m->mhd_timer, (double)ms / 1000.0, 0.);
		ev_timer_start(m->loop, &m->mhd_timer);
	}
}

static void
mhd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	mhd_run(w->data);
}

static void
mhd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	mhd_run(w->data);
}

/* Shut down the connections past their deadline; MHD then closes them. */
static void
sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct metrics *m = w->data;
	struct client *c;

	(void)revents;
	for (c = m->clients; c != NULL; c = c->next)
		if (!c->cut && ev_now(loop) - c->since >= HTTP_DEADLINE) {
			(void)shutdown(c->fd, SHUT_RDWR);
			c->cut = 1;
		}
	mhd_run(m);
	sweep_arm(m);
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
	    listen(fd, 64) == -1) {
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

struct metrics *
metrics_new(struct ev_loop *loop, const char *file, const char *addr,
    metrics_gauges_fn gauges, void *arg, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	int fd;

	m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->gauges = gauges;
	m->arg = arg;
	if (file != NULL) {
		m->file = xstrdup(file);
		if (write_file(m) == -1) {
			snprintf(err, errlen, "--metrics-file \"%.200s\": %s; "
			    "check that its folder exists and is writable",
			    file, strerror(errno));
			metrics_free(m);
			return NULL;
		}
		ev_timer_init(&m->tick, tick_cb, FILE_EVERY, FILE_EVERY);
		m->tick.data = m;
		if (loop != NULL)
			ev_timer_start(loop, &m->tick);
	}
	if (addr == NULL)
		return m;
	if (dl_mhd(err, errlen) == -1 ||
	    (fd = listen_on(addr, err, errlen)) == -1) {
		metrics_free(m);
		return NULL;
	}
	ev_timer_init(&m->sweep, sweep_cb, 0., 0.);
	m->sweep.data = m;
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handler, m,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_PER_CLIENT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_cb, m,
	    MHD_OPTION_END);
	if (m->mhd == NULL ||
	    (info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL) {
		snprintf(err, errlen, "--metrics-addr \"%.80s\": cannot start "
		    "the HTTP server", addr);
		if (m->mhd == NULL)
			close(fd);
		metrics_free(m);
		return NULL;
	}
	ev_io_init(&m->mhd_io, mhd_io_cb, info->epoll_fd, EV_READ);
	m->mhd_io.data = m;
	ev_io_start(loop, &m->mhd_io);
	ev_timer_init(&m->mhd_timer, mhd_timer_cb, 0., 0.);
	m->mhd_timer.data = m;
	return m;
}

void
metrics_free(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->mhd != NULL) {
		ev_io_stop(m->loop, &m->mhd_io);
		ev_timer_stop(m->loop, &m->mhd_timer);
		ev_timer_stop(m->loop, &m->sweep);
		MHD_stop_daemon(m->mhd);	/* closes the listening socket */
		while (m->clients != NULL) {
			struct client *c = m->clients;

			m->clients = c->next;
			free(c);
		}
	}
	if (m->file != NULL) {
		if (m->loop != NULL)
			ev_timer_stop(m->loop, &m->tick);
		if (m->tick.data != NULL)
			file_now(m);	/* not after a failed first write */
		free(m->file);
	}
	for (i = 0; i < m->n; i++)
		free(m->series[i].labels);
	free(m->series);
	free(m->page);
	free(m);
}
