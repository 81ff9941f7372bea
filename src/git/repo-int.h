/*
 * repo-int: what the parts of the repo layer share (repo.c, status.c,
 * statuspar.c, statusview.c, refcontent.c, gitops.c); included by them
 * only. Its functions start with ri_ ("repo internal") to tell them from
 * the public repo_* of repo.h.
 */
#ifndef GIT_REPO_INT_H
#define GIT_REPO_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include <git2.h>

#include "git/repo.h"

#define HEX_SHA256	65

/* What says a working file is unchanged since we hashed it. */
struct fkey {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
};

struct hent {
	char		*path;
	struct fkey	 key;
	char		 hex[HEX_SHA256];
};

struct repo {
	git_repository	*git;
	char		*folder;	/* as given: base of file_abs_path */
	char		*lexfolder;	/* folder, lexically normalised */
	char		*workdir;	/* libgit2's real path, ending in '/' */
	struct hent	*hashes;	/* sorted by path: last status's digests */
	size_t		 nhashes;
	struct fkey	 smsig[2];	/* .gitmodules, config: submodules loaded */
	int		 smcached;
};

struct repo_entry {
	char		*path;
	unsigned int	 flags;		/* git_status_t */
	size_t		 ulen;		/* untracked: porcelain line is path[0..ulen) */
	int		 hashed;
	struct fkey	 key;
	char		 hex[HEX_SHA256];
};

struct repo_status {
	char		*folder;	/* the repo's, for file_abs_path */
	struct repo_entry *v;
	size_t		 n;
	int		 has_head;
	char		 head[REPO_HEX];
	int		 has_istamp;
	struct fkey	 istamp;	/* the index file when the pass began */
};

#define ST_INDEX	(GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED | \
	GIT_STATUS_INDEX_DELETED | GIT_STATUS_INDEX_RENAMED | \
	GIT_STATUS_INDEX_TYPECHANGE)
#define ST_WTCHANGE	(GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED | \
	GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_WT_RENAMED | \
	GIT_STATUS_WT_UNREADABLE)
/* A working file to hash exists on at least one side of these. */
#define ST_HASHED	(GIT_STATUS_WT_NEW | GIT_STATUS_WT_MODIFIED | \
	GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_INDEX_NEW | \
	GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_TYPECHANGE | \
	GIT_STATUS_INDEX_RENAMED | GIT_STATUS_CONFLICTED)

/* Raw entries of one libgit2 status list. */
struct collected {
	struct repo_entry *v;
	size_t		 n;
	size_t		 cap;
};

/* repo.c */
void		 ri_gerr(char *err, size_t errlen, const char *what);
int		 ri_ends_with_slash(const char *);
int		 ri_path_norm(const char *in, char *out, size_t outlen);
int		 ri_has_dotgit(const char *rel);
void		 ri_abs_path(const struct repo *, const char *rel, char *out,
		    size_t outlen);
char		**ri_rels_make(const struct repo *, const char *const *paths,
		    size_t n, int *all, char *err, size_t errlen);
void		 ri_rels_free(char **, size_t);
int		 ri_head_tree(struct repo *, git_tree **, char *err,
		    size_t errlen);
int		 ri_index_has_prefix(git_index *, const char *prefix);

/* status.c */
void		 ri_hashes_clear(struct repo *);
const struct repo_entry *ri_entry_find(const struct repo_status *,
		    const char *path);
size_t		 ri_entry_lower(const struct repo_status *, const char *key);
void		 ri_collected_add(struct collected *, const char *path,
		    unsigned int flags);
/* wt_only: the work tree against the index only (see cachetree.c). */
int		 ri_collect(git_repository *, const git_strarray *, int wt_only,
		    struct collected *, char *err, size_t errlen);

/* cachetree.c: the index holds HEAD's tree exactly (no staged change). */
int		 ri_index_is_head(struct repo *);

/* statuspar.c */
int		 ri_collect_parallel(struct repo *, int wt_only,
		    struct collected *, int *rcp, char *err, size_t errlen);

#endif
