/*
 * store: the content store of reference §4.9. Texts the client may ask for
 * later (tab contents, diff sides) are kept under "sha256:" + the lowercase
 * hex SHA-256 of their bytes, in an LRU bounded by memory.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_DEFAULT_LIMIT	(64ULL * 1024 * 1024)
#define STORE_KEY_PREFIX	"sha256:"
#define STORE_KEY_SIZE		(7 + 64 + 1)	/* prefix, hex digits, NUL */

struct store;

/* An empty store that holds at most `limit` bytes (see store_cost()). */
struct store	*store_new(uint64_t limit);
void		 store_free(struct store *);
/* Change the bound; entries are evicted, least recently used first, now. */
void		 store_set_limit(struct store *, uint64_t);
/*
 * Keep content[0..len) (any bytes; a NUL is added after them) and write its
 * key into key; returns key. The same content twice is one entry, made the
 * most recently used. An item whose cost alone exceeds the limit is not
 * kept, and nothing is evicted for it: its key is still returned, and a
 * later store_get() of that key misses.
 */
const char	*store_put(struct store *, const char *content, size_t len,
		    char key[STORE_KEY_SIZE]);
/*
 * The content under key, NUL-terminated, its length in *lenp (may be
 * NULL), and made the most recently used; NULL when absent or when key is
 * not "sha256:" + 64 lowercase hex digits. Valid until the next
 * store_put() or store_set_limit().
 */
const char	*store_get(struct store *, const char *key, size_t *lenp);

/* What an entry of len bytes counts against the limit, overhead included. */
uint64_t	 store_cost(size_t len);
uint64_t	 store_bytes(const struct store *);
uint64_t	 store_limit(const struct store *);
size_t		 store_count(const struct store *);

/* The git worker's store, made on first use with STORE_DEFAULT_LIMIT. */
struct store	*store_global(void);

#endif
