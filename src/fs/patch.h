/*
 * patch: apply the hunks of one parsed file diff to a file's content.
 * Context and removed lines must match exactly, line terminators aside:
 * a CRLF file stays CRLF and new lines take the file's terminator.
 */
#ifndef FS_PATCH_H
#define FS_PATCH_H

#include <stddef.h>
#include "fs/diff.h"

#define PATCH_MAX_NOTES	64

struct patch_out {
	char	*data;			/* new content (allocated) */
	size_t	 len;
	/* heuristic_adjustments, one sentence each (allocated) */
	char	*notes[PATCH_MAX_NOTES];
	size_t	 nnotes;
	/* On failure: */
	char	 err[512];
	long	 err_line;		/* 1-based; 0 if none */
};

/*
 * old may be NULL for a creation. path is the display path used in the
 * notes ("Hunk for <path> was shifted from line a to b using a unique
 * n-line context match."). 0 on success, -1 with out->err set.
 */
int	patch_apply(const char *old, size_t oldlen,
	    const struct diff_file *, const char *path, struct patch_out *);
void	patch_out_free(struct patch_out *);

#endif
