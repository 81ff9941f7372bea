/*
 * repo: the git layer of the git worker (reference §6.3, §6.5, §6.6) on
 * libgit2. It opens a project folder that is itself a work-tree root,
 * computes status in one pass, answers per-item git state, serves file
 * contents at head, staged, working or a commit, and stages, unstages,
 * reverts and commits without ever running a program (libgit2 runs no
 * hooks, no fsmonitor and no filter drivers).
 *
 * Paths given to this module are absolute (under the folder as given or
 * under its real path) or relative to the work tree; anything resolving
 * outside is refused with "Path is outside the repository: <path>".
 *
 * A struct repo and the statuses made from it are used by one thread at
 * a time. git_libgit2_init() is the caller's job (git_init() does it).
 */
#ifndef GIT_REPO_H
#define GIT_REPO_H

#include <stddef.h>
#include <json-c/json.h>

struct repo;
struct repo_status;

#define REPO_HEX	41		/* a commit id in hex and a NUL */
#define REPO_ENOTREPO	1		/* repo_open(): not a work-tree root */

/* Reference §6.6 diff sides. */
enum repo_ref {
	REPO_REF_HEAD,
	REPO_REF_STAGED,
	REPO_REF_WORKING,
	REPO_REF_COMMIT
};

/* Per-item git_status (reference §6.3); NONE is JSON null. */
enum repo_state {
	REPO_STATE_NONE = 0,
	REPO_STATE_CLEAN,
	REPO_STATE_MODIFIED,
	REPO_STATE_ADDED,
	REPO_STATE_DELETED,
	REPO_STATE_UNTRACKED,
	REPO_STATE_IGNORED
};

/* is_staged: false, true or "mixed". */
enum repo_staged {
	REPO_STAGED_NO = 0,
	REPO_STAGED_YES,
	REPO_STAGED_MIXED
};

struct repo_item {
	enum repo_state	 state;
	enum repo_staged staged;
	int		 is_tracked;
	int		 is_ignored;
};

/*
 * Open folder when it is itself the root of a work tree (no search of
 * parent directories; bare repositories refused). 0 and *rp on success;
 * REPO_ENOTREPO with "Not a git repository" when folder is not a work-tree
 * root; -1 with a reason otherwise, notably a repository owned by another
 * user, which libgit2's owner check refuses unless safe.directory allows it.
 */
int		 repo_open(const char *folder, struct repo **rp, char *err,
		    size_t errlen);
void		 repo_close(struct repo *);
/* The folder as given to repo_open(), without a trailing slash. */
const char	*repo_folder(const struct repo *);

/*
 * Repository-relative form of path ("" for the root itself) in out.
 * -1 with "Path is outside the repository: <path>" when it leaves the
 * work tree, or a reason when it names something inside .git.
 */
int		 repo_relpath(const struct repo *, const char *path, char *out,
		    size_t outlen, char *err, size_t errlen);

/*
 * The checked-out branch name (xstrdup'ed), also for an unborn branch
 * ("main" right after git init); NULL when HEAD is detached or unreadable.
 */
char		*repo_branch(struct repo *);
/* 1 and the HEAD commit id in hex, or 0 when HEAD is unborn or unreadable. */
int		 repo_head(struct repo *, char hex[REPO_HEX]);

/*
 * One status pass: index against HEAD and work tree against index,
 * untracked files listed one by one, ignored ones noted for items.
 * Renames are not detected: a rename is a deletion and an addition, as
 * git status shows it without rename detection. NULL with a reason on
 * failure.
 */
struct repo_status *repo_status(struct repo *, char *err, size_t errlen);
/*
 * Refresh st for a few changed paths (files or directories, as the
 * watcher reports them) instead of a full pass. When the index or HEAD
 * changed since st was made, or a .gitignore is among the paths, this
 * does a full pass into st instead. 0 on success; on failure st keeps its
 * previous contents.
 */
int		 repo_status_paths(struct repo *, struct repo_status *,
		    const char *const *paths, size_t n, char *err,
		    size_t errlen);
void		 repo_status_free(struct repo_status *);
/*
 * Threads of a full pass: 0 (the default) one per CPU up to
 * REPO_MAX_THREADS, and only for an index of thousands of entries; 1 a
 * single pass; n > 1 exactly n parts whatever the size (for tests).
 */
#define REPO_MAX_THREADS	4
void		 repo_set_threads(int);

/*
 * git_status_summary (§6.5): {"clean":0}, or {"modified","deleted",
 * "untracked"} counted per line of git status --porcelain (a staged
 * addition counts as untracked, an untracked directory without tracked
 * files is one line; type changes and conflicts count as modified).
 * New object, owned by the caller.
 */
