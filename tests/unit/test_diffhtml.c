#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diffhtml.h"
#include "json.h"

#define MAXROWS	2000

/* One parsed table row; -1 for an empty line-number cell. */
struct row {
	char	 kind;		/* '+', '-', ' ' from the row class */
	long	 old, new;
	char	*text;		/* cell content, prefix included */
};

struct view {
	char		*html;
	struct row	 rows[MAXROWS];
	size_t		 nrows;
};

static const char *
expect(const char *p, const char *lit)
{
	size_t	len = strlen(lit);

	if (strncmp(p, lit, len) != 0)
		fail_msg("expected \"%s\" at \"%.60s\"", lit, p);
	return p + len;
}

static const char *
num_cell(const char *p, long *v)
{
	char	*end;

	if (*p == '<') {
		*v = -1;
		return p;
	}
	*v = strtol(p, &end, 10);
	assert_true(end > p && *v > 0);
	return end;
}

/*
 * Parse the table strictly: every row must have exactly the §5.7 shape,
 * and nothing but rows may sit between the table tags.
 */
static void
parse_rows(struct view *v)
{
	const char	*p, *end, *q;
	struct row	*r;

	v->nrows = 0;
	p = strstr(v->html, "<table class=\"diff-table\">\n");
	assert_non_null(p);
	p += strlen("<table class=\"diff-table\">\n");
	end = strstr(p, "</table>");
	assert_non_null(end);
	while (p < end) {
		assert_true(v->nrows < MAXROWS);
		r = &v->rows[v->nrows++];
		p = expect(p, "<tr class=\"diff-line diff-");
		if (strncmp(p, "add\">", 5) == 0) {
			r->kind = '+';
			p += 5;
		} else if (strncmp(p, "delete\">", 8) == 0) {
			r->kind = '-';
			p += 8;
		} else {
			p = expect(p, "context\">");
			r->kind = ' ';
		}
		p = expect(p, "<td class=\"line-num old-line-num\">");
		p = num_cell(p, &r->old);
		p = expect(p, "</td><td class=\"line-num new-line-num\">");
		p = num_cell(p, &r->new);
		p = expect(p, "</td><td class=\"line-content\">");
		q = strstr(p, "</td></tr>\n");
		assert_non_null(q);
		r->text = strndup(p, q - p);
		assert_non_null(r->text);
		/* The prefix matches the row's kind. */
		assert_int_equal(r->text[0], r->kind);
		/* Numbers on the sides the row has, and only there. */
		assert_true((r->kind == '+') == (r->old == -1));
		assert_true((r->kind == '-') == (r->new == -1));
		p = q + strlen("</td></tr>\n");
	}
	assert_ptr_equal(p, end);
	assert_string_equal(end, "</table></div>\n</div>");
}

static void
view_set(struct view *v, char *html)
{
	v->html = html;
	assert_non_null(html);
	assert_true(utf8_valid(html, strlen(html)));
	parse_rows(v);
}

static void
view_free(struct view *v)
{
	size_t	i;

	for (i = 0; i < v->nrows; i++)
		free(v->rows[i].text);
	free(v->html);
	v->html = NULL;
	v->nrows = 0;
}

static struct view *
render(const char *old, size_t oldlen, const char *new, size_t newlen,
    const char *label, enum diffhtml_mode mode, struct diffhtml_stats *st)
{
	struct view	*v;

	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	view_set(v, diffhtml_render(old, oldlen, new, newlen, label, mode,
	    st));
	return v;
}

static struct view *
render_s(const char *old, const char *new, enum diffhtml_mode mode,
    struct diffhtml_stats *st)
{
	return render(old, strlen(old), new, strlen(new), "f.txt", mode, st);
}

static void
view_done(struct view *v)
{
	view_free(v);
	free(v);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* n lines "line i\n"; the 1-based lines in `changed` read "CHANGED i". */
static char *
numbered(size_t n, const size_t *changed, size_t nchanged)
{
	char	*s, *p;
	size_t	 i, k;
	int	 alt;

	s = p = malloc(n * 20 + 1);
	assert_non_null(s);
	*p = '\0';
	for (i = 1; i <= n; i++) {
		for (alt = 0, k = 0; k < nchanged; k++)
			alt |= changed[k] == i;
		p += sprintf(p, "%s %zu\n", alt ? "CHANGED" : "line", i);
	}
	return s;
}

static void
check_row(const struct row *r, char kind, long old, long new,
    const char *text)
{
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->old, old);
	assert_int_equal(r->new, new);
	assert_string_equal(r->text, text);
}

