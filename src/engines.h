/*
 * engines.h: the kinds of secret leasewrap can hold, one row each: how to
 * request it, how to read its answer, how to keep it fresh.  A new kind
 * (a database static role, a PKI certificate, a write request) is one
 * more row in engines.c.
 */
#ifndef LW_ENGINES_H
#define LW_ENGINES_H

#include <stddef.h>

struct vj_secret;

/* How the next step of a credential is planned (lease_plan()). */
enum engine_timing {
	TIMING_LEASE,	/* a lease (or a certificate's end): renew it if it can be, replace it before its end */
	TIMING_REFRESH,	/* no lease: read it again every --refresh-interval */
	TIMING_ROTATES,	/* a static role: its values change in *ttl s; read again then */
};

/* One kind of secret. */
struct engine {
	const char	*name;
	const char	*method;	/* "GET", "PUT" */
	/* The request's JSON body for path (free it), or NULL for none. */
	char		*(*body)(const char *path);
	/* The path the request goes to (free it); NULL: path itself. */
	char		*(*request_path)(const char *path);
	/* A 200 answer's values; -1 with a message holding no value. */
	int		 (*parse)(const char *path, const char *body,
			    size_t len, struct vj_secret *out, char *err,
			    size_t errlen);
	/* How an answer is kept fresh; *ttl is how long its values hold (0: unknown). */
	enum engine_timing (*timing)(const struct vj_secret *, double *ttl);
};

/*
 * The kind a Vault path is read as: a write when it has parameters
 * ("PATH?KEY=VALUE&..."), except a KV v2 "?version=N" read.
 */
const struct engine	*engine_for(const char *path);

/* Is the answer a certificate without a lease (pki/issue, pki/sign)? */
int			 engine_is_cert(const struct vj_secret *);
/*
 * The PKI mount a certificate path issues from ("pki/int" of
 * "pki/int/issue/web?common_name=a"), to free; NULL when it names none.
 */
char			*engine_pki_mount(const char *path);

#endif
