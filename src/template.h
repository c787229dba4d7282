/*
 * template.h: texts with "{{ PATH#FIELD | filter }}" placeholders (-T,
 * the config file's "template"), parsed and rendered without I/O.
 */
#ifndef LW_TEMPLATE_H
#define LW_TEMPLATE_H

#include <stddef.h>

#include "spec.h"

struct secret;

/* What a placeholder's value goes through, in order, before it goes in. */
enum tmpl_filter {
	TF_URL = 1,	/* percent-encode all but RFC 3986's unreserved bytes */
	TF_JSON,	/* one JSON string literal, quotes included */
	TF_BASE64,	/* RFC 4648 base64, padded */
};

#define TMPL_MAX_FILTERS	4

/* Literal text, then one placeholder (none in the last part when ref.path is NULL). */
struct tmpl_part {
	char		*lit;
	size_t		 litlen;
	struct spec	 ref;		/* ref.path and ref.field; no name */
	int		 filters[TMPL_MAX_FILTERS];
	size_t		 nfilters;
};

struct tmpl {
	struct tmpl_part *parts;
	size_t		  nparts;
	size_t		  nrefs;	/* placeholders */
};

/*
 * Parse len bytes of text into t: at least one placeholder, each
 * "{{" PATH#FIELD ["|" FILTER]... "}}" with spaces optional.  -1 with
 * "what: ..." in err (t is left empty).
 */
int	tmpl_parse(const char *text, size_t len, const char *what,
	    struct tmpl *t, char *err, size_t errlen);

/* The template of one whole field, "PATH#FIELD" (--file): its value as it is. */
int	tmpl_field(const char *pf, const char *what, struct tmpl *t, char *err,
	    size_t errlen);

/* Where rendering finds a placeholder's value: 0 with *val (freed by the caller), or -1 with a message. */
typedef int (*tmpl_lookup)(void *arg, const struct spec *ref,
	    struct secret **val, char *err, size_t errlen);

/*
 * The text with every placeholder replaced by its filtered value; NULL
 * with a message naming the placeholder (never a value) when a lookup
 * fails or a filter cannot carry the value (json: not UTF-8).
 */
struct secret	*tmpl_render(const struct tmpl *, tmpl_lookup, void *arg,
		    char *err, size_t errlen);
/* One filter over n bytes of v, as a fresh secret; NULL if it cannot carry them. */
struct secret	*tmpl_filter(int filter, const char *v, size_t n);
/* A filter's name ("url"), for messages and "check". */
const char	*tmpl_filter_name(int filter);
void		 tmpl_free(struct tmpl *);

#endif
