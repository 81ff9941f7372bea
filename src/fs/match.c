/*
 * match: find matching lines in a buffer holding many lines.
 *
 * The whole buffer is searched at once and line bounds are found
 * around each hit, so a file costs a handful of calls rather than one
 * per line. A regex hit that runs across a '\n' (\s, [^x]…) is tried
 * again within its own line only, which is what ripgrep gets by taking
 * '\n' out of every class.
 *
 * When every match must hold some run of plain characters (the query
 * itself when it is not a regex, else one found at the pattern's top
 * level), that run is looked for first with memchr(3) on its rarest
 * byte or SSE2 on two bytes at once, and the regex only runs on the
 * lines holding it: PCRE2 has no such inner-literal search and a
 * leading lookbehind (whole word) defeats its own start optimisations.
 * Without case, only runs of ASCII characters other than k and s serve
 * (those two also match the Kelvin sign and the long s).
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "xmalloc.h"
#include "fs/match.h"

#define JIT_STACK_MIN	(32 << 10)
#define JIT_STACK_MAX	(1 << 20)

/* A substring and where to look first. */
struct lit {
	char		*s;		/* lower case when nocase */
	size_t		 len;
	size_t		 rare;		/* index of its rarest byte */
	size_t		 rare2;		/* and of the next rarest */
	int		 nocase;	/* ASCII letters either case */
};

struct matcher {
	/* Plain substring search. */
	int			 literal;
	int			 never;		/* a '\n' in a plain query */
	struct lit		 lit;

	pcre2_code		*code;
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	pcre2_jit_stack		*jstack;
	int			 jit;
	/*
	 * A substring every match holds, when one is known: the regex
	 * then only runs on the lines holding it.
	 */
	struct lit		 req;

	struct mspan		*spans;
	size_t			 nspans;
	size_t			 capspans;
	char			 error[128];
};

/*
 * How common a byte is in text and source code, higher is commoner:
 * the substring search looks for the rarest byte of the needle with
 * memchr(3) and verifies around it.
 */
static int
byte_rank(unsigned char c)
{
	static const char	 order[] = "etaoinshrdlcumwfgypbvkjxqz";
	const char		*p;

	if (c == ' ')
		return 255;
	if (c == '\t' || c == '\n')
		return 200;
	if (c >= 'a' && c <= 'z' && (p = strchr(order, c)) != NULL)
		return 240 - 4 * (int)(p - order);
	if (c >= 'A' && c <= 'Z' && (p = strchr(order, c - 'A' + 'a')) != NULL)
		return 110 - 2 * (int)(p - order);
	if (c >= '0' && c <= '9')
		return c <= '1' ? 140 : 120;
	if (strchr("_();,.=*/\"#{}->&<:'[]", c) != NULL && c != '\0')
		return 150;
	if (c < 0x20 || c == 0x7f)
		return 10;
	if (c >= 0x80)
		return 40;
	return 60;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static void
lit_init(struct lit *l, const char *q, size_t len, int nocase)
{
	size_t	 i;
	int	 best = 1000, best2 = 1000, r;

	l->s = xstrndup(q, len);
	l->len = len;
	l->nocase = nocase;
	l->rare = l->rare2 = 0;
	for (i = 0; i < len; i++) {
		if (nocase)
			l->s[i] = (char)lower((unsigned char)q[i]);
		r = byte_rank((unsigned char)l->s[i]);
		if (r < best) {
			best2 = best;
			l->rare2 = l->rare;
			best = r;
			l->rare = i;
		} else if (r < best2 || l->rare2 == l->rare) {
			best2 = r;
			l->rare2 = i;
		}
	}
}

/* The substring at p (l->len bytes there). */
static int
lit_at(const struct lit *l, const char *p)
{
	size_t	 i;

	if (!l->nocase)
		return memcmp(p, l->s, l->len) == 0;
	for (i = 0; i < l->len; i++)
		if (lower((unsigned char)p[i]) != (unsigned char)l->s[i])
			return 0;
	return 1;
}

/* Byte c, or either case of it when nocase. */
static int
byte_is(const struct lit *l, unsigned char b, unsigned char c)
{
	return l->nocase ? lower(b) == c : b == c;
}

/*
 * The substring in h[0, n) by two of its bytes at once, sixteen
 * positions a step: fast when no single byte of it is rare, and for
 * either case.
 */
static const char *
pair_find(const struct lit *l, const char *h, size_t n)
{
	size_t		 i1 = l->rare, i2 = l->rare2, p = 0;
	unsigned char	 c1 = l->s[i1], c2 = l->s[i2];
#ifdef __SSE2__
	size_t		 hi = i1 > i2 ? i1 : i2, c;
	__m128i		 v1, u1, v2, u2, a, b;
	unsigned	 m;

	v1 = _mm_set1_epi8((char)c1);
	v2 = _mm_set1_epi8((char)c2);
	u1 = _mm_set1_epi8((char)(l->nocase && c1 >= 'a' && c1 <= 'z' ?
	    c1 - ('a' - 'A') : c1));
	u2 = _mm_set1_epi8((char)(l->nocase && c2 >= 'a' && c2 <= 'z' ?
	    c2 - ('a' - 'A') : c2));
	while (p + hi + 16 <= n) {
		a = _mm_loadu_si128((const __m128i *)(h + p + i1));
		b = _mm_loadu_si128((const __m128i *)(h + p + i2));
		m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(a, v1), _mm_cmpeq_epi8(a, u1)),
		    _mm_or_si128(_mm_cmpeq_epi8(b, v2),
		    _mm_cmpeq_epi8(b, u2))));
		while (m != 0) {
			c = p + (size_t)__builtin_ctz(m);
			if (c + l->len <= n && lit_at(l, h + c))
				return h + c;
			m &= m - 1;
		}
		p += 16;
	}