static void
test_shape(void **state)
{
	static const char	 head[] =
	    "<div class=\"unified-diff-container\" data-view-mode=\"minimal\">\n"
	    "<div class=\"diff-stats\"><div class=\"diff-stats-left\">"
	    "<span class=\"additions\">+2</span>"
	    "<span class=\"deletions\">-1</span>"
	    "<span class=\"file-path\">f.txt</span></div>"
	    "<div class=\"diff-stats-right\">"
	    "<button class=\"diff-toggle-btn\" data-current-mode=\"minimal\">"
	    "<i class=\"fas fa-eye\"></i><span class=\"toggle-text\"></span>"
	    "</button></div></div>\n"
	    "<div class=\"diff-content\"><table class=\"diff-table\">\n";
	struct diffhtml_stats	 st;
	struct view		*v;
	const char		*old = "a\nb\nc\n", *new = "a\nB\nc\nd\n";

	(void)state;
	v = render_s(old, new, DIFFHTML_MINIMAL, &st);
	assert_int_equal(st.additions, 2);
	assert_int_equal(st.deletions, 1);
	assert_true(strncmp(v->html, head, strlen(head)) == 0);
	assert_int_equal(v->nrows, 5);
	check_row(&v->rows[0], ' ', 1, 1, " a");
	check_row(&v->rows[1], '-', 2, -1, "-b");
	check_row(&v->rows[2], '+', -1, 2, "+B");
	check_row(&v->rows[3], ' ', 3, 3, " c");
	check_row(&v->rows[4], '+', -1, 4, "+d");
	/* Header rows ("---", "+++", "@@") are never rendered. */
	assert_null(strstr(v->html, "@@"));
	assert_null(strstr(v->html, "+++"));
	view_done(v);

	v = render_s(old, new, DIFFHTML_FULL, NULL);
	assert_non_null(strstr(v->html,
	    "<div class=\"unified-diff-container\" data-view-mode=\"full\">\n"));
	assert_non_null(strstr(v->html,
	    "<button class=\"diff-toggle-btn\" data-current-mode=\"full\">"));
	assert_int_equal(count(v->html, "data-current-mode=\"minimal\""), 0);
	assert_int_equal(v->nrows, 5);
	view_done(v);
}

static void
test_escaping(void **state)
{
	struct view	*v;
	const char	*old = "keep\n";
	const char	*new = "keep\n<a href=\"x\">&'</a>\n";

	(void)state;
	v = render(old, strlen(old), new, strlen(new), "<b>&\"'.html",
	    DIFFHTML_MINIMAL, NULL);
	assert_int_equal(v->nrows, 2);
	check_row(&v->rows[1], '+', -1, 2,
	    "+&lt;a href=&quot;x&quot;&gt;&amp;&#x27;&lt;/a&gt;");
	assert_non_null(strstr(v->html, "<span class=\"file-path\">"
	    "&lt;b&gt;&amp;&quot;&#x27;.html</span>"));
	assert_null(strstr(v->html, "<a href"));
	assert_null(strstr(v->html, "<b>"));
	view_done(v);
}

