/*
 * screen: one terminal's screen model and scrollback, rendered as the
 * `buffer` of terminal_list (reference §3.2).
 *
 * libvterm (0.1.4) holds the visible screen (primary and alternate). A line
 * that scrolls off the top of the primary screen reaches sb_push() and is
 * kept as the exact bytes the renderer emits for it: UTF-8 text with SGR
 * codes, right-trimmed, one allocation per line, in a ring of at most
 * SCREEN_SCROLLBACK lines and SB_MAXBYTES bytes. That is about as small as
 * the text itself (typical coloured 80-column output: ~100 bytes a line
 * against 80 * 40 bytes as libvterm cells) and makes rendering the
 * scrollback a copy. The rare way back, a resize that makes the screen
 * taller (sb_pop), feeds the stored line into a throw-away one-row libvterm
 * and reads its cells: libvterm itself decides widths and combining
 * characters again, exactly as it did the first time.
 *
 * Rendering rules, per line: a change of attributes emits ESC[0m when the
 * new cell is plain, ESC[<codes>m when the previous one was plain, and
 * ESC[0;<codes>m otherwise (a reset and the new codes in one sequence);
 * codes come in the order 1 bold, 2 dim, 3 italic, 4 underline, 5 blink,
 * 7 reverse, 8 conceal, 9 strike, then foreground, then background. Colours:
 * palette 0-7 as 30-37/40-47, 8-15 as 90-97/100-107, others as 38;5;n /
 * 48;5;n, RGB as 38;2;r;g;b / 48;2;r;g;b. A line whose last emitted cell had
 * attributes ends with ESC[0m. Trailing blank cells are dropped when they
 * would show nothing (default background, no reverse, underline or strike).
 * The right half of a wide character emits nothing. Lines are joined with
 * "\r\n" and the cursor follows as ESC[row;colH, also when it is hidden.
 *
 * The input path guards libvterm 0.1.4, whose bugs would otherwise let
 * ordinary program output hang or corrupt the term worker:
 * - UTF-8 is checked first (screen_feed): invalid sequences become U+FFFD,
 *   as in the terminal_data stream; U+0080..U+009F become 7-bit C1 controls
 *   (ESC Fe), as the client's terminal reads them, where 0.1.4 would print
 *   them with width -1 and walk the cursor off the screen; a character
 *   split between feeds waits in carry[], as 0.1.4 loses one cut after
 *   other text of the same write;
 * - a shadow of libvterm's parser (step) carries SGR 2 (dim) and 8
 *   (conceal), which 0.1.4 ignores, in the cell's font number (0-9 per
 *   cell; nothing renders fonts) by injecting SGR 10-13 after each SGR;
 *   drops CSI parameters beyond 16, which 0.1.4 writes past its array;
 *   never ends a write between the ESC and the backslash of a string
 *   terminator (0.1.4 computes a negative length); and prints REP itself,
 *   as 0.1.4 loops forever without a previous character and writes past
 *   the line after a wide one;
 * - writes are at most WRITE_MAX bytes: libvterm puts a code point array
 *   the size of the write on its stack;
 * - the model is at least MIN_COLS wide: a wide character in one column is
 *   written past the line;
 * - a cursor left off the screen (after a resize, or DECRC of a position
 *   saved on a larger screen) is put back on it, and a resize resets the
 *   scroll region and margins (cursor_fix).
 *
 * Floods. libvterm scrolls by moving the whole screen in memory, once per
 * line (about 12 MB/s of plain text here, half what a PTY delivers), so
 * plain text (printable, UTF-8, \t \r \n only) that arrives with the
 * cursor on the bottom row, column 0, of a full-screen scroll region is held
 * back in pend. Once pend has K = rows + SCREEN_SCROLLBACK newlines after
 * some "\r\n", everything before that "\r\n" is dropped unfed: those K
 * newlines scroll every row it could have drawn off the screen and then
 * push SCREEN_SCROLLBACK newer lines through the ring, so the dropped part
 * cannot show in any later state. (Both ends of the dropped part are at the
 * bottom row, column 0, with the same pen, after a printed character and
 * "\r\n", so nothing else carries over.) Any other byte, a render or a
 * resize feeds pend to libvterm first.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "json.h"
#include "xmalloc.h"
#include "term/screen.h"

#define SB_MAXBYTES	(512 * 1024)	/* scrollback text, at most */
#define PEND_MAX	(192 * 1024)	/* flood text held back, before a cut */
#define PEND_STEP	(64 * 1024)	/* appended between two cut checks */
#define SB_INITIAL	64		/* ring slots before the first growth */
#define WRITE_MAX	4096		/* bytes per vterm_input_write() */
#define CSI_MAXARGS	16		/* libvterm's CSI_ARGS_MAX */
#define MIN_COLS	2		/* narrowest model (see above) */

#define FONT_DIM	0x1
#define FONT_CONCEAL	0x2

#define A_BOLD		0x01
#define A_DIM		0x02
#define A_ITALIC	0x04
#define A_UNDERLINE	0x08
#define A_BLINK		0x10
#define A_REVERSE	0x20
#define A_CONCEAL	0x40
#define A_STRIKE	0x80

#define COLOUR_INDEXED	0x1000000U
#define COLOUR_RGB	0x2000000U

