/*
 * project-int: the project state shared by project.c (lifecycle, events,
 * watcher) and projcmd.c (the project_state_* commands).
 */
#ifndef GIT_PROJECT_INT_H
#define GIT_PROJECT_INT_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define PROJ_MAX_TABS		256	/* per session */
#define PROJ_MAX_FOLDERS	4096	/* monitored folders per session */
#define PROJ_SIG_LEN		32	/* SHA-256 of what the client renders */

#define PROJ_MAX_HELD		256	/* commands waiting on one project */
#define PROJ_TREE_MAX		2048	/* directory watches per repository */
#define PROJ_TREE_RESERVE	2048	/* of WATCH_MAX, kept for folders */

struct repo;
struct repo_status;
struct tab;
struct worker_req;
struct event_base;

/* A command's answer, due once the pass after its change is in. */
struct pwait {
	TAILQ_ENTRY(pwait)	 entry;
	uint32_t		 id;
	char			*channel;	/* the requesting session */
	struct json_object	*ev;
};
TAILQ_HEAD(pwait_list, pwait);

/* A command that came while its project was busy (see pass_holds). */
struct pheld {
	TAILQ_ENTRY(pheld)	 entry;
	uint32_t		 id;
	struct json_object	*cmd;
};
TAILQ_HEAD(pheld_list, pheld);

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
	/* Full status passes run in a thread (projpass.c). */
	struct bgpass		*bg;
	int			 again;		/* another pass wanted */
	int			 dying;		/* freed when bg ends */
	unsigned int		 gen;		/* bumped when a pass goes stale */
	int			 loading;	/* the first pass is not in */
	struct pwait_list	 waiting;	/* for the next pass to start */
	struct pheld_list	 held;
	size_t			 nheld;
	/* Watched directories of the work tree (projtree.c), sorted. */
	char			**tree;
	size_t			 ntree;
	int			 tree_capped;
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
	int			 uninit;	/* initialized not sent yet */
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
/* Branch, summary and detailed status from p's repository and status. */
void		 proj_git_data(struct proj *);
/* Watch p's .git directory if it has one and it is not watched. */
void		 proj_watch_git(struct proj *);
void		 proj_free(struct proj *);
/* The first pass is in: initialized to each session still waiting. */
void		 proj_loaded(struct proj *);

/* projtree.c: watches on the directories whose changes move status. */
void		 proj_tree_sync(struct proj *);
void		 proj_tree_release(struct proj *);
/* Some of the changed paths are directories the tree does not have. */
int		 proj_tree_grew(const struct proj *, const char *const *paths,
		    size_t n);

/* projpass.c: full status passes in a thread, and what waits on them. */
void		 pass_init(struct event_base *);
/* A full pass of p; one more after the current one if one runs. */
void		 pass_start(struct proj *);
/*
 * p changed under its last status (a git command): a full pass, then
 * s's update (with the request id), every other session's, and ev as
 * the answer to id. Takes ev.
 */
void		 pass_then_reply(struct sess *, uint32_t id,
		    struct json_object *ev);
/* Commands for p wait: its first pass, or a command's pass, is due. */
int		 pass_holds(const struct proj *);
void		 pass_hold(struct proj *, struct worker_req *);
/* p lost its last session: answer everything that waits on it. */
void		 pass_drop(struct proj *);

#endif
