/*
 * glob: the globset dialect ripgrep uses for -g and ignore files,
 * matched against relative paths as bytes.
 *
 * A pattern is parsed into tokens the way globset does (including its
 * lenient reading of a '**' that is not a whole path component: two
 * '*'), then either recognised as one of a few common shapes matched
 * with plain string compares (`*.c`, `Makefile`, everything beneath a
 * directory), or compiled into a small NFA simulated in lock step, so no
 * pattern can make matching slower than O(path × pattern).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "fs/glob.h"

#define GLOB_MAXLEN	4096	/* pattern bytes */
#define GLOB_MAXPROG	8192	/* NFA instructions */

enum tok_type {
	T_LIT,		/* one byte */
	T_ANY,		/* '?': a byte other than '/' */
	T_STAR,		/* '*': bytes other than '/' */
	T_RPREFIX,	/* leading double star and slash: (?:/?|.*\/) */
	T_RSUFFIX,	/* trailing slash and double star: /.* */
	T_RZOM,		/* slash, double star, slash: (?:/|/.*\/) */
	T_CLASS,
	T_ALT		/* {a,b}: alternatives */
};

struct tseq;

struct tok {
	enum tok_type	 type;
	unsigned char	 c;
	int		 cls;		/* T_CLASS: index in parse.cls */
	struct tseq	*alts;		/* T_ALT */
	size_t		 nalts;
};

struct tseq {
	struct tok	*v;
	size_t		 n;
	size_t		 cap;
};

struct parse {
	const unsigned char	*s;
	size_t			 len;
	size_t			 i;
	int			 cur;
	int			 prev;
	struct tseq		*stk;	/* [0] outside {}, then alternatives */
	size_t			 nstk;
	size_t			 capstk;
	uint8_t			(*cls)[32];
	size_t			 ncls;
	const char		*why;
};

enum op {
	OP_BYTE, OP_NOTSEP, OP_ANYBYTE, OP_CLASS, OP_SPLIT, OP_JMP, OP_MATCH
};

struct inst {
	uint8_t		 op;
	uint8_t		 c;
	uint32_t	 x;	/* jump target or class index */
	uint32_t	 y;	/* second SPLIT target */
};

enum shape {
	S_NFA,
	S_EXACT,	/* path == lit */
	S_TAIL,		/* path == lit or ends with "/" lit */
	S_SUFFIX,	/* path ends with lit (lit has no '/') */
	S_UNDER,	/* path starts with lit "/" */
	S_INSIDE,	/* path starts with lit "/" or contains "/" lit "/" */
	S_ALL		/* anything */
};

struct glob {
	enum shape	 shape;
	char		*lit;
	size_t		 litlen;
	struct inst	*prog;
	size_t		 nprog;
	uint8_t		(*cls)[32];
	size_t		 ncls;
	/* Simulation scratch, reused: globs are not shared across threads. */
	uint32_t	*cur;
	uint32_t	*next;
	uint32_t	*mark;
	uint32_t	*stack;
	uint32_t	 gen;
};

/* Tokens. */

static void
tseq_push(struct tseq *q, const struct tok *t)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	q->v[q->n++] = *t;
}

static void
tseq_clear(struct tseq *q)
{
	size_t	 i, j;

	for (i = 0; i < q->n; i++) {
		if (q->v[i].type != T_ALT)
			continue;
		for (j = 0; j < q->v[i].nalts; j++)
			tseq_clear(&q->v[i].alts[j]);
		free(q->v[i].alts);
	}
	free(q->v);
	memset(q, 0, sizeof(*q));
}

static int
bump(struct parse *p)
{
	p->prev = p->cur;
	p->cur = p->i < p->len ? p->s[p->i++] : -1;
	return p->cur;
}

static int
peek(const struct parse *p)
{
	return p->i < p->len ? p->s[p->i] : -1;
}

static struct tseq *
top(struct parse *p)
{
	return &p->stk[p->nstk - 1];
}

static void
push_simple(struct parse *p, enum tok_type type, unsigned char c)
{
	struct tok	 t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.c = c;
	tseq_push(top(p), &t);
}

