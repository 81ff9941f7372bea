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

#include "linediff.h"

/* A test's two sides, split from literal text. */
struct pair {
	char		*ta, *tb;
	struct ld_line	*a, *b;
	size_t		 na, nb;
};

static void
pair_init(struct pair *p, const char *ta, const char *tb)
{
	p->ta = strdup(ta);
	p->tb = strdup(tb);
	assert_non_null(p->ta);
	assert_non_null(p->tb);
	p->a = ld_split(p->ta, strlen(p->ta), &p->na);
	p->b = ld_split(p->tb, strlen(p->tb), &p->nb);
}

static void
pair_free(struct pair *p)
{
	free(p->a);
	free(p->b);
	free(p->ta);
	free(p->tb);
}

static int
line_eq(const struct ld_line *x, const struct ld_line *y)
{
	return x->len == y->len && memcmp(x->text, y->text, x->len) == 0;
}

/*
 * Replay the script: every line of a is kept or deleted in order, every
 * line of b kept or inserted in order, kept lines are equal, and the
 * indices are the running positions. Returns the number of changes.
 */
static size_t
replay(const struct ld_line *a, size_t na, const struct ld_line *b, size_t nb,
    const struct ld_edit *e, size_t ne)
{
	size_t	k, i = 0, j = 0, d = 0;

	for (k = 0; k < ne; k++) {
		switch (e[k].op) {
		case LD_EQUAL:
			assert_int_equal(e[k].old_idx, i);
			assert_int_equal(e[k].new_idx, j);
			assert_true(i < na && j < nb);
			assert_true(line_eq(&a[i], &b[j]));
			i++;
			j++;
			break;
		case LD_DELETE:
			assert_int_equal(e[k].old_idx, i);
			assert_true(i < na);
			i++;
			d++;
			break;
		case LD_INSERT:
			assert_int_equal(e[k].new_idx, j);
			assert_true(j < nb);
			j++;
			d++;
			break;
		default:
			fail_msg("bad op %d", (int)e[k].op);
		}
	}
	assert_int_equal(i, na);
	assert_int_equal(j, nb);
	return d;
}

/* Edit distance by the textbook LCS table, two rows at a time. */
static size_t
oracle_cost(const struct ld_line *a, size_t na, const struct ld_line *b,
    size_t nb)
{
	size_t	*prev, *cur, *t, i, j, lcs;

	prev = calloc(nb + 1, sizeof(*prev));
	cur = calloc(nb + 1, sizeof(*cur));
	assert_non_null(prev);
	assert_non_null(cur);
	for (i = 1; i <= na; i++) {
		for (j = 1; j <= nb; j++) {
			if (line_eq(&a[i - 1], &b[j - 1]))
				cur[j] = prev[j - 1] + 1;
			else
				cur[j] = prev[j] > cur[j - 1] ? prev[j] :
				    cur[j - 1];
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	lcs = prev[nb];
	free(prev);
	free(cur);
	return na + nb - 2 * lcs;
}

static size_t
diff_cost(struct pair *p, size_t max_cost)
{
	struct ld_edit	*e;
	size_t		 ne, d;

	e = ld_diff(p->a, p->na, p->b, p->nb, max_cost, &ne);
	assert_non_null(e);
	d = replay(p->a, p->na, p->b, p->nb, e, ne);
	free(e);
	return d;
}

/* Random text of n lines drawn from the first `alpha` of a few words. */
static char *
random_text(size_t n, size_t alpha, unsigned *seed)
{
	static const char	*words[] = { "alpha", "", "}", "beta",
	    "\treturn 0;", "gamma delta epsilon", "x", "{" };
	char			*s, *p;
	size_t			 i;

	s = p = malloc(n * 24 + 1);
	assert_non_null(s);
	*p = '\0';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\n", words[rand_r(seed) % alpha]);
	return s;
}

static void
test_split(void **state)
{
	struct ld_line	*l;
	size_t		 n;
	const char	*t;

	(void)state;
	t = "a\nbb\r\nccc";
	l = ld_split(t, strlen(t), &n);
	assert_int_equal(n, 3);
	assert_ptr_equal(l[0].text, t);
	assert_int_equal(l[0].len, 1);
	assert_ptr_equal(l[1].text, t + 2);
	assert_int_equal(l[1].len, 2);		/* "\r" left out */
	assert_ptr_equal(l[2].text, t + 6);
	assert_int_equal(l[2].len, 3);		/* no terminator at all */
	free(l);

	l = ld_split("", 0, &n);
	assert_non_null(l);
	assert_int_equal(n, 0);
	free(l);
	l = ld_split(NULL, 0, &n);
	assert_non_null(l);
	assert_int_equal(n, 0);
	free(l);

	l = ld_split("\n", 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].len, 0);
	free(l);

	l = ld_split("x\n", 2, &n);		/* trailing newline: no extra line */
	assert_int_equal(n, 1);
	assert_int_equal(l[0].len, 1);
	free(l);

	l = ld_split("\r\n\r\n", 4, &n);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].len, 0);
	assert_int_equal(l[1].len, 0);
	free(l);

	/* A lone CR is content, only "\r\n" is a terminator. */
	l = ld_split("a\rb\nc\r", 6, &n);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].len, 3);
	assert_int_equal(l[1].len, 2);
	free(l);

	/* Embedded NUL bytes do not end a line. */
	l = ld_split("a\0b\nc", 5, &n);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].len, 3);
	free(l);
}

