/*
 * repo index operations: stage, unstage, revert and commit, the only
 * writers of the index, each right after a fresh read of it (see
 * index_fresh()).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "log.h"
#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

/* ---- index operations ----------------------------------------------- */

/* The repository's index, re-read if the file changed under us. */
static int
index_fresh(struct repo *r, git_index **ip, char *err, size_t errlen)
{
	if (git_repository_index(ip, r->git) != 0) {
		ri_gerr(err, errlen, "Cannot open the index");
		return -1;
	}
	if (git_index_read(*ip, 0) != 0) {
		ri_gerr(err, errlen, "Cannot read the index");
		git_index_free(*ip);
		*ip = NULL;
		return -1;
	}
	return 0;
}

static int
index_write(git_index *idx, char *err, size_t errlen)
{
	if (git_index_write(idx) != 0) {
		ri_gerr(err, errlen, "Cannot write the index");
		(void)git_index_read(idx, 1);	/* drop what was not saved */
		return -1;
	}
	return 0;
}

/* The index knows rel as a file, a submodule or a directory. */
static int
index_knows(git_index *idx, const char *rel)
{
	char	 prefix[PATH_MAX];

	if (git_index_get_bypath(idx, rel, 0) != NULL ||
	    git_index_get_bypath(idx, rel, 1) != NULL ||
	    git_index_get_bypath(idx, rel, 2) != NULL ||
	    git_index_get_bypath(idx, rel, 3) != NULL)
		return 1;
	if (snprintf(prefix, sizeof(prefix), "%s/", rel) >= (int)sizeof(prefix))
		return 0;
	return ri_index_has_prefix(idx, prefix);
}

static int
tree_knows(git_tree *tree, const char *rel)
{
	git_tree_entry	*te;

	if (tree == NULL || git_tree_entry_bypath(&te, tree, rel) != 0)
		return 0;
	git_tree_entry_free(te);
	return 1;
}

/* 1 when a directory on the way to rel is a symbolic link. */
static int
beyond_symlink(const struct repo *r, const char *rel)
{
	char		 path[PATH_MAX];
	struct stat	 sb;
	size_t		 base = strlen(r->workdir), i;

	ri_abs_path(r, rel, path, sizeof(path));
	for (i = base; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			return 1;
		path[i] = '/';
	}
	return 0;
}

/* What git add -A -- rel would refuse, checked before anything changes. */
static int
stage_check(struct repo *r, git_index *idx, const char *rel, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX], probe[PATH_MAX];
	struct stat	 sb;
	int		 ignored = 0;

	if (beyond_symlink(r, rel)) {
		seterr(err, errlen, "pathspec '%s' is beyond a symbolic link",
		    rel);
		return -1;
	}
	ri_abs_path(r, rel, path, sizeof(path));
	if (lstat(path, &sb) == -1) {
		if ((errno == ENOENT || errno == ENOTDIR) &&
		    index_knows(idx, rel))
			return 0;	/* a deletion to stage */
		if (errno == ENOENT || errno == ENOTDIR)
			seterr(err, errlen, "pathspec '%s' did not match any "
			    "files", rel);
		else
			seterr(err, errlen, "%s: %s", rel, strerror(errno));
		return -1;
	}
	if (index_knows(idx, rel))
		return 0;
	(void)snprintf(probe, sizeof(probe), "%s%s", rel,
	    S_ISDIR(sb.st_mode) ? "/" : "");
	if (git_ignore_path_is_ignored(&ignored, r->git, probe) != 0) {
		ri_gerr(err, errlen, "Cannot check .gitignore");
		return -1;
	}
	if (ignored) {
		seterr(err, errlen, "The following paths are ignored by one "
		    "of your .gitignore files: %s", rel);
		return -1;
	}
	return 0;
}

/*
 * git add -A over ps (literal paths, NULL for everything): each path
 * where the work tree differs from the index is added, or removed when
 * gone from the work tree. Ignored files are not part of the diff.
 */
