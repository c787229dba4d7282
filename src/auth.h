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
 * message naming the file and what to do if it is missing or empty; warns
 * when other users may read it and warn_mode is set.
 */
int	auth_read_file(const char *path, const char *what, int warn_mode,
	    struct secret **out, char *err, size_t errlen);
/* Check the login settings before any request; returns 0 or an exit code. */
int	auth_check(const struct config *, char *err, size_t errlen);
/* The login path, like "auth/approle/login". */
void	auth_login_path(const struct config *, char *buf, size_t len);
/*
 * The login body, read fresh from the files each time (projected JWTs
 * rotate).  secret_id is an unwrapped AppRole secret ID, or NULL to read
 * --secret-id-file.  Returns 0 or an exit code with a message.
 */
int	auth_login_body(const struct config *, const struct secret *secret_id,
	    struct secret **body, char *err, size_t errlen);

#endif