#define CONTINUATION	((uint32_t)-1)	/* right half of a wide character */

enum tstate {
	T_GROUND,
	T_ESC,
	T_CSI_LEADER,
	T_CSI_ARGS,
	T_CSI_INTERMED,
	T_STR,
	T_STR_ESC
};

/* What screen_feed() does around the byte the shadow parser just read. */
enum action {
	ACT_NONE,
	ACT_CSI,	/* split after it: the pen is known at a CSI's start */
	ACT_SGR,	/* write through it, then fix up dim and conceal */
	ACT_DROP,	/* leave it out */
	ACT_HOLD,	/* ESC inside a string: write it with the next byte */
	ACT_REP		/* REP: cancel it, print the character ourselves */
};

struct sbline {
	char		*text;		/* rendered, no NUL; NULL if empty */
	size_t		 len;
};

struct buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

struct pen {
	unsigned int	 attr;
	uint32_t	 fg;		/* 0 default, else COLOUR_* | value */
	uint32_t	 bg;
};

union vthdr {
	size_t		 size;
	max_align_t	 align;
};

struct screen {
	VTerm		*vt;
	VTermScreen	*vs;
	VTermState	*state;
	size_t		 vtmem;		/* what libvterm allocated through us */

	struct sbline	*sb;		/* ring, oldest at sbhead */
	size_t		 sbcap;
	size_t		 sbhead;
	size_t		 sblen;
	size_t		 sbbytes;	/* text bytes in the ring */
	size_t		 sbmem;		/* malloc footprint of that text */
	int		 sbwidth;	/* widest screen a line came from */
	struct buf	 line;		/* sb_push() renders here */
	struct screen	*dec;		/* one-row decoder, during a resize */

	/* The shadow of libvterm's parser. */
	enum tstate	 ts;
	int		 esc_intermed;	/* ESC followed by an intermediate */
	int		 csi_leader;	/* first leader byte, or 0 */
	int		 csi_intermed;	/* intermediate byte seen */
	int		 csi_drop;	/* past CSI_MAXARGS parameters */
	int		 nargs;
	long		 args[CSI_MAXARGS];
	int		 pend_esc;
	char		 last[4];	/* last character printed, for REP */
	size_t		 nlast;
	unsigned char	 carry[4];	/* unfinished UTF-8 of the last feed */
	size_t		 ncarry;

	/* Floods. */
	int		 region;	/* DECSTBM may not be the full screen */
	int		 margins;	/* DECLRMM may be on */
	int		 flood;		/* plain text goes to pend */
	struct buf	 pend;
	size_t		 pend_nl;	/* newlines in pend */
};

static void	*vt_malloc(size_t, void *);
static void	 vt_free(void *, void *);
static int	 sb_push(int, const VTermScreenCell *, void *);
static int	 sb_pop(int, VTermScreenCell *, void *);
static void	 discard(const char *, size_t, void *);

static VTermAllocatorFunctions vt_allocator = {
	.malloc = vt_malloc,
	.free = vt_free
};

static const VTermScreenCallbacks screen_callbacks = {
	.sb_pushline = sb_push,
	.sb_popline = sb_pop
};

/*
 * Answers to queries (DA, DSR, DECRQSS) are the job of the client's
 * terminal, which sees the same bytes; ours would only pile up.
 */
static void
discard(const char *s, size_t len, void *arg)
{
	(void)s;
	(void)len;
	(void)arg;
}

/* What malloc takes for n bytes (glibc: 8-byte header, 16-byte steps). */
static size_t
chunk(size_t n)
{
	n = (n + 8 + 15) & ~(size_t)15;
	return n < 32 ? 32 : n;
}

/* libvterm wants zeroed memory; the header lets us count what it holds. */
static void *
vt_malloc(size_t size, void *arg)
{
	struct screen	*s = arg;
	union vthdr	*h;

	h = xcalloc(1, sizeof(*h) + size);
	h->size = size;
	s->vtmem += chunk(sizeof(*h) + size);
	return h + 1;
}

static void
vt_free(void *p, void *arg)
{
	struct screen	*s = arg;
	union vthdr	*h;

	if (p == NULL)
		return;
	h = (union vthdr *)p - 1;
	s->vtmem -= chunk(sizeof(*h) + h->size);
	free(h);
}

static void
buf_reserve(struct buf *b, size_t n)
{
	size_t	cap;

	if (b->cap - b->len >= n)
		return;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xreallocarray(b->p, cap, 1);
	b->cap = cap;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->p[b->len++] = c;
}

static void
buf_addnum(struct buf *b, unsigned int n)
{
	char	tmp[16];
	int	len;

	len = snprintf(tmp, sizeof(tmp), "%u", n);
	buf_add(b, tmp, (size_t)len);
}

