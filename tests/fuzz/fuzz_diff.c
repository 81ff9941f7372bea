/*
 * Fuzz target: what file_apply_diff does with a client's diff text
 * before touching the disk: take out the inline directives, parse the
 * rest, and apply every file's hunks to a small fixed file (LF without
 * a final newline, and CRLF), or to nothing for a creation.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/diff.h"
#include "fs/patch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char old_lf[] =
    "alpha\nbeta\n\ngamma\ndelta\nbeta\nepsilon\nzeta\neta\ntheta";
static const char old_crlf[] =
    "alpha\r\nbeta\r\n\r\ngamma\r\ndelta\r\nbeta\r\nepsilon\r\n";

static void
apply(const char *old, size_t oldlen, const struct diff_file *f)
{
	struct patch_out	out;
	size_t			i;

	if (patch_apply(old, oldlen, f, "fuzz.txt", &out) == 0) {
		/* Promised: NUL-terminated data, a deletion leaves nothing. */
		if (out.data == NULL || out.data[out.len] != '\0' ||
		    (f->new_path == NULL && out.len != 0) ||
		    out.nnotes > PATCH_MAX_NOTES)
			abort();
		for (i = 0; i < out.nnotes; i++)
			if (out.notes[i] == NULL)
				abort();
	} else if (out.err[0] == '\0' || out.data != NULL ||
	    out.nnotes != 0 || out.err_line < 0)
		abort();
	patch_out_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct directive	*dirs;
	struct diff		 d;
	char			*rest, err[512];
	size_t			 restlen, ndirs, i;

	if (directives_extract((const char *)data, size, &rest, &restlen,
	    &dirs, &ndirs, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || rest != NULL || dirs != NULL)
			abort();
		return 0;
	}
	if (restlen > size)
		abort();
	for (i = 0; i < ndirs; i++)
		if (dirs[i].src == NULL || dirs[i].src[0] == '/' ||
		    (dirs[i].kind == DIRECTIVE_MOVE && dirs[i].dst == NULL))
			abort();
	if (diff_parse(rest, restlen, &d, err, sizeof(err)) == 0) {
		for (i = 0; i < d.nfiles; i++) {
			if (d.files[i].nhunks == 0 ||
			    (d.files[i].old_path == NULL &&
			    d.files[i].new_path == NULL))
				abort();
			apply(old_lf, sizeof(old_lf) - 1, &d.files[i]);
			apply(old_crlf, sizeof(old_crlf) - 1, &d.files[i]);
			if (d.files[i].old_path == NULL)
				apply(NULL, 0, &d.files[i]);
		}
		diff_free(&d);
	} else if (err[0] == '\0' || d.nfiles != 0)
		abort();
	free(rest);
	directives_free(dirs, ndirs);
	return 0;
}
