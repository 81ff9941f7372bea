/*
 * reader: the files of file_search, from the queue the walk fills to
 * the data search.c scans.
 *
 * Files are read with read(2): no file-backed mmap under the fs
 * seccomp filter. The walk queues the files it lets through, in order;
 * reader threads (one fewer than the CPUs, at most SEARCH_READERS) open
 * them from the root with openat2(2) and RESOLVE_NO_SYMLINKS, so that
 * no symlink is followed on the way either, and read their start ahead
 * while search_step() matches: the kernel's work is most of the cost
 * of a search. Files are taken from the queue in walk order, so the
 * results and errors are those of a single thread. Without threads or
 * openat2 the walk opens the files itself and search_step() reads them.
 *
 * ripgrep stops at a NUL byte, but only after searching the lines of
 * the chunks it read before the one holding it: its line buffer is
 * replayed (64 KiB chunks, the 3-byte BOM peek first, growth for long
 * lines) so that the lines reported before a NUL are the same. A UTF-8
 * BOM is skipped and a UTF-16 file with a BOM is searched as UTF-8, as
 * ripgrep does.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "fs/search-int.h"

#define SEARCH_READ		(64 << 10)	/* read(2) at least */
#define RG_BUFFER		(64 << 10)	/* ripgrep's line buffer */
#define SEARCH_PREFETCH		(128 << 10)	/* bytes a reader reads */

/* The queue of files and its readers. */

void
reader_lock(struct search *s)
{
	if (s->nreaders > 0)
		pthread_mutex_lock(&s->mtx);
}

void
reader_unlock(struct search *s)
{
	if (s->nreaders > 0)
		pthread_mutex_unlock(&s->mtx);
}

static int
open_beneath(int dirfd, const char *path)
{
	struct open_how	 how;
	int		 fd, tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd == -1 && (errno == EAGAIN || errno == EINTR) && ++tries < 8);
	return fd;
}

/* Open a queued file by its path: -1 when it is not to be searched. */
static int
job_open(struct search *s, struct job *j)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open_beneath(s->rootfd, j->rel)) == -1) {
		/* Gone, or now a symlink on the way: as the walk would. */
		if (errno == ENOENT || errno == ELOOP || errno == ENXIO ||
		    errno == ENOTDIR || errno == EXDEV)
			j->skip = 1;
		/* ripgrep skips a file too big before trying to open it. */
		else if (fstatat(s->rootfd, j->rel, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && (!S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > s->o.max_file_size))
			j->skip = 1;
		else
			j->err = errno;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		j->err = errno;
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > s->o.max_file_size) {
		j->skip = 1;
		close(fd);
		return -1;
	}
	j->fd = fd;
	j->size = (size_t)st.st_size;
	return 0;
}

/* The start of a queued file, up to SEARCH_PREFETCH bytes. */
void
reader_job_read(struct search *s, struct job *j)
{
	size_t	 want;
	ssize_t	 n;

	if (j->need_open && job_open(s, j) == -1)
		return;
	want = j->size < SEARCH_PREFETCH ? j->size : SEARCH_PREFETCH;
	if (j->cap < want + 1) {
		free(j->buf);
		j->cap = want + 1 < 4096 ? 4096 : want + 1;
		j->buf = xmalloc(j->cap);
	}
	while (j->have < want) {
		n = read(j->fd, j->buf + j->have, want - j->have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			j->err = errno;
			break;
		}
		if (n == 0) {
			j->size = j->have;	/* shrank meanwhile */
			break;
		}
		j->have += n;
	}
	if (j->have == j->size || j->err != 0) {
		close(j->fd);
		j->fd = -1;
	}
}

static void *
reader(void *arg)
{
	struct search	*s = arg;
	struct job	*j;

	pthread_mutex_lock(&s->mtx);
	for (;;) {
		while (!s->stop && s->qnext == s->qtail)
			pthread_cond_wait(&s->work, &s->mtx);
		if (s->stop)
			break;
		j = &s->q[s->qnext++ % SEARCH_QUEUE];
		j->state = J_READING;
		pthread_mutex_unlock(&s->mtx);
		reader_job_read(s, j);
		pthread_mutex_lock(&s->mtx);
		j->state = J_READY;
		pthread_cond_signal(&s->ready);
	}
	pthread_mutex_unlock(&s->mtx);
	return NULL;
}

static int
cpus(void)
{
	cpu_set_t	 set;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	return CPU_COUNT(&set);
}

