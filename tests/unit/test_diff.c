#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/diff.h"

static char	errbuf[512];

static void
parse_ok(const char *text, struct diff *d)
{
	errbuf[0] = '\0';
	if (diff_parse(text, strlen(text), d, errbuf, sizeof(errbuf)) != 0)
		fail_msg("diff_parse failed: %s\n--- input:\n%s", errbuf, text);
}

/* Parses text, expects failure, returns the message. */
static const char *
parse_err(const char *text)
{
	struct diff	d;

	errbuf[0] = '\0';
	if (diff_parse(text, strlen(text), &d, errbuf, sizeof(errbuf)) == 0) {
		diff_free(&d);
		fail_msg("diff_parse accepted:\n%s", text);
	}
	assert_null(d.files);
	assert_int_equal(d.nfiles, 0);
	return errbuf;
}

static void
assert_line(const struct diff_line *l, char op, const char *text)
{
	assert_int_equal(l->op, op);
	assert_int_equal(l->len, strlen(text));
	assert_memory_equal(l->text, text, l->len);
}

static void
test_basic(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	parse_ok("diff --git a/src/x.c b/src/x.c\n"
	    "index 83db48f..bf269f4 100644\n"
	    "--- a/src/x.c\n"
	    "+++ b/src/x.c\n"
	    "@@ -10,4 +10,5 @@ int main(void)\n"
	    " one\n"
	    "-two\n"
	    "+TWO\n"
	    "+2b\n"
	    " three\n"
	    " four\n", &d);
	assert_int_equal(d.nfiles, 1);
	assert_string_equal(d.files[0].old_path, "src/x.c");
	assert_string_equal(d.files[0].new_path, "src/x.c");
	assert_int_equal(d.files[0].nhunks, 1);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->old_start, 10);
	assert_int_equal(h->old_len, 4);
	assert_int_equal(h->new_start, 10);
	assert_int_equal(h->new_len, 5);
	assert_int_equal(h->nlines, 6);
	assert_line(&h->lines[0], ' ', "one");
	assert_line(&h->lines[1], '-', "two");
	assert_line(&h->lines[2], '+', "TWO");
	assert_line(&h->lines[3], '+', "2b");
	assert_line(&h->lines[4], ' ', "three");
	assert_line(&h->lines[5], ' ', "four");
	assert_false(h->lines[5].noeol);
	diff_free(&d);
	assert_null(d.files);
}

/* The original stopped at an empty line and dropped later hunks. */
static void
test_blank_context(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	parse_ok("--- a/f\n+++ b/f\n"
	    "@@ -1,4 +1,4 @@\n"
	    " a\n"
	    "\n"
	    "-b\n"
	    "+B\n"
	    "\n"
	    "@@ -20,3 +20,3 @@\n"
	    " x\n"
	    "\r\n"
	    "-y\n"
	    "+Y\n", &d);
	assert_int_equal(d.files[0].nhunks, 2);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->nlines, 5);
	assert_line(&h->lines[1], ' ', "");
	assert_line(&h->lines[4], ' ', "");
	h = &d.files[0].hunks[1];
	assert_int_equal(h->old_start, 20);
	assert_int_equal(h->nlines, 4);
	assert_line(&h->lines[1], ' ', "");
	assert_line(&h->lines[3], '+', "Y");
	diff_free(&d);

	/* A lone "\r" as the text's last line is an empty context line. */
	parse_ok("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n\r", &d);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->nlines, 3);
	assert_line(&h->lines[2], ' ', "");
	diff_free(&d);
}

static void
test_crlf_text(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	parse_ok("--- a/f\r\n+++ b/f\r\n@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+c\r\n",
	    &d);
	assert_string_equal(d.files[0].old_path, "f");
	h = &d.files[0].hunks[0];
	assert_line(&h->lines[0], ' ', "a");
	assert_line(&h->lines[1], '-', "b");
	assert_line(&h->lines[2], '+', "c");
	diff_free(&d);

	/* A "\r" not before "\n" is text. */
	parse_ok("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\rb\n+c\r", &d);
	h = &d.files[0].hunks[0];
	assert_line(&h->lines[0], '-', "a\rb");
	assert_line(&h->lines[1], '+', "c\r");
	diff_free(&d);
}

