/* util.c: shared helpers; all pure but the file helpers at the end. */
#define _GNU_SOURCE	/* mkostemp */
#include "util.h"
#include "secret.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parse a duration: plain seconds, or number+unit runs like "1h30m" or "250ms". */
long long
util_parse_duration_ms(const char *s)
{
	long long total = 0;
	int any = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		long long n = 0, mult;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			if (n > 1000000000LL)
				return -1;
			n = n * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0)
			return -1;
		if (*s == '\0') {
			if (any)
				return -1;	/* "1h30" is ambiguous */
			mult = 1000;
		} else if (strncmp(s, "ms", 2) == 0) {
			mult = 1;
			s += 2;
		} else if (*s == 's') {
			mult = 1000;
			s++;
		} else if (*s == 'm') {
			mult = 60 * 1000;
			s++;
		} else if (*s == 'h') {
			mult = 3600 * 1000;
			s++;
		} else if (*s == 'd') {
			mult = 86400 * 1000;
			s++;
		} else
			return -1;
		if (n > (LLONG_MAX - total) / mult)
			return -1;	/* "9999999999d9999999999d..." */
		total += n * mult;
		any = 1;
	}
	return total;
}

/* Format a duration the way Vault prints one, without trailing zero units. */
char *
util_format_duration(long long ms, char *buf, size_t len)
{
	long long s = ms / 1000, h = s / 3600, m = (s % 3600) / 60;
	size_t off = 0;

	if (ms < 1000 && ms > 0) {
		snprintf(buf, len, "%lldms", ms);
		return buf;
	}
	s %= 60;
	buf[0] = '\0';
	if (h > 0)
		off += (size_t)snprintf(buf + off, len - off, "%lldh", h);
	if (m > 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%lldm", m);
	if ((s > 0 || off == 0) && off < len)
		snprintf(buf + off, len - off, "%llds", s);
	return buf;
}

char *
util_retry_window(long long ms, char *buf, size_t len)
{
	char dur[32];

	util_format_duration(ms, dur, sizeof(dur));
	snprintf(buf, len, ", retrying for up to %s (--start-timeout)", dur);
	return buf;
}

/* An environment name as POSIX shells accept it. */
int
util_valid_env_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* Allocation failure is not recoverable in a small supervisor: say so and stop. */
static void
oom(void)
{
	static const char msg[] = "leasewrap: error: out of memory\n";

	(void)!fwrite(msg, 1, sizeof(msg) - 1, stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size == 0 ? 1 : size);

	if (q == NULL)
		oom();
	return q;
}

void
util_buf_add(struct ubuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 256 : b->cap, len = b->len;
		char *nb;

		while (len + n + 1 > cap)
			cap *= 2;
		nb = xmalloc(cap);
		if (len > 0)
			memcpy(nb, b->p, len);
		util_buf_drop(b);
		b->p = nb;
		b->len = len;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
util_buf_drop(struct ubuf *b)
{
	if (b->p != NULL) {
		secret_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

size_t
util_utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and code points above U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* Bytes a shell takes literally outside quotes (and never at a word's start as ~ or #). */
#define SHELL_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.:@%+=,-"

unsigned int
util_random_seed(void)
{
	unsigned int seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	/* Entropy not ready yet (early boot): pid and nanoseconds, as integers. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned int)getpid() * 2654435761U ^ (unsigned int)ts.tv_nsec ^
	    (unsigned int)ts.tv_sec;
}

size_t
util_shell_quote(const char *s, char *out, size_t len)
{
	const char *p;
	size_t n = 0;

	if (len == 0)
		return 0;
	for (p = s; *p != '\0' && strchr(SHELL_SAFE, *p) != NULL; p++)
		;
	if (*s != '\0' && *p == '\0') {
		n = strlen(s) < len - 1 ? strlen(s) : len - 1;
		memcpy(out, s, n);
		out[n] = '\0';
		return n;
	}
	/* '...' with each ' written as '\'' ; only whole pieces fit. */
	if (len < 3)
		goto done;
	out[n++] = '\'';
	for (p = s; *p != '\0'; p++) {
		size_t need = *p == '\'' ? 4 : 1;

		if (n + need + 1 >= len)
			break;
		if (*p == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else
			out[n++] = *p;
	}
	out[n++] = '\'';
done:
	out[n] = '\0';
	return n;
}

/* write(2) all of buf, through EINTR and short writes. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int
util_replace_file(const char *path, const void *buf, size_t len,
    unsigned int mode, int sync, long uid, long gid)
{
	size_t n = strlen(path) + 8;
	char *tmp = xmalloc(n);
	int fd, e;

	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	/* mkostemp makes it 0600; set the mode explicitly against odd umasks. */
	if ((uid != -1 && fchown(fd, (uid_t)uid, (gid_t)gid) == -1) ||
	    fchmod(fd, (mode_t)mode) == -1 || write_all(fd, buf, len) == -1 ||
	    (sync && fsync(fd) == -1)) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	errno = e;
	return -2;
}

/* The folder part of path ("." when there is none), freshly allocated. */
static char *
folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
util_no_folder(const char *path, int e, char *err, size_t errlen)
{
	return errf(err, errlen, "\"%s\": cannot create a file beside it: %s; "
	    "check the folder exists and is writable", path, strerror(e));
}

/* Is uid leasewrap's own, or the --user the file is written for (owner)? */
static int
is_ours(uid_t uid, long owner)
{
	return uid == geteuid() || (owner != -1 && uid == (uid_t)owner);
}

int
util_check_output(const char *path, long owner, char *err, size_t errlen)
{
	char *dir = folder_of(path);
	struct stat ds, fs;
	int others, e;

	/* Missing, or no new file can be made there: the temporary's failure. */
	if (stat(dir, &ds) == -1 || access(dir, W_OK | X_OK) == -1) {
		e = errno;
		free(dir);
		return util_no_folder(path, e, err, errlen);
	}
	/* Another user can write it: the group, everyone, or its owner. */
	others = (ds.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (ds.st_uid != 0 && !is_ours(ds.st_uid, owner));
	if (others && (ds.st_mode & S_ISVTX) != 0 &&
	    (lstat(path, &fs) == -1 ? errno == ENOENT : is_ours(fs.st_uid,
	    owner)))
		others = 0;	/* sticky: no one else can replace our file */
	if (others) {
		errf(err, errlen, "\"%s\": folder \"%s\" can be written by "
		    "another user (mode %03o, owner uid %ld)%s; use a folder "
		    "only you can write, like one made with mkdir -m 0700", path,
		    dir, (unsigned)(ds.st_mode & 07777), (long)ds.st_uid,
		    (ds.st_mode & S_ISVTX) ? " and the file there is not ours" :
		    "");
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

/* Is name "base.XXXXXX", a temporary of util_replace_file for base? */
static int
is_temp_of(const char *name, const char *base)
{
	size_t n = strlen(base), i;

	if (strncmp(name, base, n) != 0 || name[n] != '.' ||
	    strlen(name + n + 1) != 6)
		return 0;
	for (i = n + 1; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]))
			return 0;
	return 1;
}

int
util_sweep_temps(const char *path, long owner)
{
	char *dir = folder_of(path);
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, n = 0;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	fd = dirfd(d);
	while ((de = readdir(d)) != NULL)
		if (is_temp_of(de->d_name, base) &&
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && is_ours(st.st_uid, owner) &&
		    unlinkat(fd, de->d_name, 0) == 0)
			n++;
	closedir(d);
	free(dir);
	return n;
}
