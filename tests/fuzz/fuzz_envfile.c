/*
 * fuzz_envfile.c: libFuzzer harness for src/envfile.c's renderer.  The
 * input is split at NUL bytes into up to 8 values (no value can hold NUL);
 * each is rendered in every --env-file-format and read back by a C
 * re-implementation of that format's readers, the oracle:
 *   dotenv: python-dotenv 0.21 (parser.py: _single_quoted_value,
 *           _double_quoted_value, _unquoted_value, decode_escapes, and
 *           ${...} interpolation in variables.py) and node's dotenv 16-17
 *           (lib/main.js: LINE, CR normalisation, trim, quote removal,
 *           \n and \r in double quotes), and a POSIX shell sourcing it
 *           (inert: nothing expanded or run; exact but for \n and \r);
 *   shell:  POSIX sh single quotes and backslash outside them;
 *   json:   jansson's json_loads.
 * A rendered file must give back exactly the names and the bytes of every
 * value; a refusal is allowed only in dotenv (and json for non-UTF-8).
 *
 * Built and run by `make fuzz` (FUZZERS in the Makefile).
 */
#include "envfile.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 8

struct kv {
	char	name[8];
	char	*val;
	size_t	 len;
};

/* Stop the run: the oracle and the renderer disagree. */
static void
fail(const char *why, const char *text)
{
	fprintf(stderr, "fuzz_envfile: %s\n--- file ---\n%s\n---\n", why, text);
	abort();
}

/* Parse "NAME=" at *p; the name's length, or 0. */
static size_t
read_name(const char *p, char *name)
{
	size_t n = 0;

	while (n < 7 && ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' &&
	    p[n] <= '9') || p[n] == '_'))
		n++;
	if (n == 0 || p[n] != '=')
		return 0;
	memcpy(name, p, n);
	name[n] = '\0';
	return n;
}

/* Is c whitespace for python's \s on str (the ASCII part; no other is emitted bare)? */
static int
py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/*
 * python-dotenv: the value at p (after '='), into out; *end after the
 * line.  -1 where python-dotenv would read something else than a plain
 * value (or fail on the line).
 */
static int
py_value(const char *p, const char **end, char *out, size_t *olen)
{
	size_t n = 0;
	const char *q;

	while (*p == ' ' || *p == '\t')		/* _equal_sign: =[^\S\r\n]* */
		p++;
	if (*p == '\'' || *p == '"') {
		char quote = *p++;

		for (q = p; *q != '\0' && *q != quote; q++)
			if (*q == '\\' && (q[1] == quote))
				q++;
		if (*q != quote)
			return -1;
		while (p < q) {
			if (*p == '\\' && p + 1 < q && (quote == '\'' ?
			    strchr("\\'", p[1]) != NULL :
			    strchr("\\'\"abfnrtv", p[1]) != NULL)) {
				static const char from[] = "\\'\"abfnrtv";
				static const char to[] = "\\'\"\a\b\f\n\r\t\v";

				out[n++] = to[strchr(from, p[1]) - from];
				p += 2;
			} else
				out[n++] = *p++;
		}
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#')
			while (*p != '\0' && *p != '\r' && *p != '\n')
				p++;
	} else {
		for (q = p; *q != '\0' && *q != '\r' && *q != '\n'; q++)
			;
		memcpy(out, p, (size_t)(q - p));
		n = (size_t)(q - p);
		/* re.sub(r"\s+#.*", "", part).rstrip() */
		for (size_t i = 1; i < n; i++)
			if (out[i] == '#' && py_space((unsigned char)out[i - 1])) {
				n = i - 1;
				while (n > 0 && py_space((unsigned char)out[n - 1]))
					n--;
				break;
			}
		while (n > 0 && py_space((unsigned char)out[n - 1]))
			n--;
		p = q;
	}
	if (*p == '\r')
		p++;
	if (*p == '\n')
		p++;
	else if (*p != '\0')
		return -1;
	*end = p;
	out[n] = '\0';
	/* Interpolation: ${NAME} and ${NAME:-default} are expanded. */
	if (strstr(out, "${") != NULL && strchr(strstr(out, "${"), '}') != NULL)
		return -1;
	*olen = n;
	return 0;
}

/* Is the UTF-8 at p a JavaScript line terminator (U+2028, U+2029)? */
static int
js_lineterm(const char *p)
{
	return (unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
	    ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9);
}

