#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fs/textenc.h"

#define FFFD	"\xef\xbf\xbd"

/*
 * Reference UTF-8 decoder built from first principles: every Unicode
 * scalar value is encoded and all proper prefixes of its encoding are
 * recorded; a "maximal subpart" is then literally the longest recorded
 * prefix. Shares nothing with the table-driven code under test.
 */
static unsigned char	*pfx2;		/* 65536 entries */
static unsigned char	*pfx3;		/* 1 << 24 entries */
static unsigned char	 pfx1[256];
static unsigned char	 len1[256];	/* length of the sequence it starts */

static size_t
ref_encode(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static int
ref_setup(void **state)
{
	unsigned char	 e[4];
	uint32_t	 cp;
	size_t		 n;

	(void)state;
	pfx2 = calloc(1, 1 << 16);
	pfx3 = calloc(1, 1 << 24);
	if (pfx2 == NULL || pfx3 == NULL)
		return -1;
	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = ref_encode(cp, e);
		pfx1[e[0]] = 1;
		len1[e[0]] = n;
		if (n >= 2)
			pfx2[e[0] << 8 | e[1]] = 1;
		if (n >= 3)
			pfx3[e[0] << 16 | e[1] << 8 | e[2]] = 1;
	}
	return 0;
}

static int
ref_teardown(void **state)
{
	(void)state;
	free(pfx2);
	free(pfx3);
	return 0;
}

/* Longest k such that p[0..k) is the beginning of some valid encoding. */
static size_t
ref_prefix(const unsigned char *p, size_t avail)
{
	size_t	 k = 0;

	if (avail >= 1 && pfx1[p[0]])
		k = 1;
	if (k == 1 && avail >= 2 && pfx2[p[0] << 8 | p[1]])
		k = 2;
	if (k == 2 && avail >= 3 && pfx3[p[0] << 16 | p[1] << 8 | p[2]])
		k = 3;
	if (k == 3 && avail >= 4 && len1[p[0]] == 4 &&
	    p[3] >= 0x80 && p[3] <= 0xbf)
		k = 4;
	return k;
}

static size_t
ref_utf8(const unsigned char *in, size_t len, char *out)
{
	size_t	 i = 0, o = 0, k;

	while (i < len) {
		k = ref_prefix(in + i, len - i);
		if (k > 0 && k == len1[in[i]]) {
			memcpy(out + o, in + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, FFFD, 3);
			o += 3;
			i += k > 0 ? k : 1;
		}
	}
	return o;
}

/* Python's UTF-16 decoder with errors="replace", unit by unit. */
static size_t
ref_utf16(const unsigned char *in, size_t len, int mode, char *out)
{
	size_t		 i = 0, o = 0;
	uint32_t	 u, hi = 0;
	int		 big = mode == TE_UTF16BE;

	if (mode == TE_UTF16 && len >= 2) {
		if (in[0] == 0xfe && in[1] == 0xff) {
			big = 1;
			i = 2;
		} else if (in[0] == 0xff && in[1] == 0xfe)
			i = 2;
	}
	for (; i + 1 < len; i += 2) {
		u = big ? (uint32_t)in[i] << 8 | in[i + 1] :
		    (uint32_t)in[i + 1] << 8 | in[i];
		if (hi != 0 && u >= 0xdc00 && u <= 0xdfff) {
			o += ref_encode(0x10000 + ((hi - 0xd800) << 10) +
			    (u - 0xdc00), (unsigned char *)out + o);
			hi = 0;
			continue;
		}
		if (hi != 0) {
			memcpy(out + o, FFFD, 3);
			o += 3;
			hi = 0;
		}
		if (u >= 0xd800 && u <= 0xdbff)
			hi = u;
		else if (u >= 0xdc00 && u <= 0xdfff) {
			memcpy(out + o, FFFD, 3);
			o += 3;
		} else
			o += ref_encode(u, (unsigned char *)out + o);
	}
	/* A pending high surrogate and an odd byte are one truncated unit. */
	if (hi != 0 || i < len) {
		memcpy(out + o, FFFD, 3);
		o += 3;
	}
	return o;
}

/* The canary bytes after an output buffer are untouched. */
static void
canary_ok(const char *buf, size_t from, size_t n, int byte)
{
	size_t	 i;

	for (i = from; i < from + n; i++)
		assert_int_equal((unsigned char)buf[i], byte);
}

