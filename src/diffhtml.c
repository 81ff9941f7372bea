#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffhtml.h"
#include "json.h"
#include "linediff.h"
#include "xmalloc.h"

/* Reference §5.7: past these a side gets the simplified view. */
#define DH_SIMPLE_BYTES		500000
#define DH_SIMPLE_NEWLINES	5000
#define DH_MAX_ROWS		1000
#define DH_SIMPLE_MAX_ROWS	500
#define DH_CONTEXT		3
/* Full view shows the whole file when old + new lines stay below this. */
#define DH_FULL_LINES		2000
/*
 * A simplified view can be fed a file of one 100 MB line; its rows are
 * cut here so the HTML stays a sensible message (the normal view is
 * already bounded by DH_SIMPLE_BYTES).
 */
#define DH_SIMPLE_LINE_MAX	4096
/*
 * max_cost for ld_diff from the line count, so that lines * max_cost
 * stays near DH_WORK: ld_diff's work is bounded by a multiple of that
 * product. Two 5 000-line files that differ everywhere render in under
 * 30 ms; past 150 000 lines the floor takes over and time grows with
 * size (about a second for two files of a million lines).
 */
#define DH_WORK			10000000
#define DH_COST_MIN		64
#define DH_COST_MAX		2000

#define DH_FFFD			"\xef\xbf\xbd"

struct dh_buf {
	char	*p;
	size_t	 len, cap;
};

struct dh_diff {
	struct ld_line	*a, *b;
	size_t		 na, nb;
	struct ld_edit	*e;
	size_t		 ne;
	size_t		 adds, dels;
	int		 simple;
};

