/*
 * items: the flat file list of a project state (reference §6.3), the
 * direct children of every monitored folder, sorted as upstream sorts.
 * Git status comes from the caller through a callback, so this module
 * only reads directories.
 */
#ifndef GIT_ITEMS_H
#define GIT_ITEMS_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Bounds. A folder with more entries contributes the first
 * ITEMS_MAX_PER_FOLDER in directory order (an arbitrary subset) and the
 * build reports truncation; the whole list stops at ITEMS_MAX_TOTAL.
 */
#define ITEMS_MAX_PER_FOLDER	10000
#define ITEMS_MAX_TOTAL		200000
#define ITEMS_MAX_SUBDIRS	10000

/* is_staged values; upstream sends false, true or "mixed". */
#define ITEM_STAGED_NO		0
#define ITEM_STAGED_YES		1
#define ITEM_STAGED_MIXED	2

/* What the caller knows about one path; zeroed before each call. */
struct item_git {
	/* "modified", …, or NULL; must live until items_build returns */
	const char	*git_status;
	int		 is_tracked;
	int		 is_staged;	/* ITEM_STAGED_* */
	int		 is_ignored;
};

typedef void	(*item_status_fn)(void *arg, const char *abs_path,
		    int is_dir, struct item_git *out);

struct item_folder {
	const char	*path;		/* as stored in the monitored set */
	int		 expanded;
};

struct items_req {
	const char			*root;		/* project folder */
	const struct item_folder	*folders;	/* root included */
	size_t				 nfolders;
	item_status_fn			 status;	/* NULL: no git */
	void				*arg;
};

/*
 * The FileItem array: children of every monitored folder under root
 * (folders outside it are ignored), ".git" skipped, de-duplicated by
 * path, broken links skipped, sorted by (parent_path, files after
 * directories, lower-cased name). *truncated (may be NULL) is set when a
 * bound cut the list short. Never NULL.
 */
struct json_object	*items_build(const struct items_req *,
			    int *truncated);

/*
 * The immediate subdirectories of folder (symbolic links followed,
 * ".git" excluded), joined to folder as os.path.join does, sorted.
 * -1 with errno when folder cannot be read. At most ITEMS_MAX_SUBDIRS.
 */
int	 items_subdirs(const char *folder, char ***dirs, size_t *ndirs);
void	 items_free_list(char **, size_t);

/* os.path.join(dir, name): no doubled slash when dir ends in one. */
char	*items_join(const char *dir, const char *name);

#endif
