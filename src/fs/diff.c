/*
 * Unified diff parser and inline directives for file_apply_diff and
 * file_preview_diff (reference §5.2, §5.3).
 *
 * Unlike the original, hunk bodies are consumed by their line counts:
 * an empty line inside a hunk is an empty context line, and a hunk
 * whose body does not match its header is an error rather than a
 * silently truncated file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "fs/diff.h"

/* Larger line numbers or counts than this are not a real diff. */
#define DIFF_MAX_NUMBER	100000000L
/* How much of an offending line goes into an error message. */
#define DIFF_ERR_SHOW	200

struct reader {
	const char	*text;
	size_t		 len;
	size_t		 pos;
};

/* One line of the diff text, without its "\n" or "\r\n". */
struct rline {
	const char	*s;
	size_t		 len;
	size_t		 next;	/* position after the terminator */
};

static int
rd_peek(const struct reader *rd, struct rline *l)
{
	const char	*nl;

	if (rd->pos >= rd->len)
		return 0;
	l->s = rd->text + rd->pos;
	nl = memchr(l->s, '\n', rd->len - rd->pos);
	if (nl == NULL) {
		l->len = rd->len - rd->pos;
		l->next = rd->len;
	} else {
		l->len = nl - l->s;
		l->next = rd->pos + l->len + 1;
		if (l->len > 0 && l->s[l->len - 1] == '\r')
			l->len--;
	}
	return 1;
}

static int
rd_take(struct reader *rd, struct rline *l)
{
	if (!rd_peek(rd, l))
		return 0;
	rd->pos = l->next;
	return 1;
}

static int
starts(const struct rline *l, const char *prefix)
{
	size_t	n = strlen(prefix);

	return l->len >= n && memcmp(l->s, prefix, n) == 0;
}

/* Empty, or a lone "\r" left by a final line without "\n". */
static int
blank(const struct rline *l)
{
	return l->len == 0 || (l->len == 1 && l->s[0] == '\r');
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

static size_t
show_len(size_t len)
{
	return len > DIFF_ERR_SHOW ? DIFF_ERR_SHOW : len;
}

/* Undo git's C-style quoting of a path ("a/caf\303\251"). */
static char *
unquote(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;
	int	 v, k;

	o = out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			*o++ = s[i];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'v': *o++ = '\v'; break;
		case '0': case '1': case '2': case '3':
			v = 0;
			for (k = 0; k < 3 && i < len &&
			    s[i] >= '0' && s[i] <= '7'; k++)
				v = v * 8 + (s[i++] - '0');
			i--;
			*o++ = (char)v;
			break;
		default:
			*o++ = s[i];
			break;
		}
	}
	*o = '\0';
	/* A decoded NUL would silently shorten the path. */
	if (strlen(out) != (size_t)(o - out)) {
		free(out);
		return NULL;
	}
	return out;
}

/* The path of a "--- " or "+++ " line; *out NULL for /dev/null. */
static int
parse_path(const struct rline *l, char **out, char *err, size_t errlen)
{
	const char	*s = l->s + 4, *tab;
	size_t		 len = l->len - 4;
	char		*p;

	*out = NULL;
	if ((tab = memchr(s, '\t', len)) != NULL)
		len = tab - s;
	trim(&s, &len);
	if (memchr(s, '\0', len) != NULL) {
		seterr(err, errlen, "Invalid path in diff header: "
		    "contains a NUL byte");
		return -1;
	}
	if (len == 9 && memcmp(s, "/dev/null", 9) == 0)
		return 0;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		if ((p = unquote(s + 1, len - 2)) == NULL) {
			seterr(err, errlen, "Invalid path in diff header: "
			    "contains a NUL byte");
			return -1;
		}
	} else
		p = xstrndup(s, len);
	if ((p[0] == 'a' || p[0] == 'b') && p[1] == '/')
		memmove(p, p + 2, strlen(p + 2) + 1);
	if (*p == '\0') {
		free(p);
		seterr(err, errlen, "Invalid path in diff header: %.*s",
		    (int)show_len(l->len), l->s);
		return -1;
	}
	*out = p;
	return 0;
}

