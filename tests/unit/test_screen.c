#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term/screen.h"

#define ROWS	24
#define COLS	80

static void
feed(struct screen *s, const char *str)
{
	screen_feed(s, str, strlen(str));
}

static char *
render(struct screen *s)
{
	char	*r;
	size_t	 len;

	r = screen_render(s, &len);
	assert_non_null(r);
	assert_int_equal(strlen(r), len);
	return r;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t		 n = 0, nl = strlen(needle);
	const char	*p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The whole render for a screen whose first lines are given, rest empty. */
static char *
expected(const char **lines, int n, int rows, const char *cursor)
{
	size_t	 len = strlen(cursor) + 1;
	char	*e;
	int	 i;

	for (i = 0; i < n; i++)
		len += strlen(lines[i]);
	len += 2 * (size_t)rows;
	e = calloc(1, len);
	assert_non_null(e);
	for (i = 0; i < rows; i++) {
		if (i < n)
			strcat(e, lines[i]);
		if (i < rows - 1)
			strcat(e, "\r\n");
	}
	strcat(e, cursor);
	return e;
}

static void
assert_screen(struct screen *s, const char **lines, int n, int rows,
    const char *cursor)
{
	char	*want, *got;

	want = expected(lines, n, rows, cursor);
	got = render(s);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

/* The first line of the render, without its "\r\n". */
static char *
first_line(struct screen *s)
{
	char	*r, *end;

	r = render(s);
	if ((end = strstr(r, "\r\n")) != NULL)
		*end = '\0';
	return r;
}

static void
assert_first_line(const char *input, const char *want)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		*got;

	feed(s, input);
	got = first_line(s);
	assert_string_equal(got, want);
	free(got);
	screen_free(s);
}

/* Upstream joins every screen line, empty ones too. */
static void
test_empty(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		 want[256] = "";
	char		*got;
	int		 i;

	(void)state;
	for (i = 0; i < ROWS - 1; i++)
		strcat(want, "\r\n");
	strcat(want, "\033[1;1H");
	got = render(s);
	assert_string_equal(got, want);
	free(got);
	screen_free(s);
}

static void
test_plain_cursor(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*lines[] = { "hello", "world" };
	const char	*moved[] = { "hello", "world", "", "", "", "", "", "",
			    "", "", "", "x" };

	(void)state;
	feed(s, "hello\r\nworld");
	assert_screen(s, lines, 2, ROWS, "\033[2;6H");
	/* Trailing spaces are trimmed; absolute moves show up in the cursor. */
	feed(s, "   \033[12;1Hx\033[5;40H");
	assert_screen(s, moved, 12, ROWS, "\033[5;40H");
	screen_free(s);
}

static void
test_hidden_cursor(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*lines[] = { "ab" };

	(void)state;
	feed(s, "ab\033[?25l");
	assert_screen(s, lines, 1, ROWS, "\033[1;3H");
	screen_free(s);
}

static void
test_sgr_attributes(void **state)
{
	(void)state;
	assert_first_line("\033[1;31mred\033[0m plain",
	    "\033[1;31mred\033[0m plain");
	assert_first_line("\033[1mA\033[0m\033[3mB\033[0m\033[4mC\033[0m"
	    "\033[5mD\033[0m\033[7mE\033[0m\033[9mF\033[0m",
	    "\033[1mA\033[0;3mB\033[0;4mC\033[0;5mD\033[0;7mE\033[0;9mF"
	    "\033[0m");
	/* Attributes in code order, then foreground, then background. */
	assert_first_line("\033[42;9;7;5;4;3;1;31mX",
	    "\033[1;3;4;5;7;9;31;42mX\033[0m");
	assert_first_line("\033[1;4mA\033[22mB\033[24mC",
	    "\033[1;4mA\033[0;4mB\033[0mC");
	/* Double underline is still an underline. */
	assert_first_line("\033[21mU\033[0m", "\033[4mU\033[0m");
	assert_first_line("\033[31;41mJ\033[39mK\033[49mL",
	    "\033[31;41mJ\033[0;41mK\033[0mL");
}

/* libvterm 0.1.4 ignores SGR 2 and 8; the screen carries them itself. */
static void
test_dim_conceal(void **state)
{
	(void)state;
	assert_first_line("\033[2mA\033[8mB\033[22mC\033[28mD\033[2;8mE"
	    "\033[0mF",
	    "\033[2mA\033[0;2;8mB\033[0;8mC\033[0mD\033[2;8mE\033[0mF");
	/* 2 and 8 inside colour arguments are not attributes. */
	assert_first_line("\033[38;2;2;8;2mG\033[0m\033[38;5;8mH",
	    "\033[38;2;2;8;2mG\033[0;90mH\033[0m");
	assert_first_line("\033[2;1;0;8mI", "\033[8mI\033[0m");
	/* Saved and restored with the cursor, like any attribute. */
	assert_first_line("\033[2m\0337\033[0m\0338Y\033[0mZ",
	    "\033[2mY\033[0mZ");
	/* Fonts are not ours to render and do not leak into dim. */
	assert_first_line("\033[11mF\033[2;12mG",
	    "F\033[2mG\033[0m");
	/* Split across writes. */
	{
		struct screen	*s = screen_new(ROWS, COLS);
		char		*got;

		feed(s, "\033[");
		feed(s, "2");
		feed(s, "mA\033[0");
		feed(s, ";8mB");
		got = first_line(s);
		assert_string_equal(got, "\033[2mA\033[0;8mB\033[0m");
		free(got);
		screen_free(s);
	}
}

static void
test_colours(void **state)
{
	(void)state;
	assert_first_line("\033[38;5;196mA\033[48;5;17mB\033[0m",
	    "\033[38;5;196mA\033[0;38;5;196;48;5;17mB\033[0m");
	assert_first_line("\033[38;5;3mC\033[48;5;12mD",
	    "\033[33mC\033[0;33;104mD\033[0m");
	assert_first_line("\033[38;2;1;2;3;48;2;250;251;252mE",
	    "\033[38;2;1;2;3;48;2;250;251;252mE\033[0m");
	assert_first_line("\033[38:2:10:20:30mF",
	    "\033[38;2;10;20;30mF\033[0m");
	assert_first_line("\033[90mG\033[97;100mH\033[107mI",
	    "\033[90mG\033[0;97;100mH\033[0;97;107mI\033[0m");
	assert_first_line("\033[30;47mK\033[37;40mL",
	    "\033[30;47mK\033[0;37;40mL\033[0m");
}

static void
test_trailing(void **state)
{
	char	want[128];

	(void)state;
	assert_first_line("abc   ", "abc");
	/* Invisible coloured blanks go, visible ones stay. */
	assert_first_line("\033[32mgreen   \033[0m", "\033[32mgreen\033[0m");
	assert_first_line("\033[41m   \033[0m   ", "\033[41m   \033[0m");
	assert_first_line("x\033[7m \033[0m", "x\033[7m \033[0m");
	/* Erase with a background colour fills the line (BCE). */
	snprintf(want, sizeof(want), "\033[44m%*s\033[0m", COLS, "");
	assert_first_line("\033[44m\033[K\033[0m", want);
}

static void
test_utf8_split(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	 in[] = "\xf0\x9f\x98\x80\xe2\x82\xac" "e\xcc\x81" "x";
	const char	*lines[] = { in };
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(in) - 1; i++)
		screen_feed(s, in + i, 1);
	/* U+1F600 is two columns wide, the euro sign one, e+U+0301 one. */
	assert_screen(s, lines, 1, ROWS, "\033[1;6H");
	screen_free(s);
}

