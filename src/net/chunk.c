/*
 * chunk: split one big text field into §4.10 chunk events. The chunks are
 * made one at a time so that a 32 MiB text never exists twice as JSON
 * objects; only the serialised frames queue up toward the gateway.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "net/chunk.h"

#define HEX_SHA256	65	/* 64 hex digits and a NUL */
#define UUID_TEXT	37

struct chunker {
	struct json_object	*base;		/* the fields every chunk repeats */
	struct json_object	*text;		/* the string being split */
	struct json_object	*whole_hash;
	char			*field;
	char			 transfer_id[UUID_TEXT];
	const char		*s;
	size_t			 len;
	size_t			 pos;
	size_t			 index;
	size_t			 count;
};

/*
 * net runs under seccomp with its OpenSSL already initialised (tls.c):
 * EVP_sha256() is the built-in method and needs no configuration load.
 */
static void
sha256_hex(const void *data, size_t len, char out[HEX_SHA256])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("SHA-256 failed");
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * mdlen] = '\0';
}

/* A random (version 4) UUID in its usual text form, as Python's str(uuid4()). */
static void
uuid4_text(char out[UUID_TEXT])
{
	unsigned char	 b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, UUID_TEXT, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
	    b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
}

/*
 * Where the chunk starting at pos ends: CHUNK_SIZE bytes on, moved back to
 * the start of the character it would cut. The client decodes every chunk
 * on its own, so a split character would fail the whole transfer. Text
 * that is not UTF-8 (it cannot come from a parsed event) is cut where it
 * falls; the chunk is never shorter than CHUNK_SIZE - 3.
 */
static size_t
chunk_end(const char *s, size_t len, size_t pos)
{
	size_t	 end, k;

	if (len - pos <= CHUNK_SIZE)
		return len;
	end = pos + CHUNK_SIZE;
	for (k = 0; k <= 3; k++)
		if (((unsigned char)s[end - k] & 0xc0) != 0x80)
			return end - k;
	return end;
}

static struct json_object *
base_copy(struct json_object *ev, const char *field)
{
	struct json_object	*base = json_object_new_object();

	json_object_object_foreach(ev, k, v) {
		if (strcmp(k, field) == 0 || strcmp(k, CHUNK_MARK) == 0)
			continue;
		/* Shared, not copied: nobody changes a nested value on the way. */
		json_object_object_add(base, k, json_object_get(v));
	}
	return base;
}

struct chunker *
chunk_begin(struct json_object *ev, const char *field)
{
	struct chunker		*ch;
	struct json_object	*text = NULL;
	char			*name = NULL, hash[HEX_SHA256];
	size_t			 len = 0, pos;

	if (field != NULL)
		name = xstrdup(field);
	json_object_object_del(ev, CHUNK_MARK);
	if (name != NULL)
		text = json_get(ev, name);
	if (text != NULL && json_object_is_type(text, json_type_string))
		len = (size_t)json_object_get_string_len(text);
	if (len <= CHUNK_THRESHOLD) {
		json_set_bool(ev, "chunked", 0);
		free(name);
		return NULL;
	}

	ch = xcalloc(1, sizeof(*ch));
	ch->field = name;
	ch->text = json_object_get(text);
	ch->s = json_object_get_string(text);
	ch->len = len;
	ch->base = base_copy(ev, name);
	sha256_hex(ch->s, len, hash);
	ch->whole_hash = json_object_new_string(hash);
	uuid4_text(ch->transfer_id);
	for (pos = 0; pos < len; pos = chunk_end(ch->s, len, pos))
		ch->count++;
	return ch;
}

struct json_object *
chunk_next(struct chunker *ch)
{
	struct json_object	*c;
	size_t			 end, n;
	char			 hash[HEX_SHA256];

	if (ch->pos >= ch->len)
		return NULL;
	end = chunk_end(ch->s, ch->len, ch->pos);
	n = end - ch->pos;
	sha256_hex(ch->s + ch->pos, n, hash);

	c = json_object_new_object();
	json_object_object_foreach(ch->base, k, v)
		json_object_object_add(c, k, json_object_get(v));
	/*
	 * Field order as upstream builds its dict; a content_hash already in
	 * the base keeps its place and takes the plain hex of the whole.
	 */
	json_set_bool(c, "chunked", 1);
	json_set_str(c, "transfer_id", ch->transfer_id);
	json_set_int(c, "chunk_index", (int64_t)ch->index);
	json_set_int(c, "chunk_count", (int64_t)ch->count);
	json_set_int(c, "chunk_size", (int64_t)n);
	json_set_int(c, "total_size", (int64_t)ch->len);
	json_object_object_add(c, "content_hash",
	    json_object_get(ch->whole_hash));
	json_set_str(c, "chunk_hash", hash);
	json_set_bool(c, "is_final_chunk", end == ch->len);
	json_object_object_add(c, ch->field,
	    json_object_new_string_len(ch->s + ch->pos, (int)n));

	ch->pos = end;
	ch->index++;
	return c;
}

size_t
chunk_count(const struct chunker *ch)
{
	return ch->count;
}

void
chunk_free(struct chunker *ch)
{
	if (ch == NULL)
		return;
	json_object_put(ch->base);
	json_object_put(ch->text);
	json_object_put(ch->whole_hash);
	free(ch->field);
	free(ch);
}
