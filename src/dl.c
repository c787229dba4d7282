/*
 * dl.c: libcurl, libmicrohttpd and jansson through dlopen(3), loaded on
 * first use.  Each function leasewrap calls is defined here and forwards
 * to the library's own, found with dlsym(3) when the library is loaded.
 */
#define CURL_DISABLE_TYPECHECK	/* we define curl_easy_setopt() itself */
#include "dl.h"
#include "secret.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURL_SONAME	"libcurl.so.4"
#define MHD_SONAME	"libmicrohttpd.so.12"
#define JANSSON_SONAME	"libjansson.so.4"

static struct {
	int loaded;
	CURLcode (*global_init_mem)(long, curl_malloc_callback,
	    curl_free_callback, curl_realloc_callback, curl_strdup_callback,
	    curl_calloc_callback);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMcode (*multi_cleanup)(CURLM *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
	void (*free)(void *);
} C;

static struct {
	int loaded;
	struct MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t,
	    MHD_AcceptPolicyCallback, void *, MHD_AccessHandlerCallback, void *,
	    va_list);
	void (*stop_daemon)(struct MHD_Daemon *);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
	    enum MHD_DaemonInfoType, ...);
	enum MHD_Result (*get_timeout)(struct MHD_Daemon *,
	    MHD_UNSIGNED_LONG_LONG *);
	enum MHD_Result (*run)(struct MHD_Daemon *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
	    enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *,
	    const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
	    struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
	const union MHD_ConnectionInfo *(*get_connection_info)(
	    struct MHD_Connection *, enum MHD_ConnectionInfoType, ...);
} M;

static struct {
	int loaded;
	json_t *(*array_get)(const json_t *, size_t);
	size_t (*array_size)(const json_t *);
	void (*delete)(json_t *);
	char *(*dumps)(const json_t *, size_t);
	json_int_t (*integer_value)(const json_t *);
	json_t *(*loadb)(const char *, size_t, size_t, json_error_t *);
	json_t *(*loadf)(FILE *, size_t, json_error_t *);
	double (*number_value)(const json_t *);
	json_t *(*object)(void);
	json_t *(*object_get)(const json_t *, const char *);
	void *(*object_iter)(json_t *);
	const char *(*object_iter_key)(void *);
	void *(*object_iter_next)(json_t *, void *);
	json_t *(*object_iter_value)(void *);
	void *(*object_key_to_iter)(const char *);
	int (*object_set_new)(json_t *, const char *, json_t *);
	size_t (*object_size)(const json_t *);
	json_t *(*vpack_ex)(json_error_t *, size_t, const char *, va_list);
	void (*set_alloc_funcs)(json_malloc_t, json_free_t);
	json_t *(*string)(const char *);
	size_t (*string_length)(const json_t *);
	const char *(*string_value)(const json_t *);
	json_t *(*stringn)(const char *, size_t);
	json_t *(*true_)(void);
} J;

struct sym {
	const char	*name;
	void		*slot;		/* where the function pointer goes */
};

/* Once (*loaded): dlopen soname and fill every slot; the handle is kept for the run. */
static int
load(int *loaded, const char *soname, const char *package,
    const struct sym *syms, size_t n, char *err, size_t errlen)
{
	void *h, *p;
	size_t i;

	if (*loaded)
		return 0;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s (%s); install %s",
		    soname, dlerror(), package);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((p = dlsym(h, syms[i].name)) == NULL) {
			snprintf(err, errlen, "%s has no %s; install a newer %s",
			    soname, syms[i].name, package);
			dlclose(h);
			return -1;
		}
		/* POSIX's way to turn dlsym's void * into a function pointer. */
		memcpy(syms[i].slot, &p, sizeof(p));
	}
	*loaded = 1;
	return 0;
}

