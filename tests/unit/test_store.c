#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "git/store.h"

/* The key computed apart from store.c, with the one-shot SHA256(). */
static void
ref_key(const char *s, size_t len, char out[STORE_KEY_SIZE])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	size_t		 i;

	SHA256((const unsigned char *)s, len, md);
	strcpy(out, "sha256:");
	for (i = 0; i < sizeof(md); i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static const char *
put(struct store *st, const char *s, char key[STORE_KEY_SIZE])
{
	return store_put(st, s, strlen(s), key);
}

static int
has(struct store *st, const char *s)
{
	char	 key[STORE_KEY_SIZE];

	ref_key(s, strlen(s), key);
	return store_get(st, key, NULL) != NULL;
}

static void
test_key_format(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 key[STORE_KEY_SIZE], ref[STORE_KEY_SIZE];
	const char	*k;

	(void)state;
	k = put(st, "hello", key);
	assert_ptr_equal(k, key);
	assert_string_equal(key, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e"
	    "1b161e5c1fa7425e73043362938b9824");
	assert_int_equal(strlen(key), STORE_KEY_SIZE - 1);
	put(st, "", key);
	assert_string_equal(key, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	/* UTF-8 bytes are hashed as they are. */
	put(st, "h\xc3\xa9llo \xe2\x82\xac", key);
	ref_key("h\xc3\xa9llo \xe2\x82\xac", 10, ref);
	assert_string_equal(key, ref);
	store_free(st);
}

static void
test_hit(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 key[STORE_KEY_SIZE], bin[5] = { 'a', '\0', 'b', '\0', 'c' };
	const char	*got;
	size_t		 len = 99;

	(void)state;
	put(st, "some text", key);
	got = store_get(st, key, &len);
	assert_non_null(got);
	assert_int_equal(len, 9);
	assert_string_equal(got, "some text");
	assert_int_equal(store_count(st), 1);

	/* Embedded NULs survive; a NUL follows the bytes. */
	store_put(st, bin, sizeof(bin), key);
	got = store_get(st, key, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(got, bin, 5);
	assert_int_equal(got[5], '\0');

	store_put(st, "", 0, key);
	got = store_get(st, key, &len);
	assert_non_null(got);
	assert_int_equal(len, 0);
	assert_string_equal(got, "");
	store_free(st);
}

static void
test_miss(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 key[STORE_KEY_SIZE], bad[STORE_KEY_SIZE + 8];
	size_t		 i;

	(void)state;
	put(st, "hello", key);
	ref_key("other", 5, bad);
	assert_null(store_get(st, bad, NULL));
	assert_null(store_get(st, NULL, NULL));
	assert_null(store_get(st, "", NULL));
	assert_null(store_get(st, "sha256:", NULL));
	/* Without the prefix, upper case, short, long, other prefix. */
	assert_null(store_get(st, key + 7, NULL));
	strcpy(bad, key);
	for (i = 7; bad[i] != '\0'; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] -= 'a' - 'A';
	assert_null(store_get(st, bad, NULL));
	strcpy(bad, key);
	bad[strlen(bad) - 1] = '\0';
	assert_null(store_get(st, bad, NULL));
	strcpy(bad, key);
	strcat(bad, "0");
	assert_null(store_get(st, bad, NULL));
	strcpy(bad, key);
	memcpy(bad, "sha1:  ", 7);
	assert_null(store_get(st, bad, NULL));
	/* The real key still works. */
	assert_non_null(store_get(st, key, NULL));
	store_free(st);
}

static void
test_same_twice(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 k1[STORE_KEY_SIZE], k2[STORE_KEY_SIZE];
	uint64_t	 bytes;

	(void)state;
	put(st, "same", k1);
	bytes = store_bytes(st);
	assert_int_equal(bytes, store_cost(4));
	put(st, "same", k2);
	assert_string_equal(k1, k2);
	assert_int_equal(store_count(st), 1);
	assert_int_equal(store_bytes(st), bytes);
	store_free(st);
}

/* The limit holds exactly three entries of n bytes. */
static struct store *
three_store(size_t n)
{
	return store_new(3 * store_cost(n));
}

static void
test_eviction_order(void **state)
{
	struct store	*st = three_store(1);
	char		 key[STORE_KEY_SIZE];

	(void)state;
	put(st, "A", key);
	put(st, "B", key);
	put(st, "C", key);
	assert_int_equal(store_count(st), 3);
	/* A read makes A recent: B is the oldest now. */
	assert_true(has(st, "A"));
	put(st, "D", key);
	assert_int_equal(store_count(st), 3);
	assert_false(has(st, "B"));
	/* Oldest first: C, A, D. */
	put(st, "E", key);
	assert_false(has(st, "C"));
	assert_true(has(st, "D"));
	assert_true(has(st, "A"));
	assert_true(has(st, "E"));
	/* Oldest first: D, A, E; a put of stored content refreshes it too. */
	put(st, "D", key);
	put(st, "F", key);
	assert_false(has(st, "A"));
	assert_true(has(st, "D"));
	assert_true(has(st, "E"));
	assert_true(has(st, "F"));
	assert_int_equal(store_count(st), 3);
	assert_int_equal(store_bytes(st), 3 * store_cost(1));
	store_free(st);
}

static void
test_set_limit(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 key[STORE_KEY_SIZE], s[16];
	int		 i;

	(void)state;
	for (i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "item%d", i);
		put(st, s, key);
	}
	assert_int_equal(store_count(st), 10);
	store_set_limit(st, 4 * store_cost(5) + store_cost(5) / 2);
	assert_int_equal(store_count(st), 4);
	assert_true(store_bytes(st) <= store_limit(st));
	for (i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "item%d", i);
		assert_int_equal(has(st, s), i >= 6);
	}
	/* Growing evicts nothing and lets more in. */
	store_set_limit(st, STORE_DEFAULT_LIMIT);
	assert_int_equal(store_count(st), 4);
	put(st, "item0", key);
	assert_int_equal(store_count(st), 5);
	store_set_limit(st, 0);
	assert_int_equal(store_count(st), 0);
	assert_int_equal(store_bytes(st), 0);
	put(st, "x", key);
	assert_int_equal(store_count(st), 0);
	store_free(st);
}

/* Too big for the whole store: not kept, and the rest stays. */
static void
test_huge(void **state)
{
	struct store	*st = store_new(64 * 1024);
	char		 key[STORE_KEY_SIZE], ref[STORE_KEY_SIZE];
	char		*big;
	size_t		 n = 64 * 1024;

	(void)state;
	put(st, "small", key);
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'h', n);
	assert_true(store_cost(n) > store_limit(st));
	assert_ptr_equal(store_put(st, big, n, key), key);
	ref_key(big, n, ref);
	assert_string_equal(key, ref);
	assert_null(store_get(st, key, NULL));
	assert_true(has(st, "small"));
	assert_int_equal(store_count(st), 1);

	/* Fits alone, but only by pushing everything else out. */
	n = store_limit(st) - store_cost(0);
	store_put(st, big, n, key);
	assert_non_null(store_get(st, key, NULL));
	assert_false(has(st, "small"));
	assert_int_equal(store_count(st), 1);
	assert_int_equal(store_bytes(st), store_limit(st));
	free(big);
	store_free(st);
}

