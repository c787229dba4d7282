/* outfile.h: --file and --file-template: one rendered template per file, 0600, replaced atomically. */
#ifndef LW_OUTFILE_H
#define LW_OUTFILE_H

#include <stddef.h>

#include "template.h"

struct config;
struct ctemplate;

/*
 * Render f's template with lookup and replace f->name with it: checked
 * like an env file (util_check_output), cfg->file_perm, owned by --user,
 * fsync'd.  0; -1 with a message when the file cannot be written; -2 when
 * the template cannot be rendered (a missing field; no value in err).
 */
int	outfile_write(const struct config *cfg, const struct ctemplate *f,
	    tmpl_lookup lookup, void *arg, char *err, size_t errlen);

#endif
