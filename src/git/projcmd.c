/*
 * projcmd: the project_state_* commands (reference §6.3, 6.5, 6.6).
 * Each finds the requesting session's state, acts, sends the session
 * its project_state_update when something changed, then answers.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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

#define DIFF_SIDE_MAX	(10 * 1024 * 1024)
#define BAD_PATHS	((size_t)-1)	/* op_paths: an unusable entry */

/*
 * A string argument; NULL when absent, not a string, or holding a NUL
 * byte (a path cut short at it would name another file).
 */
static const char *
arg(struct worker_req *req, const char *key)
{
	struct json_object	*v = json_get(req->cmd, key);

	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

/* project_id as the command gave it (a string, or absent). */
static const char *
pid_of(struct worker_req *req)
{
	return arg(req, "project_id");
}

static struct json_object *
answer(struct worker_req *req, const char *event, int success)
{
	struct json_object	*ev = json_event_new(event);
	const char		*pid = pid_of(req);

	json_object_object_add(ev, "project_id", pid ?
	    json_object_new_string(pid) : NULL);
	json_set_bool(ev, "success", success);
	return ev;
}

static void
echo(struct json_object *ev, struct worker_req *req, const char *key)
{
	struct json_object	*v;

	if (json_object_object_get_ex(req->cmd, key, &v))
		json_object_object_add(ev, key, json_object_get(v));
	else
		json_object_object_add(ev, key, NULL);
}

/*
 * The state of the requesting session. Missing fields are error events;
 * a missing state is a success:false answer of event (with extra_key
 * echoed), as upstream.
 */
struct sess *
proj_sess_of(struct worker_req *req, const char *event, const char *extra)
{
	struct json_object	*ev;
	const char		*src;
	char			 msg[512];
	struct sess		*s;

	if ((src = arg(req, "source_client_session")) == NULL ||
	    *src == '\0') {
		worker_error(req->id, "source_client_session is required");
		return NULL;
	}
	if (pid_of(req) == NULL || *pid_of(req) == '\0') {
		worker_error(req->id, "project_id is required");
		return NULL;
	}
	if ((s = proj_sess_find(src)) != NULL) {
		if (!pass_holds(s->p))
			return s;
		pass_hold(s->p, req);
		return NULL;
	}
	if (event == NULL) {
		worker_error(req->id, "No project state found for client "
		    "session: %s", src);
		return NULL;
	}
	ev = answer(req, event, 0);
	if (extra != NULL)
		echo(ev, req, extra);
	snprintf(msg, sizeof(msg), "No project state found for client "
	    "session: %s", src);
	json_set_str(ev, "error", msg);
	worker_reply(req->id, ev);
	return NULL;
}

/* ---- folders ---- */

static void
folder_cmd(struct worker_req *req, int expand)
{
	const char	*event = expand ? "project_state_folder_expand_response" :
			    "project_state_folder_collapse_response";
	struct json_object *ev;
	struct mfolder	*f;
	struct sess	*s;
	const char	*path;
	char		**dirs;
	size_t		  i, n;
	int		  ok = 0;

	if ((s = proj_sess_of(req, event, "folder_path")) == NULL)
		return;
	path = arg(req, "folder_path");
	if (path != NULL && (f = proj_folder_find(s, path)) != NULL) {
		ok = 1;
		f->expanded = expand;
		if (expand) {
			proj_folders_prune(s);
			if (items_subdirs(path, &dirs, &n) == 0) {
				for (i = 0; i < n; i++)
					proj_folder_add(s, dirs[i], 0);
				items_free_list(dirs, n);
			}
		}
		proj_update(s, req->id, pid_of(req));
	}
	ev = answer(req, event, ok);
	echo(ev, req, "folder_path");
	worker_reply(req->id, ev);
}

void
cmd_folder_expand(struct worker_req *req)
{
	folder_cmd(req, 1);
}

void
cmd_folder_collapse(struct worker_req *req)
{
	folder_cmd(req, 0);
}

/* ---- tabs ---- */

static struct tab *
tab_by_key(struct sess *s, const char *key)
{
	size_t	 i;

	for (i = 0; i < s->ntabs; i++)
		if (strcmp(s->tabs[i]->key, key) == 0)
			return s->tabs[i];
	return NULL;
}

static struct tab *
tab_by_id(struct sess *s, const char *id)
{
	size_t	 i;

	for (i = 0; i < s->ntabs; i++)
		if (strcmp(s->tabs[i]->tab_id, id) == 0)
			return s->tabs[i];
	return NULL;
}

/* File a new tab, or activate the one already under its key. */
static int
tab_add(struct sess *s, struct tab *t, int activate)
{
	struct tab	*old = tab_by_key(s, t->key);

	if (old != NULL) {
		tab_free(t);
		if (activate)
			s->active = old;
		return 0;
	}
	if (s->ntabs == PROJ_MAX_TABS) {
		tab_free(t);
		return -1;
	}
	s->tabs[s->ntabs++] = t;
	if (activate)
		s->active = t;
	return 0;
}

void
cmd_file_open(struct worker_req *req)
{
	const char	*event = "project_state_file_open_response";
	struct json_object *ev;
	struct sess	*s;
	struct tab	*t;
	const char	*path;
	int		 active = 1, ok = 0;

	if ((s = proj_sess_of(req, event, "file_path")) == NULL)
		return;
	if ((path = arg(req, "file_path")) == NULL ||
	    *path == '\0') {
		worker_error(req->id, "file_path is required");
		return;
	}
	if (json_get(req->cmd, "set_active") != NULL)
		active = json_object_get_boolean(json_get(req->cmd,
		    "set_active"));
	t = tab_file_new(path, proj_hash_put, NULL);
	/* The store holds the content; a tab keeps only its hash. */
	tab_drop_content(t);
	if (tab_add(s, t, active) == 0) {
		ok = 1;
		proj_update(s, req->id, pid_of(req));
	}
	ev = answer(req, event, ok);
	json_set_str(ev, "file_path", path);
	json_set_bool(ev, "set_active", active);
	if (!ok)
		json_set_str(ev, "error", "Too many open tabs");
	worker_reply(req->id, ev);
}

void
cmd_tab_close(struct worker_req *req)
{
	const char	*event = "project_state_tab_close_response";
	struct json_object *ev;
	struct sess	*s;
	struct tab	*t;
	const char	*id;
	size_t		 i;
	int		 ok = 0;

	if ((s = proj_sess_of(req, event, "tab_id")) == NULL)
		return;
	id = arg(req, "tab_id");
	if (id != NULL && (t = tab_by_id(s, id)) != NULL) {
		for (i = 0; s->tabs[i] != t; i++)
			;
		memmove(&s->tabs[i], &s->tabs[i + 1],
		    (s->ntabs - i - 1) * sizeof(s->tabs[0]));
		s->ntabs--;
		if (s->active == t)
			s->active = s->ntabs > 0 ? s->tabs[s->ntabs - 1] : NULL;
		tab_free(t);
		ok = 1;
		proj_update(s, req->id, pid_of(req));
	}
	ev = answer(req, event, ok);
	echo(ev, req, "tab_id");
	worker_reply(req->id, ev);
}

void
cmd_set_active_tab(struct worker_req *req)
{
	const char	*event = "project_state_set_active_tab_response";
	struct json_object *ev;
	struct sess	*s;
	struct tab	*t = NULL;
	const char	*id;
	int		 ok = 1;

	if ((s = proj_sess_of(req, event, "tab_id")) == NULL)
		return;
	if ((id = arg(req, "tab_id")) != NULL &&
	    (t = tab_by_id(s, id)) == NULL)
		ok = 0;
	if (ok) {
		s->active = t;
		proj_update(s, req->id, pid_of(req));
	}
	ev = answer(req, event, ok);
	echo(ev, req, "tab_id");
	worker_reply(req->id, ev);
}

/* ---- diff tabs ---- */

struct refs {
	const char	*path, *from, *to, *fhash, *thash;
};

static int
refs_get(struct worker_req *req, struct refs *r)
{
	static const char *const names[] = { "head", "staged", "working",
	    "commit" };
	enum repo_ref	 ref;

	r->path = arg(req, "file_path");
	r->from = arg(req, "from_ref");
	r->to = arg(req, "to_ref");
	r->fhash = arg(req, "from_hash");
	r->thash = arg(req, "to_hash");
	(void)names;
	if (r->path == NULL || *r->path == '\0') {
		worker_error(req->id, "file_path is required");
		return -1;
	}
	if (r->from == NULL || repo_ref_parse(r->from, &ref) == -1) {
		worker_error(req->id, "Invalid from_ref: %s", r->from ?
		    r->from : "None");
		return -1;
	}
	if (r->to == NULL || repo_ref_parse(r->to, &ref) == -1) {
		worker_error(req->id, "Invalid to_ref: %s", r->to ?
		    r->to : "None");
		return -1;
	}
	if (strcmp(r->from, "commit") == 0 && r->fhash == NULL) {
		worker_error(req->id, "from_hash is required when "
		    "from_ref='commit'");
		return -1;
	}
	if (strcmp(r->to, "commit") == 0 && r->thash == NULL) {
		worker_error(req->id, "to_hash is required when "
		    "to_ref='commit'");
		return -1;
	}
	return 0;
}

static int
side(struct proj *p, const char *ref, const char *path, const char *hash,
    char **buf, size_t *len)
{
	enum repo_ref	 r;
	char		 err[256];

	repo_ref_parse(ref, &r);
	if (repo_content(p->repo, r, path, hash, DIFF_SIDE_MAX, buf, len, err,
	    sizeof(err)) == -1) {
		log_debug("%s at %s: %s", path, ref, err);
		return -1;
	}
	return 0;
}

static void
diff_answer(struct worker_req *req, const char *event, int ok,
    const char *error)
{
	struct json_object	*ev = answer(req, event, ok);

	echo(ev, req, "file_path");
	echo(ev, req, "from_ref");
	echo(ev, req, "to_ref");
	echo(ev, req, "from_hash");
	echo(ev, req, "to_hash");
	if (error != NULL)
		json_set_str(ev, "error", error);
	worker_reply(req->id, ev);
}

void
cmd_diff_open(struct worker_req *req)
{
	const char		*event = "project_state_diff_open_response";
	struct tab_diff_spec	 spec;
	struct sess		*s;
	struct tab		*t;
	struct refs		 r;
	char			*a = NULL, *b = NULL;
	size_t			 alen, blen;
	int			 ok = 0;

	if ((s = proj_sess_of(req, event, "file_path")) == NULL ||
	    refs_get(req, &r) == -1)
		return;
	if (s->p->repo == NULL) {
		diff_answer(req, event, 0, "Not a git repository");
		return;
	}
	if (side(s->p, r.from, r.path, r.fhash, &a, &alen) == 0 &&
	    side(s->p, r.to, r.path, r.thash, &b, &blen) == 0) {
		memset(&spec, 0, sizeof(spec));
		spec.file_path = r.path;
		spec.from_ref = r.from;
		spec.to_ref = r.to;
		spec.from_hash = r.fhash;
		spec.to_hash = r.thash;
		spec.original = a;
		spec.original_len = alen;
		spec.modified = b;
		spec.modified_len = blen;
		t = tab_diff_new(&spec, proj_hash_put, NULL);
		tab_drop_content(t);
		ok = tab_add(s, t, 1) == 0;
		if (ok)
			proj_update(s, req->id, pid_of(req));
	}
	free(a);
	free(b);
	diff_answer(req, event, ok, ok ? NULL : "Unable to open the diff");
}

/*
 * A side of a diff tab: from the store while it holds it, else read
 * again at the tab's ref (the store is bounded; tabs keep only hashes).
 */
static char *
diff_side(struct proj *p, const char *hash, const char *ref,
    const char *path, const char *commit)
{
	const char	*c;
	char		*buf;
	size_t		 len;

	if (hash != NULL && (c = store_get(store_global(), hash, NULL)) !=
	    NULL)
		return xstrdup(c);
	if (p->repo == NULL || side(p, ref, path, commit, &buf, &len) == -1)
		return xstrdup("");
	return buf;
}

static char *
diff_content(struct proj *p, struct tab *t, const char *type)
{
	struct json_object	*o, *v;
	char			*out, *a, *b;

	if (strcmp(type, "original") == 0)
		return diff_side(p, t->original_hash, t->from_ref,
		    t->file_path, t->from_hash);
	if (strcmp(type, "modified") == 0)
		return diff_side(p, t->modified_hash, t->to_ref,
		    t->file_path, t->to_hash);
	v = tab_html_versions(t);
	if (strcmp(type, "html_diff") == 0)
		o = v ? v : json_object_new_object();
	else {
		a = diff_side(p, t->original_hash, t->from_ref, t->file_path,
		    t->from_hash);
		b = diff_side(p, t->modified_hash, t->to_ref, t->file_path,
		    t->to_hash);
		o = json_object_new_object();
		json_set_str(o, "original_content", a);
		json_set_str(o, "modified_content", b);
		json_object_object_add(o, "html_diff_versions", v);
		free(a);
		free(b);
	}
	out = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

void
cmd_diff_content_request(struct worker_req *req)
{
	const char		*event = "project_state_diff_content_response";
	struct json_object	*ev;
	struct sess		*s;
	struct refs		 r;
	const char		*type;
	char			*content;
	size_t			 i;

	if ((s = proj_sess_of(req, NULL, NULL)) == NULL ||
	    refs_get(req, &r) == -1)
		return;
	type = arg(req, "content_type");
	if (type == NULL || (strcmp(type, "original") != 0 &&
	    strcmp(type, "modified") != 0 && strcmp(type, "html_diff") != 0 &&
	    strcmp(type, "all") != 0)) {
		worker_error(req->id, "content_type must be one of: "
		    "['original', 'modified', 'html_diff', 'all']");
		return;
	}
	for (i = 0; i < s->ntabs; i++)
		if (tab_diff_matches(s->tabs[i], r.path, r.from, r.to,
		    r.fhash, r.thash))
			break;
	ev = answer(req, event, i < s->ntabs);
	json_set_str(ev, "file_path", r.path);
	json_set_str(ev, "from_ref", r.from);
	json_set_str(ev, "to_ref", r.to);
	json_set_str(ev, "content_type", type);
	if (r.fhash != NULL)
		json_set_str(ev, "from_hash", r.fhash);
	if (r.thash != NULL)
		json_set_str(ev, "to_hash", r.thash);
	if (i == s->ntabs) {
		json_set_str(ev, "error", "Diff tab not found");
		json_set_bool(ev, "chunked", 0);
	} else {
		content = diff_content(s->p, s->tabs[i], type);
		json_set_str(ev, "content", content);
		json_set_str(ev, "_chunk_field", "content");
		free(content);
	}
	worker_reply(req->id, ev);
}

/* ---- git ---- */

struct gitop {
	const char	*name;		/* stage, unstage, revert */
	const char	*all;		/* stage_all, … */
	const char	*fail;		/* "Failed to stage file" */
	int		 (*paths)(struct repo *, const char *const *, size_t,
			    char *, size_t);
	int		 (*every)(struct repo *, char *, size_t);
};

static const struct gitop ops[] = {
	{ "stage", "stage_all", "Failed to stage file", repo_stage,
	    repo_stage_all },
	{ "unstage", "unstage_all", "Failed to unstage file", repo_unstage,
	    repo_unstage_all },
	{ "revert", "revert_all", "Failed to revert file", repo_revert,
	    repo_revert_all },
};

/* The paths of file_paths, or file_path alone; n 0 when neither. */
static const char **
op_paths(struct worker_req *req, size_t *n)
{
	struct json_object	*arr = json_get(req->cmd, "file_paths");
	const char		**v, *one;
	size_t			  i;

	*n = 0;
	if (json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr) > 0) {
		*n = json_object_array_length(arr);
		v = xcalloc(*n, sizeof(*v));
		for (i = 0; i < *n; i++) {
			one = json_object_get_string(
			    json_object_array_get_idx(arr, i));
			if (one == NULL || strlen(one) != (size_t)
			    json_object_get_string_len(
			    json_object_array_get_idx(arr, i))) {
				free(v);
				*n = BAD_PATHS;
				return NULL;
			}
			v[i] = one;
		}
		return v;
	}
	if ((one = arg(req, "file_path")) == NULL)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v[0] = one;
	*n = 1;
	return v;
}

static void
git_op(struct worker_req *req, const struct gitop *op)
{
	struct json_object	*ev, *allv = json_get(req->cmd, op->all);
	struct sess		*s;
	const char		**paths = NULL;
	char			 event[64], err[512];
	size_t			 n = 0;
	int			 all, r;

	if ((s = proj_sess_of(req, NULL, NULL)) == NULL)
		return;
	all = json_object_is_type(allv, json_type_boolean) &&
	    json_object_get_boolean(allv);
	if (!all && (paths = op_paths(req, &n)) == NULL) {
		if (n == BAD_PATHS)
			worker_error(req->id, "file_paths must hold strings "
			    "without NUL bytes");
		else
			worker_error(req->id, "Either file_path, file_paths, "
			    "or %s must be provided", op->all);
		return;
	}
	if (s->p->repo == NULL) {
		worker_error(req->id, "No git repository found for this "
		    "project");
		free(paths);
		return;
	}
	r = all ? op->every(s->p->repo, err, sizeof(err)) :
	    op->paths(s->p->repo, paths, n, err, sizeof(err));
	free(paths);
	if (r == -1) {
		worker_error(req->id, "%s: %s", op->fail, err);
		return;
	}
	snprintf(event, sizeof(event), "project_state_git_%s_response",
	    op->name);
	ev = answer(req, event, 1);
	if (all)
		json_set_bool(ev, op->all, 1);
	else if (json_get(req->cmd, "file_paths") != NULL)
		echo(ev, req, "file_paths");
	else
		echo(ev, req, "file_path");
	pass_then_reply(s, req->id, ev);
}

void
cmd_git_stage(struct worker_req *req)
{
	git_op(req, &ops[0]);
}

void
cmd_git_unstage(struct worker_req *req)
{
	git_op(req, &ops[1]);
}

void
cmd_git_revert(struct worker_req *req)
{
	git_op(req, &ops[2]);
}

void
cmd_git_commit(struct worker_req *req)
{
	struct json_object	*ev;
	struct sess		*s;
	const char		*msg;
	char			 hash[REPO_HEX], err[512];
	int			 ok = 0;

	if ((s = proj_sess_of(req, NULL, NULL)) == NULL)
		return;
	msg = arg(req, "commit_message");
	if (msg == NULL || msg[strspn(msg, " \t\r\n")] == '\0') {
		worker_error(req->id, "commit_message is required");
		return;
	}
	if (s->p->repo == NULL)
		strlcpy_chk(err, "No git repository found for this project",
		    sizeof(err));
	else if (repo_commit(s->p->repo, msg, hash, err, sizeof(err)) == 0)
		ok = 1;
	ev = answer(req, "project_state_git_commit_response", ok);
	json_set_str(ev, "commit_message", msg);
	if (ok) {
		json_set_str(ev, "commit_hash", hash);
		pass_then_reply(s, req->id, ev);
		return;
	}
	json_set_str(ev, "error", err);
	json_object_object_add(ev, "commit_hash", NULL);
	worker_reply(req->id, ev);
}
