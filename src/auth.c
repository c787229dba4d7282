/*
 * auth.c: login requests for AppRole, Kubernetes, JWT and cert: PUT
 * auth/MOUNT/login with the method's fields (hashicorp/vault
 * builtin/credential/approle/path_login.go pathLoginUpdate; the
 * vault-plugin-auth-kubernetes and vault-plugin-auth-jwt path_login.go;
 * builtin/credential/cert/path_login.go).  Errors and warnings go back in
 * the caller's buffers; the caller logs and picks the exit code.
 */
#define _GNU_SOURCE
#include "auth.h"
#include "config.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
auth_read_file(const char *path, const char *what, struct secret **out,
    char *warn, size_t warnlen, char *err, size_t errlen)
{
	char buf[16384];
	struct stat st;
	size_t len, start = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "%s file \"%s\": %s; check the path",
		    what, path, strerror(errno));
	if (warn != NULL && fstat(fd, &st) == 0 && (st.st_mode & 0004))
		snprintf(warn, warnlen, "%s file \"%s\" can be read by every "
		    "user; chmod 600 it", what, path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "%s file \"%s\": %s", what, path,
		    strerror(errno));
	}
	len = (size_t)n;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	while (start < len && strchr(" \t\r\n", buf[start]) != NULL)
		start++;
	if (start == len) {
		secret_wipe(buf, sizeof(buf));
		return errf(err, errlen, "%s file \"%s\" is empty; it should "
		    "hold the %s", what, path, what);
	}
	*out = secret_new(buf + start, len - start);
	secret_wipe(buf, sizeof(buf));
	return 0;
}

void
auth_login_path(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "auth/%s/login", cfg->auth_mount != NULL ?
	    cfg->auth_mount : config_auth_name(cfg->auth));
}

int
auth_check(const struct config *cfg, char *err, size_t errlen)
{
	switch (cfg->auth) {
	case AUTH_APPROLE:
		if (cfg->role_id == NULL && cfg->role_id_file == NULL) {
			errf(err, errlen, "--auth approle needs --role-id or "
			    "--role-id-file");
			return -1;
		}
		if (cfg->secret_id_wrapped && cfg->secret_id_file == NULL) {
			errf(err, errlen, "--secret-id-wrapped needs "
			    "--secret-id-file with the wrapping token");
			return -1;
		}
		break;
	case AUTH_KUBERNETES:
	case AUTH_JWT:
		if (cfg->auth_role == NULL && cfg->auth == AUTH_KUBERNETES) {
			errf(err, errlen, "--auth kubernetes needs --auth-role, "
			    "the Vault role bound to this service account");
			return -1;
		}
		if (cfg->auth == AUTH_JWT && cfg->jwt_file == NULL) {
			errf(err, errlen, "--auth jwt needs --jwt-file");
			return -1;
		}
		break;
	case AUTH_CERT:
		if (cfg->client_cert == NULL || cfg->client_key == NULL) {
			errf(err, errlen, "--auth cert needs --client-cert and "
			    "--client-key (or VAULT_CLIENT_CERT and "
			    "VAULT_CLIENT_KEY)");
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Dump a JSON object into a secret, wiping jansson's copy. */
static struct secret *
json_secret(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	struct secret *s;

	if (text == NULL)
		return NULL;
	s = secret_new(text, strlen(text));
	secret_wipe(text, strlen(text));
	free(text);
	return s;
}

int
auth_login_body(const struct config *cfg, const struct secret *secret_id,
    struct secret **body, char *warn, size_t warnlen, char *err, size_t errlen)
{
	struct secret *role_id = NULL, *sid = NULL, *jwt = NULL;
	json_t *o = json_object();
	const char *jwt_path;
	int rc = 0;

	switch (cfg->auth) {
	case AUTH_APPROLE:
		if (cfg->role_id != NULL)
			role_id = secret_new(cfg->role_id, strlen(cfg->role_id));
		else if (auth_read_file(cfg->role_id_file, "role ID",
		    &role_id, NULL, 0, err, errlen) == -1) {
			rc = -1;
			break;
		}
		json_object_set_new(o, "role_id",
		    json_string(secret_str(role_id)));
		if (secret_id == NULL && cfg->secret_id_file != NULL) {
			if (auth_read_file(cfg->secret_id_file, "secret ID",
			    &sid, warn, warnlen, err, errlen) == -1) {
				rc = -1;
				break;
			}
			secret_id = sid;
		}
		if (secret_id != NULL)
			json_object_set_new(o, "secret_id",
			    json_string(secret_str(secret_id)));
		break;
	case AUTH_KUBERNETES:
	case AUTH_JWT:
		jwt_path = cfg->jwt_file != NULL ? cfg->jwt_file :
		    AUTH_K8S_JWT_FILE;
		if (auth_read_file(jwt_path, "JWT", &jwt, cfg->jwt_file !=
		    NULL ? warn : NULL, warnlen, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (cfg->auth_role != NULL)
			json_object_set_new(o, "role",
			    json_string(cfg->auth_role));
		json_object_set_new(o, "jwt", json_string(secret_str(jwt)));
		break;
	case AUTH_CERT:
		if (cfg->auth_role != NULL)
			json_object_set_new(o, "name",
			    json_string(cfg->auth_role));
		break;
	default:
		break;
	}
	if (rc == 0 && (*body = json_secret(o)) == NULL) {
		rc = errf(err, errlen, "cannot encode the login request");
	}
	json_decref(o);		/* jansson's allocator wipes what it frees */
	secret_free(role_id);
	secret_free(sid);
	secret_free(jwt);
	return rc;
}
