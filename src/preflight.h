/* preflight.h: the local checks that come before the first Vault request. */
#ifndef LW_PREFLIGHT_H
#define LW_PREFLIGHT_H

#include "config.h"

/*
 * Check what needs no Vault, so that a mistake costs no lease: signal mode
 * has a file to show new values in, the command resolves to an executable
 * file (the PATH search execvpe(3) makes), every --env-file, --metrics-file
 * and --file folder can take a new file.  0, or the exit code the later
 * failure would give (64, 126, 127, 78) with its one-line message in err
 * and its log event.  "leasewrap check" runs no command and writes no file:
 * nothing is checked for it.  Output folders are checked (and our stale
 * temporaries swept) even when no secret is requested.
 */
int	preflight_run(const struct config *cfg, const char **event, char *err,
	    size_t errlen);
/*
 * The errno that execvpe(argv0) would fail with for want of a file to run
 * (ENOENT, EACCES, ...), or 0 if it finds an executable regular file.
 * path is the search path (NULL: the default, as glibc's "/bin:/usr/bin").
 */
int	preflight_exec_errno(const char *argv0, const char *path);
/*
 * Refuse Vault settings that would leak the token or cannot work (no or a
 * bad VAULT_ADDR, plain http:// to another machine, unreadable CA files, half
 * a client certificate, login flags): 0, or an exit code with the message in
 * err and its log event ("config", "auth", "internal").
 */
int	preflight_check(const struct config *, const char **event, char *err,
	    size_t errlen);

#endif
