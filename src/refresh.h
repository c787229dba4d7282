/*
 * refresh.h: what a path's own --refresh-interval does once its answer
 * shows what kind of secret it is.
 */
#ifndef LW_REFRESH_H
#define LW_REFRESH_H

#include <stddef.h>

struct cred;
struct sup;

/*
 * After the first reads: warn, once per path, that a path's own
 * --refresh-interval is ignored because its answer has a schedule of its
 * own (a lease, a certificate's expiration).  A static role keeps it as
 * its slow poll.
 */
void		 refresh_warn_ignored(const struct sup *);
/* "re-read every 30s" for the check report of a credential without a lease. */
const char	*refresh_words(const struct sup *, const struct cred *, char *buf,
		    size_t len);

#endif