static void
push_alternative(struct parse *p)
{
	if (p->nstk == p->capstk) {
		p->capstk = p->capstk ? p->capstk * 2 : 4;
		p->stk = xreallocarray(p->stk, p->capstk, sizeof(*p->stk));
	}
	memset(&p->stk[p->nstk], 0, sizeof(p->stk[0]));
	p->nstk++;
}

/* '}' closes the group; outside one it stands for nothing, as in globset. */
static void
pop_alternates(struct parse *p)
{
	struct tok	 t;
	size_t		 n;

	memset(&t, 0, sizeof(t));
	t.type = T_ALT;
	n = p->nstk - 1;
	if (n > 0) {
		t.alts = xreallocarray(NULL, n, sizeof(*t.alts));
		memcpy(t.alts, &p->stk[1], n * sizeof(*t.alts));
		t.nalts = n;
	}
	p->nstk = 1;
	tseq_push(top(p), &t);
}

static int
parse_star(struct parse *p)
{
	struct tseq	*q = top(p);
	int		 prev = p->prev, c, suffix;
	enum tok_type	 last;

	if (peek(p) != '*') {
		push_simple(p, T_STAR, 0);
		return 0;
	}
	bump(p);
	if (q->n == 0) {
		c = peek(p);
		if (c != -1 && c != '/') {
			push_simple(p, T_STAR, 0);
			push_simple(p, T_STAR, 0);
		} else {
			push_simple(p, T_RPREFIX, 0);
			bump(p);
		}
		return 0;
	}
	if (prev != '/' && (p->nstk <= 1 || (prev != ',' && prev != '{'))) {
		push_simple(p, T_STAR, 0);
		push_simple(p, T_STAR, 0);
		return 0;
	}
	c = peek(p);
	if (c == -1)
		suffix = 1;
	else if ((c == ',' || c == '}') && p->nstk >= 2)
		suffix = 1;
	else if (c == '/') {
		bump(p);
		suffix = 0;
	} else {
		push_simple(p, T_STAR, 0);
		push_simple(p, T_STAR, 0);
		return 0;
	}
	/* Replaces the separator just before (or keeps a recursive token). */
	last = q->v[q->n - 1].type;
	if (last == T_ALT) {
		p->why = "invalid use of **";
		return -1;
	}
	q->n--;
	if (last == T_RPREFIX || last == T_RSUFFIX)
		push_simple(p, last, 0);
	else
		push_simple(p, suffix ? T_RSUFFIX : T_RZOM, 0);
	return 0;
}

static int
parse_class(struct parse *p)
{
	uint8_t	*set;
	int	 negated = 0, first = 1, in_range = 0, c, lo = -1, i;
	struct tok t;

	if (peek(p) == '!' || peek(p) == '^') {
		bump(p);
		negated = 1;
	}
	p->cls = xreallocarray(p->cls, p->ncls + 1, sizeof(*p->cls));
	set = p->cls[p->ncls];
	memset(set, 0, 32);
	for (;;) {
		if ((c = bump(p)) == -1) {
			p->why = "unclosed character class; missing ']'";
			return -1;
		}
		if (c == ']' && !first)
			break;
		if (c == '-' && !first) {
			if (in_range) {
				/* "a--": a range ending in '-'. */
				if ('-' < lo) {
					p->why = "invalid range";
					return -1;
				}
				for (i = lo; i <= '-'; i++)
					set[i >> 3] |= 1 << (i & 7);
				in_range = 0;
			} else
				in_range = 1;
			first = 0;
			continue;
		}
		if (in_range) {
			/* lo stays: globset widens the last range. */
			if (c < lo) {
				p->why = "invalid range";
				return -1;
			}
			for (i = lo; i <= c; i++)
				set[i >> 3] |= 1 << (i & 7);
			in_range = 0;
		} else {
			set[c >> 3] |= 1 << (c & 7);
			lo = c;
		}
		first = 0;
	}
	if (in_range)
		set['-' >> 3] |= 1 << ('-' & 7);
	if (negated)
		for (i = 0; i < 32; i++)
			set[i] = ~set[i];
	memset(&t, 0, sizeof(t));
	t.type = T_CLASS;
	t.cls = (int)p->ncls++;
	tseq_push(top(p), &t);
	return 0;
}

