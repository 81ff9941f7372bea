#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

/*
 * Reference decoder, written the long way round (decode the code point,
 * then judge it) so that it shares nothing with the table-driven check in
 * json.c. Returns the sequence length, 0 when malformed.
 */
static size_t
ref_decode(const unsigned char *p, size_t avail)
{
	uint32_t	cp, min;
	size_t		n, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2; cp = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3; cp = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4; cp = p[0] & 0x07; min = 0x10000;
	} else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
ref_valid(const unsigned char *p, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		if ((n = ref_decode(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

#define V(s)	utf8_valid((s), sizeof(s) - 1)

static void
test_utf8_valid_examples(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid(NULL, 0));
	assert_true(V("plain ascii text, long enough for the word loop"));
	assert_true(V("caf\xc3\xa9"));
	assert_true(V("\xe2\x82\xac"));			/* U+20AC */
	assert_true(V("\xf0\x9f\x98\x80"));		/* U+1F600 */
	assert_true(V("\xef\xbf\xbf"));			/* U+FFFF */
	assert_true(V("\xf4\x8f\xbf\xbf"));		/* U+10FFFF */
	assert_true(V("\xed\x9f\xbf"));			/* U+D7FF */
	assert_true(V("\xee\x80\x80"));			/* U+E000 */
	assert_true(utf8_valid("a\0b", 3));		/* NUL is UTF-8 */

	assert_false(V("\xc0\x80"));			/* overlong NUL */
	assert_false(V("\xc1\xbf"));			/* overlong */
	assert_false(V("\xe0\x80\x80"));		/* overlong */
	assert_false(V("\xe0\x9f\xbf"));		/* overlong U+07FF */
	assert_false(V("\xf0\x80\x80\x80"));		/* overlong */
	assert_false(V("\xf0\x8f\xbf\xbf"));		/* overlong U+FFFF */
	assert_false(V("\xed\xa0\x80"));		/* U+D800 */
	assert_false(V("\xed\xbf\xbf"));		/* U+DFFF */
	assert_false(V("\xed\xa0\xbd\xed\xb8\x80"));	/* CESU pair */
	assert_false(V("\xf4\x90\x80\x80"));		/* U+110000 */
	assert_false(V("\xf5\x80\x80\x80"));
	assert_false(V("\xff"));
	assert_false(V("\xfe"));
	assert_false(V("\x80"));			/* stray continuation */
	assert_false(V("abc\xbf"));
	assert_false(V("\xc3"));			/* truncated */
	assert_false(V("\xe2\x82"));
	assert_false(V("\xf0\x9f\x98"));
	assert_false(V("\xc3\x28"));			/* bad continuation */
	assert_false(V("\xe2\x28\xa1"));
	assert_false(V("\xf0\x9f\x98\x28"));
}

/* A bad byte must be caught at every offset, inside and after ASCII words. */
static void
test_utf8_valid_fast_path(void **state)
{
	char	buf[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_true(utf8_valid(buf, sizeof(buf)));
		buf[i] = (char)0x80;
		assert_false(utf8_valid(buf, sizeof(buf)));
		buf[i] = (char)0xc3;
		assert_false(utf8_valid(buf, sizeof(buf)));
		if (i + 1 < sizeof(buf)) {
			buf[i + 1] = (char)0xa9;
			assert_true(utf8_valid(buf, sizeof(buf)));
		}
		/* ... and not looked at when it lies beyond len. */
		buf[i] = (char)0xff;
		assert_true(utf8_valid(buf, i));
		assert_false(utf8_valid(buf, i + 1));
	}
}

/* Every 1-, 2- and 3-byte string, and a sample of 4-byte ones. */
static void
test_utf8_valid_exhaustive(void **state)
{
	unsigned char	b[6];
	uint32_t	v;

	(void)state;
	for (v = 0; v < (1u << 24); v++) {
		b[0] = v >> 16;
		b[1] = v >> 8;
		b[2] = v;
		if (utf8_valid((char *)b, 3) != ref_valid(b, 3))
			fail_msg("3 bytes %02x %02x %02x", b[0], b[1], b[2]);
		if (v < (1u << 16) &&
		    utf8_valid((char *)b + 1, 2) != ref_valid(b + 1, 2))
			fail_msg("2 bytes %02x %02x", b[1], b[2]);
	}
	for (v = 0; v < (1u << 24); v++) {
		b[0] = 0xf0 + ((v >> 21) & 7);
		b[1] = (v >> 14) & 0xff;
		b[2] = 0x80 | ((v >> 7) & 0x7f);
		b[3] = (v & 0x7f) | ((v & 1) ? 0x80 : 0);
		b[4] = 'a';
		b[5] = 'b';
		if (utf8_valid((char *)b, 6) != ref_valid(b, 6))
			fail_msg("4 bytes %02x %02x %02x %02x", b[0], b[1],
			    b[2], b[3]);
	}
}

static void
test_utf8_boundary_examples(void **state)
{
	(void)state;
	assert_int_equal(utf8_boundary("", 0), 0);
	assert_int_equal(utf8_boundary("abc", 3), 3);
	assert_int_equal(utf8_boundary("a\xc3", 2), 1);
	assert_int_equal(utf8_boundary("a\xc3\xa9", 3), 3);
	assert_int_equal(utf8_boundary("\xe2", 1), 0);
	assert_int_equal(utf8_boundary("\xe2\x82", 2), 0);
	assert_int_equal(utf8_boundary("x\xe2\x82\xac", 4), 4);
	assert_int_equal(utf8_boundary("x\xf0", 2), 1);
	assert_int_equal(utf8_boundary("x\xf0\x9f", 3), 1);
	assert_int_equal(utf8_boundary("x\xf0\x9f\x98", 4), 1);
	assert_int_equal(utf8_boundary("\xf0\x9f\x98\x80", 4), 4);
	/* Bytes that can never complete are not held back. */
	assert_int_equal(utf8_boundary("a\xff", 2), 2);
	assert_int_equal(utf8_boundary("a\xc0", 2), 2);
	assert_int_equal(utf8_boundary("a\x80", 2), 2);
	assert_int_equal(utf8_boundary("a\xe0\x80", 3), 3);	/* overlong */
	assert_int_equal(utf8_boundary("a\xed\xa0", 3), 3);	/* surrogate */
	assert_int_equal(utf8_boundary("a\xf4\x90", 3), 3);	/* > U+10FFFF */
	assert_int_equal(utf8_boundary("\x80\x80\x80\x80", 4), 4);
	/* Only the last three bytes count. */
	assert_int_equal(utf8_boundary("\xf0\x9f\x98\x80\x80", 5), 5);
}

/* Cutting valid text anywhere: the kept part is valid, at most 3 bytes wait. */
static void
test_utf8_boundary_cuts(void **state)
{
	const char	*text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"
			    "\xed\x9f\xbf\xf4\x8f\xbf\xbf";
	size_t		 len = strlen(text), cut, b;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		b = utf8_boundary(text, cut);
		assert_true(b <= cut);
		assert_true(cut - b <= 3);
		assert_true(utf8_valid(text, b));
		/* The carried tail plus the rest is the rest of the text. */
		assert_true(utf8_valid(text + b, len - b));
		assert_int_equal(b == cut, utf8_valid(text, cut));
	}
}

static struct json_object *
parse(const char *s, size_t len, const char **why)
{
	*why = "unset";
	return json_parse_text(s, len, why);
}

#define P(s, whyp)	parse((s), sizeof(s) - 1, (whyp))

static void
expect_reject(const char *s, size_t len, const char *reason)
{
	struct json_object	*o;
	const char		*why;

	o = parse(s, len, &why);
	if (o != NULL)
		fail_msg("accepted: %.*s", (int)len, s);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

#define R(s, reason)	expect_reject((s), sizeof(s) - 1, (reason))

static void
expect_text(const char *s, size_t len, const char *want)
{
	struct json_object	*o;
	const char		*why;
	size_t			 tlen;

	o = parse(s, len, &why);
	if (o == NULL)
		fail_msg("rejected (%s): %.*s", why, (int)len, s);
	assert_null(why);
	assert_string_equal(json_text(o, &tlen), want);
	assert_int_equal(tlen, strlen(want));
	json_object_put(o);
}

#define A(s, want)	expect_text((s), sizeof(s) - 1, (want))

static void
test_utf8_step(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len, used, wrote;
		const char	*out;
	} cases[] = {
		{ "A", 1, 1, 1, "A" },
		{ "\xc3\xa9x", 3, 2, 2, "\xc3\xa9" },
		{ "\xf0\x9f\x98\x80", 4, 4, 4, "\xf0\x9f\x98\x80" },
		/* Maximal subpart: E2 82 then a non-continuation. */
		{ "\xe2\x82" "A", 3, 2, 3, "\xef\xbf\xbd" },
		{ "\xff", 1, 1, 3, "\xef\xbf\xbd" },
		{ "\xc0\xaf", 2, 1, 3, "\xef\xbf\xbd" },
		/* Cut short at the end: replaced whole. */
		{ "\xe2\x82", 2, 2, 3, "\xef\xbf\xbd" },
		{ "\xed\xa0\x80", 3, 1, 3, "\xef\xbf\xbd" },
	};
	char	 out[8];
	size_t	 i, used, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0, sizeof(out));
		n = utf8_step((const unsigned char *)cases[i].in, cases[i].len,
		    out, &used);
		assert_int_equal(n, cases[i].wrote);
		assert_int_equal(used, cases[i].used);
		assert_memory_equal(out, cases[i].out, n);
	}
}

