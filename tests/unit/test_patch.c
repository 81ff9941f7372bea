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
#include "fs/patch.h"

/*
 * Parse diff (one file unless told) and apply file `which` to old.
 * Returns patch_apply's result; out is always for the caller to free.
 */
static int
apply_n(const char *old, const char *diff, size_t which,
    struct patch_out *out)
{
	struct diff	d;
	char		err[256];
	int		rc;

	if (diff_parse(diff, strlen(diff), &d, err, sizeof(err)) != 0)
		fail_msg("diff_parse: %s\n%s", err, diff);
	assert_true(which < d.nfiles);
	rc = patch_apply(old, old ? strlen(old) : 0, &d.files[which], "f.txt",
	    out);
	diff_free(&d);
	return rc;
}

static int
apply(const char *old, const char *diff, struct patch_out *out)
{
	return apply_n(old, diff, 0, out);
}

static void
expect(const char *old, const char *diff, const char *want)
{
	struct patch_out	out;

	if (apply(old, diff, &out) != 0)
		fail_msg("patch_apply: %s (line %ld)", out.err, out.err_line);
	assert_int_equal(out.len, strlen(want));
	assert_string_equal(out.data, want);
	assert_int_equal(out.nnotes, 0);
	patch_out_free(&out);
}

static void
expect_err(const char *old, const char *diff, const char *err, long line)
{
	struct patch_out	out;

	if (apply(old, diff, &out) == 0)
		fail_msg("patch_apply succeeded: %s", out.data);
	assert_string_equal(out.err, err);
	assert_int_equal(out.err_line, line);
	assert_null(out.data);
	assert_int_equal(out.nnotes, 0);
	patch_out_free(&out);
}

#define HDR	"--- a/f.txt\n+++ b/f.txt\n"

static void
test_modify(void **state)
{
	(void)state;
	expect("a\nb\nc\n", HDR "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
	    "a\nB\nc\n");
	/* Lines before, between and after hunks are copied verbatim. */
	expect("1\n2\n3\n4\n5\n6\n7\n8\n9\n",
	    HDR "@@ -2,1 +2,2 @@\n 2\n+2b\n@@ -5,3 +6,2 @@\n 5\n-6\n 7\n"
	    "@@ -9 +9 @@\n-9\n+nine\n",
	    "1\n2\n2b\n3\n4\n5\n7\n8\nnine\n");
	/* Pure insertion after line old_start; at the top with 0. */
	expect("a\nb\n", HDR "@@ -1,0 +2 @@\n+mid\n", "a\nmid\nb\n");
	expect("a\nb\n", HDR "@@ -0,0 +1 @@\n+top\n", "top\na\nb\n");
	expect("a\nb\n", HDR "@@ -2,0 +3 @@\n+end\n", "a\nb\nend\n");
}

static void
test_blank_context(void **state)
{
	(void)state;
	/* Blank context lines without their space, and a later hunk. */
	expect("int x;\n\nint y;\n\n\nint z;\nlast\n",
	    HDR "@@ -1,3 +1,3 @@\n int x;\n\n-int y;\n+long y;\n"
	    "@@ -5,3 +5,3 @@\n\n-int z;\n+long z;\n last\n",
	    "int x;\n\nlong y;\n\n\nlong z;\nlast\n");
}

static void
test_crlf(void **state)
{
	(void)state;
	/* An LF diff on a CRLF file: the file stays CRLF. */
	expect("a\r\nb\r\nc\r\n", HDR "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n",
	    "a\r\nB\r\nB2\r\nc\r\n");
	/* A CRLF diff on an LF file: the file stays LF. */
	expect("a\nb\nc\n", "--- a/f.txt\r\n+++ b/f.txt\r\n"
	    "@@ -1,3 +1,3 @@\r\n a\r\n-b\r\n+B\r\n c\r\n", "a\nB\nc\n");
	/* Mixed: untouched lines keep theirs, added take the majority. */
	expect("a\r\nb\nc\r\nd\r\n", HDR "@@ -2,2 +2,2 @@\n-b\n+B\n c\n",
	    "a\r\nB\r\nc\r\nd\r\n");
	expect("a\nb\r\nc\n", HDR "@@ -1,1 +1,2 @@\n a\n+x\n",
	    "a\nx\nb\r\nc\n");
}