/* Code points that would break the replay, or no characters: U+FFFD. */
static void
put_utf8(struct buf *b, uint32_t cp)
{
	char	u[4];

	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

static uint32_t
colour_key(const VTermColor *c, int fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return 0;
	if (VTERM_COLOR_IS_INDEXED(c))
		return COLOUR_INDEXED | c->indexed.idx;
	return COLOUR_RGB | (uint32_t)c->rgb.red << 16 |
	    (uint32_t)c->rgb.green << 8 | c->rgb.blue;
}

static void
cell_pen(const VTermScreenCell *c, struct pen *p)
{
	p->attr = 0;
	if (c->attrs.bold)
		p->attr |= A_BOLD;
	if (c->attrs.font & FONT_DIM)
		p->attr |= A_DIM;
	if (c->attrs.italic)
		p->attr |= A_ITALIC;
	if (c->attrs.underline)
		p->attr |= A_UNDERLINE;
	if (c->attrs.blink)
		p->attr |= A_BLINK;
	if (c->attrs.reverse)
		p->attr |= A_REVERSE;
	if (c->attrs.font & FONT_CONCEAL)
		p->attr |= A_CONCEAL;
	if (c->attrs.strike)
		p->attr |= A_STRIKE;
	p->fg = colour_key(&c->fg, 1);
	p->bg = colour_key(&c->bg, 0);
}

static int
pen_plain(const struct pen *p)
{
	return p->attr == 0 && p->fg == 0 && p->bg == 0;
}

static int
pen_equal(const struct pen *a, const struct pen *b)
{
	return a->attr == b->attr && a->fg == b->fg && a->bg == b->bg;
}

/* base is 30 (foreground) or 40 (background). */
static void
put_colour(struct buf *b, uint32_t key, unsigned int base)
{
	unsigned int	v = key & 0xffffff;

	if (key & COLOUR_INDEXED) {
		if (v < 8)
			buf_addnum(b, base + v);
		else if (v < 16)
			buf_addnum(b, base + 60 + v - 8);
		else {
			buf_addnum(b, base + 8);
			buf_add(b, ";5;", 3);
			buf_addnum(b, v);
		}
		return;
	}
	buf_addnum(b, base + 8);
	buf_add(b, ";2;", 3);
	buf_addnum(b, v >> 16);
	buf_addc(b, ';');
	buf_addnum(b, (v >> 8) & 0xff);
	buf_addc(b, ';');
	buf_addnum(b, v & 0xff);
}

static void
put_pen(struct buf *b, const struct pen *old, const struct pen *new)
{
	static const struct {
		unsigned int	 bit;
		char		 code;
	} codes[] = {
		{ A_BOLD, '1' }, { A_DIM, '2' }, { A_ITALIC, '3' },
		{ A_UNDERLINE, '4' }, { A_BLINK, '5' }, { A_REVERSE, '7' },
		{ A_CONCEAL, '8' }, { A_STRIKE, '9' }
	};
	size_t	i;
	int	sep = 0;

	if (pen_plain(new)) {
		buf_add(b, "\033[0m", 4);
		return;
	}
	buf_add(b, "\033[", 2);
	if (!pen_plain(old)) {
		buf_addc(b, '0');
		sep = 1;
	}
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if ((new->attr & codes[i].bit) == 0)
			continue;
		if (sep)
			buf_addc(b, ';');
		buf_addc(b, codes[i].code);
		sep = 1;
	}
	if (new->fg != 0) {
		if (sep)
			buf_addc(b, ';');
		put_colour(b, new->fg, 30);
		sep = 1;
	}
	if (new->bg != 0) {
		if (sep)
			buf_addc(b, ';');
		put_colour(b, new->bg, 40);
	}
	buf_addc(b, 'm');
}

/* A blank that shows nothing: trimmed at the end of a line. */
static int
cell_invisible(const VTermScreenCell *c)
{
	if (c->chars[0] != 0 && (c->chars[0] != ' ' || c->chars[1] != 0))
		return 0;
	if (c->attrs.reverse || c->attrs.underline || c->attrs.strike)
		return 0;
	return colour_key(&c->bg, 0) == 0;
}

static void
render_line(struct buf *b, const VTermScreenCell *cells, int ncols)
{
	const VTermScreenCell	*c;
	struct pen		 cur = { 0, 0, 0 }, p;
	int			 end, col, i;

	for (end = ncols; end > 0; end--)
		if (!cell_invisible(&cells[end - 1]))
			break;
	for (col = 0; col < end; col++) {
		c = &cells[col];
		if (c->chars[0] == CONTINUATION && col > 0 &&
		    cells[col - 1].width == 2)
			continue;
		cell_pen(c, &p);
		if (!pen_equal(&p, &cur)) {
			put_pen(b, &cur, &p);
			cur = p;
		}
		if (c->chars[0] == 0 || c->chars[0] == CONTINUATION) {
			buf_addc(b, ' ');
			continue;
		}
		for (i = 0; i < VTERM_MAX_CHARS_PER_CELL && c->chars[i] != 0;
		    i++)
			put_utf8(b, c->chars[i]);
	}
	if (!pen_plain(&cur))
		buf_add(b, "\033[0m", 4);
}

static void
sb_line_free(struct screen *s, struct sbline *l)
{
	if (l->text != NULL) {
		s->sbmem -= chunk(l->len);
		free(l->text);
	}
	s->sbbytes -= l->len;
	l->text = NULL;
	l->len = 0;
}

static void
sb_drop_oldest(struct screen *s)
{
	struct sbline	*l = &s->sb[s->sbhead];

	sb_line_free(s, l);
	s->sbhead = (s->sbhead + 1) % s->sbcap;
	s->sblen--;
}