static int
stage_apply(struct repo *r, git_index *idx, const git_strarray *ps,
    char *err, size_t errlen)
{
	git_diff_options	 o;
	git_diff		*diff;
	const git_diff_delta	*d;
	const char		*p;
	size_t			 i, n;
	int			 rc = 0;

	if (git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION) != 0)
		return -1;
	o.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
	    GIT_DIFF_INCLUDE_TYPECHANGE;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	}
	if (git_diff_index_to_workdir(&diff, r->git, idx, &o) != 0) {
		ri_gerr(err, errlen, "Cannot compare the work tree");
		return -1;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n && rc == 0; i++) {
		d = git_diff_get_delta(diff, i);
		p = d->new_file.path != NULL ? d->new_file.path :
		    d->old_file.path;
		/* A repository inside the work tree is left alone. */
		if (ri_ends_with_slash(p))
			continue;
		if (d->status == GIT_DELTA_DELETED)
			rc = git_index_remove_bypath(idx, p);
		else
			rc = git_index_add_bypath(idx, p);
		if (rc != 0)
			ri_gerr(err, errlen, "Cannot stage");
	}
	git_diff_free(diff);
	return rc == 0 ? 0 : -1;
}

static int
stage(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_strarray	 ps;
	size_t		 i;
	int		 rc = -1;

	if (index_fresh(r, &idx, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (stage_check(r, idx, rels[i], err, errlen) == -1)
			goto done;
	ps.strings = rels;
	ps.count = n;
	if (stage_apply(r, idx, rels != NULL ? &ps : NULL, err, errlen) == -1) {
		(void)git_index_read(idx, 1);
		goto done;
	}
	rc = index_write(idx, err, errlen);
done:
	git_index_free(idx);
	return rc;
}

/*
 * Client paths to repository-relative ones for a worker; the work-tree
 * root among them means everything, which the worker takes as NULL.
 */
static int
on_paths(struct repo *r, const char *const *paths, size_t n,
    int (*fn)(struct repo *, char **, size_t, char *, size_t), char *err,
    size_t errlen)
{
	char	**rels;
	int	  all, rc;

	if (n == 0 || paths == NULL) {
		seterr(err, errlen, "No path given");
		return -1;
	}
	if ((rels = ri_rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	rc = fn(r, all ? NULL : rels, all ? 0 : n, err, errlen);
	ri_rels_free(rels, n);
	return rc;
}

int
repo_stage(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	return on_paths(r, paths, n, stage, err, errlen);
}

int
repo_stage_all(struct repo *r, char *err, size_t errlen)
{
	return stage(r, NULL, 0, err, errlen);
}

/* Remember index-only paths that revert will delete from the work tree. */
struct added {
	char	**v;
	size_t	  n;
};

/*
 * The index entries of ps (NULL: all) become tree's; entries tree lacks
 * (tree NULL: all of them) leave the index. git restore --staged.
 */
static int
index_reset(struct repo *r, git_index *idx, git_tree *tree,
    const git_strarray *ps, struct added *added, char *err, size_t errlen)
{
	git_diff_options	 o;
	git_diff		*diff;
	const git_diff_delta	*d;
	git_index_entry		 ie;
	size_t			 i, n;
	int			 rc = 0;

	if (git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION) != 0)
		return -1;
	o.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	}
	if (git_diff_tree_to_index(&diff, r->git, tree, idx, &o) != 0) {
		ri_gerr(err, errlen, "Cannot compare the index with HEAD");
		return -1;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n && rc == 0; i++) {
		d = git_diff_get_delta(diff, i);
		if (d->old_file.flags & GIT_DIFF_FLAG_EXISTS &&
		    d->status != GIT_DELTA_ADDED) {
			memset(&ie, 0, sizeof(ie));
			ie.path = d->old_file.path;
			ie.mode = d->old_file.mode;
			ie.id = d->old_file.id;
			/* No stat data: status hashes the file once. */
			rc = git_index_add(idx, &ie);
		} else {
			rc = git_index_remove_bypath(idx, d->new_file.path);
			if (rc == 0 && added != NULL) {
				added->v = xreallocarray(added->v,
				    added->n + 1, sizeof(*added->v));
				added->v[added->n++] =
				    xstrdup(d->new_file.path);
			}
		}
		if (rc != 0)
			ri_gerr(err, errlen, "Cannot reset the index");
	}
	git_diff_free(diff);
	return rc == 0 ? 0 : -1;
}

static int
known_check(git_index *idx, git_tree *tree, char **rels, size_t n,
    char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (index_knows(idx, rels[i]) || tree_knows(tree, rels[i]))
			continue;
		seterr(err, errlen, "pathspec '%s' did not match any file(s) "
		    "known to git", rels[i]);
		return -1;
	}
	return 0;
}

static int
unstage(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_tree	*tree;
	git_strarray	 ps;
	int		 rc = -1;

	if (ri_head_tree(r, &tree, err, errlen) == -1)
		return -1;
	if (index_fresh(r, &idx, err, errlen) == -1) {
		git_tree_free(tree);
		return -1;
	}
	ps.strings = rels;
	ps.count = n;
	if (known_check(idx, tree, rels, n, err, errlen) == 0 &&
	    index_reset(r, idx, tree, rels != NULL ? &ps : NULL, NULL, err,
	    errlen) == 0)
		rc = index_write(idx, err, errlen);
	else
		(void)git_index_read(idx, 1);
	git_index_free(idx);
	git_tree_free(tree);
	return rc;
}

int
repo_unstage(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	return on_paths(r, paths, n, unstage, err, errlen);
}

int
repo_unstage_all(struct repo *r, char *err, size_t errlen)
{
	return unstage(r, NULL, 0, err, errlen);
}

/*
 * Delete the working file of a path that was only staged, as git
 * restore --staged --worktree does, then directories it leaves empty.
 * The path comes from the index: checked like a client path first.
 */
static void
remove_added(struct repo *r, const char *rel)
{
	char		 path[PATH_MAX], check[PATH_MAX], *slash;
	struct stat	 sb;
	size_t		 base = strlen(r->workdir);

	if (ri_path_norm(rel, check, sizeof(check)) == -1 ||
	    strcmp(check, rel) != 0 || rel[0] == '/' || ri_has_dotgit(rel) ||
	    beyond_symlink(r, rel))
		return;
	ri_abs_path(r, rel, path, sizeof(path));
	if (lstat(path, &sb) == -1 || S_ISDIR(sb.st_mode))
		return;
	if (unlink(path) == -1) {
		log_warn("revert: unlink %s", path);
		return;
	}
	while ((slash = strrchr(path, '/')) != NULL &&
	    (size_t)(slash - path) >= base) {
		*slash = '\0';
		if (rmdir(path) == -1)
			break;
	}
}

static int
checkout_head(struct repo *r, git_tree *tree, const git_strarray *ps,
    char *err, size_t errlen)
{
	git_checkout_options	 co;

	if (git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION) != 0)
		return -1;
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (ps != NULL) {
		co.paths = *ps;
		co.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
	}
	if (git_checkout_tree(r->git, (const git_object *)tree, &co) != 0) {
		ri_gerr(err, errlen, "Cannot restore files from HEAD");
		return -1;
	}
	return 0;
}