int
dl_curl(char *err, size_t errlen)
{
	const struct sym syms[] = {
		{ "curl_global_init_mem", &C.global_init_mem },
		{ "curl_global_cleanup", &C.global_cleanup },
		{ "curl_easy_init", &C.easy_init },
		{ "curl_easy_setopt", &C.easy_setopt },
		{ "curl_easy_getinfo", &C.easy_getinfo },
		{ "curl_easy_cleanup", &C.easy_cleanup },
		{ "curl_easy_strerror", &C.easy_strerror },
		{ "curl_multi_init", &C.multi_init },
		{ "curl_multi_setopt", &C.multi_setopt },
		{ "curl_multi_add_handle", &C.multi_add_handle },
		{ "curl_multi_remove_handle", &C.multi_remove_handle },
		{ "curl_multi_socket_action", &C.multi_socket_action },
		{ "curl_multi_info_read", &C.multi_info_read },
		{ "curl_multi_assign", &C.multi_assign },
		{ "curl_multi_cleanup", &C.multi_cleanup },
		{ "curl_slist_append", &C.slist_append },
		{ "curl_slist_free_all", &C.slist_free_all },
		{ "curl_url", &C.url },
		{ "curl_url_cleanup", &C.url_cleanup },
		{ "curl_url_set", &C.url_set },
		{ "curl_url_get", &C.url_get },
		{ "curl_free", &C.free },
	};

	return load(&C.loaded, CURL_SONAME, "libcurl4", syms,
	    sizeof(syms) / sizeof(syms[0]), err, errlen);
}

int
dl_mhd(char *err, size_t errlen)
{
	const struct sym syms[] = {
		{ "MHD_start_daemon_va", &M.start_daemon_va },
		{ "MHD_stop_daemon", &M.stop_daemon },
		{ "MHD_get_daemon_info", &M.get_daemon_info },
		{ "MHD_get_timeout", &M.get_timeout },
		{ "MHD_run", &M.run },
		{ "MHD_create_response_from_buffer",
		    &M.create_response_from_buffer },
		{ "MHD_add_response_header", &M.add_response_header },
		{ "MHD_queue_response", &M.queue_response },
		{ "MHD_destroy_response", &M.destroy_response },
		{ "MHD_get_connection_info", &M.get_connection_info },
	};

	return load(&M.loaded, MHD_SONAME, "libmicrohttpd12", syms,
	    sizeof(syms) / sizeof(syms[0]), err, errlen);
}

int
dl_jansson(char *err, size_t errlen)
{
	const struct sym syms[] = {
		{ "json_array_get", &J.array_get },
		{ "json_array_size", &J.array_size },
		{ "json_delete", &J.delete },
		{ "json_dumps", &J.dumps },
		{ "json_integer_value", &J.integer_value },
		{ "json_loadb", &J.loadb },
		{ "json_loadf", &J.loadf },
		{ "json_number_value", &J.number_value },
		{ "json_object", &J.object },
		{ "json_object_get", &J.object_get },
		{ "json_object_iter", &J.object_iter },
		{ "json_object_iter_key", &J.object_iter_key },
		{ "json_object_iter_next", &J.object_iter_next },
		{ "json_object_iter_value", &J.object_iter_value },
		{ "json_object_key_to_iter", &J.object_key_to_iter },
		{ "json_object_set_new", &J.object_set_new },
		{ "json_object_size", &J.object_size },
		{ "json_vpack_ex", &J.vpack_ex },
		{ "json_set_alloc_funcs", &J.set_alloc_funcs },
		{ "json_string", &J.string },
		{ "json_string_length", &J.string_length },
		{ "json_string_value", &J.string_value },
		{ "json_stringn", &J.stringn },
		{ "json_true", &J.true_ },
	};

	int was = J.loaded;

	if (load(&J.loaded, JANSSON_SONAME, "libjansson4", syms,
	    sizeof(syms) / sizeof(syms[0]), err, errlen) == -1)
		return -1;
	/* Every block jansson frees is wiped, from its first JSON on (a config file's role_id). */
	if (!was)
		J.set_alloc_funcs(secure_malloc, secure_free);
	return 0;
}

/* ---- libcurl --------------------------------------------------------- */

