/*
 * repo status, the parallel full pass: a full status of a large
 * repository runs in parallel parts, each on a repository object of its
 * own (libgit2 objects are not shared between threads); see
 * ri_collect_parallel().
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "log.h"
#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

/* Below this many index entries one thread is as fast as several. */
#define STATUS_SPLIT_MIN	8192

/*
 * A full pass is mostly one lstat per tracked file, which git spreads
 * over threads (preload-index) and libgit2 does not. For a large index
 * the work tree is cut into disjoint literal paths, each thread runs a
 * pathspec-limited pass with its own repository object, and the lists
 * are merged: the union of the parts is the whole, each path in one part.
 */
static int	 status_threads;	/* 0: one per CPU, up to the maximum */

void
repo_set_threads(int n)
{
	status_threads = n < 0 ? 0 : n > REPO_MAX_THREADS ?
	    REPO_MAX_THREADS : n;
}

/* 1 when the index has a submodule (gitlink) entry. */
static int
index_has_gitlink(git_index *idx)
{
	const git_index_entry	*ie;
	size_t			 i;

	for (i = 0; (ie = git_index_get_byindex(idx, i)) != NULL; i++)
		if (ie->mode == GIT_FILEMODE_COMMIT)
			return 1;
	return 0;
}

struct unit {
	char	*path;
	size_t	 weight;	/* index entries at or under path */
};

struct units {
	struct unit	*v;
	size_t		 n;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_add(char ***v, size_t *n, const char *dir, const char *name,
    size_t len)
{
	char	*s;

	if ((len == 4 && strncmp(name, ".git", 4) == 0) ||
	    (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.') || len == 0)
		return;
	xasprintf(&s, "%s%s%.*s", dir, dir[0] != '\0' ? "/" : "", (int)len,
	    name);
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/*
 * Every path one level below dir that the work tree, the index or HEAD
 * knows: together they cover all a pass over dir would report.
 */
static char **
children(struct repo *r, git_index *idx, git_tree *head, const char *dir,
    size_t *np)
{
	const git_index_entry	*ie;
	const git_tree_entry	*te;
	git_tree_entry		*sub = NULL;
	git_tree		*tree = NULL;
	struct dirent		*de;
	DIR			*d;
	char			 path[PATH_MAX], prefix[PATH_MAX];
	char			**v = NULL;
	const char		*rest, *slash, *last = NULL;
	size_t			 n = 0, i, j, plen, pos, clen, llen = 0;

	ri_abs_path(r, dir, path, sizeof(path));
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			names_add(&v, &n, dir, de->d_name,
			    strlen(de->d_name));
		closedir(d);
	}
	(void)snprintf(prefix, sizeof(prefix), "%s%s", dir,
	    dir[0] != '\0' ? "/" : "");
	plen = strlen(prefix);
	if (plen == 0)
		pos = 0;
	else if (git_index_find_prefix(&pos, idx, prefix) != 0)
		pos = git_index_entrycount(idx);
	for (; (ie = git_index_get_byindex(idx, pos)) != NULL; pos++) {
		if (strncmp(ie->path, prefix, plen) != 0)
			break;
		rest = ie->path + plen;
		slash = strchr(rest, '/');
		clen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
		/* Sorted: a directory's entries follow one another. */
		if (last != NULL && clen == llen &&
		    strncmp(rest, last, clen) == 0)
			continue;
		names_add(&v, &n, dir, rest, clen);
		last = rest;
		llen = clen;
	}
	if (head != NULL) {
		if (dir[0] == '\0')
			tree = head;
		else if (git_tree_entry_bypath(&sub, head, dir) == 0 &&
		    git_tree_entry_type(sub) == GIT_OBJECT_TREE)
			(void)git_tree_lookup(&tree, git_tree_owner(head),
			    git_tree_entry_id(sub));
		for (i = 0; tree != NULL && i < git_tree_entrycount(tree);
		    i++) {
			te = git_tree_entry_byindex(tree, i);
			names_add(&v, &n, dir, git_tree_entry_name(te),
			    strlen(git_tree_entry_name(te)));
		}
		if (tree != head)
			git_tree_free(tree);
		git_tree_entry_free(sub);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && strcmp(v[j - 1], v[i]) == 0)
			free(v[i]);
		else
			v[j++] = v[i];
	}
	*np = j;
	return v;
}

static size_t
index_weight(git_index *idx, const char *path)
{
	const git_index_entry	*ie;
	char			 prefix[PATH_MAX];
	size_t			 pos, plen, w = 0;

	if (git_index_get_bypath(idx, path, 0) != NULL)
		w++;
	(void)snprintf(prefix, sizeof(prefix), "%s/", path);
	plen = strlen(prefix);
	if (git_index_find_prefix(&pos, idx, prefix) != 0)
		return w;
	for (; (ie = git_index_get_byindex(idx, pos)) != NULL; pos++) {
		if (strncmp(ie->path, prefix, plen) != 0)
			break;
		w++;
	}
	return w;
}

static void
units_add(struct units *u, git_index *idx, char **names, size_t n)
{
	size_t	 i;

	u->v = xreallocarray(u->v, u->n + n + 1, sizeof(*u->v));
	for (i = 0; i < n; i++) {
		u->v[u->n].path = names[i];
		u->v[u->n].weight = index_weight(idx, names[i]);
		u->n++;
	}
	free(names);
}

static void
units_free(struct units *u)
{
	size_t	 i;

	for (i = 0; i < u->n; i++)
		free(u->v[i].path);
	free(u->v);
}

/* Split the heaviest directories until no unit is much above a share. */
static void
partition(struct repo *r, git_index *idx, git_tree *head, int nthreads,
    struct units *u)
{
	char	**names, path[PATH_MAX];
	size_t	  n, i, big, total = git_index_entrycount(idx), rounds;
	struct stat sb;

	memset(u, 0, sizeof(*u));
	names = children(r, idx, head, "", &n);
	units_add(u, idx, names, n);
	for (rounds = 0; rounds < 256 && u->n < 1024; rounds++) {
		for (big = 0, i = 1; i < u->n; i++)
			if (u->v[i].weight > u->v[big].weight)
				big = i;
		if (u->n == 0 || u->v[big].weight <= 1 ||
		    u->v[big].weight * 4 * nthreads <= total)
			break;
		/* Only a directory of its own: never into a nested repo. */
		ri_abs_path(r, u->v[big].path, path, sizeof(path));
		if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode))
			break;
		(void)snprintf(path, sizeof(path), "%s%s/.git", r->workdir,
		    u->v[big].path);
		if (lstat(path, &sb) == 0)
			break;
		names = children(r, idx, head, u->v[big].path, &n);
		free(u->v[big].path);
		u->v[big] = u->v[--u->n];
		units_add(u, idx, names, n);
	}
}

