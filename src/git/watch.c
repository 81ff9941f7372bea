/*
 * watch: inotify on libevent for the git worker.
 *
 * One mask for every watch, because the kernel keeps one watch per
 * inode and a second inotify_add_watch() on it (a folder reached through
 * a symbolic link, say) replaces the mask and returns the same
 * descriptor. Several entries may therefore share a wd; the kernel
 * watch goes when the last of them does.
 *
 * The mask:
 *   IN_CREATE IN_DELETE IN_MOVED_FROM IN_MOVED_TO  the entry list changed
 *   IN_MODIFY          content written
 *   IN_CLOSE_WRITE     a writer finished; the only event for a file
 *                      changed through a shared mapping
 *   IN_ATTRIB          mode and times: modified_time is displayed, and
 *                      an executable bit is a git change
 *   IN_DELETE_SELF IN_MOVE_SELF  the folder itself went away
 *   IN_EXCL_UNLINK     nothing about files already unlinked (temp files)
 *   IN_ONLYDIR         never watch a file by mistake
 * Not IN_ACCESS, IN_OPEN or IN_CLOSE_NOWRITE: reading files for status
 * would otherwise trigger the next refresh, forever.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"
#include "git/watch.h"

#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR)
#define SELF_EVENTS	(IN_DELETE_SELF | IN_MOVE_SELF)
#define NBUCKETS	1024
#define PATHSET_SIZE	(WATCH_MAX_PATHS * 2)
#define READ_BUF	(64 * 1024)
#define READS_PER_WAKE	32

enum wkind {
	WK_FOLDER,
	WK_GITMETA,	/* a git directory: HEAD, index, packed-refs */
	WK_GITREFS	/* refs/heads or a directory below it */
};

struct wnode {
	char			*path;
	enum wkind		 kind;
	int			 wd;		/* -1: the kernel dropped it */
	unsigned int		 refs;
	int			 undergit;	/* folder inside a .git */
	int			 depth;		/* below refs/heads */
	int			 pending;
	struct wnode		*next_path;
	struct wnode		*next_wd;
	TAILQ_ENTRY(wnode)	 pentry;
};

struct wgit {
	char			*gitdir;
	unsigned int		 refs;
	int			 pending;
	struct wnode		**nodes;	/* one reference held on each */
	size_t			 nnodes;
	TAILQ_ENTRY(wgit)	 entry;
};

TAILQ_HEAD(wnode_list, wnode);
TAILQ_HEAD(wgit_list, wgit);

static struct {
	struct event_base	*base;
	watch_cb		 cb;
	void			*arg;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_timer;
	struct wnode		*bypath[NBUCKETS];
	struct wnode		*bywd[NBUCKETS];
	size_t			 nentries;
	size_t			 nkernel;
	struct wnode_list	 pending;
	struct wgit_list	 gits;
	int			 overflow;
	int			 armed;
	struct timespec		 first;
	int			 debounce_ms;
	int			 max_ms;
	char			*paths[PATHSET_SIZE];	/* open addressing */
	size_t			 npaths;
	int			 paths_overflow;
} W = { .fd = -1 };

