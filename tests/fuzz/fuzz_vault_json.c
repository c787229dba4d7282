/*
 * fuzz_vault_json: Vault's answers (vault_json.c): a secret read and its
 * fields, an error body, a mount lookup, and every duration.
 */
#include "fuzz.h"
#include "secret.h"
#include "vault_json.h"

#include <jansson.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = size > 0 && (data[0] & 1) ? "secret/data/app" :
	    "database/creds/ro";
	char err[256], text[256], *mount = NULL;
	struct vj_secret sec;
	struct secret *val;
	const char *k;
	json_t *v;
	int kv = 0;

	if (vj_parse_secret(path, (const char *)data, size, &sec, err,
	    sizeof(err)) == 0) {
		FUZZ_CHECK(sec.lease_duration >= 0 &&
		    sec.lease_duration <= (long long)VJ_TTL_MAX);
		json_object_foreach((json_t *)sec.data, k, v) {
			if (vj_field(&sec, k, &val, err, sizeof(err)) == 0)
				secret_free(val);
		}
		if (vj_field(&sec, "no such field", &val, err,
		    sizeof(err)) == 0)
			secret_free(val);
		vj_secret_clear(&sec);
	}
	vj_error_text((const char *)data, size, text, sizeof(text));
	FUZZ_CHECK(memchr(text, '\0', sizeof(text)) != NULL);
	if (vj_parse_mount((const char *)data, size, &mount, &kv, err,
	    sizeof(err)) == 0)
		free(mount);
	/* Every number Vault may send for a duration is safe to convert. */
	if ((v = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    NULL)) != NULL) {
		double s = vj_seconds(v);

		FUZZ_CHECK(s >= 0 && s <= VJ_TTL_MAX);
		FUZZ_CHECK((long long)s >= 0);
		json_decref(v);
	}
	return 0;
}
