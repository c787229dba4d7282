/* fuzz.h: what every harness shares: a NUL-terminated copy of the input. */
#ifndef LW_FUZZ_H
#define LW_FUZZ_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input as a C string (cut at its first NUL); free() it. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An oracle failed: a finding, shown as a crash with its input kept. */
#define FUZZ_CHECK(cond)	do { if (!(cond)) abort(); } while (0)

/*
 * An oracle independent of leasewrap's own UTF-8 code: s[0..n) decodes
 * with glibc's C.UTF-8 locale, and (nocntrl) holds no iswcntrl()
 * character (C0, DEL, C1, U+2028, U+2029).
 */
static inline void
fuzz_check_utf8(const char *s, size_t n, int nocntrl)
{
	static int init;
	mbstate_t st;
	size_t i = 0, k;
	wchar_t wc;

	if (!init) {
		FUZZ_CHECK(setlocale(LC_CTYPE, "C.UTF-8") != NULL);
		init = 1;
	}
	memset(&st, 0, sizeof(st));
	while (i < n) {
		k = mbrtowc(&wc, s + i, n - i, &st);
		FUZZ_CHECK(k != (size_t)-1 && k != (size_t)-2 && k != 0);
		FUZZ_CHECK(!nocntrl || !iswcntrl((wint_t)wc));
		i += k;
	}
}

#endif