static unsigned int
hash_str(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static unsigned int
wd_bucket(int wd)
{
	return (unsigned int)wd % NBUCKETS;
}

static struct wnode *
find_node(const char *path, enum wkind kind)
{
	struct wnode	*n;

	for (n = W.bypath[hash_str(path) % NBUCKETS]; n != NULL;
	    n = n->next_path)
		if (n->kind == kind && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static int
wd_shared(int wd)
{
	struct wnode	*n;

	for (n = W.bywd[wd_bucket(wd)]; n != NULL; n = n->next_wd)
		if (n->wd == wd)
			return 1;
	return 0;
}

static void
wd_link(struct wnode *n)
{
	unsigned int	b = wd_bucket(n->wd);

	n->next_wd = W.bywd[b];
	W.bywd[b] = n;
}

static void
wd_unlink(struct wnode *n)
{
	struct wnode	**pp;

	for (pp = &W.bywd[wd_bucket(n->wd)]; *pp != NULL;
	    pp = &(*pp)->next_wd)
		if (*pp == n) {
			*pp = n->next_wd;
			break;
		}
	n->next_wd = NULL;
}

/*
 * The descriptor and its read event exist only while entries do, so a
 * worker with no projects holds no inotify instance at all.
 */
static void	on_read(int, short, void *);

static int
fd_open(void)
{
	if (W.fd != -1)
		return 0;
	if ((W.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify_init1");
		return -1;
	}
	W.ev_read = event_new(W.base, W.fd, EV_READ | EV_PERSIST, on_read,
	    NULL);
	if (W.ev_read == NULL || event_add(W.ev_read, NULL) == -1)
		fatalx("watch: cannot add the inotify event");
	return 0;
}

static void	pending_clear(void);

static void
fd_close_if_idle(void)
{
	if (W.nentries > 0 || W.fd == -1)
		return;
	event_free(W.ev_read);
	W.ev_read = NULL;
	close(W.fd);
	W.fd = -1;
	pending_clear();
	if (W.ev_timer != NULL)
		evtimer_del(W.ev_timer);
	W.armed = 0;
}

/* Point n at a kernel watch; -1 with errno when the kernel says no. */
static int
arm(struct wnode *n)
{
	int	wd;

	if (fd_open() == -1)
		return -1;
	if ((wd = inotify_add_watch(W.fd, n->path, WATCH_MASK)) == -1) {
		if (errno == ENOSPC)
			log_warnx("watch: %s: the kernel's inotify watch "
			    "limit (fs.inotify.max_user_watches) is reached",
			    n->path);
		return -1;
	}
	if (!wd_shared(wd))
		W.nkernel++;
	n->wd = wd;
	wd_link(n);
	return 0;
}

/* Forget n's kernel watch; remove it from the kernel if unshared. */
static void
disarm(struct wnode *n, int tell_kernel)
{
	int	wd = n->wd;

	if (wd == -1)
		return;
	wd_unlink(n);
	n->wd = -1;
	if (wd_shared(wd))
		return;
	W.nkernel--;
	if (tell_kernel && inotify_rm_watch(W.fd, wd) == -1)
		log_debug("watch: inotify_rm_watch: %s", strerror(errno));
}

static int
has_git_component(const char *path)
{
	const char	*p = path;

	while ((p = strstr(p, ".git")) != NULL) {
		if ((p == path || p[-1] == '/') &&
		    (p[4] == '\0' || p[4] == '/'))
			return 1;
		p += 4;
	}
	return 0;
}

static struct wnode *
node_new(const char *path, enum wkind kind, int depth)
{
	struct wnode	*n;
	unsigned int	 b;

	if (W.nentries >= WATCH_MAX) {
		log_warnx("watch: %s: limit of %d watches reached", path,
		    WATCH_MAX);
		errno = ENOSPC;
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->path = xstrdup(path);
	n->kind = kind;
	n->depth = depth;
	n->wd = -1;
	n->undergit = kind == WK_FOLDER && has_git_component(path);
	if (arm(n) == -1) {
		free(n->path);
		free(n);
		fd_close_if_idle();
		return NULL;
	}
	b = hash_str(path) % NBUCKETS;
	n->next_path = W.bypath[b];
	W.bypath[b] = n;
	W.nentries++;
	return n;
}

static void
node_free(struct wnode *n)
{
	struct wnode	**pp;

	disarm(n, 1);
	if (n->pending)
		TAILQ_REMOVE(&W.pending, n, pentry);
	for (pp = &W.bypath[hash_str(n->path) % NBUCKETS]; *pp != NULL;
	    pp = &(*pp)->next_path)
		if (*pp == n) {
			*pp = n->next_path;
			break;
		}
	W.nentries--;
	free(n->path);
	free(n);
}

/* A reference on the entry for path, creating and arming it if new. */
static struct wnode *
node_ref(const char *path, enum wkind kind, int depth)
{
	struct wnode	*n;

	if ((n = find_node(path, kind)) != NULL) {
		/* Recreated since the kernel dropped it? Try again. */
		if (n->wd == -1)
			(void)arm(n);
		n->refs++;
		return n;
	}
	if ((n = node_new(path, kind, depth)) != NULL)
		n->refs = 1;
	return n;
}

static void
node_unref(struct wnode *n)
{
	if (--n->refs > 0)
		return;
	node_free(n);
	fd_close_if_idle();
}

int
watch_add(const char *dir)
{
	return node_ref(dir, WK_FOLDER, 0) == NULL ? -1 : 0;
}

int
watch_del(const char *dir)
{
	struct wnode	*n;

	if ((n = find_node(dir, WK_FOLDER)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	node_unref(n);
	return 0;
}

/*
 * Git watches.
 */
static struct wgit *
find_git(const char *gitdir)
{
	struct wgit	*g;

	TAILQ_FOREACH(g, &W.gits, entry)
		if (strcmp(g->gitdir, gitdir) == 0)
			return g;
	return NULL;
}

static int
git_holds(const struct wgit *g, const struct wnode *n)
{
	size_t	i;

	for (i = 0; i < g->nnodes; i++)
		if (g->nodes[i] == n)
			return 1;
	return 0;
}

static size_t
git_ref_dirs(const struct wgit *g)
{
	size_t	i, k = 0;

	for (i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->kind == WK_GITREFS)
			k++;
	return k;
}

static int
git_take(struct wgit *g, const char *path, enum wkind kind, int depth)
{
	struct wnode	*n;

	if (kind == WK_GITREFS && git_ref_dirs(g) >= WATCH_GIT_REF_DIRS) {
		log_warnx("watch: %s: more than %d ref directories, %s not "
		    "watched", g->gitdir, WATCH_GIT_REF_DIRS, path);
		return -1;
	}
	if ((n = find_node(path, kind)) != NULL && git_holds(g, n))
		return 0;
	if ((n = node_ref(path, kind, depth)) == NULL)
		return -1;
	g->nodes = xreallocarray(g->nodes, g->nnodes + 1, sizeof(*g->nodes));
	g->nodes[g->nnodes++] = n;
	return 0;
}

static char *
join(const char *dir, const char *name)
{
	size_t	 len = strlen(dir);
	char	*p;

	xasprintf(&p, "%s%s%s", dir, len > 0 && dir[len - 1] == '/' ? "" :
	    "/", name);
	return p;
}

/* refs/heads and what is below it, depth and count bounded. */
static void
git_take_refs(struct wgit *g, const char *dir, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		*sub;

	if (git_take(g, dir, WK_GITREFS, depth) == -1)
		return;
	if (depth >= WATCH_GIT_REF_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISDIR(st.st_mode))
			continue;
		sub = join(dir, de->d_name);
		git_take_refs(g, sub, depth + 1);
		free(sub);
	}
	closedir(d);
}

static void
git_free(struct wgit *g)
{
	size_t	i;

	TAILQ_REMOVE(&W.gits, g, entry);
	for (i = 0; i < g->nnodes; i++)
		node_unref(g->nodes[i]);
	free(g->nodes);
	free(g->gitdir);
	free(g);
}

int
watch_add_git(const char *gitdir, const char *commondir)
{
	struct wgit	*g;
	char		*heads;

	if ((g = find_git(gitdir)) != NULL) {
		g->refs++;
		return 0;
	}
	g = xcalloc(1, sizeof(*g));
	g->gitdir = xstrdup(gitdir);
	g->refs = 1;
	TAILQ_INSERT_TAIL(&W.gits, g, entry);
	if (git_take(g, gitdir, WK_GITMETA, 0) == -1) {
		git_free(g);
		return -1;
	}
	if (commondir == NULL)
		commondir = gitdir;
	if (strcmp(commondir, gitdir) != 0)
		(void)git_take(g, commondir, WK_GITMETA, 0);
	heads = join(commondir, "refs/heads");
	git_take_refs(g, heads, 0);
	free(heads);
	return 0;
}

int
watch_del_git(const char *gitdir)
{
	struct wgit	*g;

	if ((g = find_git(gitdir)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (--g->refs == 0)
		git_free(g);
	return 0;
}

/* A directory appeared under refs/heads: whoever watches the parent. */
static void
refs_child(struct wnode *parent, const char *name)
{
	struct wgit	*g;
	char		*path;

	if (parent->depth >= WATCH_GIT_REF_DEPTH)
		return;
	path = join(parent->path, name);
	TAILQ_FOREACH(g, &W.gits, entry)
		if (git_holds(g, parent))
			(void)git_take(g, path, WK_GITREFS, parent->depth + 1);
	free(path);
}

/*
 * refs appeared in a git directory (git init): refs/heads, made right
 * after it, could not be watched before.
 */
static void
refs_made(struct wnode *meta)
{
	struct wgit	*g;
	char		*heads = join(meta->path, "refs/heads");

	TAILQ_FOREACH(g, &W.gits, entry)
		if (git_holds(g, meta))
			git_take_refs(g, heads, 0);
	free(heads);
}

/*
 * Pending changes.
 */
static void
paths_clear(void)
{
	size_t	i;

	for (i = 0; i < PATHSET_SIZE; i++) {
		free(W.paths[i]);
		W.paths[i] = NULL;
	}
	W.npaths = 0;
	W.paths_overflow = 0;
}

static void
paths_add(const char *dir, const char *name)
{
	char		*p;
	unsigned int	 i;

	if (W.npaths >= WATCH_MAX_PATHS) {
		W.paths_overflow = 1;
		return;
	}
	p = join(dir, name);
	for (i = hash_str(p) % PATHSET_SIZE; W.paths[i] != NULL;
	    i = (i + 1) % PATHSET_SIZE)
		if (strcmp(W.paths[i], p) == 0) {
			free(p);
			return;
		}
	W.paths[i] = p;
	W.npaths++;
}

static void
mark(struct wnode *n)
{
	if (n->pending)
		return;
	n->pending = 1;
	TAILQ_INSERT_TAIL(&W.pending, n, pentry);
}

static void
pending_clear(void)
{
	struct wnode	*n;
	struct wgit	*g;

	while ((n = TAILQ_FIRST(&W.pending)) != NULL) {
		TAILQ_REMOVE(&W.pending, n, pentry);
		n->pending = 0;
	}
	TAILQ_FOREACH(g, &W.gits, entry)
		g->pending = 0;
	paths_clear();
	W.overflow = 0;
}

/*
 * objects and refs count too: git init makes objects last, and a
 * repository is one only once both exist. config holds what status
 * depends on (core.excludesFile, core.ignoreCase).
 */
static int
git_name(const char *name)
{
	return strcmp(name, "HEAD") == 0 || strcmp(name, "index") == 0 ||
	    strcmp(name, "packed-refs") == 0 || strcmp(name, "config") == 0 ||
	    strcmp(name, "objects") == 0 || strcmp(name, "refs") == 0;
}

static int
lock_name(const char *name)
{
	size_t	len = strlen(name);

	return len >= 5 && strcmp(name + len - 5, ".lock") == 0;
}

/* Whether an event on n is worth a refresh. */
static int
wanted(const struct wnode *n, const struct inotify_event *ev)
{
	const char	*name = ev->len > 0 ? ev->name : "";

	if (ev->mask & SELF_EVENTS)
		return !n->undergit;
	switch (n->kind) {
	case WK_FOLDER:
		return !n->undergit;
	case WK_GITMETA:
		return git_name(name);
	case WK_GITREFS:
		return !lock_name(name);
	}
	return 0;
}

/* A directory was created where a dropped watch used to be. */
static void
rearm_child(const struct wnode *parent, const char *name)
{
	struct wnode	*n;
	char		*path = join(parent->path, name);
	unsigned int	 b = hash_str(path) % NBUCKETS;

	for (n = W.bypath[b]; n != NULL; n = n->next_path)
		if (n->wd == -1 && strcmp(n->path, path) == 0 && arm(n) == 0)
			mark(n);
	free(path);
}

static int
on_node_event(struct wnode *n, const struct inotify_event *ev)
{
	int	newdir = (ev->mask & IN_ISDIR) &&
	    (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len > 0;

	if (newdir) {
		rearm_child(n, ev->name);
		if (n->kind == WK_GITREFS)
			refs_child(n, ev->name);
		else if (n->kind == WK_GITMETA && strcmp(ev->name, "refs") == 0)
			refs_made(n);
	}
	if (!wanted(n, ev))
		return 0;
	mark(n);
	if (n->kind == WK_FOLDER && ev->len > 0)
		paths_add(n->path, ev->name);
	return 1;
}

/*
 * The entries on wd lose their kernel watch but live on, to be armed
 * again if their path comes back: after IN_IGNORED (deleted, unmounted)
 * and after IN_MOVE_SELF, when the watch would follow the directory to
 * a name nobody asked for.
 */
static void
drop_wd(int wd, int tell_kernel)
{
	struct wnode	*n, *next;

	for (n = W.bywd[wd_bucket(wd)]; n != NULL; n = next) {
		next = n->next_wd;
		if (n->wd != wd)
			continue;
		disarm(n, tell_kernel);
		mark(n);
	}
}

static int
on_event(const struct inotify_event *ev)
{
	struct wnode	*n, *next;
	int		 hit = 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warnx("watch: inotify queue overflow");
		W.overflow = 1;
		return 1;
	}
	if (ev->mask & IN_IGNORED) {
		drop_wd(ev->wd, 0);
		return 1;
	}
	for (n = W.bywd[wd_bucket(ev->wd)]; n != NULL; n = next) {
		next = n->next_wd;
		if (n->wd == ev->wd)
			hit |= on_node_event(n, ev);
	}
	if (ev->mask & IN_MOVE_SELF) {
		drop_wd(ev->wd, 1);
		hit = 1;
	}
	return hit;
}

/*
 * Debounce: each batch of events pushes the flush back to
 * debounce_ms from now, but never later than max_ms after the first.
 */
static long
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
schedule(void)
{
	struct timeval	tv;
	long		wait;

	if (!W.armed) {
		clock_gettime(CLOCK_MONOTONIC, &W.first);
		W.armed = 1;
	}
	wait = W.max_ms - ms_since(&W.first);
	if (wait > W.debounce_ms)
		wait = W.debounce_ms;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(W.ev_timer, &tv);
}

static void
on_read(int fd, short what, void *arg)
{
	static char	 buf[READ_BUF]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t		 n;
	char		*p;
	int		 i, hit = 0;

	(void)what;
	(void)arg;
	for (i = 0; i < READS_PER_WAKE; i++) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("watch: read");
			break;
		}
		if (n == 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			hit |= on_event(ev);
		}
		if (W.fd != fd)
			return;
	}
	if (hit)
		schedule();
}

static char **
copy_paths(size_t *n)
{
	char	**v;
	size_t	  i, k = 0;

	v = xcalloc(W.npaths + 1, sizeof(*v));
	for (i = 0; i < PATHSET_SIZE; i++)
		if (W.paths[i] != NULL) {
			v[k++] = W.paths[i];
			W.paths[i] = NULL;
		}
	*n = k;
	return v;
}

/* Pending nodes to folder and git lists, owned by the caller. */
static void
collect(char ***dirs, size_t *nd, char ***gits, size_t *ng)
{
	struct wnode	*n;
	struct wgit	*g;

	*dirs = xcalloc(W.nentries + 1, sizeof(**dirs));
	*nd = 0;
	TAILQ_FOREACH(n, &W.pending, pentry) {
		if (n->wd == -1 && access(n->path, F_OK) == 0)
			(void)arm(n);	/* came back before the flush */
		if (n->kind == WK_FOLDER)
			(*dirs)[(*nd)++] = xstrdup(n->path);
		else
			TAILQ_FOREACH(g, &W.gits, entry)
				if (git_holds(g, n))
					g->pending = 1;
	}
	*ng = 0;
	TAILQ_FOREACH(g, &W.gits, entry)
		(*ng)++;
	*gits = xcalloc(*ng + 1, sizeof(**gits));
	*ng = 0;
	TAILQ_FOREACH(g, &W.gits, entry)
		if (g->pending)
			(*gits)[(*ng)++] = xstrdup(g->gitdir);
}

static void
free_list(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * A git command holds index.lock or HEAD.lock from its first write to
 * its last (git commit updates the branch before it lets go of the
 * index): while one exists, the batch waits, so the command shows as
 * one change and not as its halves.
 */
static int
git_busy(void)
{
	struct wgit	*g;
	char		 path[PATH_MAX];

	TAILQ_FOREACH(g, &W.gits, entry) {
		(void)snprintf(path, sizeof(path), "%s/index.lock", g->gitdir);
		if (access(path, F_OK) == 0)
			return 1;
		(void)snprintf(path, sizeof(path), "%s/HEAD.lock", g->gitdir);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

static void
on_timer(int fd, short what, void *arg)
{
	struct watch_changes	 c;
	struct timeval		 tv = { 0, WATCH_LOCK_POLL_MS * 1000 };
	char			**dirs, **gits, **paths;
	size_t			 nd, ng, np;

	(void)fd;
	(void)what;
	(void)arg;
	if (ms_since(&W.first) < W.max_ms && git_busy()) {
		evtimer_add(W.ev_timer, &tv);
		return;
	}
	memset(&c, 0, sizeof(c));
	collect(&dirs, &nd, &gits, &ng);
	paths = copy_paths(&np);
	c.overflow = W.overflow;
	c.paths_overflow = W.paths_overflow;
	W.armed = 0;
	pending_clear();
	c.dirs = (const char *const *)dirs;
	c.ndirs = nd;
	c.gitdirs = (const char *const *)gits;
	c.ngitdirs = ng;
	c.paths = (const char *const *)paths;
	c.npaths = np;
	if (nd > 0 || ng > 0 || c.overflow)
		W.cb(W.arg, &c);
	free_list(dirs, nd);
	free_list(gits, ng);
	free_list(paths, np);
}

void
watch_init(struct event_base *base, watch_cb cb, void *arg)
{
	W.base = base;
	W.cb = cb;
	W.arg = arg;
	W.fd = -1;
	TAILQ_INIT(&W.pending);
	TAILQ_INIT(&W.gits);
	if (W.debounce_ms == 0)
		watch_set_delays(0, 0);
	if ((W.ev_timer = evtimer_new(base, on_timer, NULL)) == NULL)
		fatalx("watch: evtimer_new");
}

static void
free_folders(void)
{
	struct wnode	*n;
	size_t		 b;

	for (b = 0; b < NBUCKETS; b++)
		while ((n = W.bypath[b]) != NULL)
			node_free(n);
}

void
watch_shutdown(void)
{
	struct wgit	*g;

	while ((g = TAILQ_FIRST(&W.gits)) != NULL) {
		g->refs = 1;
		git_free(g);
	}
	free_folders();
	fd_close_if_idle();
	pending_clear();
	if (W.ev_timer != NULL)
		event_free(W.ev_timer);
	W.ev_timer = NULL;
	W.armed = 0;
}

size_t
watch_count(void)
{
	return W.nkernel;
}

size_t
watch_entries(void)
{
	return W.nentries;
}

void
watch_set_delays(int debounce_ms, int max_delay_ms)
{
	W.debounce_ms = debounce_ms > 0 ? debounce_ms : WATCH_DEBOUNCE_MS;
	W.max_ms = max_delay_ms > 0 ? max_delay_ms : WATCH_MAX_DELAY_MS;
}
