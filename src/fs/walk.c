/*
 * walk: the directory walk of file_search, which lets files through to
 * the queue of reader.c in walk order.
 *
 * The walk is depth first, entries sorted by name (strcmp), from
 * descriptors: openat(2) with O_NOFOLLOW, so no symlink is ever
 * followed, file or directory. Each directory's names are read whole,
 * then its descriptor is kept while its entries are visited; beyond
 * SEARCH_MAXFDS open directories the shallowest are closed, and
 * reopened by name (checked by inode) when needed.
 *
 * Divergences from rg, on purpose: a .git directory is never entered
 * (rg --hidden does); ignore files that are symlinks are not read;
 * git's core.excludesFile is not read, nor the info/exclude of a
 * worktree (a .git file).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "fs/glob.h"
#include "fs/ignore.h"
#include "fs/search-int.h"

#define SEARCH_MAXFDS		16		/* open directory descriptors */
#define SEARCH_MAXDEPTH		512
#define SEARCH_MAXENTS		(1 << 20)	/* names held, all levels */
#define SEARCH_MAXNAMEBYTES	(64 << 20)

/* An error of the walk, which runs ahead of the scan. */
static void
walk_error(struct search *s, const char *rel, size_t len, const char *why)
{
	if (s->nerrors >= SEARCH_MAXERRORS)
		return;
	s->nerrors++;
	if (s->npend == s->cappend) {
		s->cappend = s->cappend ? s->cappend * 2 : 8;
		s->pend = xreallocarray(s->pend, s->cappend,
		    sizeof(*s->pend));
	}
	s->pend[s->npend].seq = s->qtail;
	s->pend[s->npend].msg = search_error_text(rel, len, why);
	s->npend++;
}

/*
 * Shows the walk errors met before the seq-th queued file; drop: the
 * others go, else they wait.
 */
void
walk_flush_errors(struct search *s, uint64_t seq, int drop)
{
	size_t	 i, k = 0;

	for (i = 0; i < s->npend; i++) {
		if (s->pend[i].seq <= seq)
			json_object_array_add(s->errors, search_json_utf8(
			    s->pend[i].msg, strlen(s->pend[i].msg)));
		else if (!drop) {
			s->pend[k++] = s->pend[i];
			continue;
		}
		free(s->pend[i].msg);
	}
	s->npend = k;
}

static const char *
rel_path(const struct search *s, size_t len, size_t *rlen)
{
	*rlen = len - s->rootoff;
	return s->path + s->rootoff;
}

void
walk_path_reserve(struct search *s, size_t need)
{
	if (need <= s->pathcap)
		return;
	while (s->pathcap < need)
		s->pathcap = s->pathcap ? s->pathcap * 2 : 4096;
	s->path = realloc(s->path, s->pathcap);
	if (s->path == NULL)
		fatal("%s", __func__);
}

/* Levels. */

static void
levels_sync(struct search *s)
{
	struct frame	*fr;
	size_t		 i, n = s->nanc + s->nframes;

	s->levels = xreallocarray(s->levels, n ? n : 1, sizeof(*s->levels));
	s->nign = 0;
	for (i = 0; i < s->nanc; i++)
		if (s->levels[i].dir != NULL)
			s->nign++;
	for (i = 0; i < s->nframes; i++) {
		fr = &s->frames[i];
		s->levels[s->nanc + i].dir = fr->ign;
		s->levels[s->nanc + i].off = fr->plen;
		s->levels[s->nanc + i].has_git = fr->has_git;
		if (fr->ign != NULL)
			s->nign++;
	}
}

/*
 * Ancestors of the root, for their ignore files and for the .git that
 * makes the root part of a repository. Paths come from the root as the
 * client gave it, resolved; the result must be the root we hold.
 */
