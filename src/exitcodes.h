/* exitcodes.h: leasewrap's exit codes, a contract documented in leasewrap(1). */
#ifndef LW_EXITCODES_H
#define LW_EXITCODES_H

/*
 * The child's own code is passed through, and 128+N when it died of signal N.
 * leasewrap's own failures use the sysexits(3) numbers below, so a wrapper
 * failure can be told apart from the usual 0, 1, 2 of a command.
 */
#define LW_EXIT_USAGE		64	/* bad flag, missing "--", malformed -s */
#define LW_EXIT_DATAERR		65	/* secret path or field missing, bad response */
#define LW_EXIT_UNAVAILABLE	69	/* Vault unreachable, sealed, 5xx, timeout */
#define LW_EXIT_SOFTWARE	70	/* internal error (a bug) */
#define LW_EXIT_OSERR		71	/* fork, pipe or other system failure */
#define LW_EXIT_ROTATED		75	/* new credentials and --on-change exit */
#define LW_EXIT_NOPERM		77	/* no token, bad token, permission denied */
#define LW_EXIT_CONFIG		78	/* config file or environment unusable */
#define LW_EXIT_EXPIRED		79	/* credentials died with no replacement */
#define LW_EXIT_TIMEOUT		124	/* --timeout stopped the command */
#define LW_EXIT_NOEXEC		126	/* the command exists but cannot be run */
#define LW_EXIT_NOTFOUND	127	/* the command does not exist */

#endif
