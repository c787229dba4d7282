/* engines.c: the table of the kinds of secret (engines.h). */
#include "engines.h"
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

/* Every kind, one row each. */
static const struct engine engines[] = {
	{ "read", "GET", NULL, vj_parse_secret, read_timing },
};

const struct engine *
engine_for(const char *path)
{
	(void)path;	/* every path is a plain read, for now */
	return &engines[0];
}