static void
test_header_forms(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	/* Missing lengths are 1; zero lengths; text after the second @@. */
	parse_ok("--- a/f\n+++ b/f\n@@ -3 +3 @@\n-x\n+y\n"
	    "@@ -7,0 +8,1 @@ section@@ text\n+z\n", &d);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->old_start, 3);
	assert_int_equal(h->old_len, 1);
	assert_int_equal(h->new_len, 1);
	h = &d.files[0].hunks[1];
	assert_int_equal(h->old_start, 7);
	assert_int_equal(h->old_len, 0);
	assert_int_equal(h->new_start, 8);
	assert_int_equal(h->new_len, 1);
	assert_line(&h->lines[0], '+', "z");
	diff_free(&d);

	parse_ok("--- a/f\n+++ b/f\n@@ -100000000,1 +100000000,1 @@\n-x\n+y\n",
	    &d);
	assert_int_equal(d.files[0].hunks[0].old_start, 100000000);
	diff_free(&d);
}

static void
test_invalid_header(void **state)
{
	static const char *bad[] = {
		"@@ -a +1 @@",
		"@@ -1,2 +1,2",
		"@@ -1,2 +1,2 @",
		"@@  -1 +1 @@",
		"@@ -1, +1 @@",
		"@@ -1 1 @@",
		"@@ -100000001 +1 @@",
		"@@ -1 +1,99999999999999999999999 @@",
		"@@@ -1,1 -1,1 +1,1 @@@",
		"@@",
	};
	char	text[256], want[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "--- a/f\n+++ b/f\n%s\n-x\n+y\n",
		    bad[i]);
		snprintf(want, sizeof(want), "Invalid hunk header: %s", bad[i]);
		assert_string_equal(parse_err(text), want);
	}
	/* The second hunk's header is checked too. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y\n"
	    "@@ -5 +5 @\n-a\n+b\n"), "Invalid hunk header: @@ -5 +5 @");
}

static void
test_structure_errors(void **state)
{
	(void)state;
	assert_string_equal(parse_err("--- a/f\n@@ -1 +1 @@\n-a\n+b\n"),
	    "Missing +++ line after --- line");
	assert_string_equal(parse_err("--- a/f"),
	    "Missing +++ line after --- line");
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n"),
	    "No hunks found for file diff");
	assert_string_equal(parse_err("--- a/f\n+++ b/f\nhello\n@@ -1 +1 @@\n"
	    "-a\n+b\n"), "No hunks found for file diff");
	assert_string_equal(parse_err(""),
	    "No valid file patches found in diff");
	assert_string_equal(parse_err("just some words\nand more\n"),
	    "No valid file patches found in diff");
	assert_string_equal(parse_err("diff --git a/x b/x\nindex 1..2\n"),
	    "No valid file patches found in diff");
	assert_string_equal(parse_err("--- /dev/null\n+++ /dev/null\n"
	    "@@ -0,0 +1 @@\n+a\n"),
	    "Invalid file header: both paths are /dev/null");
	assert_string_equal(parse_err("--- a/\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"),
	    "Invalid path in diff header: --- a/");
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -5 +5 @@\n-a\n+b\n"
	    "@@ -3 +3 @@\n-c\n+d\n"),
	    "Hunks for f are not in ascending order (line 3 after line 5)");
	/* A hunk without its file header would otherwise vanish. */
	assert_string_equal(parse_err("@@ -1 +1 @@\n-a\n+b\n"),
	    "Hunk without a file header: @@ -1 +1 @@");
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
	    "some prose\n@@ -9 +9 @@\n-c\n+d\n"),
	    "Hunk without a file header: @@ -9 +9 @@");
}

static void
test_nul_path(void **state)
{
	static const char text[] = "--- a/f\0x\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
	static const char quoted[] =
	    "--- \"a/f\\000x\"\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
	struct diff	d;

	(void)state;
	assert_int_equal(diff_parse(text, sizeof(text) - 1, &d, errbuf,
	    sizeof(errbuf)), -1);
	assert_string_equal(errbuf,
	    "Invalid path in diff header: contains a NUL byte");
	assert_string_equal(parse_err(quoted),
	    "Invalid path in diff header: contains a NUL byte");
}

