/*
 * diff: parsing of unified diffs and of the inline directives
 * (@@delete:path@@, @@move:a -> b@@) that file_apply_diff accepts.
 * Hunk line counts are honoured: a hunk ends when its counts are used
 * up, so an empty line inside a hunk is an empty context line.
 */
#ifndef FS_DIFF_H
#define FS_DIFF_H

#include <stddef.h>

#define DIFF_MAX_FILES	1000
#define DIFF_MAX_HUNKS	10000	/* per file */

struct diff_line {
	char		 op;	/* ' ', '-' or '+' */
	const char	*text;	/* into the parsed text; no line terminator */
	size_t		 len;
	int		 noeol;	/* followed by "\ No newline at end of file" */
};

struct diff_hunk {
	long		  old_start, old_len;
	long		  new_start, new_len;
	struct diff_line *lines;
	size_t		  nlines;
};

struct diff_file {
	char		 *old_path;	/* NULL for /dev/null */
	char		 *new_path;	/* NULL for /dev/null */
	struct diff_hunk *hunks;
	size_t		  nhunks;
};

struct diff {
	struct diff_file *files;
	size_t		  nfiles;
};

/*
 * Parse text (kept alive by the caller while the diff is used).
 * 0 on success; -1 with a message in err, e.g. "Invalid hunk header:
 * …", "Missing +++ line after --- line", "No valid file patches found
 * in diff".
 */
int	diff_parse(const char *text, size_t len, struct diff *, char *err,
	    size_t errlen);
void	diff_free(struct diff *);

enum directive_kind {
	DIRECTIVE_DELETE = 1,
	DIRECTIVE_MOVE
};

struct directive {
	enum directive_kind	 kind;
	char			*src;	/* normalised, relative */
	char			*dst;	/* DIRECTIVE_MOVE only */
};

/*
 * Take the directive lines out of text. *rest gets the remaining diff
 * text (allocated). Paths are checked lexically (§5.2 texts: "Absolute
 * paths are not allowed in inline directives", "Path cannot traverse
 * outside the project", …); the caller still confines them on disk.
 * 0 on success, -1 with the message in err.
 */
int	directives_extract(const char *text, size_t len, char **rest,
	    size_t *restlen, struct directive **dirs, size_t *ndirs,
	    char *err, size_t errlen);
void	directives_free(struct directive *, size_t);

#endif
