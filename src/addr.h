/* addr.h: a Vault address (VAULT_ADDR, VAULT_AGENT_ADDR) parsed with libcurl's URL API. */
#ifndef LW_ADDR_H
#define LW_ADDR_H

#include <stddef.h>

/* What an address means for a request. */
struct vault_addr {
	char	*base;		/* "https://host:port/prefix/v1/" */
	char	*socket;	/* unix:///path: the socket, else NULL */
	char	*host;		/* the host curl connects to ("[::1]" bracketed) */
	char	*port;		/* its port, the scheme's default if none given */
	int	 https;
	int	 port_given;	/* the address names its port */
	int	 loopback;	/* the host is this machine, or a unix socket */
};

/*
 * Parse url as the Vault CLI does (api/client.go ParseAddress): http://,
 * https:// or unix://PATH, an optional path prefix.  0, or -1 with a
 * one-line message in err that never repeats userinfo.
 */
int	addr_parse(const char *url, struct vault_addr *, char *err,
	    size_t errlen);
void	addr_clear(struct vault_addr *);
/* Is host (as curl's URL API gives it) a loopback name or address? */
int	addr_loopback_host(const char *host);
/*
 * The plain-http guard: refuse http:// to another machine unless
 * insecure_http.  0, or an exit code with a message in err (78 for the
 * address, 70 when libcurl cannot be loaded).
 */
int	addr_check(const char *url, int insecure_http, char *err,
	    size_t errlen);

#endif
