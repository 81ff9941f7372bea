/*
 * tabs: file, diff and untitled tabs as upstream's tab factory builds
 * them (reference §6.6, Appendix A).
 *
 * Deliberate differences from upstream, all on content only:
 * - UTF-16 is tried only when the file starts with a byte order mark;
 *   upstream's codec reads any even-length, non-UTF-8 file without one
 *   as UTF-16LE, which turns Latin-1 text into CJK noise.
 * - The 1024-byte sniff accepts a UTF-8 character cut by the window's
 *   end; upstream calls such a file binary.
 * - A path whose stat fails for a reason other than "missing" gets a
 *   tab with metadata.error "Cannot access file: …"; upstream's
 *   exists() raises there and no tab is opened.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "diffhtml.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "git/tabs.h"

/* Appendix A, without the leading dot; matched on Path.suffix.lower(). */
static const char *const text_exts[] = {
	"adoc", "asciidoc", "astro", "babelrc", "bash", "bat", "c", "cc",
	"cfg", "clj", "cmake", "conf", "cpp", "cs", "css", "csv", "cxx",
	"dart", "diff", "dockerignore", "editorconfig", "ejs", "env",
	"eslintrc", "fish", "gemfile", "gitattributes", "gitignore", "go",
	"graphql", "h", "haml", "handlebars", "hbs", "hpp", "hs", "htm",
	"html", "ini", "jade", "java", "js", "json", "jsx", "kt", "latex",
	"log", "lua", "m", "makefile", "markdown", "md", "ml", "mustache",
	"org", "package-lock", "patch", "php", "pipfile", "pl",
	"prettierrc", "properties", "proto", "ps1", "pug", "py", "r", "rb",
	"requirements", "rs", "rst", "rtf", "sass", "scala", "scss", "sh",
	"slim", "sql", "svelte", "swift", "tex", "thrift", "toml", "ts",
	"tsconfig", "tsv", "tsx", "txt", "vue", "xml", "yaml", "yml",
	"zsh", NULL
};

static const char *const media_exts[] = {
	"3gp", "aac", "ai", "avi", "bmp", "cr2", "cur", "eps", "flac",
	"flv", "gif", "icns", "ico", "jpeg", "jpg", "m2ts", "m4a", "m4v",
	"mkv", "mov", "mp3", "mp4", "mts", "nef", "oga", "ogg", "ogv",
	"opus", "png", "psd", "raw", "svg", "tif", "tiff", "ts", "wav",
	"webm", "webp", "wma", "wmv", NULL
};

static const char *const ignored_exts[] = {
	"7z", "a", "bak", "bin", "cache", "class", "dat", "deb", "dll",
	"dmg", "dylib", "ear", "exe", "gz", "img", "iso", "jar", "lib",
	"lock", "o", "obj", "orig", "pid", "pyc", "pyo", "rar", "rpm",
	"so", "swo", "swp", "tar", "temp", "tmp", "war", "zip", NULL
};

/*
 * mimetypes.guess_type() as Python 3.11 answers on Debian 12 (its own
 * table plus /etc/mime.types), for every Appendix A extension it knows
 * and some common others. Looked up case-insensitively, as Python does.
 */