/* The ring grows with use, so an idle terminal pays for what it printed. */
static void
sb_grow(struct screen *s)
{
	struct sbline	*n;
	size_t		 cap, i;

	cap = s->sbcap != 0 ? s->sbcap * 2 : SB_INITIAL;
	if (cap > SCREEN_SCROLLBACK)
		cap = SCREEN_SCROLLBACK;
	n = xcalloc(cap, sizeof(*n));
	for (i = 0; i < s->sblen; i++)
		n[i] = s->sb[(s->sbhead + i) % s->sbcap];
	free(s->sb);
	s->sb = n;
	s->sbcap = cap;
	s->sbhead = 0;
}

static void
sb_add(struct screen *s, const char *text, size_t len)
{
	struct sbline	*l;

	while (s->sblen > 0 && (s->sblen == SCREEN_SCROLLBACK ||
	    s->sbbytes + len > SB_MAXBYTES))
		sb_drop_oldest(s);
	if (s->sblen == s->sbcap)
		sb_grow(s);
	l = &s->sb[(s->sbhead + s->sblen) % s->sbcap];
	l->len = len;
	l->text = NULL;
	if (len > 0) {
		l->text = xmalloc(len);
		memcpy(l->text, text, len);
		s->sbmem += chunk(len);
	}
	s->sbbytes += len;
	s->sblen++;
}

static int
sb_push(int cols, const VTermScreenCell *cells, void *arg)
{
	struct screen	*s = arg;

	s->line.len = 0;
	render_line(&s->line, cells, cols);
	sb_add(s, s->line.p, s->line.len);
	if (cols > s->sbwidth)
		s->sbwidth = cols;
	return 1;
}

