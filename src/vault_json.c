/*
 * vault_json.c: Vault's answers into structs and decisions.  The envelope
 * is hashicorp/vault sdk/logical/translate_response.go (HTTPResponse), the
 * errors sdk/logical/response_util.go (RespondError: {"errors":[...]},
 * empty for a bare 404), KV v2's data.data and data.metadata
 * hashicorp/vault-plugin-secrets-kv path_data.go (pathDataRead).
 */
#define _GNU_SOURCE	/* strptime, timegm */
#include "vault_json.h"
#include "secret.h"
#include "util.h"
#include "vault.h"
#include "exitcodes.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wipe every string value below j (jansson owns them; they may be secrets). */
static void
wipe_strings(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		secret_wipe((char *)json_string_value(j), json_string_length(j));
	else if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			wipe_strings(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			wipe_strings(v);
	}
}

void
vj_wipe_decref(void *p)
{
	if (p == NULL)
		return;
	wipe_strings(p);
	json_decref(p);
}

/* Does the path name a KV v2 data read ("mount/data/...")? */
static int
kv2_path(const char *path)
{
	return strstr(path, "/data/") != NULL;
}

double
vj_seconds(const void *json)
{
	double v;

	if (!json_is_number((const json_t *)json))
		return 0;
	v = json_number_value(json);
	if (!isfinite(v) || !(v > 0))
		return 0;
	return v > VJ_TTL_MAX ? VJ_TTL_MAX : v;
}

int
vj_parse_secret(const char *path, const char *body, size_t len,
    struct vj_secret *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *data, *inner, *meta, *v;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		vj_wipe_decref(root);
		return errf(err, errlen, "Vault's answer for \"%s\" is not a "
		    "JSON object; is VAULT_ADDR a Vault server?", path);
	}
	data = json_object_get(root, "data");
	if (!json_is_object(data)) {
		vj_wipe_decref(root);
		return errf(err, errlen, "Vault's answer for \"%s\" has no data; "
		    "is it a secret path?", path);
	}
	inner = json_object_get(data, "data");
	meta = json_object_get(data, "metadata");
	if (kv2_path(path) && json_is_object(meta)) {
		if (!json_is_object(inner)) {
			vj_wipe_decref(root);
			return errf(err, errlen, "secret \"%s\" has no current "
			    "version (deleted or destroyed)", path);
		}
		out->data = inner;
		out->kv2 = 1;
	} else
		out->data = data;
	out->root = root;
	if (json_is_string(v = json_object_get(root, "lease_id")) &&
	    json_string_length(v) > 0)
		out->lease_id = xstrdup(json_string_value(v));
	v = json_object_get(root, "lease_duration");
	if (json_is_number(v))
		out->lease_duration = (long long)vj_seconds(v);
	out->renewable = json_is_true(json_object_get(root, "renewable"));
	return 0;
}

int
vj_field(const struct vj_secret *s, const char *field, struct secret **val,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(s->data, field);
	char *text;

	if (v == NULL || json_is_null(v)) {
		char names[256];
		size_t off = 0;
		const char *k;
		json_t *x;

		names[0] = '\0';
		json_object_foreach((json_t *)s->data, k, x) {
			int n = snprintf(names + off, sizeof(names) - off,
			    "%s%s", off ? ", " : "", k);
			if (n < 0 || (size_t)n >= sizeof(names) - off)
				break;
			off += (size_t)n;
		}
		return errf(err, errlen, "has no field \"%s\"; its fields are: "
		    "%s", field, off ? names : "(none)");
	}
	if (json_is_string(v)) {
		*val = secret_new(json_string_value(v), json_string_length(v));
		return 0;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL)
		return errf(err, errlen, "field \"%s\" cannot be encoded", field);
	*val = secret_new(text, strlen(text));
	secret_wipe(text, strlen(text));
	free(text);
	return 0;
}

void
vj_secret_clear(struct vj_secret *s)
{
	vj_wipe_decref(s->root);
	free(s->lease_id);
	memset(s, 0, sizeof(*s));
}

