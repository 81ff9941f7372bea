#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "fs/match.h"
#include "fs/search.h"

static char	 tree[] = "/tmp/test_search.XXXXXX";

/* The tree. */

static void
mkparents(const char *path)
{
	char	 buf[1024], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + strlen(tree) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

static void
mkfile(const char *rel, const char *data, size_t len)
{
	char	 path[1024];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	mkparents(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		fail_msg("write %s", path);
	close(fd);
}

static void
mktext(const char *rel, const char *text)
{
	mkfile(rel, text, strlen(text));
}

static void
mklink(const char *target, const char *rel)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	mkparents(path);
	if (symlink(target, path) == -1)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static void
mkdirs(const char *rel)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s/x", tree, rel);
	mkparents(path);
}

static int
setup(void **state)
{
	static const char	 utf16[] = "\xff\xfeq\0u\0t\0f\0\x31\0\x36\0 "
				    "\0\xe9\0\n\0";
	char			*big;
	size_t			 n;

	(void)state;
	if (mkdtemp(tree) == NULL)
		return -1;
	mktext("multi.txt", "日本語 qmulti ü qmulti\n");
	mktext("cut.txt", "ééééééééqcut qcut\n");
	mktext("crlf.txt", "qcrlf\r\nx qcrlf\r\n");
	mktext("bom.txt", "\xef\xbb\xbfqbom first\nqbom\n");
	mktext("bad.txt", "\xff qbad\n");
	mkfile("bin.txt", "qbin\n\0\n", 7);
	n = 6 + 70000 + 8;
	big = malloc(n + 1);
	memcpy(big, "qlate\n", 6);
	memset(big + 6, 'y', 70000);
	memcpy(big + 70006, "\n\0qlate\n", 8);
	mkfile("late.txt", big, n);
	free(big);
	big = malloc(2500);
	for (n = 0; n < 2500; n += 5)
		memcpy(big + n, "qbig\n", 5);
	mkfile("big.txt", big, 2500);
	free(big);
	mktext("real.txt", "qlink\n");
	mklink("real.txt", "link.txt");
	mktext("realdir/in.txt", "qlink\n");
	mklink("realdir", "linkdir");
	mklink(".", "loop");
	mktext(".hidden.txt", "qhidden\n");
	mktext(".hdir/h.txt", "qhidden\n");
	mktext("gitdir/.git/config", "qhidden\n");
	mkdirs("repo/.git");
	mktext("repo/.gitignore", "ignored.txt\n");
	mktext("repo/ignored.txt", "qignore\n");
	mktext("repo/kept.txt", "qignore\n");
	mktext("norepo/.gitignore", "ignored.txt\n");
	mktext("norepo/ignored.txt", "qignore\n");
	mktext("repo/.ignore", "dotignored.txt\n");
	mktext("repo/dotignored.txt", "qignore\n");
	mkdirs("anc/.git");
	mktext("anc/.gitignore", "sub/x.txt\n");
	mktext("anc/sub/x.txt", "qanc\n");
	mktext("anc/sub/y.txt", "qanc\n");
	mktext("per.txt", "qper\nqper\nqper\n");
	mktext("cap/a.txt", "qcap\nqcap\n");
	mktext("cap/b.txt", "qcap\nqcap\n");
	mktext("cap/c.txt", "qcap\nqcap\n");
	mktext("word.txt", "qword qwordx x_qword qword-y\n");
	mktext("case.txt", "STRASSE Straße STRAẞE\n");
	mkfile("utf16.txt", utf16, sizeof(utf16) - 1);
	mktext("order/b.txt", "qorder\n");
	mktext("order/a.txt", "qorder\n");
	mktext("order/a/z.txt", "qorder\n");
	mktext("glob/keep.py", "qglob\n");
	mktext("glob/skip.c", "qglob\n");
	mktext("glob/node_modules/m.py", "qglob\n");
	mktext("glob/gen.min.py", "qglob\n");
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[1100];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	return system(cmd) == 0 ? 0 : -1;
}

/* Running a search. */

static void
opts_init(struct search_opts *o, const char *query)
{
	memset(o, 0, sizeof(*o));
	o->root = tree;
	o->query = query;
	o->parents = 1;
	o->match_case = 1;
	o->max_results = 100;
	o->max_per_file = 50;
	o->max_file_size = 1 << 20;
	o->max_line_length = 200;
	o->time_limit_ms = 10000;
}

static struct json_object *
run_in(struct search_opts *o, const char *root, uint64_t budget)
{
	struct json_object	*r;
	struct search		*s;
	char			 err[256];
	int			 steps = 0;

	o->root = root;
	if ((o->root_fd = open(root, O_RDONLY | O_DIRECTORY)) == -1)
		fail_msg("%s: %s", root, strerror(errno));
	s = search_new(o, err, sizeof(err));
	close(o->root_fd);
	if (s == NULL)
		fail_msg("search_new: %s", err);
	while (!search_step(s, budget))
		if (++steps > 1000000)
			fail_msg("search does not end");
	r = json_object_new_object();
	search_result(s, r);
	search_free(s);
	return r;
}

static struct json_object *
run(struct search_opts *o)
{
	return run_in(o, tree, 1000000);
}

static struct json_object *
get(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

static int64_t
get_int(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

static const char *
get_str(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static size_t
nmatches(struct json_object *r)
{
	return json_object_array_length(get(r, "matches"));
}

static struct json_object *
match(struct json_object *r, size_t i)
{
	if (i >= nmatches(r))
		fail_msg("no match %zu in %s", i,
		    json_object_to_json_string(r));
	return json_object_array_get_idx(get(r, "matches"), i);
}

/* The match spans as text, "[[4,10],[13,19]]". */
static const char *
spans(struct json_object *m)
{
	return json_object_to_json_string_ext(get(m, "match_spans"),
	    JSON_C_TO_STRING_PLAIN);
}

static void
assert_errors_empty(struct json_object *r)
{
	if (json_object_array_length(get(r, "errors")) != 0)
		fail_msg("errors: %s", json_object_to_json_string(
		    get(r, "errors")));
}

/* The matcher on its own. */

static void
test_matcher_literal(void **state)
{
	static const char	 buf[] = "a foo foo\nbar\nfoofoo\n";
	const struct mspan	*sp;
	struct matcher		*m;
	size_t			 ls, le, n;
	char			 err[128];

	(void)state;
	m = matcher_new("foo", 1, 0, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 0);
	assert_int_equal(le, 9);
	sp = matcher_spans(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].start, 2);
	assert_int_equal(sp[0].end, 5);
	assert_int_equal(sp[1].start, 6);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, le + 1, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 14);
	sp = matcher_spans(m, &n);
	assert_int_equal(n, 2);		/* "foofoo": two, no overlap */
	assert_int_equal(sp[1].start, 3);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, le + 1, 1,
	    &ls, &le), 0);
	matcher_free(m);

	/* A plain query with a newline matches no line. */
	m = matcher_new("foo\nbar", 1, 0, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, "foo\nbar\n", 8, 0, 1, &ls, &le),
	    0);
	matcher_free(m);
}

