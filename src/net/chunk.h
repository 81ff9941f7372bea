/*
 * chunk: reference §4.10, done in net. A worker sends a big text field in
 * one event and marks it with "_chunk_field": the name of that field. net
 * either sends the event as it is (with chunked:false) or splits the field
 * into chunk events the client reassembles and verifies by hash.
 */
#ifndef CHUNK_H
#define CHUNK_H

#include <stddef.h>
#include <json-c/json.h>

#define CHUNK_MARK	"_chunk_field"
#define CHUNK_THRESHOLD	(200 * 1024)	/* split when longer than this */
#define CHUNK_SIZE	65536		/* bytes per chunk, at most */

struct chunker;

/*
 * Look at ev's string member `field` (bytes of UTF-8). "_chunk_field" is
 * removed from ev in every case; field may point into it.
 *
 * NULL: send ev as it is. It got chunked:false; the field is untouched.
 * This is also the answer when field is NULL or the member is not a string.
 *
 * Otherwise an iterator over the chunk events. It keeps its own references
 * to what it needs: ev may be released or changed after this call.
 */
struct chunker		*chunk_begin(struct json_object *ev, const char *field);
/* The next chunk event, owned by the caller; NULL after the last one. */
struct json_object	*chunk_next(struct chunker *);
size_t			 chunk_count(const struct chunker *);
void			 chunk_free(struct chunker *);

#endif
