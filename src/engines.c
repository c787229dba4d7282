/* engines.c: the table of the kinds of secret (engines.h). */
#include "engines.h"
#include "params.h"
#include "vault_json.h"

#include <stddef.h>

/*
 * A plain read: a lease when Vault made one (dynamic secrets:
 * hashicorp/vault sdk/logical/secret.go, Secret.LeaseID), else values
 * to read again on a schedule (KV v1 and v2 make no lease:
 * hashicorp/vault-plugin-secrets-kv path_data.go, pathDataRead).
 */
static enum engine_timing
read_timing(const struct vj_secret *s, double *ttl)
{
	*ttl = (double)s->lease_duration;
	return s->lease_id != NULL ? TIMING_LEASE : TIMING_REFRESH;
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
