/* config.h: flags, environment and config file merged into one config. */
#ifndef LW_CONFIG_H
#define LW_CONFIG_H

#include <stddef.h>

#include "spec.h"

struct config {
	char		 *vault_addr;
	char		 *namespace;
	char		 *token_file;
	char		 *config_path;
	struct spec	 *specs;
	size_t		  nspecs;
	int		  no_revoke;
	int		  pass_token;
	int		  env_refs;
	int		  log_level;
	long long	  request_timeout_ms;
	long long	  connect_timeout_ms;
	long long	  start_timeout_ms;
	size_t		  max_response;
	char		**argv;		/* the command; NULL-terminated */
	int		  argc;
	int		  argv_owned;	/* argv came from the file */
	int		  help;
	int		  version;
};

/*
 * Build cfg from argv, the environment envp and the config file named by
 * -c.  Precedence: flags, then environment, then the file.  Returns 0, or
 * an exit code (LW_EXIT_USAGE, LW_EXIT_CONFIG) with a one-line message.
 */
int	config_load(struct config *cfg, int argc, char **argv, char **envp,
	    char *err, size_t errlen);
void	config_free(struct config *);
/* The text of --help. */
const char *config_usage(void);

#endif
