/*
 * projpass: full status passes of project repositories, in a thread.
 *
 * A full pass of a big repository takes a while (some 200 ms for 50 000
 * files), and the worker serves every project: so the pass runs in a
 * thread with a repository object of its own (libgit2 objects are one
 * thread's at a time), and the finished pair replaces the project's on
 * the event loop. One pass per project at a time; later requests
 * coalesce into one more pass, and a pass that went stale meanwhile is
 * dropped for it.
 *
 * A project's first pass and the pass after a git command are waited
 * for: until they are in, that project's commands are held, in order,
 * and run when it is done; a command's answer follows its update. Other
 * projects go on meanwhile.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"
#include "git/project-int.h"
#include "git/repo.h"
#include "git/watch.h"

struct bgpass {
	struct proj		*p;
	char			*folder;
	unsigned int		 gen;
	pthread_t		 tid;
	struct repo		*repo;
	struct repo_status	*st;
	int			 notrepo;
	char			 err[256];
	struct pwait_list	 waiters;
};

#define TRIM_DELAY_MS	100

static int		 bg_pipe[2] = { -1, -1 };
static struct event	*bg_ev;
static struct event	*trim_ev;

static void	 finish(struct proj *, struct pwait_list *);

static void *
bg_run(void *arg)
{
	struct bgpass	*b = arg;
	int		 r;

	r = repo_open(b->folder, &b->repo, b->err, sizeof(b->err));
	if (r == 0 && (b->st = repo_status(b->repo, b->err,
	    sizeof(b->err))) == NULL) {
		repo_close(b->repo);
		b->repo = NULL;
	}
	b->notrepo = r == REPO_ENOTREPO;
	/* A pipe write of a pointer is atomic; the loop picks it up. */
	if (write(bg_pipe[1], &b, sizeof(b)) != sizeof(b))
		log_warn("%s: write", __func__);
	return NULL;
}

static void
waiters_move(struct pwait_list *to, struct pwait_list *from)
{
	struct pwait	*w;

	while ((w = TAILQ_FIRST(from)) != NULL) {
		TAILQ_REMOVE(from, w, entry);
		TAILQ_INSERT_TAIL(to, w, entry);
	}
}

/* The pass on the event loop: no thread to be had. */
static void
pass_here(struct proj *p)
{
	struct pwait_list	 ws;

	TAILQ_INIT(&ws);
	waiters_move(&ws, &p->waiting);
	proj_refresh_git(p, NULL, 0);
	finish(p, &ws);
}