static const struct {
	const char	*ext;
	const char	*mime;
} mime_table[] = {
	{ "3g2", "audio/3gpp2" }, { "3gp", "audio/3gpp" },
	{ "7z", "application/x-7z-compressed" }, { "a", "text/vnd.a" },
	{ "aac", "audio/aac" }, { "ai", "application/postscript" },
	{ "aif", "audio/x-aiff" }, { "aiff", "audio/x-aiff" },
	{ "amr", "audio/AMR" },
	{ "apk", "application/vnd.android.package-archive" },
	{ "asc", "application/pgp-keys" }, { "asf", "application/vnd.ms-asf" },
	{ "atom", "application/atom+xml" }, { "au", "audio/basic" },
	{ "avi", "video/x-msvideo" }, { "avif", "image/avif" },
	{ "bak", "application/x-trash" },
	{ "bat", "application/x-msdos-program" }, { "bib", "text/x-bibtex" },
	{ "bin", "application/octet-stream" }, { "bmp", "image/bmp" },
	{ "c", "text/x-csrc" }, { "c++", "text/x-c++src" },
	{ "cache", "chemical/x-cache" }, { "cc", "text/x-c++src" },
	{ "class", "application/java-vm" }, { "cls", "text/x-tex" },
	{ "cpp", "text/x-c++src" }, { "cr2", "image/x-canon-cr2" },
	{ "crt", "application/x-x509-ca-cert" }, { "csh", "text/x-csh" },
	{ "css", "text/css" }, { "csv", "text/csv" },
	{ "cxx", "text/x-c++src" }, { "d", "text/x-dsrc" },
	{ "dart", "application/vnd.dart" },
	{ "deb", "application/vnd.debian.binary-package" },
	{ "diff", "text/x-diff" }, { "dll", "application/x-msdos-program" },
	{ "dmg", "application/x-apple-diskimage" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.document" },
	{ "eml", "message/rfc822" }, { "eps", "application/postscript" },
	{ "epub", "application/epub+zip" }, { "etx", "text/x-setext" },
	{ "exe", "application/x-msdos-program" }, { "flac", "audio/flac" },
	{ "flv", "video/x-flv" }, { "gif", "image/gif" },
	{ "gz", "application/gzip" },	/* only ".GZ": ".gz" is an encoding */
	{ "h", "text/x-chdr" }, { "h++", "text/x-c++hdr" },
	{ "heic", "image/heic" }, { "heif", "image/heif" },
	{ "hh", "text/x-c++hdr" }, { "hpp", "text/x-c++hdr" },
	{ "hs", "text/x-haskell" }, { "htm", "text/html" },
	{ "html", "text/html" }, { "hxx", "text/x-c++hdr" },
	{ "ico", "image/vnd.microsoft.icon" }, { "ics", "text/calendar" },
	{ "iso", "application/x-iso9660-image" },
	{ "jar", "application/java-archive" }, { "java", "text/x-java" },
	{ "jp2", "image/jp2" }, { "jpe", "image/jpeg" },
	{ "jpeg", "image/jpeg" }, { "jpg", "image/jpeg" },
	{ "js", "text/javascript" }, { "json", "application/json" },
	{ "jsonld", "application/ld+json" }, { "jxl", "image/jxl" },
	{ "ksh", "text/plain" }, { "latex", "application/x-latex" },
	{ "ltx", "text/x-tex" },
	{ "m", "application/vnd.wolfram.mathematica.package" },
	{ "m3u", "audio/mpegurl" }, { "m4a", "audio/mp4" },
	{ "m4v", "video/mp4" }, { "man", "application/x-troff-man" },
	{ "markdown", "text/markdown" }, { "mbox", "application/mbox" },
	{ "md", "text/markdown" }, { "me", "application/x-troff-me" },
	{ "mid", "audio/sp-midi" }, { "mjs", "text/javascript" },
	{ "mkv", "video/x-matroska" }, { "mov", "video/quicktime" },
	{ "mp3", "audio/mpeg" }, { "mp4", "video/mp4" },
	{ "mpe", "video/mpeg" }, { "mpeg", "video/mpeg" },
	{ "mpg", "video/mpeg" }, { "ms", "application/x-troff-ms" },
	{ "msi", "application/x-msi" }, { "mts", "model/vnd.mts" },
	{ "nef", "image/x-nikon-nef" }, { "o", "application/x-object" },
	{ "obj", "model/obj" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "oga", "audio/ogg" }, { "ogg", "audio/ogg" },
	{ "ogv", "video/ogg" }, { "ogx", "application/ogg" },
	{ "opus", "audio/ogg" }, { "org", "application/vnd.lotus-organizer" },
	{ "otf", "font/otf" }, { "p", "text/x-pascal" },
	{ "p12", "application/pkcs12" }, { "pas", "text/x-pascal" },
	{ "patch", "text/x-diff" }, { "pbm", "image/x-portable-bitmap" },
	{ "pdf", "application/pdf" },
	{ "pem", "application/pem-certificate-chain" },
	{ "pfx", "application/pkcs12" }, { "pgm", "image/x-portable-graymap" },
	{ "pl", "text/x-perl" }, { "png", "image/png" },
	{ "ppm", "image/x-portable-pixmap" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation" },
	{ "ps", "application/postscript" },
	{ "psd", "image/vnd.adobe.photoshop" }, { "py", "text/x-python" },
	{ "pyc", "application/x-python-code" },
	{ "pyo", "application/x-python-code" }, { "qt", "video/quicktime" },
	{ "rar", "application/vnd.rar" }, { "rb", "application/x-ruby" },
	{ "rpm", "application/x-redhat-package-manager" },
	{ "rs", "application/rls-services+xml" },
	{ "rss", "application/x-rss+xml" },
	{ "rst", "text/prs.fallenstein.rst" }, { "rtf", "application/rtf" },
	{ "rtx", "text/richtext" }, { "scala", "text/x-scala" },
	{ "sgml", "text/SGML" }, { "sh", "text/x-sh" },
	{ "sig", "application/pgp-signature" },
	{ "so", "application/octet-stream" }, { "spx", "audio/ogg" },
	{ "sql", "application/sql" }, { "sqlite", "application/vnd.sqlite3" },
	{ "srt", "text/plain" }, { "sty", "text/x-tex" },
	{ "svg", "image/svg+xml" }, { "svgz", "image/svg+xml" },
	{ "swf", "application/vnd.adobe.flash.movie" },
	{ "tar", "application/x-tar" },
	{ "taz", "application/x-gtar-compressed" }, { "tcl", "text/x-tcl" },
	{ "tex", "text/x-tex" }, { "text", "text/plain" },
	{ "tgz", "application/x-gtar-compressed" },
	{ "tif", "image/tiff" }, { "tiff", "image/tiff" },
	{ "torrent", "application/x-bittorrent" },
	{ "ts", "text/vnd.trolltech.linguist" },
	{ "tsv", "text/tab-separated-values" }, { "ttf", "font/ttf" },
	{ "txt", "text/plain" }, { "vcf", "text/vcard" },
	{ "vtt", "text/vtt" }, { "wasm", "application/wasm" },
	{ "wav", "audio/x-wav" }, { "webm", "video/webm" },
	{ "webmanifest", "application/manifest+json" },
	{ "webp", "image/webp" }, { "wma", "audio/x-ms-wma" },
	{ "wmv", "video/x-ms-wmv" }, { "woff", "font/woff" },
	{ "woff2", "font/woff2" }, { "xbm", "image/x-xbitmap" },
	{ "xhtml", "application/xhtml+xml" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet" },
	{ "xml", "application/xml" }, { "xpi", "application/x-xpinstall" },
	{ "xpm", "image/x-xpixmap" }, { "xsl", "application/xslt+xml" },
	{ "xz", "application/x-xz" },
	{ "zip", "application/zip" }, { "zst", "application/zstd" },
};

/* mimetypes' suffix_map (any case) and encodings_map (exact case). */
static const struct {
	const char	*from, *to;
} suffix_map[] = {
	{ ".svgz", ".svg.gz" }, { ".tgz", ".tar.gz" }, { ".taz", ".tar.gz" },
	{ ".tz", ".tar.gz" }, { ".tbz2", ".tar.bz2" }, { ".txz", ".tar.xz" },
};
static const char *const encoding_exts[] = {
	".gz", ".Z", ".bz2", ".xz", ".br", NULL
};

#define EXT_MAX		64
#define READ_MIN	4096
#define NAME_MAX_BUF	1024

static int
in_list(const char *const *list, const char *ext)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], ext) == 0)
			return 1;
	return 0;
}

