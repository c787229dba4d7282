/* template.c: parse and render "{{ PATH#FIELD | filter }}" texts (template.h). */
#define _GNU_SOURCE
#include "template.h"
#include "envfile.h"
#include "secret.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_HINT "placeholders are {{ PATH#FIELD }} or {{ PATH#FIELD | " \
	"FILTER }}, FILTER one of url, json, base64"

static const char *const filter_names[] = {
	[TF_URL] = "url", [TF_JSON] = "json", [TF_BASE64] = "base64",
};

const char *
tmpl_filter_name(int f)
{
	return f >= TF_URL && f <= TF_BASE64 ? filter_names[f] : "?";
}

/* The n bytes at p without the spaces and tabs around them. */
static const char *
trim(const char *p, size_t *n)
{
	while (*n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		(*n)--;
	}
	while (*n > 0 && (p[*n - 1] == ' ' || p[*n - 1] == '\t'))
		(*n)--;
	return p;
}

/* The filter named by n bytes at p; 0 if none is. */
static int
filter_by_name(const char *p, size_t n)
{
	int f;

	for (f = TF_URL; f <= TF_BASE64; f++)
		if (strlen(filter_names[f]) == n &&
		    memcmp(filter_names[f], p, n) == 0)
			return f;
	return 0;
}

/* Parse the n bytes between "{{" and "}}" into part's ref and filters. */
static int
parse_placeholder(const char *p, size_t n, const char *what,
    struct tmpl_part *part, char *err, size_t errlen)
{
	const char *end = p + n, *bar = memchr(p, '|', n), *q, *next;
	size_t rn = bar != NULL ? (size_t)(bar - p) : n, fn;
	char *ref;
	int rc, f;

	q = trim(p, &rn);
	if (rn == 0)
		return errf(err, errlen, "%s: an empty placeholder; %s", what,
		    TMPL_HINT);
	ref = xstrndup(q, rn);
	rc = strchr(ref, '{') != NULL ? errf(err, errlen, "%s: \"{\" inside "
	    "a placeholder (is a \"}}\" missing?); %s", what, TMPL_HINT) :
	    spec_parse_path(ref, &part->ref, what, err, errlen);
	free(ref);
	if (rc == -1)
		return -1;
	/* Each "| FILTER" in turn. */
	for (; bar != NULL; bar = next) {
		q = bar + 1;
		next = memchr(q, '|', (size_t)(end - q));
		fn = (size_t)((next != NULL ? next : end) - q);
		q = trim(q, &fn);
		if ((f = filter_by_name(q, fn)) == 0)
			return errf(err, errlen, "%s: unknown filter \"%.*s\"; "
			    "%s", what, (int)(fn < 20 ? fn : 20), q, TMPL_HINT);
		if (part->nfilters == TMPL_MAX_FILTERS)
			return errf(err, errlen, "%s: more than %d filters in "
			    "one placeholder", what, TMPL_MAX_FILTERS);
		part->filters[part->nfilters++] = f;
	}
	return 0;
}

/* Append an empty part to t. */
static struct tmpl_part *
add_part(struct tmpl *t, const char *lit, size_t litlen)
{
	struct tmpl_part *part;

	t->parts = xrealloc(t->parts, (t->nparts + 1) * sizeof(*t->parts));
	part = &t->parts[t->nparts++];
	memset(part, 0, sizeof(*part));
	part->lit = xstrndup(lit, litlen);
	part->litlen = litlen;
	return part;
}

int
tmpl_parse(const char *text, size_t len, const char *what, struct tmpl *t,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *open, *close;
	struct tmpl_part *part;

	memset(t, 0, sizeof(*t));
	while ((open = memmem(p, (size_t)(end - p), "{{", 2)) != NULL) {
		part = add_part(t, p, (size_t)(open - p));
		if ((close = memmem(open + 2, (size_t)(end - open - 2),
		    "}}", 2)) == NULL) {
			errf(err, errlen, "%s: a \"{{\" at byte %zu has no "
			    "\"}}\"; %s", what, (size_t)(open - text),
			    TMPL_HINT);
			goto fail;
		}
		if (parse_placeholder(open + 2, (size_t)(close - open - 2),
		    what, part, err, errlen) == -1)
			goto fail;
		t->nrefs++;
		p = close + 2;
	}
	if (t->nrefs == 0) {
		errf(err, errlen, "%s: no placeholder; %s", what, TMPL_HINT);
		goto fail;
	}
	add_part(t, p, (size_t)(end - p));
	return 0;
fail:
	tmpl_free(t);
	return -1;
}

int
tmpl_field(const char *pf, const char *what, struct tmpl *t, char *err,
    size_t errlen)
{
	struct tmpl_part *part;

	memset(t, 0, sizeof(*t));
	part = add_part(t, "", 0);
	if (spec_parse_path(pf, &part->ref, what, err, errlen) == -1) {
		tmpl_free(t);
		return -1;
	}
	t->nrefs = 1;
	add_part(t, "", 0);
	return 0;
}