CURLcode
curl_global_init_mem(long flags, curl_malloc_callback m, curl_free_callback f,
    curl_realloc_callback r, curl_strdup_callback s, curl_calloc_callback c)
{
	return C.global_init_mem(flags, m, f, r, s, c);
}

void
curl_global_cleanup(void)
{
	if (C.loaded)
		C.global_cleanup();
}

CURL *
curl_easy_init(void)
{
	return C.easy_init();
}

/*
 * An option's type is in its number (curl.h, CURLOPTTYPE_*; the multi
 * options share them): call fn with the argument read from ap as that
 * type, so that it is passed on exactly as it was given.
 */
#define CALL_BY_TYPE(fn, h, opt, ap)					\
	((opt) < CURLOPTTYPE_OBJECTPOINT ? fn(h, opt, va_arg(ap, long)) :	\
	(opt) < CURLOPTTYPE_FUNCTIONPOINT ? fn(h, opt, va_arg(ap, void *)) :	\
	(opt) < CURLOPTTYPE_OFF_T ? fn(h, opt, va_arg(ap, void (*)(void))) :	\
	(opt) < CURLOPTTYPE_BLOB ? fn(h, opt, va_arg(ap, curl_off_t)) :	\
	fn(h, opt, va_arg(ap, void *)))

CURLcode
curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode r;

	va_start(ap, opt);
	r = CALL_BY_TYPE(C.easy_setopt, h, opt, ap);
	va_end(ap);
	return r;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	void *p;

	va_start(ap, info);
	p = va_arg(ap, void *);
	va_end(ap);
	return C.easy_getinfo(h, info, p);
}

void
curl_easy_cleanup(CURL *h)
{
	C.easy_cleanup(h);
}

const char *
curl_easy_strerror(CURLcode code)
{
	return C.easy_strerror(code);
}

CURLM *
curl_multi_init(void)
{
	return C.multi_init();
}

CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode r;

	va_start(ap, opt);
	r = CALL_BY_TYPE(C.multi_setopt, m, opt, ap);
	va_end(ap);
	return r;
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *h)
{
	return C.multi_add_handle(m, h);
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *h)
{
	return C.multi_remove_handle(m, h);
}

CURLMcode
curl_multi_socket_action(CURLM *m, curl_socket_t s, int mask, int *running)
{
	return C.multi_socket_action(m, s, mask, running);
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	return C.multi_info_read(m, left);
}

CURLMcode
curl_multi_assign(CURLM *m, curl_socket_t s, void *p)
{
	return C.multi_assign(m, s, p);
}

CURLMcode
curl_multi_cleanup(CURLM *m)
{
	return C.multi_cleanup(m);
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	return C.slist_append(l, s);
}

void
curl_slist_free_all(struct curl_slist *l)
{
	C.slist_free_all(l);
}

CURLU *
curl_url(void)
{
	return C.url();
}

void
curl_url_cleanup(CURLU *u)
{
	C.url_cleanup(u);
}

CURLUcode
curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
	return C.url_set(u, what, part, flags);
}

CURLUcode
curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
	return C.url_get(u, what, part, flags);
}

void
curl_free(void *p)
{
	C.free(p);
}

/* ---- libmicrohttpd --------------------------------------------------- */

