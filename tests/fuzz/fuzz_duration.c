/* fuzz_duration: durations ("90", "1h30m", "250ms") and their printing. */
#include "fuzz.h"
#include "util.h"

#include <stdio.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), buf[64];
	long long ms = util_parse_duration_ms(s);

	FUZZ_CHECK(ms >= -1);
	if (ms >= 0) {
		util_format_duration(ms, buf, sizeof(buf));
		FUZZ_CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
		/* What is printed in full reads back as the same duration. */
		if ((ms < 1000 || ms % 1000 == 0) && ms / 3600000 <= 1000000000LL)
			FUZZ_CHECK(util_parse_duration_ms(buf) == ms);
	}
	free(s);
	return 0;
}