static void
test_count_mismatch(void **state)
{
	(void)state;
	/* Too short: the next file's header is not a hunk line. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n"
	    " a\n-b\n+c\ndiff --git a/g b/g\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n"
	    "-x\n+y\n"),
	    "Hunk line count mismatch in f: expected -3/+3, got -2/+2");
	/* Too short at the end of the text. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,3 +1,2 @@\n"
	    " a\n-b\n"),
	    "Hunk line count mismatch in f: expected -3/+2, got -2/+1");
	/* Too long: extra lines after the counts are used up. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1 +1 @@\n"
	    "-a\n+b\n c\n+d\n"),
	    "Hunk line count mismatch in f: expected -1/+1, got -2/+3");
	/* A removal beyond the old count. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,1 +1,2 @@\n"
	    "-a\n-b\n+c\n+d\n"),
	    "Hunk line count mismatch in f: expected -1/+2, got -2/+0");
	/* An addition beyond the new count. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1,1 @@\n"
	    "+c\n+d\n-a\n-b\n"),
	    "Hunk line count mismatch in f: expected -2/+1, got -0/+2");
	/* A context line when only removals are left. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1,1 @@\n"
	    " a\n\n-b\n"),
	    "Hunk line count mismatch in f: expected -2/+1, got -2/+2");
	/* A line with no valid prefix. */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n"
	    " a\nb\n"),
	    "Hunk line count mismatch in f: expected -2/+2, got -1/+1");
	/* A deletion names the old path. */
	assert_string_equal(parse_err("--- a/gone\n+++ /dev/null\n"
	    "@@ -1,2 +0,0 @@\n-a\n"),
	    "Hunk line count mismatch in gone: expected -2/+0, got -1/+0");
}

static void
test_hunk_lines_like_headers(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	/* Removing "-- x" and adding "++ y" look like headers: counts win. */
	parse_ok("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n--- x\n+++ y\n a\n"
	    "@@ -5,2 +5,2 @@\n a\n--- x\n+++ y\n", &d);
	assert_int_equal(d.files[0].nhunks, 2);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->nlines, 3);
	assert_line(&h->lines[0], '-', "-- x");
	assert_line(&h->lines[1], '+', "++ y");
	h = &d.files[0].hunks[1];
	assert_line(&h->lines[1], '-', "-- x");
	assert_line(&h->lines[2], '+', "++ y");
	diff_free(&d);

	/*
	 * But a short hunk must not swallow the next file's header, even
	 * when the counts would let it pass as one removal and one addition.
	 */
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n"
	    " a\n-b\n+c\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-x\n+y\n"),
	    "Hunk line count mismatch in f: expected -3/+3, got -2/+2");
}

static void
test_trailers(void **state)
{
	struct diff	d;

	(void)state;
	/* git format-patch signature, blank lines between and after. */
	parse_ok("From 1234 Mon Sep 17 00:00:00 2001\nSubject: x\n\n---\n"
	    " f | 2 +-\n\n"
	    "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n\n\n"
	    "@@ -4 +4 @@\n-c\n+d\n"
	    "-- \n2.39.2\n\n", &d);
	assert_int_equal(d.nfiles, 1);
	assert_int_equal(d.files[0].nhunks, 2);
	diff_free(&d);
}

static void
test_multiple_files(void **state)
{
	struct diff	d;

	(void)state;
	parse_ok("diff --git a/one.txt b/one.txt\n"
	    "index 1111111..2222222 100644\n"
	    "--- a/one.txt\n+++ b/one.txt\n@@ -1 +1 @@\n-1\n+one\n"
	    "diff --git a/new.txt b/new.txt\n"
	    "new file mode 100644\n"
	    "index 0000000..3333333\n"
	    "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+n1\n+n2\n"
	    "diff --git a/old.txt b/old.txt\n"
	    "deleted file mode 100644\n"
	    "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n"
	    "diff --git a/from.txt b/to.txt\n"
	    "similarity index 90%\nrename from from.txt\nrename to to.txt\n"
	    "--- a/from.txt\n+++ b/to.txt\n@@ -2 +2 @@\n-x\n+y\n", &d);
	assert_int_equal(d.nfiles, 4);
	assert_string_equal(d.files[0].old_path, "one.txt");
	assert_string_equal(d.files[0].new_path, "one.txt");
	assert_null(d.files[1].old_path);
	assert_string_equal(d.files[1].new_path, "new.txt");
	assert_int_equal(d.files[1].hunks[0].old_start, 0);
	assert_int_equal(d.files[1].hunks[0].old_len, 0);
	assert_int_equal(d.files[1].hunks[0].nlines, 2);
	assert_string_equal(d.files[2].old_path, "old.txt");
	assert_null(d.files[2].new_path);
	assert_int_equal(d.files[2].hunks[0].new_len, 0);
	assert_string_equal(d.files[3].old_path, "from.txt");
	assert_string_equal(d.files[3].new_path, "to.txt");
	diff_free(&d);
}