/* Append "; " and the first ilen bytes of item, less trailing space, to out. */
static void
append_error(char *out, size_t outlen, size_t *n, const char *item,
    size_t ilen)
{
	while (ilen > 0 && strchr(" \t\r\n", item[ilen - 1]) != NULL)
		ilen--;
	if (ilen == 0 || *n + 1 >= outlen)
		return;
	snprintf(out + *n, outlen - *n, "%s%.*s", *n ? "; " : "", (int)ilen,
	    item);
	*n = strlen(out);
}

/*
 * Vault wraps messages as "1 error occurred:\n\t* msg\n\n" (go-multierror,
 * items joined by "\n\t* "); keep each "msg", joined by "; ".
 */
void
vj_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root, *errs, *e;
	const char *s, *item, *next;
	size_t i, n = 0;

	out[0] = '\0';
	root = json_loadb(body, len, 0, NULL);
	errs = json_object_get(root, "errors");
	if (json_is_array(errs)) {
		json_array_foreach(errs, i, e) {
			if (!json_is_string(e))
				continue;
			s = json_string_value(e);
			if ((item = strstr(s, "occurred:")) == NULL ||
			    (item = strstr(item, "* ")) == NULL) {
				append_error(out, outlen, &n, s, strlen(s));
				continue;
			}
			for (item += 2; item != NULL; item = next) {
				if ((next = strstr(item, "\n\t* ")) != NULL) {
					append_error(out, outlen, &n, item,
					    (size_t)(next - item));
					next += 4;
				} else
					append_error(out, outlen, &n, item,
					    strlen(item));
			}
		}
	}
	json_decref(root);
	/* Fold to one line and trim. */
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '\n' || out[i] == '\t' || out[i] == '\r')
			out[i] = ' ';
	while (i > 0 && out[i - 1] == ' ')
		out[--i] = '\0';
}

int
vj_parse_mount(const char *body, size_t len, char **mount_path,
    int *kv_version, char *err, size_t errlen)
{
	json_t *root, *data, *opts, *v;
	const char *type;

	*mount_path = NULL;
	*kv_version = 0;
	root = json_loadb(body, len, 0, NULL);
	data = json_object_get(root, "data");
	if (!json_is_object(data) ||
	    !json_is_string(v = json_object_get(data, "path"))) {
		json_decref(root);
		return errf(err, errlen, "unexpected answer from "
		    "sys/internal/ui/mounts");
	}
	*mount_path = xstrdup(json_string_value(v));
	type = json_string_value(json_object_get(data, "type"));
	opts = json_object_get(data, "options");
	if (type != NULL && (strcmp(type, "kv") == 0 ||
	    strcmp(type, "generic") == 0)) {
		*kv_version = 1;
		v = json_object_get(opts, "version");
		if (json_is_string(v) && strcmp(json_string_value(v), "2") == 0)
			*kv_version = 2;
	}
	json_decref(root);
	return 0;
}

double
vj_retry_after(const char *value, size_t len, time_t now)
{
	char buf[64], *end;
	const char *p = value, *e = value + len;
	struct tm tm;
	double d;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	if (p == e || (size_t)(e - p) >= sizeof(buf))
		return 0;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	if (buf[0] >= '0' && buf[0] <= '9') {
		d = strtod(buf, &end);
		if (*end != '\0')
			return 0;
	} else {
		/* IMF-fixdate, the one form RFC 9110 senders use. */
		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
			return 0;
		d = difftime(timegm(&tm), now);
	}
	if (d < 0)
		return 0;
	return d > 86400 ? 86400 : d;
}

/* Does Vault's error text (any element of "errors") contain needle? */
static int
error_has(const char *body, size_t len, const char *needle)
{
	json_t *root, *errs, *e;
	size_t i;
	int found = 0;

	root = json_loadb(body, len, 0, NULL);
	errs = json_object_get(root, "errors");
	json_array_foreach(errs, i, e)
		if (json_is_string(e) && strstr(json_string_value(e), needle))
			found = 1;
	json_decref(root);
	return found;
}

int
vj_backend_failure(long status, const char *body, size_t len)
{
	if (status != 400 || body == NULL)
		return 0;
	return error_has(body, len, "failed to renew entry") ||
	    error_has(body, len, "failed to revoke entry");
}

int
vj_policy_denied(long status, const char *body, size_t len)
{
	if (status != 403 || body == NULL)
		return 0;
	return error_has(body, len, "permission denied") &&
	    !error_has(body, len, "invalid token");
}

