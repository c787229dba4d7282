/* secret.c: secret bytes live here and are wiped on every path before free. */
#define _DEFAULT_SOURCE
#include "secret.h"
#include "util.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

struct secret {
	size_t	len;
	char	buf[];
};

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

struct secret *
secret_new(const char *p, size_t len)
{
	struct secret *s = xmalloc(sizeof(*s) + len + 1);

	s->len = len;
	if (len > 0)
		memcpy(s->buf, p, len);
	s->buf[len] = '\0';
	return s;
}

struct secret *
secret_concat(const char *prefix, const struct secret *v)
{
	size_t plen = strlen(prefix);
	struct secret *s = xmalloc(sizeof(*s) + plen + v->len + 1);

	s->len = plen + v->len;
	memcpy(s->buf, prefix, plen);
	memcpy(s->buf + plen, v->buf, v->len);
	s->buf[s->len] = '\0';
	return s;
}

const char *
secret_str(const struct secret *s)
{
	return s->buf;
}

size_t
secret_len(const struct secret *s)
{
	return s->len;
}

int
secret_equal(const struct secret *a, const struct secret *b)
{
	unsigned char diff = 0;
	size_t i;

	if (a->len != b->len)
		return 0;
	for (i = 0; i < a->len; i++)
		diff |= (unsigned char)(a->buf[i] ^ b->buf[i]);
	return diff == 0;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	secret_wipe(s->buf, s->len);
	s->len = 0;
	free(s);
}

/*
 * libcurl and jansson copy response bodies and headers (tokens, passwords)
 * into buffers of their own; these allocators wipe every block they free.
 */
void *
secure_malloc(size_t n)
{
	return malloc(n);
}

void *
secure_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

void
secure_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* realloc would leave the old block unwiped: move by hand instead. */
void *
secure_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		secure_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (old >= n)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	secure_free(p);
	return q;
}

char *
secure_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}