static void
test_paths(void **state)
{
	struct diff	d;

	(void)state;
	/* Trimmed, cut at a TAB, one a/ or b/ stripped, no other. */
	parse_ok("---   a/dir/f.c\t2024-01-01 10:00:00.0 +0000\n"
	    "+++ b/b/g.c   \n@@ -1 +1 @@\n-a\n+b\n", &d);
	assert_string_equal(d.files[0].old_path, "dir/f.c");
	assert_string_equal(d.files[0].new_path, "b/g.c");
	diff_free(&d);

	parse_ok("--- plain.txt\n+++ /abs/plain.txt\n@@ -1 +1 @@\n-a\n+b\n",
	    &d);
	assert_string_equal(d.files[0].old_path, "plain.txt");
	assert_string_equal(d.files[0].new_path, "/abs/plain.txt");
	diff_free(&d);

	/* git's quoting of unusual names. */
	parse_ok("--- \"a/caf\\303\\251 \\\"x\\\"\\t.txt\"\n"
	    "+++ \"b/caf\\303\\251 \\\"x\\\"\\t.txt\"\n@@ -1 +1 @@\n-a\n+b\n",
	    &d);
	assert_string_equal(d.files[0].old_path, "caf\xc3\xa9 \"x\"\t.txt");
	assert_string_equal(d.files[0].new_path, "caf\xc3\xa9 \"x\"\t.txt");
	diff_free(&d);
}

static void
test_noeol(void **state)
{
	struct diff		 d;
	const struct diff_hunk	*h;

	(void)state;
	parse_ok("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n"
	    "\\ No newline at end of file\n+c\n"
	    "\\ No newline at end of file\n", &d);
	h = &d.files[0].hunks[0];
	assert_int_equal(h->nlines, 3);
	assert_false(h->lines[0].noeol);
	assert_true(h->lines[1].noeol);
	assert_line(&h->lines[1], '-', "b");
	assert_true(h->lines[2].noeol);
	diff_free(&d);

	/* Only the old side lacks the newline, and the text ends without one. */
	parse_ok("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-b\n"
	    "\\ No newline at end of file\n+b", &d);
	h = &d.files[0].hunks[0];
	assert_true(h->lines[0].noeol);
	assert_false(h->lines[1].noeol);
	assert_line(&h->lines[1], '+', "b");
	diff_free(&d);
}