static int
revert(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_tree	*tree;
	git_strarray	 ps;
	struct added	 added = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	if (ri_head_tree(r, &tree, err, errlen) == -1)
		return -1;
	if (index_fresh(r, &idx, err, errlen) == -1) {
		git_tree_free(tree);
		return -1;
	}
	ps.strings = rels;
	ps.count = n;
	if (known_check(idx, tree, rels, n, err, errlen) == -1 ||
	    index_reset(r, idx, tree, rels != NULL ? &ps : NULL, &added, err,
	    errlen) == -1 || index_write(idx, err, errlen) == -1) {
		(void)git_index_read(idx, 1);
		goto done;
	}
	if (tree != NULL && checkout_head(r, tree, rels != NULL ? &ps : NULL,
	    err, errlen) == -1)
		goto done;
	for (i = 0; i < added.n; i++)
		remove_added(r, added.v[i]);
	rc = 0;
done:
	for (i = 0; i < added.n; i++)
		free(added.v[i]);
	free(added.v);
	git_index_free(idx);
	git_tree_free(tree);
	return rc;
}

int
repo_revert(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	return on_paths(r, paths, n, revert, err, errlen);
}

/*
 * git restore . : tracked files back to their staged content. The index
 * is also the baseline, so a file the index no longer has (git rm
 * --cached) counts as untracked and stays.
 */
int
repo_revert_all(struct repo *r, char *err, size_t errlen)
{
	git_checkout_options	 co;
	git_index		*idx;
	int			 rc = 0;

	if (index_fresh(r, &idx, err, errlen) == -1)
		return -1;
	if (git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION) != 0)
		rc = -1;
	else {
		co.checkout_strategy = GIT_CHECKOUT_FORCE;
		co.baseline_index = idx;
		if (git_checkout_index(r->git, idx, &co) != 0) {
			ri_gerr(err, errlen, "Cannot restore files");
			rc = -1;
		}
	}
	git_index_free(idx);
	return rc;
}

