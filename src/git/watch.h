/*
 * watch: the git worker's inotify watches, shared by every project.
 *
 * Folder watches are non-recursive and reference counted: a folder two
 * projects monitor stays watched until both let go. Git watches follow
 * a repository's HEAD, index, packed-refs and refs/heads (with its
 * subdirectories, bounded). Events are debounced (and held while a git
 * command holds its index or HEAD lock) and delivered as one callback
 * per batch; the inotify descriptor exists only while there is
 * something to watch.
 */
#ifndef GIT_WATCH_H
#define GIT_WATCH_H

#include <stddef.h>

struct event_base;

#define WATCH_MAX		8192	/* watch entries, folders and git */
#define WATCH_DEBOUNCE_MS	25	/* quiet time before a batch goes */
#define WATCH_MAX_DELAY_MS	500	/* a busy stream still flushes */
#define WATCH_LOCK_POLL_MS	10	/* re-check of a git lock in the way */
#define WATCH_MAX_PATHS		1024	/* changed entries listed per batch */
#define WATCH_GIT_REF_DIRS	64	/* refs/heads directories per repo */
#define WATCH_GIT_REF_DEPTH	4	/* levels below refs/heads */

struct watch_changes {
	/* Watched folders with changed entries (or gone themselves). */
	const char *const	*dirs;
	size_t			 ndirs;
	/*
	 * The entries that changed, each under one of dirs; incomplete
	 * when paths_overflow is set (then rescan dirs as a whole).
	 */
	const char *const	*paths;
	size_t			 npaths;
	int			 paths_overflow;
	/* Git directories (as given to watch_add_git) whose state moved. */
	const char *const	*gitdirs;
	size_t			 ngitdirs;
	/* The kernel dropped events: treat everything as changed. */
	int			 overflow;
};

typedef void	(*watch_cb)(void *arg, const struct watch_changes *);

void	 watch_init(struct event_base *, watch_cb, void *arg);
/* Drop every watch and close the descriptor. */
void	 watch_shutdown(void);

/*
 * Take a reference on a folder watch. -1 with errno when the folder
 * cannot be watched (ENOSPC past WATCH_MAX or the kernel's limit); no
 * reference is taken then. Call watch_del once per successful add.
 */
int	 watch_add(const char *dir);
int	 watch_del(const char *dir);

/*
 * Git metadata of one repository: gitdir holds HEAD and index,
 * commondir (NULL: the same) packed-refs and refs/heads; they differ
 * for a linked worktree. Reference counted by gitdir.
 */
int	 watch_add_git(const char *gitdir, const char *commondir);
int	 watch_del_git(const char *gitdir);

/* Kernel watches held now, and watch entries (dead ones included). */
size_t	 watch_count(void);
size_t	 watch_entries(void);
/* Timing, for tests; 0 restores the default. */
void	 watch_set_delays(int debounce_ms, int max_delay_ms);

#endif