/* Decode in one feed into an exactly sized buffer followed by a canary. */
static char *
decode_one(enum textenc enc, const void *in, size_t len, size_t *outlen)
{
	struct textdec	 d;
	size_t		 room = TEXTDEC_ROOM(len);
	char		*out;

	out = malloc(room + 64);
	assert_non_null(out);
	memset(out, 0xa5, room + 64);
	textdec_init(&d, enc);
	*outlen = textdec_feed(&d, in, len, 1, out);
	assert_true(*outlen <= room);
	canary_ok(out, room, 64, 0xa5);
	return out;
}

/*
 * Decode with feeds cut at the given positions (ascending, < len), each
 * feed into its own exactly sized, canaried buffer.
 */
static size_t
decode_cuts(enum textenc enc, const unsigned char *in, size_t len,
    const size_t *cuts, size_t ncuts, int empty_last, char *out)
{
	struct textdec	 d;
	size_t		 o = 0, at = 0, end, n, room, c;
	char		*buf;

	textdec_init(&d, enc);
	for (c = 0; c <= ncuts; c++) {
		end = c < ncuts ? cuts[c] : len;
		room = TEXTDEC_ROOM(end - at);
		buf = malloc(room + 32);
		assert_non_null(buf);
		memset(buf, 0x5a, room + 32);
		n = textdec_feed(&d, in + at, end - at,
		    c == ncuts && !empty_last, buf);
		assert_true(n <= room);
		canary_ok(buf, room, 32, 0x5a);
		memcpy(out + o, buf, n);
		o += n;
		free(buf);
		at = end;
	}
	if (empty_last) {
		room = TEXTDEC_ROOM(0);
		buf = malloc(room + 32);
		assert_non_null(buf);
		memset(buf, 0x5a, room + 32);
		n = textdec_feed(&d, in + len, 0, 1, buf);
		assert_true(n <= room);
		canary_ok(buf, room, 32, 0x5a);
		memcpy(out + o, buf, n);
		o += n;
		free(buf);
	}
	return o;
}

static void
expect_decode(enum textenc enc, const char *in, size_t len, const char *want,
    size_t wantlen)
{
	char	*out;
	size_t	 n, i;

	out = decode_one(enc, in, len, &n);
	if (n != wantlen || memcmp(out, want, n) != 0) {
		print_error("enc %d, input", enc);
		for (i = 0; i < len; i++)
			print_error(" %02x", (unsigned char)in[i]);
		print_error(": got");
		for (i = 0; i < n; i++)
			print_error(" %02x", (unsigned char)out[i]);
		print_error("\n");
		fail();
	}
	free(out);
}

#define EXPECT(enc, in, want) \
	expect_decode(enc, in, sizeof(in) - 1, want, sizeof(want) - 1)

/* Every single split point, and every pair of split points. */
static void
check_splits(enum textenc enc, const unsigned char *in, size_t len)
{
	char	*whole, *parts;
	size_t	 wn, pn, cuts[2], a, b;

	whole = decode_one(enc, in, len, &wn);
	parts = malloc(TEXTDEC_ROOM(len) * 3 + 64);
	assert_non_null(parts);
	for (a = 0; a <= len; a++) {
		cuts[0] = a;
		pn = decode_cuts(enc, in, len, cuts, 1, 0, parts);
		assert_int_equal(pn, wn);
		assert_memory_equal(parts, whole, wn);
		pn = decode_cuts(enc, in, len, cuts, 1, 1, parts);
		assert_int_equal(pn, wn);
		assert_memory_equal(parts, whole, wn);
		for (b = a; b <= len; b++) {
			cuts[1] = b;
			pn = decode_cuts(enc, in, len, cuts, 2, 0, parts);
			assert_int_equal(pn, wn);
			assert_memory_equal(parts, whole, wn);
		}
	}
	free(whole);
	free(parts);
}