/*
 * Readers: one fewer than the CPUs, at most SEARCH_READERS; the
 * environment's PORTACODED_SEARCH_READERS, when set, says how many
 * (tests and benchmarks compare the two ways).
 */
void
reader_start(struct search *s)
{
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	const char		*env;
	int			 n, i, fd;

	n = cpus() - 1;
	if ((env = getenv("PORTACODED_SEARCH_READERS")) != NULL)
		n = atoi(env);
	if (n > SEARCH_READERS)
		n = SEARCH_READERS;
	s->qlen = 1;
	if (n <= 0)
		return;
	if (pthread_mutex_init(&s->mtx, NULL) != 0)
		return;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&s->work, &ca) != 0 ||
	    pthread_cond_init(&s->ready, &ca) != 0)
		fatalx("%s: pthread_cond_init", __func__);
	pthread_condattr_destroy(&ca);
	s->sync = 1;
	/* Signals stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++)
		if (pthread_create(&s->tid[i], NULL, reader, s) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->nreaders = i;
	if (i > 0)
		s->qlen = SEARCH_QUEUE;
	/* Without openat2 (Linux < 5.6) the walk opens the files. */
	if (i > 0 && (fd = open_beneath(s->rootfd, ".")) != -1) {
		close(fd);
		s->openat2 = 1;
	}
}

void
reader_stop(struct search *s)
{
	int	 i, n = s->nreaders;

	if (n == 0)
		return;
	pthread_mutex_lock(&s->mtx);
	s->stop = 1;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mtx);
	for (i = 0; i < n; i++)
		pthread_join(s->tid[i], NULL);
	s->nreaders = 0;
}

int
reader_queue_full(const struct search *s)
{
	return s->qtail - s->qhead >= s->qlen;
}

void
reader_job_add(struct search *s, int fd, size_t size, const char *rel, size_t rlen)
{
	struct job	*j = &s->q[s->qtail % SEARCH_QUEUE];

	if (j->relcap < rlen + 1) {
		free(j->rel);
		j->relcap = rlen + 64;
		j->rel = xmalloc(j->relcap);
	}
	memcpy(j->rel, rel, rlen);
	j->rel[rlen] = '\0';
	j->rlen = rlen;
	j->need_open = fd == -1;
	j->skip = 0;
	j->fd = fd;
	j->size = size;
	j->have = 0;
	j->err = 0;
	reader_lock(s);
	j->state = J_QUEUED;
	s->qtail++;
	if (s->nreaders > 0)
		pthread_cond_signal(&s->work);
	reader_unlock(s);
}

/*
 * While a reader has the next file, read a later one rather than sleep:
 * 1 if there was one.
 */
int
reader_steal(struct search *s)
{
	struct job	*j;

	pthread_mutex_lock(&s->mtx);
	if (s->qnext == s->qtail) {
		pthread_mutex_unlock(&s->mtx);
		return 0;
	}
	j = &s->q[s->qnext++ % SEARCH_QUEUE];
	j->state = J_READING;
	pthread_mutex_unlock(&s->mtx);
	reader_job_read(s, j);
	pthread_mutex_lock(&s->mtx);
	j->state = J_READY;
	pthread_mutex_unlock(&s->mtx);
	return 1;
}

/* Wait, up to the deadline, for a reader to finish the next file. */
void
reader_wait_ready(struct search *s, uint64_t deadline)
{
	struct timespec	 ts;

	ts.tv_sec = deadline / 1000000;
	ts.tv_nsec = (deadline % 1000000) * 1000;
	pthread_mutex_lock(&s->mtx);
	if (s->q[s->qhead % SEARCH_QUEUE].state != J_READY)
		pthread_cond_timedwait(&s->ready, &s->mtx, &ts);
	pthread_mutex_unlock(&s->mtx);
}

/* A file's data: ripgrep's line buffer, replayed. */

/* Make data up to `to` (at most the file's size) present. */
static int
ensure(struct search *s, size_t to)
{
	struct fscan	*f = &s->f;
	size_t		 want;
	ssize_t		 n;

	if (to > f->size)
		to = f->size;
	while (f->have < to) {
		/* What is asked, in chunks, and no small tail left over. */
		want = to - f->have;
		if (want < SEARCH_READ)
			want = SEARCH_READ;
		if (want >= f->size - f->have ||
		    f->size - f->have - want < SEARCH_READ / 4)
			want = f->size - f->have;
		n = read(f->fd, s->buf + f->boff + f->have, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			f->size = f->have;	/* shrank meanwhile */
			break;
		}
		f->have += n;
	}
	return 0;
}

