/* spec.h: "NAME=PATH#FIELD" secret requests, parsed without I/O. */
#ifndef LW_SPEC_H
#define LW_SPEC_H

#include <stddef.h>

struct spec {
	char	*name;		/* environment variable to set */
	char	*path;		/* Vault API path, after /v1/ */
	char	*field;		/* key inside the secret's data */
	int	 from_env;	/* came from an inherited "vault:" variable */
	int	 tmpl;		/* read for a template: no variable of its own */
};

/* Parse "NAME=PATH#FIELD" into sp; -1 with a message in err. */
int	spec_parse(const char *arg, struct spec *sp, char *err, size_t errlen);
/*
 * Split "PATH#FIELD" at its last '#' into sp->path and sp->field,
 * normalising a leading "/v1/"; -1 with "what: ..." in err.
 */
int	spec_parse_path(const char *pf, struct spec *sp, const char *what,
	    char *err, size_t errlen);
/* Parse the "PATH#FIELD" part of a "vault:PATH#FIELD" reference for NAME. */
int	spec_parse_ref(const char *name, const char *ref, struct spec *sp,
	    char *err, size_t errlen);
/*
 * Check a requested variable name, the same for -s, the config file and
 * inherited "vault:" variables: a shell name, and none of leasewrap's own
 * (LEASEWRAP_*, VAULT_TOKEN).  -1 with "what: ..." in err.
 */
int	spec_check_name(const char *name, size_t len, const char *what,
	    char *err, size_t errlen);
void	spec_clear(struct spec *);

#endif