json_object	*repo_status_summary(const struct repo_status *);
/*
 * git_detailed_status (§6.5): {head_commit_hash, staged_changes,
 * unstaged_changes, untracked_files}, each list sorted by path. Staged
 * additions are "added" (upstream: "untracked"); a conflicted path is an
 * unstaged "modified".
 * file_abs_path is the folder as given joined with the repository path;
 * content_hash is the plain hex SHA-256 of the working-tree file, null for
 * deletions and for files that cannot be read. New object.
 */
json_object	*repo_status_detailed(const struct repo_status *);
/* The empty forms for a folder that is not a repository. */
json_object	*repo_summary_none(void);
json_object	*repo_detailed_none(void);
/*
 * The work tree's directories, relative and sorted, whose entries can
 * move its status: each holding a tracked file (in the index) or a
 * non-ignored entry of st. The root is not among them. At most max, the
 * shallowest first; *capped says some were left out. -1 when the index
 * cannot be read. The caller frees each string and the array.
 */
int		 repo_tree_dirs(struct repo *, const struct repo_status *,
		    size_t max, char ***dirs, size_t *n, int *capped);
/* Number of changed, untracked and conflicted paths (ignored not counted). */
size_t		 repo_status_count(const struct repo_status *);

/*
 * Git fields of the item at rel (repository-relative, as repo_relpath()
 * gives) from st; is_dir selects directory aggregation (§6.3). Uses the
 * repository's index for tracked-but-clean paths.
 */
void		 repo_item(struct repo *, const struct repo_status *,
		    const char *rel, int is_dir, struct repo_item *);
/* Sets is_git_tracked, git_status, is_staged and is_ignored on obj. */
void		 repo_item_json(const struct repo_item *, json_object *obj);
/* "clean", "modified", … or NULL for REPO_STATE_NONE. */
const char	*repo_state_name(enum repo_state);

/* "head", "staged", "working", "commit"; -1 when unknown. */
int		 repo_ref_parse(const char *, enum repo_ref *);
/*
 * Content of path at ref into *buf (xmalloc'ed, NUL added after *lenp
 * bytes). The exact bytes are returned: unlike upstream, whose GitPython
 * output loses one trailing newline at head, staged and commit, nothing
 * is stripped. A path absent at that ref gives "". working reads the file;
 * a read error gives "# Error reading file: [Errno N] <reason>: '<path>'".
 * commit takes hash, a full or abbreviated hex commit id; an unknown or
 * malformed one gives "". limit (0 for none) bounds the size: beyond it
 * -1 and "File too large: N bytes". -1 also for a path outside the work
 * tree.
 */
int		 repo_content(struct repo *, enum repo_ref, const char *path,
		    const char *hash, size_t limit, char **buf, size_t *lenp,
		    char *err, size_t errlen);

/*
 * Stage like git add -A -- <paths>: new and modified files are added,
 * deleted ones removed from the index; directories recurse. A path that
 * is ignored and untracked, or matches nothing, fails the whole call
 * before the index changes. repo_stage_all() is git add -A of everything.
 */
int		 repo_stage(struct repo *, const char *const *paths, size_t n,
		    char *err, size_t errlen);
int		 repo_stage_all(struct repo *, char *err, size_t errlen);
/*
 * Reset the index entries of paths to HEAD's (git restore --staged);
 * without a HEAD, remove them from the index (git rm --cached). A path
 * known to neither HEAD nor the index fails the call.
 */
int		 repo_unstage(struct repo *, const char *const *paths, size_t n,
		    char *err, size_t errlen);
int		 repo_unstage_all(struct repo *, char *err, size_t errlen);
/*
 * Restore index and work tree of paths from HEAD (git restore --staged
 * --worktree): modified and deleted files come back, a staged new file is
 * removed from the index and deleted. Untracked files are never touched:
 * a path known to neither HEAD nor the index fails the call (also without
 * a HEAD, where everything staged counts as new). repo_revert_all() is
 * git restore . : the work tree of every tracked file from the index,
 * staged changes kept.
 */
int		 repo_revert(struct repo *, const char *const *paths, size_t n,
		    char *err, size_t errlen);
int		 repo_revert_all(struct repo *, char *err, size_t errlen);
/*
 * Commit the index with message (surrounding whitespace stripped, one
 * newline added) on HEAD's branch, author and committer from git config.
 * "No staged changes to commit" when the index equals HEAD's tree (or is
 * empty on an unborn branch). The new commit id in hash.
 */
int		 repo_commit(struct repo *, const char *message,
		    char hash[REPO_HEX], char *err, size_t errlen);

#endif