/*
 * libvterm 0.1.4 alone loses a character cut after other text of the same
 * write ("a \xe4" then "\xb8\xad" gives two U+FFFD); the screen holds the
 * partial tail back. Long writes are cut for libvterm between characters.
 */
static void
test_utf8_across_writes(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*lines[] = { "a \xe4\xb8\xad b\xc3\xa9" };
	char		*in, *r;
	size_t		 n, i, k;

	(void)state;
	feed(s, "a \xe4");
	feed(s, "\xb8\xad b\xc3");
	feed(s, "\xa9");
	assert_screen(s, lines, 1, ROWS, "\033[1;8H");
	screen_free(s);

	/* A cut character followed by anything else is one U+FFFD at most. */
	s = screen_new(ROWS, COLS);
	feed(s, "x\xe4\xb8");
	feed(s, "\033[31my");
	r = first_line(s);
	assert_null(strstr(r, "\xe4"));
	assert_non_null(strstr(r, "\033[31my\033[0m"));
	free(r);
	screen_free(s);

	/* 3-byte characters across every internal write boundary. */
	s = screen_new(ROWS, COLS);
	n = 2000 * (2 + 3 * 39 + 2);
	in = malloc(n);
	assert_non_null(in);
	for (i = 0; i < n;) {
		memcpy(in + i, "ab", 2);
		i += 2;
		for (k = 0; k < 39; k++, i += 3)
			memcpy(in + i, "\xe4\xb8\xad", 3);
		memcpy(in + i, "\r\n", 2);
		i += 2;
	}
	screen_feed(s, in, n);
	free(in);
	r = render(s);
	assert_null(strstr(r, "\xef\xbf\xbd"));
	assert_int_equal(count(r, "\xe4\xb8\xad"),
	    39 * (SCREEN_SCROLLBACK + ROWS - 1));
	free(r);
	screen_free(s);
}

