/*
 * file_read (reference §4.1): decode, normalise newlines, slice lines.
 * The file is streamed, so paging through a big file needs memory for
 * the page only.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "json.h"
#include "xmalloc.h"
#include "worker.h"
#include "fs/fileops.h"
#include "fs/fspath.h"
#include "fs/fsreq.h"
#include "fs/textenc.h"

#define READ_CHUNK	(256 * 1024)
#define READ_PAGE_CAP	2000		/* lines, when paging */

struct slice {
	int64_t		 first, last;	/* wanted lines, 1-based, inclusive */
	int64_t		 line;		/* the line being read */
	int		 open;		/* it has characters */
	int		 cr;		/* the previous chunk ended in '\r' */
	char		*out;
	size_t		 len, cap, max;
	int		 overflow;
	int64_t		 returned;
};

static int
selected(const struct slice *s)
{
	return s->line >= s->first && s->line <= s->last;
}

static void
emit(struct slice *s, const char *p, size_t n)
{
	if (!selected(s) || s->overflow || n == 0)
		return;
	if (s->len + n > s->max) {
		s->overflow = 1;
		return;
	}
	if (s->len + n > s->cap) {
		s->cap = s->cap * 2 > s->len + n ? s->cap * 2 : s->len + n;
		s->out = xreallocarray(s->out, s->cap, 1);
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

static void
end_line(struct slice *s)
{
	if (selected(s))
		s->returned++;
	emit(s, "\n", 1);
	s->line++;
	s->open = 0;
}

/* Universal newlines: "\r\n", "\r" and "\n" all end a line. */
static void
feed(struct slice *s, const char *p, size_t n)
{
	const char	*e, *end = p + n;

	if (s->cr && n > 0) {
		s->cr = 0;
		if (*p == '\n')
			p++;
	}
	while (p < end) {
		for (e = p; e < end && *e != '\n' && *e != '\r'; e++)
			;
		if (e > p) {
			emit(s, p, e - p);
			s->open = 1;
		}
		if (e == end)
			break;
		end_line(s);
		if (*e == '\r') {
			if (e + 1 == end)
				s->cr = 1;
			else if (e[1] == '\n')
				e++;
		}
		p = e + 1;
	}
}

static int
slurp(int fd, enum textenc enc, struct slice *s)
{
	struct textdec	 dec;
	unsigned char	*raw;
	char		*text;
	ssize_t		 n;
	size_t		 tn;

	raw = xmalloc(READ_CHUNK);
	text = xmalloc(TEXTDEC_ROOM(READ_CHUNK));
	textdec_init(&dec, enc);
	for (;;) {
		n = read(fd, raw, READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		tn = textdec_feed(&dec, raw, (size_t)n, n == 0, text);
		feed(s, text, tn);
		if (n == 0)
			break;
	}
	free(raw);
	free(text);
	if (n == -1)
		return -1;
	if (s->open) {
		if (selected(s))
			s->returned++;
		s->line++;
	}
	return 0;
}

struct read_args {
	const char	*path, *encname;
	int		 enc;
	int64_t		 start, max;	/* max 0: no limit */
	int		 paged;
};

static int
read_args(struct worker_req *req, struct read_args *a)
{
	int64_t	 end = 0, v;

	if (fsreq_need(req, "path", &a->path) == -1 ||
	    fsreq_str(req, "encoding", &a->encname, NULL) == -1)
		return -1;
	if (a->encname == NULL)
		a->encname = "utf-8";
	if ((a->enc = textenc_lookup(a->encname)) == -1) {
		worker_error(req->id, "unknown encoding: %s", a->encname);
		return -1;
	}
	a->start = fsreq_int(req, "start_line", &v) && v > 0 ? v : 1;
	a->max = fsreq_int(req, "max_lines", &v) && v > 0 ? v : 0;
	if (fsreq_int(req, "end_line", &v) && v > 0)
		end = v;
	a->paged = a->max > 0 || end > 0;
	if (end >= a->start && (a->max == 0 || a->max > end - a->start + 1))
		a->max = end - a->start + 1;
	if (a->paged && (a->max == 0 || a->max > READ_PAGE_CAP))
		a->max = READ_PAGE_CAP;
	return 0;
}

static int
open_regular(struct worker_req *req, const char *path, struct stat *sb)
{
	int	 fd;

	/* O_NONBLOCK: a FIFO must not hang the worker. */
	fd = fspath_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -1) {
		fsreq_oserror(req, errno, path, "File not found: %s",
		    "Error reading file: ");
		return -1;
	}
	if (fstat(fd, sb) == -1) {
		fsreq_oserror(req, errno, path, NULL, "Error reading file: ");
		close(fd);
		return -1;
	}
	if (S_ISDIR(sb->st_mode))
		fsreq_oserror(req, EISDIR, path, NULL, "Error reading file: ");
	else if (!S_ISREG(sb->st_mode))
		worker_error(req->id, "Error reading file: not a regular file: "
		    "%s", path);
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
read_reply(struct worker_req *req, const struct read_args *a,
    const struct stat *sb, struct slice *s)
{
	struct json_object	*ev = json_event_new("file_read_response");
	int64_t			 total = s->line - 1;
	int64_t			 last = a->start + s->returned - 1;

	json_set_str(ev, "path", a->path);
	json_object_object_add(ev, "content",
	    json_object_new_string_len(s->out ? s->out : "", (int)s->len));
	json_set_int(ev, "size", sb->st_size);
	json_set_int(ev, "total_lines", total);
	json_set_int(ev, "returned_lines", s->returned);
	json_object_object_add(ev, "start_line", s->returned > 0 ?
	    json_object_new_int64(a->start) : NULL);
	json_set_int(ev, "requested_start_line", a->start);
	json_object_object_add(ev, "end_line", s->returned > 0 ?
	    json_object_new_int64(last) : NULL);
	json_set_bool(ev, "has_more_before", s->returned > 0 && a->start > 1);
	json_set_bool(ev, "has_more_after", s->returned > 0 ? last < total :
	    a->start <= total);
	json_set_str(ev, "encoding", a->encname);
	worker_reply(req->id, ev);
}

void
cmd_file_read(struct worker_req *req)
{
	struct read_args	 a;
	struct slice		 s;
	struct stat		 sb;
	uint64_t		 limit = worker_config()->file_read_limit;
	int			 fd, save;

	if (read_args(req, &a) == -1 || (fd = open_regular(req, a.path,
	    &sb)) == -1)
		return;
	if (!a.paged && (uint64_t)sb.st_size > limit) {
		worker_error(req->id, "File is too large to read whole: %s "
		    "(%jd bytes, limit %ju); read it in pages with start_line "
		    "and max_lines", a.path, (intmax_t)sb.st_size,
		    (uintmax_t)limit);
		close(fd);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.first = a.start;
	s.last = a.max > 0 ? a.start + a.max - 1 : INT64_MAX;
	s.line = 1;
	s.max = limit;
	if (slurp(fd, a.enc, &s) == -1) {
		save = errno;
		fsreq_oserror(req, save, a.path, NULL, "Error reading file: ");
	} else if (s.overflow)
		worker_error(req->id, "The requested lines of %s are too "
		    "large to send (more than %ju bytes); ask for fewer with "
		    "max_lines", a.path, (uintmax_t)limit);
	else
		read_reply(req, &a, &sb, &s);
	close(fd);
	free(s.out);
}
