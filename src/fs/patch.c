/*
 * Applying one file's hunks (reference §5.4). Lines are compared without
 * their terminators, so a CRLF file takes an LF diff; untouched lines
 * keep their own terminators and added lines take the file's dominant
 * one. A hunk that does not match where its header says may move to
 * the unique place its context occurs, with a note saying so.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "fs/diff.h"
#include "fs/patch.h"

/* How much of a line goes into an error message. */
#define PATCH_ERR_SHOW		200
/*
 * Context runs tried by the fallback: each costs one pass over the file,
 * so both a hunk and a whole patch get a budget of them.
 */
#define PATCH_FALLBACK_RUNS	8
#define PATCH_FALLBACK_BUDGET	1024
#define HASH_BASE		0x100000001b3ULL

enum term {
	TERM_NONE = 0,
	TERM_LF,
	TERM_CRLF
};

struct fline {
	const char	*s;
	size_t		 len;
	enum term	 term;
};

struct file {
	struct fline	*lines;
	size_t		 n;
	const char	*dom;		/* dominant terminator */
	/* For the fallback, built on first use. */
	uint64_t	*prefix;	/* prefix[i]: hash of lines [0, i) */
	uint64_t	*power;		/* power[i]: HASH_BASE^i */
	size_t		 scans;		/* fallback passes so far */
};

struct buf {
	char	*d;
	size_t	 len, cap;
	int	 need_term;	/* last line written has no terminator yet */
	size_t	 pieces;	/* lines written */
	long	 first_kept;	/* first old line copied, -1 if none */
};

struct run {
	size_t	first;	/* index into the hunk's lines */
	size_t	len;
	size_t	offset;	/* old-side lines before it in the hunk */
};

static void
file_split(const char *old, size_t oldlen, struct file *f)
{
	const char	*p = old, *end = old + oldlen, *nl;
	size_t		 cap = 0, crlf = 0, lf = 0;
	struct fline	*l;

	memset(f, 0, sizeof(*f));
	while (p < end) {
		if (f->n == cap) {
			cap = cap ? cap * 2 : 64;
			f->lines = xreallocarray(f->lines, cap,
			    sizeof(*f->lines));
		}
		l = &f->lines[f->n++];
		l->s = p;
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			l->len = end - p;
			l->term = TERM_NONE;
			p = end;
		} else if (nl > p && nl[-1] == '\r') {
			l->len = nl - p - 1;
			l->term = TERM_CRLF;
			crlf++;
			p = nl + 1;
		} else {
			l->len = nl - p;
			l->term = TERM_LF;
			lf++;
			p = nl + 1;
		}
	}
	f->dom = crlf > lf ? "\r\n" : "\n";
}

static void
file_free(struct file *f)
{
	free(f->lines);
	free(f->prefix);
	free(f->power);
}

static uint64_t
line_hash(const char *s, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	/* Never 0, so an empty line still moves a window's hash. */
	return h | 1;
}

static void
file_hash(struct file *f)
{
	size_t	i;

	if (f->prefix != NULL)
		return;
	f->prefix = xreallocarray(NULL, f->n + 1, sizeof(*f->prefix));
	f->power = xreallocarray(NULL, f->n + 1, sizeof(*f->power));
	f->prefix[0] = 0;
	f->power[0] = 1;
	for (i = 0; i < f->n; i++) {
		f->prefix[i + 1] = f->prefix[i] * HASH_BASE +
		    line_hash(f->lines[i].s, f->lines[i].len);
		f->power[i + 1] = f->power[i] * HASH_BASE;
	}
}

static void
buf_add(struct buf *b, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (b->cap - b->len < len + 1) {
		while (b->cap - b->len < len + 1)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->d = xreallocarray(b->d, b->cap, 1);
	}
	memcpy(b->d + b->len, s, len);
	b->len += len;
}

/* A line that ends up followed by another needs a terminator. */
static void
buf_line(struct buf *b, const struct file *f, const char *s, size_t len)
{
	if (b->need_term)
		buf_add(b, f->dom, strlen(f->dom));
	buf_add(b, s, len);
	b->pieces++;
}

static void
copy_line(struct buf *b, const struct file *f, size_t i)
{
	const struct fline	*l = &f->lines[i];

	buf_line(b, f, l->s, l->len);
	if (b->first_kept == -1)
		b->first_kept = (long)i;
	b->need_term = l->term == TERM_NONE;
	if (l->term == TERM_LF)
		buf_add(b, "\n", 1);
	else if (l->term == TERM_CRLF)
		buf_add(b, "\r\n", 2);
}