static void
put(struct dh_buf *b, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (b->cap - b->len <= len) {
		while (b->cap - b->len <= len)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
puts_(struct dh_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
put_num(struct dh_buf *b, size_t n)
{
	char	num[32];
	int	len;

	len = snprintf(num, sizeof(num), "%zu", n);
	put(b, num, (size_t)len);
}

/*
 * HTML-escape, and make the text valid UTF-8 on the way: each invalid
 * maximal subpart becomes U+FFFD, as does NUL (the result is a C string).
 */
static void
put_text(struct dh_buf *b, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len, *run = p;
	const char		*rep;
	int			 r;

	while (p < end) {
		if (*p >= 0x80) {
			if ((r = utf8_check(p, end - p)) > 0) {
				p += r;
				continue;
			}
			put(b, (const char *)run, p - run);
			puts_(b, DH_FFFD);
			/* 0: a sequence cut short by the end of the line. */
			p += r < 0 ? (size_t)-r : (size_t)(end - p);
			run = p;
			continue;
		}
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#x27;";
			break;
		case '\0':
			rep = DH_FFFD;
			break;
		default:
			p++;
			continue;
		}
		put(b, (const char *)run, p - run);
		puts_(b, rep);
		run = ++p;
	}
	put(b, (const char *)run, p - run);
}

static size_t
count_newlines(const char *s, size_t len)
{
	const char	*p = s, *end = s + len;
	size_t		 n = 0;

	while (p < end && (p = memchr(p, '\n', end - p)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * The lines as the diff compares them: with their terminator, so that
 * a line ending changed from CRLF to LF, or a final newline added, is a
 * change (as in diff(1) and git) even though the rows do not show it.
 */
static struct ld_line *
with_terminators(const struct ld_line *l, size_t n, const char *buf,
    size_t len)
{
	struct ld_line	*c;
	const char	*end = buf + len, *after;
	size_t		 i;

	c = xreallocarray(NULL, n + 1, sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i] = l[i];
		after = l[i].text + l[i].len;
		if (after < end)
			c[i].len += *after == '\r' ? 2 : 1;
	}
	return c;
}

static size_t
max_cost(size_t nlines)
{
	size_t	cost = DH_WORK / (nlines + 1);

	if (cost < DH_COST_MIN)
		cost = DH_COST_MIN;
	if (cost > DH_COST_MAX)
		cost = DH_COST_MAX;
	return cost;
}

static void
prepare(struct dh_diff *d, const char *old, size_t oldlen, const char *new,
    size_t newlen)
{
	struct ld_line	*ca, *cb;
	size_t		 k;

	memset(d, 0, sizeof(*d));
	if (old == NULL || oldlen == 0) {
		old = "";
		oldlen = 0;
	}
	if (new == NULL || newlen == 0) {
		new = "";
		newlen = 0;
	}
	d->simple = oldlen > DH_SIMPLE_BYTES || newlen > DH_SIMPLE_BYTES ||
	    count_newlines(old, oldlen) > DH_SIMPLE_NEWLINES ||
	    count_newlines(new, newlen) > DH_SIMPLE_NEWLINES;
	d->a = ld_split(old, oldlen, &d->na);
	d->b = ld_split(new, newlen, &d->nb);
	ca = with_terminators(d->a, d->na, old, oldlen);
	cb = with_terminators(d->b, d->nb, new, newlen);
	d->e = ld_diff(ca, d->na, cb, d->nb, max_cost(d->na + d->nb), &d->ne);
	free(ca);
	free(cb);
	for (k = 0; k < d->ne; k++) {
		if (d->e[k].op == LD_INSERT)
			d->adds++;
		else if (d->e[k].op == LD_DELETE)
			d->dels++;
	}
}

static void
release(struct dh_diff *d)
{
	free(d->a);
	free(d->b);
	free(d->e);
}

static void
put_row(struct dh_buf *b, const struct dh_diff *d, const struct ld_edit *e)
{
	const struct ld_line	*l;
	size_t			 len;

	switch (e->op) {
	case LD_INSERT:
		puts_(b, "<tr class=\"diff-line diff-add\">");
		break;
	case LD_DELETE:
		puts_(b, "<tr class=\"diff-line diff-delete\">");
		break;
	default:
		puts_(b, "<tr class=\"diff-line diff-context\">");
		break;
	}
	puts_(b, "<td class=\"line-num old-line-num\">");
	if (e->op != LD_INSERT)
		put_num(b, e->old_idx + 1);
	puts_(b, "</td><td class=\"line-num new-line-num\">");
	if (e->op != LD_DELETE)
		put_num(b, e->new_idx + 1);
	puts_(b, "</td><td class=\"line-content\">");
	puts_(b, e->op == LD_INSERT ? "+" : e->op == LD_DELETE ? "-" : " ");
	l = e->op == LD_INSERT ? &d->b[e->new_idx] : &d->a[e->old_idx];
	len = l->len;
	if (d->simple && len > DH_SIMPLE_LINE_MAX)
		len = utf8_boundary(l->text, DH_SIMPLE_LINE_MAX);
	put_text(b, l->text, len);
	if (len < l->len)
		puts_(b, "\xe2\x80\xa6");	/* … */
	puts_(b, "</td></tr>\n");
}

static char *
emit(const struct dh_diff *d, const char *label, enum diffhtml_mode mode)
{
	struct dh_buf	 b = { NULL, 0, 0 };
	struct ld_hunk	*h;
	const char	*name;
	size_t		 nh, i, k, rows = 0, maxrows, context = DH_CONTEXT;
	int		 full;

	full = !d->simple && mode == DIFFHTML_FULL;
	name = full ? "full" : "minimal";
	if (label == NULL)
		label = "";
	puts_(&b, "<div class=\"unified-diff-container\" data-view-mode=\"");
	puts_(&b, name);
	puts_(&b, "\">\n<div class=\"diff-stats\"><div class=\"diff-stats-left\">"
	    "<span class=\"additions\">+");
	put_num(&b, d->adds);
	puts_(&b, "</span><span class=\"deletions\">-");
	put_num(&b, d->dels);
	puts_(&b, "</span><span class=\"file-path\">");
	put_text(&b, label, strlen(label));
	if (d->simple)
		puts_(&b, " (Large file - simplified view)</span></div></div>\n");
	else {
		puts_(&b, "</span></div><div class=\"diff-stats-right\">"
		    "<button class=\"diff-toggle-btn\" data-current-mode=\"");
		puts_(&b, name);
		puts_(&b, "\"><i class=\"fas fa-eye\"></i>"
		    "<span class=\"toggle-text\"></span></button></div></div>\n");
	}
	puts_(&b, "<div class=\"diff-content\"><table class=\"diff-table\">\n");

	if (full && d->na + d->nb < DH_FULL_LINES)
		context = d->na + d->nb;
	maxrows = d->simple ? DH_SIMPLE_MAX_ROWS : DH_MAX_ROWS;
	h = ld_hunks(d->e, d->ne, context, &nh);
	for (i = 0; i < nh && rows < maxrows; i++)
		for (k = h[i].first; k < h[i].last && rows < maxrows; k++) {
			put_row(&b, d, &d->e[k]);
			rows++;
		}
	free(h);
	puts_(&b, "</table></div>\n</div>");
	return b.p;
}

char *
diffhtml_render(const char *old, size_t oldlen, const char *new, size_t newlen,
    const char *label, enum diffhtml_mode mode, struct diffhtml_stats *st)
{
	struct dh_diff	 d;
	char		*html;

	prepare(&d, old, oldlen, new, newlen);
	html = emit(&d, label, mode);
	if (st != NULL) {
		st->additions = d.adds;
		st->deletions = d.dels;
	}
	release(&d);
	return html;
}

void
diffhtml_render_both(const char *old, size_t oldlen, const char *new,
    size_t newlen, const char *label, char **minimal, char **full,
    int *full_differs)
{
	struct dh_diff	d;

	prepare(&d, old, oldlen, new, newlen);
	*minimal = emit(&d, label, DIFFHTML_MINIMAL);
	*full = d.simple ? xstrdup(*minimal) : emit(&d, label, DIFFHTML_FULL);
	/* As upstream: the two differ whenever the view is not simplified. */
	*full_differs = strcmp(*minimal, *full) != 0;
	release(&d);
}

char *
diffhtml_unavailable(const char *label)
{
	struct dh_buf	b = { NULL, 0, 0 };

	if (label == NULL)
		label = "";
	puts_(&b, "<div class=\"unified-diff-container\" "
	    "data-view-mode=\"minimal\">\n<div class=\"diff-stats\">"
	    "<div class=\"diff-stats-left\"><span class=\"file-path\">");
	put_text(&b, label, strlen(label));
	puts_(&b, " (Diff unavailable)</span></div></div>\n"
	    "<div class=\"diff-content\"><div class=\"diff-unavailable\">"
	    "<p>Diff view unavailable for this file</p>"
	    "<p>File may be too large or binary</p></div></div>\n</div>");
	return b.p;
}
