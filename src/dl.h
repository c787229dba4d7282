/*
 * dl.h: libcurl and libmicrohttpd are loaded on first use with dlopen(3),
 * so that a run with no secret and no metrics server (leasewrap as a plain
 * PID 1 supervisor) never maps them and their thirty-odd dependencies.
 * dl.c defines the few functions of theirs that leasewrap calls, each
 * forwarding to the loaded library; the rest of the code uses the usual
 * <curl/curl.h> and <microhttpd.h> names, type checks included.
 */
#ifndef LW_DL_H
#define LW_DL_H

#include <stddef.h>

/* Load libcurl.so.4 once; 0, or -1 with a one-line message in err. */
int	dl_curl(char *err, size_t errlen);
/* Load libmicrohttpd.so.12 once; 0, or -1 with a message in err. */
int	dl_mhd(char *err, size_t errlen);

#endif
