/*
 * Configuration: sshd_config style "Keyword value" lines.
 *
 * The parent reads the file once and hands the exact text to every child,
 * so the parser must not depend on anything but the text: checks that need
 * the system (does the user exist, which user are we) live in
 * config_check_mode(), which only the parent runs.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "portacoded.h"
#include "key.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_MAX_WORDS	(CONF_MAX_ROOTS + 2)
#define USER_MAX_LEN	32

enum kw {
	KW_GATEWAY,
	KW_USER,
	KW_KEYFILE,
	KW_CAFILE,
	KW_LOGLEVEL,
	KW_PROXMOXSETUP,
	KW_ALLOWEDROOTS,
	KW_SANDBOXDEBUG,
	KW_FILEREADLIMIT,
	KW_CONTENTCACHESIZE,
	KW_MAX
};

static const struct {
	const char	*name;
	int		 multi;		/* may repeat, takes several values */
} keywords[KW_MAX] = {
	[KW_GATEWAY] =		{ "Gateway", 0 },
	[KW_USER] =		{ "User", 0 },
	[KW_KEYFILE] =		{ "KeyFile", 0 },
	[KW_CAFILE] =		{ "CAFile", 0 },
	[KW_LOGLEVEL] =		{ "LogLevel", 0 },
	[KW_PROXMOXSETUP] =	{ "ProxmoxSetup", 0 },
	[KW_ALLOWEDROOTS] =	{ "AllowedRoots", 1 },
	[KW_SANDBOXDEBUG] =	{ "SandboxDebug", 0 },
	[KW_FILEREADLIMIT] =	{ "FileReadLimit", 0 },
	[KW_CONTENTCACHESIZE] =	{ "ContentCacheSize", 0 },
};

static const char *levels[] = {
	[LOGLEVEL_QUIET] = "QUIET",
	[LOGLEVEL_ERROR] = "ERROR",
	[LOGLEVEL_INFO] = "INFO",
	[LOGLEVEL_VERBOSE] = "VERBOSE",
	[LOGLEVEL_DEBUG] = "DEBUG",
};

/* One line split into words; words point into a private copy of the line. */
struct words {
	char	 buf[CONF_MAX_LINE];
	char	*w[CONF_MAX_WORDS];
	int	 n;
};

int
loglevel_from_name(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i]) == 0)
			return (int)i;
	return -1;
}

/* --- Gateway URL ------------------------------------------------------ */

static int
host_is_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return a6.s6_addr[12] == 127;
	}
	return 0;
}