/*
 * One fill of ripgrep's line buffer: reads until new data holds a
 * '\n'. 1 more lines are searchable, 0 end of file, -1 a NUL byte
 * (binary: stop), -2 a read error.
 */
int
reader_rg_fill(struct search *s)
{
	struct fscan	*f = &s->f;
	const char	*nl;
	size_t		 lstart = f->lastlt, used, want, n;

	for (;;) {
		used = f->lend - lstart;
		if (used == f->lcap)
			f->lcap += f->lcap * 2;
		want = f->first ? 3 : f->lcap - used;
		f->first = 0;
		if (f->own && ensure(s, f->lend + want) == -1)
			return -2;
		n = f->size - f->lend;
		if (n > want)
			n = want;
		if (n == 0) {
			f->lastlt = f->lend;
			return 0;
		}
		if (memchr(f->data + f->lend, '\0', n) != NULL)
			return -1;
		f->lend += n;
		if ((nl = memrchr(f->data + f->lend - n, '\n', n)) != NULL) {
			f->lastlt = nl - f->data + 1;
			return 1;
		}
	}
}

static void
put_utf8(char **w, uint32_t c)
{
	unsigned char	*o = (unsigned char *)*w;

	if (c < 0x80)
		*o++ = c;
	else if (c < 0x800) {
		*o++ = 0xc0 | (c >> 6);
		*o++ = 0x80 | (c & 0x3f);
	} else if (c < 0x10000) {
		*o++ = 0xe0 | (c >> 12);
		*o++ = 0x80 | ((c >> 6) & 0x3f);
		*o++ = 0x80 | (c & 0x3f);
	} else {
		*o++ = 0xf0 | (c >> 18);
		*o++ = 0x80 | ((c >> 12) & 0x3f);
		*o++ = 0x80 | ((c >> 6) & 0x3f);
		*o++ = 0x80 | (c & 0x3f);
	}
	*w = (char *)o;
}

/* A UTF-16 file (after its BOM) as UTF-8, bad units as U+FFFD. */
static void
utf16_decode(struct search *s, int be)
{
	const unsigned char	*p = (const unsigned char *)s->f.data + 2;
	const unsigned char	*end = (const unsigned char *)s->f.data +
				    s->f.size;
	char			*w;
	uint32_t		 u, v;

	search_reserve(&s->tbuf, &s->tbufcap, (s->f.size / 2 + 1) * 3 + 1);
	w = s->tbuf;
	while (end - p >= 2) {
		u = be ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]);
		p += 2;
		if (u >= 0xd800 && u <= 0xdbff && end - p >= 2) {
			v = be ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]);
			if (v >= 0xdc00 && v <= 0xdfff) {
				p += 2;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (v - 0xdc00);
			} else
				u = 0xfffd;
		} else if (u >= 0xd800 && u <= 0xdfff)
			u = 0xfffd;
		put_utf8(&w, u);
	}
	if (p < end)
		put_utf8(&w, 0xfffd);
	s->f.data = s->tbuf;
	s->f.own = 0;
	s->f.size = w - s->tbuf;
	s->f.have = s->f.size;
}

/* Sets up the scan of a file: BOMs and the replayed buffer. */
int
reader_file_prepare(struct search *s)
{
	struct fscan		*f = &s->f;
	const unsigned char	*b;

	f->lcap = RG_BUFFER;
	f->first = 1;
	if (ensure(s, 3) == -1)
		return -1;
	b = (const unsigned char *)f->data;
	if (f->have >= 2 && ((b[0] == 0xff && b[1] == 0xfe) ||
	    (b[0] == 0xfe && b[1] == 0xff))) {
		if (ensure(s, f->size) == -1)
			return -1;
		utf16_decode(s, b[0] == 0xfe);
		f->first = 0;
	} else if (f->have >= 3 && b[0] == 0xef && b[1] == 0xbb &&
	    b[2] == 0xbf) {
		/*
		 * Stripped before ripgrep's buffer sees anything: the text
		 * starts after it, for ^ as for the offsets.
		 */
		f->data += 3;
		f->boff = 3;
		f->size -= 3;
		f->have -= 3;
		f->first = 0;
	}
	f->slim = f->spos = f->lnpos = f->lend;
	f->line = 1;
	f->state = F_SCAN;
	return 0;
}