static int
parse(struct parse *p)
{
	int	 c;

	push_alternative(p);
	while ((c = bump(p)) != -1) {
		switch (c) {
		case '?':
			push_simple(p, T_ANY, 0);
			break;
		case '*':
			if (parse_star(p) == -1)
				return -1;
			break;
		case '[':
			if (parse_class(p) == -1)
				return -1;
			break;
		case '{':
			if (p->nstk > 1) {
				p->why = "nested alternate groups are not "
				    "allowed";
				return -1;
			}
			push_alternative(p);
			break;
		case '}':
			pop_alternates(p);
			break;
		case ',':
			if (p->nstk <= 1)
				push_simple(p, T_LIT, ',');
			else
				push_alternative(p);
			break;
		case '\\':
			if ((c = bump(p)) == -1) {
				p->why = "dangling '\\'";
				return -1;
			}
			push_simple(p, T_LIT, (unsigned char)c);
			break;
		default:
			push_simple(p, T_LIT, (unsigned char)c);
			break;
		}
	}
	if (p->nstk > 1) {
		p->why = "unclosed alternate group; missing '}'";
		return -1;
	}
	return 0;
}

/* Shapes matched without the NFA. */

static int
lits(const struct tseq *q, size_t from, size_t to, int slash_ok)
{
	size_t	 i;

	for (i = from; i < to; i++)
		if (q->v[i].type != T_LIT ||
		    (!slash_ok && q->v[i].c == '/'))
			return 0;
	return 1;
}

static void
set_lit(struct glob *g, const struct tseq *q, size_t from, size_t to)
{
	size_t	 i;

	g->litlen = to - from;
	g->lit = xmalloc(g->litlen + 1);
	for (i = from; i < to; i++)
		g->lit[i - from] = (char)q->v[i].c;
	g->lit[g->litlen] = '\0';
}

static int
find_shape(struct glob *g, const struct tseq *q)
{
	size_t	 n = q->n;

	if (n == 1 && q->v[0].type == T_RPREFIX) {
		g->shape = S_ALL;
		return 1;
	}
	if (lits(q, 0, n, 1)) {
		g->shape = S_EXACT;
		set_lit(g, q, 0, n);
		return 1;
	}
	if (n >= 2 && q->v[0].type == T_RPREFIX) {
		if (lits(q, 1, n, 1)) {
			g->shape = S_TAIL;
			set_lit(g, q, 1, n);
			return 1;
		}
		if (q->v[1].type == T_STAR && lits(q, 2, n, 0)) {
			g->shape = S_SUFFIX;
			set_lit(g, q, 2, n);
			return 1;
		}
		if (n >= 4 && q->v[n - 2].type == T_RZOM &&
		    q->v[n - 1].type == T_STAR && lits(q, 1, n - 2, 1)) {
			g->shape = S_INSIDE;
			set_lit(g, q, 1, n - 2);
			return 1;
		}
	}
	if (n >= 2 && q->v[n - 1].type == T_RSUFFIX && lits(q, 0, n - 1, 1)) {
		g->shape = S_UNDER;
		set_lit(g, q, 0, n - 1);
		return 1;
	}
	if (n >= 3 && q->v[n - 2].type == T_RZOM &&
	    q->v[n - 1].type == T_STAR && lits(q, 0, n - 2, 1)) {
		g->shape = S_UNDER;
		set_lit(g, q, 0, n - 2);
		return 1;
	}
	return 0;
}

/* The NFA. */

