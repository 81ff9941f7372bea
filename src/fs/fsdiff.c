/*
 * fsdiff: the diff commands. Everything is parsed and every directive
 * checked before the first file is touched; then each file is patched
 * and written atomically on its own, so one bad hunk costs one file.
 * Directive paths are resolved beneath the base directory by the
 * kernel; ordinary diff paths follow the AllowedRoots policy.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "diffhtml.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"
#include "fs/atomic.h"
#include "fs/diff.h"
#include "fs/fileops.h"
#include "fs/fsdiff.h"
#include "fs/fspath.h"
#include "fs/fsreq.h"
#include "fs/patch.h"

struct dctx {
	struct worker_req	*req;
	int			 preview;
	char			 base[FSPATH_MAX];
	int			 basefd;
	uint64_t		 maxsize;
	struct json_object	*list;		/* results or previews */
	size_t			 nok, nfail;
	char			 err[1024];
};

/* A whole file, at most max bytes. -1 with errno (EFBIG: too big). */
static int
slurp(int fd, uint64_t max, char **bufp, size_t *lenp)
{
	struct stat	 sb;
	char		*buf;
	size_t		 len = 0, cap;
	ssize_t		 n;

	if (fstat(fd, &sb) == -1)
		return -1;
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if ((uint64_t)sb.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	cap = (size_t)sb.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

static void
set_err(struct dctx *c, const char *path, int err)
{
	if (fspath_denied(err))
		snprintf(c->err, sizeof(c->err), "Access denied: %s is "
		    "outside AllowedRoots", path);
	else if (err == EFBIG)
		snprintf(c->err, sizeof(c->err), "File is too large to patch: "
		    "%s", path);
	else if (err == ENOENT)
		snprintf(c->err, sizeof(c->err), "File does not exist: %s",
		    path);
	else if (err == EACCES || err == EPERM)
		snprintf(c->err, sizeof(c->err), "Permission denied: %s", path);
	else
		snprintf(c->err, sizeof(c->err), "[Errno %d] %s: '%s'", err,
		    strerror(err), path);
}

/* ---- results ---- */

static void
add_notes(struct json_object *o, const struct patch_out *po)
{
	struct json_object	*notes;
	size_t			 i;

	if (po == NULL || po->nnotes == 0)
		return;
	notes = json_object_new_array();
	for (i = 0; i < po->nnotes; i++)
		json_object_array_add(notes,
		    json_object_new_string(po->notes[i]));
	json_object_object_add(o, "heuristic_adjustments", notes);
}

static void
add_applied(struct dctx *c, const char *path, const char *action,
    size_t bytes, const struct patch_out *po)
{
	struct json_object	*o = json_object_new_object();

	json_set_str(o, "path", path);
	json_set_str(o, "status", "applied");
	json_set_str(o, "action", action);
	json_set_int(o, "bytes_written", (int64_t)bytes);
	add_notes(o, po);
	json_object_array_add(c->list, o);
	c->nok++;
}

static void
add_failed(struct dctx *c, const char *path, const char *display,
    long line)
{
	struct json_object	*o = json_object_new_object();

	json_set_str(o, "path", c->preview ? path : display);
	if (c->preview)
		json_set_str(o, "relative_path", display);
	json_set_str(o, "status", "error");
	json_set_str(o, "error", c->err);
	if (line > 0 && !c->preview)
		json_set_int(o, "line", line);
	json_object_array_add(c->list, o);
	c->nfail++;
}

static void
add_preview(struct dctx *c, const char *path, const char *display,
    const char *action, const char *old, size_t oldlen, const char *new,
    size_t newlen, const struct patch_out *po)
{
	struct json_object	*o = json_object_new_object(), *v;
	const char		*label = strrchr(path, '/');
	char			*minimal, *full;
	int			 differs;

	label = label ? label + 1 : path;
	diffhtml_render_both(old, oldlen, new, newlen, label, &minimal, &full,
	    &differs);
	json_set_str(o, "path", path);
	json_set_str(o, "relative_path", display);
	json_set_str(o, "status", "ready");
	json_set_str(o, "html", minimal);
	v = json_object_new_object();
	json_set_str(v, "minimal", minimal);
	json_set_str(v, "full", full);
	json_object_object_add(o, "html_versions", v);
	json_set_bool(o, "has_full", differs);
	json_set_str(o, "action", action);
	add_notes(o, po);
	json_object_array_add(c->list, o);
	c->nok++;
	free(minimal);
	free(full);
}

/* ---- ordinary file diffs ---- */

static char *
target_path(struct dctx *c, const char *p)
{
	return p[0] == '/' ? xstrdup(p) : fsreq_join(c->base, p);
}

/* The current content, or none (ENOENT). */
static int
load(const char *path, uint64_t max, char **buf, size_t *len)
{
	int	 fd, r, save;

	if ((fd = fspath_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0)) ==
	    -1)
		return -1;
	r = slurp(fd, max, buf, len);
	save = errno;
	close(fd);
	errno = save;
	return r;
}

static int
store(const char *path, const char *data, size_t len)
{
	char	 name[NAME_MAX + 1];
	int	 dfd, r, save;

	if ((dfd = fileops_write_target(path, 1, name, sizeof(name))) == -1)
		return -1;
	r = atomic_write(dfd, name, data, len, 0);
	save = errno;
	close(dfd);
	errno = save;
	return r;
}

static int
remove_file(const char *path)
{
	char	 name[NAME_MAX + 1];
	int	 dfd, r, save;

	if ((dfd = fspath_parent(path, name, sizeof(name))) == -1)
		return -1;
	r = unlinkat(dfd, name, 0);
	save = errno;
	close(dfd);
	errno = save;
	return r;
}

static const char *
action_of(const struct diff_file *f, int existed)
{
	if (f->new_path == NULL)
		return "deleted";
	if (!existed)
		return "created";
	return "modified";
}

/* Write the patched result; a rename also removes the old name. */
static int
commit_file(struct dctx *c, const struct diff_file *f, const char *target,
    const char *oldpath, const struct patch_out *po, int existed)
{
	if (f->new_path == NULL) {
		if (remove_file(target) == -1)
			goto fail;
		add_applied(c, target, "deleted", 0, po);
		return 0;
	}
	if (store(target, po->data, po->len) == -1)
		goto fail;
	add_applied(c, target, action_of(f, existed), po->len, po);
	if (oldpath != NULL && strcmp(oldpath, target) != 0) {
		if (remove_file(oldpath) == -1) {
			set_err(c, oldpath, errno);
			add_failed(c, oldpath, f->old_path, 0);
			return -1;
		}
		add_applied(c, oldpath, "deleted", 0, NULL);
	}
	return 0;
fail:
	set_err(c, target, errno);
	add_failed(c, target, f->new_path ? f->new_path : f->old_path, 0);
	return -1;
}

static void
do_file(struct dctx *c, const struct diff_file *f)
{
	struct patch_out	 po;
	const char		*shown = f->new_path ? f->new_path : f->old_path;
	char			*target = target_path(c, shown), *src = NULL;
	char			*old = NULL;
	size_t			 oldlen = 0;
	int			 existed = 1;

	memset(&po, 0, sizeof(po));
	/* A rename reads the old name; everything else the target. */
	if (f->old_path != NULL && f->new_path != NULL &&
	    strcmp(f->old_path, f->new_path) != 0)
		src = target_path(c, f->old_path);
	if (load(src ? src : target, c->maxsize, &old, &oldlen) == -1) {
		if (errno != ENOENT || f->old_path != NULL) {
			set_err(c, src ? src : target, errno);
			add_failed(c, target, shown, 0);
			goto out;
		}
		existed = 0;
	}
	if (patch_apply(old, oldlen, f, shown, &po) == -1) {
		strlcpy_chk(c->err, po.err, sizeof(c->err));
		add_failed(c, target, shown, po.err_line);
		goto out;
	}
	if (c->preview)
		add_preview(c, target, shown, f->new_path == NULL ? "deleted" :
		    existed ? "modified" : "added", old ? old : "", oldlen,
		    f->new_path ? po.data : "", f->new_path ? po.len : 0, &po);
	else
		commit_file(c, f, target, src, &po, existed);
out:
	patch_out_free(&po);
	free(old);
	free(target);
	free(src);
}

/* ---- inline directives ---- */

static int
beneath_load(struct dctx *c, const char *rel, char **buf, size_t *len)
{
	int	 fd, r, save;

	if ((fd = fspath_beneath_open(c->basefd, rel, O_RDONLY | O_NONBLOCK |
	    O_NOCTTY, 0)) == -1)
		return -1;
	r = slurp(fd, c->maxsize, buf, len);
	save = errno;
	close(fd);
	errno = save;
	return r;
}

static int
beneath_exists(struct dctx *c, const char *rel)
{
	char		 name[NAME_MAX + 1];
	struct stat	 sb;
	int		 dfd, r;

	if ((dfd = fspath_beneath_parent(c->basefd, rel, name, sizeof(name)))
	    == -1)
		return errno == ENOENT ? 0 : -1;
	r = fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return r;
}

static int
directive_err(struct dctx *c, const char *rel, int err)
{
	char	*abs = fsreq_join(c->base, rel);

	if (err == EXDEV)
		snprintf(c->err, sizeof(c->err), "Invalid inline directive: "
		    "Path escapes project root: %s", rel);
	else if (err == ENOENT)
		snprintf(c->err, sizeof(c->err), "Invalid inline directive: "
		    "File does not exist: %s", abs);
	else if (err == EEXIST)
		snprintf(c->err, sizeof(c->err), "Invalid inline directive: "
		    "Destination already exists: %s", abs);
	else
		snprintf(c->err, sizeof(c->err), "Invalid inline directive: "
		    "Unable to read file: %s", abs);
	free(abs);
	return -1;
}

/* Before anything is written: every source readable, no target taken. */
static int
check_directives(struct dctx *c, const struct directive *d, size_t n)
{
	char	*buf;
	size_t	 i, len;
	int	 e;

	for (i = 0; i < n; i++) {
		if (beneath_load(c, d[i].src, &buf, &len) == -1)
			return directive_err(c, d[i].src, errno);
		free(buf);
		if (d[i].kind != DIRECTIVE_MOVE)
			continue;
		if ((e = beneath_exists(c, d[i].dst)) == -1)
			return directive_err(c, d[i].dst, errno);
		if (e == 1)
			return directive_err(c, d[i].dst, EEXIST);
	}
	return 0;
}

static int
beneath_mkdirs(int basefd, const char *rel)
{
	char	 dir[FSPATH_MAX], name[NAME_MAX + 1], *p;
	int	 dfd, r;

	if (strlcpy_chk(dir, rel, sizeof(dir)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((p = strrchr(dir, '/')) == NULL)
		return 0;
	*p = '\0';
	for (p = dir; p != NULL; p = strchr(p + 1, '/')) {
		if (*p == '/')
			*p = '\0';
		dfd = fspath_beneath_parent(basefd, dir, name, sizeof(name));
		if (dfd == -1)
			return -1;
		r = mkdirat(dfd, name, 0777);
		close(dfd);
		if (r == -1 && errno != EEXIST)
			return -1;
		if (p != dir)
			*p = '/';
	}
	return 0;
}

static int
directive_move(struct dctx *c, const struct directive *d, size_t *size)
{
	char	 sname[NAME_MAX + 1], dname[NAME_MAX + 1], *buf;
	size_t	 len;
	int	 sfd = -1, dfd = -1, r = -1;

	if (beneath_load(c, d->src, &buf, &len) == -1)
		return -1;
	*size = len;
	if (beneath_mkdirs(c->basefd, d->dst) == -1 ||
	    (sfd = fspath_beneath_parent(c->basefd, d->src, sname,
	    sizeof(sname))) == -1 ||
	    (dfd = fspath_beneath_parent(c->basefd, d->dst, dname,
	    sizeof(dname))) == -1)
		goto out;
	r = renameat2(sfd, sname, dfd, dname, RENAME_NOREPLACE);
	/* Another file system, or no RENAME_NOREPLACE: copy, then remove. */
	if (r == -1 && (errno == EXDEV || errno == EINVAL) &&
	    (r = atomic_write(dfd, dname, buf, len, ATOMIC_NOREPLACE)) == 0)
		r = unlinkat(sfd, sname, 0);
out:
	free(buf);
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	return r;
}

static void
do_directive(struct dctx *c, const struct directive *d)
{
	char	*src = fsreq_join(c->base, d->src), *dst = NULL, *buf = NULL;
	char	 name[NAME_MAX + 1];
	size_t	 len = 0;
	int	 dfd, r;

	if (d->kind == DIRECTIVE_MOVE)
		dst = fsreq_join(c->base, d->dst);
	if (c->preview) {
		if (beneath_load(c, d->src, &buf, &len) == -1) {
			set_err(c, src, errno);
			add_failed(c, src, d->src, 0);
		} else {
			add_preview(c, src, d->src, "deleted", buf, len, "", 0,
			    NULL);
			if (dst != NULL)
				add_preview(c, dst, d->dst, "added", "", 0,
				    buf, len, NULL);
		}
	} else if (d->kind == DIRECTIVE_MOVE) {
		if (directive_move(c, d, &len) == -1) {
			set_err(c, src, errno);
			add_failed(c, src, d->src, 0);
		} else {
			add_applied(c, src, "deleted", 0, NULL);
			add_applied(c, dst, "created", len, NULL);
		}
	} else {
		if ((dfd = fspath_beneath_parent(c->basefd, d->src, name,
		    sizeof(name))) == -1)
			r = -1;
		else {
			r = unlinkat(dfd, name, 0);
			close(dfd);
		}
		if (r == -1) {
			set_err(c, src, errno);
			add_failed(c, src, d->src, 0);
		} else
			add_applied(c, src, "deleted", 0, NULL);
	}
	free(buf);
	free(src);
	free(dst);
}

/* ---- the commands ---- */

static struct json_object *
response(struct dctx *c, const char *status, int success)
{
	struct json_object	*ev, *pid;

	ev = json_event_new(c->preview ? "file_preview_diff_response" :
	    "file_apply_diff_response");
	pid = json_get(c->req->cmd, "project_id");
	json_object_object_add(ev, "project_id",
	    json_object_is_type(pid, json_type_string) ?
	    json_object_get(pid) : NULL);
	json_set_str(ev, "base_path", c->base);
	json_object_object_add(ev, c->preview ? "previews" : "results",
	    json_object_get(c->list));
	if (!c->preview)
		json_set_int(ev, "files_changed", (int64_t)c->nok);
	json_set_str(ev, "status", status);
	json_set_bool(ev, "success", success);
	return ev;
}

static void
fail(struct dctx *c, const char *fmt, const char *msg)
{
	struct json_object	*ev;
	char			 buf[sizeof(c->err) + 64];

	json_object_put(c->list);
	c->list = json_object_new_array();
	c->nok = 0;
	ev = response(c, "error", 0);
	/* msg may be c->err itself. */
	snprintf(buf, sizeof(buf), "%s%s", fmt ? fmt : "", msg);
	json_set_str(ev, "error", buf);
	worker_reply(c->req->id, ev);
}

static int
setup(struct dctx *c, struct worker_req *req, int preview)
{
	const char	*base;

	memset(c, 0, sizeof(*c));
	c->req = req;
	c->preview = preview;
	c->basefd = -1;
	c->list = json_object_new_array();
	c->maxsize = worker_config()->file_read_limit;
	if (fsreq_str(req, "base_path", &base, NULL) == -1)
		return -1;
	if (base == NULL || *base == '\0')
		base = ".";
	if (fspath_absolute(base, c->base, sizeof(c->base)) == -1 ||
	    (c->basefd = fspath_open(c->base, O_PATH | O_DIRECTORY, 0)) ==
	    -1) {
		set_err(c, base, errno);
		fail(c, "Invalid base path: ", c->err);
		return -1;
	}
	return 0;
}

static void
run(struct worker_req *req, int preview)
{
	struct dctx		 c;
	struct directive	*dirs = NULL;
	struct diff		 d;
	const char		*text;
	char			*rest = NULL;
	size_t			 len, restlen = 0, ndirs = 0, i;

	memset(&d, 0, sizeof(d));
	if (setup(&c, req, preview) == -1)
		goto out;
	if (fsreq_str(req, "diff", &text, &len) == -1)
		goto out;
	if (text == NULL || strspn(text, " \t\r\n") == len) {
		fail(&c, NULL, "diff parameter is required");
		goto out;
	}
	if (directives_extract(text, len, &rest, &restlen, &dirs, &ndirs,
	    c.err, sizeof(c.err)) == -1) {
		fail(&c, "Invalid inline directive: ", c.err);
		goto out;
	}
	if (strspn(rest, " \t\r\n") != restlen &&
	    diff_parse(rest, restlen, &d, c.err, sizeof(c.err)) == -1) {
		fail(&c, "Invalid diff content: ", c.err);
		goto out;
	}
	if (ndirs == 0 && d.nfiles == 0) {
		fail(&c, NULL, "No file changes were provided");
		goto out;
	}
	if (check_directives(&c, dirs, ndirs) == -1) {
		fail(&c, NULL, c.err);
		goto out;
	}
	for (i = 0; i < ndirs; i++)
		do_directive(&c, &dirs[i]);
	for (i = 0; i < d.nfiles; i++)
		do_file(&c, &d.files[i]);
	worker_reply(req->id, response(&c, c.nfail == 0 ? "success" :
	    c.nok > 0 ? "partial_failure" : "failed", c.nfail == 0));
out:
	diff_free(&d);
	directives_free(dirs, ndirs);
	free(rest);
	json_object_put(c.list);
	if (c.basefd != -1)
		close(c.basefd);
}

void
cmd_file_apply_diff(struct worker_req *req)
{
	run(req, 0);
}

void
cmd_file_preview_diff(struct worker_req *req)
{
	run(req, 1);
}
