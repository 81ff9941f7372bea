#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#include "json.h"
#include "net/chunk.h"

/* Computed here with the one-shot SHA256(), not the EVP path chunk.c uses. */
static void
ref_hex(const void *data, size_t len, char out[65])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	size_t		 i;

	SHA256(data, len, md);
	for (i = 0; i < sizeof(md); i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* n bytes: prefix, then the character ch repeated, then ASCII to fill. */
static char *
make_text(const char *prefix, const char *ch, size_t n)
{
	char	*s = malloc(n + 1);
	size_t	 pos = 0, plen = strlen(prefix), clen = strlen(ch);

	assert_non_null(s);
	memcpy(s, prefix, plen < n ? plen : n);
	pos = plen < n ? plen : n;
	while (pos + clen <= n) {
		memcpy(s + pos, ch, clen);
		pos += clen;
	}
	while (pos < n)
		s[pos++] = 'z';
	s[n] = '\0';
	return s;
}

static struct json_object *
make_event(const char *text, size_t len)
{
	struct json_object	*ev = json_event_new("content_response");
	struct json_object	*trace = json_object_new_object();

	json_set_str(ev, "content_hash", "sha256:feed");
	json_set_bool(ev, "success", 1);
	json_object_object_add(ev, "content",
	    json_object_new_string_len(text, (int)len));
	json_set_str(ev, "_chunk_field", "content");
	json_set_str(ev, "request_id", "r-17");
	json_set_str(ev, "project_id", "p-1");
	json_set_int(trace, "t0", 42);
	json_object_object_add(ev, "trace", trace);
	return ev;
}

static int64_t
get_int(struct json_object *o, const char *k)
{
	struct json_object	*v = json_get(o, k);

	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static int
get_bool(struct json_object *o, const char *k)
{
	struct json_object	*v = json_get(o, k);

	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static void
check_uuid4(const char *u)
{
	size_t	 i;

	assert_non_null(u);
	assert_int_equal(strlen(u), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u[i]));
	}
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
}

/*
 * Run the whole transfer of text and check everything a client checks:
 * indexes, sizes, hashes, the UTF-8 of every chunk, the base fields, and
 * byte-exact reassembly. The chunk sizes go into sizes (at most max).
 */
static size_t
transfer(const char *text, size_t len, size_t *sizes, size_t max)
{
	struct json_object	*ev = make_event(text, len), *c, *f;
	struct chunker		*ch;
	char			*joined = malloc(len + 1), whole[65], part[65];
	char			 tid[37];
	size_t			 pos = 0, i = 0, count, n;

	assert_non_null(joined);
	ch = chunk_begin(ev, "content");
	assert_non_null(ch);
	/* The iterator keeps what it needs: the event may go now. */
	json_object_put(ev);
	count = chunk_count(ch);
	ref_hex(text, len, whole);
	while ((c = chunk_next(ch)) != NULL) {
		assert_true(i < count);
		assert_int_equal(get_int(c, "chunk_index"), i);
		assert_int_equal(get_int(c, "chunk_count"), count);
		assert_int_equal(get_int(c, "total_size"), len);
		assert_true(get_bool(c, "chunked"));
		assert_int_equal(get_bool(c, "is_final_chunk"), i + 1 == count);
		if (i == 0) {
			strcpy(tid, json_get_str(c, "transfer_id"));
			check_uuid4(tid);
		} else
			assert_string_equal(json_get_str(c, "transfer_id"), tid);

		f = json_get(c, "content");
		assert_non_null(f);
		assert_true(json_object_is_type(f, json_type_string));
		n = (size_t)json_object_get_string_len(f);
		assert_int_equal(get_int(c, "chunk_size"), n);
		assert_true(n > 0 && n <= CHUNK_SIZE);
		assert_true(utf8_valid(json_object_get_string(f), n));
		/* Greedy: only a character start can end a chunk early. */
		if (i + 1 < count) {
			assert_true(n + 3 >= CHUNK_SIZE);
			assert_true(((unsigned char)text[pos + n] & 0xc0) !=
			    0x80);
		}
		assert_true(pos + n <= len);
		memcpy(joined + pos, json_object_get_string(f), n);
		ref_hex(text + pos, n, part);
		assert_string_equal(json_get_str(c, "chunk_hash"), part);
		/* Plain hex of the whole, over the base's "sha256:" key. */
		assert_string_equal(json_get_str(c, "content_hash"), whole);

		assert_string_equal(json_get_str(c, "event"),
		    "content_response");
		assert_true(get_bool(c, "success"));
		assert_string_equal(json_get_str(c, "request_id"), "r-17");
		assert_string_equal(json_get_str(c, "project_id"), "p-1");
		assert_int_equal(get_int(json_get(c, "trace"), "t0"), 42);
		assert_null(json_get(c, CHUNK_MARK));
		/* 6 base fields (content_hash among them) and 9 of the chunk. */
		assert_int_equal(json_object_object_length(c), 15);

		if (i < max)
			sizes[i] = n;
		pos += n;
		i++;
		json_object_put(c);
	}
	assert_int_equal(i, count);
	assert_null(chunk_next(ch));
	assert_int_equal(pos, len);
	assert_memory_equal(joined, text, len);
	chunk_free(ch);
	free(joined);
	return count;
}

static void
plain(const char *text, size_t len)
{
	struct json_object	*ev = make_event(text, len);

	assert_null(chunk_begin(ev, "content"));
	assert_false(get_bool(ev, "chunked"));
	assert_null(json_get(ev, CHUNK_MARK));
	assert_int_equal(json_object_get_string_len(json_get(ev, "content")),
	    len);
	assert_memory_equal(json_object_get_string(json_get(ev, "content")),
	    text, len);
	/* Unchunked replies keep the prefixed key, as upstream. */
	assert_string_equal(json_get_str(ev, "content_hash"), "sha256:feed");
	json_object_put(ev);
}

static void
test_below(void **state)
{
	char	*s = make_text("", "a", 1000);

	(void)state;
	plain(s, 1000);
	plain("", 0);
	free(s);
}

static void
test_at_threshold(void **state)
{
	char	*s = make_text("", "a", CHUNK_THRESHOLD);

	(void)state;
	plain(s, CHUNK_THRESHOLD);
	free(s);
}

static void
test_above_threshold(void **state)
{
	size_t	 len = CHUNK_THRESHOLD + 1, sizes[8];
	char	*s = make_text("", "a", len);

	(void)state;
	/* 204801 = 3 * 65536 + 8193 */
	assert_int_equal(transfer(s, len, sizes, 8), 4);
	assert_int_equal(sizes[0], 65536);
	assert_int_equal(sizes[1], 65536);
	assert_int_equal(sizes[2], 65536);
	assert_int_equal(sizes[3], 8193);
	free(s);
}

static void
test_exact_multiple(void **state)
{
	size_t	 sizes[8], len = 4 * CHUNK_SIZE;
	char	*s = make_text("", "b", len + 1);

	(void)state;
	assert_int_equal(transfer(s, len, sizes, 8), 4);
	assert_int_equal(sizes[3], 65536);
	assert_int_equal(transfer(s, len + 1, sizes, 8), 5);
	assert_int_equal(sizes[3], 65536);
	assert_int_equal(sizes[4], 1);
	assert_int_equal(transfer(s, len - 1, sizes, 8), 4);
	assert_int_equal(sizes[3], 65535);
	free(s);
}

/*
 * A 2-byte character after one ASCII byte starts at every odd offset:
 * 65536 falls on its second byte, so the first chunk is 65535 bytes.
 */
static void
test_two_byte(void **state)
{
	size_t	 sizes[8], len = 300000;
	char	*s;

	(void)state;
	s = make_text("a", "\xc3\xa9", len);
	assert_int_equal(transfer(s, len, sizes, 8), 5);
	assert_int_equal(sizes[0], 65535);
	/* Chunk 1 starts at 65535 (a lead byte): 65536 more ends on one. */
	assert_int_equal(sizes[1], 65536);
	free(s);

	s = make_text("", "\xc3\xa9", len);
	transfer(s, len, sizes, 8);
	assert_int_equal(sizes[0], 65536);
	free(s);
}

/* 65536 = 3 * 21845 + 1: the boundary lands one byte into a euro sign. */
static void
test_three_byte(void **state)
{
	size_t	 sizes[8], len = 250000;
	char	*s;

	(void)state;
	s = make_text("", "\xe2\x82\xac", len);
	transfer(s, len, sizes, 8);
	assert_int_equal(sizes[0], 65535);
	assert_int_equal(sizes[1], 65535);
	free(s);
	/* Characters start at 1 mod 3: 65536 is one. */
	s = make_text("x", "\xe2\x82\xac", len);
	transfer(s, len, sizes, 8);
	assert_int_equal(sizes[0], 65536);
	free(s);
	/* At 2 mod 3: 65536 is a third byte. */
	s = make_text("xy", "\xe2\x82\xac", len);
	transfer(s, len, sizes, 8);
	assert_int_equal(sizes[0], 65534);
	free(s);
}

/* Emoji (4 bytes) after 0-3 ASCII bytes: the cut moves back 0-3 bytes. */
static void
test_four_byte(void **state)
{
	static const char *const prefix[] = { "", "x", "xy", "xyz" };
	static const size_t	 want[] = { 65536, 65533, 65534, 65535 };
	size_t			 sizes[8], len = 220001, i;
	char			*s;

	(void)state;
	for (i = 0; i < 4; i++) {
		s = make_text(prefix[i], "\xf0\x9f\x98\x80", len);
		transfer(s, len, sizes, 8);
		assert_int_equal(sizes[0], want[i]);
		free(s);
	}
}

/* 1 MiB of mixed text: 1-4 byte characters in a pattern that drifts. */
static void
test_mixed_mib(void **state)
{
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\n", "\xd0\x96\xe4\xb8\xad" };
	size_t	 len = 1024 * 1024, pos = 0, i = 0, k, sizes[32];
	char	*s = malloc(len + 1);

	(void)state;
	assert_non_null(s);
	while (pos < len) {
		const char *p = pieces[(i * 7 + i / 5) % 6];

		k = strlen(p);
		if (pos + k > len)
			p = "q", k = 1;
		memcpy(s + pos, p, k);
		pos += k;
		i++;
	}
	assert_true(utf8_valid(s, len));
	assert_true(transfer(s, len, sizes, 32) >= 16);
	free(s);
}

/* A NUL ("\u0000" in the JSON) is a byte like any other. */
static void
test_nul_bytes(void **state)
{
	size_t	 sizes[8], len = CHUNK_THRESHOLD + 100;
	char	*s = make_text("", "a", len);

	(void)state;
	s[0] = '\0';
	s[CHUNK_SIZE] = '\0';
	s[len - 1] = '\0';
	assert_int_equal(transfer(s, len, sizes, 8), 4);
	free(s);
}

static void
test_not_a_string(void **state)
{
	struct json_object	*ev = json_event_new("x");

	(void)state;
	json_set_str(ev, CHUNK_MARK, "content");
	json_set_int(ev, "content", 5);
	assert_null(chunk_begin(ev, "content"));
	assert_false(get_bool(ev, "chunked"));
	assert_null(json_get(ev, CHUNK_MARK));
	assert_int_equal(get_int(ev, "content"), 5);
	json_object_put(ev);

	ev = json_event_new("x");
	json_set_str(ev, CHUNK_MARK, "content");
	assert_null(chunk_begin(ev, "content"));
	assert_null(json_get(ev, CHUNK_MARK));
	json_object_put(ev);

	ev = json_event_new("x");
	json_set_int(ev, CHUNK_MARK, 3);
	assert_null(chunk_begin(ev, NULL));
	assert_null(json_get(ev, CHUNK_MARK));
	assert_false(get_bool(ev, "chunked"));
	json_object_put(ev);
}

/* The name may live in the member being removed. */
static void
test_field_from_mark(void **state)
{
	size_t			 len = CHUNK_THRESHOLD + 5;
	char			*s = make_text("", "a", len);
	struct json_object	*ev = make_event(s, len), *c;
	struct chunker		*ch;

	(void)state;
	json_object_object_del(ev, "content");
	json_object_object_add(ev, "body",
	    json_object_new_string_len(s, (int)len));
	json_set_str(ev, CHUNK_MARK, "body");
	ch = chunk_begin(ev, json_get_str(ev, CHUNK_MARK));
	assert_non_null(ch);
	assert_null(json_get(ev, CHUNK_MARK));
	assert_int_equal(chunk_count(ch), 4);
	c = chunk_next(ch);
	assert_non_null(json_get(c, "body"));
	assert_null(json_get(c, "content"));
	assert_int_equal(get_int(c, "chunk_size"), CHUNK_SIZE);
	json_object_put(c);
	/* Stopping early is allowed. */
	chunk_free(ch);
	json_object_put(ev);

	/* A field named like the mark itself is gone with it. */
	ev = json_event_new("x");
	json_set_str(ev, CHUNK_MARK, CHUNK_MARK);
	assert_null(chunk_begin(ev, json_get_str(ev, CHUNK_MARK)));
	assert_null(json_get(ev, CHUNK_MARK));
	json_object_put(ev);
	free(s);
}

/* Chunks are separate objects; transfers get distinct ids. */
static void
test_independent(void **state)
{
	size_t			 len = CHUNK_THRESHOLD + 1;
	char			*s = make_text("", "a", len), id0[37];
	struct json_object	*ev = make_event(s, len), *a, *b, *c2;
	struct chunker		*ch, *ch2;

	(void)state;
	ch = chunk_begin(ev, "content");
	a = chunk_next(ch);
	json_object_object_del(a, "request_id");
	json_set_str(a, "reply_channel", "chan");
	b = chunk_next(ch);
	assert_string_equal(json_get_str(b, "request_id"), "r-17");
	assert_null(json_get(b, "reply_channel"));
	strcpy(id0, json_get_str(a, "transfer_id"));

	json_object_put(ev);
	ev = make_event(s, len);
	ch2 = chunk_begin(ev, "content");
	c2 = chunk_next(ch2);
	assert_string_not_equal(json_get_str(c2, "transfer_id"), id0);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c2);
	chunk_free(ch);
	chunk_free(ch2);
	chunk_free(NULL);
	json_object_put(ev);
	free(s);
}