static void
test_noeol(void **state)
{
	(void)state;
	/* No newline at the end, before and after. */
	expect("a\nb", HDR "@@ -1,2 +1,2 @@\n a\n-b\n"
	    "\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
	    "a\nc");
	/* Adding the final newline. */
	expect("a\nb", HDR "@@ -2 +2 @@\n-b\n\\ No newline at end of file\n"
	    "+b\n", "a\nb\n");
	/* Removing it. */
	expect("a\nb\n", HDR "@@ -2 +2 @@\n-b\n+b\n"
	    "\\ No newline at end of file\n", "a\nb");
	/* A CRLF file losing its last terminator. */
	expect("a\r\nb\r\n", HDR "@@ -2 +2 @@\n-b\n+c\n"
	    "\\ No newline at end of file\n", "a\r\nc");
	/* Appending after a last line that had no newline. */
	expect("a", HDR "@@ -1 +1,2 @@\n a\n+b\n", "a\nb\n");
	expect("a\r\nb", HDR "@@ -2 +2,2 @@\n b\n+c\n", "a\r\nb\r\nc\r\n");
	/* A noeol line that does not end up last still gets a newline. */
	expect("a\nz\n", HDR "@@ -1 +1 @@\n-a\n+b\n"
	    "\\ No newline at end of file\n", "b\nz\n");
	/* Untouched last line without newline stays without one. */
	expect("a\nb\nc", HDR "@@ -1 +1 @@\n-a\n+A\n", "A\nb\nc");
}

static void
test_create(void **state)
{
	(void)state;
	expect(NULL, "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,3 @@\n"
	    "+one\n+\n+three\n", "one\n\nthree\n");
	expect(NULL, "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n"
	    "+one\n+two\n\\ No newline at end of file\n", "one\ntwo");
	expect(NULL, "--- /dev/null\n+++ b/empty\n@@ -0,0 +0,0 @@\n", "");
	/* Context in a creation has nothing to match. */
	expect_err(NULL, "--- /dev/null\n+++ b/new.txt\n@@ -1 +1,2 @@\n"
	    " x\n+y\n", "Unexpected end of file while matching context", 1);
	/* "--- /dev/null" onto an existing file: a modification. */
	expect("old\n", "--- /dev/null\n+++ b/f.txt\n@@ -0,0 +1 @@\n+new\n",
	    "new\nold\n");
}

static void
test_delete(void **state)
{
	struct patch_out	out;

	(void)state;
	assert_int_equal(apply("x\ny\n", "--- a/f.txt\n+++ /dev/null\n"
	    "@@ -1,2 +0,0 @@\n-x\n-y\n", &out), 0);
	assert_int_equal(out.len, 0);
	assert_non_null(out.data);
	patch_out_free(&out);
	assert_int_equal(apply("x\r\ny", "--- a/f.txt\n+++ /dev/null\n"
	    "@@ -1,2 +0,0 @@\n-x\n-y\n\\ No newline at end of file\n", &out),
	    0);
	assert_int_equal(out.len, 0);
	patch_out_free(&out);

	expect_err("x\ny\nz\n", "--- a/f.txt\n+++ /dev/null\n"
	    "@@ -1,2 +0,0 @@\n-x\n-y\n",
	    "Deletion diff does not remove every line of the file", 3);
	expect_err("x\nQ\n", "--- a/f.txt\n+++ /dev/null\n"
	    "@@ -1,2 +0,0 @@\n-x\n-y\n",
	    "Deletion mismatch. Expected 'Q' but got 'y'", 2);
}

static void
test_rename_and_multi(void **state)
{
	static const char diff[] =
	    "diff --git a/a.txt b/b.txt\n"
	    "--- a/a.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-a\n+A\n"
	    "--- a/c.txt\n+++ b/c.txt\n@@ -2 +2,2 @@\n c2\n+c3\n"
	    "--- /dev/null\n+++ b/d.txt\n@@ -0,0 +1 @@\n+d\n";
	struct patch_out	out;

	(void)state;
	assert_int_equal(apply_n("a\n", diff, 0, &out), 0);
	assert_string_equal(out.data, "A\n");
	patch_out_free(&out);
	assert_int_equal(apply_n("c1\nc2\n", diff, 1, &out), 0);
	assert_string_equal(out.data, "c1\nc2\nc3\n");
	patch_out_free(&out);
	assert_int_equal(apply_n(NULL, diff, 2, &out), 0);
	assert_string_equal(out.data, "d\n");
	patch_out_free(&out);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_err("a\nb\nc\n", HDR "@@ -1,2 +1,2 @@\n a\n-X\n+Y\n",
	    "Deletion mismatch. Expected 'b' but got 'X'", 2);
	expect_err("a\nb\nc\n", HDR "@@ -2,2 +2,3 @@\n b\n Z\n+Y\n",
	    "Context mismatch. Expected 'c' but got 'Z'", 3);
	expect_err("a\nb\n", HDR "@@ -2,2 +2,3 @@\n b\n c\n+d\n",
	    "Unexpected end of file while matching context", 3);
	expect_err("a\nb\n", HDR "@@ -2,2 +2 @@\n b\n-c\n",
	    "Unexpected end of file while removing line", 3);
	expect_err("a\nb\n", HDR "@@ -5,0 +6 @@\n+x\n",
	    "Hunk start position past end of file", 6);
	expect_err("a\nb\n", HDR "@@ -7,1 +7,1 @@\n-x\n+y\n",
	    "Hunk start position past end of file", 7);
	/* The first hunk ends past where the second would insert. */
	expect_err("a\nb\nc\nd\n", HDR "@@ -1,3 +1,3 @@\n a\n b\n-c\n+C\n"
	    "@@ -2,0 +3 @@\n+X\n", "Unable to apply hunk", 3);
	/* Terminators are not compared, but trailing spaces are. */
	expect_err("a \n", HDR "@@ -1 +1 @@\n-a\n+b\n",
	    "Deletion mismatch. Expected 'a ' but got 'a'", 1);
	expect_err("", HDR "@@ -1 +1 @@\n-a\n+b\n",
	    "Unexpected end of file while removing line", 1);
}

