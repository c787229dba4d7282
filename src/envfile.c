/*
 * envfile.c: --env-file in one of three formats (dotenv, shell, json),
 * each written so that its readers get every value back byte for byte,
 * or refused; replaced by atomic rename.  The grammars are leasewrap(1),
 * "ENV FILES".
 */
#define _GNU_SOURCE
#include "envfile.h"
#include "config.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {
	[ENVFILE_DOTENV] = "dotenv",
	[ENVFILE_SHELL] = "shell",
	[ENVFILE_JSON] = "json",
};

int
envfile_parse_format(const char *s)
{
	int i;

	for (i = 0; i < (int)(sizeof(format_names) / sizeof(format_names[0]));
	    i++)
		if (strcmp(s, format_names[i]) == 0)
			return i;
	return -1;
}

const char *
envfile_format_name(int format)
{
	return format >= 0 && format <= ENVFILE_JSON ? format_names[format] :
	    "?";
}

/* Append one byte to o. */
static void
out_c(struct ubuf *o, char c)
{
	util_buf_add(o, &c, 1);
}

int
envfile_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;
	unsigned long cp;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			len = 2, cp = p[i] & 0x1f;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			len = 3, cp = p[i] & 0x0f;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			len = 4, cp = p[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* No overlong form, no surrogate, nothing past U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/*
 * dotenv, unquoted: only characters that python-dotenv, node's dotenv and
 * a shell sourcing the file all take as they are (no space, quote, '$',
 * '#', '~' or shell operator).
 */
static int
dotenv_bare_ok(const char *v, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' &&
		    v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
		    strchr("_-.,:/@%+=", v[i]) != NULL))
			return 0;
	return 1;
}

/*
 * dotenv, in single quotes: no quote, CR, LF or "${" (python-dotenv
 * expands it even there), and no backslash that a reader could take as
 * an escape (python-dotenv decodes \\ and \', node's regex takes \' as a
 * quote inside the value): none before a backslash, none at the end.
 */
static int
dotenv_single_ok(const char *v, size_t n)
{
	size_t i;

	if (n > 0 && v[n - 1] == '\\')
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] == '\'' || v[i] == '\r' || v[i] == '\n' ||
		    (v[i] == '\\' && v[i + 1] == '\\') ||
		    (v[i] == '$' && v[i + 1] == '{'))
			return 0;
	return 1;
}

/*
 * dotenv, in double quotes with \n and \r for LF and CR (the only escapes
 * both readers decode): no '"', and no '$' or '`' (python-dotenv expands
 * "${", a shell sourcing the file runs "$(...)" and "`...`"), and every
 * backslash of the value followed by a character that neither reader
 * decodes after one (python-dotenv: \\ \' \" \a \b \f \n \r \t \v).
 */
static int
dotenv_double_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '$' || v[i] == '`')
			return 0;
		if (v[i] == '\\' && (i + 1 == n ||
		    strchr("\\'\"abfnrtv\r\n", v[i + 1]) != NULL))
			return 0;
	}
	return 1;
}

/* One dotenv value: bare, single-quoted or double-quoted; -1 if none fits. */
static int
dotenv_value(struct ubuf *o, const char *v, size_t n)
{
	size_t i;

	if (!envfile_utf8_ok(v, n))
		return -1;
	if (dotenv_bare_ok(v, n)) {
		util_buf_add(o, v, n);
		return 0;
	}
	if (dotenv_single_ok(v, n)) {
		out_c(o, '\'');
		util_buf_add(o, v, n);
		out_c(o, '\'');
		return 0;
	}
	if (!dotenv_double_ok(v, n))
		return -1;
	out_c(o, '"');
	for (i = 0; i < n; i++)
		if (v[i] == '\n')
			util_buf_add(o, "\\n", 2);
		else if (v[i] == '\r')
			util_buf_add(o, "\\r", 2);
		else
			out_c(o, v[i]);
	out_c(o, '"');
	return 0;
}

/* One POSIX shell word: in single quotes, each ' as '\'' (any byte but NUL). */
static void
shell_value(struct ubuf *o, const char *v, size_t n)
{
	size_t i;

	out_c(o, '\'');
	for (i = 0; i < n; i++)
		if (v[i] == '\'')
			util_buf_add(o, "'\\''", 4);
		else
			out_c(o, v[i]);
	out_c(o, '\'');
}

/*
 * One JSON string (RFC 8259), ASCII only: control characters, '"', '\\',
 * DEL and everything past ASCII as escapes (U+2028 too, for old JavaScript
 * readers); -1 if the value is not UTF-8.
 */
