/* refresh.c: a path's own --refresh-interval against the kind of secret its answer is (refresh.h). */
#define _GNU_SOURCE
#include "refresh.h"
#include "config.h"
#include "cred.h"
#include "engines.h"
#include "lease.h"
#include "log.h"
#include "sup.h"
#include "util.h"
#include "vault_json.h"

#include <stdio.h>

void
refresh_warn_ignored(const struct sup *s)
{
	size_t i;
	int own;

	for (i = 0; i < creds_count(s); i++) {
		const struct cred *c = creds_at(s, i);
		const char *why;

		(void)config_refresh_ms(s->cfg, cred_path(c), &own);
		if (!own)
			continue;
		if (cred_lease(c) != NULL)
			why = "it has a lease, renewed and replaced before it "
			    "ends (--rotate-before)";
		else if (engine_is_cert(cred_values(c)) && cred_deadline(c) > 0)
			why = "it is a certificate, issued anew before its "
			    "expiration (--rotate-before)";
		else
			continue;	/* KV, or a static role's slow poll */
		log_at(LOG_WARN, "config", LF(.path = cred_path(c)),
		    "--refresh-interval for %s is ignored: %s", cred_path(c),
		    why);
	}
}

const char *
refresh_words(const struct sup *s, const struct cred *c, char *buf,
    size_t len)
{
	char dur[32];
	int own;
	long long ms = config_refresh_ms(s->cfg, cred_path(c), &own);
	double every = lease_refresh_every((double)ms / 1000.0, own,
	    (double)cred_values(c)->lease_duration);

	util_format_duration((long long)(every * 1000), dur, sizeof(dur));
	snprintf(buf, len, "re-read every %s", dur);
	return buf;
}
