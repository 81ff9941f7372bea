/*
 * fspath: path strings from commands to descriptors, under the
 * AllowedRoots policy when one is configured.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "xmalloc.h"
#include "fs/fspath.h"

static struct {
	char	*roots[CONF_MAX_ROOTS];
	int	 fds[CONF_MAX_ROOTS];
	int	 n;
	int	 broken;	/* confined, but openat2 is missing */
} fp;

static int
sys_openat2(int dirfd, const char *path, int flags, mode_t mode,
    uint64_t resolve)
{
	struct open_how	how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC);
	/* glibc's __O_TMPFILE includes O_DIRECTORY: test the whole of it. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

void
fspath_configure(const struct config *conf)
{
	int	 i, fd;

	for (i = 0; i < fp.n; i++) {
		if (fp.fds[i] != -1)
			close(fp.fds[i]);
		free(fp.roots[i]);
	}
	fp.n = 0;
	fp.broken = 0;
	for (i = 0; i < conf->nroots; i++) {
		fp.roots[fp.n] = xstrdup(conf->roots[i]);
		fd = open(conf->roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1)
			log_warn("AllowedRoots %s: paths beneath it are refused",
			    conf->roots[i]);
		fp.fds[fp.n++] = fd;
	}
	if (fp.n == 0)
		return;
	/* Fail closed: without openat2 the policy cannot be enforced. */
	fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0,
	    RESOLVE_BENEATH);
	if (fd == -1 && errno == ENOSYS) {
		log_warnx("AllowedRoots needs openat2 (Linux 5.6 or later): "
		    "every file command will be refused");
		fp.broken = 1;
	}
	if (fd != -1)
		close(fd);
	log_info("file commands confined to %d root%s", fp.n,
	    fp.n == 1 ? "" : "s");
}

int
fspath_confined(void)
{
	return fp.n > 0;
}

int
fspath_denied(int err)
{
	return fp.n > 0 && err == EXDEV;
}

