/* env.h: the child's environment, built as a fresh list; environ is never touched. */
#ifndef LW_ENV_H
#define LW_ENV_H

#include <stddef.h>

struct secret;

struct env_var {
	const char		*name;
	const struct secret	*value;
};

/*
 * A fresh NULL-terminated envp: the inherited variables in their order,
 * less VAULT_TOKEN (unless pass_token) and less every name in vars, then
 * vars as NAME=value.  Entries of vars are secrets: free the result with
 * env_free, which wipes them.
 */
char	**env_build(char **inherited, const struct env_var *vars, size_t nvars,
	    int pass_token);
void	  env_free(char **envp);

#endif
