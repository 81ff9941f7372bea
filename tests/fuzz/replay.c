/*
 * Replays a fuzz target's corpus under the ordinary compiler so every
 * committed input runs in the test suite. Usage: replay_X CORPUS_DIR
 * (the suite passes $srcdir/tests/fuzz/corpus/X).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*corpus;

static int
replay_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf;
	long	 len;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL || fread(buf, 1, len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static void
test_corpus(void **state)
{
	struct dirent	*de;
	DIR		*dir;
	char		 path[PATH_MAX];
	int		 n = 0;

	(void)state;
	assert_non_null(dir = opendir(corpus));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus, de->d_name);
		assert_int_equal(replay_file(path), 0);
		n++;
	}
	closedir(dir);
	/* An empty corpus would make this test meaningless. */
	assert_true(n > 0);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	const char	*srcdir = getenv("srcdir");
	static char	 dflt[PATH_MAX];
	const char	*name = strrchr(argv[0], '_');

	if (argc > 1)
		corpus = argv[1];
	else {
		/* replay_ipc -> $srcdir/tests/fuzz/corpus/ipc */
		snprintf(dflt, sizeof(dflt), "%s/tests/fuzz/corpus/%s",
		    srcdir ? srcdir : ".", name ? name + 1 : "");
		corpus = dflt;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
