/*
 * items: the §6.3 item list. Every entry is stat'ed relative to its
 * directory's descriptor, so a rename of a parent during the scan cannot
 * make us look somewhere else.
 *
 * Sorting follows upstream's key (parent_path, not is_directory,
 * name.lower()). Python lowers all of Unicode; we lower ASCII only and
 * compare the other bytes as they are, which is code point order for
 * UTF-8. Names equal after lowering are ordered by their raw bytes
 * (upstream keeps directory order there, which is arbitrary anyway).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "git/items.h"

struct entry {
	char		*path;
	const char	*name;		/* inside path */
	const char	*parent;	/* the monitored folder, caller's */
	size_t		 seq;		/* scan order: the last copy wins */
	int		 is_dir;
	int		 has_size;
	int64_t		 size;
	double		 mtime;
	int		 drop;
	char		*status;
	int		 tracked, staged, ignored;
};

struct collect {
	struct entry	*v;
	size_t		 n, cap;
	int		 truncated;
};

/* The monitored set, sorted by path for bsearch. */
struct mset {
	struct item_folder	*v;
	size_t			 n;
};

char *
items_join(const char *dir, const char *name)
{
	size_t	 len = strlen(dir);
	char	*p;

	if (len == 0)
		return xstrdup(name);
	xasprintf(&p, "%s%s%s", dir, dir[len - 1] == '/' ? "" : "/", name);
	return p;
}

static int
skip_name(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strcmp(name, ".git") == 0;
}

/* path is root itself or below it, by path components. */
static int
under_root(const char *root, const char *path)
{
	size_t	len;

	if (root == NULL)
		return 1;
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (strncmp(root, path, len) != 0)
		return 0;
	return path[len] == '\0' || path[len] == '/' ||
	    (len == 1 && root[0] == '/');
}

static DIR *
open_dir(const char *path)
{
	DIR	*d;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	return d;
}

static double
mtime_of(const struct stat *st)
{
	/* As Python computes st_mtime. */
	return (double)st->st_mtim.tv_sec +
	    (double)st->st_mtim.tv_nsec * 1e-9;
}