/* ---- commit --------------------------------------------------------- */

static char *
message_clean(const char *m)
{
	const char	*end;
	char		*s;

	while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r' ||
	    *m == '\v' || *m == '\f')
		m++;
	end = m + strlen(m);
	while (end > m && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\v' ||
	    end[-1] == '\f'))
		end--;
	if (end == m)
		return NULL;
	xasprintf(&s, "%.*s\n", (int)(end - m), m);
	return s;
}

struct parents {
	git_commit	*v[16];
	size_t		 n;
	git_repository	*git;
};

static int
merge_head_cb(const git_oid *id, void *arg)
{
	struct parents	*p = arg;

	if (p->n >= sizeof(p->v) / sizeof(p->v[0]))
		return -1;
	if (git_commit_lookup(&p->v[p->n], p->git, id) != 0)
		return -1;
	p->n++;
	return 0;
}

static int
signature(struct repo *r, git_signature **sig, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = git_signature_default(sig, r->git)) == 0)
		return 0;
	if (rc == GIT_ENOTFOUND)
		seterr(err, errlen, "Please tell me who you are: set "
		    "user.name and user.email in your git configuration");
	else
		ri_gerr(err, errlen, "Cannot make the commit author");
	return -1;
}

int
repo_commit(struct repo *r, const char *message, char hash[REPO_HEX],
    char *err, size_t errlen)
{
	git_index	*idx = NULL;
	git_tree	*tree = NULL;
	git_signature	*sig = NULL;
	struct parents	 par;
	git_oid		 tree_id, id;
	char		*msg;
	size_t		 i;
	int		 rc = -1, merging;

	hash[0] = '\0';
	memset(&par, 0, sizeof(par));
	par.git = r->git;
	if (message == NULL || (msg = message_clean(message)) == NULL) {
		seterr(err, errlen, "Aborting commit due to empty commit "
		    "message");
		return -1;
	}
	if (index_fresh(r, &idx, err, errlen) == -1)
		goto done;
	if (git_index_has_conflicts(idx)) {
		seterr(err, errlen, "Cannot commit: the index has unresolved "
		    "conflicts");
		goto done;
	}
	switch (git_revparse_single((git_object **)&par.v[0], r->git,
	    "HEAD^{commit}")) {
	case 0:
		par.n = 1;
		break;
	case GIT_ENOTFOUND:
	case GIT_EUNBORNBRANCH:
		break;
	default:
		ri_gerr(err, errlen, "Cannot read HEAD");
		goto done;
	}
	if (git_index_write_tree(&tree_id, idx) != 0) {
		ri_gerr(err, errlen, "Cannot write the tree");
		goto done;
	}
	if ((par.n == 0 && git_index_entrycount(idx) == 0) ||
	    (par.n == 1 && git_oid_equal(&tree_id,
	    git_commit_tree_id(par.v[0])))) {
		seterr(err, errlen, "No staged changes to commit");
		goto done;
	}
	merging = par.n == 1 &&
	    git_repository_state(r->git) == GIT_REPOSITORY_STATE_MERGE;
	if (merging && git_repository_mergehead_foreach(r->git, merge_head_cb,
	    &par) != 0) {
		ri_gerr(err, errlen, "Cannot read MERGE_HEAD");
		goto done;
	}
	if (signature(r, &sig, err, errlen) == -1)
		goto done;
	if (git_tree_lookup(&tree, r->git, &tree_id) != 0 ||
	    git_commit_create(&id, r->git, "HEAD", sig, sig, NULL, msg, tree,
	    par.n, (const git_commit **)par.v) != 0) {
		ri_gerr(err, errlen, "Cannot commit");
		goto done;
	}
	if (merging && git_repository_state_cleanup(r->git) != 0)
		log_warnx("commit: merge state left behind: %s",
		    git_error_last() != NULL ? git_error_last()->message : "");
	git_oid_tostr(hash, REPO_HEX, &id);
	rc = 0;
done:
	for (i = 0; i < par.n; i++)
		git_commit_free(par.v[i]);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	free(msg);
	return rc;
}
