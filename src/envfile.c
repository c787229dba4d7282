/* envfile.c: dotenv files for --env-file, replaced by atomic rename. */
#define _GNU_SOURCE
#include "envfile.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Characters a dotenv reader takes as they are, without quotes. */
static int
plain(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr("_-.,:/@%+=", c) != NULL;
}

size_t
envfile_quote(const char *v, char *out, size_t outlen)
{
	size_t n = 0, i;
	int quote = v[0] == '\0';

	for (i = 0; v[i] != '\0'; i++)
		if (!plain(v[i]))
			quote = 1;
#define PUT(c) do { if (n + 1 < outlen) out[n] = (c); n++; } while (0)
	if (quote)
		PUT('"');
	for (i = 0; v[i] != '\0'; i++) {
		switch (v[i]) {
		case '"': case '\\': case '$': case '`':
			PUT('\\');
			PUT(v[i]);
			break;
		case '\n':
			PUT('\\');
			PUT('n');
			break;
		default:
			PUT(v[i]);
		}
	}
	if (quote)
		PUT('"');
#undef PUT
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

/* The message for an env file whose folder cannot take a new file. */
static int
no_folder(const char *path, int e, char *err, size_t errlen)
{
	return errf(err, errlen, "env file \"%s\": cannot create a file beside "
	    "it: %s; check the folder exists and is writable", path,
	    strerror(e));
}

int
envfile_check_folder(const char *path, char *err, size_t errlen)
{
	if (util_folder_writable(path) == -1)
		return no_folder(path, errno, err, errlen);
	return 0;
}

int
envfile_write(const char *path, char *const vars[], size_t nvars,
    char *err, size_t errlen)
{
	size_t i, cap = 64, len = 0, need, nl;
	char *buf, *q;
	const char *eq;
	int r, e;

	buf = xmalloc(cap);
	for (i = 0; i < nvars; i++) {
		if ((eq = strchr(vars[i], '=')) == NULL)
			continue;
		nl = (size_t)(eq - vars[i]);
		need = envfile_quote(eq + 1, NULL, 0);
		while (len + nl + need + 3 > cap) {
			char *nb = xmalloc(cap * 2);

			memcpy(nb, buf, len);
			secret_wipe(buf, cap);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		memcpy(buf + len, vars[i], nl + 1);
		len += nl + 1;
		q = buf + len;
		envfile_quote(eq + 1, q, need + 1);
		len += need;
		buf[len++] = '\n';
	}
	r = util_replace_file(path, buf, len, 0600, 1);
	e = errno;
	secret_wipe(buf, cap);
	free(buf);
	if (r == -1)
		return no_folder(path, e, err, errlen);
	if (r == -2)
		return errf(err, errlen, "env file \"%s\": %s", path,
		    strerror(e));
	return 0;
}
