/* capath.c: load a CA folder the way the Vault CLI does, without hash links. */
#define _GNU_SOURCE	/* scandirat */
#include "capath.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Folders nested deeper than this are refused (a loop of bind mounts). */
#define CAPATH_MAX_DEPTH	16
/* A file bigger than this is not a CA certificate. */
#define CAPATH_MAX_FILE		(4 * 1024 * 1024)

/* Read the file at dfd/name (following a symlink, as Go's ReadFile does). */
static int
add_file(int dfd, const char *name, const char *path, struct ubuf *b,
    char *err, size_t errlen)
{
	char *data;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "CA folder: \"%s\": %s; check "
		    "VAULT_CAPATH or --ca-path", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CAPATH_MAX_FILE) {
		close(fd);
		return errf(err, errlen, "CA folder: \"%s\" is not a PEM "
		    "certificate file; keep only CA certificates in "
		    "VAULT_CAPATH", path);
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, data + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	data[got] = '\0';
	/* go-rootcerts: AppendCertsFromPEM must find a certificate. */
	if (strstr(data, "-----BEGIN CERTIFICATE-----") == NULL) {
		free(data);
		return errf(err, errlen, "CA folder: no PEM certificate in "
		    "\"%s\"; keep only CA certificates in VAULT_CAPATH", path);
	}
	util_buf_add(b, data, got);
	util_buf_add(b, "\n", 1);
	free(data);
	return 0;
}

/* Walk dfd (named path), in name order as Go's filepath.Walk does. */
static int
walk(int dfd, const char *path, int depth, struct ubuf *b, char *err,
    size_t errlen)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	int i, n, fd, rc = 0;

	if (depth > CAPATH_MAX_DEPTH)
		return errf(err, errlen, "CA folder: \"%s\" is nested too "
		    "deep", path);
	if ((n = scandirat(dfd, ".", &ents, NULL, alphasort)) == -1)
		return errf(err, errlen, "CA folder \"%s\": %s; check "
		    "VAULT_CAPATH or --ca-path", path, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (rc == -1 || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, name);
		/* Lstat, as filepath.Walk: a symlinked folder is read as a file. */
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC)) == -1)
				rc = errf(err, errlen, "CA folder \"%s\": %s",
				    sub, strerror(errno));
			else {
				rc = walk(fd, sub, depth + 1, b, err, errlen);
				close(fd);
			}
		} else
			rc = add_file(dfd, name, sub, b, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int
capath_load(const char *dir, char **pem, size_t *len, char *err,
    size_t errlen)
{
	struct ubuf b = { NULL, 0, 0 };
	int fd, rc;

	*pem = NULL;
	*len = 0;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "CA folder \"%s\": %s; check "
		    "VAULT_CAPATH or --ca-path", dir, strerror(errno));
	rc = walk(fd, dir, 0, &b, err, errlen);
	close(fd);
	if (rc == 0 && b.len == 0)
		rc = errf(err, errlen, "CA folder \"%s\" holds no certificate; "
		    "put the CA's PEM file in it", dir);
	if (rc == -1) {
		util_buf_drop(&b);
		return -1;
	}
	*pem = b.p;
	*len = b.len;
	return 0;
}
