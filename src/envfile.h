/* envfile.h: write the command's variables to files, 0600 and atomically. */
#ifndef LW_ENVFILE_H
#define LW_ENVFILE_H

#include <stddef.h>

struct config;
struct secret;

/* --env-file-format: the grammars are leasewrap(1), "ENV FILES". */
enum { ENVFILE_DOTENV, ENVFILE_SHELL, ENVFILE_JSON };

/* ENVFILE_* for "dotenv", "shell" or "json"; -1 for anything else. */
int	envfile_parse_format(const char *);
const char *envfile_format_name(int format);
/*
 * Render the "NAME=value" entries of vars in format into a fresh buffer
 * (*text, *len; wipe it before free).  -1 with a message naming the
 * variable (never its value) when a value cannot be written so that
 * every reader of the format reads it back as it is.
 */
int	envfile_render(int format, char *const vars[], size_t nvars,
	    char **text, size_t *len, char *err, size_t errlen);
/*
 * Write vars to path in cfg's --env-file-format: a temporary file beside
 * it, 0600 (owned by --user when given), fsync, then rename.  0; -1 with
 * a message in err when the file cannot be written, -2 when a value cannot
 * be carried by the format (no value in the message).
 */
int	envfile_write(const struct config *cfg, const char *path,
	    char *const vars[], size_t nvars, char *err, size_t errlen);
/* n bytes of v as one JSON string literal, as the json format writes it; NULL if not UTF-8. */
struct secret *envfile_json_string(const char *v, size_t n);
/* True if the n bytes at s are UTF-8 (no overlong form, no surrogate). */
int	envfile_utf8_ok(const char *s, size_t n);

#endif
