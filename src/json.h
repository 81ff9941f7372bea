#ifndef PC_JSON_H
#define PC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define JSON_MAX_DEPTH	64

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int	 utf8_valid(const char *, size_t);
/*
 * The sequence at s[0] (avail > 0): n > 0 well-formed bytes; 0 a valid
 * prefix needing more than avail; -k an invalid maximal subpart of k
 * bytes (Unicode's "maximal subpart" rule for U+FFFD substitution).
 */
int	 utf8_check(const unsigned char *, size_t);
/* Encode code point cp (at most U+10FFFF) into out[0..4); bytes written. */
size_t	 utf8_put(char *out, uint32_t cp);
/*
 * Copy the character at s[0] (len > 0) to out, or U+FFFD for an invalid
 * maximal subpart or a sequence cut short; *used gets the bytes read.
 * Returns the bytes written (1 to 4).
 */
size_t	 utf8_step(const unsigned char *, size_t, char *out, size_t *used);
/* Length of the longest prefix of s[0..len) that ends on a character boundary. */
size_t	 utf8_boundary(const char *, size_t);
/*
 * Parse a complete JSON text with the depth limit. NULL with a short
 * human reason in *why, when why is not NULL ("nesting too deep", …).
 */
struct json_object *json_parse_text(const char *, size_t, const char **why);
/* Compact serialisation, owned by the object (json-c semantics). */
const char	*json_text(struct json_object *, size_t *);
/* Convenience getters: NULL / default when missing or of another type. */
const char	*json_get_str(struct json_object *, const char *);
struct json_object *json_get(struct json_object *, const char *);
void		 json_set_str(struct json_object *, const char *, const char *);
void		 json_set_int(struct json_object *, const char *, int64_t);
void		 json_set_bool(struct json_object *, const char *, int);
struct json_object *json_event_new(const char *event);	/* {"event": event} */

#endif