static char *
ascii_lower(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return s;
}

static const char *
base_name(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash == NULL ? path : slash + 1;
}

/* Path.suffix: a dot that is neither the first nor the last character. */
const char *
tab_suffix(const char *name, char *buf, size_t size)
{
	const char	*dot = strrchr(name, '.');
	size_t		 len = strlen(name);

	if (dot == NULL || dot == name || dot == name + len - 1 ||
	    strlen(dot) >= size)
		return "";
	memcpy(buf, dot, strlen(dot) + 1);
	return ascii_lower(buf);
}

/* posixpath.splitext on a base name: leading dots never start a suffix. */
static size_t
split_ext(const char *name)
{
	const char	*p = name, *dot;

	while (*p == '.')
		p++;
	if ((dot = strrchr(p, '.')) == NULL)
		return strlen(name);
	return (size_t)(dot - name);
}

static const char *
mime_lookup(const char *ext)
{
	char	low[EXT_MAX];
	size_t	i;

	if (ext[0] != '.' || strlen(ext) >= sizeof(low))
		return NULL;
	strlcpy_chk(low, ext + 1, sizeof(low));
	ascii_lower(low);
	for (i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++)
		if (strcmp(mime_table[i].ext, low) == 0)
			return mime_table[i].mime;
	return NULL;
}

/* Rewrite .tgz and friends, then drop one compression suffix. */
static void
unwrap_suffixes(char *name, size_t size)
{
	size_t	i, cut = split_ext(name);

	for (i = 0; i < sizeof(suffix_map) / sizeof(suffix_map[0]); i++) {
		if (strcasecmp(name + cut, suffix_map[i].from) != 0)
			continue;
		if (cut + strlen(suffix_map[i].to) >= size)
			break;
		strlcpy_chk(name + cut, suffix_map[i].to, size - cut);
		cut = split_ext(name);
		i = (size_t)-1;		/* the map may apply again */
	}
	if (in_list(encoding_exts, name + cut)) {
		name[cut] = '\0';
		cut = split_ext(name);
	}
	memmove(name, name + cut, strlen(name + cut) + 1);
}

