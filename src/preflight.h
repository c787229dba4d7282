/* preflight.h: settings refused before any request (plain http, CA files, client certificate, login flags). */
#ifndef LW_PREFLIGHT_H
#define LW_PREFLIGHT_H

#include <stddef.h>

struct config;

/*
 * Refuse settings that would leak the token or cannot work: 0, or an exit
 * code with the message in err and its log event ("config", "auth").
 */
int	preflight_check(const struct config *, const char **event, char *err,
	    size_t errlen);

#endif
