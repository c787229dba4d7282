/* vault.c: Vault HTTP requests over libcurl's multi interface, driven by libev. */
#include "vault.h"
#include "dl.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "util.h"

#include <curl/curl.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vault_req;

struct vault {
	struct ev_loop		*loop;
	CURLM			*multi;
	ev_timer		 timer;
	char			*base;		/* "http://host:port/v1/" */
	char			*ns_header;	/* "X-Vault-Namespace: ns" */
	struct curl_slist	*connect_to;	/* for --tls-server-name */
	struct vault_opts	 o;		/* TLS settings (borrowed) */
	const struct secret	*token;
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
	json_set_alloc_funcs(secure_malloc, secure_free);
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

/* Deliver every finished transfer to its callback. */
static void
check_done(struct vault *v)
{
	struct vault_resp resp;
	struct vault_req *r;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(v->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		memset(&resp, 0, sizeof(resp));
		resp.body = r->resp != NULL ? r->resp : "";
		resp.len = r->resp_len;
		resp.too_big = r->too_big;
		resp.error = "";
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &resp.seconds);
		if (msg->data.result == CURLE_OK)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
			    &resp.status);
		else if (!r->too_big) {
			CURLcode cc = msg->data.result;

			resp.error = r->errbuf[0] != '\0' ? r->errbuf :
			    curl_easy_strerror(cc);
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
	struct vault *v;
	size_t n;

	if (strncmp(o->addr, "http://", 7) != 0 &&
	    strncmp(o->addr, "https://", 8) != 0) {
		errf(err, errlen, "VAULT_ADDR \"%.60s\" must start with "
		    "https:// or http://", o->addr);
		return NULL;
	}
	v = xcalloc(1, sizeof(*v));
	v->loop = loop;
	v->o = *o;
	n = strlen(o->addr);
	while (n > 0 && o->addr[n - 1] == '/')
		n--;
	if (o->tls_server_name != NULL && strncmp(o->addr, "https://", 8) == 0) {
		/*
		 * libcurl verifies (and sends as SNI) the URL's host: ask for
		 * NAME:port and connect to the real host:port instead.
		 */
		const char *host = o->addr + 8, *end = o->addr + n, *colon;
		char *b, line[512];

		colon = memchr(host, ':', (size_t)(end - host));
		if (host[0] == '[')
			colon = strstr(host, "]:") ? strstr(host, "]:") + 1 : NULL;
		snprintf(line, sizeof(line), "%s:%s:%.*s:%s", o->tls_server_name,
		    colon ? colon + 1 : "443",
		    (int)((colon ? colon : end) - host), host,
		    colon ? colon + 1 : "443");
		v->connect_to = curl_slist_append(NULL, line);
		b = xmalloc(strlen(o->tls_server_name) + 32);
		snprintf(b, strlen(o->tls_server_name) + 32, "https://%s:%s/v1/",
		    o->tls_server_name, colon ? colon + 1 : "443");
		v->base = b;
	} else {
		v->base = xmalloc(n + 5);
		memcpy(v->base, o->addr, n);
		memcpy(v->base + n, "/v1/", 5);
	}
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
	/*
	 * Many paths at once: over HTTP/2 they share one connection; over
	 * HTTP/1.1 a few kept-alive connections take turns rather than one
	 * connection (and one TLS handshake) per path.
	 */
	curl_multi_setopt(v->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
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
	curl_easy_setopt(r->easy, CURLOPT_PIPEWAIT, 1L);
	if (v->o.ca_cert != NULL)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, v->o.ca_cert);
	if (v->o.ca_path != NULL)
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, v->o.ca_path);
	if (v->o.client_cert != NULL)
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, v->o.client_cert);
	if (v->o.client_key != NULL)
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, v->o.client_key);
	if (v->o.tls_skip_verify) {
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (v->connect_to != NULL)
		curl_easy_setopt(r->easy, CURLOPT_CONNECT_TO, v->connect_to);
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
	free(v->base);
	free(v->ns_header);
	free(v);
}
