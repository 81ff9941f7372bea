/*
 * ignore: ripgrep's ignore files and their precedence. Each directory
 * may hold .rgignore, .ignore and .gitignore (and, at a repository's
 * top, .git/info/exclude), all in gitignore syntax: '#' comments, '!'
 * negation, a '/' anchoring the pattern at the file's directory, a
 * trailing '/' for directories only, '**', backslash escapes; within a
 * file the last matching line wins.
 *
 * Across directories the closest one with a verdict wins, per kind,
 * and kinds rank .rgignore > .ignore > .gitignore > exclude. Git's
 * files count only inside a repository and stop at its top. The global
 * core.excludesFile of git is not read.
 */
#ifndef FS_IGNORE_H
#define FS_IGNORE_H

#include <stddef.h>

#include "fs/glob.h"

enum ign_kind {
	IGN_RG,			/* .rgignore */
	IGN_DOT,		/* .ignore */
	IGN_GIT,		/* .gitignore */
	IGN_EXCLUDE,		/* .git/info/exclude */
	IGN_NKINDS
};

struct ign_dir {
	struct glob_list	 lists[IGN_NKINDS];
};

/* The lines of an ignore file, in order; bad patterns are skipped. */
void		 ign_parse(struct glob_list *, const char *, size_t);
/*
 * Read dirfd/name (a symlink is not followed) into the list. 0 read or
 * absent, -1 with errno for another failure.
 */
int		 ign_load(struct glob_list *, int dirfd, const char *name);
/* .git/info/exclude below dirfd, the same way. */
int		 ign_load_exclude(struct glob_list *, int dirfd);
int		 ign_dir_empty(const struct ign_dir *);
void		 ign_dir_clear(struct ign_dir *);

/* One directory between the entry and the top, outermost first. */
struct ign_level {
	const struct ign_dir	*dir;		/* NULL when it has none */
	size_t			 off;		/* path + off: relative to it */
	int			 has_git;	/* holds a .git */
};

/*
 * The verdict of the ignore files on path (the entry's path from the
 * outermost level; is_dir tells its kind). any_git: a .git exists at
 * some level, which is what lets git's files count at all.
 */
enum glob_verdict ign_match(const struct ign_level *, size_t, const char *,
		    size_t, int is_dir, int any_git);

#endif
