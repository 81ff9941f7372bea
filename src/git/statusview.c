/*
 * repo status, what is read from it: git_status_summary and
 * git_detailed_status (reference §6.5) and the git fields of one item,
 * with the aggregation of a directory (§6.3).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <json-c/json.h>

#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

/* ---- summary and detailed status ------------------------------------ */

static int
is_untracked_line(unsigned int f)
{
	return (f & GIT_STATUS_WT_NEW) != 0 &&
	    (f & (ST_INDEX & ~GIT_STATUS_INDEX_DELETED)) == 0;
}

/* Porcelain letters of the tracked line of an entry, ' ' for none. */
static void
porcelain(unsigned int f, char *x, char *y)
{
	*x = ' ';
	*y = ' ';
	if (f & GIT_STATUS_INDEX_NEW)
		*x = 'A';
	else if (f & (GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_TYPECHANGE |
	    GIT_STATUS_INDEX_RENAMED))
		*x = 'M';
	else if (f & GIT_STATUS_INDEX_DELETED)
		*x = 'D';
	if (f & (GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_TYPECHANGE |
	    GIT_STATUS_WT_RENAMED | GIT_STATUS_WT_UNREADABLE))
		*y = 'M';
	else if (f & GIT_STATUS_WT_DELETED)
		*y = 'D';
	/* Conflicts are counted as modifications. */
	if ((f & GIT_STATUS_CONFLICTED) && *x == ' ' && *y == ' ')
		*x = 'M';
}

json_object *
repo_status_summary(const struct repo_status *st)
{
	json_object		*o;
	const struct repo_entry	*e, *last = NULL;
	int64_t			 mod = 0, del = 0, unt = 0;
	size_t			 i, lines = 0;
	char			 x, y;

	for (i = 0; i < st->n; i++) {
		e = &st->v[i];
		if (e->flags & GIT_STATUS_IGNORED)
			continue;
		porcelain(e->flags, &x, &y);
		if (x != ' ' || y != ' ') {
			lines++;
			if (x == 'A' || y == 'A')
				unt++;
			else if (x == 'M' || y == 'M')
				mod++;
			else if (x == 'D' || y == 'D')
				del++;
		}
		if (!is_untracked_line(e->flags))
			continue;
		/* One "??" line per collapsed directory. */
		if (last != NULL && last->ulen == e->ulen &&
		    strncmp(last->path, e->path, e->ulen) == 0)
			continue;
		last = e;
		lines++;
		unt++;
	}
	o = json_object_new_object();
	if (lines == 0) {
		json_object_object_add(o, "clean", json_object_new_int(0));
		return o;
	}
	json_object_object_add(o, "modified", json_object_new_int64(mod));
	json_object_object_add(o, "deleted", json_object_new_int64(del));
	json_object_object_add(o, "untracked", json_object_new_int64(unt));
	return o;
}

static void
change_add(json_object *arr, const struct repo_entry *e, const char *type,
    int staged, const char *folder)
{
	json_object	*c;
	const char	*name, *p = e->path;
	char		*abs, *trimmed = NULL;
	size_t		 len = strlen(p);

	if (len > 1 && p[len - 1] == '/') {
		trimmed = xstrndup(p, len - 1);
		name = strrchr(trimmed, '/');
		name = name == NULL ? trimmed : name + 1;
	} else {
		name = strrchr(p, '/');
		name = name == NULL ? p : name + 1;
	}
	xasprintf(&abs, "%s%s%s", folder,
	    ri_ends_with_slash(folder) ? "" : "/", p);
	c = json_object_new_object();
	json_object_object_add(c, "file_repo_path", json_object_new_string(p));
	json_object_object_add(c, "file_name", json_object_new_string(name));
	json_object_object_add(c, "file_abs_path",
	    json_object_new_string(abs));
	json_object_object_add(c, "change_type",
	    json_object_new_string(type));
	json_object_object_add(c, "content_hash",
	    strcmp(type, "deleted") != 0 && e->hashed ?
	    json_object_new_string(e->hex) : NULL);
	json_object_object_add(c, "is_staged",
	    json_object_new_boolean(staged));
	json_object_object_add(c, "diff_details", NULL);
	json_object_array_add(arr, c);
	free(abs);
	free(trimmed);
}