struct MHD_Daemon *
MHD_start_daemon(unsigned int flags, uint16_t port,
    MHD_AcceptPolicyCallback apc, void *apc_cls, MHD_AccessHandlerCallback dh,
    void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = M.start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void
MHD_stop_daemon(struct MHD_Daemon *d)
{
	M.stop_daemon(d);
}

/* Only the kinds that take no further argument are asked for here. */
const union MHD_DaemonInfo *
MHD_get_daemon_info(struct MHD_Daemon *d, enum MHD_DaemonInfoType type, ...)
{
	return M.get_daemon_info(d, type);
}

enum MHD_Result
MHD_get_timeout(struct MHD_Daemon *d, MHD_UNSIGNED_LONG_LONG *ms)
{
	return M.get_timeout(d, ms);
}

enum MHD_Result
MHD_run(struct MHD_Daemon *d)
{
	return M.run(d);
}

struct MHD_Response *
MHD_create_response_from_buffer(size_t size, void *buf,
    enum MHD_ResponseMemoryMode mode)
{
	return M.create_response_from_buffer(size, buf, mode);
}

enum MHD_Result
MHD_add_response_header(struct MHD_Response *r, const char *h,
    const char *v)
{
	return M.add_response_header(r, h, v);
}

enum MHD_Result
MHD_queue_response(struct MHD_Connection *c, unsigned int code,
    struct MHD_Response *r)
{
	return M.queue_response(c, code, r);
}

void
MHD_destroy_response(struct MHD_Response *r)
{
	M.destroy_response(r);
}

/* Only the kinds that take no further argument are asked for here. */
const union MHD_ConnectionInfo *
MHD_get_connection_info(struct MHD_Connection *c,
    enum MHD_ConnectionInfoType type, ...)
{
	return M.get_connection_info(c, type);
}

/* ---- jansson --------------------------------------------------------- */

/*
 * Every path to JSON calls dl_jansson() first and reports its error (a
 * config file, a spec's parameters, the Vault client); loading here on
 * first use is for the rest (the unit tests), and failing is a bug.
 */
static void
jansson(void)
{
	char err[512], line[600];
	int n;

	if (J.loaded || dl_jansson(err, sizeof(err)) == 0)
		return;
	n = snprintf(line, sizeof(line), "leasewrap: %s\n", err);
	(void)!write(STDERR_FILENO, line, (size_t)n);
	abort();
}

json_t *
json_array_get(const json_t *a, size_t i)
{
	jansson();
	return J.array_get(a, i);
}

size_t
json_array_size(const json_t *a)
{
	jansson();
	return J.array_size(a);
}

void
json_delete(json_t *j)
{
	jansson();
	J.delete(j);
}

char *
json_dumps(const json_t *j, size_t flags)
{
	jansson();
	return J.dumps(j, flags);
}

json_int_t
json_integer_value(const json_t *j)
{
	jansson();
	return J.integer_value(j);
}

json_t *
json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e)
{
	jansson();
	return J.loadb(buf, len, flags, e);
}

json_t *
json_loadf(FILE *f, size_t flags, json_error_t *e)
{
	jansson();
	return J.loadf(f, flags, e);
}

double
json_number_value(const json_t *j)
{
	jansson();
	return J.number_value(j);
}

json_t *
json_object(void)
{
	jansson();
	return J.object();
}

json_t *
json_object_get(const json_t *o, const char *key)
{
	jansson();
	return J.object_get(o, key);
}

void *
json_object_iter(json_t *o)
{
	jansson();
	return J.object_iter(o);
}

const char *
json_object_iter_key(void *it)
{
	jansson();
	return J.object_iter_key(it);
}

void *
json_object_iter_next(json_t *o, void *it)
{
	jansson();
	return J.object_iter_next(o, it);
}

json_t *
json_object_iter_value(void *it)
{
	jansson();
	return J.object_iter_value(it);
}

void *
json_object_key_to_iter(const char *key)
{
	jansson();
	return J.object_key_to_iter(key);
}

int
json_object_set_new(json_t *o, const char *key, json_t *v)
{
	jansson();
	return J.object_set_new(o, key, v);
}

size_t
json_object_size(const json_t *o)
{
	jansson();
	return J.object_size(o);
}

json_t *
json_pack(const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	jansson();
	va_start(ap, fmt);
	j = J.vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	return j;
}

void
json_set_alloc_funcs(json_malloc_t m, json_free_t f)
{
	jansson();
	J.set_alloc_funcs(m, f);
}

json_t *
json_string(const char *v)
{
	jansson();
	return J.string(v);
}

size_t
json_string_length(const json_t *j)
{
	jansson();
	return J.string_length(j);
}

const char *
json_string_value(const json_t *j)
{
	jansson();
	return J.string_value(j);
}

json_t *
json_stringn(const char *v, size_t len)
{
	jansson();
	return J.stringn(v, len);
}

json_t *
json_true(void)
{
	jansson();
	return J.true_();
}