static int
parse_number(const char **s, const char *end, long *v)
{
	const char	*p = *s;

	*v = 0;
	if (p == end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		*v = *v * 10 + (*p - '0');
		if (*v > DIFF_MAX_NUMBER)
			return -1;
	}
	*s = p;
	return 0;
}

/* "a" or "a,b"; a missing length is 1. */
static int
parse_range(const char **s, const char *end, long *start, long *len)
{
	if (parse_number(s, end, start) == -1)
		return -1;
	*len = 1;
	if (*s < end && **s == ',') {
		(*s)++;
		if (parse_number(s, end, len) == -1)
			return -1;
	}
	return 0;
}

static int
expect(const char **s, const char *end, const char *what)
{
	size_t	n = strlen(what);

	if ((size_t)(end - *s) < n || memcmp(*s, what, n) != 0)
		return -1;
	*s += n;
	return 0;
}

/* "@@ -a(,b)? +c(,d)? @@" followed by anything. */
static int
parse_hunk_header(const struct rline *l, struct diff_hunk *h)
{
	const char	*s = l->s, *end = l->s + l->len;

	if (expect(&s, end, "@@ -") == -1 ||
	    parse_range(&s, end, &h->old_start, &h->old_len) == -1 ||
	    expect(&s, end, " +") == -1 ||
	    parse_range(&s, end, &h->new_start, &h->new_len) == -1 ||
	    expect(&s, end, " @@") == -1)
		return -1;
	return 0;
}

static const char *
file_name(const struct diff_file *f)
{
	if (f->new_path != NULL)
		return f->new_path;
	return f->old_path != NULL ? f->old_path : "/dev/null";
}

/* A line that can only be meant as part of a hunk body. */
static int
body_like(const struct rline *l)
{
	if (blank(l))
		return 1;
	switch (l->s[0]) {
	case ' ':
		return 1;
	case '+':
		return !starts(l, "+++ ");
	case '-':
		/* "-- " closes git format-patch output. */
		return !starts(l, "--- ") &&
		    !(l->len == 3 && memcmp(l->s, "-- ", 3) == 0);
	}
	return 0;
}

static void
count_mismatch(const struct diff_file *f, const struct diff_hunk *h,
    long old_seen, long new_seen, char *err, size_t errlen)
{
	seterr(err, errlen, "Hunk line count mismatch in %s: expected "
	    "-%ld/+%ld, got -%ld/+%ld", file_name(f), h->old_len, h->new_len,
	    old_seen, new_seen);
}

static void
add_line(struct diff_hunk *h, size_t *cap, char op, const char *text,
    size_t len)
{
	struct diff_line	*dl;

	if (h->nlines == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		h->lines = xreallocarray(h->lines, *cap, sizeof(*h->lines));
	}
	dl = &h->lines[h->nlines++];
	dl->op = op;
	dl->text = text;
	dl->len = len;
	dl->noeol = 0;
}

/*
 * "--- ", "+++ ", "@@": the next file's header, even where the counts
 * would let the first two pass as a removal and an addition.
 */
static int
file_header_ahead(const struct reader *rd)
{
	struct reader	 look = *rd;
	struct rline	 l;

	if (!rd_take(&look, &l) || !starts(&l, "--- ") ||
	    !rd_take(&look, &l) || !starts(&l, "+++ ") ||
	    !rd_take(&look, &l) || !starts(&l, "@@"))
		return 0;
	return 1;
}

/*
 * Consume exactly old_len old-side and new_len new-side lines. Every
 * body line carries at least one byte of input, so the line array
 * grows no faster than the text.
 */
static int
parse_hunk_body(struct reader *rd, const struct diff_file *f,
    struct diff_hunk *h, char *err, size_t errlen)
{
	struct rline	 l;
	size_t		 cap = 0;
	long		 oc = 0, nc = 0;
	char		 op;