static uint32_t
emit(struct glob *g, enum op op, unsigned char c, uint32_t x, uint32_t y)
{
	if (g->nprog >= GLOB_MAXPROG)
		return UINT32_MAX;
	g->prog = xreallocarray(g->prog, g->nprog + 1, sizeof(*g->prog));
	g->prog[g->nprog].op = op;
	g->prog[g->nprog].c = c;
	g->prog[g->nprog].x = x;
	g->prog[g->nprog].y = y;
	return (uint32_t)g->nprog++;
}

/* A loop over one byte class: L: SPLIT body, out; body: X; JMP L. */
static int
emit_loop(struct glob *g, enum op op)
{
	uint32_t	 l;

	if ((l = emit(g, OP_SPLIT, 0, 0, 0)) == UINT32_MAX ||
	    emit(g, op, 0, 0, 0) == UINT32_MAX ||
	    emit(g, OP_JMP, 0, l, 0) == UINT32_MAX)
		return -1;
	g->prog[l].x = l + 1;
	g->prog[l].y = (uint32_t)g->nprog;
	return 0;
}

/* (?:.*\/)? */
static int
emit_optdirs(struct glob *g)
{
	uint32_t	 s;

	if ((s = emit(g, OP_SPLIT, 0, 0, 0)) == UINT32_MAX ||
	    emit_loop(g, OP_ANYBYTE) == -1 ||
	    emit(g, OP_BYTE, '/', 0, 0) == UINT32_MAX)
		return -1;
	g->prog[s].x = s + 1;
	g->prog[s].y = (uint32_t)g->nprog;
	return 0;
}

static int	compile_seq(struct glob *, const struct tseq *);

static int
compile_alt(struct glob *g, const struct tok *t)
{
	uint32_t	*jumps, s;
	size_t		 i, nj = 0;
	int		 rc = -1;

	if (t->nalts == 0)
		return 0;
	jumps = xreallocarray(NULL, t->nalts, sizeof(*jumps));
	for (i = 0; i < t->nalts; i++) {
		s = UINT32_MAX;
		if (i + 1 < t->nalts &&
		    (s = emit(g, OP_SPLIT, 0, 0, 0)) == UINT32_MAX)
			goto out;
		if (s != UINT32_MAX)
			g->prog[s].x = s + 1;
		if (compile_seq(g, &t->alts[i]) == -1 ||
		    (jumps[nj++] = emit(g, OP_JMP, 0, 0, 0)) == UINT32_MAX)
			goto out;
		if (s != UINT32_MAX)
			g->prog[s].y = (uint32_t)g->nprog;
	}
	for (i = 0; i < nj; i++)
		g->prog[jumps[i]].x = (uint32_t)g->nprog;
	rc = 0;
out:
	free(jumps);
	return rc;
}

static int
compile_seq(struct glob *g, const struct tseq *q)
{
	const struct tok *t;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < q->n && rc == 0; i++) {
		t = &q->v[i];
		switch (t->type) {
		case T_LIT:
			rc = emit(g, OP_BYTE, t->c, 0, 0) == UINT32_MAX ?
			    -1 : 0;
			break;
		case T_ANY:
			rc = emit(g, OP_NOTSEP, 0, 0, 0) == UINT32_MAX ? -1 : 0;
			break;
		case T_STAR:
			rc = emit_loop(g, OP_NOTSEP);
			break;
		case T_RPREFIX:
			rc = emit_optdirs(g);
			break;
		case T_RSUFFIX:
			if (emit(g, OP_BYTE, '/', 0, 0) == UINT32_MAX)
				return -1;
			rc = emit_loop(g, OP_ANYBYTE);
			break;
		case T_RZOM:
			if (emit(g, OP_BYTE, '/', 0, 0) == UINT32_MAX)
				return -1;
			rc = emit_optdirs(g);
			break;
		case T_CLASS:
			rc = emit(g, OP_CLASS, 0, (uint32_t)t->cls, 0) ==
			    UINT32_MAX ? -1 : 0;
			break;
		case T_ALT:
			rc = compile_alt(g, t);
			break;
		}
	}
	return rc;
}

