/* vault.c: Vault HTTP requests over libcurl's multi interface, driven by libev. */
#include "vault.h"
#include "capath.h"
#include "addr.h"
#include "dl.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "util.h"
#include "vault_json.h"

#include <curl/curl.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/*
 * Connections opened at once to Vault over HTTP/1.1.  Vault's Go client
 * (api/client.go DefaultConfig: cleanhttp.DefaultPooledTransport) sets no
 * MaxConnsPerHost: a burst of N requests opens N connections, and it keeps
 * GOMAXPROCS+1 of them idle afterwards.  We too open one per request in
 * flight, up to this bound.  With a round trip r, 50 paths then cost about
 * (1 + ceil(50 / 16)) r = 5 r against 2 r for one path (connect, request):
 * within 3x one path at any latency.  Past that, more connections only add
 * handshakes and server threads: against the emulator on 2 cores, 50 paths
 * took 2.7x one path with 16, 3.6-4.3x with 32.  Over HTTP/2 every request
 * shares one connection.
 */
#define VAULT_MAX_CONNS		16L

struct vault_req;

struct vault {
	struct ev_loop		*loop;
	CURLM			*multi;
	ev_timer		 timer;
	char			*base;		/* "http://host:port/v1/" */
	char			*socket;	/* unix socket, or NULL */
	char			*ns_header;	/* "X-Vault-Namespace: ns" */
	struct curl_slist	*connect_to;	/* for --tls-server-name */
	struct vault_opts	 o;		/* TLS settings (borrowed) */
	const struct secret	*token;
	int			 https;
	char			*ca_blob;	/* VAULT_CAPATH's certificates */
	size_t			 ca_blob_len;
	char			*sys_capath;	/* libcurl's CA folder, or NULL */
	long long		 connect_timeout_ms;
	long long		 request_timeout_ms;
	size_t			 max_response;
	struct vault_req	*reqs;
	int			 npending;
};

struct vault_req {
	struct vault		*v;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;		/* request body */
	size_t			 body_len;
	char			*resp;		/* response body */
	size_t			 resp_len, resp_cap;
	int			 too_big;
	double			 retry_after;	/* seconds; 0 if none */
	int			 redirects;	/* followed so far: 0 or 1 */
	char			 fatal[512];	/* vault_resp.fatal's text */
	char			 errbuf[CURL_ERROR_SIZE];
	vault_cb		 cb;
	void			*arg;
	struct vault_req	*next, *prev;
};

/* One per socket curl asks us to watch. */
struct sockwatch {
	ev_io		 io;
	struct vault	*v;
};

static void check_done(struct vault *);

int
vault_global_init(char *err, size_t errlen)
{
	if (dl_jansson(err, errlen) == -1)	/* it sets the wiping allocator */
		return -1;
	if (dl_curl(err, errlen) == -1)
		return -1;
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, secure_malloc,
	    secure_free, secure_realloc, secure_strdup, secure_calloc) != 0) {
		snprintf(err, errlen, "libcurl failed to start");
		return -1;
	}
	return 0;
}

void
vault_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Let curl act on a socket that became ready. */
static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockwatch *sw = w->data;
	struct vault *v = sw->v;	/* sw may be freed by the action below */
	int action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(v->multi, w->fd, action, &running);
	check_done(v);
}

/* curl's timeout fired. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vault *v = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(v->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(v);
}

/* CURLMOPT_TIMERFUNCTION: one ev_timer for the whole multi handle. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct vault *v = userp;

	(void)multi;
	ev_timer_stop(v->loop, &v->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&v->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(v->loop, &v->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: keep one ev_io per socket in step with curl. */
