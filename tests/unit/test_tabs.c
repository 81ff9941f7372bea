#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "git/tabs.h"

static char	tmp[64];

/* A stand-in content store: real keys, the last content kept. */
struct store {
	int	 puts;
	char	 key[80];
	char	*last;
	size_t	 lastlen;
};

static const char *
hash_put(void *arg, const char *content, size_t len)
{
	struct store	*s = arg;
	unsigned char	 md[32];
	unsigned int	 mdlen;
	int		 i;

	s->puts++;
	free(s->last);
	s->last = malloc(len + 1);
	memcpy(s->last, content, len);
	s->last[len] = '\0';
	s->lastlen = len;
	EVP_Digest(content, len, md, &mdlen, EVP_sha256(), NULL);
	strcpy(s->key, "sha256:");
	for (i = 0; i < 32; i++)
		snprintf(s->key + 7 + 2 * i, 3, "%02x", md[i]);
	return s->key;
}

static char *
key_of(const char *content, size_t len)
{
	static struct store	s;

	hash_put(&s, content, len);
	free(s.last);
	s.last = NULL;
	return s.key;
}

static char *
P(const char *rel)
{
	static char	buf[8][512];
	static int	k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

static void
put_bytes(const char *rel, const void *p, size_t n)
{
	int	fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void
put(const char *rel, const char *text)
{
	put_bytes(rel, text, strlen(text));
}

static void
sparse(const char *rel, off_t size)
{
	int	fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_tabs.XXXXXX");
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", tmp,
	    tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static struct json_object *
meta(const struct tab *t, const char *k)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(t->metadata, k, &v))
		fail_msg("metadata.%s missing", k);
	return v;
}

static size_t
meta_count(const struct tab *t)
{
	return (size_t)json_object_object_length(t->metadata);
}

static struct tab *
open_tab(const char *rel, struct store *s)
{
	return tab_file_new(P(rel), hash_put, s);
}

static void
test_suffix(void **state)
{
	char	b[64];

	(void)state;
	assert_string_equal(tab_suffix(".env", b, sizeof(b)), "");
	assert_string_equal(tab_suffix(".gitignore", b, sizeof(b)), "");
	assert_string_equal(tab_suffix("a.TXT", b, sizeof(b)), ".txt");
	assert_string_equal(tab_suffix("foo.", b, sizeof(b)), "");
	assert_string_equal(tab_suffix("a.tar.gz", b, sizeof(b)), ".gz");
	assert_string_equal(tab_suffix("..a", b, sizeof(b)), ".a");
	assert_string_equal(tab_suffix("x.gitignore", b, sizeof(b)),
	    ".gitignore");
	assert_string_equal(tab_suffix("Makefile", b, sizeof(b)), "");
}

static void
test_mime(void **state)
{
	(void)state;
	assert_string_equal(tab_mime_guess("/a/x.png"), "image/png");
	assert_string_equal(tab_mime_guess("/a/X.PNG"), "image/png");
	assert_string_equal(tab_mime_guess("a.tar.gz"), "application/x-tar");
	assert_string_equal(tab_mime_guess("a.txt.gz"), "text/plain");
	assert_string_equal(tab_mime_guess("a.tgz"), "application/x-tar");
	assert_string_equal(tab_mime_guess("a.svgz"), "image/svg+xml");
	assert_string_equal(tab_mime_guess("a.ts"),
	    "text/vnd.trolltech.linguist");
	assert_string_equal(tab_mime_guess("a.py"), "text/x-python");
	assert_string_equal(tab_mime_guess("a.json"), "application/json");
	assert_null(tab_mime_guess("/a/.png"));
	assert_null(tab_mime_guess("a.gz"));
	assert_null(tab_mime_guess("noext"));
	assert_null(tab_mime_guess("/dir.png/file"));
	assert_null(tab_mime_guess("a.unknownext"));
}

static void
test_size_format(void **state)
{
	char	b[32];

	(void)state;
	tab_format_size(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	tab_format_size(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	tab_format_size(1024, b, sizeof(b));
	assert_string_equal(b, "1.0 KB");
	tab_format_size(1536, b, sizeof(b));
	assert_string_equal(b, "1.5 KB");
	tab_format_size(1048575, b, sizeof(b));
	assert_string_equal(b, "1024.0 KB");
	tab_format_size(10 * 1024 * 1024, b, sizeof(b));
	assert_string_equal(b, "10.0 MB");
	tab_format_size(3LL << 30, b, sizeof(b));
	assert_string_equal(b, "3.0 GB");
}

static void
test_uuid(void **state)
{
	char	a[TAB_ID_LEN + 1], b[TAB_ID_LEN + 1];
	int	i;

	(void)state;
	tab_uuid4(a);
	tab_uuid4(b);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_true(isxdigit((unsigned char)a[i]) &&
			    !isupper((unsigned char)a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

#define DEC(in, want, enc) \
	decode(in, sizeof(in) - 1, want, sizeof(want) - 1, enc)

static void
decode(const char *in, size_t n, const char *want, size_t wantlen,
    const char *enc)
{
	const char	*got_enc;
	char		*out;
	size_t		 len;

	assert_int_equal(tab_decode_text((const unsigned char *)in, n, &out,
	    &len, &got_enc), 0);
	assert_string_equal(got_enc, enc);
	assert_int_equal(len, wantlen);
	if (len > 0)
		assert_memory_equal(out, want, len);
	free(out);
}

static void
test_decode(void **state)
{
	(void)state;
	DEC("a\r\nb\rc\n", "a\nb\nc\n", "utf-8");
	DEC("\xef\xbb\xbfx", "\xef\xbb\xbfx", "utf-8");
	DEC("caf\xe9", "caf\xc3\xa9", "latin-1");
	DEC("\xff\xfeh\0\r\0\n\0\xe9\0", "h\n\xc3\xa9", "utf-16");
	DEC("\xfe\xff\0h\0\r", "h\n", "utf-16");
	/* U+1F600 as a surrogate pair */
	DEC("\xff\xfe\x3d\xd8\x00\xde", "\xf0\x9f\x98\x80", "utf-16");
	/* A lone surrogate or an odd length is not UTF-16. */
	DEC("\xff\xfe\x00\xd8", "\xc3\xbf\xc3\xbe\x00\xc3\x98",
	    "latin-1");
	DEC("\xff\xfeh", "\xc3\xbf\xc3\xbeh", "latin-1");
	/* No BOM: never UTF-16, even at an even length (deliberate). */
	DEC("h\0\xe9\0", "h\0\xc3\xa9\0", "latin-1");
	DEC("", "", "utf-8");
}

static void
check_fields(struct json_object *o)
{
	static const char *const want[] = {
		"tab_id", "tab_type", "title", "file_path", "content_hash",
		"original_content_hash", "modified_content_hash",
		"html_diff_hash", "is_dirty", "mime_type", "encoding",
		"metadata", NULL
	};
	size_t	i = 0;

	json_object_object_foreach(o, key, val) {
		(void)val;
		assert_non_null(want[i]);
		assert_string_equal(key, want[i]);
		i++;
	}
	assert_null(want[i]);
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v == NULL ? NULL : json_object_get_string(v);
}

static void
test_text_file(void **state)
{
	struct store		 s = { 0 };
	struct tab		*t;
	struct json_object	*j, *m;
	struct stat		 st;

	(void)state;
	put("hello.py", "a\r\nb\n");
	assert_int_equal(stat(P("hello.py"), &st), 0);
	t = open_tab("hello.py", &s);
	assert_string_equal(t->tab_type, "file");
	assert_string_equal(t->title, "hello.py");
	assert_string_equal(t->file_path, P("hello.py"));
	assert_string_equal(t->key, P("hello.py"));
	assert_string_equal(t->encoding, "utf-8");
	assert_string_equal(t->mime_type, "text/x-python");
	assert_string_equal(t->content, "a\nb\n");
	assert_int_equal(s.puts, 1);
	assert_string_equal(t->content_hash, key_of("a\nb\n", 4));
	assert_int_equal(meta_count(t), 2);
	assert_int_equal(json_object_get_int64(meta(t, "size")), 5);
	assert_true(json_object_get_double(meta(t, "modified_time")) ==
	    (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9);

	j = tab_to_json(t);
	check_fields(j);
	assert_string_equal(jstr(j, "tab_id"), t->tab_id);
	assert_string_equal(jstr(j, "content_hash"), t->content_hash);
	assert_null(jstr(j, "original_content_hash"));
	assert_null(jstr(j, "html_diff_hash"));
	assert_false(json_object_get_boolean(json_object_object_get(j,
	    "is_dirty")));
	m = json_object_object_get(j, "metadata");
	assert_int_equal(json_object_object_length(m), 2);
	json_object_put(j);
	tab_free(t);
	free(s.last);
}

static void
test_missing_and_not_file(void **state)
{
	struct store	 s = { 0 };
	struct tab	*t;
	time_t		 t0;

	(void)state;
	t = open_tab("nope.txt", &s);
	assert_string_equal(json_object_get_string(meta(t, "error")),
	    "File not found");
	assert_int_equal(meta_count(t), 1);
	assert_null(t->content);
	assert_null(t->content_hash);
	assert_null(t->mime_type);
	assert_null(t->encoding);
	assert_string_equal(t->title, "nope.txt");
	tab_free(t);

	assert_int_equal(mkdir(P("d.txt"), 0755), 0);
	t = open_tab("d.txt", &s);
	assert_string_equal(json_object_get_string(meta(t, "error")),
	    "Not a file");
	tab_free(t);

	/* A FIFO is not a file, and nothing blocks on it. */
	assert_int_equal(mkfifo(P("pipe.txt"), 0644), 0);
	t0 = time(NULL);
	t = open_tab("pipe.txt", &s);
	assert_true(time(NULL) - t0 < 2);
	assert_string_equal(json_object_get_string(meta(t, "error")),
	    "Not a file");
	tab_free(t);
	assert_int_equal(s.puts, 0);
}

static void
check_placeholder(const char *rel, const char *want, const char *flag)
{
	struct store	 s = { 0 };
	struct tab	*t = open_tab(rel, &s);

	assert_non_null(t->content);
	assert_string_equal(t->content, want);
	assert_string_equal(s.last, want);
	assert_string_equal(t->content_hash, key_of(want, strlen(want)));
	assert_true(json_object_get_boolean(meta(t, flag)));
	assert_null(t->encoding);
	assert_string_equal(t->tab_type, "file");
	tab_free(t);
	free(s.last);
}

static void
test_placeholders(void **state)
{
	(void)state;
	put("yarn.lock", "12345");
	check_placeholder("yarn.lock",
	    "# Binary file not displayed\n# File: yarn.lock\n# Size: 5 B",
	    "ignored");
	sparse("big.txt", TAB_MAX_TEXT + 1);
	check_placeholder("big.txt",
	    "# File too large to display\n# File: big.txt\n# Size: 10.0 MB\n"
	    "# Maximum size for text files: 10.0 MB", "truncated");
	sparse("v.mp4", TAB_MAX_MEDIA + 1);
	check_placeholder("v.mp4",
	    "# Media file too large to display\n# File: v.mp4\n"
	    "# Size: 50.0 MB", "too_large");
	put_bytes("blob.xyz", "ab\0c", 4);
	check_placeholder("blob.xyz",
	    "# Binary file\n# File: blob.xyz\n# Size: 4 B\n# Type: None\n\n"
	    "# This file contains binary data and cannot be displayed as "
	    "text.", "binary");
	/* Not UTF-8 and no known extension: binary, typed when known. */
	put("doc.pdf", "caf\xe9");
	check_placeholder("doc.pdf",
	    "# Binary file\n# File: doc.pdf\n# Size: 4 B\n"
	    "# Type: application/pdf\n\n"
	    "# This file contains binary data and cannot be displayed as "
	    "text.", "binary");
}

static void
expect_text(const char *rel, const char *content, const char *enc)
{
	struct store	 s = { 0 };
	struct tab	*t = open_tab(rel, &s);

	assert_string_equal(t->tab_type, "file");
	assert_non_null(t->encoding);
	assert_string_equal(t->encoding, enc);
	assert_string_equal(t->content, content);
	tab_free(t);
	free(s.last);
}

static void
test_text_detection(void **state)
{
	char	buf[2048];

	(void)state;
	put("README", "h\xc3\xa9llo\n");
	expect_text("README", "h\xc3\xa9llo\n", "utf-8");
	/* Dot-files have no suffix: sniffed. */
	put(".env", "A=1\r\n");
	expect_text(".env", "A=1\n", "utf-8");
	put_bytes("u.txt", "\xff\xfeh\0i\0", 6);
	expect_text("u.txt", "hi", "utf-16");
	put("l.txt", "caf\xe9");
	expect_text("l.txt", "caf\xc3\xa9", "latin-1");
	/* Not in the TEXT list but a text type: decoded, not sniffed. */
	put("sub.vtt", "caf\xe9");
	expect_text("sub.vtt", "caf\xc3\xa9", "latin-1");
	/* .ts: TEXT wins over MEDIA. */
	put("m.ts", "let x = 1;\n");
	expect_text("m.ts", "let x = 1;\n", "utf-8");
	/* A character cut by the 1024-byte window is still text. */
	memset(buf, 'a', 1023);
	memcpy(buf + 1023, "\xc3\xa9tail", 7);
	buf[1030] = '\0';
	put("cut", buf);
	expect_text("cut", buf, "utf-8");
}

static void
test_media(void **state)
{
	struct store	 s = { 0 };
	struct tab	*t;

	(void)state;
	put_bytes("p.png", "\x89PNG\r\n", 6);
	t = open_tab("p.png", &s);
	assert_string_equal(t->tab_type, "image");
	assert_string_equal(t->mime_type, "image/png");
	assert_string_equal(t->encoding, "base64");
	assert_string_equal(t->content, "iVBORw0K");
	assert_string_equal(t->content_hash, key_of("iVBORw0K", 8));
	assert_int_equal(json_object_get_int64(meta(t, "original_size")), 6);
	assert_int_equal(meta_count(t), 3);
	tab_free(t);

	put("s.svg", "<svg/>");
	t = open_tab("s.svg", &s);
	assert_string_equal(t->tab_type, "image");
	assert_string_equal(t->content, "PHN2Zy8+");
	tab_free(t);

	put("a.mp3", "ID3");
	t = open_tab("a.mp3", &s);
	assert_string_equal(t->tab_type, "audio");
	assert_string_equal(t->content, "SUQz");
	tab_free(t);

	/* Not in the MEDIA list, but an image by its type. */
	put("x.avif", "");
	t = open_tab("x.avif", &s);
	assert_string_equal(t->tab_type, "image");
	assert_string_equal(t->content, "");
	tab_free(t);

	/* In the list, type unknown: stays a file, still base64. */
	put("r.raw", "ab");
	t = open_tab("r.raw", &s);
	assert_string_equal(t->tab_type, "file");
	assert_null(t->mime_type);
	assert_string_equal(t->encoding, "base64");
	assert_string_equal(t->content, "YWI=");
	tab_free(t);
	free(s.last);
}

static void
test_unreadable(void **state)
{
	struct store	 s = { 0 };
	struct tab	*t;
	char		 want[600];

	(void)state;
	if (geteuid() == 0)
		skip();
	put("secret.txt", "x");
	assert_int_equal(chmod(P("secret.txt"), 0), 0);
	t = open_tab("secret.txt", &s);
	snprintf(want, sizeof(want), "[Errno 13] Permission denied: '%s'",
	    P("secret.txt"));
	assert_string_equal(json_object_get_string(meta(t, "error")), want);
	snprintf(want, sizeof(want), "# Error reading file\n"
	    "# [Errno 13] Permission denied: '%s'", P("secret.txt"));
	assert_string_equal(t->content, want);
	tab_free(t);
	free(s.last);
}

static void
test_path_forms(void **state)
{
	struct store	 s = { 0 };
	struct tab	*t;
	char		 raw[600];

	(void)state;
	put("n.md", "x");
	snprintf(raw, sizeof(raw), "%s//./n.md", tmp);
	t = tab_file_new(raw, hash_put, &s);
	assert_string_equal(t->file_path, P("n.md"));
	assert_string_equal(t->key, raw);
	assert_string_equal(t->title, "n.md");
	assert_string_equal(t->content, "x");
	tab_free(t);
	free(s.last);
}

static void
test_diff_tab(void **state)
{
	struct store		 s = { 0 };
	struct tab_diff_spec	 d;
	struct tab		*t;
	struct json_object	*j, *m, *h;
	char			*k;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.file_path = "/p/src/f.py";
	d.from_ref = "head";
	d.to_ref = "working";
	d.original = "a\nb\n";
	d.original_len = 4;
	d.modified = "a\nc\n";
	d.modified_len = 4;
	t = tab_diff_new(&d, hash_put, &s);
	assert_string_equal(t->tab_type, "diff");
	assert_string_equal(t->title, "f.py (head \xe2\x86\x92 working)");
	assert_string_equal(t->key, "diff:/p/src/f.py:head:working:None:None");
	assert_int_equal(s.puts, 2);
	assert_string_equal(t->original_hash, key_of("a\nb\n", 4));
	assert_string_equal(t->modified_hash, key_of("a\nc\n", 4));
	assert_null(t->content_hash);
	assert_non_null(strstr(t->html_minimal, "unified-diff-container"));
	assert_non_null(t->html_full);
	j = tab_to_json(t);
	check_fields(j);
	assert_string_equal(jstr(j, "encoding"), "utf-8");
	assert_null(jstr(j, "mime_type"));
	assert_null(jstr(j, "content_hash"));
	m = json_object_object_get(j, "metadata");
	assert_string_equal(json_object_to_json_string_ext(m,
	    JSON_C_TO_STRING_PLAIN), "{\"diff_mode\":true,"
	    "\"timeline_diff\":true,\"from_ref\":\"head\","
	    "\"to_ref\":\"working\",\"from_hash\":null,\"to_hash\":null,"
	    "\"diff_timeline\":true}");
	json_object_put(j);
	h = tab_html_versions(t);
	assert_string_equal(jstr(h, "minimal"), t->html_minimal);
	assert_string_equal(jstr(h, "full"), t->html_full);
	json_object_put(h);
	assert_true(tab_diff_matches(t, "/p/src/f.py", "head", "working",
	    NULL, NULL));
	assert_false(tab_diff_matches(t, "/p/src/f.py", "head", "working",
	    "", NULL));
	assert_false(tab_diff_matches(t, "/p/src/f.py", "head", "staged",
	    NULL, NULL));
	tab_free(t);

	d.from_ref = "commit";
	d.from_hash = "0123456789abcdef";
	d.to_ref = "commit";
	d.to_hash = "fedcba9876543210";
	t = tab_diff_new(&d, hash_put, &s);
	assert_string_equal(t->title, "f.py (01234567 \xe2\x86\x92 fedcba98)");
	k = tab_key_diff("/p/src/f.py", "commit", "commit",
	    "0123456789abcdef", "fedcba9876543210");
	assert_string_equal(t->key, k);
	assert_string_equal(k, "diff:/p/src/f.py:commit:commit:"
	    "0123456789abcdef:fedcba9876543210");
	free(k);
	tab_free(t);
	free(s.last);
}

static void
test_diff_size_limit(void **state)
{
	struct store		 s = { 0 };
	struct tab_diff_spec	 d;
	struct tab		*t;
	char			*big;
	size_t			 n = TAB_HTML_MAX_CHARS + 1, i;

	(void)state;
	/* Counted in characters, as Python's len(): 2 bytes each here. */
	big = malloc(2 * n + 1);
	for (i = 0; i < n; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[2 * n] = '\0';
	memset(&d, 0, sizeof(d));
	d.file_path = "/p/x.txt";
	d.from_ref = "staged";
	d.to_ref = "working";
	d.original = "";
	d.modified = big;
	d.modified_len = 2 * n;
	t = tab_diff_new(&d, hash_put, &s);
	assert_null(t->html_minimal);
	assert_null(tab_html_versions(t));
	assert_int_equal(t->modified_len, 2 * n);
	tab_free(t);

	d.modified_len = 2 * (n - 1);		/* exactly the limit */
	d.original = "x\n";
	d.original_len = 2;
	t = tab_diff_new(&d, hash_put, &s);
	assert_non_null(t->html_minimal);
	tab_free(t);
	free(big);
	free(s.last);
}

static void
test_untitled(void **state)
{
	struct store		 s = { 0 };
	struct tab		*t;
	struct json_object	*j;

	(void)state;
	t = tab_untitled_new("print(1)", 8, NULL, hash_put, &s);
	assert_string_equal(t->tab_type, "untitled");
	assert_string_equal(t->title, "Untitled");
	assert_null(t->file_path);
	assert_string_equal(t->key, t->tab_id);
	assert_true(t->is_dirty);
	assert_string_equal(t->content_hash, key_of("print(1)", 8));
	j = tab_to_json(t);
	assert_null(jstr(j, "file_path"));
	assert_true(json_object_get_boolean(json_object_object_get(j,
	    "is_dirty")));
	assert_string_equal(jstr(json_object_object_get(j, "metadata"),
	    "language"), "plaintext");
	json_object_put(j);
	tab_free(t);

	t = tab_untitled_new(NULL, 0, "python", hash_put, &s);
	assert_false(t->is_dirty);
	assert_string_equal(t->content, "");
	tab_drop_content(t);
	assert_null(t->content);
	assert_non_null(t->content_hash);
	tab_free(t);
	free(s.last);
}

/* /proc reports no size; the content is read all the same. */
static void
test_sizeless_file(void **state)
{
	struct tab	*t;

	(void)state;
	t = tab_file_new("/proc/self/status", NULL, NULL);
	assert_string_equal(t->tab_type, "file");
	assert_non_null(t->encoding);
	assert_string_equal(t->encoding, "utf-8");
	assert_non_null(strstr(t->content, "Name:"));
	assert_int_equal(json_object_get_int64(meta(t, "size")), 0);
	tab_free(t);
}

static void
test_no_store(void **state)
{
	struct tab	*t;

	(void)state;
	put("k.txt", "x");
	t = tab_file_new(P("k.txt"), NULL, NULL);
	assert_string_equal(t->content, "x");
	assert_null(t->content_hash);
	tab_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_decode),
		cmocka_unit_test_setup_teardown(test_text_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_not_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_placeholders, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_text_detection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_media, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_path_forms, setup,
		    teardown),
		cmocka_unit_test(test_diff_tab),
		cmocka_unit_test(test_diff_size_limit),
		cmocka_unit_test(test_untitled),
		cmocka_unit_test(test_sizeless_file),
		cmocka_unit_test_setup_teardown(test_no_store, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