static const char *
staged_type(unsigned int f)
{
	if (f & GIT_STATUS_INDEX_NEW)
		return "added";
	if (f & GIT_STATUS_INDEX_DELETED)
		return "deleted";
	return "modified";
}

static const char *
unstaged_type(unsigned int f)
{
	if ((f & GIT_STATUS_WT_DELETED) && !(f & GIT_STATUS_CONFLICTED))
		return "deleted";
	return "modified";
}

static json_object *
detailed_make(const struct repo_status *st, const char *folder)
{
	json_object		*o, *staged, *unstaged, *untracked;
	const struct repo_entry	*e;
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "head_commit_hash", st != NULL &&
	    st->has_head ? json_object_new_string(st->head) : NULL);
	staged = json_object_new_array();
	unstaged = json_object_new_array();
	untracked = json_object_new_array();
	for (i = 0; st != NULL && i < st->n; i++) {
		e = &st->v[i];
		if (e->flags & GIT_STATUS_IGNORED)
			continue;
		if (e->flags & ST_INDEX)
			change_add(staged, e, staged_type(e->flags), 1,
			    folder);
		if (e->flags & (ST_WTCHANGE | GIT_STATUS_CONFLICTED))
			change_add(unstaged, e, unstaged_type(e->flags),
			    0, folder);
		if (e->flags & GIT_STATUS_WT_NEW)
			change_add(untracked, e, "untracked", 0, folder);
	}
	json_object_object_add(o, "staged_changes", staged);
	json_object_object_add(o, "unstaged_changes", unstaged);
	json_object_object_add(o, "untracked_files", untracked);
	return o;
}

json_object *
repo_status_detailed(const struct repo_status *st)
{
	return detailed_make(st, st->folder);
}

json_object *
repo_summary_none(void)
{
	return json_object_new_object();
}

json_object *
repo_detailed_none(void)
{
	return detailed_make(NULL, "");
}

/* ---- items ---------------------------------------------------------- */

const char *
repo_state_name(enum repo_state s)
{
	switch (s) {
	case REPO_STATE_CLEAN:
		return "clean";
	case REPO_STATE_MODIFIED:
		return "modified";
	case REPO_STATE_ADDED:
		return "added";
	case REPO_STATE_DELETED:
		return "deleted";
	case REPO_STATE_UNTRACKED:
		return "untracked";
	case REPO_STATE_IGNORED:
		return "ignored";
	case REPO_STATE_NONE:
		break;
	}
	return NULL;
}

void
repo_item_json(const struct repo_item *it, json_object *obj)
{
	const char	*name = repo_state_name(it->state);

	json_object_object_add(obj, "is_git_tracked",
	    json_object_new_boolean(it->is_tracked));
	json_object_object_add(obj, "git_status",
	    name != NULL ? json_object_new_string(name) : NULL);
	json_object_object_add(obj, "is_staged",
	    it->staged == REPO_STAGED_MIXED ? json_object_new_string("mixed") :
	    json_object_new_boolean(it->staged == REPO_STAGED_YES));
	json_object_object_add(obj, "is_ignored",
	    json_object_new_boolean(it->is_ignored));
}

/* rel itself, or a directory above it, was reported ignored. */
static int
item_ignored(const struct repo_status *st, const char *rel, int is_dir)
{
	const struct repo_entry	*e;
	char			 buf[PATH_MAX];
	size_t			 i;

	if (is_dir) {
		if (snprintf(buf, sizeof(buf), "%s/", rel) >= (int)sizeof(buf))
			return 0;
		e = ri_entry_find(st, buf);
	} else
		e = ri_entry_find(st, rel);
	if (e != NULL && (e->flags & GIT_STATUS_IGNORED))
		return 1;
	for (i = 0; rel[i] != '\0' && i + 2 < sizeof(buf); i++) {
		if (rel[i] != '/')
			continue;
		memcpy(buf, rel, i + 1);
		buf[i + 1] = '\0';
		if ((e = ri_entry_find(st, buf)) != NULL &&
		    (e->flags & GIT_STATUS_IGNORED))
			return 1;
	}
	return 0;
}

static int
staged_side(unsigned int f)
{
	return (f & (ST_INDEX | GIT_STATUS_CONFLICTED)) != 0;
}

static int
unstaged_side(unsigned int f)
{
	return (f & (ST_WTCHANGE | GIT_STATUS_CONFLICTED)) != 0;
}