static void
test_matcher_lines(void **state)
{
	static const char	 buf[] = "xa\nb\nfoo a b\n";
	const struct mspan	*sp;
	struct matcher		*m;
	size_t			 ls, le, n;
	char			 err[128];
	int			 i;

	(void)state;
	/*
	 * "a\nb" would match across the first line end: never. Case-
	 * sensitive, only lines holding "a" are tried; without case, the
	 * whole buffer is searched and the hit across lines tried again.
	 */
	for (i = 0; i < 2; i++) {
		m = matcher_new("a\\sb", i == 0, 1, 0, err, sizeof(err));
		assert_non_null(m);
		assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0,
		    1, &ls, &le), 1);
		assert_int_equal(ls, 5);
		assert_int_equal(le, 12);
		sp = matcher_spans(m, &n);
		assert_int_equal(n, 1);
		assert_int_equal(sp[0].start, 4);
		assert_int_equal(sp[0].end, 7);
		matcher_free(m);
	}

	/* Empty matches make a matching line with no spans. */
	m = matcher_new("z*", 1, 1, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0, 1,
	    &ls, &le), 1);
	matcher_spans(m, &n);
	assert_int_equal(n, 0);
	matcher_free(m);

	/* $ before the '\n' of each line, and no line after the last. */
	m = matcher_new("b$", 1, 1, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 3);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, le + 1, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 5);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, le + 1, 1,
	    &ls, &le), 0);
	matcher_free(m);
}

