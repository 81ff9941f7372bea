/*
 * treedirs: the directories of a work tree whose changes can move its
 * git status: those holding a tracked file (from the index) and those
 * holding an untracked or changed entry of the last status. Ignored
 * trees without tracked files (build output, node_modules) are left out.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "xmalloc.h"
#include "git/repo-int.h"

struct dirset {
	char	**v;
	size_t	  n;
	size_t	  cap;
	size_t	  limit;	/* entries kept before sorting: bounded */
	int	  capped;
};

/* The length of the directory prefix path shares with prev. */
static size_t
shared_dir(const char *path, const char *prev)
{
	size_t	i, last = 0;

	if (prev == NULL)
		return 0;
	for (i = 0; path[i] != '\0' && path[i] == prev[i]; i++)
		if (path[i] == '/')
			last = i;
	return last;
}

/*
 * Every ancestor directory of path ("a/b/c" gives "a" and "a/b") not
 * shared with prev: in sorted input each directory comes once.
 */
static void
add_parents(struct dirset *d, const char *path, const char *prev)
{
	const char	*slash;
	size_t		 len, skip = shared_dir(path, prev);

	for (slash = strchr(path, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		len = (size_t)(slash - path);
		if (len <= skip)
			continue;
		if (d->n == d->limit) {
			d->capped = 1;
			return;
		}
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 64;
			d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
		}
		d->v[d->n++] = xstrndup(path, len);
	}
}

static size_t
depth(const char *p)
{
	size_t	n = 0;

	for (; *p != '\0'; p++)
		n += *p == '/';
	return n;
}

static int
depth_cmp(const void *a, const void *b)
{
	const char	*x = *(char *const *)a, *y = *(char *const *)b;
	size_t		 dx = depth(x), dy = depth(y);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x, y);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, unique, and the shallowest max of them. */
static void
dirset_finish(struct dirset *d, size_t max)
{
	size_t	i, k = 0;

	qsort(d->v, d->n, sizeof(*d->v), str_cmp);
	for (i = 0; i < d->n; i++)
		if (k > 0 && strcmp(d->v[k - 1], d->v[i]) == 0)
			free(d->v[i]);
		else
			d->v[k++] = d->v[i];
	d->n = k;
	if (d->n <= max)
		return;
	d->capped = 1;
	qsort(d->v, d->n, sizeof(*d->v), depth_cmp);
	for (i = max; i < d->n; i++)
		free(d->v[i]);
	d->n = max;
	qsort(d->v, d->n, sizeof(*d->v), str_cmp);
}

int
repo_tree_dirs(struct repo *r, const struct repo_status *st, size_t max,
    char ***dirs, size_t *n, int *capped)
{
	const git_index_entry	*ie;
	struct dirset		 d;
	git_index		*idx;
	const char		*prev = NULL;
	size_t			 i, count;

	memset(&d, 0, sizeof(d));
	/* Each source lists a directory once; both may list it. */
	d.limit = max * 2;
	if (git_repository_index(&idx, r->git) != 0)
		return -1;
	count = git_index_entrycount(idx);
	for (i = 0; i < count && !d.capped; i++)
		if ((ie = git_index_get_byindex(idx, i)) != NULL) {
			add_parents(&d, ie->path, prev);
			prev = ie->path;
		}
	prev = NULL;
	for (i = 0; st != NULL && i < st->n && !d.capped; i++)
		if (!(st->v[i].flags & GIT_STATUS_IGNORED)) {
			add_parents(&d, st->v[i].path, prev);
			prev = st->v[i].path;
		}
	git_index_free(idx);
	*capped = d.capped;
	dirset_finish(&d, max);
	*capped |= d.capped;
	*dirs = d.v;
	*n = d.n;
	return 0;
}
