#include "config.h"

#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fs/glob.h"

static int
gm(const char *pat, const char *path)
{
	struct glob	*g;
	const char	*why = NULL;
	int		 m;

	g = glob_compile(pat, strlen(pat), &why);
	if (g == NULL)
		fail_msg("glob \"%s\" did not compile: %s", pat, why);
	m = glob_match(g, path, strlen(path));
	glob_free(g);
	return m;
}

static void
bad_glob(const char *pat)
{
	struct glob	*g;
	const char	*why = NULL;

	g = glob_compile(pat, strlen(pat), &why);
	if (g != NULL) {
		glob_free(g);
		fail_msg("glob \"%s\" compiled", pat);
	}
	assert_non_null(why);
}

/* One rule (a -g glob or an ignore line) against a path. */
static enum glob_verdict
rm(const char *line, const char *path, int is_dir)
{
	struct glob_list	 l;
	enum glob_verdict	 v;
	const char		*why;

	memset(&l, 0, sizeof(l));
	assert_int_equal(glob_list_add(&l, line, strlen(line), &why), 1);
	v = glob_list_match(&l, path, strlen(path), is_dir);
	glob_list_clear(&l);
	return v;
}

static void
test_star(void **state)
{
	(void)state;
	assert_true(gm("*.c", "a.c"));
	assert_true(gm("*.c", ".c"));
	assert_false(gm("*.c", "a/b.c"));	/* '*' stays in its component */
	assert_false(gm("*.c", "a.h"));
	assert_true(gm("a*b*c", "aXXbYYc"));
	assert_false(gm("a*b*c", "aXX/bYYc"));
	assert_true(gm("src/*.c", "src/x.c"));
	assert_false(gm("src/*.c", "src/x/y.c"));
	assert_true(gm("*", "anything"));
	assert_false(gm("*", "a/b"));
}

static void
test_doublestar(void **state)
{
	(void)state;
	assert_true(gm("**/foo", "foo"));
	assert_true(gm("**/foo", "a/b/foo"));
	assert_false(gm("**/foo", "a/bfoo"));
	assert_true(gm("a/**/b", "a/b"));
	assert_true(gm("a/**/b", "a/x/y/b"));
	assert_false(gm("a/**/b", "a/xb"));
	assert_true(gm("a/**", "a/x"));
	assert_true(gm("a/**", "a/x/y"));
	assert_false(gm("a/**", "a"));
	assert_false(gm("a/**", "ab/x"));
	assert_true(gm("**", "a/b/c"));
	/* Not a whole component: two '*', which do not cross '/'. */
	assert_true(gm("a**b", "aXb"));
	assert_false(gm("a**b", "a/b"));
	assert_true(gm("**/*.py", "x/y/z.py"));
	assert_true(gm("**/*.py", "z.py"));
	assert_true(gm("**/node_modules/**", "node_modules/a"));
	assert_true(gm("**/node_modules/**", "x/node_modules/a/b"));
	assert_false(gm("**/node_modules/**", "x/node_modules"));
	assert_false(gm("**/node_modules/**", "x/my_node_modules/a"));
}

static void
test_any_class(void **state)
{
	(void)state;
	assert_true(gm("?.c", "a.c"));
	assert_false(gm("?.c", "ab.c"));
	assert_false(gm("a?b", "a/b"));		/* '?' is not '/' */
	assert_true(gm("[abc].txt", "b.txt"));
	assert_false(gm("[abc].txt", "d.txt"));
	assert_true(gm("[!abc].txt", "d.txt"));
	assert_false(gm("[!abc].txt", "a.txt"));
	assert_true(gm("[^abc].txt", "d.txt"));
	assert_true(gm("[a-c]x", "bx"));
	assert_false(gm("[a-c]x", "dx"));
	assert_true(gm("[]]", "]"));
	assert_true(gm("[-a]", "-"));
	assert_true(gm("[a-]", "-"));
	assert_true(gm("[a-c-e]", "d"));	/* globset widens the range */
	bad_glob("[abc");
	bad_glob("[c-a]");
}

static void
test_alternates_escapes(void **state)
{
	(void)state;
	assert_true(gm("*.{c,h}", "x.c"));
	assert_true(gm("*.{c,h}", "x.h"));
	assert_false(gm("*.{c,h}", "x.o"));
	assert_true(gm("{a,x/**}", "x/y/z"));
	assert_true(gm("{a,x/**}", "a"));
	assert_true(gm("a,b", "a,b"));
	assert_true(gm("\\*x", "*x"));
	assert_false(gm("\\*x", "ax"));
	assert_true(gm("\\[a]", "[a]"));
	assert_true(gm("caf\xc3\xa9/*", "caf\xc3\xa9/x"));
	bad_glob("{a,b");
	bad_glob("{a,{b,c}}");
	bad_glob("a\\");
}