static void
test_limits(void **state)
{
	struct diff	 d;
	char		*text, *p;
	size_t		 i, cap;

	(void)state;
	cap = (DIFF_MAX_FILES + 2) * 64;
	p = text = malloc(cap);
	assert_non_null(text);
	for (i = 0; i < DIFF_MAX_FILES; i++)
		p += sprintf(p, "--- a/f%zu\n+++ b/f%zu\n@@ -1 +1 @@\n-a\n+b\n",
		    i, i);
	parse_ok(text, &d);
	assert_int_equal(d.nfiles, DIFF_MAX_FILES);
	diff_free(&d);
	sprintf(p, "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
	assert_string_equal(parse_err(text), "Too many files in diff "
	    "(limit 1000)");
	free(text);

	cap = (DIFF_MAX_HUNKS + 2) * 48 + 64;
	p = text = malloc(cap);
	assert_non_null(text);
	p += sprintf(p, "--- a/f\n+++ b/f\n");
	for (i = 1; i <= DIFF_MAX_HUNKS; i++)
		p += sprintf(p, "@@ -%zu +%zu @@\n-a\n+b\n", i, i);
	parse_ok(text, &d);
	assert_int_equal(d.files[0].nhunks, DIFF_MAX_HUNKS);
	diff_free(&d);
	sprintf(p, "@@ -%zu +%zu @@\n-a\n+b\n", i, i);
	assert_string_equal(parse_err(text), "Too many hunks for f "
	    "(limit 10000)");
	free(text);
}

/* A huge count must not be trusted for an allocation. */
static void
test_huge_counts(void **state)
{
	(void)state;
	assert_string_equal(parse_err("--- a/f\n+++ b/f\n"
	    "@@ -1,100000000 +1,100000000 @@\n a\n"),
	    "Hunk line count mismatch in f: expected -100000000/+100000000, "
	    "got -1/+1");
}

/* ---- directives ---- */

struct dx {
	char			*rest;
	size_t			 restlen;
	struct directive	*dirs;
	size_t			 ndirs;
};

static void
dx_ok(const char *text, struct dx *x)
{
	errbuf[0] = '\0';
	if (directives_extract(text, strlen(text), &x->rest, &x->restlen,
	    &x->dirs, &x->ndirs, errbuf, sizeof(errbuf)) != 0)
		fail_msg("directives_extract failed: %s (%s)", errbuf, text);
	assert_int_equal(strlen(x->rest), x->restlen);
}

static void
dx_free(struct dx *x)
{
	free(x->rest);
	directives_free(x->dirs, x->ndirs);
}

static const char *
dx_err(const char *text)
{
	struct dx	x;

	errbuf[0] = '\0';
	if (directives_extract(text, strlen(text), &x.rest, &x.restlen,
	    &x.dirs, &x.ndirs, errbuf, sizeof(errbuf)) == 0) {
		dx_free(&x);
		fail_msg("directives_extract accepted %s", text);
	}
	assert_null(x.rest);
	assert_null(x.dirs);
	assert_int_equal(x.ndirs, 0);
	return errbuf;
}

static void
test_directives(void **state)
{
	struct dx	x;

	(void)state;
	dx_ok("@@delete:src/old.txt@@\n"
	    "--- a/f\n+++ b/f\n"
	    "  @@move: a/b.txt -> c/d.txt @@  \r\n"
	    "@@ -1,2 +1,2 @@\n"
	    "@@RENAME:x.txt->y.txt@@\n"
	    " ctx\n"
	    "\t@@Delete:last@@", &x);
	assert_int_equal(x.ndirs, 4);
	assert_int_equal(x.dirs[0].kind, DIRECTIVE_DELETE);
	assert_string_equal(x.dirs[0].src, "src/old.txt");
	assert_null(x.dirs[0].dst);
	assert_int_equal(x.dirs[1].kind, DIRECTIVE_MOVE);
	assert_string_equal(x.dirs[1].src, "a/b.txt");
	assert_string_equal(x.dirs[1].dst, "c/d.txt");
	assert_int_equal(x.dirs[2].kind, DIRECTIVE_MOVE);
	assert_string_equal(x.dirs[2].src, "x.txt");
	assert_string_equal(x.dirs[2].dst, "y.txt");
	assert_int_equal(x.dirs[3].kind, DIRECTIVE_DELETE);
	assert_string_equal(x.dirs[3].src, "last");
	/* Everything else, in order, terminators kept. */
	assert_string_equal(x.rest, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n ctx\n");
	dx_free(&x);
}

static void
test_directives_not_matched(void **state)
{
	static const char *keep[] = {
		"@@ -1,2 +1,2 @@\n",
		"@@ -1 +1 @@ foo:bar@@\n",
		"@@delete:@@\n",		/* the body must not be empty */
		"@@del-ete:x@@\n",
		"@@9:x@@\n",
		"@@:x@@\n",
		"+@@delete:x@@\n",
		"@@delete:x@@ tail\n",
		"@delete:x@@\n",
		"@@delete x@@\n",
	};
	struct dx	x;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		dx_ok(keep[i], &x);
		assert_int_equal(x.ndirs, 0);
		assert_string_equal(x.rest, keep[i]);
		dx_free(&x);
	}
	dx_ok("", &x);
	assert_int_equal(x.ndirs, 0);
	assert_int_equal(x.restlen, 0);
	dx_free(&x);
}

static void
test_directives_normalise(void **state)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "./a/./b/../c.txt", "a/c.txt" },
		{ "a//b", "a/b" },
		{ "a/b/", "a/b" },
		{ "  spaced name.txt ", "spaced name.txt" },
		{ "a/b/../../c", "c" },
		{ "..foo", "..foo" },
		{ "a/..b", "a/..b" },
		{ "x/...", "x/..." },
	};
	struct dx	x;
	char		text[128];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "@@delete:%s@@\n", cases[i].in);
		dx_ok(text, &x);
		assert_int_equal(x.ndirs, 1);
		assert_string_equal(x.dirs[0].src, cases[i].out);
		dx_free(&x);
	}
	/* Split at the first arrow. */
	dx_ok("@@move:a -> b -> c@@", &x);
	assert_string_equal(x.dirs[0].src, "a");
	assert_string_equal(x.dirs[0].dst, "b -> c");
	dx_free(&x);
}