#endif
	for (; p + l->len <= n; p++)
		if (byte_is(l, (unsigned char)h[p + i1], c1) &&
		    byte_is(l, (unsigned char)h[p + i2], c2) &&
		    lit_at(l, h + p))
			return h + p;
	return NULL;
}

/* First occurrence of the substring in h[0, n). */
static const char *
lit_find(const struct lit *l, const char *h, size_t n)
{
	const char	*p, *end, *s;
	size_t		 off = l->rare, misses = 0;
	unsigned char	 c;

	if (l->len > n)
		return NULL;
	if (l->nocase)
		return pair_find(l, h, n);
	if (l->len == 1)
		return memchr(h, l->s[0], n);
	c = (unsigned char)l->s[off];
	p = h + off;
	end = h + n - (l->len - off) + 1;
	while (p < end) {
		if ((p = memchr(p, c, end - p)) == NULL)
			return NULL;
		s = p - off;
		if (s[0] == l->s[0] && lit_at(l, s))
			return s;
		p++;
		/* The "rare" byte is not rare here: two bytes at once. */
		if (++misses > 16 && (size_t)(p - h) < misses * 256)
			return pair_find(l, s + 1, h + n - (s + 1));
	}
	return NULL;
}

/*
 * Finding a run of plain characters that every match of a pattern
 * holds: at the top level only, and not at all when the pattern has a
 * top-level alternation or constructs that could change how its
 * characters match (inline options, verbs, \Q…\E).
 */
static int
is_quant_start(const char *p)
{
	const char	*q;

	if (*p == '*' || *p == '+' || *p == '?')
		return 1;
	if (*p != '{')
		return 0;
	for (q = p + 1; *q >= '0' && *q <= '9'; q++)
		;
	return q > p + 1 && (*q == '}' || *q == ',');
}

/* Skips a quantifier at *pp; 1 if it allows zero repetitions. */
static int
skip_quant(const char **pp, int *present)
{
	const char	*p = *pp;
	int		 zero = 0;

	*present = is_quant_start(p);
	if (!*present)
		return 0;
	if (*p == '*' || *p == '?')
		zero = 1;
	if (*p == '{') {
		zero = p[1] == '0' && (p[2] == '}' || p[2] == ',');
		if ((p = strchr(p, '}')) == NULL)
			p = *pp + strlen(*pp) - 1;
	}
	p++;
	if (*p == '?' || *p == '+')	/* lazy, possessive */
		p++;
	*pp = p;
	return zero;
}

/* Past a [...] class at p ('['). NULL if unterminated. */
static const char *
skip_class(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '\\' && p[1] != '\0')
			p += 2;
		else if (*p == '[' && p[1] == ':' &&
		    strstr(p + 2, ":]") != NULL)
			p = strstr(p + 2, ":]") + 2;
		else
			p++;
	}
	return *p == ']' ? p + 1 : NULL;
}