static void
test_context_minimal(void **state)
{
	struct diffhtml_stats	 st;
	struct view		*v;
	size_t			 one[] = { 10 }, two[] = { 3, 15 }, i;
	char			*old, *new;

	(void)state;
	old = numbered(20, NULL, 0);
	new = numbered(20, one, 1);
	v = render_s(old, new, DIFFHTML_MINIMAL, &st);
	/* Three lines of context each side of line 10. */
	assert_int_equal(v->nrows, 8);
	check_row(&v->rows[0], ' ', 7, 7, " line 7");
	check_row(&v->rows[2], ' ', 9, 9, " line 9");
	check_row(&v->rows[3], '-', 10, -1, "-line 10");
	check_row(&v->rows[4], '+', -1, 10, "+CHANGED 10");
	check_row(&v->rows[5], ' ', 11, 11, " line 11");
	check_row(&v->rows[7], ' ', 13, 13, " line 13");
	assert_int_equal(st.additions, 1);
	assert_int_equal(st.deletions, 1);
	view_done(v);
	free(new);

	/* Two far changes: two groups, nothing from the gap between them. */
	new = numbered(20, two, 2);
	v = render_s(old, new, DIFFHTML_MINIMAL, NULL);
	assert_int_equal(v->nrows, 7 + 8);
	check_row(&v->rows[0], ' ', 1, 1, " line 1");
	check_row(&v->rows[2], '-', 3, -1, "-line 3");
	check_row(&v->rows[6], ' ', 6, 6, " line 6");
	check_row(&v->rows[7], ' ', 12, 12, " line 12");
	check_row(&v->rows[14], ' ', 18, 18, " line 18");
	for (i = 0; i < v->nrows; i++)
		assert_true(v->rows[i].old < 7 || v->rows[i].old > 11);
	view_done(v);
	free(new);
	free(old);
}

static void
test_full(void **state)
{
	struct view	*v, *m;
	size_t		 one[] = { 10 }, i;
	char		*old, *new;

	(void)state;
	old = numbered(20, NULL, 0);
	new = numbered(20, one, 1);
	v = render_s(old, new, DIFFHTML_FULL, NULL);
	/* Every line of the file, plus the added one. */
	assert_int_equal(v->nrows, 21);
	for (i = 0; i < 9; i++)
		assert_int_equal(v->rows[i].old, (long)i + 1);
	check_row(&v->rows[9], '-', 10, -1, "-line 10");
	check_row(&v->rows[10], '+', -1, 10, "+CHANGED 10");
	check_row(&v->rows[20], ' ', 20, 20, " line 20");
	view_done(v);
	free(new);
	free(old);

	/* 1000 + 1000 lines is not below 2000: full falls back to 3 lines. */
	old = numbered(1000, NULL, 0);
	new = numbered(1000, one, 1);
	v = render_s(old, new, DIFFHTML_FULL, NULL);
	m = render_s(old, new, DIFFHTML_MINIMAL, NULL);
	assert_int_equal(v->nrows, 8);
	assert_int_equal(m->nrows, 8);
	assert_non_null(strstr(v->html, "data-view-mode=\"full\""));
	view_done(v);
	view_done(m);
	free(new);
	free(old);

	/* 999 + 1000 is below: the whole file, up to the 1 000-row cap. */
	old = numbered(999, NULL, 0);
	new = numbered(1000, one, 1);
	v = render_s(old, new, DIFFHTML_FULL, NULL);
	assert_int_equal(v->nrows, 1000);
	check_row(&v->rows[0], ' ', 1, 1, " line 1");
	check_row(&v->rows[999], ' ', 999, 999, " line 999");
	view_done(v);
	free(new);
	free(old);
}

static void
test_render_both(void **state)
{
	char	*min, *full, *alone;
	int	 differs;
	char	*old, *new;
	size_t	 one[] = { 10 };

	(void)state;
	old = numbered(20, NULL, 0);
	new = numbered(20, one, 1);
	diffhtml_render_both(old, strlen(old), new, strlen(new), "f.txt",
	    &min, &full, &differs);
	assert_true(differs);
	assert_int_equal(count(min, "<tr "), 8);
	assert_int_equal(count(full, "<tr "), 21);
	free(min);
	free(full);

	/* Each version rendered alone gives the same HTML. */
	diffhtml_render_both(old, strlen(old), new, strlen(new), "f.txt",
	    &min, &full, &differs);
	alone = diffhtml_render(old, strlen(old), new, strlen(new), "f.txt",
	    DIFFHTML_MINIMAL, NULL);
	assert_string_equal(alone, min);
	free(alone);
	alone = diffhtml_render(old, strlen(old), new, strlen(new), "f.txt",
	    DIFFHTML_FULL, NULL);
	assert_string_equal(alone, full);
	free(alone);
	free(min);
	free(full);
	free(new);
	free(old);
}

