/*
 * project: project states (reference §6.1-6.4). A state exists for each
 * session net reports with a project folder; sessions of one folder
 * share its repository, status and watches. Updates are event-driven:
 * the watcher reports changed folders and git metadata, the affected
 * projects recompute, and each session gets an update only when what
 * it would render changed.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"
#include "git/items.h"
#include "git/project.h"
#include "git/project-int.h"
#include "git/repo.h"
#include "git/store.h"
#include "git/tabs.h"
#include "git/watch.h"

static TAILQ_HEAD(, proj) projs = TAILQ_HEAD_INITIALIZER(projs);
static TAILQ_HEAD(, sess) sessions = TAILQ_HEAD_INITIALIZER(sessions);

const char *
proj_hash_put(void *arg, const char *content, size_t len)
{
	static char	 key[STORE_KEY_SIZE];

	(void)arg;
	return store_put(store_global(), content, len, key);
}

/* ---- projects ---- */

void
proj_git_data(struct proj *p)
{
	char	 err[256];

	json_object_put(p->summary);
	json_object_put(p->detailed);
	free(p->branch);
	p->branch = NULL;
	if (p->repo == NULL) {
		p->summary = repo_summary_none();
		p->detailed = repo_detailed_none();
		return;
	}
	p->branch = repo_branch(p->repo);
	if (p->st == NULL && (p->st = repo_status(p->repo, err,
	    sizeof(err))) == NULL)
		log_warnx("%s: git status: %s", p->folder, err);
	p->summary = p->st ? repo_status_summary(p->st) : repo_summary_none();
	p->detailed = p->st ? repo_status_detailed(p->st) :
	    repo_detailed_none();
}