int
vj_cert_unrevoked(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root, *w;
	const char *text;
	size_t n = 0;
	int unrevoked;

	out[0] = '\0';
	if (body == NULL || (root = json_loadb(body, len, 0, NULL)) == NULL)
		return 0;
	unrevoked = vj_seconds(json_object_get(json_object_get(root, "data"),
	    "revocation_time")) <= 0;
	w = json_array_get(json_object_get(root, "warnings"), 0);
	if (unrevoked && (text = json_string_value(w)) != NULL)
		append_error(out, outlen, &n, text, strcspn(text, "\r\n"));
	json_decref(root);
	return unrevoked;
}

int
vj_revoke_settled(long status)
{
	return status == 200 || status == 202 || status == 204 || status == 403;
}

void
vj_policy_hint(const char *path, char *out, size_t outlen)
{
	/*
	 * The default policy's rules for the token's own endpoints
	 * (hashicorp/vault vault/policy_store.go, defaultPolicy).
	 */
	const char *cap = strcmp(path, "auth/token/lookup-self") == 0 ?
	    "read" : "update";

	snprintf(out, outlen, "the token is valid but its policies lack "
	    "path \"%s\" { capabilities = [\"%s\"] }, which the default "
	    "policy grants (was it made with no_default_policy?)", path, cap);
}

int
vj_login_mfa(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root, *auth, *mfa, *cons, *ct, *c, *any, *m;
	const char *name = NULL, *type = NULL;
	size_t i;
	int hit;

	out[0] = '\0';
	root = json_loadb(body, len, 0, NULL);
	auth = json_object_get(root, "auth");
	ct = json_object_get(auth, "client_token");
	mfa = json_object_get(auth, "mfa_requirement");
	hit = json_is_object(mfa) ||
	    (json_is_string(ct) && json_string_length(ct) == 0);
	if (hit && json_is_object(mfa)) {
		cons = json_object_get(mfa, "mfa_constraints");
		json_object_foreach(cons, name, c) {
			any = json_object_get(c, "any");
			json_array_foreach(any, i, m) {
				if (json_is_string(json_object_get(m, "type"))) {
					type = json_string_value(json_object_get(m,
					    "type"));
					break;
				}
			}
			break;
		}
		snprintf(out, outlen, "the login needs multi-factor "
		    "authentication (Vault answered with an MFA requirement%s%s%s"
		    "%s%s and no token); leasewrap cannot answer MFA: exempt "
		    "this auth method or role from the login MFA enforcement",
		    name ? " of enforcement \"" : "", name ? name : "",
		    name ? "\"" : "", type ? ", method " : "", type ? type : "");
	} else if (hit)
		snprintf(out, outlen, "Vault's login answer holds an empty "
		    "client_token; check the auth method and role");
	vj_wipe_decref(root);
	return hit;
}

int
vj_kv2_gone(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root, *data, *meta, *v;
	const char *when;
	long long version = 0;
	int gone = 0;

	out[0] = '\0';
	root = json_loadb(body, len, 0, NULL);
	data = json_object_get(root, "data");
	meta = json_object_get(data, "metadata");
	if (json_is_object(meta) && json_is_null(json_object_get(data, "data"))
	    ) {
		if (json_is_integer(v = json_object_get(meta, "version")))
			version = json_integer_value(v);
		when = json_string_value(json_object_get(meta,
		    "deletion_time"));
		if (json_is_true(json_object_get(meta, "destroyed"))) {
			snprintf(out, outlen, "its version %lld was destroyed; "
			    "write a new version (vault kv put)", version);
			gone = 1;
		} else if (when != NULL && *when != '\0') {
			snprintf(out, outlen, "its version %lld was deleted at "
			    "%s; undelete it (vault kv undelete -versions=%lld) "
			    "or write a new version", version, when, version);
			gone = 1;
		}
	}
	vj_wipe_decref(root);
	return gone;
}

int
vj_namespace_hint(const char *path, const char *ns, char *out, size_t outlen)
{
	out[0] = '\0';
	if ((ns != NULL && *ns != '\0') || strncmp(path, "admin/", 6) != 0)
		return 0;
	snprintf(out, outlen, "secret path \"%s\" starts with \"admin/\", the "
	    "namespace of HCP Vault, but no namespace is set: the read may "
	    "work through the path, but token and lease calls (lookup-self, "
	    "renew, revoke) go to the root namespace; set VAULT_NAMESPACE="
	    "admin and drop the prefix", path);
	return 1;
}

