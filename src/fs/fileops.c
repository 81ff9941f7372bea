/*
 * fileops: file_write, directory_list, file_info, file_delete,
 * file_create, folder_create, file_rename (reference §4.2–4.7). Each
 * resolves its path once through fspath and works on descriptors.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"
#include "fs/atomic.h"
#include "fs/fileops.h"
#include "fs/fspath.h"
#include "fs/fsreq.h"

#define LIST_MAX_ENTRIES	(1024 * 1024)
#define LIST_MAX_LIMIT		1000
#define DELETE_MAX_DEPTH	256
#define SYMLINK_MAX_HOPS	40

/* ---- file_write ---- */

/* Where a symlink at the last component points, as a path string. */
static int
next_hop(int dfd, const char *name, const char *cur, char *out,
    size_t outlen)
{
	char	 link[FSPATH_MAX], dir[FSPATH_MAX];
	ssize_t	 n;

	if ((n = readlinkat(dfd, name, link, sizeof(link) - 1)) == -1)
		return -1;
	link[n] = '\0';
	if (link[0] == '/')
		return strlcpy_chk(out, link, outlen);
	fspath_dirname(cur, dir, sizeof(dir));
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, link) >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
fileops_write_target(const char *path, int mkdirs, char *name,
    size_t namelen)
{
	char		 cur[FSPATH_MAX], dir[FSPATH_MAX];
	struct stat	 sb;
	int		 dfd, hops;

	if (strlcpy_chk(cur, path, sizeof(cur)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (hops = 0; hops < SYMLINK_MAX_HOPS; hops++) {
		dfd = fspath_parent(cur, name, namelen);
		if (dfd == -1 && errno == ENOENT && mkdirs) {
			fspath_dirname(cur, dir, sizeof(dir));
			if (fspath_mkdirs(dir) == -1)
				return -1;
			dfd = fspath_parent(cur, name, namelen);
		}
		if (dfd == -1)
			return -1;
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISLNK(sb.st_mode))
			return dfd;
		/* Write through the link, as open(2) would, but re-checked. */
		if (next_hop(dfd, name, cur, cur, sizeof(cur)) == -1) {
			close(dfd);
			return -1;
		}
		close(dfd);
	}
	errno = ELOOP;
	return -1;
}

static int
check_mtime(struct worker_req *req, const char *path)
{
	struct json_object	*v;
	struct stat		 sb;
	char			 cur[64], exp[64];
	double			 want, have;
	int			 fd;

	if (!json_object_object_get_ex(req->cmd, "expected_mtime", &v) ||
	    v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int)) {
		worker_error(req->id, "expected_mtime must be a number");
		return -1;
	}
	want = json_object_get_double(v);
	if ((fd = fspath_open(path, O_PATH, 0)) == -1 || fstat(fd, &sb) == -1) {
		fsreq_oserror(req, errno, path, "File not found: %s",
		    "Failed to write file: ");
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	have = fsreq_time(&sb.st_mtim);
	if (have == want)
		return 0;
	fsreq_float(have, cur, sizeof(cur));
	fsreq_float(want, exp, sizeof(exp));
	worker_error(req->id, "File was modified on disk (current %s != "
	    "expected %s)", cur, exp);
	return -1;
}

void
cmd_file_write(struct worker_req *req)
{
	struct json_object	*ev;
	const char		*path, *content;
	char			 name[NAME_MAX + 1];
	size_t			 len;
	int			 dfd;

	if (fsreq_need(req, "path", &path) == -1 ||
	    fsreq_str(req, "content", &content, &len) == -1 ||
	    check_mtime(req, path) == -1)
		return;
	if (content == NULL)
		content = "";
	if ((dfd = fileops_write_target(path, 1, name, sizeof(name))) == -1 ||
	    atomic_write(dfd, name, content, len, 0) == -1) {
		fsreq_oserror(req, errno, path, NULL, "Failed to write file: ");
		if (dfd != -1)
			close(dfd);
		return;
	}
	close(dfd);
	ev = json_event_new("file_write_response");
	json_set_str(ev, "path", path);
	json_set_int(ev, "bytes_written", (int64_t)len);
	json_set_bool(ev, "success", 1);
	worker_reply(req->id, ev);
}

/* ---- directory_list ---- */

struct entry {
	char		*name;
	int		 stated;
	struct stat	 sb;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

static const char *
perms(mode_t mode, char *buf, size_t len)
{
	snprintf(buf, len, "%03o", (unsigned int)(mode & 0777));
	return buf;
}

static struct json_object *
list_item(const struct entry *e)
{
	struct json_object	*o = json_object_new_object();
	char			 pb[8];

	json_set_str(o, "name", e->name);
	json_set_bool(o, "is_dir", S_ISDIR(e->sb.st_mode));
	json_set_bool(o, "is_file", S_ISREG(e->sb.st_mode));
	json_set_int(o, "size", e->sb.st_size);
	json_object_object_add(o, "modified",
	    json_object_new_double(fsreq_time(&e->sb.st_mtim)));
	json_set_str(o, "permissions", perms(e->sb.st_mode, pb, sizeof(pb)));
	return o;
}

/* Every visible, stat-able entry, sorted by name. -1 with errno. */
static int
list_read(int fd, int hidden, struct entry **out, size_t *nout)
{
	struct entry	*v = NULL;
	struct dirent	*de;
	DIR		*d;
	size_t		 n = 0, cap = 0;
	int		 dfd;

	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (!hidden && de->d_name[0] == '.'))
			continue;
		if (n == LIST_MAX_ENTRIES) {
			errno = EFBIG;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		/*
		 * Follows links, as upstream; broken ones are left out, so
		 * links (and types the file system does not report) are
		 * checked now. The rest is stat'ed only when on the page.
		 */
		v[n].stated = de->d_type == DT_LNK || de->d_type == DT_UNKNOWN;
		if (v[n].stated && fstatat(fd, de->d_name, &v[n].sb, 0) == -1)
			continue;
		v[n++].name = xstrdup(de->d_name);
	}
	closedir(d);
	*out = v;
	*nout = n;
	if (errno != 0)
		return -1;
	qsort(v, n, sizeof(*v), entry_cmp);
	return 0;
}

static void
list_free(struct entry *v, size_t n)
{
	while (n > 0)
		free(v[--n].name);
	free(v);
}

static void
list_reply(struct worker_req *req, int fd, const char *path,
    struct entry *v, size_t n, int64_t offset, int64_t limit)
{
	struct json_object	*ev, *items = json_object_new_array();
	size_t			 i, end;

	end = (uint64_t)offset >= n ? n : (size_t)offset;
	for (i = end; i < n && (limit < 0 || i - end < (size_t)limit); i++) {
		/* Removed since the directory was read: no type, no size. */
		if (!v[i].stated && fstatat(fd, v[i].name, &v[i].sb, 0) == -1)
			memset(&v[i].sb, 0, sizeof(v[i].sb));
		json_object_array_add(items, list_item(&v[i]));
	}
	ev = json_event_new("directory_list_response");
	json_set_str(ev, "path", path);
	json_object_object_add(ev, "items", items);
	json_set_int(ev, "count", (int64_t)(i - end));
	json_set_int(ev, "total_count", (int64_t)n);
	json_set_int(ev, "offset", offset);
	json_object_object_add(ev, "limit", limit < 0 ? NULL :
	    json_object_new_int64(limit));
	json_set_bool(ev, "has_more", n > i);
	worker_reply(req->id, ev);
}

void
cmd_directory_list(struct worker_req *req)
{
	struct entry	*v = NULL;
	const char	*path;
	size_t		 n = 0;
	int64_t		 offset = 0, limit = -1;
	int		 fd, save;

	if (fsreq_str(req, "path", &path, NULL) == -1)
		return;
	if (path == NULL || *path == '\0')
		path = ".";
	if (!fsreq_int(req, "offset", &offset) || offset < 0)
		offset = 0;
	if (fsreq_int(req, "limit", &limit))
		limit = limit < 1 ? 1 : limit > LIST_MAX_LIMIT ?
		    LIST_MAX_LIMIT : limit;
	if ((fd = fspath_open(path, O_RDONLY | O_DIRECTORY, 0)) == -1) {
		save = errno;
		if (save == ENOTDIR)
			worker_error(req->id, "Path is not a directory: %s",
			    path);
		else
			fsreq_oserror(req, save, path,
			    "Directory not found: %s", NULL);
		return;
	}
	if (list_read(fd, fsreq_bool(req, "show_hidden", 0), &v, &n) == -1) {
		save = errno;
		if (save == EFBIG)
			worker_error(req->id, "Directory has more than %d "
			    "entries: %s", LIST_MAX_ENTRIES, path);
		else
			fsreq_oserror(req, save, path, NULL, NULL);
	} else
		list_reply(req, fd, path, v, n, offset, limit);
	list_free(v, n);
	close(fd);
}

/* ---- file_info ---- */

static int
is_symlink(const char *path)
{
	struct stat	 sb;
	char		 name[NAME_MAX + 1];
	int		 dfd, r;

	if ((dfd = fspath_parent(path, name, sizeof(name))) == -1)
		return 0;
	r = fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(sb.st_mode);
	close(dfd);
	return r;
}

void
cmd_file_info(struct worker_req *req)
{
	struct json_object	*ev;
	struct stat		 sb;
	const char		*path;
	char			 pb[8];
	int			 fd;

	if (fsreq_need(req, "path", &path) == -1)
		return;
	ev = json_event_new("file_info_response");
	json_set_str(ev, "path", path);
	if ((fd = fspath_open(path, O_PATH, 0)) == -1 || fstat(fd, &sb) == -1) {
		if (errno == ENOENT) {
			json_set_bool(ev, "exists", 0);
			worker_reply(req->id, ev);
		} else {
			json_object_put(ev);
			fsreq_oserror(req, errno, path, NULL, NULL);
		}
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	json_set_bool(ev, "exists", 1);
	json_set_bool(ev, "is_file", S_ISREG(sb.st_mode));
	json_set_bool(ev, "is_dir", S_ISDIR(sb.st_mode));
	json_set_bool(ev, "is_symlink", is_symlink(path));
	json_set_int(ev, "size", sb.st_size);
	json_object_object_add(ev, "modified",
	    json_object_new_double(fsreq_time(&sb.st_mtim)));
	json_object_object_add(ev, "accessed",
	    json_object_new_double(fsreq_time(&sb.st_atim)));
	json_object_object_add(ev, "created",
	    json_object_new_double(fsreq_time(&sb.st_ctim)));
	json_set_str(ev, "permissions", perms(sb.st_mode, pb, sizeof(pb)));
	json_set_int(ev, "owner_uid", sb.st_uid);
	json_set_int(ev, "group_gid", sb.st_gid);
	worker_reply(req->id, ev);
}

/* ---- file_delete ---- */

static int	rm_tree(int, const char *, int);

static int
rm_entries(int fd, int depth)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 dfd, isdir, r = 0;

	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN)
			isdir = fstatat(fd, de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
		if (isdir)
			r = rm_tree(fd, de->d_name, depth + 1);
		else
			r = unlinkat(fd, de->d_name, 0);
		if (r == -1 && errno == ENOENT)
			r = 0;
	}
	closedir(d);
	return r;
}

