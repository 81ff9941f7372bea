/*
 * ignore: reading ignore files and ranking their verdicts the way
 * ripgrep 13 (the ignore crate) does.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "xmalloc.h"
#include "fs/ignore.h"

/* A bigger ignore file is read up to here. */
#define IGN_MAXFILE	(4 << 20)

void
ign_parse(struct glob_list *l, const char *s, size_t len)
{
	const char	*end = s + len, *nl;
	const char	*why;
	size_t		 n;

	while (s < end) {
		if ((nl = memchr(s, '\n', end - s)) == NULL)
			nl = end;
		n = nl - s;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		/* The crate reads lines as UTF-8 and gives up at a bad one. */
		if (!utf8_valid(s, n))
			break;
		(void)glob_list_add(l, s, n, &why);
		s = nl + 1;
	}
}

static int
load_fd(struct glob_list *l, int fd)
{
	struct stat	 st;
	char		*buf;
	size_t		 have = 0, want;
	ssize_t		 n;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode))
		return 0;
	want = st.st_size > IGN_MAXFILE ? IGN_MAXFILE : (size_t)st.st_size;
	buf = xmalloc(want + 1);
	while (have < want) {
		n = read(fd, buf + have, want - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		have += n;
	}
	ign_parse(l, buf, have);
	free(buf);
	return 0;
}

static int
open_file(int dirfd, const char *name)
{
	int	 fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1 && (errno == ENOENT || errno == ELOOP ||
	    errno == ENOTDIR))
		return -2;
	return fd;
}

int
ign_load(struct glob_list *l, int dirfd, const char *name)
{
	int	 fd, rc, save;

	if ((fd = open_file(dirfd, name)) == -2)
		return 0;
	if (fd == -1)
		return -1;
	rc = load_fd(l, fd);
	save = errno;
	close(fd);
	errno = save;
	return rc;
}

int
ign_load_exclude(struct glob_list *l, int dirfd)
{
	int	 git, info, rc = 0;

	if ((git = openat(dirfd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;	/* a worktree's .git file: not followed */
	if ((info = openat(git, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		rc = ign_load(l, info, "exclude");
		close(info);
	}
	close(git);
	return rc;
}

int
ign_dir_empty(const struct ign_dir *d)
{
	int	 k;

	for (k = 0; k < IGN_NKINDS; k++)
		if (d->lists[k].n > 0)
			return 0;
	return 1;
}

void
ign_dir_clear(struct ign_dir *d)
{
	int	 k;

	for (k = 0; k < IGN_NKINDS; k++)
		glob_list_clear(&d->lists[k]);
}

enum glob_verdict
ign_match(const struct ign_level *lv, size_t n, const char *path,
    size_t len, int is_dir, int any_git)
{
	enum glob_verdict	 m[IGN_NKINDS];
	const struct ign_dir	*d;
	const char		*p;
	size_t			 i, plen;
	int			 k, saw_git = 0, git;

	memset(m, 0, sizeof(m));
	for (i = n; i > 0; i--) {
		d = lv[i - 1].dir;
		git = any_git && !saw_git;
		saw_git |= lv[i - 1].has_git;
		if (d == NULL)
			continue;
		p = path + lv[i - 1].off;
		plen = len - lv[i - 1].off;
		for (k = 0; k < IGN_NKINDS; k++) {
			if (m[k] != GLOB_NONE || d->lists[k].n == 0)
				continue;
			if ((k == IGN_GIT || k == IGN_EXCLUDE) && !git)
				continue;
			m[k] = glob_list_match(&d->lists[k], p, plen, is_dir);
		}
	}
	for (k = 0; k < IGN_NKINDS; k++)
		if (m[k] != GLOB_NONE)
			return m[k];
	return GLOB_NONE;
}
