/* spec.c: parse secret requests; the grammar is NAME=PATH#FIELD. */
#include "spec.h"
#include "params.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_HINT "expected NAME=PATH#FIELD, like PGUSER=database/creds/ro#username"

int
spec_parse_path(const char *pf, struct spec *sp, const char *what,
    char *err, size_t errlen)
{
	const char *hash, *q;
	size_t plen, blen;
	char *query, why[128];
	int rc;

	if (pf[0] == '/')
		pf++;
	if (strncmp(pf, "v1/", 3) == 0)
		pf += 3;
	if ((hash = strrchr(pf, '#')) == NULL)
		return errf(err, errlen, "%s: no \"#FIELD\" after the path; %s",
		    what, SPEC_HINT);
	plen = (size_t)(hash - pf);
	q = memchr(pf, '?', plen);
	blen = q != NULL ? (size_t)(q - pf) : plen;
	while (blen > 0 && pf[blen - 1] == '/')
		blen--;
	if (blen == 0)
		return errf(err, errlen, "%s: empty Vault path; %s", what,
		    SPEC_HINT);
	if (hash[1] == '\0')
		return errf(err, errlen, "%s: empty field after \"#\"; %s",
		    what, SPEC_HINT);
	if (memchr(pf, ' ', plen) != NULL)
		return errf(err, errlen, "%s: the path must not contain "
		    "spaces; %s", what, SPEC_HINT);
	if (q != NULL) {
		query = xstrndup(q + 1, plen - (size_t)(q + 1 - pf));
		rc = params_check(query, why, sizeof(why));
		free(query);
		if (rc == -1)
			return errf(err, errlen, "%s: %s (parameters are "
			    "PATH?KEY=VALUE&KEY=VALUE); %s", what, why,
			    SPEC_HINT);
		sp->path = xmalloc(blen + (plen - (size_t)(q - pf)) + 1);
		memcpy(sp->path, pf, blen);
		memcpy(sp->path + blen, q, plen - (size_t)(q - pf));
		sp->path[blen + plen - (size_t)(q - pf)] = '\0';
	} else
		sp->path = xstrndup(pf, blen);
	sp->field = xstrdup(hash + 1);
	return 0;
}

/* A name shown in a message: at most 40 bytes, anything unprintable as "?". */
static void
shown_name(const char *name, size_t len, char *out, size_t outlen)
{
	size_t i, n = len < 40 ? len : 40;

	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = (name[i] > 0x20 && name[i] < 0x7f && name[i] != '"') ?
		    name[i] : '?';
	out[n] = '\0';
}

int
spec_check_name(const char *name, size_t len, const char *what, char *err,
    size_t errlen)
{
	char shown[48];

	shown_name(name, len, shown, sizeof(shown));
	if (!util_valid_env_name(name, len))
		return errf(err, errlen, "%s: \"%s\" is not a valid variable "
		    "name (letters, digits, _; not starting with a digit)", what,
		    shown);
	/* leasewrap's own variables: LEASEWRAP_DEADLINE, its settings, its token. */
	if ((len >= 10 && strncmp(name, "LEASEWRAP_", 10) == 0) ||
	    (len == 11 && strncmp(name, "VAULT_TOKEN", 11) == 0))
		return errf(err, errlen, "%s: \"%s\" is reserved for leasewrap "
		    "(LEASEWRAP_* and VAULT_TOKEN); request the secret under "
		    "another name", what, shown);
	return 0;
}

int
spec_parse(const char *arg, struct spec *sp, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char what[96];

	memset(sp, 0, sizeof(*sp));
	if (eq == NULL)
		return errf(err, errlen, "-s \"%.40s\": no \"=\"; %s", arg,
		    SPEC_HINT);
	snprintf(what, sizeof(what), "-s \"%.60s\"", arg);
	if (spec_check_name(arg, (size_t)(eq - arg), what, err, errlen) == -1)
		return -1;
	if (spec_parse_path(eq + 1, sp, what, err, errlen) == -1)
		return -1;
	sp->name = xstrndup(arg, (size_t)(eq - arg));
	return 0;
}

int
spec_parse_ref(const char *name, const char *ref, struct spec *sp,
    char *err, size_t errlen)
{
	char what[96], shown[48];

	memset(sp, 0, sizeof(*sp));
	shown_name(name, strlen(name), shown, sizeof(shown));
	snprintf(what, sizeof(what), "environment variable %s", shown);
	if (spec_check_name(name, strlen(name), what, err, errlen) == -1 ||
	    spec_parse_path(ref, sp, what, err, errlen) == -1)
		return -1;
	sp->name = xstrdup(name);
	sp->from_env = 1;
	return 0;
}

void
spec_clear(struct spec *sp)
{
	free(sp->name);
	free(sp->path);
	free(sp->field);
	memset(sp, 0, sizeof(*sp));
}