static void
test_matcher_word_case(void **state)
{
	static const char	 w[] = "qword qwordx x_qword qword-y";
	static const char	 c[] =
	    "STRASSE Straße STRAẞE k \xe2\x84\xaa";
	static const char	 f[] = "x\n\xe2\x84\xaaILL \xc5\xbfIGACTION\n";
	static const char	 o[] = "a\nstruct file_OP\xc5\xbf x\n";
	const struct mspan	*sp;
	struct matcher		*m;
	size_t			 ls, le, n;
	char			 err[128];

	(void)state;
	m = matcher_new("qword", 1, 0, 1, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, w, sizeof(w) - 1, 0, 1, &ls,
	    &le), 1);
	sp = matcher_spans(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].start, 0);
	assert_int_equal(sp[1].start, 21);
	matcher_free(m);

	/* Unicode case folding: ß and ẞ, k and the Kelvin sign. */
	m = matcher_new("straße", 0, 0, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, c, sizeof(c) - 1, 0, 1, &ls,
	    &le), 1);
	sp = matcher_spans(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].start, 8);
	assert_int_equal(sp[1].start, 16);
	matcher_free(m);
	m = matcher_new("K", 0, 0, 1, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, c, sizeof(c) - 1, 0, 1, &ls,
	    &le), 1);
	matcher_spans(m, &n);
	assert_int_equal(n, 2);
	matcher_free(m);
	/*
	 * Without case, only ASCII runs without k or s are looked for as
	 * bytes first: the long s and the Kelvin sign still match.
	 */
	m = matcher_new("kill sigaction", 0, 0, 1, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, f, sizeof(f) - 1, 0, 1, &ls,
	    &le), 1);
	assert_int_equal(ls, 2);
	matcher_spans(m, &n);
	assert_int_equal(n, 1);
	matcher_free(m);
	m = matcher_new("[a-z]+_Ops", 0, 1, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, o, sizeof(o) - 1, 0, 1, &ls,
	    &le), 1);
	assert_int_equal(ls, 2);
	matcher_free(m);
	/* Case-sensitive: only the exact one. */
	m = matcher_new("Straße", 1, 0, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, c, sizeof(c) - 1, 0, 1, &ls,
	    &le), 1);
	matcher_spans(m, &n);
	assert_int_equal(n, 1);
	matcher_free(m);
}

static void
test_matcher_invalid(void **state)
{
	struct matcher	*m;
	char		 err[128];

	(void)state;
	err[0] = '\0';
	assert_null(matcher_new("foo(", 1, 1, 0, err, sizeof(err)));
	assert_string_equal(err,
	    "Invalid regular expression: missing closing parenthesis");
	err[0] = '\0';
	assert_null(matcher_new("a{2,1}", 0, 1, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "Invalid regular expression: "));
	/* Not a regex: the same text is fine. */
	assert_non_null(m = matcher_new("foo(", 1, 0, 0, err, sizeof(err)));
	matcher_free(m);
}

static void
test_matcher_required_literal(void **state)
{
	static const char	 buf[] = "size_t a;\nint b;\nuint8_t c; x_t\n";
	const struct mspan	*sp;
	struct matcher		*m;
	size_t			 ls, le, n;
	char			 err[128];

	(void)state;
	/* Only lines holding "_t" are tried: the result is the same. */
	m = matcher_new("[a-z0-9]+_t\\b", 1, 1, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 0);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, le + 1, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 17);
	sp = matcher_spans(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sp[1].start, 11);
	assert_int_equal(sp[1].end, 14);
	matcher_free(m);
	/* Alternation at the top: no required literal, still right. */
	m = matcher_new("int|x_t", 1, 1, 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(matcher_next_line(m, buf, sizeof(buf) - 1, 0, 1,
	    &ls, &le), 1);
	assert_int_equal(ls, 10);
	matcher_free(m);
}

/* Whole searches. */

