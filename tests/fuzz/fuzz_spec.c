/* fuzz_spec: the NAME=PATH#FIELD grammar (-s) and vault:PATH#FIELD references. */
#include "fuzz.h"
#include "params.h"
#include "spec.h"
#include "util.h"

/*
 * A parsed spec names a valid variable, a path (no space, no trailing '/'
 * before its parameters) and a field after the last '#', all non-empty.
 */
static void
check(const struct spec *sp)
{
	FUZZ_CHECK(sp->name != NULL && sp->path != NULL && sp->field != NULL);
	FUZZ_CHECK(util_valid_env_name(sp->name, strlen(sp->name)));
	FUZZ_CHECK(sp->path[0] != '\0' && sp->field[0] != '\0');
	FUZZ_CHECK(strchr(sp->field, '#') == NULL);
	FUZZ_CHECK(strchr(sp->path, ' ') == NULL && sp->path[0] != '?');
	{
		const char *q = strchr(sp->path, '?');
		size_t bl = q != NULL ? (size_t)(q - sp->path) : strlen(sp->path);
		char err[128];

		FUZZ_CHECK(bl > 0 && sp->path[bl - 1] != '/');
		FUZZ_CHECK(q == NULL || params_check(q + 1, err, sizeof(err)) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), err[256];
	struct spec sp;

	memset(&sp, 0, sizeof(sp));
	if (spec_parse(s, &sp, err, sizeof(err)) == 0) {
		check(&sp);
		spec_clear(&sp);
	} else
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	memset(&sp, 0, sizeof(sp));
	if (spec_parse_ref("NAME", s, &sp, err, sizeof(err)) == 0) {
		check(&sp);
		spec_clear(&sp);
	}
	free(s);
	return 0;
}
