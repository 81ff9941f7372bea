/*
 * store: a hash table keyed by the SHA-256 digest (already uniform, so its
 * first bytes are the bucket hash) and a TAILQ in recency order. Lookups
 * and recency moves are O(1); the table doubles as it fills.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "xmalloc.h"
#include "git/store.h"

#define DIGEST_LEN	32
#define PREFIX_LEN	(sizeof(STORE_KEY_PREFIX) - 1)
#define MIN_BUCKETS	64
/* What malloc keeps beside each block (glibc: one size word, 16-byte units). */
#define MALLOC_SLOP	16

struct entry {
	TAILQ_ENTRY(entry)	 lru;		/* head: most recently used */
	struct entry		*next;		/* bucket chain */
	uint64_t		 cost;
	size_t			 len;
	unsigned char		 md[DIGEST_LEN];
	char			 data[];	/* len bytes and a NUL */
};

TAILQ_HEAD(lru_list, entry);

struct store {
	struct lru_list		 lru;
	struct entry		**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	uint64_t		 bytes;
	uint64_t		 limit;
};

static const char hexdig[] = "0123456789abcdef";

static void
digest(const char *content, size_t len, unsigned char md[DIGEST_LEN])
{
	unsigned int	 mdlen;

	if (EVP_Digest(content, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != DIGEST_LEN)
		fatalx("SHA-256 failed");
}

static void
key_text(const unsigned char md[DIGEST_LEN], char key[STORE_KEY_SIZE])
{
	size_t	 i;

	memcpy(key, STORE_KEY_PREFIX, PREFIX_LEN);
	for (i = 0; i < DIGEST_LEN; i++) {
		key[PREFIX_LEN + 2 * i] = hexdig[md[i] >> 4];
		key[PREFIX_LEN + 2 * i + 1] = hexdig[md[i] & 0x0f];
	}
	key[PREFIX_LEN + 2 * DIGEST_LEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Keys are compared as upstream compares dict keys: exactly, so lowercase only. */
static int
key_parse(const char *key, unsigned char md[DIGEST_LEN])
{
	size_t	 i;
	int	 hi, lo;

	if (key == NULL || strncmp(key, STORE_KEY_PREFIX, PREFIX_LEN) != 0)
		return -1;
	key += PREFIX_LEN;
	for (i = 0; i < DIGEST_LEN; i++) {
		if ((hi = hexval(key[2 * i])) == -1 ||
		    (lo = hexval(key[2 * i + 1])) == -1)
			return -1;
		md[i] = (unsigned char)(hi << 4 | lo);
	}
	return key[2 * DIGEST_LEN] == '\0' ? 0 : -1;
}

static size_t
bucket_of(const struct store *st, const unsigned char md[DIGEST_LEN])
{
	uint64_t	 h;

	memcpy(&h, md, sizeof(h));
	return (size_t)(h & (st->nbuckets - 1));
}

static struct entry **
slot_find(struct store *st, const unsigned char md[DIGEST_LEN])
{
	struct entry	**pp;

	for (pp = &st->buckets[bucket_of(st, md)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp((*pp)->md, md, DIGEST_LEN) == 0)
			return pp;
	return pp;
}

static void
grow(struct store *st)
{
	struct entry	**old = st->buckets, *e, *next;
	size_t		  i, n = st->nbuckets;

	st->nbuckets = n * 2;
	st->buckets = xcalloc(st->nbuckets, sizeof(*st->buckets));
	for (i = 0; i < n; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			e->next = st->buckets[bucket_of(st, e->md)];
			st->buckets[bucket_of(st, e->md)] = e;
		}
	free(old);
}

static void
entry_drop(struct store *st, struct entry *e)
{
	struct entry	**pp = slot_find(st, e->md);

	*pp = e->next;
	TAILQ_REMOVE(&st->lru, e, lru);
	st->count--;
	st->bytes -= e->cost;
	free(e);
}

static void
evict(struct store *st)
{
	struct entry	*e;

	while (st->bytes > st->limit &&
	    (e = TAILQ_LAST(&st->lru, lru_list)) != NULL) {
		log_debug("content store: evicting %zu bytes", e->len);
		entry_drop(st, e);
	}
}

/*
 * The entry and its text are one allocation; the bucket array holds at
 * most two pointers per entry at the load it keeps.
 */
uint64_t
store_cost(size_t len)
{
	return (uint64_t)sizeof(struct entry) + len + 1 + MALLOC_SLOP +
	    2 * sizeof(struct entry *);
}

/*
 * The first digest makes OpenSSL fetch its SHA-256 and read its
 * configuration: do that where the store is made, before the sandbox.
 */
struct store *
store_new(uint64_t limit)
{
	struct store	*st = xcalloc(1, sizeof(*st));
	unsigned char	 md[DIGEST_LEN];

	digest("", 0, md);
	TAILQ_INIT(&st->lru);
	st->nbuckets = MIN_BUCKETS;
	st->buckets = xcalloc(st->nbuckets, sizeof(*st->buckets));
	st->limit = limit;
	return st;
}

void
store_free(struct store *st)
{
	struct entry	*e;

	if (st == NULL)
		return;
	while ((e = TAILQ_FIRST(&st->lru)) != NULL) {
		TAILQ_REMOVE(&st->lru, e, lru);
		free(e);
	}
	free(st->buckets);
	free(st);
}

void
store_set_limit(struct store *st, uint64_t limit)
{
	st->limit = limit;
	evict(st);
}

const char *
store_put(struct store *st, const char *content, size_t len,
    char key[STORE_KEY_SIZE])
{
	unsigned char	  md[DIGEST_LEN];
	struct entry	**pp, *e;
	uint64_t	  cost = store_cost(len);

	digest(content, len, md);
	key_text(md, key);
	pp = slot_find(st, md);
	if ((e = *pp) != NULL) {
		TAILQ_REMOVE(&st->lru, e, lru);
		TAILQ_INSERT_HEAD(&st->lru, e, lru);
		return key;
	}
	if (cost > st->limit) {
		log_debug("content store: %zu bytes exceed the limit of %llu; "
		    "not kept", len, (unsigned long long)st->limit);
		return key;
	}
	if (len > SIZE_MAX - sizeof(*e) - 1)
		fatalx("content store: item too large");
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->md, md, DIGEST_LEN);
	memcpy(e->data, content, len);
	e->data[len] = '\0';
	e->len = len;
	e->cost = cost;
	e->next = NULL;
	*pp = e;
	TAILQ_INSERT_HEAD(&st->lru, e, lru);
	st->count++;
	st->bytes += cost;
	evict(st);
	if (st->count > st->nbuckets)
		grow(st);
	return key;
}

const char *
store_get(struct store *st, const char *key, size_t *lenp)
{
	unsigned char	 md[DIGEST_LEN];
	struct entry	*e;

	if (key_parse(key, md) == -1 || (e = *slot_find(st, md)) == NULL)
		return NULL;
	TAILQ_REMOVE(&st->lru, e, lru);
	TAILQ_INSERT_HEAD(&st->lru, e, lru);
	if (lenp != NULL)
		*lenp = e->len;
	return e->data;
}

uint64_t
store_bytes(const struct store *st)
{
	return st->bytes;
}

uint64_t
store_limit(const struct store *st)
{
	return st->limit;
}

size_t
store_count(const struct store *st)
{
	return st->count;
}

struct store *
store_global(void)
{
	static struct store	*global;

	if (global == NULL)
		global = store_new(STORE_DEFAULT_LIMIT);
	return global;
}
