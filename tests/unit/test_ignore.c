#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fs/ignore.h"

static const char gitignore[] =
    "# a comment\r\n"
    "*.log\n"
    "!keep.log\n"
    "/anchored.txt\n"
    "build/\n"
    "docs/**/secret*\n"
    "**/cache\n"
    "\\#hash.txt\n"
    "\\!bang.txt\n"
    "trailing.txt   \n"
    "sp\\ \n"
    "a/**/b.txt\n"
    "[xy]cls.txt\n"
    "\n";

static enum glob_verdict
one(const struct glob_list *l, const char *path, int is_dir)
{
	return glob_list_match(l, path, strlen(path), is_dir);
}

static void
test_gitignore_syntax(void **state)
{
	struct glob_list	 l;

	(void)state;
	memset(&l, 0, sizeof(l));
	ign_parse(&l, gitignore, sizeof(gitignore) - 1);
	assert_int_equal(l.n, 12);
	assert_int_equal(one(&l, "x.log", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "deep/er/x.log", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "keep.log", 0), GLOB_WHITELIST);
	assert_int_equal(one(&l, "sub/keep.log", 0), GLOB_WHITELIST);
	assert_int_equal(one(&l, "anchored.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "sub/anchored.txt", 0), GLOB_NONE);
	assert_int_equal(one(&l, "build", 1), GLOB_IGNORE);
	assert_int_equal(one(&l, "a/build", 1), GLOB_IGNORE);
	assert_int_equal(one(&l, "build", 0), GLOB_NONE);	/* dir only */
	assert_int_equal(one(&l, "docs/secret1", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "docs/a/b/secret2", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "x/docs/secret1", 0), GLOB_NONE);
	assert_int_equal(one(&l, "cache", 1), GLOB_IGNORE);
	assert_int_equal(one(&l, "p/q/cache", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "#hash.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "!bang.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "trailing.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "sp ", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "a/b.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "a/x/y/b.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "xcls.txt", 0), GLOB_IGNORE);
	assert_int_equal(one(&l, "zcls.txt", 0), GLOB_NONE);
	assert_int_equal(one(&l, "# a comment", 0), GLOB_NONE);
	glob_list_clear(&l);
}

static void
test_bad_utf8_stops(void **state)
{
	struct glob_list	 l;
	static const char	 text[] = "a.txt\nb\xff.txt\nc.txt\n";

	(void)state;
	memset(&l, 0, sizeof(l));
	ign_parse(&l, text, sizeof(text) - 1);
	assert_int_equal(l.n, 1);	/* as the ignore crate: stop there */
	glob_list_clear(&l);
}

static void
add(struct ign_dir *d, enum ign_kind k, const char *text)
{
	ign_parse(&d->lists[k], text, strlen(text));
}

/*
 * Levels: root (a repository) / sub / sub/inner; the path buffer holds
 * the entry's path from the root.
 */
static void
test_precedence(void **state)
{
	struct ign_dir		 root, sub;
	struct ign_level	 lv[3];
	const char		*p;

	(void)state;
	memset(&root, 0, sizeof(root));
	memset(&sub, 0, sizeof(sub));
	add(&root, IGN_GIT, "*.txt\n!sub/keep.txt\n");
	add(&root, IGN_RG, "rg.txt\n");
	add(&sub, IGN_GIT, "!*.txt\nlocal.md\n");
	add(&sub, IGN_DOT, "dot.txt\n");
	memset(lv, 0, sizeof(lv));
	lv[0].dir = &root;
	lv[0].off = 0;
	lv[0].has_git = 1;
	lv[1].dir = &sub;
	lv[1].off = 4;			/* "sub/" */

	/* The closest directory wins: sub re-includes its *.txt. */
	p = "sub/x.txt";
	assert_int_equal(ign_match(lv, 2, p, strlen(p), 0, 1), GLOB_WHITELIST);
	p = "x.txt";
	assert_int_equal(ign_match(lv, 1, p, strlen(p), 0, 1), GLOB_IGNORE);
	/* Relative to each directory: "local.md" only in sub. */
	p = "sub/local.md";
	assert_int_equal(ign_match(lv, 2, p, strlen(p), 0, 1), GLOB_IGNORE);
	/* .ignore beats .gitignore, even from a closer directory's git. */
	p = "sub/dot.txt";
	assert_int_equal(ign_match(lv, 2, p, strlen(p), 0, 1), GLOB_IGNORE);
	/* .rgignore of the root beats the whitelist of sub's .gitignore. */
	p = "sub/rg.txt";
	assert_int_equal(ign_match(lv, 2, p, strlen(p), 0, 1), GLOB_IGNORE);
	/* Outside any repository, git's files do not count. */
	p = "x.txt";
	assert_int_equal(ign_match(lv, 1, p, strlen(p), 0, 0), GLOB_NONE);
	p = "rg.txt";
	assert_int_equal(ign_match(lv, 1, p, strlen(p), 0, 0), GLOB_IGNORE);

	/* A nested repository: the outer .gitignore stops at its top. */
	lv[1].dir = NULL;
	lv[1].has_git = 1;
	p = "sub/x.txt";
	assert_int_equal(ign_match(lv, 2, p, strlen(p), 0, 1), GLOB_NONE);
	ign_dir_clear(&root);
	ign_dir_clear(&sub);
}

static void
test_load(void **state)
{
	struct glob_list	 l;
	char			 dir[] = "/tmp/test_ignore.XXXXXX";
	char			 path[256];
	FILE			*f;
	int			 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.gitignore", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("*.o\n!main.o\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/.ignore", dir);
	assert_int_equal(symlink(".gitignore", path), 0);
	snprintf(path, sizeof(path), "%s/.git", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.git/info", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.git/info/exclude", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("excluded\n", f);
	fclose(f);
	assert_true((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);

	memset(&l, 0, sizeof(l));
	assert_int_equal(ign_load(&l, fd, ".gitignore"), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(one(&l, "main.o", 0), GLOB_WHITELIST);
	glob_list_clear(&l);
	/* A symlinked ignore file is not followed; a missing one is fine. */
	assert_int_equal(ign_load(&l, fd, ".ignore"), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ign_load(&l, fd, ".rgignore"), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ign_load_exclude(&l, fd), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(one(&l, "a/excluded", 1), GLOB_IGNORE);
	glob_list_clear(&l);
	close(fd);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gitignore_syntax),
		cmocka_unit_test(test_bad_utf8_stops),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
