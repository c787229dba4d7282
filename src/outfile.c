/* outfile.c: write --file and --file-template outputs (outfile.h). */
#include "outfile.h"
#include "config.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	if (r == -1) {
		util_no_folder(f->name, e, why, sizeof(why));
		return errf(err, errlen, "file %s", why);
	}
	if (r == -2)
		return errf(err, errlen, "file \"%s\": %s", f->name,
		    strerror(e));
	return 0;
}