static void
test_rules(void **state)
{
	(void)state;
	/* Without a slash: the base name at any depth. */
	assert_int_equal(rm("*.log", "a/b/c.log", 0), GLOB_IGNORE);
	assert_int_equal(rm("build", "x/build", 1), GLOB_IGNORE);
	/* With one: anchored at the root. */
	assert_int_equal(rm("src/*.c", "src/a.c", 0), GLOB_IGNORE);
	assert_int_equal(rm("src/*.c", "x/src/a.c", 0), GLOB_NONE);
	assert_int_equal(rm("/top.txt", "top.txt", 0), GLOB_IGNORE);
	assert_int_equal(rm("/top.txt", "a/top.txt", 0), GLOB_NONE);
	/* Directories only. */
	assert_int_equal(rm("build/", "build", 1), GLOB_IGNORE);
	assert_int_equal(rm("build/", "build", 0), GLOB_NONE);
	/* Negation. */
	assert_int_equal(rm("!keep.log", "keep.log", 0), GLOB_WHITELIST);
	/* Beneath a directory, not the directory itself. */
	assert_int_equal(rm("vendor/**", "vendor", 1), GLOB_NONE);
	assert_int_equal(rm("vendor/**", "vendor/a/b.c", 0), GLOB_IGNORE);
	/* Escapes of the first character. */
	assert_int_equal(rm("\\!bang", "!bang", 0), GLOB_IGNORE);
	assert_int_equal(rm("\\#hash", "#hash", 0), GLOB_IGNORE);
	assert_int_equal(rm("trail   ", "trail", 0), GLOB_IGNORE);
	assert_int_equal(rm("sp\\ ", "sp ", 0), GLOB_IGNORE);
}

static void
test_list_last_wins(void **state)
{
	struct glob_list	 l;
	const char		*why;
	const char		*lines[] = { "# comment", "", "*.log",
				    "!keep.log", "tmp/", "!tmp/" , "[bad" };
	size_t			 i;
	int			 added = 0, rc;

	(void)state;
	memset(&l, 0, sizeof(l));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		rc = glob_list_add(&l, lines[i], strlen(lines[i]), &why);
		if (rc == 1)
			added++;
		if (i < 2)
			assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, -1);	/* "[bad" */
	assert_int_equal(added, 4);
	assert_int_equal(glob_list_match(&l, "a.log", 5, 0), GLOB_IGNORE);
	assert_int_equal(glob_list_match(&l, "keep.log", 8, 0),
	    GLOB_WHITELIST);
	assert_int_equal(glob_list_match(&l, "tmp", 3, 1), GLOB_WHITELIST);
	assert_int_equal(glob_list_match(&l, "a.txt", 5, 0), GLOB_NONE);
	glob_list_clear(&l);
}

static void
test_globset(void **state)
{
	const char	*inc[] = { "*.py", "Makefile" };
	const char	*exc[] = { "node_modules/**", "**/vendor/**",
			    "*.min.js", "gen_*.py" };
	struct globset	*gs;
	char		 err[256];

	(void)state;
	gs = globset_new(inc, 2, exc, 4, err, sizeof(err));
	assert_non_null(gs);
	assert_int_equal(globset_match(gs, "a/b/c.py", 8, 0), GLOB_WHITELIST);
	assert_int_equal(globset_match(gs, "Makefile", 8, 0), GLOB_WHITELIST);
	assert_int_equal(globset_match(gs, "x/Makefile", 10, 0),
	    GLOB_WHITELIST);
	/* A file no include matches is out; a directory is not. */
	assert_int_equal(globset_match(gs, "a/b.c", 5, 0), GLOB_IGNORE);
	assert_int_equal(globset_match(gs, "a", 1, 1), GLOB_NONE);
	/* Excludes come last and win. */
	assert_int_equal(globset_match(gs, "x/gen_a.py", 10, 0), GLOB_IGNORE);
	assert_int_equal(globset_match(gs, "x/y.min.js", 10, 0), GLOB_IGNORE);
	/* Whole directories pruned. */
	assert_true(globset_prune(gs, "node_modules", 12));
	assert_false(globset_prune(gs, "a/node_modules", 14));
	assert_true(globset_prune(gs, "vendor", 6));
	assert_true(globset_prune(gs, "a/b/vendor", 10));
	assert_false(globset_prune(gs, "vendors", 7));
	assert_false(globset_prune(gs, "src", 3));
	globset_free(gs);

	/* No includes: everything not excluded goes on. */
	gs = globset_new(NULL, 0, exc, 1, err, sizeof(err));
	assert_non_null(gs);
	assert_int_equal(globset_match(gs, "a.c", 3, 0), GLOB_NONE);
	globset_free(gs);

	exc[0] = "{unclosed";
	assert_null(globset_new(NULL, 0, exc, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "{unclosed"));
}

static void
test_nfa_no_blowup(void **state)
{
	char	 path[4096];

	(void)state;
	/* A backtracking matcher would take ages here. */
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_false(gm("*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
	assert_true(gm("*a*a*a*a*a*a*a*a*a*a*a*a*", path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_doublestar),
		cmocka_unit_test(test_any_class),
		cmocka_unit_test(test_alternates_escapes),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_list_last_wins),
		cmocka_unit_test(test_globset),
		cmocka_unit_test(test_nfa_no_blowup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
