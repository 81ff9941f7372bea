/*
 * search: the walk and the result building of file_search, meant to
 * give what `rg --json --max-count N --max-filesize M …` (ripgrep 13)
 * gives when run in the root, in a deterministic order.
 *
 * This file runs a search in slices and scans each file, making its
 * matches; walk.c walks the tree and reader.c reads the files.
 *
 * After max_results, matching lines are still counted (truncated_count)
 * until the walk ends or the time limit hits: upstream counts all that
 * ripgrep printed.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json.h"
#include "xmalloc.h"
#include "fs/glob.h"
#include "fs/ignore.h"
#include "fs/match.h"
#include "fs/search.h"
#include "fs/search-int.h"

#define SEARCH_WINDOW		(4 << 10)	/* matcher pass at least */

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Bytes as valid UTF-8, bad sequences as U+FFFD. */
struct json_object *
search_json_utf8(const char *s, size_t len)
{
	struct json_object	*o;
	char			*out, *w;
	size_t			 i = 0, n;

	if (utf8_valid(s, len))
		return json_object_new_string_len(s, (int)len);
	out = w = xmalloc(len * 3 + 1);
	while (i < len) {
		w += utf8_step((const unsigned char *)s + i, len - i, w, &n);
		i += n;
	}
	o = json_object_new_string_len(out, (int)(w - out));
	free(out);
	return o;
}

char *
search_error_text(const char *rel, size_t len, const char *why)
{
	char	*msg;

	if (len == 0) {
		rel = ".";
		len = 1;
	}
	xasprintf(&msg, "%.*s: %s", (int)len, rel, why);
	return msg;
}

/* An error of the file being scanned. */
static void
add_error(struct search *s, const char *rel, size_t len, const char *why)
{
	char	*msg;

	if (s->nerrors >= SEARCH_MAXERRORS)
		return;
	s->nerrors++;
	msg = search_error_text(rel, len, why);
	json_object_array_add(s->errors, search_json_utf8(msg, strlen(msg)));
	free(msg);
}

void
search_reserve(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	free(*p);
	*cap = need;
	*p = xmalloc(need);
}

/* Files. */

static void
file_end(struct search *s)
{
	struct job	*j = s->f.job;

	if (s->f.fd != -1)
		close(s->f.fd);
	if (j != NULL) {
		j->fd = -1;
		j->state = J_FREE;
		s->qhead++;
	}
	memset(&s->f, 0, sizeof(s->f));
	s->f.fd = -1;
	s->f.state = F_NONE;
}

static void
file_error(struct search *s, const char *why)
{
	add_error(s, s->f.rel, s->f.rlen, why);
	file_end(s);
}

/*
 * Starts the scan of the next queued file once it has been read: 1
 * started (or failed, reported), 0 not read yet. With no reader free
 * to take it, it is read here.
 */
static int
file_begin(struct search *s)
{
	struct fscan	*f = &s->f;
	struct job	*j = &s->q[s->qhead % SEARCH_QUEUE];
	enum jstate	 st;

	reader_lock(s);
	if (j->state == J_QUEUED && s->qnext == s->qhead) {
		s->qnext++;
		j->state = J_READING;
		reader_unlock(s);
		reader_job_read(s, j);
		reader_lock(s);
		j->state = J_READY;
	}
	st = j->state;
	reader_unlock(s);
	if (st != J_READY)
		return 0;
	walk_flush_errors(s, s->qhead, 0);
	memset(f, 0, sizeof(*f));
	f->job = j;
	f->fd = j->fd;
	f->size = j->size;
	f->have = j->have;
	f->rel = j->rel;
	f->rlen = j->rlen;
	if (j->skip) {
		file_end(s);
		return 1;
	}
	if (j->err != 0) {
		file_error(s, strerror(j->err));
		return 1;
	}
	s->files_scanned++;
	if (f->have == f->size)
		f->data = j->buf;
	else {
		/* A big file: the rest is read here, as needed. */
		search_reserve(&s->buf, &s->bufcap, f->size + 1);
		memcpy(s->buf, j->buf, f->have);
		f->data = s->buf;
		f->own = 1;
	}
	if (reader_file_prepare(s) == -1)
		file_error(s, strerror(errno));
	return 1;
}

/* '\n' in p[0, n), a word at a time. */
static uint64_t
count_nl(const char *p, size_t n)
{
	const uint64_t	 lo7 = 0x7f7f7f7f7f7f7f7fULL;
	const uint64_t	 ones = 0x0101010101010101ULL;
	const char	*end = p + n;
	uint64_t	 c = 0, w, t;

	for (; end - p >= 8; p += 8) {
		memcpy(&w, p, 8);
		t = w ^ (ones * '\n');
		/* 0x80 in each byte that was '\n', 0 elsewhere. */
		t = ~(((t & lo7) + lo7) | t | lo7);
		c += ((t >> 7) * ones) >> 56;
	}
	for (; p < end; p++)
		c += *p == '\n';
	return c;
}

