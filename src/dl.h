/*
 * dl.h: libcurl, libmicrohttpd and jansson are loaded on first use with
 * dlopen(3), so that a run with no secret, no config file and no metrics
 * server (leasewrap as a plain PID 1 supervisor) never maps them (libcurl's
 * thirty-odd dependencies; jansson costs its loading and symbol binding at
 * every start).  dl.c defines the few functions of theirs that leasewrap
 * calls, each forwarding to the loaded library; the rest of the code uses
 * the usual <curl/curl.h>, <microhttpd.h> and <jansson.h> names, type
 * checks included.
 */
#ifndef LW_DL_H
#define LW_DL_H

#include <stddef.h>

/* Load libcurl.so.4 once; 0, or -1 with a one-line message in err. */
int	dl_curl(char *err, size_t errlen);
/* Load libmicrohttpd.so.12 once; 0, or -1 with a message in err. */
int	dl_mhd(char *err, size_t errlen);
/* Load libjansson.so.4 once, before any JSON; 0, or -1 with a message in err. */
int	dl_jansson(char *err, size_t errlen);

#endif
