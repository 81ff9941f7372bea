/*
 * atomic: the data goes into an unnamed O_TMPFILE in the target's
 * directory, is synced, then gets a temporary name and is renamed over
 * the target. A kill during the long part (the write) leaves nothing;
 * only the link-then-rename pair can leave a ".pctmp-" file. Where the
 * file system has no O_TMPFILE a named temporary file is used throughout.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "fs/atomic.h"

static mode_t	umask_new = 022;

void
atomic_init(void)
{
	umask_new = umask(022);
	umask(umask_new);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len > (1 << 30) ? (1 << 30) : len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int
tmp_name(char *buf, size_t len, const char *name)
{
	static const char	 hex[] = "0123456789abcdef";
	uint32_t		 r = arc4random();
	size_t			 i, n;

	/* Shorten a long name: the tag and suffix must fit in NAME_MAX. */
	n = strlen(name);
	if (n > NAME_MAX - 24)
		n = NAME_MAX - 24;
	if ((size_t)snprintf(buf, len, ".%.*s%sXXXXXX", (int)n, name,
	    ATOMIC_TMP_TAG) >= len)
		return -1;
	for (i = strlen(buf) - 6; buf[i] != '\0'; i++, r >>= 4)
		buf[i] = hex[r & 0xf];
	return 0;
}

/* Mode, owner: what the old file had, else what a new file would get. */
static int
settle(int fd, const struct stat *old)
{
	if (old == NULL)
		return fchmod(fd, 0666 & ~umask_new);
	if ((old->st_uid != geteuid() || old->st_gid != getegid()) &&
	    fchown(fd, old->st_uid, old->st_gid) == -1 && errno != EPERM)
		return -1;
	return fchmod(fd, old->st_mode & 07777);
}

static int
fill(int fd, const struct stat *old, const void *data, size_t len)
{
	if (write_all(fd, data, len) == -1 || settle(fd, old) == -1 ||
	    fsync(fd) == -1)
		return -1;
	return 0;
}

static int
sync_dir(int dirfd)
{
	int	 fd, r;

	/*
	 * A directory we may write but not read cannot be opened to sync;
	 * the rename has happened, so that is no reason to report failure.
	 */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return errno == EACCES ? 0 : -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Give the unnamed file a name in dirfd; -1 when /proc is not there. */
static int
link_tmpfile(int fd, int dirfd, const char *as)
{
	char	 proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, as, AT_SYMLINK_FOLLOW);
}

static int
open_named(int dirfd, const char *name, char *tmp, size_t tmplen)
{
	int	 fd, tries;

	for (tries = 0; tries < 16; tries++) {
		if (tmp_name(tmp, tmplen, name) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int
finish(int dirfd, const char *tmp, const char *name, int flags)
{
	int	 r, save;

	if (flags & ATOMIC_NOREPLACE) {
		r = renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE);
		/* No RENAME_NOREPLACE here: link(2) never replaces either. */
		if (r == -1 && errno == EINVAL &&
		    (r = linkat(dirfd, tmp, dirfd, name, 0)) == 0)
			unlinkat(dirfd, tmp, 0);
	} else
		r = renameat(dirfd, tmp, dirfd, name);
	if (r == -1) {
		save = errno;
		unlinkat(dirfd, tmp, 0);
		errno = save;
		return -1;
	}
	return sync_dir(dirfd);
}

int
atomic_write(int dirfd, const char *name, const void *data, size_t len,
    int flags)
{
	struct stat	 sb, *old = NULL;
	char		 tmp[NAME_MAX + 1];
	int		 fd, save, named = 0;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (flags & ATOMIC_NOREPLACE) {
			errno = EEXIST;
			return -1;
		}
		if (S_ISDIR(sb.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		if (!S_ISREG(sb.st_mode)) {
			/* Callers resolve symlinks; anything else is odd. */
			errno = EINVAL;
			return -1;
		}
		old = &sb;
	} else if (errno != ENOENT)
		return -1;

	fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		if ((fd = open_named(dirfd, name, tmp, sizeof(tmp))) == -1)
			return -1;
		named = 1;
	}
	if (fd == -1)
		return -1;
	if (fill(fd, old, data, len) == -1)
		goto fail;
	if (!named) {
		if (tmp_name(tmp, sizeof(tmp), name) == -1) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		if (link_tmpfile(fd, dirfd, tmp) == -1)
			goto fail;
		named = 1;
	}
	close(fd);
	return finish(dirfd, tmp, name, flags);
fail:
	save = errno;
	close(fd);
	if (named)
		unlinkat(dirfd, tmp, 0);
	errno = save;
	return -1;
}