struct glob *
glob_compile(const char *pat, size_t len, const char **why)
{
	struct parse	 p;
	struct glob	*g;
	size_t		 i;

	if (len > GLOB_MAXLEN) {
		*why = "pattern too long";
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.s = (const unsigned char *)pat;
	p.len = len;
	p.cur = p.prev = -1;
	g = xcalloc(1, sizeof(*g));
	if (parse(&p) == -1) {
		*why = p.why;
		goto fail;
	}
	if (!find_shape(g, &p.stk[0])) {
		g->shape = S_NFA;
		if (compile_seq(g, &p.stk[0]) == -1 ||
		    emit(g, OP_MATCH, 0, 0, 0) == UINT32_MAX) {
			*why = "pattern too complex";
			goto fail;
		}
		g->cls = p.cls;
		g->ncls = p.ncls;
		p.cls = NULL;
		g->cur = xreallocarray(NULL, g->nprog, sizeof(uint32_t));
		g->next = xreallocarray(NULL, g->nprog, sizeof(uint32_t));
		g->stack = xreallocarray(NULL, g->nprog, sizeof(uint32_t));
		g->mark = xcalloc(g->nprog, sizeof(uint32_t));
	}
	for (i = 0; i < p.nstk; i++)
		tseq_clear(&p.stk[i]);
	free(p.stk);
	free(p.cls);
	return g;
fail:
	for (i = 0; i < p.nstk; i++)
		tseq_clear(&p.stk[i]);
	free(p.stk);
	free(p.cls);
	glob_free(g);
	return NULL;
}

void
glob_free(struct glob *g)
{
	if (g == NULL)
		return;
	free(g->lit);
	free(g->prog);
	free(g->cls);
	free(g->cur);
	free(g->next);
	free(g->stack);
	free(g->mark);
	free(g);
}

/* Adds pc and what it reaches without input to list l (n entries). */
static void
add_state(struct glob *g, uint32_t *l, size_t *n, uint32_t pc)
{
	size_t	 sp = 0;

	g->stack[sp++] = pc;
	while (sp > 0) {
		pc = g->stack[--sp];
		if (g->mark[pc] == g->gen)
			continue;
		g->mark[pc] = g->gen;
		switch (g->prog[pc].op) {
		case OP_JMP:
			g->stack[sp++] = g->prog[pc].x;
			break;
		case OP_SPLIT:
			g->stack[sp++] = g->prog[pc].y;
			g->stack[sp++] = g->prog[pc].x;
			break;
		default:
			l[(*n)++] = pc;
			break;
		}
	}
}

static void
next_gen(struct glob *g)
{
	if (++g->gen == 0) {
		memset(g->mark, 0, g->nprog * sizeof(*g->mark));
		g->gen = 1;
	}
}

static int
nfa_match(const struct glob *cg, const unsigned char *s, size_t len)
{
	struct glob	*g = (struct glob *)cg;
	const struct inst *in;
	uint32_t	*cur = g->cur, *nxt = g->next, *tmp;
	size_t		 ncur = 0, nnxt, i, k;
	int		 ok;

	next_gen(g);
	add_state(g, cur, &ncur, 0);
	for (i = 0; i < len && ncur > 0; i++) {
		next_gen(g);
		nnxt = 0;
		for (k = 0; k < ncur; k++) {
			in = &g->prog[cur[k]];
			switch (in->op) {
			case OP_BYTE:
				ok = s[i] == in->c;
				break;
			case OP_NOTSEP:
				ok = s[i] != '/';
				break;
			case OP_ANYBYTE:
				ok = 1;
				break;
			case OP_CLASS:
				ok = (g->cls[in->x][s[i] >> 3] >>
				    (s[i] & 7)) & 1;
				break;
			default:
				ok = 0;
				break;
			}
			if (ok)
				add_state(g, nxt, &nnxt, cur[k] + 1);
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
		ncur = nnxt;
	}
	if (i < len)
		return 0;
	for (k = 0; k < ncur; k++)
		if (g->prog[cur[k]].op == OP_MATCH)
			return 1;
	return 0;
}

static int
ends_with(const char *s, size_t len, const char *lit, size_t n)
{
	return len >= n && (n == 0 || s[len - 1] == lit[n - 1]) &&
	    memcmp(s + len - n, lit, n) == 0;
}

static int
inside(const char *s, size_t len, const char *lit, size_t n)
{
	const char	*p = s, *end = s + len;

	if (len > n && s[n] == '/' && memcmp(s, lit, n) == 0)
		return 1;
	while ((p = memchr(p, '/', end - p)) != NULL) {
		p++;
		if ((size_t)(end - p) > n && p[n] == '/' &&
		    memcmp(p, lit, n) == 0)
			return 1;
	}
	return 0;
}

int
glob_match(const struct glob *g, const char *s, size_t len)
{
	size_t	 n = g->litlen;

	switch (g->shape) {
	case S_ALL:
		return 1;
	case S_EXACT:
		return len == n && memcmp(s, g->lit, n) == 0;
	case S_TAIL:
		return ends_with(s, len, g->lit, n) &&
		    (len == n || s[len - n - 1] == '/');
	case S_SUFFIX:
		return ends_with(s, len, g->lit, n);
	case S_UNDER:
		return len > n && s[n] == '/' && memcmp(s, g->lit, n) == 0;
	case S_INSIDE:
		return inside(s, len, g->lit, n);
	case S_NFA:
		break;
	}
	return nfa_match(g, (const unsigned char *)s, len);
}

/* Rules: one line of gitignore syntax, read as ripgrep's ignore crate does. */

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static int
rule_parse(struct glob_rule *r, const char *line, size_t len,
    const char **why)
{
	const char *uwhy;
	char	*pat;
	size_t	 plen;
	int	 anchored = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (len > 0 && line[0] == '#')
		return 0;
	if (!(len >= 2 && line[len - 2] == '\\' && line[len - 1] == ' '))
		while (len > 0 && is_space((unsigned char)line[len - 1]))
			len--;
	if (len == 0)
		return 0;
	if (len >= 2 && line[0] == '\\' && (line[1] == '!' || line[1] == '#')) {
		line++;
		len--;
		anchored = line[0] == '/';
	} else {
		if (line[0] == '!') {
			r->flags |= GLOB_NEGATED;
			line++;
			len--;
		}
		if (len > 0 && line[0] == '/') {
			line++;
			len--;
			anchored = 1;
		}
	}
	if (len > 0 && line[len - 1] == '/') {
		r->flags |= GLOB_DIRONLY;
		len--;
	}
	/* Room for a double star and slash before, a slash-star after. */
	pat = xmalloc(len + 6);
	plen = 0;
	if (!anchored && memchr(line, '/', len) == NULL &&
	    !(len >= 3 && memcmp(line, "**/", 3) == 0) &&
	    !(len == 2 && memcmp(line, "**", 2) == 0)) {
		memcpy(pat, "**/", 3);
		plen = 3;
	}
	memcpy(pat + plen, line, len);
	plen += len;
	if (plen >= 3 && memcmp(pat + plen - 3, "/**", 3) == 0) {
		/*
		 * Beneath the directory, not the directory itself. The
		 * directory glob only serves pruning: without it (odd
		 * escapes) nothing is pruned early.
		 */
		r->under = glob_compile(pat, plen - 3, &uwhy);
		memcpy(pat + plen, "/*", 2);
		plen += 2;
	}
	if ((r->glob = glob_compile(pat, plen, why)) == NULL)
		goto out;
	rc = 1;
out:
	if (rc == -1) {
		glob_free(r->under);
		r->under = NULL;
	}
	free(pat);
	return rc;
}

static void
rule_clear(struct glob_rule *r)
{
	glob_free(r->glob);
	glob_free(r->under);
	memset(r, 0, sizeof(*r));
}

int
glob_list_add(struct glob_list *l, const char *line, size_t len,
    const char **why)
{
	struct glob_rule	 r;
	int			 rc;

	if ((rc = rule_parse(&r, line, len, why)) != 1)
		return rc;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = r;
	return 1;
}

enum glob_verdict
glob_list_match(const struct glob_list *l, const char *path, size_t len,
    int is_dir)
{
	const struct glob_rule	*r;
	size_t			 i;

	for (i = l->n; i > 0; i--) {
		r = &l->v[i - 1];
		if ((r->flags & GLOB_DIRONLY) && !is_dir)
			continue;
		if (glob_match(r->glob, path, len))
			return (r->flags & GLOB_NEGATED) ? GLOB_WHITELIST :
			    GLOB_IGNORE;
	}
	return GLOB_NONE;
}

void
glob_list_clear(struct glob_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		rule_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Overrides. */

struct globset {
	/* The rules matched per path, in order. */
	struct glob_list	 rules;
	size_t			 ninclude;
	/*
	 * Excludes covering whole directories that no later include can
	 * undo: used to prune, never needed per path (a path they match
	 * lies beneath a directory they prune).
	 */
	struct glob_list	 prune;
};

static int
add_override(struct globset *gs, const char *s, int exclude, char *err,
    size_t errlen)
{
	struct glob_rule	 r;
	const char		*why = NULL;
	char			*line;
	int			 rc;

	xasprintf(&line, "%s%s", exclude ? "!" : "", s);
	rc = rule_parse(&r, line, strlen(line), &why);
	free(line);
	if (rc == -1) {
		seterr(err, errlen, "Invalid glob pattern '%s': %s", s, why);
		return -1;
	}
	if (rc == 0)
		return 0;
	if (!(r.flags & GLOB_NEGATED))
		gs->ninclude++;
	/* The empty path is the root, never checked for pruning. */
	if (exclude && r.under != NULL && !(r.flags & GLOB_DIRONLY) &&
	    !glob_match(r.under, "", 0)) {
		if (gs->prune.n == gs->prune.cap) {
			gs->prune.cap = gs->prune.cap ? gs->prune.cap * 2 : 8;
			gs->prune.v = xreallocarray(gs->prune.v,
			    gs->prune.cap, sizeof(*gs->prune.v));
		}
		gs->prune.v[gs->prune.n++] = r;
		return 0;
	}
	if (gs->rules.n == gs->rules.cap) {
		gs->rules.cap = gs->rules.cap ? gs->rules.cap * 2 : 8;
		gs->rules.v = xreallocarray(gs->rules.v, gs->rules.cap,
		    sizeof(*gs->rules.v));
	}
	gs->rules.v[gs->rules.n++] = r;
	return 0;
}

struct globset *
globset_new(const char *const *inc, size_t ninc, const char *const *exc,
    size_t nexc, char *err, size_t errlen)
{
	struct globset	*gs = xcalloc(1, sizeof(*gs));
	size_t		 i;

	/* Excludes all come after the includes, so none is undone later. */
	for (i = 0; i < ninc; i++)
		if (add_override(gs, inc[i], 0, err, errlen) == -1)
			goto fail;
	for (i = 0; i < nexc; i++)
		if (add_override(gs, exc[i], 1, err, errlen) == -1)
			goto fail;
	return gs;
fail:
	globset_free(gs);
	return NULL;
}

enum glob_verdict
globset_match(const struct globset *gs, const char *path, size_t len,
    int is_dir)
{
	switch (glob_list_match(&gs->rules, path, len, is_dir)) {
	case GLOB_IGNORE:
		/* A plain -g glob includes. */
		return GLOB_WHITELIST;
	case GLOB_WHITELIST:
		return GLOB_IGNORE;
	case GLOB_NONE:
		break;
	}
	return gs->ninclude > 0 && !is_dir ? GLOB_IGNORE : GLOB_NONE;
}

int
globset_prune(const struct globset *gs, const char *path, size_t len)
{
	size_t	 i;

	for (i = 0; i < gs->prune.n; i++)
		if (glob_match(gs->prune.v[i].under, path, len))
			return 1;
	return 0;
}

void
globset_free(struct globset *gs)
{
	if (gs == NULL)
		return;
	glob_list_clear(&gs->rules);
	glob_list_clear(&gs->prune);
	free(gs);
}
