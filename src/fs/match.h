/*
 * match: the matcher of file_search. A case-sensitive plain query is a
 * substring search; everything else is PCRE2 (UTF, invalid UTF-8
 * tolerated, Unicode classes, JIT when available). Matches never span
 * lines, as with ripgrep without --multiline.
 */
#ifndef FS_MATCH_H
#define FS_MATCH_H

#include <stddef.h>

struct matcher;

/* One match on a line: bytes from the line's start, end exclusive. */
struct mspan {
	size_t	 start;
	size_t	 end;
};

/*
 * NULL with "Invalid regular expression: …" in err when the query does
 * not compile.
 */
struct matcher	*matcher_new(const char *query, int match_case, int regex,
		    int whole_word, char *err, size_t errlen);
void		 matcher_free(struct matcher *);

/*
 * The first line of buf[from, end) holding a match: from starts a line,
 * end ends one (the data's end or just after a '\n'). 1 with the line
 * in [*ls, *le) (*le at its '\n' or at end), 0 when there is none, -1
 * when matching failed (matcher_error() says why, e.g. PCRE2's match
 * limit). With want_spans, matcher_spans() then lists the line's
 * non-empty matches.
 */
int		 matcher_next_line(struct matcher *, const char *buf,
		    size_t end, size_t from, int want_spans, size_t *ls,
		    size_t *le);
const struct mspan *matcher_spans(const struct matcher *, size_t *n);
const char	*matcher_error(const struct matcher *);

#endif