	while (oc < h->old_len || nc < h->new_len) {
		if (!rd_peek(rd, &l) || file_header_ahead(rd)) {
			count_mismatch(f, h, oc, nc, err, errlen);
			return -1;
		}
		if (blank(&l)) {
			op = ' ';
			l.len = 0;
		} else if (l.s[0] == '\\' && h->nlines > 0) {
			h->lines[h->nlines - 1].noeol = 1;
			rd_take(rd, &l);
			continue;
		} else
			op = l.s[0];
		switch (op) {
		case ' ':
			if (oc >= h->old_len || nc >= h->new_len) {
				count_mismatch(f, h, oc + 1, nc + 1, err,
				    errlen);
				return -1;
			}
			oc++;
			nc++;
			break;
		case '-':
			if (oc >= h->old_len) {
				count_mismatch(f, h, oc + 1, nc, err, errlen);
				return -1;
			}
			oc++;
			break;
		case '+':
			if (nc >= h->new_len) {
				count_mismatch(f, h, oc, nc + 1, err, errlen);
				return -1;
			}
			nc++;
			break;
		default:
			count_mismatch(f, h, oc, nc, err, errlen);
			return -1;
		}
		rd_take(rd, &l);
		add_line(h, &cap, op, l.len ? l.s + 1 : l.s,
		    l.len ? l.len - 1 : 0);
	}
	if (rd_peek(rd, &l) && l.len > 0 && l.s[0] == '\\' && h->nlines > 0) {
		h->lines[h->nlines - 1].noeol = 1;
		rd_take(rd, &l);
	}
	return 0;
}

/* Body lines after a complete hunk: report how many there really were. */
static void
overlong_hunk(struct reader *rd, const struct diff_file *f,
    const struct diff_hunk *h, char *err, size_t errlen)
{
	struct rline	 l;
	long		 oc = h->old_len, nc = h->new_len;

	while (rd_take(rd, &l)) {
		if (l.len > 0 && l.s[0] == '\\')
			continue;
		if (!body_like(&l))
			break;
		if (blank(&l) || l.s[0] == ' ') {
			oc++;
			nc++;
		} else if (l.s[0] == '-')
			oc++;
		else
			nc++;
	}
	count_mismatch(f, h, oc, nc, err, errlen);
}

/* After a hunk, skip blank lines only when another hunk follows them. */
static int
next_is_hunk(struct reader *rd)
{
	struct reader	 look = *rd;
	struct rline	 l;

	while (rd_peek(&look, &l) && blank(&l))
		rd_take(&look, &l);
	if (!rd_peek(&look, &l) || !starts(&l, "@@"))
		return 0;
	*rd = look;
	return 1;
}

static int
parse_hunks(struct reader *rd, struct diff_file *f, char *err, size_t errlen)
{
	struct rline	 l;
	struct diff_hunk *h;
	size_t		 cap = 0;

	while (next_is_hunk(rd)) {
		rd_take(rd, &l);
		if (f->nhunks == DIFF_MAX_HUNKS) {
			seterr(err, errlen, "Too many hunks for %s (limit %d)",
			    file_name(f), DIFF_MAX_HUNKS);
			return -1;
		}
		if (f->nhunks == cap) {
			cap = cap ? cap * 2 : 4;
			f->hunks = xreallocarray(f->hunks, cap,
			    sizeof(*f->hunks));
		}
		h = &f->hunks[f->nhunks];
		memset(h, 0, sizeof(*h));
		if (parse_hunk_header(&l, h) == -1) {
			seterr(err, errlen, "Invalid hunk header: %.*s",
			    (int)show_len(l.len), l.s);
			return -1;
		}
		f->nhunks++;
		if (f->nhunks > 1 && h->old_start < h[-1].old_start) {
			seterr(err, errlen, "Hunks for %s are not in ascending "
			    "order (line %ld after line %ld)", file_name(f),
			    h->old_start, h[-1].old_start);
			return -1;
		}
		if (parse_hunk_body(rd, f, h, err, errlen) == -1)
			return -1;
		if (rd_peek(rd, &l) && body_like(&l) && !blank(&l)) {
			overlong_hunk(rd, f, h, err, errlen);
			return -1;
		}
	}
	if (f->nhunks == 0) {
		seterr(err, errlen, "No hunks found for file diff");
		return -1;
	}
	return 0;
}

static void
file_free(struct diff_file *f)
{
	size_t	i;

	free(f->old_path);
	free(f->new_path);
	for (i = 0; i < f->nhunks; i++)
		free(f->hunks[i].lines);
	free(f->hunks);
}

