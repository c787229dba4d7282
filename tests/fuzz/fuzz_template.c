/* fuzz_template: the {{ PATH#FIELD | filter }} grammar (-T) and rendering. */
#define _GNU_SOURCE	/* memmem */
#include "fuzz.h"
#include "secret.h"
#include "template.h"
#include "util.h"

/* Every placeholder's value is its field: what rendering puts in is known. */
static int
lookup(void *arg, const struct spec *ref, struct secret **val, char *err,
    size_t errlen)
{
	size_t *fields = arg;

	(*fields)++;
	if (strcmp(ref->field, "missing") == 0)
		return errf(err, errlen, "no field");
	*val = secret_new(ref->field, strlen(ref->field));
	return 0;
}

/*
 * A parsed template has a placeholder, paths and fields as spec.c makes
 * them, known filters; its rendering holds every literal part, and
 * without filters it is the literals and the fields in order.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), err[256];
	struct secret *r;
	struct tmpl t;
	size_t i, k, fields = 0, want = 0, len = strlen(s);
	int plain = 1;

	if (tmpl_parse(s, len, "-T X", &t, err, sizeof(err)) == -1) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(t.parts == NULL);
		free(s);
		return 0;
	}
	FUZZ_CHECK(t.nrefs >= 1 && t.nparts == t.nrefs + 1);
	for (i = 0; i < t.nparts; i++) {
		const struct tmpl_part *p = &t.parts[i];

		FUZZ_CHECK((p->ref.path == NULL) == (i == t.nparts - 1));
		FUZZ_CHECK(memmem(p->lit, p->litlen, "{{", 2) == NULL);
		want += p->litlen;
		if (p->ref.path == NULL)
			continue;
		FUZZ_CHECK(p->ref.path[0] != '\0' && p->ref.field[0] != '\0');
		FUZZ_CHECK(strchr(p->ref.path, ' ') == NULL);
		for (k = 0; k < p->nfilters; k++)
			FUZZ_CHECK(p->filters[k] >= TF_URL &&
			    p->filters[k] <= TF_BASE64);
		plain &= p->nfilters == 0;
		want += strlen(p->ref.field);
	}
	if ((r = tmpl_render(&t, lookup, &fields, err, sizeof(err))) != NULL) {
		FUZZ_CHECK(fields == t.nrefs);
		if (plain)
			FUZZ_CHECK(secret_len(r) == want);
		secret_free(r);
	}
	tmpl_free(&t);
	free(s);
	return 0;
}