static void
test_parse_ok(void **state)
{
	(void)state;
	A("{\"cmd\":\"system_info\"}", "{\"cmd\":\"system_info\"}");
	A(" {\"a\" : [1, 2.5, true, false, null, \"x\"]} \r\n\t",
	    "{\"a\":[1,2.5,true,false,null,\"x\"]}");
	A("[]", "[]");
	A("\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"");
	A("\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	/* Bare scalars need the end of the buffer to finish. */
	A("123", "123");
	A("-7", "-7");
	A("  42  ", "42");
	A("true", "true");
	A("\"\"", "\"\"");
	/* Escaped backslash then "u0000" is not a NUL. */
	A("\"a\\\\u0000\"", "\"a\\\\u0000\"");
}

/* len is the end: bytes beyond it (even without a NUL) are not read. */
static void
test_parse_not_terminated(void **state)
{
	struct json_object	*o;
	const char		*why;
	char			*buf;

	(void)state;
	o = parse("12345", 3, &why);
	assert_non_null(o);
	assert_int_equal(json_object_get_int64(o), 123);
	json_object_put(o);

	o = parse("{\"a\":1}garbage", 7, &why);
	assert_non_null(o);
	json_object_put(o);

	/* Exactly sized heap buffer: ASan would flag a read past it. */
	buf = malloc(2);
	assert_non_null(buf);
	memcpy(buf, "77", 2);
	o = parse(buf, 2, &why);
	assert_non_null(o);
	assert_int_equal(json_object_get_int64(o), 77);
	json_object_put(o);
	memcpy(buf, "{}", 2);
	o = parse(buf, 2, &why);
	assert_non_null(o);
	json_object_put(o);
	free(buf);

	/* A caller that only wants yes or no may pass no reason pointer. */
	assert_null(json_parse_text("{", 1, NULL));
	assert_null(json_parse_text("\xff", 1, NULL));
	o = json_parse_text("{}", 2, NULL);
	assert_non_null(o);
	json_object_put(o);
}

static void
test_parse_reject(void **state)
{
	(void)state;
	R("", "not valid JSON");
	R("   ", "not valid JSON");
	R("{", "not valid JSON");
	R("{\"a\":", "not valid JSON");
	R("[1,", "not valid JSON");
	R("\"abc", "not valid JSON");
	R("{\"a\":1,}", "not valid JSON");
	R("[1,]", "not valid JSON");
	R("{a:1}", "not valid JSON");
	R("'x'", "not valid JSON");
	R("/* c */ {}", "not valid JSON");
	R("{} // c", "trailing data after JSON");
	R("01", "not valid JSON");
	R("tru", "not valid JSON");
	R("True", "not valid JSON");
	R("\xef\xbb\xbf{}", "not valid JSON");		/* BOM */
	R("\"\\x41\"", "not valid JSON");
	R("\"a\nb\"", "not valid JSON");	/* raw control character */
	R("\"a\tb\"", "not valid JSON");
	R("{\"k\x01\":1}", "not valid JSON");
	R("[1,\0]", "not valid JSON");
	R("{} {}", "trailing data after JSON");
	R("{}x", "trailing data after JSON");
	R("{\"a\":1}\0", "trailing data after JSON");
	R("[] ]", "trailing data after JSON");
	R("1 2", "trailing data after JSON");
	R("null", "top-level null");
	R("\"\xc3\"", "not valid UTF-8");
	R("{\"a\":\"\xed\xa0\x80\"}", "not valid UTF-8");
	R("{\"a\":\"\xc0\xaf\"}", "not valid UTF-8");
	R("\"\\u0000\"", "string contains NUL");
	R("{\"a\":[\"x\\u0000y\"]}", "string contains NUL");
	R("{\"cmd\\u0000x\":1}", "string contains NUL");
	R("{\"a\":{\"b\":\"\\u0000\"}}", "string contains NUL");
}

static void
nested(size_t depth, int expect_ok)
{
	char		*buf;
	const char	*why;
	struct json_object *o;

	buf = malloc(2 * depth);
	assert_non_null(buf);
	memset(buf, '[', depth);
	memset(buf + depth, ']', depth);
	o = parse(buf, 2 * depth, &why);
	if (expect_ok) {
		assert_non_null(o);
		json_object_put(o);
	} else {
		assert_null(o);
		assert_string_equal(why, "nesting too deep");
	}
	free(buf);
}

static void
test_parse_depth(void **state)
{
	char		*buf;
	const char	*why;
	size_t		 n = 100000;

	(void)state;
	nested(JSON_MAX_DEPTH, 1);
	nested(JSON_MAX_DEPTH + 1, 0);
	buf = malloc(n);
	assert_non_null(buf);
	memset(buf, '[', n);
	assert_null(parse(buf, n, &why));
	assert_string_equal(why, "nesting too deep");
	memset(buf, '{', n);
	assert_null(parse(buf, n, &why));
	assert_string_equal(why, "not valid JSON");
	free(buf);
}

static void
test_text(void **state)
{
	struct json_object	*o;
	size_t			 len;

	(void)state;
	o = json_object_new_object();
	json_set_str(o, "path", "/home/u/a b");
	json_set_str(o, "s", "tab\tquote\"nl\n\xc3\xa9");
	assert_string_equal(json_text(o, &len),
	    "{\"path\":\"/home/u/a b\",\"s\":\"tab\\tquote\\\"nl\\n\xc3\xa9\"}");
	assert_int_equal(len, strlen(json_text(o, NULL)));
	json_object_put(o);
}

static void
test_getters_setters(void **state)
{
	struct json_object	*o, *arr;
	const char		*why;

	(void)state;
	o = P("{\"s\":\"str\",\"i\":5,\"n\":null,\"a\":[\"x\"]}", &why);
	assert_non_null(o);
	assert_string_equal(json_get_str(o, "s"), "str");
	assert_null(json_get_str(o, "i"));
	assert_null(json_get_str(o, "n"));
	assert_null(json_get_str(o, "missing"));
	assert_null(json_get_str(NULL, "s"));
	assert_non_null(json_get(o, "i"));
	assert_null(json_get(o, "n"));		/* JSON null */
	assert_null(json_get(o, "missing"));
	arr = json_get(o, "a");
	assert_true(json_object_is_type(arr, json_type_array));
	/* Not an object: nothing to get. */
	assert_null(json_get(arr, "s"));
	assert_null(json_get_str(arr, "s"));

	json_set_str(o, "s", "new");
	json_set_int(o, "i", INT64_MIN);
	json_set_bool(o, "b", 42);
	json_set_bool(o, "f", 0);
	json_set_str(o, "z", NULL);
	assert_string_equal(json_get_str(o, "s"), "new");
	assert_true(json_object_get_int64(json_get(o, "i")) == INT64_MIN);
	assert_true(json_object_is_type(json_get(o, "b"), json_type_boolean));
	assert_string_equal(json_text(o, NULL),
	    "{\"s\":\"new\",\"i\":-9223372036854775808,\"n\":null,"
	    "\"a\":[\"x\"],\"b\":true,\"f\":false,\"z\":null}");
	json_object_put(o);

	o = json_event_new("terminal_list");
	assert_string_equal(json_text(o, NULL), "{\"event\":\"terminal_list\"}");
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_examples),
		cmocka_unit_test(test_utf8_step),
		cmocka_unit_test(test_utf8_valid_fast_path),
		cmocka_unit_test(test_utf8_valid_exhaustive),
		cmocka_unit_test(test_utf8_boundary_examples),
		cmocka_unit_test(test_utf8_boundary_cuts),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_not_terminated),
		cmocka_unit_test(test_parse_reject),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_getters_setters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