static void
test_directives_errors(void **state)
{
	static const struct {
		const char	*in, *err;
	} cases[] = {
		{ "@@copy:a -> b@@", "Unknown inline directive 'copy'" },
		{ "@@COPY:a@@", "Unknown inline directive 'copy'" },
		{ "@@delete:   @@",
		  "Inline directive 'delete' is missing required arguments" },
		{ "@@rename: \t @@",
		  "Inline directive 'rename' is missing required arguments" },
		{ "@@move:a b@@", "move directive must be formatted as "
		  "'source -> destination'" },
		{ "@@move:a - > b@@", "move directive must be formatted as "
		  "'source -> destination'" },
		{ "@@move:a -> ./a@@", "Source and destination paths must be "
		  "different for move directives" },
		{ "@@rename:d/x/../f -> d/f@@", "Source and destination paths "
		  "must be different for move directives" },
		{ "@@delete:.@@", "Path must reference a file inside the "
		  "project" },
		{ "@@delete:./@@", "Path must reference a file inside the "
		  "project" },
		{ "@@delete:a/..@@", "Path must reference a file inside the "
		  "project" },
		{ "@@delete:a/../..@@", "Path must reference a file inside the "
		  "project" },
		{ "@@move: -> b@@", "Path must reference a file inside the "
		  "project" },
		{ "@@move:a -> @@", "Path must reference a file inside the "
		  "project" },
		{ "@@delete:/etc/passwd@@", "Absolute paths are not allowed in "
		  "inline directives" },
		{ "@@delete:/..@@", "Absolute paths are not allowed in "
		  "inline directives" },
		{ "@@move:a -> /tmp/x@@", "Absolute paths are not allowed in "
		  "inline directives" },
		{ "@@delete:../x@@", "Path cannot traverse outside the "
		  "project" },
		{ "@@delete:a/../../x@@", "Path cannot traverse outside the "
		  "project" },
		{ "@@move:../a -> b@@", "Path cannot traverse outside the "
		  "project" },
	};
	char	text[128];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A good directive before the bad one is freed too. */
		snprintf(text, sizeof(text), "@@delete:ok@@\n%s\n",
		    cases[i].in);
		assert_string_equal(dx_err(text), cases[i].err);
	}
}

static void
test_directives_nul(void **state)
{
	static const char text[] = "@@delete:a\0b@@\n";
	char			*rest;
	size_t			 restlen, n;
	struct directive	*dirs;

	(void)state;
	assert_int_equal(directives_extract(text, sizeof(text) - 1, &rest,
	    &restlen, &dirs, &n, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, "Path must not contain a NUL byte");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_blank_context),
		cmocka_unit_test(test_crlf_text),
		cmocka_unit_test(test_header_forms),
		cmocka_unit_test(test_invalid_header),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_nul_path),
		cmocka_unit_test(test_count_mismatch),
		cmocka_unit_test(test_hunk_lines_like_headers),
		cmocka_unit_test(test_trailers),
		cmocka_unit_test(test_multiple_files),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_noeol),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_directives_not_matched),
		cmocka_unit_test(test_directives_normalise),
		cmocka_unit_test(test_directives_errors),
		cmocka_unit_test(test_directives_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