static struct entry *
grow(struct collect *c)
{
	size_t	ncap;

	if (c->n == c->cap) {
		ncap = c->cap == 0 ? 256 : c->cap * 2;
		c->v = xreallocarray(c->v, ncap, sizeof(*c->v));
		c->cap = ncap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	return &c->v[c->n++];
}

static void
add_entry(struct collect *c, const char *folder, const char *name,
    const struct stat *st)
{
	struct entry	*e = grow(c);
	size_t		 flen;

	e->path = items_join(folder, name);
	flen = strlen(e->path) - strlen(name);
	e->name = e->path + flen;
	e->parent = folder;
	e->seq = c->n - 1;
	e->is_dir = S_ISDIR(st->st_mode);
	e->has_size = S_ISREG(st->st_mode);
	e->size = st->st_size;
	e->mtime = mtime_of(st);
}

static void
scan_folder(struct collect *c, const char *folder)
{
	struct dirent	*de;
	struct stat	 st;
	size_t		 count = 0;
	DIR		*d;

	if ((d = open_dir(folder)) == NULL) {
		log_debug("items: %s: %s", folder, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (skip_name(de->d_name))
			continue;
		if (count >= ITEMS_MAX_PER_FOLDER) {
			log_warnx("items: %s: more than %d entries, list cut",
			    folder, ITEMS_MAX_PER_FOLDER);
			c->truncated = 1;
			break;
		}
		if (c->n >= ITEMS_MAX_TOTAL) {
			log_warnx("items: more than %d entries in all, list "
			    "cut at %s", ITEMS_MAX_TOTAL, folder);
			c->truncated = 1;
			break;
		}
		/* Follows links, as scandir's is_dir() and stat() do. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1)
			continue;
		add_entry(c, folder, de->d_name, &st);
		count++;
	}
	closedir(d);
}

static int
cmp_path_seq(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	int			 r;

	if ((r = strcmp(x->path, y->path)) != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Of entries with the same path only the last scanned survives. */
static void
mark_duplicates(struct collect *c)
{
	size_t	i;

	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof(*c->v), cmp_path_seq);
	for (i = 0; i + 1 < c->n; i++)
		if (strcmp(c->v[i].path, c->v[i + 1].path) == 0)
			c->v[i].drop = 1;
}

static int
lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static int
cmp_lower(const char *a, const char *b)
{
	const unsigned char	*x = (const unsigned char *)a;
	const unsigned char	*y = (const unsigned char *)b;

	while (*x != '\0' && lower(*x) == lower(*y)) {
		x++;
		y++;
	}
	return lower(*x) - lower(*y);
}

static int
cmp_item(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	int			 r;

	if ((r = strcmp(x->parent, y->parent)) != 0)
		return r;
	if (x->is_dir != y->is_dir)
		return x->is_dir ? -1 : 1;
	if ((r = cmp_lower(x->name, y->name)) != 0)
		return r;
	return strcmp(x->name, y->name);
}

static int
cmp_folder(const void *a, const void *b)
{
	const struct item_folder	*x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Sorted copy of the monitored folders; a path expanded once is expanded. */
static void
mset_init(struct mset *m, const struct items_req *req)
{
	size_t	i, n = 0;

	m->v = xcalloc(req->nfolders + 1, sizeof(*m->v));
	for (i = 0; i < req->nfolders; i++)
		m->v[i] = req->folders[i];
	qsort(m->v, req->nfolders, sizeof(*m->v), cmp_folder);
	for (i = 0; i < req->nfolders; i++) {
		if (n > 0 && strcmp(m->v[n - 1].path, m->v[i].path) == 0) {
			m->v[n - 1].expanded |= m->v[i].expanded;
			continue;
		}
		m->v[n++] = m->v[i];
	}
	m->n = n;
}

static const struct item_folder *
mset_find(const struct mset *m, const char *path)
{
	struct item_folder	key;

	key.path = path;
	key.expanded = 0;
	return bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_folder);
}

static void
query_status(const struct items_req *req, struct entry *e)
{
	struct item_git	g;

	if (req->status == NULL)
		return;
	memset(&g, 0, sizeof(g));
	req->status(req->arg, e->path, e->is_dir, &g);
	if (g.git_status != NULL)
		e->status = xstrdup(g.git_status);
	e->tracked = g.is_tracked != 0;
	e->staged = g.is_staged;
	e->ignored = g.is_ignored != 0;
}

static void
set_staged(struct json_object *o, int staged)
{
	struct json_object	*v;

	if (staged == ITEM_STAGED_MIXED)
		v = json_object_new_string("mixed");
	else
		v = json_object_new_boolean(staged != ITEM_STAGED_NO);
	if (v == NULL)
		fatalx("%s: out of memory", __func__);
	json_object_object_add(o, "is_staged", v);
}

static struct json_object *
item_json(const struct entry *e, const struct mset *m)
{
	const struct item_folder	*f = NULL;
	struct json_object		*o;

	if (e->is_dir)
		f = mset_find(m, e->path);
	if ((o = json_object_new_object()) == NULL)
		fatalx("%s: out of memory", __func__);
	json_set_str(o, "name", e->name);
	json_set_str(o, "path", e->path);
	json_set_bool(o, "is_directory", e->is_dir);
	json_set_str(o, "parent_path", e->parent);
	if (e->has_size)
		json_set_int(o, "size", e->size);
	else
		json_object_object_add(o, "size", NULL);
	json_object_object_add(o, "modified_time",
	    json_object_new_double(e->mtime));
	json_set_bool(o, "is_git_tracked", e->tracked);
	json_set_str(o, "git_status", e->status);
	set_staged(o, e->staged);
	json_set_bool(o, "is_hidden", e->name[0] == '.');
	json_set_bool(o, "is_ignored", e->ignored);
	json_object_object_add(o, "children", NULL);
	json_set_bool(o, "is_expanded", f != NULL && f->expanded);
	json_set_bool(o, "is_loaded", !e->is_dir || f != NULL);
	return o;
}

static void
collect_free(struct collect *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].status);
	}
	free(c->v);
}

struct json_object *
items_build(const struct items_req *req, int *truncated)
{
	struct collect		 c;
	struct mset		 m;
	struct json_object	*arr;
	size_t			 i;

	memset(&c, 0, sizeof(c));
	mset_init(&m, req);
	for (i = 0; i < m.n; i++) {
		if (!under_root(req->root, m.v[i].path)) {
			log_debug("items: %s is outside %s", m.v[i].path,
			    req->root);
			continue;
		}
		scan_folder(&c, m.v[i].path);
	}
	mark_duplicates(&c);
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), cmp_item);
	if ((arr = json_object_new_array()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < c.n; i++) {
		if (c.v[i].drop)
			continue;
		query_status(req, &c.v[i]);
		json_object_array_add(arr, item_json(&c.v[i], &m));
	}
	if (truncated != NULL)
		*truncated = c.truncated;
	collect_free(&c);
	free(m.v);
	return arr;
}

/* A directory entry that is, or leads by links to, a directory. */
static int
is_subdir(DIR *d, const struct dirent *de)
{
	struct stat	st;

	if (de->d_type == DT_DIR)
		return 1;
	if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
	    S_ISDIR(st.st_mode);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

int
items_subdirs(const char *folder, char ***dirs, size_t *ndirs)
{
	struct dirent	*de;
	DIR		*d;
	char		**v = NULL;
	size_t		 n = 0, cap = 0;

	*dirs = NULL;
	*ndirs = 0;
	if ((d = open_dir(folder)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (skip_name(de->d_name) || !is_subdir(d, de))
			continue;
		if (n >= ITEMS_MAX_SUBDIRS) {
			log_warnx("items: %s: more than %d subdirectories",
			    folder, ITEMS_MAX_SUBDIRS);
			break;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = items_join(folder, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*dirs = v;
	*ndirs = n;
	return 0;
}

void
items_free_list(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
