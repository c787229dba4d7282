/*
 * capath.h: VAULT_CAPATH read as the Vault CLI reads it (go-rootcerts
 * LoadCAPath): every file under the folder, recursively, is PEM; no
 * `openssl rehash` needed.
 */
#ifndef LW_CAPATH_H
#define LW_CAPATH_H

#include <stddef.h>

/*
 * Concatenate the PEM certificates of every file under dir into *pem
 * (malloc'd, NUL-terminated, length in *len).  0; -1 with a one-line
 * message in err when the folder cannot be read, a file holds no PEM
 * certificate (go-rootcerts refuses it too) or none is found.
 */
int	capath_load(const char *dir, char **pem, size_t *len, char *err,
	    size_t errlen);

#endif