const char *
tab_mime_guess(const char *path)
{
	char	name[NAME_MAX_BUF];

	if (strlcpy_chk(name, base_name(path), sizeof(name)) == -1)
		return NULL;
	unwrap_suffixes(name, sizeof(name));
	return mime_lookup(name);
}

void
tab_uuid4(char out[TAB_ID_LEN + 1])
{
	unsigned char	b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, TAB_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
tab_format_size(int64_t n, char *buf, size_t size)
{
	const double	k = 1024.0;

	if (n < 1024)
		snprintf(buf, size, "%lld B", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KB", (double)n / k);
	else if (n < 1024LL * 1024 * 1024)
		snprintf(buf, size, "%.1f MB", (double)n / (k * k));
	else
		snprintf(buf, size, "%.1f GB", (double)n / (k * k * k));
}

/*
 * Decoding. Every decoder writes UTF-8 (utf8_put); universal newlines
 * are applied afterwards, as Python's text layer does after its codec.
 */
/* "\r\n" and a lone "\r" become "\n", in place. */
static size_t
universal_newlines(char *s, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			s[o++] = '\n';
			if (i + 1 < len && s[i + 1] == '\n')
				i++;
		} else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

static uint32_t
unit16(const unsigned char *p, int big)
{
	return big ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

/* Strict UTF-16 after a BOM: whole units, surrogates in pairs. */
static int
decode_utf16(const unsigned char *p, size_t n, char **out, size_t *outlen)
{
	char		*o;
	size_t		 i, len = 0;
	uint32_t	 u, lo;
	int		 big;

	if (n < 2 || (n & 1) != 0)
		return -1;
	if (p[0] == 0xff && p[1] == 0xfe)
		big = 0;
	else if (p[0] == 0xfe && p[1] == 0xff)
		big = 1;
	else
		return -1;
	o = xmalloc(n / 2 * 3 + 1);
	for (i = 2; i < n; i += 2) {
		u = unit16(p + i, big);
		if (u >= 0xdc00 && u <= 0xdfff)
			goto bad;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 3 >= n)
				goto bad;
			lo = unit16(p + i + 2, big);
			if (lo < 0xdc00 || lo > 0xdfff)
				goto bad;
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		}
		len += utf8_put(o + len, u);
	}
	o[len] = '\0';
	*out = o;
	*outlen = len;
	return 0;
bad:
	free(o);
	return -1;
}

static void
decode_latin1(const unsigned char *p, size_t n, char **out, size_t *outlen)
{
	char	*o = xmalloc(n * 2 + 1);
	size_t	 i, len = 0;

	for (i = 0; i < n; i++)
		len += utf8_put(o + len, p[i]);
	o[len] = '\0';
	*out = o;
	*outlen = len;
}

int
tab_decode_text(const unsigned char *p, size_t n, char **out,
    size_t *outlen, const char **encoding)
{
	if (utf8_valid((const char *)p, n)) {
		*out = xmalloc(n + 1);
		memcpy(*out, p, n);
		*outlen = n;
		*encoding = "utf-8";
	} else if (decode_utf16(p, n, out, outlen) == 0)
		*encoding = "utf-16";
	else {
		decode_latin1(p, n, out, outlen);
		*encoding = "latin-1";
	}
	*outlen = universal_newlines(*out, *outlen);
	return 0;
}

static void
base64_encode(const unsigned char *p, size_t n, char **out, size_t *outlen)
{
	static const char	 al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*o = xmalloc((n + 2) / 3 * 4 + 1);
	size_t			 i, len = 0;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		o[len++] = al[v >> 18];
		o[len++] = al[(v >> 12) & 63];
		o[len++] = al[(v >> 6) & 63];
		o[len++] = al[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		o[len++] = al[v >> 18];
		o[len++] = al[(v >> 12) & 63];
		o[len++] = i + 1 < n ? al[(v >> 6) & 63] : '=';
		o[len++] = '=';
	}
	o[len] = '\0';
	*out = o;
	*outlen = len;
}

/*
 * Reading. Non-blocking open so a FIFO swapped in after the stat cannot
 * hang the worker, and the descriptor is checked to be a regular file.
 */
struct rd {
	unsigned char	*buf;
	size_t		 len;
	int		 over;		/* more than the cap was there */
	int		 err;		/* errno, 0 if none */
	int		 at_open;	/* the error came from open() */
};

static int
open_regular(const char *path, struct rd *r, off_t *size)
{
	struct stat	st;
	int		fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		r->err = errno;
		r->at_open = 1;
		return -1;
	}
	if (fstat(fd, &st) == -1)
		r->err = errno;
	else if (!S_ISREG(st.st_mode))
		r->err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (r->err != 0) {
		r->at_open = 1;
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/*
 * Up to cap bytes, plus one to notice more. The buffer starts at the
 * size fstat reports and grows, for files that grew or that report no
 * size at all (/proc).
 */
static void
read_capped(const char *path, size_t cap, struct rd *r)
{
	size_t		 have, room;
	off_t		 size;
	ssize_t		 n;
	int		 fd;

	memset(r, 0, sizeof(*r));
	if ((fd = open_regular(path, r, &size)) == -1)
		return;
	have = (uint64_t)size < cap ? (size_t)size + 1 : cap + 1;
	if (have < READ_MIN && cap + 1 > have)
		have = cap + 1 < READ_MIN ? cap + 1 : READ_MIN;
	r->buf = xmalloc(have + 1);
	while (r->len <= cap) {
		if (r->len == have) {
			have = have > (cap + 1) / 2 ? cap + 1 : have * 2;
			r->buf = xreallocarray(r->buf, have + 1, 1);
		}
		room = have - r->len;
		if ((n = read(fd, r->buf + r->len, room)) == -1) {
			if (errno == EINTR)
				continue;
			r->err = errno;
			break;
		}
		if (n == 0)
			break;
		r->len += (size_t)n;
	}
	close(fd);
	if (r->len > cap) {
		r->over = 1;
		r->len = cap;
	}
}

/* Python's repr() of a path, enough for error texts. */
static void
py_repr(const char *s, char *buf, size_t size)
{
	char	 q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ?
	    '"' : '\'';
	size_t	 o = 0;

	if (size < 8)
		return;
	buf[o++] = q;
	for (; *s != '\0' && o + 6 < size; s++) {
		unsigned char	c = (unsigned char)*s;

		if (c == '\\' || c == (unsigned char)q)
			o += snprintf(buf + o, size - o, "\\%c", c);
		else if (c == '\n')
			o += snprintf(buf + o, size - o, "\\n");
		else if (c == '\t')
			o += snprintf(buf + o, size - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = q;
	buf[o] = '\0';
}

/* str(OSError): "[Errno 13] Permission denied: '/x'". */
static char *
os_error(int err, const char *path)
{
	char	 rep[2048], *s;

	if (path == NULL) {
		xasprintf(&s, "[Errno %d] %s", err, strerror(err));
		return s;
	}
	py_repr(path, rep, sizeof(rep));
	xasprintf(&s, "[Errno %d] %s: %s", err, strerror(err), rep);
	return s;
}

/*
 * Building.
 */
static struct tab *
tab_alloc(const char *type)
{
	struct tab	*t = xcalloc(1, sizeof(*t));

	tab_uuid4(t->tab_id);
	t->tab_type = type;
	if ((t->metadata = json_object_new_object()) == NULL)
		fatalx("%s: out of memory", __func__);
	return t;
}

static char *
store(tab_hash_fn fn, void *arg, const char *s, size_t len)
{
	const char	*h;

	if (fn == NULL || (h = fn(arg, s, len)) == NULL)
		return NULL;
	return xstrdup(h);
}

/* Content that is ours to keep (allocated); hashed into the store. */
static void
set_content(struct tab *t, char *s, size_t len, tab_hash_fn fn, void *arg)
{
	free(t->content);
	free(t->content_hash);
	t->content = s;
	t->content_len = len;
	t->content_hash = store(fn, arg, s, len);
}

static void
meta_error(struct tab *t, const char *msg)
{
	json_set_str(t->metadata, "error", msg);
}

/* pathlib's str(Path(p)): no empty or "." parts, no trailing slash. */
static char *
path_normalise(const char *p)
{
	char		*out = xmalloc(strlen(p) + 2);
	const char	*s = p, *e;
	size_t		 o = 0, root = 0;

	if (p[0] == '/') {
		out[o++] = '/';
		if (p[1] == '/' && p[2] != '/')
			out[o++] = '/';	/* POSIX keeps exactly two */
		root = o;
	}
	while (*s != '\0') {
		while (*s == '/')
			s++;
		if ((e = strchr(s, '/')) == NULL)
			e = s + strlen(s);
		if (e > s && !(e - s == 1 && s[0] == '.')) {
			if (o > root)
				out[o++] = '/';
			memcpy(out + o, s, (size_t)(e - s));
			o += (size_t)(e - s);
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

static void
placeholder(struct tab *t, const char *fmt_head, const char *tail,
    int64_t size, tab_hash_fn fn, void *arg)
{
	char	 sz[32], *s;

	tab_format_size(size, sz, sizeof(sz));
	xasprintf(&s, "%s\n# File: %s\n# Size: %s%s", fmt_head, t->title, sz,
	    tail);
	set_content(t, s, strlen(s), fn, arg);
}

static void
load_binary(struct tab *t, int64_t size, tab_hash_fn fn, void *arg)
{
	char	*tail;

	xasprintf(&tail, "\n# Type: %s\n\n# This file contains binary data "
	    "and cannot be displayed as text.",
	    t->mime_type != NULL ? t->mime_type : "None");
	placeholder(t, "# Binary file", tail, size, fn, arg);
	free(tail);
	json_set_bool(t->metadata, "binary", 1);
}

static void
read_failed(struct tab *t, const char *head, const struct rd *r,
    tab_hash_fn fn, void *arg)
{
	char	*e, *s;

	e = os_error(r->err, r->at_open ? t->file_path : NULL);
	xasprintf(&s, "%s\n# %s", head, e);
	set_content(t, s, strlen(s), fn, arg);
	meta_error(t, e);
	free(e);
}

static void
text_too_large(struct tab *t, int64_t size, tab_hash_fn fn, void *arg)
{
	char	 max[32], *tail;

	tab_format_size(TAB_MAX_TEXT, max, sizeof(max));
	xasprintf(&tail, "\n# Maximum size for text files: %s", max);
	placeholder(t, "# File too large to display", tail, size, fn, arg);
	free(tail);
	json_set_bool(t->metadata, "truncated", 1);
}

static void
load_text(struct tab *t, int64_t size, tab_hash_fn fn, void *arg)
{
	struct rd	 r;
	char		*s;
	size_t		 len;

	if (size > TAB_MAX_TEXT) {
		text_too_large(t, size, fn, arg);
		return;
	}
	read_capped(t->file_path, TAB_MAX_TEXT, &r);
	if (r.err != 0)
		read_failed(t, "# Error reading file", &r, fn, arg);
	else if (r.over)
		text_too_large(t, size, fn, arg);	/* it grew */
	else {
		tab_decode_text(r.buf, r.len, &s, &len, &t->encoding);
		set_content(t, s, len, fn, arg);
	}
	free(r.buf);
}

static const char *
media_type(const char *mime)
{
	if (mime == NULL)
		return NULL;
	if (strncmp(mime, "image/", 6) == 0)
		return "image";
	if (strncmp(mime, "audio/", 6) == 0)
		return "audio";
	if (strncmp(mime, "video/", 6) == 0)
		return "video";
	return NULL;
}

static void
media_too_large(struct tab *t, int64_t size, tab_hash_fn fn, void *arg)
{
	placeholder(t, "# Media file too large to display", "", size, fn,
	    arg);
	json_set_bool(t->metadata, "too_large", 1);
}

static void
load_media(struct tab *t, int64_t size, tab_hash_fn fn, void *arg)
{
	struct rd	 r;
	const char	*type;
	char		*s;
	size_t		 len;

	if (size > TAB_MAX_MEDIA) {
		media_too_large(t, size, fn, arg);
		return;
	}
	if ((type = media_type(t->mime_type)) != NULL)
		t->tab_type = type;
	read_capped(t->file_path, TAB_MAX_MEDIA, &r);
	if (r.err != 0)
		read_failed(t, "# Error loading media file", &r, fn, arg);
	else if (r.over) {
		t->tab_type = "file";
		media_too_large(t, size, fn, arg);	/* it grew */
	} else {
		base64_encode(r.buf, r.len, &s, &len);
		set_content(t, s, len, fn, arg);
		t->encoding = "base64";
		json_set_int(t->metadata, "original_size", size);
	}
	free(r.buf);
}

/* No NUL in the first bytes and well-formed UTF-8 (a cut tail is fine). */
static int
sniff_text(const char *path)
{
	struct rd	r;
	size_t		n;
	int		text;

	read_capped(path, TAB_SNIFF, &r);
	if (r.err != 0) {
		free(r.buf);
		return 0;
	}
	text = memchr(r.buf, '\0', r.len) == NULL;
	if (text) {
		n = r.over ? utf8_boundary((char *)r.buf, r.len) : r.len;
		text = utf8_valid((char *)r.buf, n);
	}
	free(r.buf);
	return text;
}

static int
text_mime(const char *mime)
{
	static const char *const apps[] = {
		"application/json", "application/xml",
		"application/javascript", "application/typescript",
		"application/x-python", "application/x-sh", NULL
	};

	if (mime == NULL)
		return 0;
	return strncmp(mime, "text/", 5) == 0 || in_list(apps, mime);
}

/* The decision order of §6.6, once the file is known to be regular. */
static void
load_file(struct tab *t, const struct stat *st, tab_hash_fn fn, void *arg)
{
	char		 buf[EXT_MAX];
	const char	*ext = tab_suffix(t->title, buf, sizeof(buf));
	int64_t		 size = st->st_size;

	if (*ext != '\0')
		ext++;
	if (*ext != '\0' && in_list(ignored_exts, ext)) {
		json_set_bool(t->metadata, "ignored", 1);
		placeholder(t, "# Binary file not displayed", "", size, fn,
		    arg);
	} else if ((*ext != '\0' && in_list(text_exts, ext)) ||
	    text_mime(t->mime_type))
		load_text(t, size, fn, arg);
	else if ((*ext != '\0' && in_list(media_exts, ext)) ||
	    media_type(t->mime_type) != NULL)
		load_media(t, size, fn, arg);
	else if (sniff_text(t->file_path))
		load_text(t, size, fn, arg);
	else
		load_binary(t, size, fn, arg);
}

static int
missing_errno(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP ||
	    err == EBADF;
}

static void
stat_failed(struct tab *t, int err)
{
	char	*e, *m;

	if (missing_errno(err)) {
		meta_error(t, "File not found");
		return;
	}
	e = os_error(err, t->file_path);
	xasprintf(&m, "Cannot access file: %s", e);
	meta_error(t, m);
	free(m);
	free(e);
}

struct tab *
tab_file_new(const char *path, tab_hash_fn fn, void *arg)
{
	struct tab	*t = tab_alloc("file");
	struct stat	 st;

	t->file_path = path_normalise(path);
	/* Path(".").name is empty, as is the name of "/". */
	t->title = xstrdup(strcmp(t->file_path, ".") == 0 ? "" :
	    base_name(t->file_path));
	t->key = tab_key_file(path);
	if (stat(t->file_path, &st) == -1) {
		stat_failed(t, errno);
		return t;
	}
	if (!S_ISREG(st.st_mode)) {
		meta_error(t, "Not a file");
		return t;
	}
	json_set_int(t->metadata, "size", st.st_size);
	json_object_object_add(t->metadata, "modified_time",
	    json_object_new_double((double)st.st_mtim.tv_sec +
	    (double)st.st_mtim.tv_nsec * 1e-9));
	t->mime_type = tab_mime_guess(t->file_path);
	load_file(t, &st, fn, arg);
	return t;
}

/* Python's len() of a UTF-8 string: its code points. */
static size_t
char_count(const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* "head", or for a commit the first 8 characters of its hash. */
static char *
ref_label(const char *ref, const char *hash)
{
	size_t	n = 0, chars = 0;

	if (ref == NULL)
		return xstrdup("None");
	if (strcmp(ref, "commit") != 0 || hash == NULL || *hash == '\0')
		return xstrdup(ref);
	while (hash[n] != '\0' && chars < 8) {
		n++;
		while (((unsigned char)hash[n] & 0xc0) == 0x80)
			n++;
		chars++;
	}
	return xstrndup(hash, n);
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static char *
dup_len(const char *s, size_t len)
{
	char	*p = xmalloc(len + 1);

	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
diff_metadata(struct tab *t)
{
	struct json_object	*m = t->metadata;

	json_set_bool(m, "diff_mode", 1);
	json_set_bool(m, "timeline_diff", 1);
	json_set_str(m, "from_ref", t->from_ref);
	json_set_str(m, "to_ref", t->to_ref);
	json_set_str(m, "from_hash", t->from_hash);
	json_set_str(m, "to_hash", t->to_hash);
	json_set_bool(m, "diff_timeline", 1);
}

static void
diff_render(struct tab *t)
{
	int	differs;

	/* Upstream skips the HTML when either side is over the limit. */
	if (char_count(t->original, t->original_len) > TAB_HTML_MAX_CHARS ||
	    char_count(t->modified, t->modified_len) > TAB_HTML_MAX_CHARS)
		return;
	diffhtml_render_both(t->original, t->original_len, t->modified,
	    t->modified_len, base_name(t->file_path), &t->html_minimal,
	    &t->html_full, &differs);
}

struct tab *
tab_diff_new(const struct tab_diff_spec *d, tab_hash_fn fn, void *arg)
{
	struct tab	*t = tab_alloc("diff");
	char		*from, *to;

	t->file_path = xstrdup(d->file_path);
	t->from_ref = dup_or_null(d->from_ref);
	t->to_ref = dup_or_null(d->to_ref);
	t->from_hash = dup_or_null(d->from_hash);
	t->to_hash = dup_or_null(d->to_hash);
	t->key = tab_key_diff(d->file_path, d->from_ref, d->to_ref,
	    d->from_hash, d->to_hash);
	from = ref_label(d->from_ref, d->from_hash);
	to = ref_label(d->to_ref, d->to_hash);
	xasprintf(&t->title, "%s (%s \xe2\x86\x92 %s)",
	    base_name(d->file_path), from, to);
	free(from);
	free(to);
	t->original = dup_len(d->original != NULL ? d->original : "",
	    d->original != NULL ? d->original_len : 0);
	t->original_len = d->original != NULL ? d->original_len : 0;
	t->modified = dup_len(d->modified != NULL ? d->modified : "",
	    d->modified != NULL ? d->modified_len : 0);
	t->modified_len = d->modified != NULL ? d->modified_len : 0;
	t->original_hash = store(fn, arg, t->original, t->original_len);
	t->modified_hash = store(fn, arg, t->modified, t->modified_len);
	t->encoding = "utf-8";
	diff_metadata(t);
	diff_render(t);
	return t;
}

struct tab *
tab_untitled_new(const char *content, size_t len, const char *language,
    tab_hash_fn fn, void *arg)
{
	struct tab	*t = tab_alloc("untitled");

	if (content == NULL)
		len = 0;
	t->title = xstrdup("Untitled");
	t->key = xstrdup(t->tab_id);
	set_content(t, dup_len(content != NULL ? content : "", len), len, fn,
	    arg);
	t->is_dirty = len > 0;
	t->encoding = "utf-8";
	json_set_str(t->metadata, "language",
	    language != NULL ? language : "plaintext");
	return t;
}

char *
tab_key_file(const char *path)
{
	return xstrdup(path);
}

static const char *
py_str(const char *s)
{
	return s == NULL ? "None" : s;
}

char *
tab_key_diff(const char *path, const char *from_ref, const char *to_ref,
    const char *from_hash, const char *to_hash)
{
	char	*k;

	xasprintf(&k, "diff:%s:%s:%s:%s:%s", py_str(path), py_str(from_ref),
	    py_str(to_ref), py_str(from_hash), py_str(to_hash));
	return k;
}

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
tab_diff_matches(const struct tab *t, const char *file_path,
    const char *from_ref, const char *to_ref, const char *from_hash,
    const char *to_hash)
{
	return strcmp(t->tab_type, "diff") == 0 &&
	    same(t->file_path, file_path) && same(t->from_ref, from_ref) &&
	    same(t->to_ref, to_ref) && same(t->from_hash, from_hash) &&
	    same(t->to_hash, to_hash);
}

struct json_object *
tab_html_versions(const struct tab *t)
{
	struct json_object	*o;

	if (t->html_minimal == NULL)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		fatalx("%s: out of memory", __func__);
	json_set_str(o, "minimal", t->html_minimal);
	json_set_str(o, "full", t->html_full);
	return o;
}

struct json_object *
tab_to_json(const struct tab *t)
{
	struct json_object	*o, *m = NULL;

	if ((o = json_object_new_object()) == NULL)
		fatalx("%s: out of memory", __func__);
	json_set_str(o, "tab_id", t->tab_id);
	json_set_str(o, "tab_type", t->tab_type);
	json_set_str(o, "title", t->title);
	json_set_str(o, "file_path", t->file_path);
	json_set_str(o, "content_hash", t->content_hash);
	json_set_str(o, "original_content_hash", t->original_hash);
	json_set_str(o, "modified_content_hash", t->modified_hash);
	json_set_str(o, "html_diff_hash", NULL);
	json_set_bool(o, "is_dirty", t->is_dirty);
	json_set_str(o, "mime_type", t->mime_type);
	json_set_str(o, "encoding", t->encoding);
	if (json_object_deep_copy(t->metadata, &m, NULL) != 0)
		fatalx("%s: out of memory", __func__);
	json_object_object_add(o, "metadata", m);
	return o;
}

void
tab_drop_content(struct tab *t)
{
	free(t->content);
	free(t->original);
	free(t->modified);
	t->content = t->original = t->modified = NULL;
	t->content_len = t->original_len = t->modified_len = 0;
}

void
tab_free(struct tab *t)
{
	if (t == NULL)
		return;
	tab_drop_content(t);
	free(t->title);
	free(t->file_path);
	free(t->key);
	free(t->content_hash);
	free(t->original_hash);
	free(t->modified_hash);
	free(t->from_ref);
	free(t->to_ref);
	free(t->from_hash);
	free(t->to_hash);
	free(t->html_minimal);
	free(t->html_full);
	json_object_put(t->metadata);
	free(t);
}