/* rm -r on descriptors: a symlink inside is removed, never followed. */
static int
rm_tree(int dfd, const char *name, int depth)
{
	int	 fd, pass, r = -1, save;

	if (depth > DELETE_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	/* Entries removed while reading may hide others: go again. */
	for (pass = 0; pass < 3; pass++) {
		if (rm_entries(fd, depth) == -1)
			break;
		if ((r = unlinkat(dfd, name, AT_REMOVEDIR)) == 0 ||
		    errno != ENOTEMPTY)
			break;
	}
	save = errno;
	close(fd);
	errno = save;
	return r;
}

static void
delete_reply(struct worker_req *req, const char *path, int dir)
{
	struct json_object	*ev = json_event_new("file_delete_response");

	json_set_str(ev, "path", path);
	json_set_str(ev, "deleted_type", dir ? "directory" : "file");
	json_set_bool(ev, "success", 1);
	worker_reply(req->id, ev);
}

void
cmd_file_delete(struct worker_req *req)
{
	struct stat	 sb;
	const char	*path;
	char		 name[NAME_MAX + 1];
	int		 dfd, dir, r;

	if (fsreq_need(req, "path", &path) == -1)
		return;
	if ((dfd = fspath_parent(path, name, sizeof(name))) == -1 ||
	    fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		fsreq_oserror(req, errno, path, "Path does not exist: %s",
		    "Failed to delete: ");
		if (dfd != -1)
			close(dfd);
		return;
	}
	if ((dir = S_ISDIR(sb.st_mode)) && fsreq_bool(req, "recursive", 0))
		r = rm_tree(dfd, name, 0);
	else
		r = unlinkat(dfd, name, dir ? AT_REMOVEDIR : 0);
	if (r == -1 && (errno == ENOTEMPTY || errno == EEXIST))
		worker_error(req->id, "Directory not empty (use "
		    "recursive=True): %s", path);
	else if (r == -1)
		fsreq_oserror(req, errno, path, "Path not found: %s",
		    "Failed to delete: ");
	else
		delete_reply(req, path, dir);
	close(dfd);
}

/* ---- file_create, folder_create ---- */

/* The parent directory of a new entry; errors as upstream words them. */
static int
open_parent_dir(struct worker_req *req, const char *parent)
{
	int	 fd, save;

	if ((fd = fspath_open(parent, O_PATH | O_DIRECTORY, 0)) != -1)
		return fd;
	save = errno;
	if (save == ENOTDIR)
		worker_error(req->id, "Parent path is not a directory: %s",
		    parent);
	else
		fsreq_oserror(req, save, parent,
		    "Parent directory does not exist: %s", NULL);
	return -1;
}

static void
create_reply(struct worker_req *req, const char *what, const char *parent,
    const char *name)
{
	struct json_object	*ev;
	char			 key[32], *full = fsreq_join(parent, name);

	snprintf(key, sizeof(key), "%s_create_response", what);
	ev = json_event_new(key);
	json_set_str(ev, "parent_path", parent);
	snprintf(key, sizeof(key), "%s_name", what);
	json_set_str(ev, key, name);
	snprintf(key, sizeof(key), "%s_path", what);
	json_set_str(ev, key, full);
	json_set_bool(ev, "success", 1);
	worker_reply(req->id, ev);
	free(full);
}

void
cmd_file_create(struct worker_req *req)
{
	const char	*parent, *name, *content;
	size_t		 len;
	int		 dfd;

	if (fsreq_need(req, "parent_path", &parent) == -1 ||
	    fsreq_need(req, "file_name", &name) == -1 ||
	    fsreq_str(req, "content", &content, &len) == -1)
		return;
	if (!fspath_name_ok(name)) {
		worker_error(req->id, "Invalid file name");
		return;
	}
	if ((dfd = open_parent_dir(req, parent)) == -1)
		return;
	if (atomic_write(dfd, name, content ? content : "", len,
	    ATOMIC_NOREPLACE) == 0)
		create_reply(req, "file", parent, name);
	else if (errno == EEXIST)
		worker_error(req->id, "File already exists: %s", name);
	else
		fsreq_oserror(req, errno, parent, NULL, "Failed to create "
		    "file: ");
	close(dfd);
}

void
cmd_folder_create(struct worker_req *req)
{
	const char	*parent, *name;
	int		 dfd;

	if (fsreq_need(req, "parent_path", &parent) == -1 ||
	    fsreq_need(req, "folder_name", &name) == -1)
		return;
	if (!fspath_name_ok(name)) {
		worker_error(req->id, "Invalid folder name");
		return;
	}
	if ((dfd = open_parent_dir(req, parent)) == -1)
		return;
	if (mkdirat(dfd, name, 0777) == 0)
		create_reply(req, "folder", parent, name);
	else if (errno == EEXIST)
		worker_error(req->id, "Folder already exists: %s", name);
	else
		fsreq_oserror(req, errno, parent, NULL, "Failed to create "
		    "folder: ");
	close(dfd);
}

/* ---- file_rename ---- */

static int
rename_noreplace(int dfd, const char *from, const char *to)
{
	struct stat	 sb;

	if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	/* The file system cannot refuse for us: check, then rename. */
	if (fstatat(dfd, to, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dfd, from, dfd, to);
}

static void
rename_reply(struct worker_req *req, const char *old, const char *new_name,
    int dfd)
{
	struct json_object	*ev = json_event_new("file_rename_response");
	struct stat		 sb;
	char			 dir[FSPATH_MAX], *full;

	fspath_dirname(old, dir, sizeof(dir));
	full = strchr(old, '/') == NULL ? xstrdup(new_name) :
	    fsreq_join(dir, new_name);
	json_set_str(ev, "old_path", old);
	json_set_str(ev, "new_path", full);
	json_set_str(ev, "new_name", new_name);
	json_set_bool(ev, "is_directory", fstatat(dfd, new_name, &sb, 0) == 0 &&
	    S_ISDIR(sb.st_mode));
	json_set_bool(ev, "success", 1);
	worker_reply(req->id, ev);
	free(full);
}

void
cmd_file_rename(struct worker_req *req)
{
	struct stat	 sb;
	const char	*old, *new_name;
	char		 name[NAME_MAX + 1];
	int		 dfd;

	if (fsreq_need(req, "old_path", &old) == -1 ||
	    fsreq_need(req, "new_name", &new_name) == -1)
		return;
	if (!fspath_name_ok(new_name)) {
		worker_error(req->id, "Invalid new name");
		return;
	}
	if ((dfd = fspath_parent(old, name, sizeof(name))) == -1 ||
	    fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		fsreq_oserror(req, errno, old, "Path does not exist: %s",
		    "Failed to rename: ");
		if (dfd != -1)
			close(dfd);
		return;
	}
	if (rename_noreplace(dfd, name, new_name) == 0)
		rename_reply(req, old, new_name, dfd);
	else if (errno == EEXIST || errno == ENOTEMPTY)
		worker_error(req->id, "Target already exists: %s", new_name);
	else
		fsreq_oserror(req, errno, old, NULL, "Failed to rename: ");
	close(dfd);
}