/*
 * node's dotenv on text whose CRs were already made LFs: the value after
 * '=' at p; -1 where the first, greedy path of LINE does not end at the
 * line's end (the real regex would backtrack into something else).
 */
static int
node_value(const char *p, const char **end, char *out, size_t *olen)
{
	size_t n = 0;
	const char *q, *s = p;
	char quote = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\'' || *p == '"' || *p == '`') {
		quote = *p;
		for (q = p + 1; *q != '\0' && *q != quote; q++)
			if (*q == '\\' && q[1] == quote)
				q++;
		if (*q != quote)
			return -1;
		q++;
		memcpy(out, p + 1, (size_t)(q - p - 2));
		n = (size_t)(q - p - 2);
	} else {
		for (q = s; *q != '\0' && *q != '#' && *q != '\n'; q++)
			;
		memcpy(out, s, (size_t)(q - s));
		n = (size_t)(q - s);
		/* String.prototype.trim: only ASCII whitespace is emitted bare. */
		while (n > 0 && py_space((unsigned char)out[n - 1]))
			n--;
		if (n > 0 && (out[0] == '\'' || out[0] == '"' || out[0] == '`'))
			return -1;	/* quote removal could apply */
	}
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '#')
		while (*q != '\0' && *q != '\n' && !js_lineterm(q))
			q++;
	if (*q == '\n')
		q++;
	else if (*q != '\0')
		return -1;
	*end = q;
	out[n] = '\0';
	if (quote == '"') {
		/* value.replace(/\\n/g, '\n').replace(/\\r/g, '\r') */
		size_t i, k = 0;

		for (i = 0; i < n; i++)
			if (out[i] == '\\' && (out[i + 1] == 'n' || out[i + 1] == 'r')) {
				out[k++] = out[i + 1] == 'n' ? '\n' : '\r';
				i++;
			} else
				out[k++] = out[i];
		n = k;
		out[n] = '\0';
	}
	*olen = n;
	return 0;
}

/* POSIX sh: NAME='...' with '\'' runs; -1 for anything else. */
static int
sh_value(const char *p, const char **end, char *out, size_t *olen)
{
	size_t n = 0;

	for (;;) {
		if (*p == '\'') {
			for (p++; *p != '\0' && *p != '\''; p++)
				out[n++] = *p;
			if (*p++ != '\'')
				return -1;
		} else if (*p == '\\' && p[1] == '\'') {
			out[n++] = '\'';
			p += 2;
		} else
			break;
	}
	if (*p != '\n')
		return -1;
	*end = p + 1;
	out[n] = '\0';
	*olen = n;
	return 0;
}

/*
 * A POSIX shell sourcing a dotenv file: bare words of inert characters,
 * '...' as it is, "..." with \\ \$ \` \" decoded; -1 on anything a
 * shell would expand or run ($, `, operators, globs, ~).
 */
static int
sh_dotenv_value(const char *p, const char **end, char *out, size_t *olen)
{
	size_t n = 0;

	if (*p == '\'') {
		for (p++; *p != '\0' && *p != '\''; p++)
			out[n++] = *p;
		if (*p++ != '\'')
			return -1;
	} else if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '$' || *p == '`')
				return -1;
			if (*p == '\\' && p[1] != '\0' &&
			    strchr("\\$`\"\n", p[1]) != NULL)
				p++;
			out[n++] = *p;
		}
		if (*p++ != '"')
			return -1;
	} else
		while (*p != '\n' && *p != '\0') {
			if (strchr("_-.,:/@%+=", *p) == NULL &&
			    !(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
			    !(*p >= '0' && *p <= '9'))
				return -1;
			out[n++] = *p++;
		}
	if (*p != '\n')
		return -1;
	*end = p + 1;
	out[n] = '\0';
	*olen = n;
	return 0;
}

typedef int (*reader_fn)(const char *, const char **, char *, size_t *);

/* Read text with one reader; fail unless it gives back exactly vals. */
static void
check_lines(const char *text, reader_fn read, const struct kv *vals,
    size_t nvals, const char *who)
{
	const char *p = text, *end;
	char name[8], *buf = malloc(strlen(text) + 1);
	size_t i = 0, n, len;

	while (*p != '\0') {
		if ((n = read_name(p, name)) == 0 || i >= nvals ||
		    strcmp(name, vals[i].name) != 0)
			fail(who, text);
		if (read(p + n + 1, &end, buf, &len) == -1 ||
		    len != vals[i].len || memcmp(buf, vals[i].val, len) != 0)
			fail(who, text);
		p = end;
		i++;
	}
	if (i != nvals)
		fail(who, text);
	free(buf);
}