/* Invalid UTF-8 becomes U+FFFD as in the terminal_data stream. */
static void
test_utf8_invalid(void **state)
{
	(void)state;
	assert_first_line("a\xc0\xaf" "b", "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	assert_first_line("\xe2\x82\x41", "\xef\xbf\xbd" "A");
	assert_first_line("\xed\xa0\x80",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_first_line("\xf4\x90\x80\x80",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_first_line("\xff" "x\x80", "\xef\xbf\xbd" "x\xef\xbf\xbd");
	/* An unfinished character does not swallow what follows a control. */
	assert_first_line("\xc2\033[31m\x9fX",
	    "\xef\xbf\xbd\033[31m\xef\xbf\xbdX\033[0m");
	assert_first_line("\xe4\xb8\r\xad", "\xef\xbf\xbd");
}

/*
 * U+0080..U+009F are C1 controls to the client's terminal; libvterm 0.1.4
 * would print them with width -1 and move the cursor off the screen.
 */
static void
test_utf8_c1(void **state)
{
	struct screen	*s;
	const char	*lines[] = { "x" };
	char		*got;

	(void)state;
	s = screen_new(ROWS, COLS);
	feed(s, "\xc2\x80\xc2\x80\xc2\x80\xc2\x9fx");
	assert_screen(s, lines, 1, ROWS, "\033[1;2H");
	screen_free(s);

	/* Insert mode used to turn that into a wild memmove. */
	s = screen_new(ROWS, COLS);
	feed(s, "\033[4h\xc2\033S\x9f\xff\xc2\x85x");
	screen_free(s);

	/* CSI as U+009B, also split across writes. */
	assert_first_line("\xc2\x9b" "31mR\xc2\x9b" "0m", "\033[31mR\033[0m");
	s = screen_new(ROWS, COLS);
	feed(s, "\xc2");
	feed(s, "\x9b" "1mB");
	got = first_line(s);
	assert_string_equal(got, "\033[1mB\033[0m");
	free(got);
	screen_free(s);
}

static void
test_wide(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*lines[] = { "\xe4\xb8\xad\xe6\x96\x87x",
			    "e\xcc\x81\xcc\xa3z" };
	char		 wrap[COLS + 8];
	char		*got, *want;

	(void)state;
	feed(s, "\xe4\xb8\xad\xe6\x96\x87x\r\ne\xcc\x81\xcc\xa3z");
	assert_screen(s, lines, 2, ROWS, "\033[2;3H");
	screen_free(s);

	/* A wide character that does not fit in the last column wraps. */
	s = screen_new(ROWS, COLS);
	memset(wrap, 'a', COLS - 1);
	strcpy(wrap + COLS - 1, "\xe4\xb8\xad");
	feed(s, wrap);
	got = render(s);
	memset(wrap, 'a', COLS - 1);
	wrap[COLS - 1] = '\0';
	want = expected((const char *[]){ wrap, "\xe4\xb8\xad" }, 2, ROWS,
	    "\033[2;3H");
	assert_string_equal(got, want);
	free(got);
	free(want);
	screen_free(s);
}

/* 1200 numbered lines: the last 1000 that left the screen, then the screen. */
static void
test_scrollback_limit(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		 line[64], *r;
	int		 i;

	(void)state;
	for (i = 1; i <= 1200; i++) {
		snprintf(line, sizeof(line), "line %d\r\n", i);
		feed(s, line);
	}
	r = render(s);
	/* 1177 lines scrolled off; 178..1177 kept, 1178..1200 and "" shown. */
	assert_int_equal(count(r, "\r\n"), SCREEN_SCROLLBACK + ROWS - 1);
	assert_true(strncmp(r, "line 178\r\n", 10) == 0);
	assert_null(strstr(r, "line 177\r\n"));
	assert_non_null(strstr(r, "\r\nline 1177\r\nline 1178\r\n"));
	assert_non_null(strstr(r, "\r\nline 1200\r\n\033[24;1H"));
	assert_int_equal(count(r, "line "), SCREEN_SCROLLBACK + ROWS - 1);
	free(r);
	screen_free(s);
}

/* A line keeps its rendering when it moves into the scrollback. */
static void
test_scrollback_keeps_attributes(void **state)
{
	struct screen	*s = screen_new(4, COLS);
	const char	*line = "\033[1;31mred\033[0m \033[2;4;38;2;9;8;7mdim"
			    "\033[0m \xe4\xb8\xad\xe6\x96\x87 "
			    "\033[44m  \033[0m";
	char		*before, *after, *end;

	(void)state;
	feed(s, line);
	before = first_line(s);
	assert_string_equal(before, line);
	feed(s, "\r\n1\r\n2\r\n3\r\n4");
	after = render(s);
	end = strstr(after, "\r\n");
	assert_non_null(end);
	*end = '\0';
	assert_string_equal(after, before);
	assert_string_equal(end + 2, "1\r\n2\r\n3\r\n4\033[4;2H");
	free(before);
	free(after);
	screen_free(s);
}

static void
test_altscreen(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*primary[] = { "primary", "$ vi" };
	char		*r;
	int		 i;

	(void)state;
	feed(s, "primary\r\n$ vi");
	feed(s, "\033[?1049h\033[2J\033[Hvi screen");
	r = render(s);
	assert_non_null(strstr(r, "vi screen"));
	assert_null(strstr(r, "primary"));
	free(r);

	/* Scrolling the alternate screen adds nothing to the scrollback. */
	for (i = 0; i < 100; i++)
		feed(s, "\r\nfull screen program output");
	r = render(s);
	assert_int_equal(count(r, "\r\n"), ROWS - 1);
	assert_null(strstr(r, "primary"));
	free(r);

	feed(s, "\033[?1049l");
	assert_screen(s, primary, 2, ROWS, "\033[2;5H");
	screen_free(s);
}

static void
test_resize_cols(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*small[] = { "abcde", "xy" };
	const char	*big[] = { "abcde", "xy" };
	char		*r;

	(void)state;
	feed(s, "abcdefghij\r\nxy");
	screen_resize(s, ROWS, 5);
	assert_screen(s, small, 2, ROWS, "\033[2;3H");
	screen_resize(s, 30, 100);
	assert_screen(s, big, 2, 30, "\033[2;3H");
	r = render(s);
	assert_int_equal(count(r, "\r\n"), 29);
	free(r);
	screen_free(s);
}

/* Shorter pushes lines into the scrollback, taller brings them back. */
static void
test_resize_rows(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		 line[128], *orig, *small, *again, *p;
	int		 i;

	(void)state;
	for (i = 0; i < ROWS; i++) {
		snprintf(line, sizeof(line), "%s\033[3%dmL%02d\033[0m "
		    "\xe4\xb8\xad \033[2;8mdc\033[0m\033[41m \033[0m",
		    i ? "\r\n" : "", i % 8, i);
		feed(s, line);
	}
	orig = render(s);
	assert_non_null(strstr(orig, "\033[33mL03\033[0m \xe4\xb8\xad "
	    "\033[2;8mdc\033[0;41m \033[0m\r\n"));
	assert_non_null(strstr(orig, "\033[24;11H"));

	screen_resize(s, 10, COLS);
	small = render(s);
	p = strstr(orig, "\033[24;11H");
	assert_non_null(p);
	assert_int_equal(strncmp(small, orig, (size_t)(p - orig)), 0);
	assert_string_equal(small + (p - orig), "\033[10;11H");

	screen_resize(s, ROWS, COLS);
	again = render(s);
	assert_string_equal(again, orig);

	/* Taller than everything: the rest is empty, at the bottom. */
	screen_resize(s, 30, COLS);
	free(again);
	again = render(s);
	assert_int_equal(count(again, "\r\n"), 29);
	assert_int_equal(strncmp(again, orig, (size_t)(p - orig)), 0);
	free(orig);
	free(small);
	free(again);
	screen_free(s);
}

/*
 * A full screen with the cursor near the top, made shorter: libvterm 0.1.4
 * pushes the bottom lines' worth off the top and the cursor with them,
 * above row 0, where the next write corrupts its memory.
 */
static void
test_resize_cursor_above(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		*r, *p;

	(void)state;
	feed(s, "\033#8\033[H");		/* DECALN: E everywhere */
	screen_resize(s, 10, COLS);
	feed(s, "\033#6\033[4hX\033[J");
	r = render(s);
	/* 14 lines of E went to the scrollback; the cursor is at the top. */
	assert_int_equal(count(r, "EEEEEEEEEE\r\n"), 14);
	p = strstr(r, "EEEEEEEE\r\nX\r\n");
	assert_non_null(p);
	assert_true(ends_with(r,
	    "\r\nX\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\033[1;2H"));
	free(r);
	screen_resize(s, 5, 40);
	screen_resize(s, ROWS, 100);
	feed(s, "\033[4hY\033[?6h\033[1;3rZ");
	free(render(s));
	screen_free(s);

	/* A cursor saved on a larger screen, restored on a smaller one. */
	s = screen_new(ROWS, COLS);
	feed(s, "\033[20;70H\0337");
	screen_resize(s, 5, 10);
	feed(s, "\0338\033#3\033[1JQ");
	r = render(s);
	/* On the last row, which DECDHL made half as wide. */
	assert_true(ends_with(r, "\r\n    Q\033[5;5H"));
	free(r);
	/* And a region whose top is below the new bottom. */
	feed(s, "\033[24r");
	screen_resize(s, 3, 10);
	feed(s, "\r\nab\r\ncd\r\nef");
	r = render(s);
	assert_true(ends_with(r, "\r\nab\r\ncd  Q\r\nef\033[3;3H"));
	free(r);
	screen_free(s);
}

/*
 * REP: libvterm 0.1.4 loops forever without a previous character and
 * writes past the line repeating a wide one; the screen prints it itself.
 */
static void
test_rep(void **state)
{
	struct screen	*s;
	char		*r;

	(void)state;
	assert_first_line("x\033[3bY\033[b\033[0b", "xxxxYYY");
	assert_first_line("\033[5b\033[bok", "ok");
	assert_first_line("\033[31mab\033[2b", "\033[31mabbb\033[0m");
	assert_first_line("\xcc\x81\033[5bz\r\n", "z");

	s = screen_new(ROWS, COLS);
	feed(s, "x\xe4\xb8\xad\033[100b");
	r = render(s);
	assert_int_equal(count(r, "\xe4\xb8\xad"), 101);
	assert_non_null(strstr(r, "\r\n\xe4\xb8\xad"));
	free(r);
	/* A screenful at most, however many are asked for. */
	feed(s, "\033[2J\033[H.\033[99999999b");
	r = render(s);
	/* The first one, then a screenful: one wraps onto a new line. */
	assert_int_equal(count(r, "."), ROWS * COLS + 1);
	free(r);
	screen_free(s);
}

/* Popping lines back onto a narrower screen cuts them, wide ones too. */
static void
test_resize_taller_and_narrower(void **state)
{
	struct screen	*s = screen_new(2, 10);
	const char	*lines[] = { "abcd", "\033[31mx\033[0m", "1", "2" };

	(void)state;
	feed(s, "abcd\xe4\xb8\xad" "ef\r\n\033[31mx\033[0m\r\n1\r\n2");
	screen_resize(s, 4, 5);
	assert_screen(s, lines, 4, 4, "\033[4;2H");
	screen_free(s);
}

/* ls --color style: a few SGR runs on every 80-column line. */
static int
ls_line(char *buf, size_t size, int n)
{
	return snprintf(buf, size,
	    "\033[1;34mdir%04d\033[0m  \033[1;32mrun%04d.sh\033[0m  "
	    "notes%04d.txt  \033[1;36mlink%04d\033[0m  \033[33mfifo%04d"
	    "\033[0m  data-%04d.csv  a.out%04d", n, n, n, n, n, n, n);
}

static void
test_memory_budget(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		 line[256], first[256], last[256], *r, *p;
	int		 i, n = 1100;

	(void)state;
	for (i = 1; i <= n; i++) {
		ls_line(line, sizeof(line), i);
		feed(s, line);
		feed(s, "\r\n");
	}
	/* The generator writes exactly what the renderer emits. */
	r = first_line(s);
	ls_line(first, sizeof(first), n + 1 - ROWS + 1 - SCREEN_SCROLLBACK);
	assert_string_equal(r, first);
	free(r);

	assert_true(screen_memory(s) < 1024 * 1024);
	r = render(s);
	ls_line(last, sizeof(last), n);
	p = strstr(r, last);
	assert_non_null(p);
	assert_string_equal(p + strlen(last), "\r\n\033[24;1H");
	ls_line(line, sizeof(line), n + 1 - ROWS - SCREEN_SCROLLBACK);
	assert_null(strstr(r, line));
	assert_int_equal(count(r, "\r\n"), SCREEN_SCROLLBACK + ROWS - 1);
	free(r);
	screen_free(s);
}

/* Every cell a different colour: the scrollback is capped in bytes too. */
static void
test_memory_worst_case(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		 line[COLS * 48], *r;
	size_t		 len, rlen;
	int		 i, c, n;

	(void)state;
	for (i = 0; i < 1200; i++) {
		for (len = 0, c = 0; c < COLS; c++) {
			n = snprintf(line + len, sizeof(line) - len,
			    "\033[38;2;%d;%d;%d;48;2;%d;%d;%dm%c", i % 256,
			    c, 255 - c, c, i % 256, 7, 'A' + c % 26);
			len += (size_t)n;
		}
		screen_feed(s, line, len);
		feed(s, "\033[0m\r\n");
	}
	assert_true(screen_memory(s) < 1024 * 1024);
	r = screen_render(s, &rlen);
	assert_true(rlen < 1024 * 1024);
	assert_true(rlen > 512 * 1024);
	free(r);
	screen_free(s);
}

/* libvterm 0.1.4 writes past its 16 CSI arguments; the screen stops it. */
static void
test_csi_argument_overflow(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		*in, *got;
	size_t		 i, n = 40000;

	(void)state;
	in = malloc(n + 16);
	assert_non_null(in);
	memcpy(in, "\033[", 2);
	for (i = 2; i < n; i += 2)
		memcpy(in + i, "1;", 2);
	memcpy(in + n, "31mX\033[0m", 8);
	screen_feed(s, in, n + 8);
	free(in);
	got = first_line(s);
	assert_string_equal(got, "\033[1mX\033[0m");
	free(got);
	/* Exactly sixteen are kept. */
	feed(s, "\r\033[0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;31;32mY");
	got = first_line(s);
	assert_string_equal(got, "\033[31mY\033[0m");
	free(got);
	screen_free(s);
}

/* From an exact-size heap copy, so that ASan or valgrind see over-reads. */
static void
feed_heap(struct screen *s, const char *str, size_t len)
{
	char	*copy;

	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, str, len);
	screen_feed(s, copy, len);
	free(copy);
}

/*
 * A string terminator split across writes, or with a control inside: on
 * its own, libvterm 0.1.4 reads before or past the write for these.
 */
static void
test_string_terminator(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	const char	*lines[] = { "okgo!" };

	(void)state;
	feed_heap(s, "\033]0;ti\001tle\033", 11);
	feed_heap(s, "\\", 1);
	feed_heap(s, "ok", 2);
	feed_heap(s, "\033]0;t\033\0\\g", 9);
	feed_heap(s, "\033]0;t\033\001\\", 8);
	feed_heap(s, "\033P1$qm\033", 7);
	feed_heap(s, "\\o!", 3);
	assert_screen(s, lines, 1, ROWS, "\033[1;6H");
	screen_free(s);
}

/* Whatever the write sizes, the screen ends up the same. */
static void
test_split_anywhere(void **state)
{
	const char	 in[] = "\033[1;31mred\033[0m \033[2mdim\033[22m "
			    "\xf0\x9f\x98\x80 \xe4\xb8\xad e\xcc\x81 "
			    "\033]0;title\007\033]2;x\033\\"
			    "\033[38;2;1;2;3mrgb\033[0m\r\n"
			    "\033[8mhidden\033[28m"
			    "\033[5;10Hmoved\033[?1049hALT\033[?1049l\033[K"
			    "\033[3;1H\033[44m\033[Kend";
	struct screen	*s;
	char		*whole, *r;
	size_t		 len = sizeof(in) - 1, step, i;

	(void)state;
	s = screen_new(ROWS, COLS);
	screen_feed(s, in, len);
	whole = render(s);
	screen_free(s);
	assert_non_null(strstr(whole, "\033[1;31mred\033[0m \033[2mdim\033[0m "
	    "\xf0\x9f\x98\x80 \xe4\xb8\xad e\xcc\x81 \033[38;2;1;2;3mrgb"
	    "\033[0m\r\n\033[8mhidden\033[0m\r\n"));

	for (step = 1; step <= 19; step++) {
		s = screen_new(ROWS, COLS);
		for (i = 0; i < len; i += step)
			screen_feed(s, in + i, len - i < step ? len - i : step);
		r = render(s);
		assert_string_equal(r, whole);
		free(r);
		screen_free(s);
	}
	free(whole);
}

/* Long writes go through in pieces; a big plain flood is kept intact. */
static void
test_large_write(void **state)
{
	struct screen	*s = screen_new(ROWS, COLS);
	char		*in, *r, want[COLS + 1];
	size_t		 n = 200000, i;

	(void)state;
	in = malloc(n);
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = (i % (COLS + 2)) < COLS ? (char)('a' + i % 26) :
		    (i % (COLS + 2) == COLS ? '\r' : '\n');
	screen_feed(s, in, n);
	r = render(s);
	assert_int_equal(count(r, "\r\n"), SCREEN_SCROLLBACK + ROWS - 1);
	/* The last complete line in the input. */
	i = n - n % (COLS + 2) - (COLS + 2);
	memcpy(want, in + i, COLS);
	want[COLS] = '\0';
	assert_non_null(strstr(r, want));
	free(r);
	free(in);
	screen_free(s);
}

/* Plain lines of every kind a flood may hold, from a fixed seed. */
static char *
flood_text(size_t nlines, size_t *lenp)
{
	static const char	*pieces[] = { "a", "Z", "0", " ", "\t", "~",
				    "\xc3\xa9", "\xe4\xb8\xad",
				    "\xf0\x9f\x98\x80",
				    "\xcc\x81", "\r" };
	uint32_t		 seed = 12345;
	size_t			 len = 0, cap = nlines * 260, l, w, n, k;
	char			*t;

	t = malloc(cap);
	assert_non_null(t);
	for (l = 0; l < nlines; l++) {
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % 100 == 0 ? 0 : (seed >> 16) % 120;
		for (w = 0; w < n; w++) {
			seed = seed * 1103515245 + 12345;
			k = (seed >> 16) % 40;
			if (k >= sizeof(pieces) / sizeof(pieces[0]))
				k = k % 3;
			memcpy(t + len, pieces[k], strlen(pieces[k]));
			len += strlen(pieces[k]);
		}
		/* Mostly "\r\n", sometimes a bare "\n". */
		if ((seed >> 8) % 17 != 0)
			t[len++] = '\r';
		t[len++] = '\n';
	}
	*lenp = len;
	return t;
}

/* The reference: small writes, each rendered, never let a flood form. */
static void
feed_slowly(struct screen *s, const char *p, size_t len)
{
	size_t	i, step = 1000;

	for (i = 0; i < len; i += step) {
		screen_feed(s, p + i, len - i < step ? len - i : step);
		free(render(s));
	}
}

static void
assert_same_render(struct screen *a, struct screen *b)
{
	char	*ra, *rb;

	ra = render(a);
	rb = render(b);
	assert_string_equal(ra, rb);
	free(ra);
	free(rb);
}

/*
 * Plain-text floods skip libvterm for lines that can no longer show; the
 * result must be what feeding every byte gives.
 */
static void
test_flood_equivalence(void **state)
{
	static const char	*prefixes[] = {
		"",
		"\033[31;44m",
		"x\r\n\033[2;8m",
		"\033[?1049h\033[24;1H",
		"\033[?1049h\033[24;1H\033[r",
	};
	struct screen		*a, *b;
	char			*text;
	size_t			 len, p, held;

	(void)state;
	text = flood_text(5000, &len);
	for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		a = screen_new(ROWS, COLS);
		b = screen_new(ROWS, COLS);
		feed(a, prefixes[p]);
		feed(b, prefixes[p]);
		screen_feed(a, text, len);
		held = screen_memory(a);
		feed_slowly(b, text, len);
		feed(a, "\033[0mend");
		feed(b, "\033[0mend");
		assert_same_render(a, b);
		/* The flood did form and held text back. */
		assert_true(held > screen_memory(a) + 16 * 1024);
		screen_free(a);
		screen_free(b);
	}
	free(text);
}

static size_t
clean_line(char *buf, size_t size, int n, const char *end)
{
	static const char	abc[] = "abcdefghijklmnopqrstuvwxyz"
				    "abcdefghijklmnopqrstuvwxyz";

	return (size_t)snprintf(buf, size, "L%05d \xe4\xb8\xad %.*s%s\r\n", n,
	    n % 50, abc, end);
}

/*
 * Line by line, a fresh flood is cut when it holds 2 * K newlines, keeping
 * K = ROWS + SCREEN_SCROLLBACK: render right at and around those moments.
 */
static void
check_cuts(const char *end, int nocut)
{
	static const int	 at[] = { 2060, 2066, 2069, 2070, 2071, 2072,
				    2073, 2080, 2094, 3090, 3094, 3095, 3096 };
	struct screen		*a, *b;
	char			 line[128];
	size_t			 len, i, fed = 0;
	int			 n;

	b = screen_new(ROWS, COLS);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		for (; (int)fed < at[i]; fed++) {
			len = clean_line(line, sizeof(line), (int)fed, end);
			screen_feed(b, line, len);
			if (fed % 10 == 0)
				free(render(b));
		}
		a = screen_new(ROWS, COLS);
		for (n = 0; n < at[i]; n++) {
			len = clean_line(line, sizeof(line), n, end);
			screen_feed(a, line, len);
		}
		if (nocut)
			assert_true(screen_memory(a) < screen_memory(b) + 4096);
		assert_same_render(a, b);
		screen_free(a);
	}
	screen_free(b);
}