static void
add_line(struct buf *b, const struct file *f, const struct diff_line *dl)
{
	buf_line(b, f, dl->text, dl->len);
	b->need_term = dl->noeol;
	if (!dl->noeol)
		buf_add(b, f->dom, strlen(f->dom));
}

/* Length of s to quote in a message, not splitting a UTF-8 sequence. */
static int
show(const char *s, size_t len)
{
	size_t	n = len;

	if (n > PATCH_ERR_SHOW) {
		n = PATCH_ERR_SHOW;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

static void
fail(struct patch_out *out, size_t line, const char *msg)
{
	strlcpy_chk(out->err, msg, sizeof(out->err));
	out->err_line = (long)line;
}

static void
mismatch(struct patch_out *out, const char *what, const struct fline *fl,
    const struct diff_line *dl, size_t line)
{
	seterr(out->err, sizeof(out->err), "%s mismatch. Expected '%.*s' but "
	    "got '%.*s'", what, show(fl->s, fl->len), fl->s,
	    show(dl->text, dl->len), dl->text);
	out->err_line = (long)line;
}

/*
 * Check the hunk's old side against the file from line pos; *end gets
 * the line after the last one it covers. On failure the reason goes
 * into out (err, err_line) when out is not NULL.
 */
static int
try_at(const struct file *f, const struct diff_hunk *h, size_t pos,
    size_t *end, struct patch_out *out)
{
	const struct diff_line	*dl;
	const struct fline	*fl;
	size_t			 i = pos, k;

	if (pos > f->n) {
		if (out != NULL)
			fail(out, pos + 1,
			    "Hunk start position past end of file");
		return -1;
	}
	for (k = 0; k < h->nlines; k++) {
		dl = &h->lines[k];
		if (dl->op == '+')
			continue;
		if (i >= f->n) {
			if (out != NULL)
				fail(out, i + 1, dl->op == ' ' ?
				    "Unexpected end of file while matching "
				    "context" :
				    "Unexpected end of file while removing "
				    "line");
			return -1;
		}
		fl = &f->lines[i];
		if (fl->len != dl->len || memcmp(fl->s, dl->text, dl->len)) {
			if (out != NULL)
				mismatch(out, dl->op == ' ' ? "Context" :
				    "Deletion", fl, dl, i + 1);
			return -1;
		}
		i++;
	}
	*end = i;
	return 0;
}

static int
run_cmp(const void *a, const void *b)
{
	const struct run	*ra = a, *rb = b;

	if (ra->len != rb->len)
		return ra->len > rb->len ? -1 : 1;
	return ra->first < rb->first ? -1 : ra->first > rb->first;
}

/* The old-side runs of a hunk between its added lines, longest first. */
static struct run *
hunk_runs(const struct diff_hunk *h, size_t *nruns)
{
	struct run	*r;
	size_t		 n = 0, k, old = 0;

	*nruns = 0;
	if (h->nlines == 0)
		return NULL;
	r = xreallocarray(NULL, h->nlines, sizeof(*r));
	for (k = 0; k < h->nlines; k++) {
		if (h->lines[k].op == '+')
			continue;
		if (k == 0 || h->lines[k - 1].op == '+') {
			r[n].first = k;
			r[n].len = 0;
			r[n].offset = old;
			n++;
		}
		r[n - 1].len++;
		old++;
	}
	qsort(r, n, sizeof(*r), run_cmp);
	*nruns = n;
	return r;
}

static int
run_at(const struct file *f, const struct diff_hunk *h, const struct run *r,
    size_t p)
{
	const struct diff_line	*dl;
	const struct fline	*fl;
	size_t			 k;

	for (k = 0; k < r->len; k++) {
		dl = &h->lines[r->first + k];
		fl = &f->lines[p + k];
		if (fl->len != dl->len || memcmp(fl->s, dl->text, dl->len))
			return 0;
	}
	return 1;
}

/*
 * Where the first run that occurs exactly once at or after line cur
 * puts the hunk; -1 if there is no such run or it points before cur.
 */
static long
fallback(struct file *f, const struct diff_hunk *h, size_t cur,
    size_t *runlen)
{
	struct run	*runs, *r;
	uint64_t	 want, got;
	size_t		 nruns, i, k, p, hits, at = 0;
	long		 cand = -1;

	if ((runs = hunk_runs(h, &nruns)) == NULL)
		return -1;
	file_hash(f);
	for (i = 0; i < nruns && i < PATCH_FALLBACK_RUNS &&
	    f->scans < PATCH_FALLBACK_BUDGET; i++) {
		f->scans++;
		r = &runs[i];
		want = 0;
		for (k = 0; k < r->len; k++)
			want = want * HASH_BASE + line_hash(
			    h->lines[r->first + k].text,
			    h->lines[r->first + k].len);
		hits = 0;
		for (p = cur; p + r->len <= f->n && hits < 2; p++) {
			got = f->prefix[p + r->len] -
			    f->prefix[p] * f->power[r->len];
			if (got == want && run_at(f, h, r, p)) {
				hits++;
				at = p;
			}
		}
		if (hits != 1)
			continue;
		if (at >= r->offset && at - r->offset >= cur) {
			cand = (long)(at - r->offset);
			*runlen = r->len;
		}
		break;
	}
	free(runs);
	return cand;
}

static void
add_note(struct patch_out *out, const char *path, size_t from, size_t to,
    size_t n)
{
	if (out->nnotes == PATCH_MAX_NOTES)
		return;
	xasprintf(&out->notes[out->nnotes++], "Hunk for %s was shifted from "
	    "line %zu to %zu using a unique %zu-line context match.",
	    path != NULL ? path : "file", from, to, n);
}

/* Copy up to pos, then the hunk's result; *cur moves past the hunk. */
static void
commit(struct buf *b, const struct file *f, const struct diff_hunk *h,
    size_t pos, size_t *cur)
{
	const struct diff_line	*dl;
	size_t			 i, k;

	for (i = *cur; i < pos; i++)
		copy_line(b, f, i);
	for (k = 0; k < h->nlines; k++) {
		dl = &h->lines[k];
		if (dl->op == ' ')
			copy_line(b, f, i++);
		else if (dl->op == '-')
			i++;
		else
			add_line(b, f, dl);
	}
	*cur = i;
}

static int
apply_hunk(struct file *f, const struct diff_hunk *h, const char *path,
    struct buf *b, size_t *cur, struct patch_out *out)
{
	size_t	desired, end, runlen = 0;
	long	cand;

	if (h->old_len == 0)
		desired = (size_t)h->old_start;
	else
		desired = h->old_start > 0 ? (size_t)h->old_start - 1 : 0;
	if (desired >= *cur && try_at(f, h, desired, &end, out) == 0) {
		commit(b, f, h, desired, cur);
		return 0;
	}
	if (desired < *cur)
		fail(out, desired + 1, "Unable to apply hunk");
	cand = fallback(f, h, *cur, &runlen);
	if (cand == -1 || (size_t)cand == desired ||
	    try_at(f, h, (size_t)cand, &end, NULL) == -1)
		return -1;
	commit(b, f, h, (size_t)cand, cur);
	add_note(out, path, desired + 1, (size_t)cand + 1, runlen);
	return 0;
}

int
patch_apply(const char *old, size_t oldlen, const struct diff_file *df,
    const char *path, struct patch_out *out)
{
	struct file	 f;
	struct buf	 b;
	size_t		 cur = 0, i;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.first_kept = -1;
	/* A creation is a patch of an empty file. */
	file_split(old != NULL ? old : "", old != NULL ? oldlen : 0, &f);
	for (i = 0; i < df->nhunks; i++) {
		if (apply_hunk(&f, &df->hunks[i], path, &b, &cur, out) == -1)
			goto bad;
	}
	for (i = cur; i < f.n; i++)
		copy_line(&b, &f, i);
	if (df->new_path == NULL && b.pieces > 0) {
		fail(out, b.first_kept >= 0 ? (size_t)b.first_kept + 1 : 0,
		    "Deletion diff does not remove every line of the file");
		goto bad;
	}
	file_free(&f);
	/* A hunk that moved left the reason its first place failed. */
	out->err[0] = '\0';
	out->err_line = 0;
	if (b.d == NULL)
		b.d = xstrdup("");
	else
		b.d[b.len] = '\0';
	out->data = b.d;
	out->len = b.len;
	return 0;
bad:
	file_free(&f);
	free(b.d);
	for (i = 0; i < out->nnotes; i++) {
		free(out->notes[i]);
		out->notes[i] = NULL;
	}
	out->nnotes = 0;
	return -1;
}

void
patch_out_free(struct patch_out *out)
{
	size_t	i;

	free(out->data);
	out->data = NULL;
	out->len = 0;
	for (i = 0; i < out->nnotes; i++) {
		free(out->notes[i]);
		out->notes[i] = NULL;
	}
	out->nnotes = 0;
}
