/*
 * screen: the model of one terminal's screen and scrollback, fed with
 * everything the program printed, rendered on demand as the `buffer` that
 * terminal_list replays to late joiners (reference §3.2).
 */
#ifndef SCREEN_H
#define SCREEN_H

#include <stddef.h>

#define SCREEN_SCROLLBACK	1000	/* lines kept above the screen */

struct screen;

struct screen	*screen_new(int rows, int cols);
void		 screen_free(struct screen *);
/* Bytes exactly as read from the PTY (any UTF-8 split is handled here). */
void		 screen_feed(struct screen *, const char *, size_t);
void		 screen_resize(struct screen *, int rows, int cols);
/*
 * Scrollback then screen: each line's cells with SGR codes, right-trimmed,
 * lines joined by "\r\n", then ESC[row;colH for the cursor (1-based).
 * Returns a NUL-terminated string the caller frees; *lenp gets its length.
 */
char		*screen_render(struct screen *, size_t *lenp);
/* Bytes held by this screen (model + scrollback), for the memory budget. */
size_t		 screen_memory(const struct screen *);

#endif