/* The cost counts more than the text: entries of nothing still fill it. */
static void
test_cost(void **state)
{
	struct store	*st = store_new(100 * store_cost(0));
	char		 key[STORE_KEY_SIZE], s[16];
	int		 i;

	(void)state;
	assert_true(store_cost(0) >= 48);
	assert_int_equal(store_cost(1000) - store_cost(0), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "%d", i);
		put(st, s, key);
	}
	assert_true(store_count(st) < 100);
	assert_true(store_bytes(st) <= store_limit(st));
	store_free(st);
}

static void
test_many(void **state)
{
	struct store	*st = store_new(STORE_DEFAULT_LIMIT);
	char		 key[STORE_KEY_SIZE], s[32];
	const char	*got;
	uint64_t	 sum = 0;
	int		 i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		snprintf(s, sizeof(s), "content number %d", i);
		put(st, s, key);
		sum += store_cost(strlen(s));
	}
	assert_int_equal(store_count(st), 10000);
	assert_int_equal(store_bytes(st), sum);
	for (i = 0; i < 10000; i++) {
		snprintf(s, sizeof(s), "content number %d", i);
		ref_key(s, strlen(s), key);
		got = store_get(st, key, NULL);
		assert_non_null(got);
		assert_string_equal(got, s);
	}
	/* Keep room for the last 1000 only (all the same cost or less). */
	store_set_limit(st, 1000 * store_cost(strlen("content number 9999")));
	assert_true(store_count(st) >= 1000);
	for (i = 9000; i < 10000; i++) {
		snprintf(s, sizeof(s), "content number %d", i);
		assert_true(has(st, s));
	}
	for (i = 0; i < 8000; i++) {
		snprintf(s, sizeof(s), "content number %d", i);
		assert_false(has(st, s));
	}
	store_free(st);
}

static void
test_global(void **state)
{
	struct store	*g = store_global();

	(void)state;
	assert_non_null(g);
	assert_ptr_equal(store_global(), g);
	assert_int_equal(store_limit(g), 64ULL * 1024 * 1024);
	store_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_format),
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_miss),
		cmocka_unit_test(test_same_twice),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_set_limit),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_global),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