static void
test_flood_cut_points(void **state)
{
	(void)state;
	check_cuts("x", 0);
	/* A lone lead byte before "\r\n" leaves libvterm's decoder waiting. */
	check_cuts("\xe4", 1);
}

/* Where lines do not scroll off, a flood must not skip them. */
static void
test_flood_regions(void **state)
{
	static const char	*prefixes[] = {
		"\033[1;10r\033[24;1H",		/* cursor below the region */
		"\033[5;24r\033[24;1H",		/* region not at the top */
		"\033[?69h\033[5;20s\033[24;1H",	/* side margins */
		"\033[1;10r\033[!p\033[24;1H",	/* 0.1.4 ignores DECSTR */
		"\033[?69h\033c\033[?69h\033[5;20s\033[24;1H",
	};
	struct screen		*a, *b;
	char			*text, line[128];
	size_t			 len = 0, p, n;
	int			 i;

	(void)state;
	/* Long lines, then many short ones: the long ones' tails must stay. */
	text = malloc(4000 * 100);
	assert_non_null(text);
	for (i = 0; i < 4000; i++) {
		if (i < 1000)
			n = (size_t)snprintf(line, sizeof(line),
			    "L%04d%074d\r\n", i, 0);
		else
			n = (size_t)snprintf(line, sizeof(line), "s\r\n");
		memcpy(text + len, line, n);
		len += n;
	}
	for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		a = screen_new(ROWS, COLS);
		b = screen_new(ROWS, COLS);
		feed(a, prefixes[p]);
		feed(b, prefixes[p]);
		screen_feed(a, text, len);
		feed_slowly(b, text, len);
		assert_same_render(a, b);
		screen_free(a);
		screen_free(b);
	}
	/* A full-screen region again: the flood may form. */
	a = screen_new(ROWS, COLS);
	b = screen_new(ROWS, COLS);
	feed(a, "\033[1;10r\033[r\033[24;1H");
	feed(b, "\033[1;10r\033[r\033[24;1H");
	screen_feed(a, text, len);
	assert_true(screen_memory(a) > screen_memory(b) + 16 * 1024);
	feed_slowly(b, text, len);
	assert_same_render(a, b);
	screen_free(a);
	screen_free(b);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_plain_cursor),
		cmocka_unit_test(test_hidden_cursor),
		cmocka_unit_test(test_sgr_attributes),
		cmocka_unit_test(test_dim_conceal),
		cmocka_unit_test(test_colours),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_utf8_split),
		cmocka_unit_test(test_utf8_across_writes),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_c1),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_scrollback_limit),
		cmocka_unit_test(test_scrollback_keeps_attributes),
		cmocka_unit_test(test_altscreen),
		cmocka_unit_test(test_resize_cols),
		cmocka_unit_test(test_resize_rows),
		cmocka_unit_test(test_resize_taller_and_narrower),
		cmocka_unit_test(test_resize_cursor_above),
		cmocka_unit_test(test_rep),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_memory_worst_case),
		cmocka_unit_test(test_csi_argument_overflow),
		cmocka_unit_test(test_string_terminator),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_large_write),
		cmocka_unit_test(test_flood_equivalence),
		cmocka_unit_test(test_flood_cut_points),
		cmocka_unit_test(test_flood_regions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
