/*
 * tabs: editor tabs of a project state (reference §6.6, Appendix A):
 * file tabs with the upstream detection order, limits and placeholder
 * texts, diff tabs with the HTML views, untitled tabs, their keys and
 * their serialised form. Contents are handed to the caller's content
 * store through a callback, which returns the "sha256:…" key.
 */
#ifndef GIT_TABS_H
#define GIT_TABS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define TAB_MAX_TEXT		(10 * 1024 * 1024)	/* MAX_TEXT_FILE_SIZE */
#define TAB_MAX_MEDIA		(50 * 1024 * 1024)	/* MAX_BINARY_FILE_SIZE */
#define TAB_SNIFF		1024
#define TAB_HTML_MAX_CHARS	1000000	/* no HTML diff past this, per side */
#define TAB_ID_LEN		36

/* Store content; returns its key (copied by the caller) or NULL. */
typedef const char *(*tab_hash_fn)(void *arg, const char *content,
		    size_t len);

struct tab {
	char		 tab_id[TAB_ID_LEN + 1];
	const char	*tab_type;	/* file diff image audio video untitled */
	char		*title;
	char		*file_path;	/* NULL for untitled */
	char		*key;		/* where the state files it */

	char		*content;	/* UTF-8; NULL when there is none */
	size_t		 content_len;
	char		*original;	/* diff sides */
	size_t		 original_len;
	char		*modified;
	size_t		 modified_len;

	char		*content_hash;
	char		*original_hash;
	char		*modified_hash;

	int		 is_dirty;
	const char	*mime_type;	/* static; NULL if unknown */
	const char	*encoding;	/* static: utf-8 utf-16 latin-1 base64 */
	struct json_object *metadata;	/* as serialised */

	/* Diff tabs: the four refs as requested (NULL is Python's None). */
	char		*from_ref, *to_ref, *from_hash, *to_hash;
	char		*html_minimal;	/* NULL: not rendered */
	char		*html_full;
};

struct tab_diff_spec {
	const char	*file_path;
	const char	*from_ref, *to_ref;	/* head staged working commit */
	const char	*from_hash, *to_hash;	/* may be NULL */
	const char	*original;		/* UTF-8, the caller's */
	size_t		 original_len;
	const char	*modified;
	size_t		 modified_len;
};

/* A file tab for path; never NULL (errors become metadata.error). */
struct tab	*tab_file_new(const char *path, tab_hash_fn, void *arg);
struct tab	*tab_diff_new(const struct tab_diff_spec *, tab_hash_fn,
		    void *arg);
struct tab	*tab_untitled_new(const char *content, size_t len,
		    const char *language, tab_hash_fn, void *arg);
void		 tab_free(struct tab *);
/* Forget contents the store now holds; hashes and HTML stay. */
void		 tab_drop_content(struct tab *);

/* The serialised tab: content fields and bulky metadata left out. */
struct json_object *tab_to_json(const struct tab *);
/* {"minimal", "full"} of a diff tab, or NULL when none was rendered. */
struct json_object *tab_html_versions(const struct tab *);
/* The tab §6.6 diff_content_request looks for (None == NULL). */
int		 tab_diff_matches(const struct tab *, const char *file_path,
		    const char *from_ref, const char *to_ref,
		    const char *from_hash, const char *to_hash);

/* Keys: file_path; "diff:<path>:<from>:<to>:<fh>:<th>" with None. */
char		*tab_key_file(const char *path);
char		*tab_key_diff(const char *path, const char *from_ref,
		    const char *to_ref, const char *from_hash,
		    const char *to_hash);

/* Helpers, exposed for the tests and the state code. */
void		 tab_uuid4(char out[TAB_ID_LEN + 1]);
void		 tab_format_size(int64_t, char *, size_t);
const char	*tab_suffix(const char *name, char *buf, size_t);
const char	*tab_mime_guess(const char *path);
int		 tab_decode_text(const unsigned char *, size_t, char **out,
		    size_t *outlen, const char **encoding);

#endif