/* Without a content_hash in the base the plain hash is still there. */
static void
test_no_base_hash(void **state)
{
	size_t			 len = 300000;
	char			*s = make_text("", "a", len), whole[65];
	struct json_object	*ev = make_event(s, len), *c;
	struct chunker		*ch;

	(void)state;
	json_object_object_del(ev, "content_hash");
	ch = chunk_begin(ev, "content");
	c = chunk_next(ch);
	ref_hex(s, len, whole);
	assert_string_equal(json_get_str(c, "content_hash"), whole);
	json_object_put(c);
	chunk_free(ch);
	json_object_put(ev);
	free(s);
}

/* 32 MiB, the largest a worker answer can carry: 512 chunks. */
static void
test_big(void **state)
{
	size_t	 len = 32 * 1024 * 1024, sizes[1];
	char	*s = make_text("", "a", len);

	(void)state;
	assert_int_equal(transfer(s, len, sizes, 1), 512);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_below),
		cmocka_unit_test(test_at_threshold),
		cmocka_unit_test(test_above_threshold),
		cmocka_unit_test(test_exact_multiple),
		cmocka_unit_test(test_two_byte),
		cmocka_unit_test(test_three_byte),
		cmocka_unit_test(test_four_byte),
		cmocka_unit_test(test_mixed_mib),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_not_a_string),
		cmocka_unit_test(test_field_from_mark),
		cmocka_unit_test(test_independent),
		cmocka_unit_test(test_no_base_hash),
		cmocka_unit_test(test_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