int
vj_retryable(const struct vault_resp *r)
{
	if (r->too_big || r->tls_error || r->fatal)
		return 0;
	return r->status == 0 || r->status == 412 || r->status == 429 ||
	    (r->status >= 500 && r->status != 501);
}

void
vj_reason(const struct vault_resp *r, char *out, size_t len)
{
	char verr[256];

	vj_error_text(r->body, r->len, verr, sizeof(verr));
	if (verr[0] == '\0' && r->error != NULL)
		snprintf(verr, sizeof(verr), "%s", r->error);
	snprintf(out, len, "%ld%s%s", r->status, verr[0] ? ": " : "", verr);
}

/* No HTTP answer: a configuration mistake, too large, TLS, or unreachable. */
static int
transport_failure(const struct vault_resp *r, const struct vj_what *w,
    char *msg, size_t len)
{
	static const char *const verbs[] = { "reading", "logging in at",
	    "unwrapping at" };

	if (r->fatal) {
		/* A configuration mistake vault.c has put in words (a redirect, plain HTTP). */
		snprintf(msg, len, "%s", r->error);
		return LW_EXIT_CONFIG;
	}
	if (r->too_big) {
		snprintf(msg, len, "%s \"%s\": Vault's answer is larger than %zu "
		    "bytes; is VAULT_ADDR a Vault server?", verbs[w->op],
		    w->path, w->max_response);
		return LW_EXIT_DATAERR;
	}
	if (r->tls_error) {
		snprintf(msg, len, "TLS with Vault at %s failed: %s; set "
		    "VAULT_CACERT (--ca-cert) to the CA of its certificate, or "
		    "VAULT_TLS_SERVER_NAME to the name in it", w->vault_addr,
		    r->error);
		return LW_EXIT_CONFIG;
	}
	snprintf(msg, len, "cannot reach Vault at %s: %s; check VAULT_ADDR and "
	    "that Vault is up", w->vault_addr, r->error);
	return LW_EXIT_UNAVAILABLE;
}

/* A read that Vault answered with an error. */
static int
read_failure(const struct vault_resp *r, const struct vj_what *w,
    const char *verr, char *msg, size_t len)
{
	const char *sep = verr[0] ? ": " : "";
	char gone[256];

	/*
	 * logical.ErrInvalidToken ("invalid token", sdk/logical/error.go) is
	 * what vault/request_handling.go CheckToken answers for a token it does
	 * not know: expired or revoked, not a policy matter.
	 */
	if (r->status == 403 && strstr(verr, "invalid token") != NULL) {
		snprintf(msg, len, "the token is invalid or expired: Vault "
		    "refused it reading \"%s\" (403: invalid token); see \"vault "
		    "token lookup\", then set VAULT_TOKEN or log in again",
		    w->path);
		return LW_EXIT_NOPERM;
	}
	if (r->status == 403) {
		snprintf(msg, len, "permission denied reading \"%s\" (403); "
		    "check the token's policies", w->path);
		return LW_EXIT_NOPERM;
	}
	if (r->status == 404 && vj_kv2_gone(r->body, r->len, gone,
	    sizeof(gone))) {
		snprintf(msg, len, "secret \"%s\" has no current version "
		    "(404): %s", w->path, gone);
		return LW_EXIT_DATAERR;
	}
	if (r->status == 404) {
		snprintf(msg, len, "no secret at \"%s\" (404); check the path",
		    w->path);
		return LW_EXIT_DATAERR;
	}
	/* 412: a performance standby not yet caught up (ErrMissingRequiredState). */
	if (r->status == 412 || r->status == 429 || r->status >= 500) {
		snprintf(msg, len, "Vault is unavailable reading \"%s\" "
		    "(%ld%s%s); try again later", w->path, r->status, sep, verr);
		return LW_EXIT_UNAVAILABLE;
	}
	snprintf(msg, len, "Vault refused to read \"%s\" (%ld%s%s)", w->path,
	    r->status, sep, verr);
	return LW_EXIT_DATAERR;
}

