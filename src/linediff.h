/*
 * linediff: a line-level shortest edit script (Myers), bounded in time
 * and memory, and grouping into unified-diff hunks with n lines of
 * context. Used by diffhtml and by the git worker.
 */
#ifndef LINEDIFF_H
#define LINEDIFF_H

#include <stddef.h>

struct ld_line {
	const char	*text;	/* into the caller's buffer, no terminator */
	size_t		 len;
};

/* Split text into lines ("\n", keeping a trailing "\r" out of len). */
struct ld_line	*ld_split(const char *text, size_t len, size_t *nlines);

enum ld_op {
	LD_EQUAL = 0,
	LD_DELETE,
	LD_INSERT
};

struct ld_edit {
	enum ld_op	 op;
	size_t		 old_idx;	/* 0-based; valid for EQUAL/DELETE */
	size_t		 new_idx;	/* 0-based; valid for EQUAL/INSERT */
};

/*
 * The edit script turning a into b, in order. When the edit distance
 * passes max_cost the script is still correct but not minimal.
 */
struct ld_edit	*ld_diff(const struct ld_line *a, size_t na,
		    const struct ld_line *b, size_t nb, size_t max_cost,
		    size_t *nedits);

struct ld_hunk {
	size_t	first, last;	/* edit index range [first, last) */
	size_t	old_start, old_len, new_start, new_len;	/* 1-based start */
};

/* Group edits into hunks with `context` lines around each change. */
struct ld_hunk	*ld_hunks(const struct ld_edit *, size_t nedits,
		    size_t context, size_t *nhunks);

#endif