void
pass_start(struct proj *p)
{
	struct bgpass	*b;
	sigset_t	 all, old;
	int		 e;

	if (p->bg != NULL) {
		p->again = 1;
		return;
	}
	if (bg_pipe[1] == -1) {
		pass_here(p);
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->p = p;
	b->folder = xstrdup(p->folder);
	b->gen = p->gen;
	TAILQ_INIT(&b->waiters);
	/* Signals stay with the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&b->tid, NULL, bg_run, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		log_warnx("%s: pthread_create: %s", p->folder, strerror(e));
		free(b->folder);
		free(b);
		pass_here(p);
		return;
	}
	waiters_move(&b->waiters, &p->waiting);
	p->again = 0;
	p->bg = b;
}

static void
adopt(struct proj *p, struct bgpass *b)
{
	if (b->repo == NULL && !b->notrepo) {
		log_warnx("%s: git status: %s", p->folder, b->err);
		return;
	}
	if (p->st != NULL)
		repo_status_free(p->st);
	if (p->repo != NULL)
		repo_close(p->repo);
	p->repo = b->repo;
	p->st = b->st;
	b->repo = NULL;
	b->st = NULL;
	/*
	 * The git watch follows a .git directory that appeared or went;
	 * one still being made (git init in progress) is watched already,
	 * so its HEAD arriving brings the next pass.
	 */
	if (p->gitdir != NULL && access(p->gitdir, F_OK) == -1) {
		watch_del_git(p->gitdir);
		free(p->gitdir);
		p->gitdir = NULL;
	}
	proj_watch_git(p);
	proj_git_data(p);
	proj_tree_sync(p);
}

static void
wait_free(struct pwait *w)
{
	json_object_put(w->ev);
	free(w->channel);
	free(w);
}

/* Each waiting answer, as it is: its session went away. */
static void
waiters_answer(struct pwait_list *ws)
{
	struct pwait	*w;

	while ((w = TAILQ_FIRST(ws)) != NULL) {
		TAILQ_REMOVE(ws, w, entry);
		worker_reply(w->id, json_object_get(w->ev));
		wait_free(w);
	}
}

/* Held commands run, in order, until one makes p wait again. */
static void
release(struct proj *p)
{
	struct pheld	*h;

	while (!pass_holds(p) && (h = TAILQ_FIRST(&p->held)) != NULL) {
		TAILQ_REMOVE(&p->held, h, entry);
		p->nheld--;
		worker_dispatch(h->id, h->cmd);
		free(h);
	}
}

/*
 * p has its new status: sessions waiting for their first state get it,
 * each waiting command's session its update and then the answer, and
 * every other session its update.
 */
static void
finish(struct proj *p, struct pwait_list *ws)
{
	struct pwait	*w;
	struct sess	*s;

	if (p->loading) {
		p->loading = 0;
		proj_loaded(p);
	}
	TAILQ_FOREACH(w, ws, entry)
		if ((s = proj_sess_find(w->channel)) != NULL && s->p == p)
			proj_update(s, w->id, s->channel);
	proj_update_all(p);
	waiters_answer(ws);
	release(p);
}

static void
trim(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	malloc_trim(0);
}

/*
 * The pass's thread left its memory in an arena of its own: give it
 * back, once the updates just queued are on their way to net.
 */
static void
trim_soon(void)
{
	struct timeval	tv = { 0, TRIM_DELAY_MS * 1000 };

	if (trim_ev == NULL)
		malloc_trim(0);
	else if (!evtimer_pending(trim_ev, NULL))
		evtimer_add(trim_ev, &tv);
}

static void
bg_end(struct bgpass *b)
{
	struct proj	*p = b->p;

	p->bg = NULL;
	if (p->dying) {
		waiters_answer(&b->waiters);
		proj_free(p);
		return;
	}
	if (b->gen != p->gen) {
		/* A change came meanwhile: this pass may have missed it. */
		waiters_move(&p->waiting, &b->waiters);
		p->again = 1;
	} else {
		adopt(p, b);
		finish(p, &b->waiters);
		trim_soon();
	}
	if (p->bg == NULL && (p->again || !TAILQ_EMPTY(&p->waiting)))
		pass_start(p);
}

static void
bg_done(evutil_socket_t fd, short what, void *arg)
{
	struct bgpass	*b;

	(void)what;
	(void)arg;
	while (read(fd, &b, sizeof(b)) == sizeof(b)) {
		pthread_join(b->tid, NULL);
		bg_end(b);
		if (b->st != NULL)
			repo_status_free(b->st);
		if (b->repo != NULL)
			repo_close(b->repo);
		free(b->folder);
		free(b);
	}
}

void
pass_then_reply(struct sess *s, uint32_t id, struct json_object *ev)
{
	struct proj	*p = s->p;
	struct pwait	*w;

	w = xcalloc(1, sizeof(*w));
	w->id = id;
	w->channel = xstrdup(s->channel);
	w->ev = ev;
	TAILQ_INSERT_TAIL(&p->waiting, w, entry);
	/* A pass under way began before this change. */
	p->gen++;
	pass_start(p);
}

int
pass_holds(const struct proj *p)
{
	return p->loading || !TAILQ_EMPTY(&p->waiting) ||
	    (p->bg != NULL && !TAILQ_EMPTY(&p->bg->waiters));
}

void
pass_hold(struct proj *p, struct worker_req *req)
{
	struct pheld	*h;

	if (p->nheld >= PROJ_MAX_HELD) {
		worker_error(req->id, "Too many commands waiting for the "
		    "project state of %s", p->folder);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->id = req->id;
	h->cmd = json_object_get(req->cmd);
	TAILQ_INSERT_TAIL(&p->held, h, entry);
	p->nheld++;
}

void
pass_drop(struct proj *p)
{
	struct pheld	*h;

	waiters_answer(&p->waiting);
	p->loading = 0;
	/* Their sessions are gone: each gets the answer for that. */
	while ((h = TAILQ_FIRST(&p->held)) != NULL) {
		TAILQ_REMOVE(&p->held, h, entry);
		p->nheld--;
		worker_dispatch(h->id, h->cmd);
		free(h);
	}
}

void
pass_init(struct event_base *base)
{
	if (pipe2(bg_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("background status pipe");
		bg_pipe[0] = bg_pipe[1] = -1;
		return;
	}
	bg_ev = event_new(base, bg_pipe[0], EV_READ | EV_PERSIST, bg_done,
	    NULL);
	event_add(bg_ev, NULL);
	trim_ev = evtimer_new(base, trim, NULL);
}