static void
file_item(git_index *idx, const struct repo_status *st, const char *rel,
    struct repo_item *it)
{
	const struct repo_entry	*e = ri_entry_find(st, rel);
	unsigned int		 f = e != NULL ? e->flags : 0;
	int			 s = staged_side(f), u = unstaged_side(f);

	it->staged = s && u ? REPO_STAGED_MIXED :
	    s ? REPO_STAGED_YES : REPO_STAGED_NO;
	if (f & GIT_STATUS_WT_NEW) {
		it->state = REPO_STATE_UNTRACKED;
	} else if (s) {
		/* Upstream: a staged file not in HEAD is "added", untracked. */
		it->is_tracked = !(f & GIT_STATUS_INDEX_NEW);
		it->state = it->is_tracked ? REPO_STATE_MODIFIED :
		    REPO_STATE_ADDED;
	} else if (u) {
		it->is_tracked = 1;
		it->state = REPO_STATE_MODIFIED;
	} else if (idx != NULL && git_index_get_bypath(idx, rel, 0) != NULL) {
		it->is_tracked = 1;
		it->state = REPO_STATE_CLEAN;
	}
}

/* What a directory's entries add up to (upstream's batch rules). */
struct dirsum {
	int	 unt, mod, del, s, u, both;
};

static void
dirsum_add(struct dirsum *d, const struct repo_entry *e)
{
	char	 x, y;

	if (e->flags & GIT_STATUS_IGNORED)
		return;
	if (e->flags & GIT_STATUS_WT_NEW)
		d->unt = 1;
	porcelain(e->flags, &x, &y);
	if (x == 'A' || x == 'M' || y == 'M')
		d->mod = 1;
	else if (x == 'D' || y == 'D')
		d->del = 1;
	d->s |= staged_side(e->flags);
	d->u |= unstaged_side(e->flags);
	d->both |= staged_side(e->flags) && unstaged_side(e->flags);
}

/*
 * A directory, or a submodule (one gitlink entry at rel itself, as
 * upstream's "path == rel or under rel/" matches it).
 */
static void
dir_item(git_index *idx, const struct repo_status *st, const char *rel,
    struct repo_item *it)
{
	const struct repo_entry	*e;
	struct dirsum		 d;
	char			 prefix[PATH_MAX];
	size_t			 i, plen;
	int			 tracked;

	memset(&d, 0, sizeof(d));
	if (rel[0] == '\0')
		prefix[0] = '\0';
	else if (snprintf(prefix, sizeof(prefix), "%s/", rel) >=
	    (int)sizeof(prefix))
		return;
	plen = strlen(prefix);
	if (plen > 0 && (e = ri_entry_find(st, rel)) != NULL)
		dirsum_add(&d, e);
	for (i = ri_entry_lower(st, prefix); i < st->n; i++) {
		if (strncmp(st->v[i].path, prefix, plen) != 0)
			break;
		dirsum_add(&d, &st->v[i]);
	}
	it->staged = d.both || (d.s && d.u) ? REPO_STAGED_MIXED :
	    d.s ? REPO_STAGED_YES : REPO_STAGED_NO;
	if (plen == 0)
		tracked = idx != NULL && git_index_entrycount(idx) > 0;
	else
		tracked = idx != NULL && (ri_index_has_prefix(idx, prefix) ||
		    git_index_get_bypath(idx, rel, 0) != NULL);
	if (d.unt)
		it->state = REPO_STATE_UNTRACKED;
	else if (d.del)
		it->state = REPO_STATE_DELETED;
	else if (d.mod)
		it->state = REPO_STATE_MODIFIED;
	else if (tracked)
		it->state = REPO_STATE_CLEAN;
	it->is_tracked = it->state != REPO_STATE_NONE &&
	    it->state != REPO_STATE_UNTRACKED;
}

void
repo_item(struct repo *r, const struct repo_status *st, const char *rel,
    int is_dir, struct repo_item *it)
{
	git_index	*idx = NULL;

	memset(it, 0, sizeof(*it));
	if (item_ignored(st, rel, is_dir)) {
		it->state = REPO_STATE_IGNORED;
		it->is_ignored = 1;
		return;
	}
	if (git_repository_index(&idx, r->git) != 0)
		idx = NULL;
	if (is_dir)
		dir_item(idx, st, rel, it);
	else
		file_item(idx, st, rel, it);
	git_index_free(idx);
}