/* From a "--- " line through the file's last hunk. */
static int
parse_file(struct reader *rd, struct diff_file *f, char *err, size_t errlen)
{
	struct rline	 l;

	memset(f, 0, sizeof(*f));
	rd_take(rd, &l);
	if (parse_path(&l, &f->old_path, err, errlen) == -1)
		return -1;
	if (!rd_peek(rd, &l) || !starts(&l, "+++ ")) {
		seterr(err, errlen, "Missing +++ line after --- line");
		return -1;
	}
	rd_take(rd, &l);
	if (parse_path(&l, &f->new_path, err, errlen) == -1)
		return -1;
	if (f->old_path == NULL && f->new_path == NULL) {
		seterr(err, errlen, "Invalid file header: both paths are "
		    "/dev/null");
		return -1;
	}
	return parse_hunks(rd, f, err, errlen);
}

int
diff_parse(const char *text, size_t len, struct diff *d, char *err,
    size_t errlen)
{
	struct reader	 rd = { text, len, 0 };
	struct rline	 l;
	struct diff_hunk h;
	struct diff_file f;
	size_t		 cap = 0;

	memset(d, 0, sizeof(*d));
	while (rd_peek(&rd, &l)) {
		if (!starts(&l, "--- ")) {
			/*
			 * Headers and prose are skipped, but a hunk with no
			 * file header would be dropped silently.
			 */
			if (parse_hunk_header(&l, &h) == 0) {
				seterr(err, errlen, "Hunk without a file "
				    "header: %.*s", (int)show_len(l.len), l.s);
				goto fail;
			}
			rd_take(&rd, &l);
			continue;
		}
		if (d->nfiles == DIFF_MAX_FILES) {
			seterr(err, errlen, "Too many files in diff (limit %d)",
			    DIFF_MAX_FILES);
			goto fail;
		}
		if (parse_file(&rd, &f, err, errlen) == -1) {
			file_free(&f);
			goto fail;
		}
		if (d->nfiles == cap) {
			cap = cap ? cap * 2 : 4;
			d->files = xreallocarray(d->files, cap,
			    sizeof(*d->files));
		}
		d->files[d->nfiles++] = f;
	}
	if (d->nfiles == 0) {
		seterr(err, errlen, "No valid file patches found in diff");
		return -1;
	}
	return 0;
fail:
	diff_free(d);
	return -1;
}

void
diff_free(struct diff *d)
{
	size_t	i;

	for (i = 0; i < d->nfiles; i++)
		file_free(&d->files[i]);
	free(d->files);
	d->files = NULL;
	d->nfiles = 0;
}

/*
 * Lexical normalisation of a directive path, as Python's os.path.normpath,
 * followed by the checks of §5.2 in the original's order.
 */
static char *
norm_path(const char *s, size_t len, char *err, size_t errlen)
{
	struct {
		const char	*p;
		size_t		 n;
	}		*st;
	char		*out;
	size_t		 nst = 0, i, j, o, k;
	int		 absolute;

	trim(&s, &len);
	if (memchr(s, '\0', len) != NULL) {
		seterr(err, errlen, "Path must not contain a NUL byte");
		return NULL;
	}
	absolute = len > 0 && s[0] == '/';
	st = xcalloc(len / 2 + 1, sizeof(*st));
	for (i = 0; i < len; i = j + 1) {
		for (j = i; j < len && s[j] != '/'; j++)
			;
		if (j == i || (j - i == 1 && s[i] == '.'))
			continue;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (nst > 0 && !(st[nst - 1].n == 2 &&
			    memcmp(st[nst - 1].p, "..", 2) == 0)) {
				nst--;
				continue;
			}
			if (absolute)	/* "/.." is "/" */
				continue;
		}
		st[nst].p = s + i;
		st[nst++].n = j - i;
	}
	out = xmalloc(len + 2);
	o = 0;
	if (absolute)
		out[o++] = '/';
	for (k = 0; k < nst; k++) {
		if (k > 0)
			out[o++] = '/';
		memcpy(out + o, st[k].p, st[k].n);
		o += st[k].n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	free(st);
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		seterr(err, errlen, "Path must reference a file inside the "
		    "project");
		goto bad;
	}
	if (absolute) {
		seterr(err, errlen, "Absolute paths are not allowed in inline "
		    "directives");
		goto bad;
	}
	if (strncmp(out, "../", 3) == 0) {
		seterr(err, errlen, "Path cannot traverse outside the project");
		goto bad;
	}
	return out;