static void
test_identical(void **state)
{
	struct diffhtml_stats	 st = { 7, 7 };
	struct view		*v;
	char			*min, *full;
	int			 differs;
	const char		*t = "same\ntext\n";

	(void)state;
	v = render_s(t, t, DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 0);
	assert_int_equal(st.additions, 0);
	assert_int_equal(st.deletions, 0);
	assert_non_null(strstr(v->html, "<span class=\"additions\">+0</span>"
	    "<span class=\"deletions\">-0</span>"));
	view_done(v);

	v = render_s(t, t, DIFFHTML_FULL, NULL);
	assert_int_equal(v->nrows, 0);
	view_done(v);

	/* Upstream's has_full compares the strings: view modes differ. */
	diffhtml_render_both(t, strlen(t), t, strlen(t), "f", &min, &full,
	    &differs);
	assert_true(differs);
	free(min);
	free(full);

	v = render("", 0, "", 0, "f", DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 0);
	assert_int_equal(st.additions, 0);
	view_done(v);
	v = render(NULL, 0, NULL, 0, NULL, DIFFHTML_MINIMAL, NULL);
	assert_int_equal(v->nrows, 0);
	assert_non_null(strstr(v->html, "<span class=\"file-path\"></span>"));
	view_done(v);
}

static void
test_creation_deletion(void **state)
{
	struct diffhtml_stats	 st;
	struct view		*v;
	const char		*t = "one\ntwo\nthree\n";
	size_t			 i;

	(void)state;
	v = render("", 0, t, strlen(t), "new.txt", DIFFHTML_MINIMAL, &st);
	assert_int_equal(st.additions, 3);
	assert_int_equal(st.deletions, 0);
	assert_int_equal(v->nrows, 3);
	check_row(&v->rows[0], '+', -1, 1, "+one");
	check_row(&v->rows[2], '+', -1, 3, "+three");
	view_done(v);

	v = render(t, strlen(t), "", 0, "gone.txt", DIFFHTML_FULL, &st);
	assert_int_equal(st.additions, 0);
	assert_int_equal(st.deletions, 3);
	assert_int_equal(v->nrows, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(v->rows[i].kind, '-');
		assert_int_equal(v->rows[i].old, (long)i + 1);
	}
	check_row(&v->rows[1], '-', 2, -1, "-two");
	view_done(v);
}

static void
test_crlf_and_eol(void **state)
{
	struct diffhtml_stats	 st;
	struct view		*v;

	(void)state;
	v = render_s("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", DIFFHTML_MINIMAL,
	    &st);
	assert_int_equal(v->nrows, 4);
	check_row(&v->rows[0], ' ', 1, 1, " a");
	check_row(&v->rows[1], '-', 2, -1, "-b");
	check_row(&v->rows[2], '+', -1, 2, "+B");
	check_row(&v->rows[3], ' ', 3, 3, " c");
	assert_null(strchr(v->html, '\r'));
	view_done(v);

	/* No trailing newline on either side, text unchanged: nothing. */
	v = render_s("a\nb", "a\nb", DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 0);
	view_done(v);

	/* A last line without newline is still a row of its own. */
	v = render_s("a\nb\n", "a\nb\nc", DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 3);
	check_row(&v->rows[2], '+', -1, 3, "+c");
	assert_int_equal(st.additions, 1);
	view_done(v);

	/*
	 * Adding the final newline changes the last line, as in diff(1)
	 * and git, even though the rows show the same text.
	 */
	v = render_s("a\nb", "a\nb\nc\n", DIFFHTML_MINIMAL, &st);
	assert_int_equal(st.additions, 2);
	assert_int_equal(st.deletions, 1);
	check_row(&v->rows[0], ' ', 1, 1, " a");
	check_row(&v->rows[1], '-', 2, -1, "-b");
	check_row(&v->rows[2], '+', -1, 2, "+b");
	check_row(&v->rows[3], '+', -1, 3, "+c");
	view_done(v);

	/* So does a file converted from CRLF to LF: every line. */
	v = render_s("a\r\nb\r\n", "a\nb\n", DIFFHTML_MINIMAL, &st);
	assert_int_equal(st.additions, 2);
	assert_int_equal(st.deletions, 2);
	assert_null(strchr(v->html, '\r'));
	view_done(v);
}

