/* vault.h: asynchronous Vault HTTP requests, libcurl's multi interface on libev. */
#ifndef LW_VAULT_H
#define LW_VAULT_H

#include <stddef.h>

struct ev_loop;
struct metrics;
struct secret;
struct vault;

struct vault_opts {
	const char	*addr;		/* "https://host:8200" */
	const char	*namespace;	/* or NULL */
	long long	 connect_timeout_ms;
	long long	 request_timeout_ms;
	size_t		 max_response;
	const char	*ca_cert;	/* PEM file, or NULL */
	const char	*ca_path;	/* directory, or NULL */
	const char	*client_cert;	/* PEM files for TLS client auth */
	const char	*client_key;
	const char	*tls_server_name;	/* verify Vault's cert for this */
	int		 tls_skip_verify;
	int		 disable_redirects;	/* VAULT_DISABLE_REDIRECTS */
	const char	*proxy;		/* VAULT_PROXY_ADDR, or NULL */
	struct metrics	*metrics;	/* count requests here, or NULL */
};

/* What came back: status 0 means no HTTP answer (see error). */
struct vault_resp {
	long		 status;
	const char	*body;		/* NUL-terminated; wiped after the callback */
	size_t		 len;
	const char	*error;		/* transport error text, or "" */
	int		 too_big;	/* body over max_response */
	double		 seconds;	/* total time of the request */
	int		 tls_error;	/* certificate or TLS setup failure */
	double		 retry_after;	/* Retry-After in seconds; 0 if none */
	/*
	 * A transport failure that is a configuration mistake (plain HTTP
	 * behind https://, a redirect that cannot be followed): error is a
	 * whole sentence with the fix; retrying cannot help.
	 */
	int		 fatal;
};

typedef void (*vault_cb)(const struct vault_resp *, void *arg);

/* A client on loop; NULL with a message in err for a bad address. */
struct vault	*vault_new(struct ev_loop *, const struct vault_opts *,
		    char *err, size_t errlen);
/* Use token (borrowed; it must outlive the requests) for later requests. */
void		 vault_set_token(struct vault *, const struct secret *token);
/*
 * Start METHOD /v1/PATH with an optional JSON body (wiped after sending).
 * cb runs later from the loop, exactly once, unless vault_free comes first.
 */
void		 vault_request(struct vault *, const char *method,
		    const char *path, const char *body, vault_cb, void *arg);
/* The same with a token of its own (copied); NULL sends none (logins). */
void		 vault_request_with(struct vault *, const struct secret *token,
		    const char *method, const char *path, const char *body,
		    vault_cb, void *arg);
/* Drop the requests in flight whose callback is cb (it is not run). */
void		 vault_cancel(struct vault *, vault_cb cb);
/* Requests still in flight. */
int		 vault_pending(const struct vault *);
/* Cancel everything in flight (callbacks are not run) and free. */
void		 vault_free(struct vault *);
/*
 * Load libcurl and install wiping allocators into it and jansson; call
 * once, first.  0, or -1 with a one-line message in err.
 */
int		 vault_global_init(char *err, size_t errlen);
/* Undo vault_global_init() once the last client is freed. */
void		 vault_global_cleanup(void);

#endif