static void
test_lookup(void **state)
{
	(void)state;
	assert_int_equal(textenc_lookup("utf-8"), TE_UTF8);
	assert_int_equal(textenc_lookup("UTF-8"), TE_UTF8);
	assert_int_equal(textenc_lookup("utf_8"), TE_UTF8);
	assert_int_equal(textenc_lookup("Utf8"), TE_UTF8);
	assert_int_equal(textenc_lookup("utf 8"), TE_UTF8);
	assert_int_equal(textenc_lookup("U8"), TE_UTF8);
	assert_int_equal(textenc_lookup("latin-1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("LATIN1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("latin_1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("ISO-8859-1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("iso8859-1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("iso_8859_1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("L1"), TE_LATIN1);
	assert_int_equal(textenc_lookup("ascii"), TE_ASCII);
	assert_int_equal(textenc_lookup("US-ASCII"), TE_ASCII);
	assert_int_equal(textenc_lookup("utf-16"), TE_UTF16);
	assert_int_equal(textenc_lookup("UTF16"), TE_UTF16);
	assert_int_equal(textenc_lookup("utf-16-le"), TE_UTF16LE);
	assert_int_equal(textenc_lookup("UTF-16LE"), TE_UTF16LE);
	assert_int_equal(textenc_lookup("utf_16_be"), TE_UTF16BE);
	assert_int_equal(textenc_lookup("utf-16be"), TE_UTF16BE);

	assert_int_equal(textenc_lookup(""), -1);
	assert_int_equal(textenc_lookup("utf-32"), -1);
	assert_int_equal(textenc_lookup("ebcdic"), -1);
	assert_int_equal(textenc_lookup("utf-7"), -1);
	assert_int_equal(textenc_lookup("latin-1x"), -1);
	assert_int_equal(textenc_lookup("utf-16-xx"), -1);
	/* Long names must neither overflow nor match by prefix. */
	assert_int_equal(textenc_lookup(
	    "utf-8aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), -1);
	assert_int_equal(textenc_lookup(
	    "iso_8859_1_______________________"), -1);
}

static void
test_utf8_valid(void **state)
{
	static const char	 s[] = "plain ASCII\n"
	    "\xc2\xa9 \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad "
	    "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbb\xbf \xed\x9f\xbf "
	    "\xee\x80\x80 \x7f\x01";
	char			*out;
	size_t			 n;

	(void)state;
	out = decode_one(TE_UTF8, s, sizeof(s) - 1, &n);
	assert_int_equal(n, sizeof(s) - 1);
	assert_memory_equal(out, s, n);
	free(out);
	/* NUL bytes are data, not terminators. */
	EXPECT(TE_UTF8, "a\0b", "a\0b");
	/* A BOM is kept as U+FEFF, as Python's "utf-8" codec does. */
	EXPECT(TE_UTF8, "\xef\xbb\xbfx", "\xef\xbb\xbfx");
	expect_decode(TE_UTF8, "", 0, "", 0);
}

static void
test_utf8_invalid(void **state)
{
	(void)state;
	/* Vectors checked against Python 3's bytes.decode("utf-8", "replace"). */
	EXPECT(TE_UTF8, "\xe2\x82" "A", FFFD "A");
	EXPECT(TE_UTF8, "\xe2\x82", FFFD);
	EXPECT(TE_UTF8, "\xf0\x90\x80", FFFD);
	EXPECT(TE_UTF8, "\xf0\x90\x80\xf0", FFFD FFFD);
	EXPECT(TE_UTF8, "\xed\xa0\x80", FFFD FFFD FFFD);	/* surrogate */
	EXPECT(TE_UTF8, "\xc0\xaf", FFFD FFFD);		/* overlong */
	EXPECT(TE_UTF8, "\xe0\x80\xaf", FFFD FFFD FFFD);
	EXPECT(TE_UTF8, "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
	EXPECT(TE_UTF8, "\xf5\x80", FFFD FFFD);
	EXPECT(TE_UTF8, "\xff\xfe", FFFD FFFD);
	EXPECT(TE_UTF8, "\x80\xbf", FFFD FFFD);
	EXPECT(TE_UTF8, "a\xc3", "a" FFFD);
	EXPECT(TE_UTF8, "\xc3" "\xc3\xa9", FFFD "\xc3\xa9");
	EXPECT(TE_UTF8, "\xf0\x9f\x98" "\xf0\x9f\x98\x80",
	    FFFD "\xf0\x9f\x98\x80");
	EXPECT(TE_UTF8, "\xe2\x82\xac\xe2\x82", "\xe2\x82\xac" FFFD);
	/* Unicode 15 §3.9, table 3-8. */
	EXPECT(TE_UTF8, "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
	    "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
}

static void
test_utf8_reference(void **state)
{
	static const unsigned char	 pool[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
		0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
		0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff
	};
	unsigned char	 in[64];
	char		*got, want[64 * 3 + 8];
	size_t		 len, gn, wn, i, iter;

	(void)state;
	srandom(4242);
	for (iter = 0; iter < 200000; iter++) {
		len = random() % 12;
		for (i = 0; i < len; i++)
			in[i] = pool[random() % sizeof(pool)];
		got = decode_one(TE_UTF8, in, len, &gn);
		wn = ref_utf8(in, len, want);
		if (gn != wn || memcmp(got, want, wn) != 0) {
			print_error("mismatch on input of %zu bytes:", len);
			for (i = 0; i < len; i++)
				print_error(" %02x", in[i]);
			print_error("\n");
			fail();
		}
		free(got);
	}
}

static void
test_utf8_splits(void **state)
{
	static const char	*cases[] = {
		"\xe2\x82\xac",
		"a\xf0\x9f\x98\x80z",
		"\xe2\x82" "A",
		"\xf0\x90\x80\xf0",
		"\xf0\x9f\x98\xf0\x9f\x98\x80\xc3",
		"\xed\xa0\x80\xed\x9f\xbf",
		"\xc3\xa9\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xff",
		"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
		"\xef\xbb\xbf\xe2\x82",
	};
	static const unsigned char	 pool[] = {
		0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3, 0xe0, 0xe2,
		0xed, 0xf0, 0xf4, 0x90, 0x8f, 0xff
	};
	unsigned char	 in[16];
	size_t		 c, i, len, iter;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		check_splits(TE_UTF8, (const unsigned char *)cases[c],
		    strlen(cases[c]));
	srandom(77);
	for (iter = 0; iter < 3000; iter++) {
		len = 1 + random() % 10;
		for (i = 0; i < len; i++)
			in[i] = pool[random() % sizeof(pool)];
		check_splits(TE_UTF8, in, len);
	}
}

/* Byte-at-a-time feeding of a long mixed buffer equals one feed. */
static void
test_utf8_bytewise(void **state)
{
	static const char	 s[] = "x\xe2\x82\xac\xf0\x9f\x98\x80\xc3"
	    "\xe2\x82" "A\xed\xa0\x80\xf4\x90\xc2\xa9\xf0\x90\x80";
	struct textdec		 d;
	char			*whole, out[256], buf[TEXTDEC_ROOM(1)];
	size_t			 wn, o = 0, i, n;

	(void)state;
	whole = decode_one(TE_UTF8, s, sizeof(s) - 1, &wn);
	textdec_init(&d, TE_UTF8);
	for (i = 0; i < sizeof(s) - 1; i++) {
		n = textdec_feed(&d, (const unsigned char *)s + i, 1, 0, buf);
		assert_true(n <= sizeof(buf));
		memcpy(out + o, buf, n);
		o += n;
	}
	o += textdec_feed(&d, NULL, 0, 1, out + o);
	assert_int_equal(o, wn);
	assert_memory_equal(out, whole, wn);
	free(whole);
}

static void
test_latin1(void **state)
{
	unsigned char	 in[256];
	char		*out, want[512];
	size_t		 n, o = 0;
	int		 i;

	(void)state;
	for (i = 0; i < 256; i++) {
		in[i] = i;
		if (i < 0x80)
			want[o++] = i;
		else {
			want[o++] = 0xc0 | (i >> 6);
			want[o++] = 0x80 | (i & 0x3f);
		}
	}
	out = decode_one(TE_LATIN1, in, 256, &n);
	assert_int_equal(n, o);
	assert_int_equal(n, 128 + 256);
	assert_memory_equal(out, want, o);
	free(out);
	EXPECT(TE_LATIN1, "caf\xe9", "caf\xc3\xa9");
	EXPECT(TE_LATIN1, "\xa0\xff", "\xc2\xa0\xc3\xbf");
	/* UTF-8 input is not special: each byte is its own character. */
	EXPECT(TE_LATIN1, "\xc3\xa9", "\xc3\x83\xc2\xa9");
	check_splits(TE_LATIN1, in + 0x7c, 8);
}

static void
test_ascii(void **state)
{
	unsigned char	 in[256];
	char		*out;
	size_t		 n, o = 0;
	int		 i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = i;
	out = decode_one(TE_ASCII, in, 256, &n);
	assert_int_equal(n, 128 + 128 * 3);
	for (i = 0; i < 128; i++)
		assert_int_equal((unsigned char)out[o++], i);
	for (; i < 256; i++, o += 3)
		assert_memory_equal(out + o, FFFD, 3);
	free(out);
	/* One U+FFFD per byte, a valid UTF-8 sequence included. */
	EXPECT(TE_ASCII, "a\xc3\xa9z", "a" FFFD FFFD "z");
}

static void
test_utf16_bom(void **state)
{
	(void)state;
	/* BOM FF FE: little-endian, BOM dropped. */
	EXPECT(TE_UTF16, "\xff\xfe" "A\0\xac\x20", "A\xe2\x82\xac");
	/* BOM FE FF: big-endian, BOM dropped. */
	EXPECT(TE_UTF16, "\xfe\xff" "\0A\x20\xac", "A\xe2\x82\xac");
	/* No BOM: little-endian. */
	EXPECT(TE_UTF16, "A\0\xac\x20", "A\xe2\x82\xac");
	EXPECT(TE_UTF16, "\0A", "\xe4\x84\x80");
	/* Only the first BOM is one; a second is U+FEFF. */
	EXPECT(TE_UTF16, "\xff\xfe\xff\xfe" "A\0", "\xef\xbb\xbf" "A");
	EXPECT(TE_UTF16, "\xfe\xff\xfe\xff" "\0A", "\xef\xbb\xbf" "A");
	/* A BOM alone is empty text. */
	EXPECT(TE_UTF16, "\xfe\xff", "");
	EXPECT(TE_UTF16, "\xff\xfe", "");
	/* Not at the start: a character (U+FEFF). */
	EXPECT(TE_UTF16, "A\0\xff\xfe", "A\xef\xbb\xbf");
	/* Fixed byte orders keep a BOM as U+FEFF. */
	EXPECT(TE_UTF16LE, "\xff\xfe" "A\0", "\xef\xbb\xbf" "A");
	EXPECT(TE_UTF16BE, "\xfe\xff" "\0A", "\xef\xbb\xbf" "A");
	EXPECT(TE_UTF16BE, "\xff\xfe" "\0A", "\xef\xbf\xbe" "A");
	EXPECT(TE_UTF16LE, "\0A", "\xe4\x84\x80");
}

static void
test_utf16_surrogates(void **state)
{
	(void)state;
	/* U+1F600 as a pair, both byte orders. */
	EXPECT(TE_UTF16LE, "\x3d\xd8\x00\xde", "\xf0\x9f\x98\x80");
	EXPECT(TE_UTF16BE, "\xd8\x3d\xde\x00", "\xf0\x9f\x98\x80");
	EXPECT(TE_UTF16, "\xfe\xff\xdb\xff\xdf\xff", "\xf4\x8f\xbf\xbf");
	EXPECT(TE_UTF16LE, "\x00\xd8\x00\xdc", "\xf0\x90\x80\x80");
	/* Lone surrogates (vectors from Python's utf-16 "replace"). */
	EXPECT(TE_UTF16LE, "\x00\xdc" "A\0", FFFD "A");
	EXPECT(TE_UTF16LE, "\x00\xd8" "A\0", FFFD "A");
	EXPECT(TE_UTF16LE, "\x00\xd8\x00\xd8\x00\xdc",
	    FFFD "\xf0\x90\x80\x80");
	EXPECT(TE_UTF16LE, "\x00\xdc\x00\xd8", FFFD FFFD);
	EXPECT(TE_UTF16LE, "\x00\xd8\x00\xdc\x00\xdc",
	    "\xf0\x90\x80\x80" FFFD);
	EXPECT(TE_UTF16LE, "\x00\xd8", FFFD);
	/* Odd trailing byte at the end. */
	EXPECT(TE_UTF16LE, "A", FFFD);
	EXPECT(TE_UTF16LE, "A\0B", "A" FFFD);
	EXPECT(TE_UTF16, "\xff\xfe" "A\0B", "A" FFFD);
	/* A pending high surrogate and an odd byte make one error. */
	EXPECT(TE_UTF16LE, "\x00\xd8" "A", FFFD);
	EXPECT(TE_UTF16LE, "\x00\xd8\x00\xd8" "A", FFFD FFFD);
	/* U+0000 and BMP edges. */
	EXPECT(TE_UTF16LE, "\0\0\xff\xd7\x00\xe0\xff\xff",
	    "\0\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf");
}

static void
test_utf16_splits(void **state)
{
	static const struct {
		int		 enc;
		const char	*s;
		size_t		 len;
	} cases[] = {
		{ TE_UTF16, "\xff\xfe" "A\0\x3d\xd8\x00\xde" "B", 9 },
		{ TE_UTF16, "\xfe\xff" "\0A\xd8\x3d\xde\x00\xd8", 9 },
		{ TE_UTF16, "\xfe\xff", 2 },
		{ TE_UTF16, "\xfe", 1 },
		{ TE_UTF16, "\x00\xd8\x00\xdc\x00\xdc\x00\xd8" "A", 9 },
		{ TE_UTF16LE, "\x00\xdc\x00\xd8\x00\xd8\x00\xdc", 8 },
		{ TE_UTF16BE, "\xd8\x00" "\0A" "\xdc\x00", 6 },
	};
	unsigned char	 in[12];
	char		*got, want[64];
	size_t		 c, i, len, gn, wn, iter;
	int		 enc;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		check_splits(cases[c].enc, (const unsigned char *)cases[c].s,
		    cases[c].len);
	/* Random unit soups, against the reference and split everywhere. */
	srandom(1606);
	for (iter = 0; iter < 3000; iter++) {
		static const unsigned char pool[] = {
			0x00, 0x41, 0xd8, 0xdb, 0xdc, 0xdf, 0xfe, 0xff, 0x20
		};
		enc = TE_UTF16 + (int)(iter % 3);
		len = random() % 11;
		for (i = 0; i < len; i++)
			in[i] = pool[random() % sizeof(pool)];
		got = decode_one(enc, in, len, &gn);
		wn = ref_utf16(in, len, enc, want);
		if (gn != wn || memcmp(got, want, wn) != 0) {
			print_error("utf-16 mode %d mismatch on", enc);
			for (i = 0; i < len; i++)
				print_error(" %02x", in[i]);
			print_error("\n");
			fail();
		}
		free(got);
		check_splits(enc, in, len);
	}
}

/*
 * The worst cases for output size fill an exactly TEXTDEC_ROOM-sized
 * buffer without writing past it, also with bytes carried over.
 */
static void
test_room(void **state)
{
	unsigned char	 in[4096];
	struct textdec	 d;
	char		*out;
	size_t		 n, room, len;
	int		 enc;

	(void)state;
	memset(in, 0xff, sizeof(in));
	for (enc = TE_UTF8; enc <= TE_UTF16BE; enc++) {
		out = decode_one(enc, in, sizeof(in), &n);
		free(out);
	}
	/* Invalid UTF-8: 3 output bytes per input byte. */
	memset(in, 0x80, sizeof(in));
	out = decode_one(TE_UTF8, in, sizeof(in), &n);
	assert_int_equal(n, 3 * sizeof(in));
	free(out);
	out = decode_one(TE_ASCII, in, sizeof(in), &n);
	assert_int_equal(n, 3 * sizeof(in));
	free(out);
	/* UTF-16: high surrogate then U+0800: 6 bytes out per 4 in. */
	for (len = 0; len + 4 <= sizeof(in); len += 4) {
		in[len] = 0x00; in[len + 1] = 0xd8;
		in[len + 2] = 0x00; in[len + 3] = 0x08;
	}
	out = decode_one(TE_UTF16LE, in, sizeof(in), &n);
	assert_int_equal(n, sizeof(in) / 4 * 6);
	free(out);

	/* Carried bytes flushed into a tiny feed: 3 pending + 1 new. */
	for (len = 0; len <= 2; len++) {
		textdec_init(&d, TE_UTF8);
		room = TEXTDEC_ROOM(3);
		out = malloc(room + 64);
		memset(out, 0xa5, room + 64);
		n = textdec_feed(&d, (const unsigned char *)"\xf0\x90\x80", 3,
		    0, out);
		assert_int_equal(n, 0);
		room = TEXTDEC_ROOM(len);
		n = textdec_feed(&d, (const unsigned char *)"\xff\xff", len,
		    1, out);
		assert_true(n <= room);
		assert_int_equal(n, 3 + 3 * len);
		canary_ok(out, room, 64, 0xa5);
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_reference),
		cmocka_unit_test(test_utf8_splits),
		cmocka_unit_test(test_utf8_bytewise),
		cmocka_unit_test(test_latin1),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_utf16_bom),
		cmocka_unit_test(test_utf16_surrogates),
		cmocka_unit_test(test_utf16_splits),
		cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, ref_setup, ref_teardown);
}
