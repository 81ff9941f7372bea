/*
 * diffhtml: the HTML diff view that file_preview_diff and the git
 * worker's diff tabs send (reference §5.7): a stats header and a table
 * of add/delete/context rows with line numbers, content HTML-escaped.
 */
#ifndef DIFFHTML_H
#define DIFFHTML_H

#include <stddef.h>

enum diffhtml_mode {
	DIFFHTML_MINIMAL = 0,	/* 3 lines of context */
	DIFFHTML_FULL		/* whole file as context, when small enough */
};

struct diffhtml_stats {
	size_t	additions;
	size_t	deletions;
};

/*
 * Render old → new. label is the file name shown in the header (the
 * caller passes the base name). Returns allocated NUL-terminated HTML;
 * never NULL. Large inputs get the simplified view of §5.7.
 */
char	*diffhtml_render(const char *old, size_t oldlen, const char *new,
	    size_t newlen, const char *label, enum diffhtml_mode,
	    struct diffhtml_stats *);
/* Both versions at once; *full_differs says whether they differ. */
void	 diffhtml_render_both(const char *old, size_t oldlen,
	    const char *new, size_t newlen, const char *label,
	    char **minimal, char **full, int *full_differs);
/* The "Diff view unavailable" block. */
char	*diffhtml_unavailable(const char *label);

#endif
