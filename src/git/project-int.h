/*
 * project-int: the project state shared by project.c (lifecycle, events,
 * watcher) and projcmd.c (the project_state_* commands).
 */
#ifndef GIT_PROJECT_INT_H
#define GIT_PROJECT_INT_H

#include <sys/queue.h>
#include <stddef.h>

#include <json-c/json.h>

#define PROJ_MAX_TABS		256	/* per session */
#define PROJ_MAX_FOLDERS	4096	/* monitored folders per session */
#define PROJ_SIG_LEN		32	/* SHA-256 of what the client renders */

struct repo;
struct repo_status;
struct tab;
struct worker_req;

/* One per project folder, shared by its sessions. */
struct proj {
	TAILQ_ENTRY(proj)	 entry;
	char			*folder;
	int			 refs;
	struct repo		*repo;		/* NULL: not a repository */
	struct repo_status	*st;
	char			*gitdir;	/* watched; NULL if none */
	char			*branch;
	struct json_object	*summary;
	struct json_object	*detailed;
	/* A full status pass in a thread (for the watcher's refreshes). */
	struct bgpass		*bg;
	int			 again;		/* another pass wanted */
	int			 dying;		/* freed when bg ends */
	unsigned int		 gen;		/* bumped by synchronous passes */
};

struct mfolder {
	char	*path;
	int	 expanded;
	int	 watched;	/* watch_add succeeded */
};

/* One per project session. */
struct sess {
	TAILQ_ENTRY(sess)	 entry;
	char			*channel;	/* its project_id in events */
	char			*project_id;	/* the server's */
	struct proj		*p;
	struct mfolder		*folders;
	size_t			 nfolders;
	struct tab		*tabs[PROJ_MAX_TABS];	/* in opening order */
	size_t			 ntabs;
	struct tab		*active;
	unsigned char		 sig[PROJ_SIG_LEN];
	int			 sig_set;
};

struct sess	*proj_sess_find(const char *channel);
/* The session a command is for, or NULL with its answer already sent. */
struct sess	*proj_sess_of(struct worker_req *, const char *event,
		    const char *extra_key);
/* Send project_state_update if what the client renders changed. */
void		 proj_update(struct sess *, uint32_t id, const char *pid);
/* Git data again (after a git command or a change). */
void		 proj_refresh_git(struct proj *, const char *const *paths,
		    size_t n);
int		 proj_folder_add(struct sess *, const char *path, int expanded);
struct mfolder	*proj_folder_find(struct sess *, const char *path);
void		 proj_folders_prune(struct sess *);
/* Every session of p gets its update (unsolicited). */
void		 proj_update_all(struct proj *);
/* The content store as tabs want it. */
const char	*proj_hash_put(void *, const char *, size_t);

#endif
