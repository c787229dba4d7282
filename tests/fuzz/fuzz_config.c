/*
 * fuzz_config: the command line and the JSON config file (config.c).
 * Input: first byte even: the rest is a config file given with -c; odd:
 * NUL-separated arguments, those starting with '@' are the environment.
 */
#define _GNU_SOURCE	/* memfd_create */
#include "fuzz.h"
#include "config.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXARGS	64

static int memfd = -1;

/* The config file's contents as /proc/self/fd/N; its path in path. */
static void
put_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	if (memfd == -1 && (memfd = memfd_create("fuzz-config", 0)) == -1)
		abort();
	if (ftruncate(memfd, 0) == -1 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", memfd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAXARGS + 2], *envp[MAXARGS + 1], path[64], err[512];
	char *buf = NULL, *p, *end;
	struct config cfg;
	int argc = 0, envc = 0, rc;

	if (size == 0)
		return 0;
	argv[argc++] = "leasewrap";
	if ((data[0] & 1) == 0) {
		put_file(data + 1, size - 1, path, sizeof(path));
		argv[argc++] = "-c";
		argv[argc++] = path;
	} else {
		buf = malloc(size);
		if (buf == NULL)
			abort();
		memcpy(buf, data + 1, size - 1);
		buf[size - 1] = '\0';
		end = buf + size - 1;
		for (p = buf; p <= end && argc < MAXARGS && envc < MAXARGS;
		    p += strlen(p) + 1) {
			if (p[0] == '@')
				envp[envc++] = p + 1;
			else
				argv[argc++] = p;
		}
	}
	argv[argc] = NULL;
	envp[envc] = NULL;
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	rc = config_load(&cfg, argc, argv, envp, err, sizeof(err));
	/* Either a config, or an exit code with a message. */
	FUZZ_CHECK(rc >= 0);
	if (rc != 0)
		FUZZ_CHECK(err[0] != '\0');
	config_free(&cfg);
	free(buf);
	return 0;
}