static void
test_invalid_utf8(void **state)
{
	struct view	*v;
	const char	 old[] = "x\n";
	/* Bad byte, bad continuation, a NUL, valid text, cut sequence. */
	const char	 new[] = "x\nok\xff\xc3(\n\xe2\x82\n"
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\na\0b\n\xed\xa0\x80!\n";

	(void)state;
	v = render(old, sizeof(old) - 1, new, sizeof(new) - 1, "bad\xfe.txt",
	    DIFFHTML_MINIMAL, NULL);
	assert_int_equal(v->nrows, 6);
	check_row(&v->rows[1], '+', -1, 2, "+ok\xef\xbf\xbd\xef\xbf\xbd(");
	check_row(&v->rows[2], '+', -1, 3, "+\xef\xbf\xbd");
	check_row(&v->rows[3], '+', -1, 4,
	    "+caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_row(&v->rows[4], '+', -1, 5, "+a\xef\xbf\xbd" "b");
	/* A surrogate is three invalid subparts. */
	check_row(&v->rows[5], '+', -1, 6,
	    "+\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	assert_non_null(strstr(v->html, "bad\xef\xbf\xbd.txt"));
	view_done(v);
}

/* n lines "<prefix><i>\n", i from 0. */
static char *
lines_of(size_t n, const char *prefix)
{
	char	*s, *p;
	size_t	 i;

	s = p = malloc(n * 32 + 1);
	assert_non_null(s);
	*p = '\0';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%zu\n", prefix, i);
	return s;
}

static void
check_simple(const char *old, size_t oldlen, const char *new, size_t newlen,
    int want)
{
	char	*min, *full;
	int	 differs;

	diffhtml_render_both(old, oldlen, new, newlen, "big.log", &min, &full,
	    &differs);
	assert_true(utf8_valid(min, strlen(min)));
	if (want) {
		assert_non_null(strstr(min, "<span class=\"file-path\">big.log"
		    " (Large file - simplified view)</span>"));
		assert_null(strstr(min, "diff-toggle-btn"));
		assert_string_equal(min, full);
		assert_false(differs);
	} else {
		assert_null(strstr(min, "simplified view"));
		assert_non_null(strstr(min, "diff-toggle-btn"));
		assert_true(differs);
	}
	free(min);
	free(full);
}

static void
test_simplified_thresholds(void **state)
{
	char	*a, *b, *big;
	size_t	 n;

	(void)state;
	/* 5 000 newlines is fine, 5 001 is large, on either side. */
	a = lines_of(5000, "");
	b = lines_of(5001, "");
	check_simple(a, strlen(a), a, strlen(a), 0);
	check_simple(a, strlen(a), b, strlen(b), 1);
	check_simple(b, strlen(b), a, strlen(a), 1);
	free(a);
	free(b);

	/* 500 000 bytes is fine, 500 001 is large. */
	n = 500000;
	big = malloc(n + 2);
	assert_non_null(big);
	memset(big, 'x', n + 1);
	big[n + 1] = '\0';
	check_simple(big, n, "x\n", 2, 0);
	check_simple(big, n + 1, "x\n", 2, 1);
	check_simple("x\n", 2, big, n + 1, 1);
	free(big);
}

static void
test_simplified_rows(void **state)
{
	struct diffhtml_stats	 st;
	struct view		*v;
	char			*a, *b, *big;
	size_t			 n = 600000;

	(void)state;
	/* 6 000 lines replaced: rows stop at 500, stats count them all. */
	a = lines_of(6000, "old ");
	b = lines_of(6000, "new ");
	v = render(a, strlen(a), b, strlen(b), "big", DIFFHTML_FULL, &st);
	assert_int_equal(v->nrows, 500);
	assert_int_equal(st.additions, 6000);
	assert_int_equal(st.deletions, 6000);
	assert_non_null(strstr(v->html, "data-view-mode=\"minimal\""));
	check_row(&v->rows[0], '-', 1, -1, "-old 0");
	view_done(v);
	free(a);
	free(b);

	/* One enormous line is cut in the simplified view. */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'y', n);
	big[n] = '\0';
	v = render("", 0, big, n, "one-line", DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 1);
	assert_true(strlen(v->rows[0].text) < 5000);
	assert_non_null(strstr(v->rows[0].text, "yyy\xe2\x80\xa6"));
	view_done(v);
	free(big);
}

static void
test_row_cap(void **state)
{
	struct diffhtml_stats	 st;
	struct view		*v;
	char			*a, *b;
	size_t			 i;

	(void)state;
	a = lines_of(600, "old ");
	b = lines_of(600, "new ");
	v = render(a, strlen(a), b, strlen(b), "f", DIFFHTML_MINIMAL, &st);
	assert_int_equal(v->nrows, 1000);
	assert_int_equal(st.additions, 600);
	assert_int_equal(st.deletions, 600);
	/* Deletions first, then insertions, each numbered in order. */
	for (i = 0; i < 600; i++)
		assert_int_equal(v->rows[i].old, (long)i + 1);
	for (i = 600; i < 1000; i++)
		assert_int_equal(v->rows[i].new, (long)i - 599);
	assert_null(strstr(v->html, "simplified"));
	view_done(v);
	free(a);
	free(b);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_time_bound(void **state)
{
	static const char	*pool[] = { "}", "", "\treturn 0;", "{",
	    "\tint i;", "\ti++;" };
	struct diffhtml_stats	 st;
	char			*a, *b, *pa, *pb, *min, *full;
	unsigned		 seed = 4242;
	size_t			 i;
	double			 t;
	int			 differs;

	(void)state;
	/* Every line different. */
	a = lines_of(5000, "alpha ");
	b = lines_of(5000, "beta ");
	t = now();
	diffhtml_render_both(a, strlen(a), b, strlen(b), "f", &min, &full,
	    &differs);
	t = now() - t;
	print_message("5000 vs 5000 distinct lines: %.1f ms\n", t * 1000);
	assert_true(t < 0.5);
	free(min);
	free(full);
	free(a);
	free(b);

	/* Few distinct lines in random order: many matches, large distance. */
	pa = a = malloc(5000 * 16);
	pb = b = malloc(5000 * 16);
	assert_non_null(a);
	assert_non_null(b);
	for (i = 0; i < 5000; i++) {
		pa += sprintf(pa, "%s\n", pool[rand_r(&seed) % 6]);
		pb += sprintf(pb, "%s\n", pool[rand_r(&seed) % 6]);
	}
	t = now();
	min = diffhtml_render(a, pa - a, b, pb - b, "f", DIFFHTML_MINIMAL,
	    &st);
	t = now() - t;
	print_message("5000 vs 5000 shuffled lines: %.1f ms (+%zu -%zu)\n",
	    t * 1000, st.additions, st.deletions);
	assert_true(t < 0.5);
	assert_int_equal(5000 + st.additions - st.deletions, 5000);
	free(min);
	free(a);
	free(b);
}

static void
test_unavailable(void **state)
{
	char	*h;

	(void)state;
	h = diffhtml_unavailable("pic<1>.png");
	assert_true(utf8_valid(h, strlen(h)));
	assert_non_null(strstr(h, "<div class=\"unified-diff-container\""));
	assert_non_null(strstr(h, "<span class=\"file-path\">pic&lt;1&gt;.png"
	    " (Diff unavailable)</span>"));
	assert_non_null(strstr(h, "Diff view unavailable for this file"));
	assert_non_null(strstr(h, "File may be too large or binary"));
	assert_null(strstr(h, "<table"));
	free(h);
	h = diffhtml_unavailable(NULL);
	assert_non_null(strstr(h, "<span class=\"file-path\"> (Diff unavailable)"));
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_context_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_render_both),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_creation_deletion),
		cmocka_unit_test(test_crlf_and_eol),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_simplified_thresholds),
		cmocka_unit_test(test_simplified_rows),
		cmocka_unit_test(test_row_cap),
		cmocka_unit_test(test_time_bound),
		cmocka_unit_test(test_unavailable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