static size_t
char_index(const size_t *coff, size_t n, size_t b)
{
	size_t	 lo = 0, hi = n, mid;

	/* The first char starting at or after byte b; n past the end. */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (coff[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct json_object *
path_string(const struct search *s, const char *rel, size_t rlen)
{
	struct json_object	*o;
	char			*p;
	size_t			 rootlen = strlen(s->root);

	if (rootlen > 0 && s->root[rootlen - 1] == '/')
		rootlen--;
	xasprintf(&p, "%.*s/%.*s", (int)rootlen, s->root, (int)rlen, rel);
	o = search_json_utf8(p, strlen(p));
	free(p);
	return o;
}

static void
emit_match(struct search *s, size_t ls, size_t le)
{
	struct json_object	*o, *spans, *pair;
	const struct mspan	*sp;
	const char		*line = s->f.data + ls, *rel;
	char			*w;
	size_t			 len = le - ls, i = 0, nch = 0, nsp, k;
	size_t			 maxch = (size_t)s->o.max_line_length, cs, ce;
	size_t			 rlen, n;
	int			 cut = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	search_reserve(&s->lbuf, &s->lbufcap, (len < maxch * 4 ? len : maxch * 4) *
	    3 + 4);
	if (s->coffcap < maxch + 1) {
		s->coff = xreallocarray(s->coff, maxch + 1, sizeof(*s->coff));
		s->coffcap = maxch + 1;
	}
	w = s->lbuf;
	while (i < len) {
		if (nch == maxch) {
			cut = 1;
			break;
		}
		s->coff[nch++] = i;
		w += utf8_step((const unsigned char *)line + i, len - i, w,
		    &n);
		i += n;
	}
	s->coff[nch] = i;
	if (cut) {
		memcpy(w, "...", 3);
		w += 3;
	}
	rel = s->f.rel;
	rlen = s->f.rlen;
	o = json_object_new_object();
	json_object_object_add(o, "path", path_string(s, rel, rlen));
	json_object_object_add(o, "relative_path", search_json_utf8(rel, rlen));
	json_object_object_add(o, "line_number",
	    json_object_new_int64((int64_t)s->f.line));
	json_object_object_add(o, "line",
	    json_object_new_string_len(s->lbuf, (int)(w - s->lbuf)));
	spans = json_object_new_array();
	sp = matcher_spans(s->m, &nsp);
	for (k = 0; k < nsp; k++) {
		cs = char_index(s->coff, nch, sp[k].start);
		ce = char_index(s->coff, nch, sp[k].end);
		if (cs >= ce)
			continue;	/* past the cut, or only a '\r' */
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_int64((int64_t)cs));
		json_object_array_add(pair, json_object_new_int64((int64_t)ce));
		json_object_array_add(spans, pair);
	}
	json_object_object_add(o, "match_spans", spans);
	json_object_object_add(o, "match_count",
	    json_object_new_int64(nsp > 0 ? (int64_t)nsp : 1));
	json_object_object_add(o, "line_truncated",
	    json_object_new_boolean(cut));
	json_object_array_add(s->matches, o);
}

/*
 * Searches what is searchable of the file, then makes more so with
 * ripgrep's next fill: a few KiB to a few hundred per call.
 */
static void
file_scan(struct search *s)
{
	struct fscan	*f = &s->f;
	size_t		 ls, le, mark;
	int		 rc, want;

	while (f->spos < f->slim) {
		want = s->returned < s->o.max_results;
		rc = matcher_next_line(s->m, f->data, f->slim, f->spos, want,
		    &ls, &le);
		if (rc == -1) {
			file_error(s, matcher_error(s->m));
			return;
		}
		if (rc == 0) {
			f->spos = f->slim;
			break;
		}
		f->line += count_nl(f->data + f->lnpos, ls - f->lnpos);
		f->lnpos = ls;
		if (want) {
			emit_match(s, ls, le);
			s->returned++;
		} else
			s->truncated_count++;
		f->spos = le < f->slim ? le + 1 : f->slim;
		if (++f->nmatched >= s->o.max_per_file) {
			file_end(s);
			return;
		}
	}
	if (f->state != F_SCAN) {
		file_end(s);
		return;
	}
	mark = f->slim;
	while (f->state == F_SCAN && f->slim - mark < SEARCH_WINDOW) {
		switch (reader_rg_fill(s)) {
		case 1:
			f->slim = f->lastlt;
			break;
		case 0:
			f->slim = f->lend;
			f->state = F_EOF;
			break;
		case -1:
			f->state = F_BINARY;
			break;
		default:
			file_error(s, strerror(errno));
			return;
		}
	}
}

static void
time_out(struct search *s)
{
	char	 secs[32], *msg;
	size_t	 n;

	if (s->o.time_limit_ms % 1000 == 0)
		snprintf(secs, sizeof(secs), "%llu",
		    (unsigned long long)(s->o.time_limit_ms / 1000));
	else {
		snprintf(secs, sizeof(secs), "%.3f",
		    (double)s->o.time_limit_ms / 1000);
		for (n = strlen(secs); secs[n - 1] == '0'; n--)
			secs[n - 1] = '\0';
	}
	xasprintf(&msg, "Search aborted after reaching %ss execution limit.",
	    secs);
	json_object_array_add(s->errors, json_object_new_string(msg));
	free(msg);
	s->timed_out = 1;
	s->done = 1;
}

/* Nothing more runs: the readers stop, queued files are closed. */
static void
wind_down(struct search *s)
{
	struct job	*j;
	uint64_t	 i;

	file_end(s);
	reader_stop(s);
	for (i = s->qhead; i < s->qtail; i++) {
		j = &s->q[i % SEARCH_QUEUE];
		if (j->fd != -1)
			close(j->fd);
		j->fd = -1;
		j->state = J_FREE;
	}
	s->qhead = s->qnext = s->qtail;
	while (s->nframes > 0)
		walk_frame_pop(s);
}

int
search_step(struct search *s, uint64_t budget_us)
{
	uint64_t	 deadline, limit;

	if (s->done)
		return 1;
	deadline = now_us() + budget_us;
	limit = s->t0 + s->o.time_limit_ms * 1000;
	if (deadline > limit)
		deadline = limit;
	for (;;) {
		if (now_us() >= limit) {
			/* What the walk met past the scan is not shown. */
			walk_flush_errors(s, s->qhead, 1);
			time_out(s);
			break;
		}
		if (s->f.state != F_NONE)
			file_scan(s);
		else if (!s->walked && !reader_queue_full(s))
			walk_step(s);
		else if (s->qhead == s->qtail) {
			if (s->walked) {
				walk_flush_errors(s, UINT64_MAX, 0);
				s->done = 1;
				break;
			}
		} else if (!file_begin(s) && !reader_steal(s))
			reader_wait_ready(s, deadline);
		if (now_us() >= deadline && now_us() < limit)
			return 0;
	}
	wind_down(s);
	return 1;
}

struct search *
search_new(const struct search_opts *o, char *err, size_t errlen)
{
	struct search	*s;
	size_t		 i;

	if (o->query == NULL || *o->query == '\0') {
		seterr(err, errlen, "query must not be empty");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->root = xstrdup(o->root);
	s->query = xstrdup(o->query);
	s->o.root = s->root;
	s->o.query = s->query;
	s->o.include = NULL;
	s->o.exclude = NULL;
	s->rootfd = -1;
	s->f.fd = -1;
	for (i = 0; i < SEARCH_QUEUE; i++)
		s->q[i].fd = -1;
	if (s->o.max_results < 1)
		s->o.max_results = 1;
	if (s->o.max_per_file < 1)
		s->o.max_per_file = 1;
	if (s->o.max_line_length < 1)
		s->o.max_line_length = 1;
	if ((s->m = matcher_new(o->query, o->match_case, o->regex,
	    o->whole_word, err, errlen)) == NULL)
		goto fail;
	if (o->ninclude + o->nexclude > 0 &&
	    (s->gs = globset_new(o->include, o->ninclude, o->exclude,
	    o->nexclude, err, errlen)) == NULL)
		goto fail;
	if ((s->rootfd = fcntl(o->root_fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		seterr(err, errlen, "%s: %s", o->root, strerror(errno));
		goto fail;
	}
	if (o->parents)
		walk_load_ancestors(s);
	s->dbuf = xmalloc(65536);
	walk_path_reserve(s, 4096);
	s->matches = json_object_new_array();
	s->errors = json_object_new_array();
	reader_start(s);
	s->t0 = now_us();
	return s;
fail:
	search_free(s);
	return NULL;
}

void
search_result(struct search *s, struct json_object *resp)
{
	json_object_object_add(resp, "matches", json_object_get(s->matches));
	json_object_object_add(resp, "matches_returned",
	    json_object_new_int64(s->returned));
	json_object_object_add(resp, "total_matches",
	    json_object_new_int64(s->returned + s->truncated_count));
	json_object_object_add(resp, "files_scanned",
	    json_object_new_int64(s->files_scanned));
	json_object_object_add(resp, "truncated",
	    json_object_new_boolean(s->truncated_count > 0 || s->timed_out));
	json_object_object_add(resp, "truncated_count",
	    json_object_new_int64(s->truncated_count));
	json_object_object_add(resp, "errors", json_object_get(s->errors));
}

void
search_free(struct search *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	wind_down(s);
	if (s->sync) {
		pthread_mutex_destroy(&s->mtx);
		pthread_cond_destroy(&s->work);
		pthread_cond_destroy(&s->ready);
	}
	for (i = 0; i < SEARCH_QUEUE; i++) {
		free(s->q[i].buf);
		free(s->q[i].rel);
	}
	for (i = 0; i < s->npend; i++)
		free(s->pend[i].msg);
	free(s->pend);
	for (i = 0; i < s->nanc; i++)
		ign_dir_clear(&s->anc[i]);
	free(s->anc);
	free(s->levels);
	free(s->frames);
	if (s->rootfd != -1)
		close(s->rootfd);
	matcher_free(s->m);
	globset_free(s->gs);
	json_object_put(s->matches);
	json_object_put(s->errors);
	free(s->path);
	free(s->dbuf);
	free(s->buf);
	free(s->tbuf);
	free(s->lbuf);
	free(s->coff);
	free(s->root);
	free(s->query);
	free(s);
}
