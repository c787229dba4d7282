/* main.c: parse, supervise, return the exit code; the only exit(). */
#include "child.h"
#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "signals.h"
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[1024];
	const char *v;
	int rc;

	/* Before anything slow: a signal sent now stays pending, never lost. */
	child_init();
	signals_block();

	if ((rc = config_load(&cfg, argc, argv, environ, err,
	    sizeof(err))) != 0) {
		/* JSON if asked for by then (the flag) or in the environment. */
		v = getenv("LEASEWRAP_LOG_FORMAT");
		log_set_json(cfg.log_json || (v != NULL && strcmp(v, "json") == 0));
		log_error(rc == LW_EXIT_CONFIG ? "config" : "usage", "%s", err);
		config_free(&cfg);
		exit(rc);
	}
	if (cfg.help) {
		config_usage(stdout);
		config_free(&cfg);
		exit(0);
	}
	if (cfg.version) {
		printf("leasewrap %s\n", LW_VERSION);
		config_free(&cfg);
		exit(0);
	}
	log_set_level(cfg.log_level);
	log_set_json(cfg.log_json);
	child_set_user(&cfg.runas);
	rc = supervisor_run(&cfg, environ);
	config_free(&cfg);
	exit(rc);
}