/* DNS name or IPv4 literal: letters, digits, '-', '_', '.'; labels 1..63. */
static int
host_name_ok(const char *host, size_t len)
{
	size_t	 i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = host[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static int
port_parse(const char *s, size_t len, char *out, size_t outlen)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	snprintf(out, outlen, "%lu", v);
	return 0;
}

int
gateway_url_parse(struct gateway_url *u, const char *text, char *err,
    size_t errlen)
{
	struct gateway_url	 g;
	const char		*p, *auth, *aend, *host, *hend, *port = NULL;
	size_t			 i, hlen, plen;

	memset(&g, 0, sizeof(g));
	for (i = 0; text[i] != '\0'; i++) {
		unsigned char c = text[i];

		if (c <= ' ' || c >= 0x7f) {
			seterr(err, errlen, "\"%s\": URL contains a space, "
			    "control or non-ASCII character", text);
			return -1;
		}
	}
	if (strncasecmp(text, "wss://", 6) == 0) {
		g.tls = 1;
		auth = text + 6;
	} else if (strncasecmp(text, "ws://", 5) == 0) {
		g.tls = 0;
		auth = text + 5;
	} else {
		seterr(err, errlen, "\"%s\": URL must start with wss:// or "
		    "ws://", text);
		return -1;
	}
	if (strchr(text, '#') != NULL) {
		seterr(err, errlen, "\"%s\": URL must not contain a fragment "
		    "('#')", text);
		return -1;
	}
	aend = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', aend - auth) != NULL) {
		seterr(err, errlen, "\"%s\": user information in the URL is "
		    "not supported", text);
		return -1;
	}

	if (*auth == '[') {
		char	 lit[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;

		host = auth + 1;
		hend = memchr(host, ']', aend - host);
		if (hend == NULL) {
			seterr(err, errlen, "\"%s\": missing ']' after IPv6 "
			    "address", text);
			return -1;
		}
		hlen = hend - host;
		if (hlen == 0 || hlen >= sizeof(lit)) {
			seterr(err, errlen, "\"%s\": bad IPv6 address", text);
			return -1;
		}
		memcpy(lit, host, hlen);
		lit[hlen] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1) {
			seterr(err, errlen, "\"%s\": bad IPv6 address", text);
			return -1;
		}
		p = hend + 1;
		if (p < aend && *p != ':') {
			seterr(err, errlen, "\"%s\": unexpected characters "
			    "after ']'", text);
			return -1;
		}
	} else {
		host = auth;
		hend = memchr(host, ':', aend - host);
		if (hend == NULL)
			hend = aend;
		hlen = hend - host;
		if (hlen == 0) {
			seterr(err, errlen, "\"%s\": missing host", text);
			return -1;
		}
		if (!host_name_ok(host, hlen)) {
			seterr(err, errlen, "\"%s\": bad host name", text);
			return -1;
		}
		p = hend;
	}
	if (hlen >= sizeof(g.host)) {
		seterr(err, errlen, "\"%s\": host name too long", text);
		return -1;
	}
	memcpy(g.host, host, hlen);
	g.host[hlen] = '\0';

	if (p < aend) {		/* *p == ':' */
		port = p + 1;
		if (port_parse(port, aend - port, g.port, sizeof(g.port))
		    == -1) {
			seterr(err, errlen, "\"%s\": bad port", text);
			return -1;
		}
	} else
		strlcpy_chk(g.port, g.tls ? "443" : "80", sizeof(g.port));

	/* The query belongs to the request target, so it stays in path. */
	plen = strlen(aend);
	if (plen + 2 > sizeof(g.path)) {
		seterr(err, errlen, "\"%s\": path too long", text);
		return -1;
	}
	if (*aend == '/')
		memcpy(g.path, aend, plen + 1);
	else {
		g.path[0] = '/';
		memcpy(g.path + 1, aend, plen + 1);
	}

	g.loopback = host_is_loopback(g.host);
	if (!g.tls && !g.loopback) {
		seterr(err, errlen, "\"%s\": ws:// is only allowed for a "
		    "loopback host; use wss://", text);
		return -1;
	}
	*u = g;
	return 0;
}

/* --- Values ----------------------------------------------------------- */

static int
user_name_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || len > USER_MAX_LEN)
		return 0;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = s[i];

		if (c == '$' && i == len - 1)
			break;
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

/*
 * Normalise an absolute path into out: repeated and trailing slashes go,
 * "." and ".." components are refused rather than resolved, because a
 * root the admin wrote as "/srv/../etc" is a typo or a trick.
 */
static int
path_normalise(const char *in, char *out, size_t outlen, const char **why)
{
	const char	*p = in, *e;
	size_t		 o = 0, n;

	if (*in != '/') {
		*why = "must be an absolute path";
		return -1;
	}
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = p + strcspn(p, "/");
		n = e - p;
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "must not contain \".\" or \"..\" components";
			return -1;
		}
		if (o + 1 + n + 1 > outlen) {
			*why = "is too long";
			return -1;
		}
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p = e;
	}
	if (o == 0) {
		if (outlen < 2) {
			*why = "is too long";
			return -1;
		}
		out[o++] = '/';
	}
	out[o] = '\0';
	return 0;
}

