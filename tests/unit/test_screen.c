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
			    "\033[38;2;1;2;3mrgb\033[0m\r\n\033[8mhidden\033[28m"
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
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_scrollback_limit),
		cmocka_unit_test(test_scrollback_keeps_attributes),
		cmocka_unit_test(test_altscreen),
		cmocka_unit_test(test_resize_cols),
		cmocka_unit_test(test_resize_rows),
		cmocka_unit_test(test_resize_taller_and_narrower),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_memory_worst_case),
		cmocka_unit_test(test_csi_argument_overflow),
		cmocka_unit_test(test_string_terminator),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_large_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
