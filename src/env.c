/* env.c: build the child's envp; every entry is wiped when it is freed. */
#include "env.h"
#include "secret.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Is the "NAME=..." entry e named name (of length n)? */
static int
env_is(const char *e, const char *name, size_t n)
{
	return strncmp(e, name, n) == 0 && e[n] == '=';
}

/* Should the inherited entry e be left out of the child's environment? */
static int
env_drop(const char *e, const struct env_var *vars, size_t nvars,
    int pass_token)
{
	size_t i;

	if (strchr(e, '=') == NULL)
		return 1;	/* not NAME=value: nothing a child can use */
	if (!pass_token && env_is(e, "VAULT_TOKEN", 11))
		return 1;
	for (i = 0; i < nvars; i++)
		if (env_is(e, vars[i].name, strlen(vars[i].name)))
			return 1;
	return 0;
}

char **
env_build(char **inherited, const struct env_var *vars, size_t nvars,
    int pass_token)
{
	size_t n = 0, i, k = 0;
	char **envp, *s;

	while (inherited != NULL && inherited[n] != NULL)
		n++;
	envp = xcalloc(n + nvars + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		if (!env_drop(inherited[i], vars, nvars, pass_token))
			envp[k++] = xstrdup(inherited[i]);
	for (i = 0; i < nvars; i++) {
		/* A name given twice keeps its last value. */
		size_t j, nl = strlen(vars[i].name), vl;
		int dup = 0;

		for (j = i + 1; j < nvars; j++)
			if (strcmp(vars[j].name, vars[i].name) == 0)
				dup = 1;
		if (dup)
			continue;
		vl = secret_len(vars[i].value);
		s = xmalloc(nl + vl + 2);
		memcpy(s, vars[i].name, nl);
		s[nl] = '=';
		memcpy(s + nl + 1, secret_str(vars[i].value), vl);
		s[nl + vl + 1] = '\0';
		envp[k++] = s;
	}
	envp[k] = NULL;
	return envp;
}

void
env_free(char **envp)
{
	size_t i;

	if (envp == NULL)
		return;
	for (i = 0; envp[i] != NULL; i++) {
		secret_wipe(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
}
