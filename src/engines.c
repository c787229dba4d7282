/* engines.c: the table of the kinds of secret (engines.h). */
#include "engines.h"
#include "params.h"
#include "util.h"
#include "vault_json.h"

#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

/* The longest a certificate's end or a rotation is taken at (hostile numbers): ten years. */
#define CERT_MAX_TTL	(10.0 * 365 * 86400)

/*
 * A plain read: a lease when Vault made one (dynamic secrets:
 * hashicorp/vault sdk/logical/secret.go, Secret.LeaseID), else values
 * to read again on a schedule (KV v1 and v2 make no lease:
 * hashicorp/vault-plugin-secrets-kv path_data.go, pathDataRead).
 */
/*
 * A database static role (builtin/logical/database path_creds_create.go,
 * pathStaticCredsRead): no lease, data.ttl the seconds to the next
 * password rotation, data.rotation_period or rotation_schedule.
 */
static enum engine_timing
static_timing(const struct vj_secret *s, double *ttl)
{
	json_t *t = s->data != NULL ? json_object_get(s->data, "ttl") : NULL;

	if (s->kv2 || !json_is_number(t) ||
	    (json_object_get(s->data, "rotation_period") == NULL &&
	    json_object_get(s->data, "rotation_schedule") == NULL))
		return TIMING_REFRESH;
	*ttl = json_number_value(t);
	if (!(*ttl >= 0))
		*ttl = 0;	/* negative, or NaN */
	if (*ttl > CERT_MAX_TTL)
		*ttl = CERT_MAX_TTL;
	return TIMING_ROTATES;
}

int
engine_is_cert(const struct vj_secret *s)
{
	return s->lease_id == NULL && !s->kv2 && s->data != NULL &&
	    json_is_string(json_object_get(s->data, "serial_number")) &&
	    json_object_get(s->data, "certificate") != NULL;
}

/*
 * The mount is what comes before the PKI engine's own issuing paths
 * (builtin/logical/pki backend.go: issue/ROLE, sign/ROLE,
 * sign-verbatim, issuer/REF/issue/ROLE, ...), whose revoke is MOUNT/revoke
 * (path_revoke.go, pathRevoke).
 */
char *
engine_pki_mount(const char *path)
{
	static const char *const marks[] = { "/issue/", "/sign/",
	    "/sign-verbatim", "/issuer/" };
	size_t i, end = strcspn(path, "?"), at = end;
	const char *p;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if ((p = strstr(path, marks[i])) != NULL &&
		    (size_t)(p - path) < at)
			at = (size_t)(p - path);
	return at < end && at > 0 ? xstrndup(path, at) : NULL;
}

static enum engine_timing
read_timing(const struct vj_secret *s, double *ttl)
{
	json_t *exp = s->data != NULL ? json_object_get(s->data, "expiration") :
	    NULL;

	*ttl = (double)s->lease_duration;
	if (s->lease_id != NULL)
		return TIMING_LEASE;
	/*
	 * A certificate without a lease (pki/issue and pki/sign with the
	 * role's default generate_lease false: builtin/logical/pki
	 * path_issue_sign.go, pathIssueSignCert) ends at data.expiration,
	 * its NotAfter in Unix seconds: held like a lease that cannot be
	 * renewed, replaced --rotate-before ahead, revoked only with
	 * --revoke-certs (leases.c).
	 */
	if (engine_is_cert(s) && json_is_integer(exp)) {
		*ttl = (double)json_integer_value(exp) - (double)time(NULL);
		if (*ttl > CERT_MAX_TTL)
			*ttl = CERT_MAX_TTL;
		return *ttl > 0 ? TIMING_LEASE : TIMING_REFRESH;
	}
	return static_timing(s, ttl);
}

/*
 * Every kind, one row each.  "write": PATH?KEY=VALUE&... is a PUT of the
 * parameters as a JSON object of strings to PATH, as consul-template's
 * secret with arguments and the Vault CLI's "vault write PATH k=v" do
 * (hashicorp/vault http/logical.go, buildLogicalRequestNoAuth: a PUT's
 * data is its JSON body); its answer is a secret like a read's (a dynamic
 * lease, or none: pki/issue, builtin/logical/pki/path_issue_sign.go).
 * A GET keeps its query ("?version=N" of a KV v2 read: the query becomes
 * the request's data, parseQuery in the same file).
 */
static const struct engine engines[] = {
	{ "read", "GET", NULL, NULL, vj_parse_secret, read_timing },
	{ "write", "PUT", params_json, params_base, vj_parse_secret,
	    read_timing },
};

const struct engine *
engine_for(const char *path)
{
	return &engines[params_is_read(path) ? 0 : 1];
}