static int
multi_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *sockp)
{
	struct vault *v = userp;
	struct sockwatch *sw = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sw != NULL) {
			ev_io_stop(v->loop, &sw->io);
			free(sw);
		}
		curl_multi_assign(v->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (sw == NULL) {
		sw = xcalloc(1, sizeof(*sw));
		sw->v = v;
		ev_io_init(&sw->io, io_cb, s, events);
		sw->io.data = sw;
		curl_multi_assign(v->multi, s, sw);
	} else {
		ev_io_stop(v->loop, &sw->io);
		ev_io_set(&sw->io, s, events);
	}
	ev_io_start(v->loop, &sw->io);
	return 0;
}

/* Sockets must not leak into the child. */
static int
sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int flags;

	(void)clientp;
	(void)purpose;
	if ((flags = fcntl(fd, F_GETFD)) != -1)
		(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	return CURL_SOCKOPT_OK;
}

/* Grow the response buffer by hand so that no unwiped copy is left behind. */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct vault_req *r = userdata;
	size_t n = size * nmemb, cap;
	char *p;

	if (r->resp_len + n > r->v->max_response) {
		r->too_big = 1;
		return 0;	/* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 4096;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		p = xmalloc(cap);
		if (r->resp_len > 0)
			memcpy(p, r->resp, r->resp_len);
		if (r->resp != NULL) {
			secret_wipe(r->resp, r->resp_cap);
			free(r->resp);
		}
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, ptr, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

/* CURLOPT_HEADERFUNCTION: keep the final answer's Retry-After. */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct vault_req *r = userdata;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		r->retry_after = 0;	/* a new answer (after a 100) */
	else if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
		r->retry_after = vj_retry_after(ptr + 12, n - 12, time(NULL));
	return n;
}

/* Wipe a curl header list (it held the token) and free it. */
static void
wipe_slist(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		secret_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* Take a request off the client's list: it no longer counts as pending. */
static void
req_detach(struct vault_req *r)
{
	struct vault *v = r->v;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		v->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	v->npending--;
}

/* Free a detached request, wiping every buffer. */
static void
req_destroy(struct vault_req *r)
{
	curl_multi_remove_handle(r->v->multi, r->easy);
	curl_easy_cleanup(r->easy);
	wipe_slist(r->headers);
	if (r->body != NULL) {
		secret_wipe(r->body, r->body_len);
		free(r->body);
	}
	if (r->resp != NULL) {
		secret_wipe(r->resp, r->resp_cap);
		free(r->resp);
	}
	free(r);
}

/*
 * libcurl's built-in CA folder when it is a folder: looked up by subject
 * hash, one certificate read per verification, where the built-in bundle
 * file is parsed whole (145 certificates, ~25 ms) on every start.  On
 * Debian both are written by update-ca-certificates from the same
 * certificates, so the trust decisions are the same.
 */
static char *
system_capath(void)
{
	const char *dir = NULL;
	char *out = NULL;
	struct stat st;
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_getinfo(h, CURLINFO_CAPATH, &dir) == CURLE_OK &&
	    dir != NULL && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		out = xstrdup(dir);
	curl_easy_cleanup(h);
	return out;
}

/*
 * The CAs a transfer trusts, as the Vault CLI (go-rootcerts): VAULT_CACERT
 * alone when set (libcurl's own CA folder would otherwise stay beside it),
 * else every certificate under VAULT_CAPATH, else the system's CAs.
 */
static void
set_trust(struct vault *v, CURL *easy)
{
	struct curl_blob blob;

	if (v->o.ca_cert != NULL) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, v->o.ca_cert);
		curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	} else if (v->ca_blob != NULL) {
		blob.data = v->ca_blob;
		blob.len = v->ca_blob_len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	} else if (v->sys_capath != NULL) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(easy, CURLOPT_CAPATH, v->sys_capath);
	}
}

/* Drop what a redirected answer left, so the next one starts clean. */
static void
req_reset_response(struct vault_req *r)
{
	if (r->resp != NULL) {
		secret_wipe(r->resp, r->resp_cap);
		free(r->resp);
	}
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
	r->errbuf[0] = '\0';
}