static void
test_spans_in_characters(void **state)
{
	struct search_opts	 o;
	struct json_object	*r, *m;
	char			 path[1100];

	(void)state;
	opts_init(&o, "qmulti");
	r = run(&o);
	assert_errors_empty(r);
	assert_int_equal(nmatches(r), 1);
	m = match(r, 0);
	assert_string_equal(get_str(m, "relative_path"), "multi.txt");
	snprintf(path, sizeof(path), "%s/multi.txt", tree);
	assert_string_equal(get_str(m, "path"), path);
	assert_int_equal(get_int(m, "line_number"), 1);
	assert_string_equal(get_str(m, "line"), "日本語 qmulti ü qmulti");
	assert_string_equal(spans(m), "[[4,10],[13,19]]");
	assert_int_equal(get_int(m, "match_count"), 2);
	assert_false(json_object_get_boolean(get(m, "line_truncated")));
	json_object_put(r);
}

static void
test_line_cut(void **state)
{
	struct search_opts	 o;
	struct json_object	*r, *m;

	(void)state;
	opts_init(&o, "qcut");
	o.max_line_length = 10;
	r = run(&o);
	m = match(r, 0);
	assert_string_equal(get_str(m, "line"), "ééééééééqc...");
	assert_true(json_object_get_boolean(get(m, "line_truncated")));
	/* The span across the cut is clipped, the one past it dropped. */
	assert_string_equal(spans(m), "[[8,10]]");
	assert_int_equal(get_int(m, "match_count"), 2);
	json_object_put(r);
}

static void
test_line_text(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qcrlf");
	r = run(&o);
	assert_int_equal(nmatches(r), 2);
	assert_string_equal(get_str(match(r, 0), "line"), "qcrlf");
	assert_string_equal(get_str(match(r, 1), "line"), "x qcrlf");
	assert_int_equal(get_int(match(r, 1), "line_number"), 2);
	json_object_put(r);

	opts_init(&o, "qbad");
	r = run(&o);
	assert_string_equal(get_str(match(r, 0), "line"), "\xef\xbf\xbd qbad");
	assert_string_equal(spans(match(r, 0)), "[[2,6]]");
	json_object_put(r);

	/* A UTF-8 BOM is not part of the text: ^ matches after it. */
	opts_init(&o, "^qbom");
	o.regex = 1;
	r = run(&o);
	assert_int_equal(nmatches(r), 2);
	assert_string_equal(get_str(match(r, 0), "line"), "qbom first");
	assert_string_equal(spans(match(r, 0)), "[[0,4]]");
	json_object_put(r);

	/* UTF-16 with a BOM is searched as text, as ripgrep does. */
	opts_init(&o, "qutf16");
	r = run(&o);
	assert_int_equal(nmatches(r), 1);
	assert_string_equal(get_str(match(r, 0), "line"), "qutf16 é");
	json_object_put(r);
}

static void
test_binary(void **state)
{
	struct search_opts	 o;
	struct json_object	*r, *m;

	(void)state;
	opts_init(&o, "qbin");
	r = run(&o);
	assert_int_equal(nmatches(r), 0);
	json_object_put(r);

	/* A NUL past ripgrep's first buffer: the lines before it count. */
	opts_init(&o, "qlate");
	r = run(&o);
	assert_int_equal(nmatches(r), 1);
	m = match(r, 0);
	assert_string_equal(get_str(m, "relative_path"), "late.txt");
	assert_int_equal(get_int(m, "line_number"), 1);
	json_object_put(r);
}

static void
test_size_cap(void **state)
{
	struct search_opts	 o;
	struct json_object	*r, *r2;

	(void)state;
	opts_init(&o, "qbig");
	o.max_per_file = 1;
	o.max_file_size = 2500;
	r = run(&o);
	assert_int_equal(nmatches(r), 1);
	o.max_file_size = 2499;
	r2 = run(&o);
	assert_int_equal(nmatches(r2), 0);
	assert_int_equal(get_int(r2, "files_scanned"),
	    get_int(r, "files_scanned") - 1);
	json_object_put(r);
	json_object_put(r2);
}

static void
test_symlinks(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qlink");
	r = run(&o);
	assert_errors_empty(r);
	/* Not through link.txt, linkdir or the loop. */
	assert_int_equal(nmatches(r), 2);
	assert_string_equal(get_str(match(r, 0), "relative_path"), "real.txt");
	assert_string_equal(get_str(match(r, 1), "relative_path"),
	    "realdir/in.txt");
	json_object_put(r);
}

