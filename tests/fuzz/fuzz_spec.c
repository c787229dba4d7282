/* fuzz_spec: the NAME=PATH#FIELD grammar (-s) and vault:PATH#FIELD references. */
#include "fuzz.h"
#include "spec.h"
#include "util.h"

/*
 * A parsed spec names a valid variable, a path (no '?', space or trailing
 * '/') and a field after the last '#', all non-empty.
 */
static void
check(const struct spec *sp)
{
	FUZZ_CHECK(sp->name != NULL && sp->path != NULL && sp->field != NULL);
	FUZZ_CHECK(util_valid_env_name(sp->name, strlen(sp->name)));
	FUZZ_CHECK(sp->path[0] != '\0' && sp->field[0] != '\0');
	FUZZ_CHECK(strchr(sp->field, '#') == NULL);
	FUZZ_CHECK(strpbrk(sp->path, "? ") == NULL);
	FUZZ_CHECK(sp->path[strlen(sp->path) - 1] != '/');
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