/* A login or an unwrap that Vault answered with an error. */
static int
login_failure(const struct vault_resp *r, const struct vj_what *w,
    const char *verr, char *msg, size_t len)
{
	const char *sep = verr[0] ? ": " : "";

	if (r->status == 429 || r->status >= 500) {
		snprintf(msg, len, "Vault is unavailable for %s (%ld%s%s)",
		    w->op == VJ_UNWRAP ? "sys/wrapping/unwrap" : w->path,
		    r->status, sep, verr);
		return LW_EXIT_UNAVAILABLE;
	}
	if (w->op == VJ_UNWRAP &&
	    strstr(verr, "wrapping token is not valid") != NULL)
		snprintf(msg, len, "the wrapped secret ID in \"%s\" was already "
		    "unwrapped or has expired (400: %s): someone may have "
		    "intercepted it; issue a new one", w->file, verr);
	else if (w->op == VJ_UNWRAP)
		snprintf(msg, len, "cannot unwrap the secret ID in \"%s\" "
		    "(%ld%s%s)", w->file, r->status, sep, verr);
	else
		snprintf(msg, len, "%s login at %s was refused (%ld%s%s); check "
		    "%s", w->method, w->path, r->status, sep, verr, w->check);
	return LW_EXIT_NOPERM;
}

int
vj_failure(const struct vault_resp *r, const struct vj_what *w, char *msg,
    size_t len)
{
	char verr[256];

	if (r->status == 0)
		return transport_failure(r, w, msg, len);
	vj_error_text(r->body, r->len, verr, sizeof(verr));
	if (w->op == VJ_READ)
		return read_failure(r, w, verr, msg, len);
	return login_failure(r, w, verr, msg, len);
}

/* Parse an answer; NULL if it is not JSON. */
static json_t *
load(const char *body, size_t len)
{
	return json_loadb(body, len, 0, NULL);
}

int
vj_parse_lookup(const char *body, size_t len, struct vj_token *t)
{
	json_t *root = load(body, len), *d;

	memset(t, 0, sizeof(*t));
	if (root == NULL)
		return -1;
	d = json_object_get(root, "data");
	t->ttl = vj_seconds(json_object_get(d, "ttl"));
	t->renewable = json_is_true(json_object_get(d, "renewable"));
	t->creation_ttl = vj_seconds(json_object_get(d, "creation_ttl"));
	if (t->creation_ttl <= 0)
		t->creation_ttl = t->ttl;
	vj_wipe_decref(root);
	return 0;
}

int
vj_parse_auth(const char *body, size_t len, struct vj_token *t)
{
	json_t *root = load(body, len), *a, *ct;

	memset(t, 0, sizeof(*t));
	if (root == NULL)
		return -1;
	a = json_object_get(root, "auth");
	ct = json_object_get(a, "client_token");
	if (json_is_string(ct))
		t->client_token = secret_new(json_string_value(ct),
		    json_string_length(ct));
	t->ttl = vj_seconds(json_object_get(a, "lease_duration"));
	t->creation_ttl = t->ttl;
	t->renewable = json_is_true(json_object_get(a, "renewable"));
	vj_wipe_decref(root);
	return 0;
}

int
vj_parse_renewal(const char *body, size_t len, double *ttl, int *renewable)
{
	json_t *root = load(body, len);

	if (root == NULL)
		return -1;
	*ttl = vj_seconds(json_object_get(root, "lease_duration"));
	*renewable = json_is_true(json_object_get(root, "renewable"));
	vj_wipe_decref(root);
	return 0;
}

int
vj_parse_unwrap(const char *body, size_t len, struct secret **out)
{
	json_t *root = load(body, len), *sid;

	*out = NULL;
	sid = json_object_get(json_object_get(root, "data"), "secret_id");
	if (json_is_string(sid))
		*out = secret_new(json_string_value(sid),
		    json_string_length(sid));
	vj_wipe_decref(root);
	return *out != NULL ? 0 : -1;
}

char *
vj_lease_body(const char *lease_id, long long increment)
{
	json_t *body = increment >= 0 ? json_pack("{s:s,s:I}", "lease_id",
	    lease_id, "increment", (json_int_t)increment) :
	    json_pack("{s:s}", "lease_id", lease_id);
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	return text;
}