void
walk_load_ancestors(struct search *s)
{
	struct stat	 a, b;
	struct ign_dir	 tmp;
	char		*canon, *p, save;
	size_t		 n, i, ncut;
	size_t		*cuts;
	int		 fd, in_git = 0, git, keep = 0;

	if ((canon = realpath(s->root, NULL)) == NULL)
		return;
	if (stat(canon, &a) == -1 || fstat(s->rootfd, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    strcmp(canon, "/") == 0) {
		free(canon);
		return;
	}
	n = strlen(canon);
	cuts = xreallocarray(NULL, n, sizeof(*cuts));
	ncut = 0;
	for (p = canon; (p = strchr(p, '/')) != NULL; p++)
		cuts[ncut++] = p - canon;	/* "/", "/a", "/a/b" … */
	s->anc = xcalloc(ncut, sizeof(*s->anc));
	s->levels = xreallocarray(NULL, ncut, sizeof(*s->levels));
	for (i = 0; i < ncut; i++) {
		save = canon[cuts[i] == 0 ? 1 : cuts[i]];
		canon[cuts[i] == 0 ? 1 : cuts[i]] = '\0';
		fd = open(canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		canon[cuts[i] == 0 ? 1 : cuts[i]] = save;
		memset(&tmp, 0, sizeof(tmp));
		git = 0;
		if (fd != -1) {
			git = fstatat(fd, ".git", &a, 0) == 0;
			in_git |= git;
			(void)ign_load(&tmp.lists[IGN_RG], fd, ".rgignore");
			(void)ign_load(&tmp.lists[IGN_DOT], fd, ".ignore");
			if (in_git)
				(void)ign_load(&tmp.lists[IGN_GIT], fd,
				    ".gitignore");
			if (git)
				(void)ign_load_exclude(&tmp.lists[IGN_EXCLUDE],
				    fd);
			close(fd);
		}
		s->anc[i] = tmp;
		s->levels[i].dir = ign_dir_empty(&tmp) ? NULL : &s->anc[i];
		s->levels[i].off = cuts[i];
		s->levels[i].has_git = git;
		keep |= s->levels[i].dir != NULL;
	}
	s->anc_git = in_git;
	if (keep) {
		/* Paths are "a/b/root/" + rel: each level's a suffix. */
		s->nanc = ncut;
		s->rootoff = n;
		walk_path_reserve(s, n + 1);
		memcpy(s->path, canon + 1, n - 1);
		s->path[n - 1] = '/';
	} else {
		for (i = 0; i < ncut; i++)
			ign_dir_clear(&s->anc[i]);
		free(s->anc);
		s->anc = NULL;
	}
	free(cuts);
	free(canon);
}

/* Frames. */

static int
name_cmp(const void *a, const void *b, void *arg)
{
	const char	*names = arg;

	return strcmp(names + ((const struct dent *)a)->off,
	    names + ((const struct dent *)b)->off);
}

static const struct dent *
frame_find(const struct frame *fr, const char *name)
{
	size_t	 lo = 0, hi = fr->nents, mid;
	int	 c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(fr->names + fr->ents[mid].off, name);
		if (c == 0)
			return &fr->ents[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
close_shallow(struct search *s)
{
	size_t	 i;

	/* The root and the deepest frame stay open. */
	for (i = 1; s->nopen > SEARCH_MAXFDS && i + 1 < s->nframes; i++) {
		if (s->frames[i].fd == -1)
			continue;
		close(s->frames[i].fd);
		s->frames[i].fd = -1;
		s->nopen--;
	}
}

/* The descriptor of frame i, reopened from an open ancestor if need be. */
static int
frame_fd(struct search *s, size_t i)
{
	struct frame	*fr;
	struct stat	 st;
	size_t		 j, k;
	int		 fd;

	if (s->frames[i].fd != -1)
		return s->frames[i].fd;
	for (j = i; s->frames[j].fd == -1; j--)
		;
	for (k = j + 1; k <= i; k++) {
		fr = &s->frames[k];
		fd = openat(s->frames[k - 1].fd, fr->name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return -1;
		if (fstat(fd, &st) == -1 || st.st_dev != fr->dev ||
		    st.st_ino != fr->ino) {
			close(fd);
			errno = ESTALE;
			return -1;
		}
		fr->fd = fd;
		s->nopen++;
		/* Keeps the bound on the way down, sparing frame k. */
		close_shallow(s);
	}
	return s->frames[i].fd;
}

static void
frame_release(struct search *s, struct frame *fr)
{
	if (fr->fd != -1) {
		close(fr->fd);
		s->nopen--;
	}
	if (fr->ign != NULL) {
		ign_dir_clear(fr->ign);
		free(fr->ign);
	}
	s->nheld -= fr->nents;
	s->nheldbytes -= fr->namesz;
	free(fr->names);
	free(fr->ents);
	memset(fr, 0, sizeof(*fr));
	fr->fd = -1;
}

void
walk_frame_pop(struct search *s)
{
	struct frame	*fr = &s->frames[s->nframes - 1];

	if (fr->has_git)
		s->ngit--;
	frame_release(s, fr);
	s->nframes--;
	levels_sync(s);
}

/* All names of the directory, sorted. -1 with errno on a read error. */
static int
read_names(struct search *s, struct frame *fr, int *capped)
{
	struct dirent64	*d;
	struct dent	*e;
	size_t		 capents = 0, capnames = 0, nlen;
	ssize_t		 n, off;

	*capped = 0;
	for (;;) {
		n = getdents64(fr->fd, s->dbuf, 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct dirent64 *)(s->dbuf + off);
			if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
			    (d->d_name[1] == '.' && d->d_name[2] == '\0')))
				continue;
			nlen = strlen(d->d_name);
			if (s->nheld >= SEARCH_MAXENTS ||
			    s->nheldbytes + nlen + 1 > SEARCH_MAXNAMEBYTES ||
			    nlen > UINT16_MAX) {
				*capped = 1;
				continue;
			}
			if (fr->nents == capents) {
				capents = capents ? capents * 2 : 64;
				fr->ents = xreallocarray(fr->ents, capents,
				    sizeof(*fr->ents));
			}
			if (fr->namesz + nlen + 1 > capnames) {
				while (fr->namesz + nlen + 1 > capnames)
					capnames = capnames ? capnames * 2 :
					    1024;
				fr->names = xreallocarray(fr->names, capnames,
				    1);
			}
			e = &fr->ents[fr->nents++];
			e->off = (uint32_t)fr->namesz;
			e->len = (uint16_t)nlen;
			e->type = d->d_type;
			memcpy(fr->names + fr->namesz, d->d_name, nlen + 1);
			fr->namesz += nlen + 1;
			s->nheld++;
			s->nheldbytes += nlen + 1;
		}
	}
	if (fr->nents > 1)
		qsort_r(fr->ents, fr->nents, sizeof(*fr->ents), name_cmp,
		    fr->names);
	return 0;
}

static void
load_error(struct search *s, size_t len, const char *name)
{
	const char	*rel;
	char		*what;
	size_t		 rlen;

	rel = rel_path(s, len, &rlen);
	xasprintf(&what, "%.*s%s%s", (int)rlen, rel, rlen ? "/" : "", name);
	walk_error(s, what, strlen(what), strerror(errno));
	free(what);
}

/* The ignore files of a new frame, at path length len ("dir"). */
static void
frame_ignores(struct search *s, struct frame *fr, int parent_in_git,
    size_t len)
{
	struct ign_dir	 tmp;

	memset(&tmp, 0, sizeof(tmp));
	fr->has_git = frame_find(fr, ".git") != NULL;
	fr->in_git = parent_in_git || fr->has_git;
	if (frame_find(fr, ".rgignore") != NULL &&
	    ign_load(&tmp.lists[IGN_RG], fr->fd, ".rgignore") == -1)
		load_error(s, len, ".rgignore");
	if (frame_find(fr, ".ignore") != NULL &&
	    ign_load(&tmp.lists[IGN_DOT], fr->fd, ".ignore") == -1)
		load_error(s, len, ".ignore");
	if (fr->in_git && frame_find(fr, ".gitignore") != NULL &&
	    ign_load(&tmp.lists[IGN_GIT], fr->fd, ".gitignore") == -1)
		load_error(s, len, ".gitignore");
	if (fr->has_git &&
	    ign_load_exclude(&tmp.lists[IGN_EXCLUDE], fr->fd) == -1)
		load_error(s, len, ".git/info/exclude");
	if (!ign_dir_empty(&tmp)) {
		fr->ign = xmalloc(sizeof(*fr->ign));
		*fr->ign = tmp;
	}
}

/*
 * Enter the directory at s->path[0, len): name in parentfd (the root
 * is "." in its own descriptor). Errors go to the list.
 */
static void
frame_push(struct search *s, int parentfd, const char *name, size_t len)
{
	struct frame	*fr;
	struct stat	 st;
	const char	*rel;
	size_t		 rlen;
	int		 fd, capped, parent_in_git;

	rel = rel_path(s, len, &rlen);
	if (s->nframes >= SEARCH_MAXDEPTH) {
		walk_error(s, rel, rlen, "directory nesting too deep");
		return;
	}
	/* The root through ".": a description (and offset) of our own. */
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		/* Gone, or swapped for a symlink or a file: not ours. */
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			walk_error(s, rel, rlen, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1) {
		walk_error(s, rel, rlen, strerror(errno));
		close(fd);
		return;
	}
	if (s->nframes == s->capframes) {
		s->capframes = s->capframes ? s->capframes * 2 : 16;
		s->frames = xreallocarray(s->frames, s->capframes,
		    sizeof(*s->frames));
	}
	parent_in_git = s->nframes ? s->frames[s->nframes - 1].in_git :
	    s->anc_git;
	fr = &s->frames[s->nframes];
	memset(fr, 0, sizeof(*fr));
	fr->fd = fd;
	fr->dev = st.st_dev;
	fr->ino = st.st_ino;
	fr->name = s->nframes ? name : "";
	s->nopen++;
	if (read_names(s, fr, &capped) == -1) {
		walk_error(s, rel, rlen, strerror(errno));
		frame_release(s, fr);
		return;
	}
	if (capped)
		walk_error(s, rel, rlen, "too many entries, some skipped");
	walk_path_reserve(s, len + 2);
	if (len > s->rootoff)
		s->path[len++] = '/';
	fr->plen = len;
	frame_ignores(s, fr, parent_in_git, len);
	s->nframes++;
	if (fr->has_git)
		s->ngit++;
	levels_sync(s);
	close_shallow(s);
}

/* Queues a file the walk has let through, opened unless readers will. */
static void
file_queue(struct search *s, int dirfd, const char *name, size_t len)
{
	struct stat	 st;
	const char	*rel;
	size_t		 rlen;
	int		 fd;

	rel = rel_path(s, len, &rlen);
	if (s->openat2 && rlen < PATH_MAX) {
		reader_job_add(s, -1, 0, rel, rlen);
		return;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT || errno == ELOOP || errno == ENXIO)
			return;
		/* ripgrep skips a file too big before trying to open it. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (!S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > s->o.max_file_size))
			return;
		walk_error(s, rel, rlen, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1) {
		walk_error(s, rel, rlen, strerror(errno));
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > s->o.max_file_size) {
		close(fd);
		return;
	}
	reader_job_add(s, fd, (size_t)st.st_size, rel, rlen);
}

/* Walk. */

static void
walk_entry(struct search *s)
{
	struct frame		*fr = &s->frames[s->nframes - 1];
	const struct dent	*e = &fr->ents[fr->next++];
	const char		*name = fr->names + e->off, *rel;
	enum glob_verdict	 v = GLOB_NONE;
	struct stat		 st;
	size_t			 len, rlen;
	int			 dirfd, type = e->type, is_dir, white;

	len = fr->plen + e->len;
	walk_path_reserve(s, len + 2);
	memcpy(s->path + fr->plen, name, e->len);
	rel = rel_path(s, len, &rlen);
	if ((dirfd = frame_fd(s, s->nframes - 1)) == -1) {
		walk_error(s, rel, rlen - e->len - (rlen > e->len),
		    strerror(errno));
		fr->next = fr->nents;
		return;
	}
	if (type == DT_UNKNOWN) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return;
		type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ?
		    DT_REG : DT_LNK;
	}
	if (type != DT_DIR && type != DT_REG)
		return;		/* symlinks are never followed */
	is_dir = type == DT_DIR;
	if (is_dir && strcmp(name, ".git") == 0)
		return;
	if (s->gs != NULL &&
	    (v = globset_match(s->gs, rel, rlen, is_dir)) == GLOB_IGNORE)
		return;
	white = v == GLOB_WHITELIST;
	if (!white && s->nign > 0) {
		v = ign_match(s->levels, s->nanc + s->nframes, s->path, len,
		    is_dir, s->anc_git || s->ngit > 0);
		if (v == GLOB_IGNORE)
			return;
		white = v == GLOB_WHITELIST;
	}
	if (!white && !s->o.include_hidden && name[0] == '.')
		return;
	if (!is_dir) {
		file_queue(s, dirfd, name, len);
		return;
	}
	if (s->gs != NULL && globset_prune(s->gs, rel, rlen))
		return;
	frame_push(s, dirfd, name, len);
}

/* One step of the walk: enter the root, leave a directory, or an entry. */
void
walk_step(struct search *s)
{
	struct frame	*fr;

	if (!s->started) {
		s->started = 1;
		frame_push(s, s->rootfd, ".", s->rootoff);
		return;
	}
	if (s->nframes == 0) {
		s->walked = 1;
		return;
	}
	fr = &s->frames[s->nframes - 1];
	if (fr->next == fr->nents)
		walk_frame_pop(s);
	else
		walk_entry(s);
}