bad:
	free(out);
	return NULL;
}

/* "@@cmd:body@@" after trimming, cmd [A-Za-z_]+, body non-empty. */
static int
match_directive(const char *s, size_t len, char *cmd, size_t cmdsize,
    const char **body, size_t *bodylen)
{
	size_t	i;

	trim(&s, &len);
	if (len < 7 || memcmp(s, "@@", 2) != 0 ||
	    memcmp(s + len - 2, "@@", 2) != 0)
		return 0;
	for (i = 2; i < len - 2; i++) {
		char	c = s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (!(c >= 'a' && c <= 'z') && c != '_')
			break;
		if (i - 2 < cmdsize - 1)
			cmd[i - 2] = c;
	}
	if (i == 2 || s[i] != ':' || i + 1 >= len - 2)
		return 0;
	cmd[i - 2 < cmdsize - 1 ? i - 2 : cmdsize - 1] = '\0';
	*body = s + i + 1;
	*bodylen = len - 2 - (i + 1);
	return 1;
}

static int
parse_directive(const char *cmd, const char *body, size_t bodylen,
    struct directive *dv, char *err, size_t errlen)
{
	const char	*arrow;

	memset(dv, 0, sizeof(*dv));
	if (strcmp(cmd, "delete") == 0)
		dv->kind = DIRECTIVE_DELETE;
	else if (strcmp(cmd, "move") == 0 || strcmp(cmd, "rename") == 0)
		dv->kind = DIRECTIVE_MOVE;
	else {
		seterr(err, errlen, "Unknown inline directive '%s'", cmd);
		return -1;
	}
	trim(&body, &bodylen);
	if (bodylen == 0) {
		seterr(err, errlen, "Inline directive '%s' is missing required "
		    "arguments", cmd);
		return -1;
	}
	if (dv->kind == DIRECTIVE_DELETE)
		return (dv->src = norm_path(body, bodylen, err, errlen)) ?
		    0 : -1;
	arrow = NULL;
	if (bodylen >= 2)
		arrow = memmem(body, bodylen, "->", 2);
	if (arrow == NULL) {
		seterr(err, errlen, "move directive must be formatted as "
		    "'source -> destination'");
		return -1;
	}
	if ((dv->src = norm_path(body, arrow - body, err, errlen)) == NULL)
		return -1;
	if ((dv->dst = norm_path(arrow + 2, bodylen - (arrow + 2 - body), err,
	    errlen)) == NULL)
		return -1;
	if (strcmp(dv->src, dv->dst) == 0) {
		seterr(err, errlen, "Source and destination paths must be "
		    "different for move directives");
		return -1;
	}
	return 0;
}

int
directives_extract(const char *text, size_t len, char **rest,
    size_t *restlen, struct directive **dirs, size_t *ndirs, char *err,
    size_t errlen)
{
	struct directive *dv = NULL;
	struct reader	 rd = { text, len, 0 };
	struct rline	 l;
	const char	*body;
	size_t		 bodylen, n = 0, cap = 0, o = 0, start;
	char		*out, cmd[64];

	out = xmalloc(len + 1);
	for (;;) {
		start = rd.pos;
		if (!rd_take(&rd, &l))
			break;
		if (!match_directive(l.s, l.len, cmd, sizeof(cmd), &body,
		    &bodylen)) {
			memcpy(out + o, text + start, l.next - start);
			o += l.next - start;
			continue;
		}
		if (n == DIFF_MAX_FILES) {
			seterr(err, errlen, "Too many inline directives "
			    "(limit %d)", DIFF_MAX_FILES);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			dv = xreallocarray(dv, cap, sizeof(*dv));
		}
		if (parse_directive(cmd, body, bodylen, &dv[n], err,
		    errlen) == -1) {
			n++;
			goto fail;
		}
		n++;
	}
	out[o] = '\0';
	*rest = out;
	*restlen = o;
	*dirs = dv;
	*ndirs = n;
	return 0;
fail:
	directives_free(dv, n);
	free(out);
	*rest = NULL;
	*restlen = 0;
	*dirs = NULL;
	*ndirs = 0;
	return -1;
}

void
directives_free(struct directive *dv, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(dv[i].src);
		free(dv[i].dst);
	}
	free(dv);
}