struct part {
	struct repo		*r;
	git_strarray		 ps;
	size_t			 weight;
	struct collected	 out;
	int			 rc;
	int			 wt_only;
	char			 err[256];
	pthread_t		 tid;
};

/* Another thread: a repository object of its own (libgit2's rule). */
static void *
part_run(void *arg)
{
	struct part	*p = arg;
	git_repository	*g;

	p->rc = git_repository_open_ext(&g, p->r->workdir,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (p->rc != 0) {
		ri_gerr(p->err, sizeof(p->err), "Cannot open the repository");
		return NULL;
	}
	p->rc = ri_collect(g, &p->ps, p->wt_only, &p->out, p->err,
	    sizeof(p->err));
	git_repository_free(g);
	return NULL;
}

static int
cpu_count(void)
{
	cpu_set_t	 set;
	int		 n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n;
}

/*
 * 1 when the parts ran (c filled or err set, rc in *rcp); 0 when a
 * single pass is the better plan.
 */
int
ri_collect_parallel(struct repo *r, int wt_only, struct collected *c,
    int *rcp, char *err, size_t errlen)
{
	struct part	 parts[REPO_MAX_THREADS];
	struct units	 u;
	git_index	*idx = NULL;
	git_tree	*head = NULL;
	char		 herr[8];
	size_t		 i, k, best;
	int		 nthreads = status_threads, started = 0, ran = 0;

	if (nthreads == 0) {
		nthreads = cpu_count();
		if (nthreads > REPO_MAX_THREADS)
			nthreads = REPO_MAX_THREADS;
	}
	if (nthreads < 2)
		return 0;
	/*
	 * Submodules stay with the repository that caches them: see
	 * submodules_cache().
	 */
	if (git_repository_index(&idx, r->git) != 0 ||
	    git_index_read(idx, 0) != 0 ||
	    (status_threads == 0 && git_index_entrycount(idx) <
	    STATUS_SPLIT_MIN) || index_has_gitlink(idx) ||
	    ri_head_tree(r, &head, herr, sizeof(herr)) != 0) {
		git_index_free(idx);
		return 0;
	}
	partition(r, idx, head, nthreads, &u);
	git_tree_free(head);
	git_index_free(idx);
	if (u.n < 2) {
		units_free(&u);
		return 0;
	}
	/* Heaviest first, each to the lightest part. */
	memset(parts, 0, sizeof(parts));
	for (k = 0; k < u.n; k++) {
		for (best = k, i = k + 1; i < u.n; i++)
			if (u.v[i].weight > u.v[best].weight)
				best = i;
		if (best != k) {
			struct unit t = u.v[k];
			u.v[k] = u.v[best];
			u.v[best] = t;
		}
		for (best = 0, i = 1; i < (size_t)nthreads; i++)
			if (parts[i].weight < parts[best].weight)
				best = i;
		parts[best].ps.strings = xreallocarray(parts[best].ps.strings,
		    parts[best].ps.count + 1, sizeof(char *));
		parts[best].ps.strings[parts[best].ps.count++] = u.v[k].path;
		parts[best].weight += u.v[k].weight + 1;
	}
	for (i = 1; i < (size_t)nthreads; i++) {
		parts[i].r = r;
		parts[i].wt_only = wt_only;
		if (parts[i].ps.count == 0)
			continue;
		if (pthread_create(&parts[i].tid, NULL, part_run,
		    &parts[i]) != 0)
			part_run(&parts[i]);	/* here, then */
		else
			started |= 1 << i;
		ran++;
	}
	/* The first part here, on the repository whose index is loaded. */
	parts[0].rc = ri_collect(r->git, &parts[0].ps, wt_only, &parts[0].out,
	    parts[0].err, sizeof(parts[0].err));
	ran++;
	*rcp = 0;
	for (i = 0; i < (size_t)nthreads; i++) {
		if (started & (1 << i))
			pthread_join(parts[i].tid, NULL);
		if (parts[i].rc != 0 && *rcp == 0) {
			*rcp = -1;
			seterr(err, errlen, "%s", parts[i].err);
		}
		for (k = 0; k < parts[i].out.n; k++) {
			if (*rcp == 0)
				ri_collected_add(c, parts[i].out.v[k].path,
				    parts[i].out.v[k].flags);
			free(parts[i].out.v[k].path);
		}
		free(parts[i].out.v);
		free(parts[i].ps.strings);
	}
	units_free(&u);
	log_debug("status: %zu entries from %d parallel parts", c->n, ran);
	return 1;
}