/* Cells of a stored line, as libvterm makes them from the same bytes. */
static void
line_decode(struct screen *dec, const char *text, size_t len,
    VTermScreenCell *cells, int cols)
{
	VTermColor	 fg, bg;
	VTermPos	 pos = { 0, 0 };
	int		 dcols;

	vterm_screen_reset(dec->vs, 1);
	dec->ts = T_GROUND;
	dec->pend_esc = 0;
	dec->ncarry = 0;
	dec->region = dec->margins = 0;
	screen_feed(dec, text, len);
	vterm_get_size(dec->vt, NULL, &dcols);
	vterm_state_get_default_colors(dec->state, &fg, &bg);
	for (pos.col = 0; pos.col < cols; pos.col++) {
		VTermScreenCell	*c = &cells[pos.col];

		if (pos.col < dcols && vterm_screen_get_cell(dec->vs, pos, c)) {
			/* A wide character cut by a narrower screen. */
			if (c->width == 2 && pos.col == cols - 1) {
				c->chars[0] = 0;
				c->width = 1;
			}
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->width = 1;
		c->fg = fg;
		c->bg = bg;
	}
}

static int
sb_pop(int cols, VTermScreenCell *cells, void *arg)
{
	struct screen	*s = arg;
	struct sbline	*l;

	if (s->sblen == 0 || s->dec == NULL)
		return 0;
	l = &s->sb[(s->sbhead + s->sblen - 1) % s->sbcap];
	line_decode(s->dec, l->text, l->len, cells, cols);
	sb_line_free(s, l);
	s->sblen--;
	return 1;
}

static struct screen *
screen_create(int rows, int cols, int history)
{
	struct screen	*s;

	if (rows < 1)
		rows = 1;
	if (cols < MIN_COLS)
		cols = MIN_COLS;
	s = xcalloc(1, sizeof(*s));
	s->vt = vterm_new_with_allocator(rows, cols, &vt_allocator, s);
	vterm_set_utf8(s->vt, 1);
	vterm_output_set_callback(s->vt, discard, NULL);
	s->vs = vterm_obtain_screen(s->vt);
	s->state = vterm_obtain_state(s->vt);
	if (history) {
		vterm_screen_set_callbacks(s->vs, &screen_callbacks, s);
		vterm_screen_enable_altscreen(s->vs, 1);
	}
	vterm_screen_reset(s->vs, 1);
	s->ts = T_GROUND;
	return s;
}

struct screen *
screen_new(int rows, int cols)
{
	return screen_create(rows, cols, 1);
}

void
screen_free(struct screen *s)
{
	size_t	i;

	if (s == NULL)
		return;
	vterm_free(s->vt);
	for (i = 0; i < s->sblen; i++)
		free(s->sb[(s->sbhead + i) % s->sbcap].text);
	free(s->sb);
	free(s->line.p);
	free(s->pend.p);
	if (s->dec != NULL)
		screen_free(s->dec);
	free(s);
}

/* --- Input ------------------------------------------------------------ */

static int
pen_font(struct screen *s)
{
	VTermValue	v;

	if (!vterm_state_get_penattr(s->state, VTERM_ATTR_FONT, &v))
		return 0;
	return v.number;
}

/* Parameters libvterm's SGR 38/48 consumes after the 38/48 itself. */
static int
colour_args(const long *args, int n, int i)
{
	long	pal;
	int	rest;

	if (i + 1 >= n)
		return 0;
	pal = CSI_ARG(args[i + 1]);
	rest = n - i - 2;
	if (pal == 2)
		return 1 + (rest < 3 ? rest : 3);
	if (pal == 5)
		return 1 + (rest > 0 ? 1 : 0);
	return 1;
}

/* Dim and conceal after this SGR, walking the parameters as libvterm does. */
static int
sgr_flags(const long *args, int n, int flags)
{
	int	i, more;

	for (i = 0; i < n;) {
		switch (CSI_ARG(args[i])) {
		case CSI_ARG_MISSING:
		case 0:
			flags = 0;
			break;
		case 2:
			flags |= FONT_DIM;
			break;
		case 8:
			flags |= FONT_CONCEAL;
			break;
		case 22:
			flags &= ~FONT_DIM;
			break;
		case 28:
			flags &= ~FONT_CONCEAL;
			break;
		case 38:
		case 48:
			i += colour_args(args, n, i);
			break;
		}
		if (i >= n)
			break;
		do {
			more = CSI_ARG_HAS_MORE(args[i]);
			i++;
		} while (more && i < n);
	}
	return flags;
}

static void
sgr_fix(struct screen *s, int pre)
{
	char	seq[8];
	int	want, len;

	want = sgr_flags(s->args, s->nargs, pre <= 3 ? pre : 0);
	if (pen_font(s) == want)
		return;
	len = snprintf(seq, sizeof(seq), "\033[1%dm", want);
	vterm_input_write(s->vt, seq, (size_t)len);
}

static enum action
csi_param(struct screen *s, unsigned char c)
{
	long	*a;

	if (s->csi_drop)
		return ACT_DROP;
	a = &s->args[s->nargs];
	if (c >= '0' && c <= '9') {
		if (*a == CSI_ARG_MISSING)
			*a = 0;
		/* libvterm's arithmetic, overflow included. */
		*a = (long)((unsigned long)*a * 10 + (unsigned long)(c - '0'));
		return ACT_NONE;
	}
	if (s->nargs == CSI_MAXARGS - 1) {
		s->csi_drop = 1;
		return ACT_DROP;
	}
	if (c == ':')
		*a |= CSI_ARG_FLAG_MORE;
	s->args[++s->nargs] = CSI_ARG_MISSING;
	return ACT_NONE;
}

/* Scroll region and margins, as far as floods need to know them. */
static void
csi_modes(struct screen *s, unsigned char final)
{
	long	top, bottom;
	int	i, rows;

	/* No DECSTR: 0.1.4 expects its '!' as a leader and never sees one. */
	if (s->csi_intermed != 0)
		return;
	if (s->csi_leader == 0 && final == 'r') {
		vterm_get_size(s->vt, &rows, NULL);
		top = CSI_ARG(s->args[0]);
		bottom = s->nargs > 1 ? CSI_ARG(s->args[1]) : CSI_ARG_MISSING;
		s->region = !((top == CSI_ARG_MISSING || top <= 1) &&
		    (bottom == CSI_ARG_MISSING || bottom >= rows));
		return;
	}
	if (s->csi_leader == '?' && (final == 'h' || final == 'l')) {
		for (i = 0; i < s->nargs; i++)
			if (CSI_ARG(s->args[i]) == 69)
				s->margins = final == 'h';
	}
}

static enum action
esc_byte(struct screen *s, unsigned char c)
{
	switch (c) {
	case 'P':
	case ']':
		s->ts = T_STR;
		return ACT_NONE;
	case '[':
		s->ts = T_CSI_LEADER;
		s->csi_leader = 0;
		s->csi_intermed = 0;
		s->csi_drop = 0;
		s->nargs = 0;
		s->args[0] = CSI_ARG_MISSING;
		return ACT_CSI;
	}
	if (c >= 0x20 && c <= 0x2f) {
		s->esc_intermed = 1;
		return ACT_NONE;
	}
	/* Bytes libvterm does not take keep it in ESC. */
	if (c >= 0x30 && c < 0x7f) {
		if (c == 'c' && !s->esc_intermed)
			s->region = s->margins = 0;	/* RIS */
		s->ts = T_GROUND;
	}
	return ACT_NONE;
}

/* One byte through the shadow parser; mirrors vterm_input_write(). */
static enum action
step(struct screen *s, unsigned char c)
{
	if (c == 0x00 || c == 0x7f)
		return s->ts == T_STR_ESC ? ACT_DROP : ACT_NONE;
	if (c == 0x18 || c == 0x1a) {
		s->ts = T_GROUND;
		return ACT_NONE;
	}
	if (c == 0x1b) {
		s->esc_intermed = 0;
		if (s->ts == T_STR) {
			s->ts = T_STR_ESC;
			return ACT_HOLD;
		}
		s->ts = T_ESC;
		return ACT_NONE;
	}
	if (c < 0x20 && !(c == 0x07 && s->ts == T_STR))
		return s->ts == T_STR_ESC ? ACT_DROP : ACT_NONE;

	switch (s->ts) {
	case T_STR_ESC:
		if (c == '\\') {
			s->ts = T_GROUND;
			return ACT_NONE;
		}
		s->ts = T_ESC;
		/* FALLTHROUGH */
	case T_ESC:
		return esc_byte(s, c);
	case T_CSI_LEADER:
		if (c >= 0x3c && c <= 0x3f) {
			if (s->csi_leader == 0)
				s->csi_leader = c;
			return ACT_NONE;
		}
		s->ts = T_CSI_ARGS;
		/* FALLTHROUGH */
	case T_CSI_ARGS:
		if ((c >= '0' && c <= '9') || c == ':' || c == ';')
			return csi_param(s, c);
		s->nargs++;
		s->ts = T_CSI_INTERMED;
		/* FALLTHROUGH */
	case T_CSI_INTERMED:
		if (c >= 0x20 && c <= 0x2f) {
			if (s->csi_intermed == 0)
				s->csi_intermed = c;
			return ACT_NONE;
		}
		s->ts = T_GROUND;
		if (c < 0x40 || c > 0x7e)
			return ACT_NONE;	/* not a CSI after all */
		if (c == 'm' && s->csi_leader == 0 && s->csi_intermed == 0)
			return ACT_SGR;
		if (c == 'b' && s->csi_leader == 0 && s->csi_intermed == 0)
			return ACT_REP;
		csi_modes(s, c);
		return ACT_NONE;
	case T_STR:
		if (c == 0x07)
			s->ts = T_GROUND;
		return ACT_NONE;
	case T_GROUND:
		break;
	}
	return ACT_NONE;
}

static void
emit(struct screen *s, const char *p, size_t n)
{
	char	pair[2];
	size_t	len;

	if (n == 0)
		return;
	if (s->pend_esc) {
		pair[0] = '\033';
		pair[1] = p[0];
		vterm_input_write(s->vt, pair, 2);
		s->pend_esc = 0;
		p++;
		n--;
	}
	while (n > 0) {
		len = n;
		if (len > WRITE_MAX) {
			/* Cut between characters, not inside one. */
			len = WRITE_MAX;
			while (len > WRITE_MAX - 8 &&
			    ((unsigned char)p[len] & 0xc0) == 0x80)
				len--;
		}
		vterm_input_write(s->vt, p, len);
		p += len;
		n -= len;
	}
}

/* Length of the plain text (see Floods) at the start of p. */
static size_t
plain_span(const char *p, size_t n)
{
	unsigned char	c;
	size_t		i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c < 0x20 ? c != '\r' && c != '\n' && c != '\t' : c == 0x7f)
			break;
	}
	return i;
}