/*
 * A 301, 302 or 307: follow it once, as Vault's Go client does
 * (api/client.go rawRequestWithContext): the same method, body and headers
 * (the token included) to the Location, never from https:// to http://,
 * not at all with VAULT_DISABLE_REDIRECTS.  1 if the request went out
 * again, 0 if the answer stands (r->fatal says why, if it is an error).
 */
static int
follow_redirect(struct vault_req *r, long status)
{
	struct vault *v = r->v;
	char *from = NULL, *to = NULL;
	double spent = 0;
	long left;

	if (status != 301 && status != 302 && status != 307)
		return 0;
	curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &from);
	curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &to);
	if (to == NULL || from == NULL)
		snprintf(r->fatal, sizeof(r->fatal), "Vault answered %ld with "
		    "no usable Location; point VAULT_ADDR at the active node",
		    status);
	else if (v->o.disable_redirects)
		snprintf(r->fatal, sizeof(r->fatal), "Vault redirected (%ld) to "
		    "%.200s and redirects are off (VAULT_DISABLE_REDIRECTS); "
		    "point VAULT_ADDR at the active node", status, to);
	else if (r->redirects > 0)
		snprintf(r->fatal, sizeof(r->fatal), "Vault redirected a second "
		    "time (%ld, to %.200s); leasewrap follows one redirect, as "
		    "the Vault CLI does: point VAULT_ADDR at the active node "
		    "and check the cluster's api_addr", status, to);
	else if (strncasecmp(from, "https:", 6) == 0 &&
	    strncasecmp(to, "https:", 6) != 0)
		snprintf(r->fatal, sizeof(r->fatal), "Vault redirected (%ld) "
		    "from https:// to %.200s: a protocol downgrade is refused, "
		    "as the Vault CLI does; fix the active node's api_addr",
		    status, to);
	else {
		r->redirects++;
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &spent);
		left = (long)v->request_timeout_ms - (long)(spent * 1000.0);
		log_at(LOG_DEBUG, "vault.redirect", LF(.status = status),
		    "following the redirect to %.200s", to);
		curl_multi_remove_handle(v->multi, r->easy);
		req_reset_response(r);
		curl_easy_setopt(r->easy, CURLOPT_URL, to);
		/* One budget for the request, redirect included (VAULT_CLIENT_TIMEOUT). */
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
		curl_multi_add_handle(v->multi, r->easy);
		return 1;
	}
	return 0;
}

/*
 * https:// to a server that speaks plain HTTP: OpenSSL reads its answer
 * ("HTTP/1.x 400") as a TLS record of a bad version.  Vault's Go client
 * turns the same mistake into TLSErrorString (api/client.go).
 */
static int
plain_http_answer(CURLcode cc, const char *errbuf)
{
	return cc == CURLE_SSL_CONNECT_ERROR &&
	    (strstr(errbuf, "wrong version number") != NULL ||
	    strstr(errbuf, "packet length too long") != NULL);
}

/* Deliver every finished transfer to its callback. */
static void
check_done(struct vault *v)
{
	struct vault_resp resp;
	struct vault_req *r;
	CURLMsg *msg;
	long status;
	int left;

	while ((msg = curl_multi_info_read(v->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		status = 0;
		if (msg->data.result == CURLE_OK) {
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
			    &status);
			if (follow_redirect(r, status))
				continue;
		}
		memset(&resp, 0, sizeof(resp));
		resp.body = r->resp != NULL ? r->resp : "";
		resp.len = r->resp_len;
		resp.too_big = r->too_big;
		resp.retry_after = r->retry_after;
		resp.error = "";
		resp.status = status;
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &resp.seconds);
		if (r->fatal[0] != '\0') {
			resp.status = 0;
			resp.fatal = 1;
			resp.error = r->fatal;
		} else if (msg->data.result != CURLE_OK && !r->too_big) {
			CURLcode cc = msg->data.result;

			resp.error = r->errbuf[0] != '\0' ? r->errbuf :
			    curl_easy_strerror(cc);
			if (plain_http_answer(cc, r->errbuf)) {
				snprintf(r->fatal, sizeof(r->fatal), "Vault at "
				    "%.200s: the server answered plain HTTP; "
				    "use http:// in VAULT_ADDR (or turn TLS on "
				    "in Vault's listener)", v->base);
				resp.fatal = 1;
				resp.error = r->fatal;
			}
			resp.tls_error = cc == CURLE_PEER_FAILED_VERIFICATION ||
			    cc == CURLE_SSL_CACERT_BADFILE ||
			    cc == CURLE_SSL_CERTPROBLEM ||
			    cc == CURLE_SSL_CIPHER || cc == CURLE_SSL_ENGINE_NOTFOUND ||
			    cc == CURLE_SSL_CRL_BADFILE || cc == CURLE_SSL_ISSUER_ERROR ||
			    cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
		}
		metrics_request(v->o.metrics, resp.status, resp.seconds);
		/* Detached first: the callback sees only what is still out. */
		req_detach(r);
		r->cb(&resp, r->arg);
		req_destroy(r);
	}
}