/* "//", "/./" and a trailing "/" go; ".." stays for the kernel to judge. */
static int
clean(const char *in, char *out, size_t outlen)
{
	const char	*p = in, *e;
	size_t		 o = 0, n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = p + strcspn(p, "/");
		n = e - p;
		if (!(n == 1 && p[0] == '.')) {
			if (o + 1 + n + 1 > outlen)
				return -1;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int
fspath_absolute(const char *path, char *out, size_t outlen)
{
	char	 cwd[FSPATH_MAX], joined[FSPATH_MAX * 2];

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (*path == '/') {
		if (clean(path, out, outlen) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", cwd, path) >=
	    sizeof(joined) || clean(joined, out, outlen) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Which root holds abs, and the rest of the path relative to it. */
static int
root_of(const char *abs, const char **rel)
{
	size_t	 len;
	int	 i;

	for (i = 0; i < fp.n; i++) {
		len = strlen(fp.roots[i]);
		if (strcmp(fp.roots[i], "/") == 0)
			len = 0;
		if (strncmp(abs, fp.roots[i], len) != 0 ||
		    (abs[len] != '/' && abs[len] != '\0'))
			continue;
		*rel = abs[len] == '\0' || abs[len + 1] == '\0' ?
		    "." : abs + len + 1;
		return i;
	}
	return -1;
}

int
fspath_open(const char *path, int flags, mode_t mode)
{
	char		 abs[FSPATH_MAX];
	const char	*rel;
	int		 i, fd;

	if (fspath_absolute(path, abs, sizeof(abs)) == -1)
		return -1;
	/* "name/" must be a directory, as for open(2). */
	if (path[strlen(path) - 1] == '/' && !(flags & O_CREAT))
		flags |= O_DIRECTORY;
	if (fp.n == 0)
		return openat(AT_FDCWD, abs, flags | O_CLOEXEC, mode);
	if (fp.broken || (i = root_of(abs, &rel)) == -1) {
		errno = EXDEV;
		return -1;
	}
	if (fp.fds[i] == -1) {
		errno = EXDEV;
		return -1;
	}
	do {
		fd = sys_openat2(fp.fds[i], rel, flags, mode,
		    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	} while (fd == -1 && errno == EAGAIN);
	return fd;
}

int
fspath_parent(const char *path, char *name, size_t namelen)
{
	char	 abs[FSPATH_MAX], *slash;

	if (fspath_absolute(path, abs, sizeof(abs)) == -1)
		return -1;
	slash = strrchr(abs, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(slash + 1) >= namelen || strlen(slash + 1) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strlcpy_chk(name, slash + 1, namelen);
	if (slash == abs)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fspath_open(abs, O_PATH | O_DIRECTORY, 0);
}

int
fspath_beneath_open(int dirfd, const char *rel, int flags, mode_t mode)
{
	int	 fd;

	do {
		fd = sys_openat2(dirfd, rel, flags, mode,
		    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	} while (fd == -1 && errno == EAGAIN);
	/* No openat2, no confinement: refuse. */
	if (fd == -1 && errno == ENOSYS)
		errno = EXDEV;
	return fd;
}

int
fspath_beneath_parent(int dirfd, const char *rel, char *name,
    size_t namelen)
{
	char		 dir[FSPATH_MAX];
	const char	*slash = strrchr(rel, '/');
	const char	*last = slash ? slash + 1 : rel;

	if (*last == '\0' || strcmp(last, ".") == 0 ||
	    strcmp(last, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (strlcpy_chk(name, last, namelen) == -1 ||
	    (size_t)(last - rel) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash == NULL)
		strlcpy_chk(dir, ".", sizeof(dir));
	else {
		memcpy(dir, rel, slash - rel);
		dir[slash - rel] = '\0';
		if (dir[0] == '\0')
			strlcpy_chk(dir, "/", sizeof(dir));
	}
	return fspath_beneath_open(dirfd, dir, O_PATH | O_DIRECTORY, 0);
}

static int
mkdir_one(const char *path)
{
	char	 name[NAME_MAX + 1];
	int	 dfd, r;

	if ((dfd = fspath_parent(path, name, sizeof(name))) == -1)
		return -1;
	r = mkdirat(dfd, name, 0777);
	close(dfd);
	if (r == -1 && errno == EEXIST)
		return 0;
	return r;
}

int
fspath_mkdirs(const char *path)
{
	char	 abs[FSPATH_MAX], *p;
	size_t	 end;
	int	 fd;

	if (fspath_absolute(path, abs, sizeof(abs)) == -1)
		return -1;
	/* Find the deepest ancestor that exists… */
	end = strlen(abs);
	for (;;) {
		if ((fd = fspath_open(abs, O_PATH | O_DIRECTORY, 0)) != -1) {
			close(fd);
			break;
		}
		if (errno != ENOENT)
			return -1;
		if ((p = memrchr(abs, '/', end)) == abs) {
			end = 0;
			break;
		}
		end = p - abs;
		abs[end] = '\0';
	}
	/* …then create the rest, one component at a time. */
	if (fspath_absolute(path, abs, sizeof(abs)) == -1)
		return -1;
	while (end < strlen(abs)) {
		p = strchr(abs + end + 1, '/');
		end = p == NULL ? strlen(abs) : (size_t)(p - abs);
		if (p != NULL)
			*p = '\0';
		if (mkdir_one(abs) == -1)
			return -1;
		if (p != NULL)
			*p = '/';
	}
	return 0;
}

void
fspath_dirname(const char *path, char *out, size_t outlen)
{
	const char	*slash;
	size_t		 len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	slash = memrchr(path, '/', len);
	if (slash == NULL) {
		strlcpy_chk(out, ".", outlen);
		return;
	}
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path) {
		strlcpy_chk(out, "/", outlen);
		return;
	}
	if ((size_t)(slash - path) >= outlen)
		len = outlen - 1;
	else
		len = slash - path;
	memcpy(out, path, len);
	out[len] = '\0';
}

int
fspath_name_ok(const char *name)
{
	return *name != '\0' && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0 && strchr(name, '/') == NULL &&
	    strchr(name, '\\') == NULL && strlen(name) <= NAME_MAX;
}