/*
 * The '\n' of the first "\r\n" in p that a flood may start or be cut after:
 * a character right before it, printed after any single shift (SS2, SS3).
 */
static const char *
clean_crlf(const char *p, size_t n)
{
	const char	*nl;
	size_t		 j = 2;

	while (j < n && (nl = memchr(p + j, '\n', n - j)) != NULL) {
		j = (size_t)(nl - p);
		if (p[j - 1] == '\r' && (unsigned char)p[j - 2] >= 0x20)
			return nl;
		j++;
	}
	return NULL;
}

/* The last '\n' of a clean "\r\n" strictly before p[end]; NULL if none. */
static const char *
clean_crlf_before(const char *p, size_t end)
{
	size_t	j;

	for (j = end; j-- > 2;) {
		if (p[j] == '\n' && p[j - 1] == '\r' &&
		    (unsigned char)p[j - 2] >= 0x20)
			return p + j;
	}
	return NULL;
}

static int
flood_start(struct screen *s)
{
	VTermPos	pos;
	int		rows;

	if (s->region || s->margins)
		return 0;
	vterm_get_size(s->vt, &rows, NULL);
	vterm_state_get_cursorpos(s->state, &pos);
	return pos.row == rows - 1 && pos.col == 0;
}

/* Newlines after a cut: scroll every row off, then fill the ring. */
static size_t
flood_keep(struct screen *s)
{
	int	rows;

	vterm_get_size(s->vt, &rows, NULL);
	return (size_t)rows + SCREEN_SCROLLBACK;
}

static void
pend_flush(struct screen *s)
{
	s->flood = 0;
	if (s->pend.cap == 0)
		return;
	emit(s, s->pend.p, s->pend.len);
	free(s->pend.p);
	memset(&s->pend, 0, sizeof(s->pend));
	s->pend_nl = 0;
}

static size_t
count_nl(const char *p, size_t n)
{
	const char	*end = p + n;
	size_t		 count = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		count++;
		p++;
	}
	return count;
}

/* Drop what the last K newlines will have scrolled out of every state. */
static void
pend_cut(struct screen *s)
{
	const char	*crlf;
	size_t		 k, keep, j, cut;

	keep = flood_keep(s);
	if (s->pend_nl <= keep) {
		if (s->pend.len >= PEND_MAX)
			pend_flush(s);
		return;
	}
	/* j: the keep-th newline from the end; the cut must come before it. */
	for (j = s->pend.len, k = 0; k < keep;)
		if (s->pend.p[--j] == '\n')
			k++;
	if ((crlf = clean_crlf_before(s->pend.p, j)) == NULL) {
		pend_flush(s);
		return;
	}
	cut = (size_t)(crlf - s->pend.p) + 1;
	s->pend_nl -= count_nl(s->pend.p, cut);
	memmove(s->pend.p, s->pend.p + cut, s->pend.len - cut);
	s->pend.len -= cut;
	/* Lines too long to gain from holding them back. */
	if (s->pend.len >= PEND_MAX / 2)
		pend_flush(s);
}