struct vault *
vault_new(struct ev_loop *loop, const struct vault_opts *o, char *err,
    size_t errlen)
{
	struct vault_addr a;
	struct vault *v;

	if (addr_parse(o->addr, &a, err, errlen) == -1)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v->loop = loop;
	v->https = strncmp(o->addr, "https://", 8) == 0;
	v->o = *o;
	v->socket = a.socket;
	a.socket = NULL;
	if (o->tls_server_name != NULL && a.https) {
		/*
		 * libcurl verifies (and sends as SNI) the URL's host: ask for
		 * NAME:port and connect to the real host:port instead.
		 */
		char line[512];
		size_t len = strlen(o->tls_server_name) + strlen(a.base) + 16;
		const char *rest = strstr(a.base, "://") + 3;

		snprintf(line, sizeof(line), "%s:%s:%s:%s", o->tls_server_name,
		    a.port, a.host, a.port);
		v->connect_to = curl_slist_append(NULL, line);
		rest += strcspn(rest, "/");
		v->base = xmalloc(len);
		snprintf(v->base, len, "https://%s:%s%s", o->tls_server_name,
		    a.port, rest);
	} else {
		v->base = a.base;
		a.base = NULL;
	}
	addr_clear(&a);
	if (o->namespace != NULL && *o->namespace != '\0') {
		size_t len = strlen(o->namespace) + 32;

		v->ns_header = xmalloc(len);
		snprintf(v->ns_header, len, "X-Vault-Namespace: %s",
		    o->namespace);
	}
	v->connect_timeout_ms = o->connect_timeout_ms;
	v->request_timeout_ms = o->request_timeout_ms;
	v->max_response = o->max_response;
	if ((v->multi = curl_multi_init()) == NULL) {
		free(v->base);
		free(v->socket);
		free(v->ns_header);
		free(v);
		errf(err, errlen, "cannot start libcurl");
		return NULL;
	}
	ev_timer_init(&v->timer, timer_cb, 0., 0.);
	v->timer.data = v;
	curl_multi_setopt(v->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(v->multi, CURLMOPT_SOCKETDATA, v);
	curl_multi_setopt(v->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(v->multi, CURLMOPT_TIMERDATA, v);
	curl_multi_setopt(v->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    VAULT_MAX_CONNS);
	if (o->ca_cert == NULL && o->ca_path != NULL &&
	    capath_load(o->ca_path, &v->ca_blob, &v->ca_blob_len, err,
	    errlen) == -1) {
		vault_free(v);
		return NULL;
	}
	if (o->ca_cert == NULL && o->ca_path == NULL)
		v->sys_capath = system_capath();
	return v;
}

void
vault_set_token(struct vault *v, const struct secret *token)
{
	v->token = token;
}

int
vault_pending(const struct vault *v)
{
	return v->npending;
}

void
vault_request(struct vault *v, const char *method, const char *path,
    const char *body, vault_cb cb, void *arg)
{
	vault_request_with(v, v->token, method, path, body, cb, arg);
}

/* How a transfer reaches Vault: multiplexing, trust, client certificate, socket or proxy. */
static void
set_transport(struct vault *v, CURL *easy)
{
	/*
	 * Only HTTPS can multiplex (HTTP/2 chosen by ALPN): there a request
	 * waits for the connection being set up rather than opening its own.
	 * Plain HTTP/1.1 never multiplexes, so waiting would only serialise.
	 */
	curl_easy_setopt(easy, CURLOPT_PIPEWAIT, v->https ? 1L : 0L);
	set_trust(v, easy);
	if (v->o.client_cert != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLCERT, v->o.client_cert);
	if (v->o.client_key != NULL)
		curl_easy_setopt(easy, CURLOPT_SSLKEY, v->o.client_key);
	if (v->o.tls_skip_verify) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (v->connect_to != NULL)
		curl_easy_setopt(easy, CURLOPT_CONNECT_TO, v->connect_to);
	if (v->socket != NULL) {
		/* A unix socket is local: no proxy (ParseAddress dials it). */
		curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, v->socket);
		curl_easy_setopt(easy, CURLOPT_PROXY, "");
	} else if (v->o.proxy != NULL) {
		/* As VAULT_PROXY_ADDR in the Go client: every request, no no_proxy. */
		curl_easy_setopt(easy, CURLOPT_PROXY, v->o.proxy);
		curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
	}
}

void
vault_request_with(struct vault *v, const struct secret *token,
    const char *method, const char *path, const char *body, vault_cb cb,
    void *arg)
{
	struct vault_req *r = xcalloc(1, sizeof(*r));
	struct secret *tok;
	size_t len;
	char *url;

	r->v = v;
	r->cb = cb;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		log_error("vault.request", "cannot start a libcurl transfer");
		abort();
	}
	len = strlen(v->base) + strlen(path) + 1;
	url = xmalloc(len);
	snprintf(url, len, "%s%s", v->base, path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)v->connect_timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
	    (long)v->request_timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	set_transport(v, r->easy);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "leasewrap/" LW_VERSION);
	/* An Agent/Proxy with require_request_header answers 412 without it */
	/* (hashicorp/vault command/agent.go, verifyRequestHeader). */
	r->headers = curl_slist_append(r->headers, "X-Vault-Request: true");
	r->headers = curl_slist_append(r->headers, "Expect:");
	if (v->ns_header != NULL)
		r->headers = curl_slist_append(r->headers, v->ns_header);
	if (token != NULL) {
		tok = secret_concat("X-Vault-Token: ", token);
		r->headers = curl_slist_append(r->headers, secret_str(tok));
		secret_free(tok);
	}
	if (body != NULL) {
		r->body_len = strlen(body);
		r->body = xstrndup(body, r->body_len);
		r->headers = curl_slist_append(r->headers,
		    "Content-Type: application/json");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)r->body_len);
	}
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	else {
		if (body == NULL)
			curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	r->next = v->reqs;
	if (v->reqs != NULL)
		v->reqs->prev = r;
	v->reqs = r;
	v->npending++;
	curl_multi_add_handle(v->multi, r->easy);
}

void
vault_cancel(struct vault *v, vault_cb cb)
{
	struct vault_req *r, *next;

	if (v == NULL)
		return;
	for (r = v->reqs; r != NULL; r = next) {
		next = r->next;
		if (r->cb != cb)
			continue;
		req_detach(r);
		req_destroy(r);
	}
}

void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	while (v->reqs != NULL) {
		struct vault_req *r = v->reqs;

		req_detach(r);
		req_destroy(r);
	}
	ev_timer_stop(v->loop, &v->timer);
	curl_multi_cleanup(v->multi);
	curl_slist_free_all(v->connect_to);
	free(v->ca_blob);
	free(v->sys_capath);
	free(v->base);
	free(v->socket);
	free(v->ns_header);
	free(v);
}
