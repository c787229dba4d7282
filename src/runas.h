/* runas.h: --user USER[:GROUP], resolved once, applied in the forked child. */
#ifndef LW_RUNAS_H
#define LW_RUNAS_H

#include <stddef.h>
#include <sys/types.h>

struct runas {
	int	 set;		/* --user was given */
	uid_t	 uid;
	gid_t	 gid;
	gid_t	*groups;	/* supplementary groups */
	size_t	 ngroups;
	char	*home;		/* the user's home, for HOME */
};

/*
 * Resolve "USER[:GROUP]" (names or numbers, as su-exec and gosu do): the
 * user's uid, its group or GROUP, its supplementary groups (none when
 * GROUP is given or the user is a bare number) and home ("/" if unknown).
 * -1 with a message in err.
 */
int	runas_resolve(const char *spec, struct runas *ra, char *err,
	    size_t errlen);
/*
 * Become ra (setgroups, setgid, setuid, in that order) in the forked
 * child before exec; 0 when ra is not set; -1 with errno.
 */
int	runas_apply(const struct runas *ra);
void	runas_free(struct runas *ra);

#endif
