/*
 * metrics.h: Prometheus metrics in the text exposition format, written to a
 * file by atomic rename (node_exporter's textfile collector) and served at
 * GET /metrics by libmicrohttpd on the event loop.  No label or value is
 * ever secret: paths, methods, results, HTTP statuses.
 */
#ifndef LW_METRICS_H
#define LW_METRICS_H

#include <stddef.h>

struct ev_loop;

/* Every metric leasewrap exports, in the order they are rendered. */
enum metric {
	M_BUILD_INFO,		/* gauge: 1, version label */
	M_DEADLINE,		/* gauge: seconds until a credential ends */
	M_DEADLINE_TS,		/* gauge: when it ends, Unix seconds */
	M_TOKEN_DEADLINE,	/* gauge: seconds until the token ends */
	M_LEASES,		/* gauge: leases held now */
	M_CHILD_UP,		/* gauge: 1 while the command runs */
	M_FETCHES,		/* counter: secret reads by path, result */
	M_RENEWALS,		/* counter: lease renewals by path, result */
	M_REVOCATIONS,		/* counter: lease revocations by result */
	M_LOGINS,		/* counter: logins by method, result */
	M_TOKEN_RENEWALS,	/* counter: token renewals by result */
	M_CHILD_STARTS,		/* counter: command starts by reason */
	M_CHILD_SIGNALS,	/* counter: change signals sent */
	M_REQUESTS,		/* counter: Vault requests by code */
	M_LATENCY,		/* histogram: Vault request seconds */
	M_COUNT
};

struct metrics;

/*
 * Called before each rendering to set the gauges afresh with
 * metrics_set() (a gauge not set again disappears, like a credential
 * that was revoked).
 */
typedef void (*metrics_gauges_fn)(void *arg);

/*
 * Start exporting on loop: write file (if not NULL) now and then, serve
 * addr ("HOST:PORT", "[V6]:PORT", ":PORT" for every interface; NULL for
 * none).  With neither (and loop NULL), it only counts and renders.
 * Returns NULL with a one-line message in err.
 */
struct metrics	*metrics_new(struct ev_loop *, const char *file,
		    const char *addr, metrics_gauges_fn, void *arg, char *err,
		    size_t errlen);
/* Stop serving, write the file one last time, free.  NULL is fine. */
void		 metrics_free(struct metrics *);

/*
 * Add v to the counter with up to two labels (a NULL key ends them).
 * Every function here does nothing when given a NULL struct metrics.
 */
void		 metrics_add(struct metrics *, enum metric, double v,
		    const char *k1, const char *v1, const char *k2,
		    const char *v2);
/* Set a gauge (from the gauges function). */
void		 metrics_set(struct metrics *, enum metric, double v,
		    const char *k1, const char *v1);
/* One Vault request ended: status 0 is a transport failure. */
void		 metrics_request(struct metrics *, long status, double seconds);
/* Something changed: rewrite the file soon (coalesced). */
void		 metrics_changed(struct metrics *);
/* The page as served, NUL-terminated (valid until the next call). */
const char	*metrics_render(struct metrics *, size_t *len);

#endif
