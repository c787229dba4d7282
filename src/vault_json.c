/* vault_json.c: parse Vault's envelope (vault-api.md §1.3, §1.4, §7). */
#define _GNU_SOURCE	/* strptime, timegm */
#include "vault_json.h"
#include "secret.h"
#include "util.h"

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
vj_revoke_settled(long status)
{
	return status == 200 || status == 202 || status == 204 || status == 403;
}

void
vj_policy_hint(const char *path, char *out, size_t outlen)
{
	/* The default policy's rules for the token's own endpoints (§3.4). */
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