/* Error messages quote at most 200 bytes, never half a character. */
static void
test_error_quoting(void **state)
{
	struct patch_out	out;
	char			old[1024], diff[1024], *p;

	(void)state;
	memset(old, 'x', 199);
	memcpy(old + 199, "\xc3\xa9", 2);	/* straddles byte 200 */
	memset(old + 201, 'y', 300);
	strcpy(old + 501, "\n");
	snprintf(diff, sizeof(diff), HDR "@@ -1 +1 @@\n-%s\n+b\n", "short");
	assert_int_equal(apply(old, diff, &out), -1);
	p = strchr(out.err, '\'');
	assert_non_null(p);
	assert_int_equal(strncmp(p + 1 + 199, "' but got 'short'", 17), 0);
	assert_int_equal(out.err_line, 1);
	patch_out_free(&out);
}

/* Builds n numbered unique lines. */
static char *
numbered(size_t n)
{
	char	*s, *p;
	size_t	 i;

	p = s = malloc(n * 16 + 1);
	assert_non_null(s);
	*p = '\0';
	for (i = 1; i <= n; i++)
		p += sprintf(p, "line %zu\n", i);
	return s;
}

static void
test_fallback(void **state)
{
	struct patch_out	 out;
	char			*old, *want;

	(void)state;
	old = numbered(20);
	/* Says line 7, is at line 10. */
	assert_int_equal(apply(old, HDR "@@ -7,3 +7,3 @@\n line 10\n-line 11\n"
	    "+eleven\n line 12\n", &out), 0);
	want = strdup(old);
	memcpy(strstr(want, "line 11\n"), "eleven\n", 7);
	memmove(strstr(want, "eleven\n") + 7, strstr(old, "line 12"),
	    strlen(strstr(old, "line 12")) + 1);
	assert_string_equal(out.data, want);
	assert_int_equal(out.nnotes, 1);
	assert_string_equal(out.notes[0], "Hunk for f.txt was shifted from "
	    "line 7 to 10 using a unique 2-line context match.");
	assert_string_equal(out.err, "");
	assert_int_equal(out.err_line, 0);
	patch_out_free(&out);
	free(want);

	/* The longest run between additions decides; others must match. */
	assert_int_equal(apply(old, HDR "@@ -1,4 +1,4 @@\n line 3\n+x\n"
	    " line 4\n line 5\n-line 6\n", &out), 0);
	assert_int_equal(out.nnotes, 1);
	assert_string_equal(out.notes[0], "Hunk for f.txt was shifted from "
	    "line 1 to 3 using a unique 3-line context match.");
	assert_non_null(strstr(out.data, "line 2\nline 3\nx\nline 4\nline 5\n"
	    "line 7\n"));
	patch_out_free(&out);
	free(old);

	/* Not unique: no shift, the error of the stated position. */
	expect_err("a\nx\nb\na\nx\nb\nc\n", HDR "@@ -2,2 +2,2 @@\n a\n-x\n"
	    "+X\n", "Context mismatch. Expected 'x' but got 'a'", 2);
	/* Unique, but before the end of the previous hunk: refused. */
	expect_err("p\nq\nr\ns\nt\n", HDR "@@ -2,3 +2,3 @@\n q\n-r\n+R\n s\n"
	    "@@ -5 +5 @@\n-q\n+Q\n",
	    "Deletion mismatch. Expected 't' but got 'q'", 5);
}