/* The last character in plain text p, if any, is what REP repeats. */
static void
remember_last(struct screen *s, const char *p, size_t n)
{
	size_t	end = n, start;

	while (end > 0 && (unsigned char)p[end - 1] < 0x20)
		end--;
	if (end == 0)
		return;
	for (start = end - 1; start > 0 && end - start < sizeof(s->last) &&
	    ((unsigned char)p[start] & 0xc0) == 0x80; start--)
		;
	s->nlast = end - start;
	memcpy(s->last, p + start, s->nlast);
}

/* Plain text: to libvterm, or held back once a flood has started. */
static void
text(struct screen *s, const char *p, size_t n)
{
	const char	*nl;
	size_t		 k;

	remember_last(s, p, n);
	while (n > 0) {
		if (!s->flood) {
			if (s->region || s->margins ||
			    (nl = clean_crlf(p, n)) == NULL) {
				emit(s, p, n);
				return;
			}
			k = (size_t)(nl - p) + 1;
			emit(s, p, k);
			s->flood = flood_start(s);
		} else {
			k = n < PEND_STEP ? n : PEND_STEP;
			buf_add(&s->pend, p, k);
			s->pend_nl += count_nl(p, k);
			if (s->pend.len >= PEND_MAX ||
			    s->pend_nl >= 2 * flood_keep(s))
				pend_cut(s);
		}
		p += k;
		n -= k;
	}
}

/*
 * 0.1.4 can leave the cursor off the screen: a shorter screen pushes lines
 * into the scrollback and moves it up past row 0; DECRC and the like
 * restore a position saved on a larger screen. The next write would land
 * outside its arrays, so the cursor goes back to the nearest cell. Also
 * after a resize, region and margins are reset, as xterm.js does, because
 * 0.1.4 keeps a region whose top is below the new bottom.
 */
static void
cursor_fix(struct screen *s, int resized)
{
	VTermPos	pos;
	char		seq[64];
	int		len, rows, cols, region;

	vterm_get_size(s->vt, &rows, &cols);
	vterm_state_get_cursorpos(s->state, &pos);
	region = resized && (s->region || s->margins);
	if (pos.row >= 0 && pos.row < rows && pos.col >= 0 && pos.col < cols &&
	    !region)
		return;
	pos.row = pos.row < 0 ? 0 : pos.row >= rows ? rows - 1 : pos.row;
	pos.col = pos.col < 0 ? 0 : pos.col >= cols ? cols - 1 : pos.col;
	len = snprintf(seq, sizeof(seq), "\030%s%s\033[%d;%dH",
	    region && s->region ? "\033[r" : "",
	    region && s->margins ? "\033[s" : "", pos.row + 1, pos.col + 1);
	vterm_input_write(s->vt, seq, (size_t)len);
	s->ts = T_GROUND;
	s->pend_esc = 0;
	if (region)
		s->region = 0;
}

/*
 * REP, printed as the character that many times, wrapping as xterm and
 * xterm.js do; 0.1.4's own loops forever after no or a zero-width
 * character and writes past the line after a wide one. Counts are cut to
 * a screenful: more would only push copies of one line into the scrollback.
 */
static void
repeat(struct screen *s)
{
	char	chunk[256];
	long	count;
	size_t	len;
	int	rows, cols;

	if (s->nlast == 0)
		return;
	vterm_get_size(s->vt, &rows, &cols);
	count = CSI_ARG(s->args[0]);
	if (count == CSI_ARG_MISSING || count == 0)
		count = 1;
	if (count > (long)rows * cols)
		count = (long)rows * cols;
	while (count > 0) {
		for (len = 0; count > 0 && len + s->nlast <= sizeof(chunk);
		    count--, len += s->nlast)
			memcpy(chunk + len, s->last, s->nlast);
		text(s, chunk, len);
	}
}

/* Anything else: one control or escape sequence, through the shadow parser. */
static size_t
tracked(struct screen *s, const char *buf, size_t len)
{
	size_t	i, start = 0;
	int	pre;

	pend_flush(s);
	for (i = 0; i < len;) {
		switch (step(s, (unsigned char)buf[i])) {
		case ACT_NONE:
			break;
		case ACT_CSI:
			emit(s, buf + start, i + 1 - start);
			start = i + 1;
			break;
		case ACT_SGR:
			pre = pen_font(s);
			emit(s, buf + start, i + 1 - start);
			start = i + 1;
			sgr_fix(s, pre);
			break;
		case ACT_DROP:
			emit(s, buf + start, i - start);
			start = i + 1;
			break;
		case ACT_HOLD:
			emit(s, buf + start, i - start);
			start = i + 1;
			s->pend_esc = 1;
			break;
		case ACT_REP:
			emit(s, "\030", 1);	/* CAN: libvterm drops it */
			start = i + 1;
			repeat(s);
			break;
		}
		i++;
		if (s->ts == T_GROUND)
			break;
	}
	emit(s, buf + start, i - start);
	if (s->ts == T_GROUND)
		cursor_fix(s, 0);
	return i;
}

/* Bytes that are whole characters, not C1, and no invalid sequences. */
static void
feed_clean(struct screen *s, const char *buf, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		if (s->ts != T_GROUND ||
		    (n = plain_span(buf + i, len - i)) == 0)
			i += tracked(s, buf + i, len - i);
		else {
			text(s, buf + i, n);
			i += n;
		}
	}
}