static int
yesno(const char *s)
{
	if (strcasecmp(s, "yes") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

/* --- Lines ------------------------------------------------------------ */

/*
 * Split one line (no newline) into words. '#' at the start of a word
 * begins a comment; a word may be double-quoted to hold spaces and '#'.
 */
static int
split_words(struct words *wd, const char *line, size_t len, char *err,
    size_t errlen)
{
	char	*p, *end;

	memcpy(wd->buf, line, len);
	wd->buf[len] = '\0';
	wd->n = 0;
	p = wd->buf;
	end = wd->buf + len;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p == '#')
			return 0;
		if (wd->n == CONF_MAX_WORDS) {
			seterr(err, errlen, "too many values");
			return -1;
		}
		if (*p == '"') {
			char *q = memchr(p + 1, '"', end - p - 1);

			if (q == NULL) {
				seterr(err, errlen, "unterminated quote");
				return -1;
			}
			if (q + 1 < end && q[1] != ' ' && q[1] != '\t') {
				seterr(err, errlen,
				    "text directly after a closing quote");
				return -1;
			}
			*q = '\0';
			wd->w[wd->n++] = p + 1;
			p = q + 1;
			continue;
		}
		wd->w[wd->n++] = p;
		while (p < end && *p != ' ' && *p != '\t') {
			if (*p == '"') {
				seterr(err, errlen, "quote inside a word");
				return -1;
			}
			p++;
		}
		if (p == end)
			return 0;
		*p++ = '\0';
	}
}

static int
keyword_lookup(const char *s)
{
	int	 i;

	for (i = 0; i < KW_MAX; i++)
		if (strcasecmp(s, keywords[i].name) == 0)
			return i;
	return -1;
}

static int
set_path(char *dst, size_t dstlen, const char *kw, const char *v, char *err,
    size_t errlen)
{
	const char	*why;

	if (path_normalise(v, dst, dstlen, &why) == -1) {
		seterr(err, errlen, "%s: \"%s\" %s", kw, v, why);
		return -1;
	}
	return 0;
}

static int
add_root(struct config *c, const char *v, char *err, size_t errlen)
{
	char		 path[1024];
	const char	*why;
	int		 i;

	if (path_normalise(v, path, sizeof(path), &why) == -1) {
		seterr(err, errlen, "AllowedRoots: \"%s\" %s", v, why);
		return -1;
	}
	for (i = 0; i < c->nroots; i++)
		if (strcmp(c->roots[i], path) == 0)
			return 0;
	if (c->nroots == CONF_MAX_ROOTS) {
		seterr(err, errlen, "AllowedRoots: more than %d roots",
		    CONF_MAX_ROOTS);
		return -1;
	}
	c->roots[c->nroots++] = xstrdup(path);
	return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int
parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;
	uint64_t		 mult = 1;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		switch (*end) {
		case 'K': case 'k': mult = 1024; break;
		case 'M': case 'm': mult = 1024 * 1024; break;
		case 'G': case 'g': mult = 1024 * 1024 * 1024; break;
		default: return -1;
		}
	}
	if (n > max / mult || n * mult < min || n * mult > max)
		return -1;
	*out = n * mult;
	return 0;
}

static int
apply(struct config *c, int kw, struct words *wd, char *err, size_t errlen)
{
	const char	*name = keywords[kw].name, *v = wd->w[1];
	char		 why[2048];
	int		 i, n;

	switch (kw) {
	case KW_GATEWAY:
		if (strlen(v) >= sizeof(c->gateway_text)) {
			seterr(err, errlen, "Gateway: URL is too long");
			return -1;
		}
		if (gateway_url_parse(&c->gateway, v, why, sizeof(why)) == -1) {
			seterr(err, errlen, "Gateway: %s", why);
			return -1;
		}
		strlcpy_chk(c->gateway_text, v, sizeof(c->gateway_text));
		return 0;
	case KW_USER:
		if (!user_name_ok(v)) {
			seterr(err, errlen, "User: bad user name \"%s\"", v);
			return -1;
		}
		strlcpy_chk(c->user, v, sizeof(c->user));
		return 0;
	case KW_KEYFILE:
		return set_path(c->keyfile, sizeof(c->keyfile), name, v, err,
		    errlen);
	case KW_CAFILE:
		return set_path(c->cafile, sizeof(c->cafile), name, v, err,
		    errlen);
	case KW_LOGLEVEL:
		if ((n = loglevel_from_name(v)) == -1) {
			seterr(err, errlen, "LogLevel: unknown level \"%s\" "
			    "(QUIET, ERROR, INFO, VERBOSE or DEBUG)", v);
			return -1;
		}
		c->loglevel = n;
		return 0;
	case KW_PROXMOXSETUP:
	case KW_SANDBOXDEBUG:
		if ((n = yesno(v)) == -1) {
			seterr(err, errlen, "%s: expected yes or no, got "
			    "\"%s\"", name, v);
			return -1;
		}
		if (kw == KW_PROXMOXSETUP)
			c->proxmox_setup = n;
		else
			c->sandbox_debug = n;
		return 0;
	case KW_FILEREADLIMIT:
		if (parse_size(v, CONF_MIN_READ, CONF_MAX_READ,
		    &c->file_read_limit) == -1) {
			seterr(err, errlen, "FileReadLimit: \"%s\" is not a "
			    "size from 1K to 32M (a number with an optional K, "
			    "M or G suffix)", v);
			return -1;
		}
		return 0;
	case KW_CONTENTCACHESIZE:
		if (parse_size(v, CONF_MIN_CACHE, CONF_MAX_CACHE,
		    &c->content_cache_size) == -1) {
			seterr(err, errlen, "ContentCacheSize: \"%s\" is not a "
			    "size from 64K to 4G (a number with an optional K, "
			    "M or G suffix)", v);
			return -1;
		}
		return 0;
	case KW_ALLOWEDROOTS:
		for (i = 1; i < wd->n; i++)
			if (add_root(c, wd->w[i], err, errlen) == -1)
				return -1;
		return 0;
	}
	seterr(err, errlen, "internal error: keyword %d", kw);
	return -1;
}

