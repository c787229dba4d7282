/* vault_json.h: Vault responses into plain structs and decisions; pure, no I/O. */
#ifndef LW_VAULT_JSON_H
#define LW_VAULT_JSON_H

#include <stddef.h>
#include <time.h>

struct secret;

/* A parsed read: the lease and the data object (owned, wiped on free). */
struct vj_secret {
	void		*root;		/* json_t of the whole response */
	void		*data;		/* borrowed: the object holding fields */
	char		*lease_id;	/* NULL when Vault made no lease */
	long long	 lease_duration;	/* seconds */
	int		 renewable;
	int		 kv2;		/* fields came from data.data */
};

/*
 * Parse a successful read of path.  A KV v2 read (path has a "data/"
 * segment, response has data.data and data.metadata) takes its fields from
 * data.data.  Returns 0, or -1 with a message that holds no value.
 */
int	vj_parse_secret(const char *path, const char *body, size_t len,
	    struct vj_secret *out, char *err, size_t errlen);
/* The field as a secret: strings as they are, other JSON as compact JSON. */
int	vj_field(const struct vj_secret *, const char *field,
	    struct secret **val, char *err, size_t errlen);
/* Wipe and release a parsed read; it reads as empty afterwards. */
void	vj_secret_clear(struct vj_secret *);

/* The first of Vault's {"errors":[...]} messages, folded to one line. */
void	vj_error_text(const char *body, size_t len, char *out, size_t outlen);

/*
 * A Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date,
 * taken against now) in seconds, at most a day; 0 if absent or malformed.
 */
double	vj_retry_after(const char *value, size_t len, time_t now);
/* sys/internal/ui/mounts/PATH: the mount's path and KV version (0 if not KV). */
int	vj_parse_mount(const char *body, size_t len, char **mount_path,
	    int *kv_version, char *err, size_t errlen);

/*
 * Vault's lease_duration, ttl and creation_ttl fields: whole seconds of a
 * time.Duration (int64 nanoseconds), so never below 0 nor above VJ_TTL_MAX
 * (V:sdk/logical/translate_response.go LogicalResponseToHTTPResponse,
 * int(Secret.TTL.Seconds()); V:vault/token_store.go
 * handleLookup, int64(TTL.Seconds())).
 */
#define VJ_TTL_MAX	9223372036.0	/* (2^63 - 1) ns in seconds */
/*
 * A json_t number of seconds from Vault, made safe to convert to an
 * integer: not a number (or absent) is 0, negative is 0, above VJ_TTL_MAX
 * is VJ_TTL_MAX.  Every Vault-supplied duration goes through here.
 */
double	vj_seconds(const void *json);
/*
 * A 400 that wraps a secrets engine's failure (vault/expiration.go
 * renewEntry / revokeEntry: "failed to renew entry", "failed to revoke
 * entry"): the lease still holds, the backend may come back.  1 if so.
 */
int	vj_backend_failure(long status, const char *body, size_t len);
/*
 * A 403 "permission denied" without "invalid token": the token lives but a
 * policy denies the path (vault/request_handling.go checkToken appends
 * logical.ErrPermissionDenied).  1 if so.
 */
int	vj_policy_denied(long status, const char *body, size_t len);
/*
 * A PKI revoke's 200 without data.revocation_time: Vault left the
 * certificate off the CRL (builtin/logical/pki crl_util.go revokeCert:
 * expired, or within 2 s of it; the reason is a warning).  1 with that
 * warning, one line, in out; 0 if it was revoked (now or before).
 */
int	vj_cert_unrevoked(const char *body, size_t len, char *out,
	    size_t outlen);
/* At exit: does this revocation answer end the attempts (2xx, or a 403)? */
int	vj_revoke_settled(long status);
/* The default-policy rule a token lacks for its own endpoint path. */
void	vj_policy_hint(const char *path, char *out, size_t outlen);
/*
 * A 200 login answer that carries no token: an MFA requirement
 * (vault/request_handling.go handleLoginRequest) or an empty client_token.
 * 1 with a one-line message in out; 0 if the answer holds a token.
 */
int	vj_login_mfa(const char *body, size_t len, char *out, size_t outlen);
/*
 * A KV v2 404 with metadata (vault-plugin-secrets-kv path_data.go
 * pathDataRead): the version was deleted or destroyed.  1 with the reason
 * ("its version 3 was deleted at ...") in out.
 */
int	vj_kv2_gone(const char *body, size_t len, char *out, size_t outlen);

/*
 * A secret path under "admin/" (HCP Vault's namespace) with no namespace
 * set: Vault selects the namespace from the path for the read only, while
 * lookup-self, renewals and revocations go to the root namespace.  1 with
 * a warning in out.
 */
int	vj_namespace_hint(const char *path, const char *ns, char *out,
	    size_t outlen);

/* ---- answers: one retry rule, one message builder ---------------------- */

struct vault_resp;

/*
 * Is a failed request worth trying again?  Like Vault's own client
 * (hashicorp/vault api/client.go, DefaultRetryPolicy, over
 * hashicorp/go-retryablehttp client.go, baseRetryPolicy): transport
 * errors, 412, 429 and every 5xx but 501; never a TLS verification
 * failure, nor an answer too large to be Vault's.
 */
int	vj_retryable(const struct vault_resp *);
/*
 * "STATUS: reason" for a log line: Vault's first error, else the
 * transport's error text, else the status alone.
 */
void	vj_reason(const struct vault_resp *, char *out, size_t len);

/* What a failed request was for. */
enum vj_op {
	VJ_READ,	/* a secret's read */
	VJ_LOGIN,	/* a login */
	VJ_UNWRAP,	/* unwrapping the secret ID */
};

/* What a failure message names (borrowed strings). */
struct vj_what {
	enum vj_op	 op;
	const char	*path;		/* the path read, or the login path */
	const char	*vault_addr;
	size_t		 max_response;
	const char	*method;	/* a login's method, like "approle" */
	const char	*check;		/* a refused login: what to check */
	const char	*file;		/* an unwrap: the secret ID file */
};

/*
 * The one-line message for a failed read, login or unwrap, holding no
 * value; returns the exit code it calls for (exitcodes.h).
 */
int	vj_failure(const struct vault_resp *, const struct vj_what *,
	    char *msg, size_t len);

/* ---- tokens, renewals, unwrapping -------------------------------------- */

/* A token's life, from lookup-self or an auth block. */
struct vj_token {
	struct secret	*client_token;	/* a login's token; NULL if none */
	double		 ttl;		/* seconds left; 0: never expires */
	double		 creation_ttl;	/* the TTL it was made with */
	int		 renewable;
};

/* lookup-self: data.ttl, data.creation_ttl (else ttl), data.renewable.  -1: not JSON. */
int	vj_parse_lookup(const char *body, size_t len, struct vj_token *);
/* A login or renew-self: auth.client_token, auth.lease_duration, auth.renewable.  -1: not JSON. */
int	vj_parse_auth(const char *body, size_t len, struct vj_token *);
/* sys/leases/renew: lease_duration and renewable.  -1: not JSON. */
int	vj_parse_renewal(const char *body, size_t len, double *ttl,
	    int *renewable);
/* sys/wrapping/unwrap: data.secret_id as a secret.  -1 if there is none. */
int	vj_parse_unwrap(const char *body, size_t len, struct secret **out);
/* The body of sys/leases/renew and revoke: lease_id, and increment when >= 0 (free it). */
char	*vj_lease_body(const char *lease_id, long long increment);

/* Wipe every string in a jansson tree and release it. */
void	vj_wipe_decref(void *json);

#endif
