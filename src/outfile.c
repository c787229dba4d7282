/* outfile.c: write --file and --file-template outputs (outfile.h). */
#include "outfile.h"
#include "config.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The message for a file whose folder cannot take a new file. */
static int
no_folder(const char *dest, int e, char *err, size_t errlen)
{
	return errf(err, errlen, "file \"%s\": cannot create a file beside "
	    "it: %s; check the folder exists and is writable", dest,
	    strerror(e));
}

int
outfile_check_folder(const char *dest, char *err, size_t errlen)
{
	if (util_folder_writable(dest) == -1)
		return no_folder(dest, errno, err, errlen);
	return 0;
}

int
outfile_write(const struct config *cfg, const struct ctemplate *f,
    tmpl_lookup lookup, void *arg, char *err, size_t errlen)
{
	long uid = cfg->runas.set ? (long)cfg->runas.uid : -1;
	long gid = cfg->runas.set ? (long)cfg->runas.gid : -1;
	struct secret *text;
	char why[512];
	int r, e;

	if ((text = tmpl_render(&f->t, lookup, arg, why, sizeof(why))) ==
	    NULL) {
		errf(err, errlen, "file \"%s\": %s", f->name, why);
		return -2;
	}
	if (util_check_output(f->name, uid, why, sizeof(why)) == -1) {
		secret_free(text);
		return errf(err, errlen, "file %s", why);
	}
	r = util_replace_file(f->name, secret_str(text), secret_len(text),
	    cfg->file_perm, 1, uid, gid);
	e = errno;
	secret_free(text);
	if (r == -1)
		return no_folder(f->name, e, err, errlen);
	if (r == -2)
		return errf(err, errlen, "file \"%s\": %s", f->name,
		    strerror(e));
	return 0;
}