static int
parse_line(struct config *c, int seen[KW_MAX], int lineno, const char *line,
    size_t len, char *err, size_t errlen)
{
	struct words	*wd;
	size_t		 i;
	int		 kw, rv = -1;

	if (len >= CONF_MAX_LINE) {
		seterr(err, errlen, "line is longer than %d bytes",
		    CONF_MAX_LINE - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = line[i];

		if (ch == '\0') {
			seterr(err, errlen, "NUL byte");
			return -1;
		}
		if ((ch < ' ' && ch != '\t') || ch == 0x7f) {
			seterr(err, errlen, "control character 0x%02x", ch);
			return -1;
		}
	}

	wd = xmalloc(sizeof(*wd));
	if (split_words(wd, line, len, err, errlen) == -1)
		goto out;
	if (wd->n == 0) {
		rv = 0;
		goto out;
	}
	if ((kw = keyword_lookup(wd->w[0])) == -1) {
		seterr(err, errlen, "unknown keyword \"%s\"", wd->w[0]);
		goto out;
	}
	if (wd->n < 2) {
		seterr(err, errlen, "%s: missing value", keywords[kw].name);
		goto out;
	}
	if (!keywords[kw].multi && wd->n > 2) {
		seterr(err, errlen, "%s: unexpected extra value \"%s\"",
		    keywords[kw].name, wd->w[2]);
		goto out;
	}
	if (seen[kw] && !keywords[kw].multi) {
		seterr(err, errlen, "%s: given twice (first on line %d)",
		    keywords[kw].name, seen[kw]);
		goto out;
	}
	if (wd->w[1][0] == '\0') {
		seterr(err, errlen, "%s: empty value", keywords[kw].name);
		goto out;
	}
	if (apply(c, kw, wd, err, errlen) == -1)
		goto out;
	if (!seen[kw])
		seen[kw] = lineno;
	rv = 0;
 out:
	explicit_bzero(wd, sizeof(*wd));
	free(wd);
	return rv;
}

void
config_defaults(struct config *c)
{
	char	 err[256];

	memset(c, 0, sizeof(*c));
	if (gateway_url_parse(&c->gateway, PC_DEFAULT_GATEWAY, err,
	    sizeof(err)) == -1)
		fatalx("default gateway: %s", err);
	strlcpy_chk(c->gateway_text, PC_DEFAULT_GATEWAY,
	    sizeof(c->gateway_text));
	strlcpy_chk(c->cafile, PC_DEFAULT_CAFILE, sizeof(c->cafile));
	c->loglevel = LOGLEVEL_INFO;
	c->file_read_limit = CONF_DEFAULT_READ;
	c->content_cache_size = CONF_DEFAULT_CACHE;
}

/*
 * Parse into a copy so a failed parse leaves *c as it was: a SIGHUP with
 * a broken file must not half-change the running configuration.
 */
int
config_parse(struct config *c, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct config	 n;
	int		 seen[KW_MAX] = { 0 };
	const char	*line, *nl, *end = text + len;
	char		 why[CONF_MAX_LINE + 256];
	int		 lineno = 0, i;
	size_t		 llen;

	if (len > CONF_MAX_SIZE) {
		seterr(err, errlen, "config is %zu bytes, at most %d allowed",
		    len, CONF_MAX_SIZE);
		return -1;
	}
	n = *c;
	for (line = text; line < end; line = nl + 1) {
		lineno++;
		nl = memchr(line, '\n', end - line);
		if (nl == NULL)
			nl = end;
		llen = nl - line;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (parse_line(&n, seen, lineno, line, llen, why,
		    sizeof(why)) == -1) {
			seterr(err, errlen, "line %d: %s", lineno, why);
			for (i = c->nroots; i < n.nroots; i++)
				free(n.roots[i]);
			return -1;
		}
	}
	*c = n;
	return 0;
}

/* Read a whole file, at most CONF_MAX_SIZE bytes, NUL-terminated. */
static int
read_all(int fd, const char *path, char **textp, size_t *lenp, char *err,
    size_t errlen)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 r;

	buf = xmalloc(CONF_MAX_SIZE + 2);
	for (;;) {
		r = read(fd, buf + len, CONF_MAX_SIZE + 1 - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += r;
		if (len > CONF_MAX_SIZE) {
			seterr(err, errlen, "%s: larger than %d bytes", path,
			    CONF_MAX_SIZE);
			free(buf);
			return -1;
		}
	}
	buf[len] = '\0';
	*textp = buf;
	*lenp = len;
	return 0;
}

int
config_load(struct config *c, const char *path, char **textp, size_t *lenp,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*text;
	char		 why[CONF_MAX_LINE + 256];
	size_t		 len;
	int		 fd;

	/* O_NONBLOCK so a FIFO planted at the path cannot hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY))
	    == -1) {
		seterr(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		seterr(err, errlen, "%s: larger than %d bytes", path,
		    CONF_MAX_SIZE);
		close(fd);
		return -1;
	}
	/* As sshd's StrictModes: root obeys only a file only root can change. */
	if (getuid() == 0 && (st.st_uid != 0 || (st.st_mode & 022) != 0)) {
		seterr(err, errlen, "%s: bad ownership or modes (must be "
		    "owned by root and not writable by group or others)", path);
		close(fd);
		return -1;
	}
	if (read_all(fd, path, &text, &len, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (config_parse(c, text, len, why, sizeof(why)) == -1) {
		seterr(err, errlen, "%s: %s", path, why);
		free(text);
		return -1;
	}
	if (textp != NULL) {
		*textp = text;
		if (lenp != NULL)
			*lenp = len;
	} else
		free(text);
	return 0;
}

int
config_check_mode(const struct config *c, int system_mode, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	char		 path[1024];

	if (system_mode) {
		if (c->user[0] == '\0') {
			seterr(err, errlen, "User is not set (required when "
			    "running as root)");
			return -1;
		}
		errno = 0;
		if (getpwnam(c->user) == NULL) {
			seterr(err, errlen, "User %s: no such user", c->user);
			return -1;
		}
	} else {
		if (c->proxmox_setup) {
			seterr(err, errlen, "ProxmoxSetup yes requires running "
			    "as root");
			return -1;
		}
		if (c->user[0] != '\0') {
			if ((pw = getpwuid(getuid())) == NULL) {
				seterr(err, errlen, "cannot find the invoking "
				    "user (uid %ld)", (long)getuid());
				return -1;
			}
			if (strcmp(pw->pw_name, c->user) != 0) {
				seterr(err, errlen, "User %s: cannot switch "
				    "users when not running as root", c->user);
				return -1;
			}
		}
	}
	if (c->keyfile[0] == '\0' &&
	    key_default_path(system_mode, path, sizeof(path)) == -1) {
		seterr(err, errlen, "KeyFile is not set and no default key "
		    "path is known for this user");
		return -1;
	}
	return 0;
}

void
config_clear(struct config *c)
{
	int	 i;

	for (i = 0; i < c->nroots; i++) {
		free(c->roots[i]);
		c->roots[i] = NULL;
	}
	c->nroots = 0;
}