/* sh sourcing a dotenv file: inert always, exact without CR and LF. */
static void
check_sh_dotenv(const char *text, const struct kv *vals, size_t nvals)
{
	const char *p = text, *end;
	char name[8], *buf = malloc(strlen(text) + 1);
	size_t i = 0, n, len;

	while (*p != '\0' && i < nvals) {
		if ((n = read_name(p, name)) == 0 ||
		    sh_dotenv_value(p + n + 1, &end, buf, &len) == -1)
			fail("sh: a dotenv line a shell would expand", text);
		if (memchr(vals[i].val, '\n', vals[i].len) == NULL &&
		    memchr(vals[i].val, '\r', vals[i].len) == NULL &&
		    (len != vals[i].len || memcmp(buf, vals[i].val, len) != 0))
			fail("sh: a dotenv value differs", text);
		p = end;
		i++;
	}
	if (*p != '\0' || i != nvals)
		fail("sh: not one line per value", text);
	free(buf);
}

/* jansson: the object must hold exactly vals, in any order. */
static void
check_json(const char *text, const struct kv *vals, size_t nvals)
{
	json_t *root = json_loads(text, 0, NULL), *v;
	size_t i;

	if (root == NULL || !json_is_object(root) || json_object_size(root) !=
	    nvals)
		fail("json: not an object of the values", text);
	for (i = 0; i < nvals; i++) {
		v = json_object_get(root, vals[i].name);
		if (!json_is_string(v) || json_string_length(v) != vals[i].len ||
		    memcmp(json_string_value(v), vals[i].val, vals[i].len) != 0)
			fail("json: a value differs", text);
	}
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv vals[MAXV];
	char *vars[MAXV], *text, err[512], *norm;
	size_t nvals = 0, i, start = 0, len, k;
	int fmt, utf8 = 1, r;

	for (i = 0; i <= size && nvals < MAXV; i++)
		if (i == size || data[i] == '\0') {
			struct kv *v = &vals[nvals];

			snprintf(v->name, sizeof(v->name), "V%zu", nvals);
			v->len = i - start;
			v->val = malloc(v->len + 1);
			memcpy(v->val, data + start, v->len);
			v->val[v->len] = '\0';
			vars[nvals] = malloc(v->len + 4);
			snprintf(vars[nvals], v->len + 4, "%s=%s", v->name, v->val);
			utf8 = utf8 && envfile_utf8_ok(v->val, v->len);
			nvals++;
			start = i + 1;
		}
	for (fmt = ENVFILE_DOTENV; fmt <= ENVFILE_JSON; fmt++) {
		r = envfile_render(fmt, vars, nvals, &text, &len, err,
		    sizeof(err));
		if (r == -1) {
			if (fmt == ENVFILE_SHELL || (fmt == ENVFILE_JSON && utf8))
				fail("refused a value the format carries", err);
			if (strchr(err, '\n') != NULL)
				fail("a refusal of more than one line", err);
			continue;
		}
		if (strlen(text) != len)
			fail("a NUL in the rendered file", text);
		if (fmt == ENVFILE_SHELL)
			check_lines(text, sh_value, vals, nvals, "sh");
		else if (fmt == ENVFILE_JSON)
			check_json(text, vals, nvals);
		else {
			/* Both read CR and CRLF as LF first: python's universal
			 * newlines, node's replace(/\r\n?/mg, '\n'). */
			norm = malloc(len + 1);
			for (i = 0, k = 0; i < len; i++)
				if (text[i] == '\r') {
					norm[k++] = '\n';
					if (text[i + 1] == '\n')
						i++;
				} else
					norm[k++] = text[i];
			norm[k] = '\0';
			check_lines(norm, py_value, vals, nvals, "python-dotenv");
			check_lines(norm, node_value, vals, nvals, "node dotenv");
			free(norm);
			/* A shell reads \n and \r as they are: only values
			 * without them come back the same, but it never runs
			 * or expands anything in any of them. */
			check_sh_dotenv(text, vals, nvals);
		}
		free(text);
	}
	for (i = 0; i < nvals; i++) {
		free(vals[i].val);
		free(vars[i]);
	}
	return 0;
}
