/*
 * output.h: what leasewrap produces from the credentials in use: the
 * child's environment and the outputs table (env files), the metrics
 * gauges, the "check" report.
 */
#ifndef LW_OUTPUT_H
#define LW_OUTPUT_H

#include <stddef.h>

struct sup;
struct vj_secret;

/*
 * The child's environment from the credentials in use, written to every
 * output (env files) too; NULL with the exit code in *code when a field is
 * missing, a value is one an output cannot carry (65), or an output fails
 * (its own code: at a start the exit code, in signal mode a retry).
 */
char	**output_build(struct sup *, int *code);
/* Do the fields the outputs take from path differ between two reads of it? */
int	  output_values_differ(const struct sup *, const char *path,
	    const struct vj_secret *a, const struct vj_secret *b);
/* Exiting with the leases revoked: remove the env files. */
void	  output_remove(struct sup *);
/* "leasewrap check": one line per variable on stdout, never a value; returns the exit code. */
int	  output_check_report(struct sup *);
/* Start exporting metrics if asked (s->metrics, gauges from the state), and zero the counters. */
int	  output_metrics_start(struct sup *, char *err, size_t errlen);

#endif