static int
json_value(struct ubuf *o, const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;
	char esc[32];
	size_t i = 0, k, len;
	unsigned long cp;

	if (!envfile_utf8_ok(v, n))
		return -1;
	out_c(o, '"');
	while (i < n) {
		if (p[i] == '"' || p[i] == '\\') {
			out_c(o, '\\');
			out_c(o, (char)p[i++]);
			continue;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			out_c(o, (char)p[i++]);
			continue;
		}
		len = p[i] < 0x80 ? 1 : p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		cp = len == 1 ? p[i] : len == 2 ? (p[i] & 0x1fu) :
		    len == 3 ? (p[i] & 0x0fu) : (p[i] & 0x07u);
		for (k = 1; k < len; k++)
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		i += len;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			snprintf(esc, sizeof(esc), "\\u%04lx\\u%04lx",
			    0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else
			snprintf(esc, sizeof(esc), "\\u%04lx", cp);
		util_buf_add(o, esc, strlen(esc));
	}
	out_c(o, '"');
	secret_wipe(esc, sizeof(esc));
	return 0;
}

struct secret *
envfile_json_string(const char *v, size_t n)
{
	struct ubuf o = { NULL, 0, 0 };
	struct secret *r = NULL;

	if (json_value(&o, v, n) == 0)
		r = secret_new(o.p, o.len);
	util_buf_drop(&o);
	return r;
}

int
envfile_render(int format, char *const vars[], size_t nvars, char **text,
    size_t *len, char *err, size_t errlen)
{
	struct ubuf o = { NULL, 0, 0 };
	const char *eq;
	size_t i, nl = 0, vl, done = 0;
	int r = 0;

	if (format == ENVFILE_JSON)
		util_buf_add(&o, "{", 1);
	for (i = 0; i < nvars && r == 0; i++) {
		if ((eq = strchr(vars[i], '=')) == NULL)
			continue;
		nl = (size_t)(eq - vars[i]);
		vl = strlen(eq + 1);
		if (format == ENVFILE_JSON) {
			if (done++ > 0)
				out_c(&o, ',');
			util_buf_add(&o, "\n  \"", 4);
			util_buf_add(&o, vars[i], nl);
			util_buf_add(&o, "\": ", 3);
			r = json_value(&o, eq + 1, vl);
			continue;
		}
		util_buf_add(&o, vars[i], nl + 1);
		if (format == ENVFILE_SHELL)
			shell_value(&o, eq + 1, vl);
		else
			r = dotenv_value(&o, eq + 1, vl);
		out_c(&o, '\n');
	}
	if (r == -1) {
		util_buf_drop(&o);
		/* The name only: never a byte of the value. */
		return errf(err, errlen, "%.*s: its value cannot be written "
		    "safely in the %s env-file format (%s); use "
		    "--env-file-format %s", (int)(nl > 64 ? 64 : nl), vars[i - 1],
		    envfile_format_name(format), format == ENVFILE_JSON ?
		    "it is not UTF-8" : "it is not UTF-8, or no one dotenv "
		    "quoting carries it: a \"${\", or a ' or line break with "
		    "a \", $ or `", format == ENVFILE_JSON ? "shell" :
		    "shell or json");
	}
	if (format == ENVFILE_JSON)
		util_buf_add(&o, done > 0 ? "\n}\n" : "}\n", done > 0 ? 3 : 2);
	if (o.p == NULL)
		util_buf_add(&o, "", 0);
	*text = o.p;
	*len = o.len;
	return 0;
}

int
envfile_write(const struct config *cfg, const char *path, char *const vars[],
    size_t nvars, char *err, size_t errlen)
{
	char *text, why[512];
	size_t len;
	int r, e;

	if (envfile_render(cfg->env_file_format, vars, nvars, &text, &len, why,
	    sizeof(why)) == -1) {
		errf(err, errlen, "env file \"%s\": %s", path, why);
		return -2;
	}
	if (util_check_output(path, cfg->runas.set ? (long)cfg->runas.uid : -1,
	    why, sizeof(why)) == -1) {
		secret_wipe(text, len);
		free(text);
		return errf(err, errlen, "env file %s", why);
	}
	r = util_replace_file(path, text, len, 0600, 1,
	    cfg->runas.set ? (long)cfg->runas.uid : -1,
	    cfg->runas.set ? (long)cfg->runas.gid : -1);
	e = errno;
	secret_wipe(text, len);
	free(text);
	if (r == -1) {
		util_no_folder(path, e, why, sizeof(why));
		return errf(err, errlen, "env file %s", why);
	}
	if (r == -2)
		return errf(err, errlen, "env file \"%s\": %s", path,
		    strerror(e));
	return 0;
}