void
proj_watch_git(struct proj *p)
{
	struct stat	 sb;

	if (p->gitdir != NULL)
		return;
	xasprintf(&p->gitdir, "%s/.git", p->folder);
	if (stat(p->gitdir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    watch_add_git(p->gitdir, NULL) == -1) {
		free(p->gitdir);
		p->gitdir = NULL;
	}
}

static void
proj_open_repo(struct proj *p)
{
	char		 err[256];
	int		 r;

	r = repo_open(p->folder, &p->repo, err, sizeof(err));
	if (r != 0) {
		p->repo = NULL;
		if (r != REPO_ENOTREPO)
			log_warnx("%s: %s", p->folder, err);
		return;
	}
	proj_watch_git(p);
}

static void
proj_close_repo(struct proj *p)
{
	if (p->gitdir != NULL)
		watch_del_git(p->gitdir);
	free(p->gitdir);
	p->gitdir = NULL;
	if (p->st != NULL)
		repo_status_free(p->st);
	p->st = NULL;
	if (p->repo != NULL)
		repo_close(p->repo);
	p->repo = NULL;
}

static struct proj *
proj_get(const char *folder)
{
	struct proj	*p;
	char		*dotgit;

	TAILQ_FOREACH(p, &projs, entry)
		if (strcmp(p->folder, folder) == 0) {
			p->refs++;
			return p;
		}
	p = xcalloc(1, sizeof(*p));
	p->folder = xstrdup(folder);
	p->refs = 1;
	TAILQ_INIT(&p->waiting);
	TAILQ_INIT(&p->held);
	TAILQ_INSERT_TAIL(&projs, p, entry);
	xasprintf(&dotgit, "%s/.git", folder);
	if (access(dotgit, F_OK) == -1)
		proj_git_data(p);	/* not a repository: nothing to wait for */
	else {
		/* Changes during the first pass bring another. */
		proj_watch_git(p);
		p->loading = 1;
		proj_git_data(p);
		pass_start(p);
	}
	free(dotgit);
	return p;
}

static void
proj_put(struct proj *p)
{
	if (--p->refs > 0)
		return;
	TAILQ_REMOVE(&projs, p, entry);
	pass_drop(p);
	if (p->bg != NULL) {
		/* Its thread still works on a repository of its own. */
		p->dying = 1;
		return;
	}
	proj_free(p);
}

void
proj_free(struct proj *p)
{
	proj_tree_release(p);
	proj_close_repo(p);
	json_object_put(p->summary);
	json_object_put(p->detailed);
	free(p->branch);
	free(p->folder);
	free(p);
	/* A repository's index and status are megabytes: give them back. */
	malloc_trim(0);
}

void
proj_refresh_git(struct proj *p, const char *const *paths, size_t n)
{
	char	 err[256];
	int	 had = p->repo != NULL, resync = 1;

	/* A folder may have become a repository, or stopped being one. */
	if (p->repo == NULL || access(p->gitdir ? p->gitdir : "/", F_OK) ==
	    -1) {
		proj_close_repo(p);
		proj_open_repo(p);
	}
	p->gen++;
	if (p->repo != NULL && had && p->st != NULL && n > 0) {
		if (repo_status_paths(p->repo, p->st, paths, n, err,
		    sizeof(err)) == -1)
			log_warnx("%s: git status: %s", p->folder, err);
		resync = proj_tree_grew(p, paths, n);
	} else if (p->st != NULL) {
		repo_status_free(p->st);
		p->st = NULL;
	}
	proj_git_data(p);
	if (resync)
		proj_tree_sync(p);
}

/* ---- monitored folders ---- */

struct mfolder *
proj_folder_find(struct sess *s, const char *path)
{
	size_t	 i;

	for (i = 0; i < s->nfolders; i++)
		if (strcmp(s->folders[i].path, path) == 0)
			return &s->folders[i];
	return NULL;
}

int
proj_folder_add(struct sess *s, const char *path, int expanded)
{
	struct mfolder	*f;

	if ((f = proj_folder_find(s, path)) != NULL) {
		f->expanded |= expanded;
		return 0;
	}
	if (s->nfolders == PROJ_MAX_FOLDERS)
		return -1;
	s->folders = xreallocarray(s->folders, s->nfolders + 1,
	    sizeof(*s->folders));
	f = &s->folders[s->nfolders++];
	f->path = xstrdup(path);
	f->expanded = expanded;
	if ((f->watched = watch_add(path) == 0) == 0)
		log_debug("cannot watch %s: %s", path, strerror(errno));
	return 0;
}

static void
folder_drop(struct sess *s, size_t i)
{
	if (s->folders[i].watched)
		watch_del(s->folders[i].path);
	free(s->folders[i].path);
	s->folders[i] = s->folders[--s->nfolders];
}

/* Forget monitored folders that are gone; keep the root. */
void
proj_folders_prune(struct sess *s)
{
	struct stat	 sb;
	size_t		 i = 1;

	while (i < s->nfolders)
		if (stat(s->folders[i].path, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode))
			folder_drop(s, i);
		else
			i++;
}

/* New subdirectories of expanded folders become monitored (collapsed). */
static void
folders_grow(struct sess *s)
{
	char	**dirs;
	size_t	  i, j, n, count = s->nfolders;

	for (i = 0; i < count; i++) {
		if (!s->folders[i].expanded ||
		    items_subdirs(s->folders[i].path, &dirs, &n) == -1)
			continue;
		for (j = 0; j < n; j++)
			proj_folder_add(s, dirs[j], 0);
		items_free_list(dirs, n);
	}
}

/* ---- events ---- */

static void
item_status(void *arg, const char *abs, int is_dir, struct item_git *out)
{
	struct proj	*p = arg;
	struct repo_item ri;
	char		 rel[4096], err[256];

	if (p->repo == NULL || p->st == NULL ||
	    repo_relpath(p->repo, abs, rel, sizeof(rel), err,
	    sizeof(err)) == -1)
		return;
	repo_item(p->repo, p->st, rel, is_dir, &ri);
	out->git_status = repo_state_name(ri.state);
	out->is_tracked = ri.is_tracked;
	out->is_staged = ri.staged == REPO_STAGED_MIXED ? ITEM_STAGED_MIXED :
	    ri.staged == REPO_STAGED_YES ? ITEM_STAGED_YES : ITEM_STAGED_NO;
	out->is_ignored = ri.is_ignored;
}

static struct json_object *
state_items(struct sess *s)
{
	struct item_folder	*f;
	struct items_req	 rq;
	struct json_object	*items;
	size_t			 i;

	f = xcalloc(s->nfolders, sizeof(*f));
	for (i = 0; i < s->nfolders; i++) {
		f[i].path = s->folders[i].path;
		f[i].expanded = s->folders[i].expanded;
	}
	memset(&rq, 0, sizeof(rq));
	rq.root = s->p->folder;
	rq.folders = f;
	rq.nfolders = s->nfolders;
	rq.status = s->p->repo ? item_status : NULL;
	rq.arg = s->p;
	items = items_build(&rq, NULL);
	free(f);
	return items;
}

/* Everything the client renders, without event name or timestamp. */
static struct json_object *
state_body(struct sess *s)
{
	struct json_object	*o = json_object_new_object(), *tabs;
	struct proj		*p = s->p;
	size_t			 i;

	json_set_str(o, "project_folder_path", p->folder);
	json_set_bool(o, "is_git_repo", p->repo != NULL);
	json_object_object_add(o, "git_branch", p->branch ?
	    json_object_new_string(p->branch) : NULL);
	json_object_object_add(o, "git_status_summary",
	    json_object_get(p->summary));
	json_object_object_add(o, "git_detailed_status",
	    json_object_get(p->detailed));
	tabs = json_object_new_array();
	for (i = 0; i < s->ntabs; i++)
		json_object_array_add(tabs, tab_to_json(s->tabs[i]));
	json_object_object_add(o, "open_tabs", tabs);
	json_object_object_add(o, "active_tab", s->active ?
	    tab_to_json(s->active) : NULL);
	json_object_object_add(o, "items", state_items(s));
	return o;
}

static void
digest(struct json_object *o, unsigned char out[PROJ_SIG_LEN])
{
	const char	*text;
	size_t		 len;

	text = json_text(o, &len);
	if (!EVP_Digest(text, len, out, NULL, EVP_sha256(), NULL))
		fatalx("%s: EVP_Digest", __func__);
}

/* Finish body as the named event for s and send it. */
static void
state_send(struct sess *s, struct json_object *body, const char *event,
    uint32_t id, const char *pid)
{
	struct json_object	*ev = json_event_new(event);
	struct timespec		 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	json_set_str(ev, "project_id", pid ? pid : s->channel);
	json_object_object_foreach(body, k, v)
		json_object_object_add(ev, k, json_object_get(v));
	json_object_object_add(ev, "timestamp", json_object_new_double(
	    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	if (id == 0)
		json_set_str(ev, "_target_session", s->channel);
	worker_event(id, ev);
}

void
proj_update(struct sess *s, uint32_t id, const char *pid)
{
	struct json_object	*body = state_body(s);
	unsigned char		 sig[PROJ_SIG_LEN];

	digest(body, sig);
	if (!s->sig_set || memcmp(sig, s->sig, sizeof(sig)) != 0) {
		memcpy(s->sig, sig, sizeof(sig));
		s->sig_set = 1;
		state_send(s, body, "project_state_update", id, pid);
	}
	json_object_put(body);
}

void
proj_update_all(struct proj *p)
{
	struct sess	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (s->p == p && !s->uninit) {
			proj_folders_prune(s);
			folders_grow(s);
			proj_update(s, 0, NULL);
		}
}

/* ---- sessions ---- */

struct sess *
proj_sess_find(const char *channel)
{
	struct sess	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (strcmp(s->channel, channel) == 0)
			return s;
	return NULL;
}

static void
sess_free(struct sess *s)
{
	size_t	 i;

	TAILQ_REMOVE(&sessions, s, entry);
	while (s->nfolders > 0)
		folder_drop(s, s->nfolders - 1);
	free(s->folders);
	for (i = 0; i < s->ntabs; i++)
		tab_free(s->tabs[i]);
	proj_put(s->p);
	free(s->channel);
	free(s->project_id);
	free(s);
}

/* The session's first state: project_state_initialized. */
static void
sess_publish(struct sess *s)
{
	struct json_object	*body;

	s->uninit = 0;
	body = state_body(s);
	digest(body, s->sig);
	s->sig_set = 1;
	state_send(s, body, "project_state_initialized", 0, NULL);
	json_object_put(body);
}

void
proj_loaded(struct proj *p)
{
	struct sess	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (s->p == p && s->uninit)
			sess_publish(s);
}

static void
sess_new(const char *channel, const char *project_id, const char *folder)
{
	struct sess		*s;
	char			**dirs;
	size_t			  i, n;

	s = xcalloc(1, sizeof(*s));
	s->channel = xstrdup(channel);
	s->project_id = xstrdup(project_id);
	s->p = proj_get(folder);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	/* The root expanded, each first-level folder collapsed (§6.1). */
	proj_folder_add(s, folder, 1);
	if (items_subdirs(folder, &dirs, &n) == 0) {
		for (i = 0; i < n; i++)
			proj_folder_add(s, dirs[i], 0);
		items_free_list(dirs, n);
	}
	s->uninit = 1;
	if (!s->p->loading)
		sess_publish(s);
}

/* A usable project session: project id, absolute folder that exists. */
static int
session_fields(struct json_object *o, const char **channel,
    const char **pid, const char **folder)
{
	struct stat	 sb;

	*channel = json_get_str(o, "channel_name");
	*pid = json_get_str(o, "project_id");
	*folder = json_get_str(o, "project_folder_path");
	if (*channel == NULL || *pid == NULL || *folder == NULL ||
	    (*folder)[0] != '/')
		return 0;
	if (stat(*folder, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		log_debug("session %s: project folder %s: not a directory",
		    *channel, *folder);
		return 0;
	}
	return 1;
}

static struct json_object *
listed(struct json_object *arr, const char *channel, const char *folder)
{
	struct json_object	*o;
	const char		*c, *pid, *f;
	size_t			 i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (session_fields(o, &c, &pid, &f) && strcmp(c, channel) ==
		    0 && strcmp(f, folder) == 0)
			return o;
	}
	return NULL;
}

void
cmd_client_sessions(struct worker_req *req)
{
	struct json_object	*arr = json_get(req->cmd, "sessions"), *o;
	struct sess		*s, *next;
	const char		*c, *pid, *f;
	size_t			 i;

	if (!json_object_is_type(arr, json_type_array)) {
		worker_error(req->id, "sessions must be an array");
		return;
	}
	/* Gone, or moved to another folder: released (§6.1). */
	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (listed(arr, s->channel, s->p->folder) == NULL)
			sess_free(s);
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (session_fields(o, &c, &pid, &f) && proj_sess_find(c) == NULL)
			sess_new(c, pid, f);
	}
	worker_done(req->id);
}

/* ---- the watcher ---- */

static int
under(const char *path, const char *dir)
{
	size_t	 n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/' || (n > 0 && dir[n - 1] == '/'));
}

static int
affected(struct proj *p, const struct watch_changes *c)
{
	size_t	 i;

	if (c->overflow)
		return 1;
	for (i = 0; i < c->ndirs; i++)
		if (under(c->dirs[i], p->folder))
			return 1;
	for (i = 0; i < c->ngitdirs; i++)
		if (p->gitdir != NULL && strcmp(c->gitdirs[i], p->gitdir) == 0)
			return 1;
	return 0;
}

static void
changed(void *arg, const struct watch_changes *c)
{
	struct proj	*p;
	const char	**paths;
	size_t		 i, n = 0;

	(void)arg;
	paths = xcalloc(c->npaths + 1, sizeof(*paths));
	TAILQ_FOREACH(p, &projs, entry) {
		if (!affected(p, c))
			continue;
		/*
		 * A .git directory that just appeared (git init under way)
		 * is watched before the pass looks at it: what git writes
		 * after the pass has looked brings the next one.
		 */
		proj_watch_git(p);
		n = 0;
		/* Git metadata or an overflow: a full status pass. */
		if (!c->overflow && !c->paths_overflow && c->ngitdirs == 0)
			for (i = 0; i < c->npaths; i++)
				if (under(c->paths[i], p->folder))
					paths[n++] = c->paths[i];
		if (n > 0 && p->repo != NULL && p->st != NULL) {
			proj_refresh_git(p, paths, n);
			proj_update_all(p);
		} else if (p->repo != NULL || !c->overflow)
			pass_start(p);
	}
	free(paths);
}

void
project_init(struct event_base *base)
{
	watch_init(base, changed, NULL);
	pass_init(base);
}