/*
 * One character that needs attention: U+0080..U+009F are C1 controls to the
 * client's terminal (xterm.js, xterm); libvterm would print them with width
 * -1 and walk the cursor off the screen. They go in as ESC Fe, like 7-bit C1.
 */
static void
feed_char(struct screen *s, const unsigned char *c, int n)
{
	static const char	repl[] = "\357\277\275";
	char			esc[2];

	if (n < 0)
		feed_clean(s, repl, sizeof(repl) - 1);
	else if (n == 2 && c[0] == 0xc2 && c[1] < 0xa0) {
		esc[0] = '\033';
		esc[1] = (char)(c[1] - 0x40);
		feed_clean(s, esc, 2);
	} else
		feed_clean(s, (const char *)c, (size_t)n);
}

/*
 * libvterm sees only whole, valid characters: 0.1.4 loses a character cut
 * after other text of the same write, lets an unfinished one swallow bytes
 * after a control or escape sequence, and gives C1 code points width -1.
 */
void
screen_feed(struct screen *s, const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	unsigned char		 tmp[8];
	size_t			 i = 0, run, take;
	int			 r;

	if (s->ncarry > 0) {
		take = len < 4 ? len : 4;
		memcpy(tmp, s->carry, s->ncarry);
		memcpy(tmp + s->ncarry, p, take);
		if ((r = utf8_check(tmp, s->ncarry + take)) == 0) {
			memcpy(s->carry + s->ncarry, p, take);
			s->ncarry += take;
			return;
		}
		feed_char(s, tmp, r);
		/* The carry was a valid start: the result covers all of it. */
		i = (size_t)(r < 0 ? -r : r) - s->ncarry;
		s->ncarry = 0;
	}
	while (i < len) {
		for (run = i; run < len; run += (size_t)r) {
			if (p[run] < 0x80) {
				r = 1;
				continue;
			}
			r = utf8_check(p + run, len - run);
			if (r <= 0 || (p[run] == 0xc2 && p[run + 1] < 0xa0))
				break;
		}
		if (run > i) {
			feed_clean(s, buf + i, run - i);
			i = run;
			continue;
		}
		if ((r = utf8_check(p + i, len - i)) == 0) {
			s->ncarry = len - i;
			memcpy(s->carry, p + i, s->ncarry);
			return;
		}
		feed_char(s, p + i, r);
		i += (size_t)(r < 0 ? -r : r);
	}
}

void
screen_resize(struct screen *s, int rows, int cols)
{
	int	orows, ocols;

	if (rows < 1)
		rows = 1;
	if (cols < MIN_COLS)
		cols = MIN_COLS;
	pend_flush(s);
	vterm_get_size(s->vt, &orows, &ocols);
	if (rows == orows && cols == ocols)
		return;
	if (rows > orows && s->sblen > 0)
		s->dec = screen_create(1, cols > s->sbwidth ? cols : s->sbwidth,
		    0);
	vterm_set_size(s->vt, rows, cols);
	if (s->dec != NULL) {
		screen_free(s->dec);
		s->dec = NULL;
	}
	cursor_fix(s, 1);
}

/* --- Output ----------------------------------------------------------- */

char *
screen_render(struct screen *s, size_t *lenp)
{
	struct buf		 b = { NULL, 0, 0 };
	VTermScreenCell		*row;
	VTermPos		 pos;
	const struct sbline	*l;
	size_t			 i;
	int			 rows, cols;

	pend_flush(s);
	vterm_get_size(s->vt, &rows, &cols);
	buf_reserve(&b, s->sbbytes + 2 * s->sblen +
	    (size_t)rows * ((size_t)cols + 2) + 32);
	for (i = 0; i < s->sblen; i++) {
		l = &s->sb[(s->sbhead + i) % s->sbcap];
		if (l->len > 0)
			buf_add(&b, l->text, l->len);
		buf_add(&b, "\r\n", 2);
	}
	row = xreallocarray(NULL, (size_t)cols, sizeof(*row));
	for (pos.row = 0; pos.row < rows; pos.row++) {
		for (pos.col = 0; pos.col < cols; pos.col++)
			vterm_screen_get_cell(s->vs, pos, &row[pos.col]);
		render_line(&b, row, cols);
		if (pos.row < rows - 1)
			buf_add(&b, "\r\n", 2);
	}
	free(row);

	vterm_state_get_cursorpos(s->state, &pos);
	buf_add(&b, "\033[", 2);
	buf_addnum(&b, (unsigned int)pos.row + 1);
	buf_addc(&b, ';');
	buf_addnum(&b, (unsigned int)pos.col + 1);
	buf_addc(&b, 'H');
	buf_addc(&b, '\0');
	*lenp = b.len - 1;
	return b.p;
}

size_t
screen_memory(const struct screen *s)
{
	size_t	n;

	n = chunk(sizeof(*s)) + s->vtmem + s->sbmem;
	if (s->sbcap > 0)
		n += chunk(s->sbcap * sizeof(*s->sb));
	if (s->line.cap > 0)
		n += chunk(s->line.cap);
	if (s->pend.cap > 0)
		n += chunk(s->pend.cap);
	return n;
}
