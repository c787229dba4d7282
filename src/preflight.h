/* preflight.h: the local checks that come before the first Vault request. */
#ifndef LW_PREFLIGHT_H
#define LW_PREFLIGHT_H

#include "config.h"

/*
 * Check what needs no Vault, so that a mistake costs no lease: the command
 * resolves to an executable file (the PATH search execvpe(3) makes), every
 * --env-file and --metrics-file folder can take a new file.  Logs the same
 * one-line message the later failure would, and returns its exit code (126,
 * 127, 78), or 0.  Nothing is checked when nothing is leased (no secret, or
 * "leasewrap check", which runs no command and writes no file).
 */
int	preflight_run(const struct config *cfg);
/*
 * The errno that execvpe(argv0) would fail with for want of a file to run
 * (ENOENT, EACCES, ...), or 0 if it finds an executable regular file.
 * path is the search path (NULL: the default, as glibc's "/bin:/usr/bin").
 */
int	preflight_exec_errno(const char *argv0, const char *path);

#endif
