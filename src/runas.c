/* runas.c: resolve --user USER[:GROUP] and drop to it in the child. */
#define _GNU_SOURCE	/* getgrouplist, setgroups */
#include "runas.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A whole decimal id, or -1. */
static long
parse_id(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v >= (long)UINT_MAX)
		return -1;
	return v;
}

/* The group named or numbered g; -1 with a message. */
static int
resolve_group(const char *g, gid_t *gid, char *err, size_t errlen)
{
	struct group *gr;
	long id;

	if ((gr = getgrnam(g)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	if ((id = parse_id(g)) == -1)
		return errf(err, errlen, "--user: no group \"%.40s\"; give a "
		    "group name from /etc/group or a number", g);
	*gid = (gid_t)id;
	return 0;
}

/* The supplementary groups of user name with primary group gid. */
static void
resolve_groups(const char *name, gid_t gid, struct runas *ra)
{
	int n = 16;
	gid_t *g = xcalloc((size_t)n, sizeof(gid_t));

	if (getgrouplist(name, gid, g, &n) == -1) {
		g = xrealloc(g, (size_t)n * sizeof(gid_t));
		if (getgrouplist(name, gid, g, &n) == -1)
			n = 0;
	}
	ra->groups = g;
	ra->ngroups = n > 0 ? (size_t)n : 0;
}

int
runas_resolve(const char *spec, struct runas *ra, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char *user = xstrndup(spec, colon ? (size_t)(colon - spec) :
	    strlen(spec));
	struct passwd *pw;
	long id;

	memset(ra, 0, sizeof(*ra));
	if (*user == '\0' || (colon != NULL && colon[1] == '\0')) {
		free(user);
		return errf(err, errlen, "--user \"%.40s\": expected USER or "
		    "USER:GROUP, like nobody or app:app", spec);
	}
	if ((pw = getpwnam(user)) == NULL && (id = parse_id(user)) != -1)
		pw = getpwuid((uid_t)id);
	if (pw != NULL) {
		ra->uid = pw->pw_uid;
		ra->gid = pw->pw_gid;
		ra->home = xstrdup(pw->pw_dir != NULL && *pw->pw_dir != '\0' ?
		    pw->pw_dir : "/");
		if (colon == NULL)
			resolve_groups(pw->pw_name, pw->pw_gid, ra);
	} else if ((id = parse_id(user)) != -1) {
		/* A bare uid with no passwd entry: its gid is the same number. */
		ra->uid = (uid_t)id;
		ra->gid = (gid_t)id;
		ra->home = xstrdup("/");
	} else {
		errf(err, errlen, "--user: no user \"%.40s\"; give a user name "
		    "from /etc/passwd or a number", user);
		free(user);
		return -1;
	}
	free(user);
	if (colon != NULL && resolve_group(colon + 1, &ra->gid, err,
	    errlen) == -1) {
		runas_free(ra);
		return -1;
	}
	if (ra->groups == NULL) {
		ra->groups = xcalloc(1, sizeof(gid_t));
		ra->groups[0] = ra->gid;
		ra->ngroups = 1;
	}
	ra->set = 1;
	return 0;
}

int
runas_apply(const struct runas *ra)
{
	if (ra == NULL || !ra->set)
		return 0;
	if (setgroups(ra->ngroups, ra->groups) == -1 ||
	    setgid(ra->gid) == -1 || setuid(ra->uid) == -1)
		return -1;
	/* Root must be gone for good: getting it back has to fail. */
	if (ra->uid != 0 && setuid(0) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

void
runas_free(struct runas *ra)
{
	free(ra->groups);
	free(ra->home);
	memset(ra, 0, sizeof(*ra));
}