/* Off by a few lines either way: shifted back into place with a note. */
static void
test_fuzzed_offsets(void **state)
{
	struct patch_out	 out;
	char			*old, diff[512], note[256];
	int			 off, at = 30;

	(void)state;
	old = numbered(60);
	for (off = -8; off <= 8; off++) {
		snprintf(diff, sizeof(diff), HDR "@@ -%d,4 +%d,4 @@\n"
		    " line %d\n line %d\n-line %d\n+changed\n line %d\n"
		    "@@ -%d,2 +%d,3 @@\n line %d\n+added\n line %d\n",
		    at + off, at + off, at, at + 1, at + 2, at + 3,
		    at + 10 + off, at + 10 + off, at + 10, at + 11);
		assert_int_equal(apply(old, diff, &out), 0);
		assert_non_null(strstr(out.data,
		    "line 31\nchanged\nline 33\n"));
		assert_non_null(strstr(out.data, "line 40\nadded\nline 41\n"));
		assert_null(strstr(out.data, "line 32\n"));
		assert_int_equal(strlen(out.data), strlen(old) - 8 + 8 + 6);
		if (off == 0)
			assert_int_equal(out.nnotes, 0);
		else {
			assert_int_equal(out.nnotes, 2);
			snprintf(note, sizeof(note), "Hunk for f.txt was "
			    "shifted from line %d to %d using a unique 3-line "
			    "context match.", at + off, at);
			assert_string_equal(out.notes[0], note);
			snprintf(note, sizeof(note), "Hunk for f.txt was "
			    "shifted from line %d to %d using a unique 1-line "
			    "context match.", at + 10 + off, at + 10);
			assert_string_equal(out.notes[1], note);
		}
		patch_out_free(&out);
	}
	free(old);
}

static void
test_notes_bounded(void **state)
{
	struct patch_out	 out;
	char			*old, *diff, *p;
	size_t			 i, n = PATCH_MAX_NOTES + 10;

	(void)state;
	old = numbered(n * 10);
	p = diff = malloc(n * 80 + 64);
	assert_non_null(diff);
	p += sprintf(p, HDR);
	for (i = 0; i < n; i++)
		p += sprintf(p, "@@ -%zu +%zu @@\n-line %zu\n+L%zu\n",
		    i * 10 + 3, i * 10 + 3, i * 10 + 5, i);
	assert_int_equal(apply(old, diff, &out), 0);
	assert_int_equal(out.nnotes, PATCH_MAX_NOTES);
	assert_non_null(strstr(out.data, "line 4\nL0\nline 6\n"));
	assert_non_null(strstr(out.data, "L73\n"));
	patch_out_free(&out);
	free(old);
	free(diff);
}

/*
 * Each shift costs a pass over the file, so a patch gets 1024 of them;
 * after that a hunk must match where its header says.
 */
static void
test_fallback_budget(void **state)
{
	struct patch_out	 out;
	char			*old, *diff, *p;
	size_t			 i, n = 1100;

	(void)state;
	old = numbered(n * 10);
	p = diff = malloc(n * 80 + 64);
	assert_non_null(diff);
	p += sprintf(p, HDR);
	for (i = 0; i < n; i++)
		p += sprintf(p, "@@ -%zu +%zu @@\n-line %zu\n+L%zu\n",
		    i * 10 + 3, i * 10 + 3, i * 10 + 5, i);
	assert_int_equal(apply(old, diff, &out), -1);
	assert_string_equal(out.err,
	    "Deletion mismatch. Expected 'line 10243' but got 'line 10245'");
	assert_int_equal(out.err_line, 10243);
	patch_out_free(&out);

	/* 1024 shifts are fine. */
	p = strstr(diff, "@@ -10243 ");
	assert_non_null(p);
	*p = '\0';
	assert_int_equal(apply(old, diff, &out), 0);
	assert_non_null(strstr(out.data, "line 10234\nL1023\nline 10236\n"));
	assert_non_null(strstr(out.data, "line 10243\nline 10244\nline 10245\n"));
	patch_out_free(&out);
	free(old);
	free(diff);
}

/* A large file with many shifted hunks stays quick (O(n) per hunk). */
static void
test_large(void **state)
{
	struct patch_out	 out;
	char			*old, *diff, *p;
	size_t			 i, n = 200000, h = 200;

	(void)state;
	old = numbered(n);
	p = diff = malloc(h * 120 + 64);
	assert_non_null(diff);
	p += sprintf(p, HDR);
	for (i = 0; i < h; i++)
		p += sprintf(p, "@@ -%zu,2 +%zu,2 @@\n line %zu\n-line %zu\n"
		    "+X%zu\n", i * 1000 + 1, i * 1000 + 1, i * 1000 + 500,
		    i * 1000 + 501, i);
	assert_int_equal(apply(old, diff, &out), 0);
	assert_int_equal(out.nnotes, PATCH_MAX_NOTES);
	assert_non_null(strstr(out.data, "line 199500\nX199\nline 199502\n"));
	patch_out_free(&out);
	free(old);
	free(diff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modify),
		cmocka_unit_test(test_blank_context),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_noeol),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_rename_and_multi),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_quoting),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_fuzzed_offsets),
		cmocka_unit_test(test_notes_bounded),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_fallback_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
