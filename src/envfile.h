/* envfile.h: write NAME=value files for the command, 0600 and atomically. */
#ifndef LW_ENVFILE_H
#define LW_ENVFILE_H

#include <stddef.h>

/*
 * Write the "NAME=value" entries of vars (an envp-style list) to path in
 * dotenv form: a temporary file beside it, 0600, fsync, then rename, so
 * that a reader sees the old file or the new one, never half of one.
 * Returns 0, or -1 with a message in err (no value in it).
 */
int	envfile_write(const char *path, char *const vars[], size_t nvars,
	    char *err, size_t errlen);
/*
 * Check, before anything is leased, that envfile_write() could create its
 * temporary beside path; 0, or -1 with the message envfile_write() gives.
 */
int	envfile_check_folder(const char *path, char *err, size_t errlen);
/* Quote one value for a dotenv file into out; returns the length needed. */
size_t	envfile_quote(const char *value, char *out, size_t outlen);

#endif