/* Past a group at p ('('), NULL if unbalanced. */
static const char *
skip_group(const char *p)
{
	int	 depth = 0;

	while (*p != '\0') {
		if (*p == '\\' && p[1] != '\0')
			p += 2;
		else if (*p == '[') {
			if ((p = skip_class(p)) == NULL)
				return NULL;
		} else if (*p == '(') {
			depth++;
			p++;
		} else if (*p == ')') {
			p++;
			if (--depth == 0)
				return p;
		} else
			p++;
	}
	return NULL;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static const char *
skip_to(const char *p, char close)
{
	const char	*q;

	return (q = strchr(p, close)) != NULL ? q + 1 : p + strlen(p);
}

/*
 * Past the escape at p ('\\') and its arguments; *lit tells whether it
 * stands for the character after the backslash (an escaped ASCII
 * punctuation or space). Others (\d, \x41, \cA, \p{L}, \k<n>, \12…)
 * count as anything.
 */
static const char *
skip_escape(const char *p, int *lit)
{
	char	 c = p[1];
	int	 n;

	*lit = (unsigned char)c < 0x80 && !is_alnum(c);
	p += 2;
	if (*lit)
		return p;
	if (*p == '{')
		return skip_to(p, '}');
	switch (c) {
	case 'c':
		if (*p != '\0')
			p++;
		break;
	case 'x':
		for (n = 0; n < 2 && ((*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')); n++)
			p++;
		break;
	case 'p':
	case 'P':
		if (*p != '\0')
			p++;
		break;
	case 'k':
	case 'g':
		if (*p == '<')
			return skip_to(p, '>');
		if (*p == '\'')
			return skip_to(p + 1, '\'');
		if (*p == '-' || *p == '+')
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		break;
	default:
		while (c >= '0' && c <= '9' && *p >= '0' && *p <= '9')
			p++;
		break;
	}
	return p;
}

/*
 * Without case, ASCII characters other than k and s match only their
 * two ASCII cases (k and s also match the Kelvin sign and the long s):
 * those can be looked for byte by byte.
 */
static int
nocase_safe(unsigned char c)
{
	c = (unsigned char)lower(c);
	return c < 0x80 && c != 'k' && c != 's';
}

/* The longest such run, or none (req->len 0). */
static void
required_literal(struct lit *req, const char *pat, int nocase)
{
	const char	*p = pat, *q, *atom;
	char		*best = NULL;
	size_t		 bestlen = 0, curlen = 0, alen;
	char		 cur[256];
	int		 lit, zero, quant;

	memset(req, 0, sizeof(*req));
	for (q = pat; (q = strchr(q, '(')) != NULL; q++)
		if (q[1] == '*' || (q[1] == '?' && q[2] != ':' &&
		    q[2] != '=' && q[2] != '!' &&
		    !(q[2] == '<' && (q[3] == '=' || q[3] == '!'))))
			return;
	if (strstr(pat, "\\Q") != NULL)
		return;
	while (*p != '\0') {
		atom = p;
		lit = 0;
		if (*p == '|')
			goto none;
		if (*p == '(') {
			if ((p = skip_group(p)) == NULL)
				goto none;
		} else if (*p == '[') {
			if ((p = skip_class(p)) == NULL)
				goto none;
		} else if (*p == '\\') {
			if (p[1] == '\0')
				goto none;
			atom = p + 1;
			p = skip_escape(p, &lit);
		} else if (*p == '.' || *p == '^' || *p == '$' ||
		    is_quant_start(p) || *p == ')') {
			p++;
		} else {
			/* One character, all its UTF-8 bytes. */
			lit = 1;
			p++;
			while ((*p & 0xc0) == 0x80)
				p++;
		}
		alen = p - atom;
		if (lit && nocase && (alen > 1 || !nocase_safe(*atom)))
			lit = 0;
		zero = skip_quant(&p, &quant);
		if (lit && !zero && curlen + alen <= sizeof(cur)) {
			memcpy(cur + curlen, atom, alen);
			curlen += alen;
		}
		if (!lit || zero || quant) {
			if (curlen > bestlen) {
				free(best);
				best = xstrndup(cur, curlen);
				bestlen = curlen;
			}
			curlen = 0;
		}
	}
	if (curlen > bestlen) {
		free(best);
		best = xstrndup(cur, curlen);
		bestlen = curlen;
	}
	/* A single common byte would only slow the search down. */
	if (bestlen >= 2 || (bestlen == 1 && best[0] != ' ' && !nocase))
		lit_init(req, best, bestlen, nocase);
	free(best);
	return;
none:
	free(best);
}

/* The longest run of a plain query that can be looked for as bytes. */
static void
plain_literal(struct lit *req, const char *q, int nocase)
{
	size_t	 i, start = 0, best = 0, bestlen = 0, n = strlen(q);

	if (memchr(q, '\n', n) != NULL)
		return;
	if (!nocase) {
		lit_init(req, q, n, 0);
		return;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && nocase_safe((unsigned char)q[i]))
			continue;
		if (i - start > bestlen) {
			best = start;
			bestlen = i - start;
		}
		start = i + 1;
	}
	if (bestlen >= 2)
		lit_init(req, q + best, bestlen, 1);
}

/* A plain query as a pattern: escape every ASCII punctuation and space. */
static char *
escape(const char *q)
{
	char	*out, *o;

	out = o = xmalloc(strlen(q) * 2 + 1);
	for (; *q != '\0'; q++) {
		if ((unsigned char)*q < 0x80 &&
		    !((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9')))
			*o++ = '\\';
		*o++ = *q;
	}
	*o = '\0';
	return out;
}

static pcre2_code *
compile(const char *pat, int match_case, char *err, size_t errlen)
{
	pcre2_compile_context	*cc;
	pcre2_code		*code;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	uint32_t		 opts;
	int			 rc;

	opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP |
	    PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C;
	if (!match_case)
		opts |= PCRE2_CASELESS;
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &rc,
	    &off, cc);
	pcre2_compile_context_free(cc);
	if (code == NULL) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		seterr(err, errlen, "Invalid regular expression: %s",
		    (char *)msg);
	}
	return code;
}

static int
regex_init(struct matcher *m, const char *q, int match_case, int regex,
    int whole_word, char *err, size_t errlen)
{
	pcre2_code	*check;
	char		*base, *pat;

	base = regex ? xstrdup(q) : escape(q);
	if (whole_word) {
		/* The query's own error, not one about the wrapper. */
		if (regex) {
			if ((check = compile(base, match_case, err,
			    errlen)) == NULL) {
				free(base);
				return -1;
			}
			pcre2_code_free(check);
		}
		xasprintf(&pat, "(?<!\\w)(?:%s)(?!\\w)", base);
		free(base);
	} else
		pat = base;
	m->code = compile(pat, match_case, err, errlen);
	free(pat);
	if (m->code == NULL)
		return -1;
	if (regex)
		required_literal(&m->req, q, !match_case);
	else
		plain_literal(&m->req, q, !match_case);
	m->jit = pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE) == 0;
	m->md = pcre2_match_data_create(1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (m->jit && (m->jstack = pcre2_jit_stack_create(JIT_STACK_MIN,
	    JIT_STACK_MAX, NULL)) != NULL)
		pcre2_jit_stack_assign(m->mctx, NULL, m->jstack);
	return 0;
}

struct matcher *
matcher_new(const char *query, int match_case, int regex, int whole_word,
    char *err, size_t errlen)
{
	struct matcher	*m = xcalloc(1, sizeof(*m));

	if (match_case && !regex && !whole_word && *query != '\0') {
		m->literal = 1;
		m->never = strchr(query, '\n') != NULL;
		lit_init(&m->lit, query, strlen(query), 0);
	} else if (regex_init(m, query, match_case, regex, whole_word, err,
	    errlen) == -1) {
		matcher_free(m);
		return NULL;
	}
	return m;
}

void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	free(m->lit.s);
	free(m->req.s);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	pcre2_jit_stack_free(m->jstack);
	pcre2_code_free(m->code);
	free(m->spans);
	free(m);
}

const struct mspan *
matcher_spans(const struct matcher *m, size_t *n)
{
	*n = m->nspans;
	return m->spans;
}

const char *
matcher_error(const struct matcher *m)
{
	return m->error;
}

static void
span_add(struct matcher *m, size_t s, size_t e)
{
	if (m->nspans == m->capspans) {
		m->capspans = m->capspans ? m->capspans * 2 : 16;
		m->spans = xreallocarray(m->spans, m->capspans,
		    sizeof(*m->spans));
	}
	m->spans[m->nspans].start = s;
	m->spans[m->nspans].end = e;
	m->nspans++;
}

/* 1 with the leftmost match in buf[start, end), 0 none, -1 error. */
static int
re_find(struct matcher *m, const char *buf, size_t end, size_t start,
    size_t *ms, size_t *me)
{
	PCRE2_SIZE	*ov;
	PCRE2_UCHAR	 msg[96];
	int		 rc;

	if (m->jit)
		rc = pcre2_jit_match(m->code, (PCRE2_SPTR)buf, end, start, 0,
		    m->md, m->mctx);
	else
		rc = pcre2_match(m->code, (PCRE2_SPTR)buf, end, start, 0,
		    m->md, m->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		snprintf(m->error, sizeof(m->error), "%s", (char *)msg);
		return -1;
	}
	ov = pcre2_get_ovector_pointer(m->md);
	*ms = ov[0];
	*me = ov[1];
	if (*ms > *me)		/* \K in a lookahead */
		*ms = *me;
	return 1;
}

static size_t
char_len(const char *buf, size_t at, size_t end)
{
	int	 n;

	n = utf8_check((const unsigned char *)buf + at, end - at);
	return n > 0 ? (size_t)n : n < 0 ? (size_t)-n : end - at;
}

/* Every match of the line [ls, le), the first one already found. */
static int
re_spans(struct matcher *m, const char *buf, size_t ls, size_t le,
    size_t s, size_t e)
{
	size_t	 p;
	int	 rc;

	for (;;) {
		if (e > s)
			span_add(m, s - ls, e - ls);
		if (e > s)
			p = e;
		else if (e < le)
			p = e + char_len(buf, e, le);
		else
			break;
		if (p > le)
			break;
		if ((rc = re_find(m, buf, le, p, &s, &e)) != 1)
			return rc;
	}
	return 0;
}

static int
re_next_line(struct matcher *m, const char *buf, size_t end, size_t from,
    int want, size_t *ls, size_t *le)
{
	const char	*nl;
	size_t		 pos = from, s, e, l0, l1;
	int		 rc;

	while (pos < end) {
		if ((rc = re_find(m, buf, end, pos, &s, &e)) != 1)
			return rc;
		/* An empty match after the last '\n' is in no line. */
		if (s == end && buf[end - 1] == '\n')
			return 0;
		nl = memrchr(buf + pos, '\n', s - pos);
		l0 = nl != NULL ? (size_t)(nl - buf) + 1 : pos;
		nl = memchr(buf + s, '\n', end - s);
		l1 = nl != NULL ? (size_t)(nl - buf) : end;
		if (e > l1) {
			/* Across a line end: this line on its own. */
			if ((rc = re_find(m, buf, l1, l0, &s, &e)) == -1)
				return -1;
			if (rc == 0) {
				pos = l1 + 1;
				continue;
			}
		}
		*ls = l0;
		*le = l1;
		if (want && re_spans(m, buf, l0, l1, s, e) == -1)
			return -1;
		return 1;
	}
	return 0;
}

/* Lines holding the required substring, then the regex on each. */
static int
req_next_line(struct matcher *m, const char *buf, size_t end, size_t from,
    int want, size_t *ls, size_t *le)
{
	const char	*p, *nl;
	size_t		 pos = from, l0, l1, s, e;
	int		 rc;

	while (pos < end) {
		if ((p = lit_find(&m->req, buf + pos, end - pos)) == NULL)
			return 0;
		nl = memrchr(buf + pos, '\n', p - (buf + pos));
		l0 = nl != NULL ? (size_t)(nl - buf) + 1 : pos;
		nl = memchr(p, '\n', buf + end - p);
		l1 = nl != NULL ? (size_t)(nl - buf) : end;
		if ((rc = re_find(m, buf, l1, l0, &s, &e)) == -1)
			return -1;
		if (rc == 1) {
			*ls = l0;
			*le = l1;
			if (want && re_spans(m, buf, l0, l1, s, e) == -1)
				return -1;
			return 1;
		}
		pos = l1 + 1;
	}
	return 0;
}

static int
lit_next_line(struct matcher *m, const char *buf, size_t end, size_t from,
    int want, size_t *ls, size_t *le)
{
	const char	*p, *nl;
	size_t		 s, l0, l1;

	if (m->never || from >= end ||
	    (p = lit_find(&m->lit, buf + from, end - from)) == NULL)
		return 0;
	s = p - buf;
	nl = memrchr(buf + from, '\n', s - from);
	l0 = nl != NULL ? (size_t)(nl - buf) + 1 : from;
	nl = memchr(buf + s, '\n', end - s);
	l1 = nl != NULL ? (size_t)(nl - buf) : end;
	*ls = l0;
	*le = l1;
	while (want) {
		span_add(m, s - l0, s - l0 + m->lit.len);
		s += m->lit.len;
		if ((p = lit_find(&m->lit, buf + s, l1 - s)) == NULL)
			break;
		s = p - buf;
	}
	return 1;
}

int
matcher_next_line(struct matcher *m, const char *buf, size_t end,
    size_t from, int want_spans, size_t *ls, size_t *le)
{
	m->nspans = 0;
	m->error[0] = '\0';
	if (m->literal)
		return lit_next_line(m, buf, end, from, want_spans, ls, le);
	if (m->req.len > 0)
		return req_next_line(m, buf, end, from, want_spans, ls, le);
	return re_next_line(m, buf, end, from, want_spans, ls, le);
}