static void
test_hidden(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qhidden");
	r = run(&o);
	assert_int_equal(nmatches(r), 0);
	json_object_put(r);
	o.include_hidden = 1;
	r = run(&o);
	/* .git stays out. */
	assert_int_equal(nmatches(r), 2);
	assert_string_equal(get_str(match(r, 0), "relative_path"),
	    ".hdir/h.txt");
	assert_string_equal(get_str(match(r, 1), "relative_path"),
	    ".hidden.txt");
	json_object_put(r);
}

static void
test_ignore_files(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;
	char			 root[1100];

	(void)state;
	opts_init(&o, "qignore");
	r = run(&o);
	/* .gitignore inside a repository only; .ignore anywhere. */
	assert_int_equal(nmatches(r), 2);
	assert_string_equal(get_str(match(r, 0), "relative_path"),
	    "norepo/ignored.txt");
	assert_string_equal(get_str(match(r, 1), "relative_path"),
	    "repo/kept.txt");
	json_object_put(r);

	/* The repository and its .gitignore are above the root. */
	snprintf(root, sizeof(root), "%s/anc/sub", tree);
	opts_init(&o, "qanc");
	r = run_in(&o, root, 1000000);
	assert_int_equal(nmatches(r), 1);
	assert_string_equal(get_str(match(r, 0), "relative_path"), "y.txt");
	json_object_put(r);
	o.parents = 0;
	r = run_in(&o, root, 1000000);
	assert_int_equal(nmatches(r), 2);
	json_object_put(r);
}

static void
test_globs(void **state)
{
	const char		*inc[] = { "*.py" };
	const char		*exc[] = { "**/node_modules/**", "*.min.py" };
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qglob");
	o.include = inc;
	o.ninclude = 1;
	o.exclude = exc;
	o.nexclude = 2;
	r = run(&o);
	assert_int_equal(nmatches(r), 1);
	assert_string_equal(get_str(match(r, 0), "relative_path"),
	    "glob/keep.py");
	json_object_put(r);
}

static void
test_word_case(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qword");
	o.whole_word = 1;
	r = run(&o);
	assert_string_equal(spans(match(r, 0)), "[[0,5],[21,26]]");
	json_object_put(r);
	opts_init(&o, "straße");
	o.match_case = 0;
	r = run(&o);
	assert_string_equal(spans(match(r, 0)), "[[8,14],[15,21]]");
	json_object_put(r);
}

static void
test_order(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qorder");
	r = run(&o);
	assert_int_equal(nmatches(r), 3);
	assert_string_equal(get_str(match(r, 0), "relative_path"),
	    "order/a/z.txt");
	assert_string_equal(get_str(match(r, 1), "relative_path"),
	    "order/a.txt");
	assert_string_equal(get_str(match(r, 2), "relative_path"),
	    "order/b.txt");
	json_object_put(r);
}

static void
test_caps(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;

	(void)state;
	opts_init(&o, "qper");
	o.max_per_file = 2;
	r = run(&o);
	assert_int_equal(nmatches(r), 2);
	assert_int_equal(get_int(match(r, 1), "line_number"), 2);
	assert_int_equal(get_int(r, "truncated_count"), 0);
	assert_false(json_object_get_boolean(get(r, "truncated")));
	json_object_put(r);

	/* Six matching lines, two returned, the rest counted. */
	opts_init(&o, "qcap");
	o.max_results = 2;
	r = run(&o);
	assert_int_equal(nmatches(r), 2);
	assert_int_equal(get_int(r, "matches_returned"), 2);
	assert_int_equal(get_int(r, "truncated_count"), 4);
	assert_int_equal(get_int(r, "total_matches"), 6);
	assert_true(json_object_get_boolean(get(r, "truncated")));
	json_object_put(r);
	o.max_per_file = 1;
	r = run(&o);
	assert_int_equal(get_int(r, "total_matches"), 3);
	json_object_put(r);
}

