/*
 * projtree: watches on a repository's directories beyond the monitored
 * folders. Monitored folders are watched for what the items show; but
 * a file saved two levels into a collapsed folder moves that folder's
 * git_status and the status lists, and only a watch on its directory
 * tells. So every directory holding a tracked file or a changed entry
 * is watched too (non-recursive watches, one per directory, bounded),
 * and released with the project.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "git/project-int.h"
#include "git/repo.h"
#include "git/watch.h"

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Watches left for this project once monitored folders have theirs. */
static size_t
budget(const struct proj *p)
{
	size_t	used = watch_entries(), spare;

	spare = used + PROJ_TREE_RESERVE < WATCH_MAX ?
	    WATCH_MAX - PROJ_TREE_RESERVE - used : 0;
	/* What p holds now is counted in used, and may be kept. */
	spare += p->ntree;
	return spare < PROJ_TREE_MAX ? spare : PROJ_TREE_MAX;
}

static char **
absolute(const struct proj *p, char **rel, size_t n)
{
	char	**v = xcalloc(n + 1, sizeof(*v));
	size_t	  i;

	for (i = 0; i < n; i++) {
		xasprintf(&v[i], "%s/%s", p->folder, rel[i]);
		free(rel[i]);
	}
	free(rel);
	qsort(v, n, sizeof(*v), str_cmp);
	return v;
}

void
proj_tree_sync(struct proj *p)
{
	char	**rel, **want;
	size_t	  n, i = 0, j = 0, k = 0, max = budget(p);
	int	  capped, c;

	if (p->repo == NULL) {
		proj_tree_release(p);
		return;
	}
	if (repo_tree_dirs(p->repo, p->st, max, &rel, &n, &capped) == -1)
		return;
	if (capped && !p->tree_capped)
		log_info("%s: more than %zu directories; changes deeper in "
		    "folders no session shows wait for the next git change",
		    p->folder, max);
	p->tree_capped = capped;
	want = absolute(p, rel, n);
	/* Merge the sorted lists: keep, add, drop. */
	while (i < p->ntree || j < n) {
		c = i == p->ntree ? 1 : j == n ? -1 :
		    strcmp(p->tree[i], want[j]);
		if (c == 0) {
			free(want[j++]);
			want[k++] = p->tree[i++];
		} else if (c < 0) {
			watch_del(p->tree[i]);
			free(p->tree[i++]);
		} else if (watch_add(want[j]) == 0)
			want[k++] = want[j++];
		else
			free(want[j++]);
	}
	free(p->tree);
	p->tree = want;
	p->ntree = k;
}

void
proj_tree_release(struct proj *p)
{
	size_t	i;

	for (i = 0; i < p->ntree; i++) {
		watch_del(p->tree[i]);
		free(p->tree[i]);
	}
	free(p->tree);
	p->tree = NULL;
	p->ntree = 0;
}

/* A changed path that is a new directory: the tree needs another look. */
int
proj_tree_grew(const struct proj *p, const char *const *paths, size_t n)
{
	struct stat	 sb;
	size_t		 i;

	if (p->repo == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (lstat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    bsearch(&paths[i], p->tree, p->ntree, sizeof(*p->tree),
		    str_cmp) == NULL)
			return 1;
	return 0;
}
