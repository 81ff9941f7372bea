#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "log.h"

#define JSON_PRINT_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ASCII_MASK		0x8080808080808080ULL

/*
 * Length of the sequence a lead byte starts (1 for ASCII), 0 if the byte
 * can never start a character. lo/hi bound the second byte: RFC 3629 puts
 * the overlong, surrogate and > U+10FFFF exclusions there.
 */
static size_t
utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c < 0xc2)		/* continuation byte, or overlong C0/C1 */
		return 0;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0) {
		if (c == 0xe0)
			*lo = 0xa0;
		else if (c == 0xed)
			*hi = 0x9f;
		return 3;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			*lo = 0x90;
		else if (c == 0xf4)
			*hi = 0x8f;
		return 4;
	}
	return 0;
}

int
utf8_check(const unsigned char *s, size_t avail)
{
	unsigned char	lo, hi;
	int		need, k;

	if ((need = utf8_lead(s[0], &lo, &hi)) == 0)
		return -1;
	for (k = 1; k < need; k++) {
		if ((size_t)k >= avail)
			return 0;
		if (s[k] < lo || s[k] > hi)
			return -k;
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len;
	uint64_t		 w;
	int			 r;

	while (p < end) {
		/* Gateway traffic is mostly ASCII: take it a word at a time. */
		if ((size_t)(end - p) >= sizeof(w)) {
			memcpy(&w, p, sizeof(w));
			if ((w & ASCII_MASK) == 0) {
				p += sizeof(w);
				continue;
			}
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((r = utf8_check(p, end - p)) <= 0)
			return 0;
		p += r;
	}
	return 1;
}

size_t
utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
utf8_step(const unsigned char *s, size_t len, char *out, size_t *used)
{
	int	 n = utf8_check(s, len);

	if (n > 0) {
		memcpy(out, s, n);
		*used = n;
		return n;
	}
	/* A truncated sequence at the end is replaced whole. */
	*used = n < 0 ? (size_t)-n : len;
	memcpy(out, "\xef\xbf\xbd", 3);
	return 3;
}

size_t
utf8_boundary(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned char		 c, lo, hi;
	size_t			 k, need;

	for (k = 1; k <= 3 && k <= len; k++) {
		c = p[len - k];
		if ((c & 0xc0) == 0x80)
			continue;
		need = utf8_lead(c, &lo, &hi);
		/* Complete, ASCII, or garbage that waiting cannot repair. */
		if (need <= k)
			return len;
		if (k >= 2 && (p[len - k + 1] < lo || p[len - k + 1] > hi))
			return len;
		return len - k;
	}
	return len;
}

/*
 * json-c accepts raw control characters inside strings and keeps "\u0000"
 * escapes, but object keys are C strings inside json-c, so a NUL in a key
 * would be truncated silently and could never be seen in the tree. Check
 * the text instead: it has already parsed, so the lexing here is exact.
 */
static const char *
json_check_strings(const char *s, size_t len)
{
	const char	*p = s, *end = s + len;
	unsigned char	 c;

	for (;;) {
		if ((p = memchr(p, '"', end - p)) == NULL)
			return NULL;
		for (p++; p < end; p++) {
			c = (unsigned char)*p;
			if (c == '"')
				break;
			if (c < 0x20)
				return "not valid JSON";
			if (c != '\\')
				continue;
			if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
				return "string contains NUL";
			p++;	/* the escaped character */
		}
		if (p >= end)
			return NULL;
		p++;
	}
}

static const char *
json_error_reason(enum json_tokener_error jerr)
{
	if (jerr == json_tokener_error_depth)
		return "nesting too deep";
	return "not valid JSON";
}

/* why may be NULL for a caller that only needs yes or no. */
struct json_object *
json_parse_text(const char *buf, size_t len, const char **why)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 end;
	const char		*reason = NULL, *ignored;

	if (why == NULL)
		why = &ignored;
	if (len >= INT_MAX) {
		*why = "text too large";
		return NULL;
	}
	if (!utf8_valid(buf, len)) {
		*why = "not valid UTF-8";
		return NULL;
	}
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		fatalx("%s: json_tokener_new_ex", __func__);
	/* Trailing bytes are ours to judge, to give them their own reason. */
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);

	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/*
		 * A bare number (or an unfinished text) needs to see the
		 * end; give it a terminator without copying the buffer.
		 */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (jerr != json_tokener_success)
		reason = json_error_reason(jerr);
	else if (end < len)
		reason = "trailing data after JSON";
	else if (obj == NULL)
		reason = "top-level null";
	else
		reason = json_check_strings(buf, len);
	json_tokener_free(tok);

	if (reason != NULL) {
		json_object_put(obj);
		*why = reason;
		return NULL;
	}
	*why = NULL;
	return obj;
}

const char *
json_text(struct json_object *obj, size_t *lenp)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(obj, JSON_PRINT_FLAGS, &len);
	if (s == NULL)
		fatalx("%s: out of memory", __func__);
	if (lenp != NULL)
		*lenp = len;
	return s;
}

struct json_object *
json_get(struct json_object *obj, const char *key)
{
	struct json_object	*val;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &val))
		return NULL;
	return val;
}

const char *
json_get_str(struct json_object *obj, const char *key)
{
	struct json_object	*val;

	val = json_get(obj, key);
	if (val == NULL || !json_object_is_type(val, json_type_string))
		return NULL;
	return json_object_get_string(val);
}

static void
json_put_field(struct json_object *obj, const char *key,
    struct json_object *val)
{
	if (json_object_object_add(obj, key, val) != 0)
		fatalx("%s: cannot set \"%s\"", __func__, key);
}

void
json_set_str(struct json_object *obj, const char *key, const char *val)
{
	struct json_object	*v = NULL;

	if (val != NULL && (v = json_object_new_string(val)) == NULL)
		fatalx("%s: out of memory", __func__);
	json_put_field(obj, key, v);
}

void
json_set_int(struct json_object *obj, const char *key, int64_t val)
{
	struct json_object	*v;

	if ((v = json_object_new_int64(val)) == NULL)
		fatalx("%s: out of memory", __func__);
	json_put_field(obj, key, v);
}

void
json_set_bool(struct json_object *obj, const char *key, int val)
{
	struct json_object	*v;

	if ((v = json_object_new_boolean(val != 0)) == NULL)
		fatalx("%s: out of memory", __func__);
	json_put_field(obj, key, v);
}

struct json_object *
json_event_new(const char *event)
{
	struct json_object	*obj;

	if ((obj = json_object_new_object()) == NULL)
		fatalx("%s: out of memory", __func__);
	json_set_str(obj, "event", event);
	return obj;
}