static void
test_identical(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	size_t		 ne, k;

	(void)state;
	pair_init(&p, "one\ntwo\nthree\n", "one\ntwo\nthree\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(ne, 3);
	for (k = 0; k < ne; k++) {
		assert_int_equal(e[k].op, LD_EQUAL);
		assert_int_equal(e[k].old_idx, k);
		assert_int_equal(e[k].new_idx, k);
	}
	free(e);
	pair_free(&p);

	pair_init(&p, "", "");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_non_null(e);
	assert_int_equal(ne, 0);
	free(e);
	pair_free(&p);
}

static void
test_creation_deletion(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	size_t		 ne, k;

	(void)state;
	pair_init(&p, "", "a\nb\nc\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(ne, 3);
	for (k = 0; k < ne; k++) {
		assert_int_equal(e[k].op, LD_INSERT);
		assert_int_equal(e[k].new_idx, k);
	}
	free(e);
	pair_free(&p);

	pair_init(&p, "a\nb\nc\n", "");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(ne, 3);
	for (k = 0; k < ne; k++) {
		assert_int_equal(e[k].op, LD_DELETE);
		assert_int_equal(e[k].old_idx, k);
	}
	free(e);
	pair_free(&p);
}

static void
test_known_minimal(void **state)
{
	static const struct {
		const char	*a, *b;
		size_t		 cost;
	} cases[] = {
		/* Myers' paper: ABCABBA -> CBABAC is 5 edits. */
		{ "A\nB\nC\nA\nB\nB\nA\n", "C\nB\nA\nB\nA\nC\n", 5 },
		{ "a\nb\nc\n", "a\nx\nc\n", 2 },
		{ "a\nb\nc\n", "a\nc\n", 1 },
		{ "a\nc\n", "a\nb\nc\n", 1 },
		{ "a\nb\nc\nd\n", "d\nc\nb\na\n", 6 },
		{ "x\nx\nx\n", "x\n", 2 },
		{ "a\nb\n", "c\nd\n", 4 },
		{ "p\nq\nr\ns\nt\n", "q\nr\nX\ns\nt\np\n", 3 },
	};
	struct pair	p;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pair_init(&p, cases[i].a, cases[i].b);
		assert_int_equal(oracle_cost(p.a, p.na, p.b, p.nb),
		    cases[i].cost);
		assert_int_equal(diff_cost(&p, 1000), cases[i].cost);
		/* A cost bound exactly at the distance still gives the minimum. */
		assert_int_equal(diff_cost(&p, cases[i].cost), cases[i].cost);
		pair_free(&p);
	}
}

static void
test_replace_order(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	size_t		 ne;

	(void)state;
	/* A changed line reads as its deletion, then its insertion. */
	pair_init(&p, "a\nold\nz\n", "a\nnew\nz\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(ne, 4);
	assert_int_equal(e[0].op, LD_EQUAL);
	assert_int_equal(e[1].op, LD_DELETE);
	assert_int_equal(e[1].old_idx, 1);
	assert_int_equal(e[2].op, LD_INSERT);
	assert_int_equal(e[2].new_idx, 1);
	assert_int_equal(e[3].op, LD_EQUAL);
	assert_int_equal(e[3].old_idx, 2);
	assert_int_equal(e[3].new_idx, 2);
	free(e);
	pair_free(&p);
}

static void
test_random_minimal(void **state)
{
	struct pair	 p;
	unsigned	 seed = 12345;
	size_t		 it, opt;
	char		*ta, *tb;

	(void)state;
	for (it = 0; it < 3000; it++) {
		ta = random_text(rand_r(&seed) % 40, 1 + rand_r(&seed) % 6,
		    &seed);
		tb = random_text(rand_r(&seed) % 40, 1 + rand_r(&seed) % 6,
		    &seed);
		pair_init(&p, ta, tb);
		opt = oracle_cost(p.a, p.na, p.b, p.nb);
		assert_int_equal(diff_cost(&p, 100000), opt);
		assert_int_equal(diff_cost(&p, opt), opt);
		/* Below the distance: still a valid script, never shorter. */
		assert_true(diff_cost(&p, rand_r(&seed) % 4) >= opt);
		pair_free(&p);
		free(ta);
		free(tb);
	}
}

static void
test_max_cost_fallback(void **state)
{
	struct pair	 p;
	unsigned	 seed = 777;
	size_t		 opt, d, mc;
	char		*ta, *tb;

	(void)state;
	ta = random_text(2000, 4, &seed);
	tb = random_text(2000, 4, &seed);
	pair_init(&p, ta, tb);
	opt = oracle_cost(p.a, p.na, p.b, p.nb);
	assert_true(opt > 100);
	for (mc = 0; mc <= 64; mc = mc ? mc * 4 : 1) {
		d = diff_cost(&p, mc);
		assert_true(d >= opt);
		/* Not minimal, but not the trivial delete-all/insert-all. */
		assert_true(d < p.na + p.nb);
	}
	assert_int_equal(diff_cost(&p, 100000), opt);
	pair_free(&p);
	free(ta);
	free(tb);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_bounded_time(void **state)
{
	struct pair	 p;
	unsigned	 seed = 99;
	double		 t;
	char		*ta, *tb, *s;
	size_t		 i;

	(void)state;
	/* Worst case for Myers: long, many matches, differs everywhere. */
	ta = random_text(20000, 3, &seed);
	tb = random_text(20000, 3, &seed);
	pair_init(&p, ta, tb);
	t = now();
	(void)diff_cost(&p, 200);
	t = now() - t;
	print_message("20000 x 20000 lines, 3 distinct: %.1f ms\n", t * 1000);
	assert_true(t < 1.0);
	pair_free(&p);
	free(ta);
	free(tb);

	/* No line in common: settled before any search. */
	ta = malloc(5000 * 16);
	tb = malloc(5000 * 16);
	assert_non_null(ta);
	assert_non_null(tb);
	for (s = ta, i = 0; i < 5000; i++)
		s += sprintf(s, "old %zu\n", i);
	for (s = tb, i = 0; i < 5000; i++)
		s += sprintf(s, "new %zu\n", i);
	pair_init(&p, ta, tb);
	t = now();
	assert_int_equal(diff_cost(&p, 1000000), 10000);
	t = now() - t;
	assert_true(t < 0.5);
	pair_free(&p);
	free(ta);
	free(tb);
}

static void
test_slide_down(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	size_t		 ne, k, ins[2], nins = 0;

	(void)state;
	/*
	 * The block can be "\nz" after x or "z\n" after the blank line;
	 * like diff(1), the inserted block goes as low as it can.
	 */
	pair_init(&p, "x\n\ny\n", "x\n\nz\n\ny\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(replay(p.a, p.na, p.b, p.nb, e, ne), 2);
	for (k = 0; k < ne; k++)
		if (e[k].op == LD_INSERT)
			ins[nins++] = e[k].new_idx;
	assert_int_equal(nins, 2);
	assert_int_equal(ins[0], 2);
	assert_int_equal(ins[1], 3);
	free(e);
	pair_free(&p);

	/*
	 * Here the search itself lands the insertion between b and the
	 * first a ("-a =b +a =a"); sliding gives "-a =b =a +a".
	 */
	pair_init(&p, "a\nb\na\n", "b\na\na\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(replay(p.a, p.na, p.b, p.nb, e, ne), 2);
	assert_int_equal(ne, 4);
	assert_int_equal(e[0].op, LD_DELETE);
	assert_int_equal(e[1].op, LD_EQUAL);
	assert_int_equal(e[2].op, LD_EQUAL);
	assert_int_equal(e[2].old_idx, 2);
	assert_int_equal(e[2].new_idx, 1);
	assert_int_equal(e[3].op, LD_INSERT);
	assert_int_equal(e[3].new_idx, 2);
	free(e);
	pair_free(&p);

	/*
	 * A new function between two others: of the three equally short
	 * placements, the one ending with the blank line wins, so the
	 * block reads "static int / a() / { / } / (blank)".
	 */
	pair_init(&p, "}\n\nstatic int\nb()\n",
	    "}\n\nstatic int\na()\n{\n}\n\nstatic int\nb()\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(replay(p.a, p.na, p.b, p.nb, e, ne), 5);
	for (nins = 0, k = 0; k < ne; k++)
		if (e[k].op == LD_INSERT) {
			assert_int_equal(e[k].new_idx, 2 + nins);
			nins++;
		}
	assert_int_equal(nins, 5);
	free(e);
	pair_free(&p);

	/* The same for a deleted function, whichever way the search went. */
	pair_init(&p, "x\n\nstatic void\nf()\n{\n}\n\nstatic void\ng()\n",
	    "x\n\nstatic void\ng()\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(replay(p.a, p.na, p.b, p.nb, e, ne), 5);
	for (nins = 0, k = 0; k < ne; k++)
		if (e[k].op == LD_DELETE) {
			assert_int_equal(e[k].old_idx, 2 + nins);
			nins++;
		}
	assert_int_equal(nins, 5);
	free(e);
	pair_free(&p);

	/* Same for a deleted function followed by an identical closing brace. */
	pair_init(&p, "f() {\n}\ng() {\n}\nh() {\n}\n", "f() {\n}\nh() {\n}\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 100, &ne);
	assert_int_equal(replay(p.a, p.na, p.b, p.nb, e, ne), 2);
	for (k = 0; k < ne; k++)
		if (e[k].op == LD_DELETE)
			assert_true(e[k].old_idx == 2 || e[k].old_idx == 3);
	free(e);
	pair_free(&p);
}

/* Check a hunk against the edits it covers. */
static void
check_hunk(const struct ld_edit *e, const struct ld_hunk *h, size_t first,
    size_t last, size_t os, size_t ol, size_t ns, size_t nl)
{
	size_t	k, o = 0, n = 0;

	assert_int_equal(h->first, first);
	assert_int_equal(h->last, last);
	assert_int_equal(h->old_start, os);
	assert_int_equal(h->old_len, ol);
	assert_int_equal(h->new_start, ns);
	assert_int_equal(h->new_len, nl);
	for (k = first; k < last; k++) {
		o += e[k].op != LD_INSERT;
		n += e[k].op != LD_DELETE;
	}
	assert_int_equal(o, ol);
	assert_int_equal(n, nl);
}

/* n numbered lines, with the 1-based lines listed in `changed` altered. */
static char *
numbered(size_t n, const size_t *changed, size_t nchanged)
{
	char	*s, *p;
	size_t	 i, k;
	int	 alt;

	s = p = malloc(n * 16 + 1);
	assert_non_null(s);
	*p = '\0';
	for (i = 1; i <= n; i++) {
		for (alt = 0, k = 0; k < nchanged; k++)
			alt |= changed[k] == i;
		p += sprintf(p, "%s%zu\n", alt ? "changed " : "line ", i);
	}
	return s;
}

static struct ld_hunk *
hunks_for(struct pair *p, const size_t *ch, size_t nch, size_t n,
    size_t context, struct ld_edit **e, size_t *ne, size_t *nh)
{
	char	*ta, *tb;

	ta = numbered(n, NULL, 0);
	tb = numbered(n, ch, nch);
	pair_init(p, ta, tb);
	free(ta);
	free(tb);
	*e = ld_diff(p->a, p->na, p->b, p->nb, 1000, ne);
	return ld_hunks(*e, *ne, context, nh);
}

static void
test_hunks(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	struct ld_hunk	*h;
	size_t		 ne, nh;
	size_t		 far[] = { 2, 20 }, near6[] = { 5, 12 };
	size_t		 near7[] = { 5, 13 }, near5[] = { 5, 11 };

	(void)state;
	/*
	 * Lines 2 and 20 of 30 changed. Edits: 1 equal, -2 +2 (index 1,
	 * 2), equal 3..19 (index 3..19), -20 +20 (index 20, 21), equal
	 * 21..30 (index 22..31).
	 */
	h = hunks_for(&p, far, 2, 30, 3, &e, &ne, &nh);
	assert_int_equal(ne, 32);
	assert_int_equal(nh, 2);
	/* Leading context is cut at the start of the file. */
	check_hunk(e, &h[0], 0, 6, 1, 5, 1, 5);
	check_hunk(e, &h[1], 17, 25, 17, 7, 17, 7);
	free(h);
	free(e);
	pair_free(&p);

	/* 6 equal lines between the changes (= 2 * context): one hunk. */
	h = hunks_for(&p, near6, 2, 20, 3, &e, &ne, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 1, 17, 2, 14, 2, 14);
	free(h);
	free(e);
	pair_free(&p);

	/* 7 equal lines between them: two hunks. */
	h = hunks_for(&p, near7, 2, 20, 3, &e, &ne, &nh);
	assert_int_equal(nh, 2);
	check_hunk(e, &h[0], 1, 9, 2, 7, 2, 7);
	check_hunk(e, &h[1], 10, 18, 10, 7, 10, 7);
	free(h);
	free(e);
	pair_free(&p);

	/* Context 0: the bare changes, one hunk each. */
	h = hunks_for(&p, near5, 2, 20, 0, &e, &ne, &nh);
	assert_int_equal(nh, 2);
	check_hunk(e, &h[0], 4, 6, 5, 1, 5, 1);
	check_hunk(e, &h[1], 11, 13, 11, 1, 11, 1);
	free(h);
	free(e);
	pair_free(&p);

	/* A context covering the file gives one hunk of everything. */
	h = hunks_for(&p, far, 2, 30, 60, &e, &ne, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 0, 32, 1, 30, 1, 30);
	free(h);
	free(e);
	pair_free(&p);

	/* A huge context must not overflow the joining rule. */
	h = hunks_for(&p, far, 2, 30, SIZE_MAX, &e, &ne, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 0, 32, 1, 30, 1, 30);
	free(h);
	free(e);
	pair_free(&p);
}

static void
test_hunks_edges(void **state)
{
	struct pair	 p;
	struct ld_edit	*e;
	struct ld_hunk	*h;
	size_t		 ne, nh;

	(void)state;
	/* No change: no hunk. */
	pair_init(&p, "a\nb\n", "a\nb\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 10, &ne);
	h = ld_hunks(e, ne, 3, &nh);
	assert_non_null(h);
	assert_int_equal(nh, 0);
	free(h);
	free(e);
	pair_free(&p);

	/* Creation: "@@ -0,0 +1,2 @@". */
	pair_init(&p, "", "a\nb\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 10, &ne);
	h = ld_hunks(e, ne, 3, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 0, 2, 0, 0, 1, 2);
	free(h);
	free(e);
	pair_free(&p);

	/* Deletion: "@@ -1,2 +0,0 @@". */
	pair_init(&p, "a\nb\n", "");
	e = ld_diff(p.a, p.na, p.b, p.nb, 10, &ne);
	h = ld_hunks(e, ne, 3, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 0, 2, 1, 2, 0, 0);
	free(h);
	free(e);
	pair_free(&p);

	/* Pure insertion after line 5 with no context: "@@ -5,0 +6,1 @@". */
	pair_init(&p, "1\n2\n3\n4\n5\n6\n", "1\n2\n3\n4\n5\nnew\n6\n");
	e = ld_diff(p.a, p.na, p.b, p.nb, 10, &ne);
	h = ld_hunks(e, ne, 0, &nh);
	assert_int_equal(nh, 1);
	check_hunk(e, &h[0], 5, 6, 5, 0, 6, 1);
	free(h);
	free(e);
	pair_free(&p);

	h = ld_hunks(NULL, 0, 3, &nh);
	assert_non_null(h);
	assert_int_equal(nh, 0);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_creation_deletion),
		cmocka_unit_test(test_known_minimal),
		cmocka_unit_test(test_replace_order),
		cmocka_unit_test(test_random_minimal),
		cmocka_unit_test(test_max_cost_fallback),
		cmocka_unit_test(test_bounded_time),
		cmocka_unit_test(test_slide_down),
		cmocka_unit_test(test_hunks),
		cmocka_unit_test(test_hunks_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
