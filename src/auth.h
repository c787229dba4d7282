/* auth.h: what a login sends, built from the config and credential files. */
#ifndef LW_AUTH_H
#define LW_AUTH_H

#include <stddef.h>

struct config;
struct secret;

/* Where service-account tokens are mounted in a Kubernetes pod. */
#define AUTH_K8S_JWT_FILE "/var/run/secrets/kubernetes.io/serviceaccount/token"

/*
 * Read a one-line credential file into a secret, trimmed.  -1 with a
 * message naming the file and what to do if it is missing or empty; when
 * warn is not NULL and every user may read the file, a warning there.
 */
int	auth_read_file(const char *path, const char *what, struct secret **out,
	    char *warn, size_t warnlen, char *err, size_t errlen);
/* Check the login settings before any request: 0, or -1 with a usage message. */
int	auth_check(const struct config *, char *err, size_t errlen);
/* The login path, like "auth/approle/login". */
void	auth_login_path(const struct config *, char *buf, size_t len);
/*
 * The login body, read fresh from the files each time (projected JWTs
 * rotate).  secret_id is an unwrapped AppRole secret ID, or NULL to read
 * --secret-id-file.  Returns 0 (a warning in warn if a file is readable
 * by every user), or -1 with a message.
 */
int	auth_login_body(const struct config *, const struct secret *secret_id,
	    struct secret **body, char *warn, size_t warnlen, char *err,
	    size_t errlen);

#endif
