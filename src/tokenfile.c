/* tokenfile.c: re-read a rotated --token-file on change (ev_stat) and when asked. */
#include "tokenfile.h"
#include "auth.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

struct tokenfile {
	struct ev_loop	*loop;
	char		*path;
	struct secret	*last;		/* the token the file held last */
	ev_stat		 stat;		/* inotify where the kernel has it */
	ev_timer	 due;		/* a re-read the supervisor asked for */
	int		 warned;	/* an unreadable file was reported */
	tokenfile_cb	 cb;
	void		*arg;
};

/* Read the file; hand a token that differs from the last one to cb. */
static void
reread(struct tokenfile *tf)
{
	struct secret *v = NULL;
	char err[512];

	if (auth_read_file(tf->path, "token", &v, NULL, 0, err,
	    sizeof(err)) == -1 ||
	    memchr(secret_str(v), '\n', secret_len(v)) != NULL) {
		/* Mid-rotation, or gone: keep the token in use, say so once. */
		if (!tf->warned)
			log_warn("token.file", "%s", v != NULL ? "token file has "
			    "several lines; keeping the token in use" : err);
		tf->warned = 1;
		secret_free(v);
		return;
	}
	tf->warned = 0;
	if (secret_equal(v, tf->last)) {
		secret_free(v);
		return;
	}
	secret_free(tf->last);
	tf->last = secret_new(secret_str(v), secret_len(v));
	tf->cb(v, tf->arg);
}

/* The file (or the folder entry naming it) changed. */
static void
stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	(void)loop;
	(void)revents;
	reread(w->data);
}

/* The supervisor's re-read is due. */
static void
due_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	reread(w->data);
}

struct tokenfile *
tokenfile_new(struct ev_loop *loop, const char *path,
    const struct secret *current, tokenfile_cb cb, void *arg)
{
	struct tokenfile *tf = xcalloc(1, sizeof(*tf));

	tf->loop = loop;
	tf->path = xstrdup(path);
	tf->last = secret_new(secret_str(current), secret_len(current));
	tf->cb = cb;
	tf->arg = arg;
	/* Interval 0: libev's default poll where inotify cannot watch. */
	ev_stat_init(&tf->stat, stat_cb, tf->path, 0.);
	tf->stat.data = tf;
	ev_stat_start(loop, &tf->stat);
	ev_timer_init(&tf->due, due_cb, 0., 0.);
	tf->due.data = tf;
	return tf;
}

void
tokenfile_due(struct tokenfile *tf, double delay)
{
	if (tf == NULL)
		return;
	ev_timer_stop(tf->loop, &tf->due);
	ev_timer_set(&tf->due, delay > 0 ? delay : 0., 0.);
	ev_timer_start(tf->loop, &tf->due);
}

void
tokenfile_free(struct tokenfile *tf)
{
	if (tf == NULL)
		return;
	ev_stat_stop(tf->loop, &tf->stat);
	ev_timer_stop(tf->loop, &tf->due);
	secret_free(tf->last);
	free(tf->path);
	free(tf);
}
