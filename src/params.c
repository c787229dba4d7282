/* params.c: a secret path's "?key=value&..." parameters (params.h). */
#include "params.h"
#include "dl.h"
#include "envfile.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The value of one hex digit; -1 if c is none. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of p ("+" is a space) into a fresh string; NULL on a bad escape. */
static char *
decode(const char *p, size_t n, size_t *outlen)
{
	char *o = xmalloc(n + 1);
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (p[i] == '+')
			o[k++] = ' ';
		else if (p[i] != '%')
			o[k++] = p[i];
		else if (i + 2 < n &&
		    (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)p[i + 2])) >= 0) {
			o[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			free(o);
			return NULL;
		}
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

/*
 * Walk the query's pairs, putting each into obj when it is not NULL.
 * -1 with a message on a pair without "=", an empty key, a bad escape,
 * a key given twice or bytes that are not UTF-8.
 */
static int
walk(const char *q, json_t *obj, char *err, size_t errlen)
{
	json_t *seen = json_object();
	const char *amp, *eq;
	char *k = NULL, *v = NULL;
	size_t n, kl, vl;
	int rc = 0;

	for (; rc == 0; q = amp + 1) {
		amp = strchr(q, '&');
		n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', n);
		if (eq == NULL || eq == q)
			rc = errf(err, errlen, "parameter %zu after \"?\" is not "
			    "KEY=VALUE", json_object_size(seen) + 1);
		else if ((k = decode(q, (size_t)(eq - q), &kl)) == NULL ||
		    (v = decode(eq + 1, n - (size_t)(eq - q) - 1, &vl)) == NULL)
			rc = errf(err, errlen, "a bad %%-escape in parameter %zu "
			    "after \"?\" (write %%25 for %%)",
			    json_object_size(seen) + 1);
		else if (!envfile_utf8_ok(k, kl) || !envfile_utf8_ok(v, vl) ||
		    memchr(k, '\0', kl) != NULL)
			rc = errf(err, errlen, "parameter %zu after \"?\" is not "
			    "UTF-8 text", json_object_size(seen) + 1);
		else if (json_object_get(seen, k) != NULL)
			rc = errf(err, errlen, "parameter \"%.40s\" is given twice",
			    k);
		else {
			json_object_set_new(seen, k, json_true());
			if (obj != NULL)
				json_object_set_new(obj, k, json_stringn(v, vl));
		}
		free(k);
		free(v);
		k = v = NULL;
		if (amp == NULL)
			break;
	}
	json_decref(seen);
	return rc;
}

int
params_check(const char *query, char *err, size_t errlen)
{
	/*
	 * At config time this may be the run's first JSON.  Without jansson
	 * the check waits: the Vault client stops the run with that line.
	 */
	if (dl_jansson(err, errlen) == -1)
		return 0;
	return walk(query, NULL, err, errlen);
}

int
params_is_read(const char *path)
{
	const char *q = strchr(path, '?');
	size_t i;

	if (q == NULL)
		return 1;
	if (strncmp(q + 1, "version=", 8) != 0 || q[9] == '\0')
		return 0;
	for (i = 9; q[i] != '\0'; i++)
		if (q[i] < '0' || q[i] > '9')
			return 0;
	return 1;
}

char *
params_base(const char *path)
{
	const char *q = strchr(path, '?');

	return q != NULL ? xstrndup(path, (size_t)(q - path)) : xstrdup(path);
}

char *
params_json(const char *path)
{
	const char *q = strchr(path, '?');
	char err[128], *s;
	json_t *obj;

	if (q == NULL)
		return NULL;
	obj = json_object();
	if (walk(q + 1, obj, err, sizeof(err)) == -1) {
		json_decref(obj);
		return NULL;
	}
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return s;
}