static void
test_time_limit(void **state)
{
	const struct timespec	 ms5 = { 0, 5000000 };
	struct search_opts	 o;
	struct json_object	*r, *e;
	struct search		*s;
	char			 err[128];

	(void)state;
	opts_init(&o, "qcap");
	o.time_limit_ms = 0;
	r = run(&o);
	e = get(r, "errors");
	assert_int_equal(json_object_array_length(e), 1);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(e, 0)),
	    "Search aborted after reaching 0s execution limit.");
	assert_true(json_object_get_boolean(get(r, "truncated")));
	assert_int_equal(nmatches(r), 0);
	json_object_put(r);

	opts_init(&o, "qcap");
	o.time_limit_ms = 1;
	o.root_fd = open(tree, O_RDONLY | O_DIRECTORY);
	s = search_new(&o, err, sizeof(err));
	close(o.root_fd);
	assert_non_null(s);
	nanosleep(&ms5, NULL);
	assert_int_equal(search_step(s, 1000000), 1);
	r = json_object_new_object();
	search_result(s, r);
	search_free(s);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(get(r, "errors"), 0)),
	    "Search aborted after reaching 0.001s execution limit.");
	json_object_put(r);
}

static void
test_slices(void **state)
{
	struct search_opts	 o;
	struct json_object	*a, *b;
	const char		*sa;

	(void)state;
	/* In the smallest slices the result is the same, and complete. */
	opts_init(&o, "q");
	o.include_hidden = 1;
	a = run_in(&o, tree, 1000000);
	b = run_in(&o, tree, 0);
	sa = json_object_to_json_string(a);
	assert_string_equal(sa, json_object_to_json_string(b));
	assert_true(nmatches(a) > 20);
	json_object_put(a);
	json_object_put(b);
}

static void
test_threads(void **state)
{
	struct search_opts	 o;
	struct json_object	*a, *b;

	(void)state;
	/* Reader threads or none: the same results in the same order. */
	opts_init(&o, "q");
	o.include_hidden = 1;
	setenv("PORTACODED_SEARCH_READERS", "0", 1);
	a = run(&o);
	setenv("PORTACODED_SEARCH_READERS", "3", 1);
	b = run(&o);
	unsetenv("PORTACODED_SEARCH_READERS");
	assert_string_equal(json_object_to_json_string(a),
	    json_object_to_json_string(b));
	assert_true(nmatches(a) > 20);
	json_object_put(a);
	json_object_put(b);
}

static void
test_unreadable(void **state)
{
	struct search_opts	 o;
	struct json_object	*r;
	char			 path[1100];

	(void)state;
	if (geteuid() == 0)
		skip();
	mktext("noperm/secret.txt", "qperm\n");
	mktext("noperm2.txt", "qperm\n");
	snprintf(path, sizeof(path), "%s/noperm", tree);
	chmod(path, 0);
	snprintf(path, sizeof(path), "%s/noperm2.txt", tree);
	chmod(path, 0);
	opts_init(&o, "qperm");
	r = run(&o);
	assert_int_equal(nmatches(r), 0);
	assert_int_equal(json_object_array_length(get(r, "errors")), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
	    get(r, "errors"), 0)), "noperm: Permission denied");
	json_object_put(r);
	snprintf(path, sizeof(path), "%s/noperm", tree);
	chmod(path, 0755);
}

static void
test_bad_query(void **state)
{
	const char		*exc[] = { "[oops" };
	struct search_opts	 o;
	char			 err[256];

	(void)state;
	opts_init(&o, "(");
	o.regex = 1;
	o.root_fd = open(tree, O_RDONLY | O_DIRECTORY);
	assert_null(search_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "Invalid regular expression: "));
	o.regex = 0;
	o.exclude = exc;
	o.nexclude = 1;
	assert_null(search_new(&o, err, sizeof(err)));
	close(o.root_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matcher_literal),
		cmocka_unit_test(test_matcher_lines),
		cmocka_unit_test(test_matcher_word_case),
		cmocka_unit_test(test_matcher_invalid),
		cmocka_unit_test(test_matcher_required_literal),
		cmocka_unit_test(test_spans_in_characters),
		cmocka_unit_test(test_line_cut),
		cmocka_unit_test(test_line_text),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_hidden),
		cmocka_unit_test(test_ignore_files),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_word_case),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_bad_query),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