/* Percent-encode every byte but A-Z a-z 0-9 - . _ ~ (RFC 3986, section 2.3). */
static struct secret *
url_encode(const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	struct secret *r;
	size_t i, k = 0, cap = 3 * n + 1;
	char *o = xmalloc(cap);

	for (i = 0; i < n; i++) {
		if ((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' &&
		    v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
		    v[i] == '-' || v[i] == '.' || v[i] == '_' || v[i] == '~')
			o[k++] = (char)v[i];
		else {
			o[k++] = '%';
			o[k++] = hex[v[i] >> 4];
			o[k++] = hex[v[i] & 15];
		}
	}
	r = secret_new(o, k);
	secret_wipe(o, cap);
	free(o);
	return r;
}

/* Standard base64 with padding (RFC 4648, section 4). */
static struct secret *
base64_encode(const unsigned char *v, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct secret *r;
	size_t i, k = 0, cap = 4 * (n / 3 + 1) + 1;
	char *o = xmalloc(cap);
	unsigned long w;

	for (i = 0; i + 2 < n; i += 3) {
		w = ((unsigned long)v[i] << 16) | ((unsigned long)v[i + 1] << 8)
		    | v[i + 2];
		o[k++] = b64[(w >> 18) & 63];
		o[k++] = b64[(w >> 12) & 63];
		o[k++] = b64[(w >> 6) & 63];
		o[k++] = b64[w & 63];
	}
	if (i < n) {
		w = ((unsigned long)v[i] << 16) | (i + 1 < n ?
		    (unsigned long)v[i + 1] << 8 : 0);
		o[k++] = b64[(w >> 18) & 63];
		o[k++] = b64[(w >> 12) & 63];
		o[k++] = i + 1 < n ? b64[(w >> 6) & 63] : '=';
		o[k++] = '=';
	}
	r = secret_new(o, k);
	secret_wipe(o, cap);
	free(o);
	return r;
}

struct secret *
tmpl_filter(int filter, const char *v, size_t n)
{
	switch (filter) {
	case TF_URL:
		return url_encode((const unsigned char *)v, n);
	case TF_JSON:
		return envfile_json_string(v, n);
	case TF_BASE64:
		return base64_encode((const unsigned char *)v, n);
	default:
		return NULL;
	}
}

/* A placeholder's value through its filters; NULL with a message if one cannot carry it. */
static struct secret *
filtered(const struct tmpl_part *part, struct secret *val, char *err,
    size_t errlen)
{
	struct secret *next;
	size_t i;

	for (i = 0; i < part->nfilters && val != NULL; i++) {
		next = tmpl_filter(part->filters[i], secret_str(val),
		    secret_len(val));
		if (next == NULL)
			errf(err, errlen, "{{ %s#%s | %s }}: the value is not "
			    "UTF-8, which a JSON string cannot carry exactly; "
			    "use | base64", part->ref.path, part->ref.field,
			    tmpl_filter_name(part->filters[i]));
		secret_free(val);
		val = next;
	}
	return val;
}

struct secret *
tmpl_render(const struct tmpl *t, tmpl_lookup lookup, void *arg, char *err,
    size_t errlen)
{
	struct secret **vals = xcalloc(t->nparts, sizeof(*vals)), *r = NULL;
	size_t i, len = 0, k = 0;
	char *buf;

	for (i = 0; i < t->nparts; i++) {
		len += t->parts[i].litlen;
		if (t->parts[i].ref.path == NULL)
			continue;
		if (lookup(arg, &t->parts[i].ref, &vals[i], err, errlen) == -1 ||
		    (vals[i] = filtered(&t->parts[i], vals[i], err,
		    errlen)) == NULL)
			goto done;
		len += secret_len(vals[i]);
	}
	buf = xmalloc(len + 1);
	for (i = 0; i < t->nparts; i++) {
		memcpy(buf + k, t->parts[i].lit, t->parts[i].litlen);
		k += t->parts[i].litlen;
		if (vals[i] != NULL) {
			memcpy(buf + k, secret_str(vals[i]), secret_len(vals[i]));
			k += secret_len(vals[i]);
		}
	}
	r = secret_new(buf, k);
	secret_wipe(buf, len + 1);
	free(buf);
done:
	for (i = 0; i < t->nparts; i++)
		secret_free(vals[i]);
	free(vals);
	return r;
}

void
tmpl_free(struct tmpl *t)
{
	size_t i;

	for (i = 0; i < t->nparts; i++) {
		free(t->parts[i].lit);
		spec_clear(&t->parts[i].ref);
	}
	free(t->parts);
	memset(t, 0, sizeof(*t));
}
