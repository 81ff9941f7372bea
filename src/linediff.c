#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linediff.h"
#include "xmalloc.h"

/*
 * Myers' O(ND) difference algorithm in its linear-space form: each box
 * of the edit graph is split at its middle snake, found by searching
 * from both corners at once. The boxes wait on an explicit stack, not
 * the C stack, because the split after a give-up can be lopsided and
 * recursion would then be as deep as the file is long.
 *
 * Lines are first interned into class numbers so the inner loops
 * compare integers, and lines that do not occur at all on the other
 * side are set aside as changed before the search: they can never be
 * part of a common subsequence, so dropping them keeps the result
 * minimal while two files that differ everywhere cost nothing.
 *
 * Two limits keep time bounded. A box whose search passes max_cost/2
 * rounds per direction is split at the furthest point reached so far
 * (still a valid split, just not necessarily optimal). And a work
 * counter over the whole diff, sized from max_cost, turns every box
 * left once it runs out into plain delete-all/insert-all.
 */

#define LD_NONE		UINT32_MAX
/*
 * Work budget per line per unit of max_cost. Exact runs (distance within
 * max_cost) were measured below 1; the budget only stops the give-up
 * splits of a hopeless diff from adding up.
 */
#define LD_WORK_FACTOR	16

struct ld_box {
	uint32_t	x0, x1, y0, y1;
};

struct ld_ctx {
	const uint32_t	*a, *b;		/* class numbers, reduced sequences */
	char		*chga, *chgb;	/* 1 = deleted / inserted */
	uint32_t	*fd, *bd;	/* furthest x per diagonal x - y */
	uint64_t	 cap;		/* search rounds per box */
	uint64_t	 work, budget;
	struct ld_box	*stack;
	size_t		 nstack, stackcap;
};

struct ld_class {
	uint64_t	 hash;
	const char	*text;
	size_t		 len;
	uint32_t	 na, nb;	/* occurrences on each side */
};

struct ld_line *
ld_split(const char *text, size_t len, size_t *nlines)
{
	struct ld_line	*lines;
	const char	*p, *end, *nl;
	size_t		 n = 0, i = 0;

	*nlines = 0;
	if (text == NULL || len == 0)
		return xcalloc(1, sizeof(*lines));
	end = text + len;
	for (p = text; p < end; p = nl + 1) {
		n++;
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			break;
	}
	lines = xreallocarray(NULL, n, sizeof(*lines));
	for (p = text; p < end; p = nl + 1) {
		lines[i].text = p;
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			lines[i++].len = end - p;
			break;
		}
		lines[i].len = nl - p;
		if (nl > p && nl[-1] == '\r')
			lines[i].len--;
		i++;
	}
	*nlines = n;
	return lines;
}

static uint64_t
line_hash(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint64_t		 h = 0x243f6a8885a308d3ULL ^ len, w;

	/* A word at a time; lines are compared byte for byte on a match anyway. */
	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	/* The table uses the low bits: fold the high ones down, twice. */
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

/*
 * Give every distinct line a class number; cla/clb receive them.
 * Returns the class table (for the occurrence counts).
 */
static struct ld_class *
intern(const struct ld_line *a, size_t na, const struct ld_line *b,
    size_t nb, uint32_t *cla, uint32_t *clb)
{
	struct ld_class		*cls;
	const struct ld_line	*l;
	uint32_t		*slots, id;
	uint64_t		 h;
	size_t			 size = 16, mask, i, s, ncls = 0, ccap = 64;
	int			 side;

	while (size < 2 * (na + nb))
		size *= 2;
	mask = size - 1;
	slots = xcalloc(size, sizeof(*slots));
	cls = xreallocarray(NULL, ccap, sizeof(*cls));
	for (side = 0; side < 2; side++) {
		for (i = 0; i < (side ? nb : na); i++) {
			l = side ? &b[i] : &a[i];
			h = line_hash(l->text, l->len);
			for (s = h & mask; (id = slots[s]) != 0;
			    s = (s + 1) & mask) {
				if (cls[id - 1].hash == h &&
				    cls[id - 1].len == l->len &&
				    (l->len == 0 || memcmp(cls[id - 1].text,
				    l->text, l->len) == 0))
					break;
			}
			if (id == 0) {
				if (ncls == ccap) {
					ccap *= 2;
					cls = xreallocarray(cls, ccap,
					    sizeof(*cls));
				}
				cls[ncls].hash = h;
				cls[ncls].text = l->text;
				cls[ncls].len = l->len;
				cls[ncls].na = cls[ncls].nb = 0;
				id = slots[s] = ++ncls;
			}
			if (side) {
				cls[id - 1].nb++;
				clb[i] = id - 1;
			} else {
				cls[id - 1].na++;
				cla[i] = id - 1;
			}
		}
	}
	free(slots);
	return cls;
}

static uint64_t
sat_mul(uint64_t x, uint64_t y)
{
	if (x != 0 && y > UINT64_MAX / x)
		return UINT64_MAX;
	return x * y;
}

static int64_t
vget(uint32_t v)
{
	return v == LD_NONE ? -1 : (int64_t)v;
}

static void
push_box(struct ld_ctx *c, int64_t x0, int64_t x1, int64_t y0, int64_t y1)
{
	if (c->nstack == c->stackcap) {
		c->stackcap = c->stackcap ? c->stackcap * 2 : 64;
		c->stack = xreallocarray(c->stack, c->stackcap,
		    sizeof(*c->stack));
	}
	c->stack[c->nstack].x0 = x0;
	c->stack[c->nstack].x1 = x1;
	c->stack[c->nstack].y0 = y0;
	c->stack[c->nstack].y1 = y1;
	c->nstack++;
}

/*
 * Out of rounds or budget: split at whichever search got further from
 * its own corner. Returns 0 when nothing usable was reached.
 */
static int
give_up(struct ld_ctx *c, const struct ld_box *bx, int64_t fmin, int64_t fmax,
    int64_t bmin, int64_t bmax, int64_t *sx, int64_t *sy)
{
	int64_t	d, x, s, bestf = -1, bestb = INT64_MAX;
	int64_t	fx = 0, fy = 0, rx = 0, ry = 0;

	for (d = fmax; d >= fmin; d -= 2) {
		if ((x = vget(c->fd[d])) < 0)
			continue;
		if ((s = 2 * x - d) > bestf) {
			bestf = s;
			fx = x;
			fy = x - d;
		}
	}
	for (d = bmax; d >= bmin; d -= 2) {
		if ((x = vget(c->bd[d])) < 0)
			continue;
		if ((s = 2 * x - d) < bestb) {
			bestb = s;
			rx = x;
			ry = x - d;
		}
	}
	if (bestf < 0 && bestb == INT64_MAX)
		return 0;
	if (bestb == INT64_MAX || (bestf >= 0 && bestf - (bx->x0 + bx->y0) >=
	    (int64_t)(bx->x1 + bx->y1) - bestb)) {
		*sx = fx;
		*sy = fy;
	} else {
		*sx = rx;
		*sy = ry;
	}
	return 1;
}

/*
 * Find where to split a box whose first and last lines differ on both
 * sides. Stored vector values are always real points of the box, each
 * reached by legal moves only, so any split returned is valid.
 */
static int
bisect(struct ld_ctx *c, const struct ld_box *bx, int64_t *sx, int64_t *sy)
{
	const uint32_t	*a = c->a, *b = c->b;
	uint32_t	*fd = c->fd, *bd = c->bd;
	int64_t		 xoff = bx->x0, xlim = bx->x1;
	int64_t		 yoff = bx->y0, ylim = bx->y1;
	int64_t		 dmin = xoff - ylim, dmax = xlim - yoff;
	int64_t		 fmid = xoff - yoff, bmid = xlim - ylim;
	int64_t		 fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	int64_t		 d, x, y, lo, hi, old;
	int		 odd = ((fmid - bmid) & 1) != 0;
	uint64_t	 ec;

	fd[fmid] = xoff;
	fd[fmid - 1] = fd[fmid + 1] = LD_NONE;
	bd[bmid] = xlim;
	bd[bmid - 1] = bd[bmid + 1] = LD_NONE;
	for (ec = 1;; ec++) {
		if (fmin > dmin)
			fd[--fmin - 1] = LD_NONE;
		else
			fmin++;
		if (fmax < dmax)
			fd[++fmax + 1] = LD_NONE;
		else
			fmax--;
		for (d = fmax; d >= fmin; d -= 2) {
			c->work++;
			lo = vget(fd[d - 1]);
			hi = vget(fd[d + 1]);
			old = vget(fd[d]);
			x = -1;
			if (lo >= 0 && lo < xlim)		/* right */
				x = lo + 1;
			if (hi >= 0 && hi - d - 1 < ylim && hi > x)	/* down */
				x = hi;
			if (old > x)
				x = old;
			if (x < 0) {
				fd[d] = LD_NONE;
				continue;
			}
			y = x - d;
			old = x;
			while (x < xlim && y < ylim && a[x] == b[y]) {
				x++;
				y++;
			}
			c->work += x - old;
			fd[d] = x;
			if (odd && d >= bmin && d <= bmax &&
			    bd[d] != LD_NONE && bd[d] <= x) {
				*sx = x;
				*sy = y;
				return 1;
			}
		}

		if (bmin > dmin)
			bd[--bmin - 1] = LD_NONE;
		else
			bmin++;
		if (bmax < dmax)
			bd[++bmax + 1] = LD_NONE;
		else
			bmax--;
		for (d = bmax; d >= bmin; d -= 2) {
			c->work++;
			lo = vget(bd[d - 1]);
			hi = vget(bd[d + 1]);
			old = vget(bd[d]);
			x = INT64_MAX;
			if (hi >= 0 && hi > xoff)		/* left */
				x = hi - 1;
			if (lo >= 0 && lo - d + 1 > yoff && lo < x)	/* up */
				x = lo;
			if (old >= 0 && old < x)
				x = old;
			if (x == INT64_MAX) {
				bd[d] = LD_NONE;
				continue;
			}
			y = x - d;
			old = x;
			while (x > xoff && y > yoff && a[x - 1] == b[y - 1]) {
				x--;
				y--;
			}
			c->work += old - x;
			bd[d] = x;
			if (!odd && d >= fmin && d <= fmax &&
			    fd[d] != LD_NONE && x <= fd[d]) {
				*sx = x;
				*sy = y;
				return 1;
			}
		}

		if (ec >= c->cap || c->work >= c->budget)
			return give_up(c, bx, fmin, fmax, bmin, bmax, sx, sy);
	}
}

static void
mark(char *chg, uint32_t from, uint32_t to)
{
	if (to > from)
		memset(chg + from, 1, to - from);
}

static void
run_boxes(struct ld_ctx *c, uint32_t na, uint32_t nb)
{
	struct ld_box	bx;
	int64_t		sx, sy;

	push_box(c, 0, na, 0, nb);
	while (c->nstack > 0) {
		bx = c->stack[--c->nstack];
		while (bx.x0 < bx.x1 && bx.y0 < bx.y1 &&
		    c->a[bx.x0] == c->b[bx.y0]) {
			bx.x0++;
			bx.y0++;
		}
		while (bx.x0 < bx.x1 && bx.y0 < bx.y1 &&
		    c->a[bx.x1 - 1] == c->b[bx.y1 - 1]) {
			bx.x1--;
			bx.y1--;
		}
		if (bx.x0 == bx.x1 || bx.y0 == bx.y1 ||
		    c->work >= c->budget ||
		    !bisect(c, &bx, &sx, &sy) ||
		    (sx == bx.x0 && sy == bx.y0) ||
		    (sx == bx.x1 && sy == bx.y1)) {
			/* Nothing in common left, or no way to split it. */
			mark(c->chga, bx.x0, bx.x1);
			mark(c->chgb, bx.y0, bx.y1);
			continue;
		}
		push_box(c, sx, bx.x1, sy, bx.y1);
		push_box(c, bx.x0, sx, bx.y0, sy);
	}
}

/*
 * Where a run of only deletions (or only insertions) sits among equal
 * lines is often a tie: "+}\n+\n+g() {" after a "}" line reads the same
 * to the algorithm as "+\n+g() {\n+}". The run may slide while the line
 * it uncovers equals the one it covers; counts never change. Like the
 * old git/diff compaction heuristic, put the run at the lowest place
 * where it ends with a blank line, else as low as it goes.
 */
struct ld_slide {
	struct ld_edit		*e;
	size_t			 n;
	const uint32_t		*cla, *clb;
	const struct ld_line	*a, *b;
	enum ld_op		 op;
};

/* The class of the line that edit k carries on the run's side. */
static uint32_t
run_class(const struct ld_slide *sl, size_t k)
{
	return sl->op == LD_DELETE ? sl->cla[sl->e[k].old_idx] :
	    sl->clb[sl->e[k].new_idx];
}

static int
run_ends_blank(const struct ld_slide *sl, size_t last)
{
	const struct ld_line	*l;
	size_t			 i;

	l = sl->op == LD_DELETE ? &sl->a[sl->e[last].old_idx] :
	    &sl->b[sl->e[last].new_idx];
	for (i = 0; i < l->len; i++) {
		switch (l->text[i]) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
		case '\f':
		case '\v':
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* Runs never slide into contact with another change. */
static int
can_up(const struct ld_slide *sl, size_t s, size_t k)
{
	return s > 0 && sl->e[s - 1].op == LD_EQUAL &&
	    (s == 1 || sl->e[s - 2].op == LD_EQUAL) &&
	    run_class(sl, s - 1) == run_class(sl, k - 1);
}

static int
can_down(const struct ld_slide *sl, size_t s, size_t k)
{
	return k < sl->n && sl->e[k].op == LD_EQUAL &&
	    (k + 1 == sl->n || sl->e[k + 1].op == LD_EQUAL) &&
	    run_class(sl, s) == run_class(sl, k);
}

/* Swap the roles of the run's edge and the equal line beyond it. */
static void
swap_edge(const struct ld_slide *sl, size_t run, size_t eq)
{
	struct ld_edit	*e = sl->e;

	if (sl->op == LD_DELETE)
		e[run].new_idx = e[eq].new_idx;
	else
		e[run].old_idx = e[eq].old_idx;
	e[run].op = LD_EQUAL;
	e[eq].op = sl->op;
}

static void
slide_runs(struct ld_slide *sl)
{
	size_t	s, k = 0, steps, best;
	int	found;

	while (k < sl->n) {
		if (sl->e[k].op == LD_EQUAL) {
			k++;
			continue;
		}
		s = k;
		sl->op = sl->e[k].op;
		while (k < sl->n && sl->e[k].op == sl->op)
			k++;
		if (k < sl->n && sl->e[k].op != LD_EQUAL) {
			/* A replacement: leave it where it is. */
			while (k < sl->n && sl->e[k].op != LD_EQUAL)
				k++;
			continue;
		}
		while (can_up(sl, s, k)) {
			swap_edge(sl, k - 1, s - 1);
			s--;
			k--;
		}
		found = 0;
		best = steps = 0;
		for (;;) {
			if (run_ends_blank(sl, k - 1)) {
				found = 1;
				best = steps;
			}
			if (!can_down(sl, s, k))
				break;
			swap_edge(sl, s, k);
			s++;
			k++;
			steps++;
		}
		for (; found && steps > best; steps--) {
			swap_edge(sl, k - 1, s - 1);
			s--;
			k--;
		}
	}
}

/* Edits from the change flags: deletions before insertions in a block. */
static struct ld_edit *
build_script(const char *chga, size_t na, const char *chgb, size_t nb,
    size_t *nedits)
{
	struct ld_edit	*e;
	size_t		 i = 0, j = 0, n = 0;

	e = xreallocarray(NULL, na + nb + 1, sizeof(*e));
	while (i < na || j < nb) {
		e[n].old_idx = i;
		e[n].new_idx = j;
		if (i < na && j < nb && !chga[i] && !chgb[j]) {
			e[n].op = LD_EQUAL;
			i++;
			j++;
		} else if (i < na && (chga[i] || j == nb)) {
			/* (j == nb with a line left unchanged cannot happen.) */
			e[n].op = LD_DELETE;
			i++;
		} else {
			e[n].op = LD_INSERT;
			j++;
		}
		n++;
	}
	*nedits = n;
	return e;
}

static void
renumber(struct ld_edit *e, size_t n)
{
	size_t	k, i = 0, j = 0;

	for (k = 0; k < n; k++) {
		e[k].old_idx = i;
		e[k].new_idx = j;
		if (e[k].op != LD_INSERT)
			i++;
		if (e[k].op != LD_DELETE)
			j++;
	}
}

/*
 * Keep only lines that occur on the other side too. red gets their
 * classes, idx their original positions; the others are marked changed.
 */
static uint32_t
reduce(const uint32_t *cl, size_t n, const struct ld_class *cls, int other_b,
    uint32_t *red, uint32_t *idx, char *chg)
{
	uint32_t	m = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		if ((other_b ? cls[cl[i]].nb : cls[cl[i]].na) == 0) {
			chg[i] = 1;
			continue;
		}
		red[m] = cl[i];
		idx[m++] = i;
	}
	return m;
}

/*
 * Mark the changed lines of each side, given their classes: set aside
 * the lines without a partner, then search the rest box by box.
 */
static void
find_changes(const uint32_t *cla, size_t na, const uint32_t *clb, size_t nb,
    const struct ld_class *cls, size_t max_cost, char *chga, char *chgb)
{
	struct ld_ctx	 c;
	uint32_t	*ra, *rb, *ia, *ib, *fdv, *bdv, ma, mb, r;
	uint64_t	 cost;

	ra = xreallocarray(NULL, na + 1, sizeof(*ra));
	ia = xreallocarray(NULL, na + 1, sizeof(*ia));
	rb = xreallocarray(NULL, nb + 1, sizeof(*rb));
	ib = xreallocarray(NULL, nb + 1, sizeof(*ib));
	ma = reduce(cla, na, cls, 1, ra, ia, chga);
	mb = reduce(clb, nb, cls, 0, rb, ib, chgb);

	memset(&c, 0, sizeof(c));
	c.a = ra;
	c.b = rb;
	c.chga = xcalloc(ma + 1, 1);
	c.chgb = xcalloc(mb + 1, 1);
	fdv = xreallocarray(NULL, (size_t)ma + mb + 3, sizeof(*fdv));
	bdv = xreallocarray(NULL, (size_t)ma + mb + 3, sizeof(*bdv));
	c.fd = fdv + mb + 1;
	c.bd = bdv + mb + 1;
	/* Rounds per direction needed to find any script of max_cost. */
	c.cap = max_cost / 2 + (max_cost & 1);
	if (c.cap == 0)
		c.cap = 1;
	cost = (uint64_t)max_cost + 1;
	if (cost == 0)
		cost = UINT64_MAX;
	c.budget = sat_mul(LD_WORK_FACTOR, sat_mul((uint64_t)ma + mb + 1,
	    cost));
	run_boxes(&c, ma, mb);
	for (r = 0; r < ma; r++)
		chga[ia[r]] = c.chga[r];
	for (r = 0; r < mb; r++)
		chgb[ib[r]] = c.chgb[r];
	free(c.stack);
	free(c.chga);
	free(c.chgb);
	free(fdv);
	free(bdv);
	free(ra);
	free(rb);
	free(ia);
	free(ib);
}

struct ld_edit *
ld_diff(const struct ld_line *a, size_t na, const struct ld_line *b,
    size_t nb, size_t max_cost, size_t *nedits)
{
	struct ld_slide	 sl;
	struct ld_class	*cls;
	struct ld_edit	*e;
	uint32_t	*cla, *clb;
	char		*chga, *chgb;

	chga = xcalloc(na + 1, 1);
	chgb = xcalloc(nb + 1, 1);
	if (na >= LD_NONE / 4 || nb >= LD_NONE / 4) {
		/* Beyond what the 32-bit vectors index: replace it all. */
		mark(chga, 0, na);
		mark(chgb, 0, nb);
		e = build_script(chga, na, chgb, nb, nedits);
		free(chga);
		free(chgb);
		return e;
	}
	cla = xreallocarray(NULL, na + 1, sizeof(*cla));
	clb = xreallocarray(NULL, nb + 1, sizeof(*clb));
	cls = intern(a, na, b, nb, cla, clb);
	find_changes(cla, na, clb, nb, cls, max_cost, chga, chgb);
	free(cls);

	e = build_script(chga, na, chgb, nb, nedits);
	sl.e = e;
	sl.n = *nedits;
	sl.cla = cla;
	sl.clb = clb;
	sl.a = a;
	sl.b = b;
	slide_runs(&sl);
	renumber(e, *nedits);
	free(chga);
	free(chgb);
	free(cla);
	free(clb);
	return e;
}

static size_t
min_sz(size_t x, size_t y)
{
	return x < y ? x : y;
}

struct ld_hunk *
ld_hunks(const struct ld_edit *e, size_t n, size_t context, size_t *nhunks)
{
	struct ld_hunk	*h = NULL, *cur;
	size_t		 nh = 0, cap = 0, k = 0, pos = 0, oi = 0, nj = 0;
	size_t		 end, g, first, last;

	for (;;) {
		while (k < n && e[k].op == LD_EQUAL)
			k++;
		if (k == n)
			break;
		/* Leading context cannot reach back into the previous hunk. */
		first = k - min_sz(context, k - pos);
		end = k;
		for (;;) {
			while (end < n && e[end].op != LD_EQUAL)
				end++;
			for (g = 0; end + g < n && e[end + g].op == LD_EQUAL; g++)
				;
			/* Join the next change when the contexts would touch. */
			if (end + g < n && (g <= context || g - context <= context))
				end += g;
			else
				break;
		}
		last = end + min_sz(context, g);
		for (; pos < first; pos++) {
			oi += e[pos].op != LD_INSERT;
			nj += e[pos].op != LD_DELETE;
		}
		if (nh == cap) {
			cap = cap ? cap * 2 : 8;
			h = xreallocarray(h, cap, sizeof(*h));
		}
		cur = &h[nh++];
		cur->first = first;
		cur->last = last;
		cur->old_len = cur->new_len = 0;
		for (; pos < last; pos++) {
			cur->old_len += e[pos].op != LD_INSERT;
			cur->new_len += e[pos].op != LD_DELETE;
		}
		/* diff(1): an empty range names the line before it. */
		cur->old_start = cur->old_len ? oi + 1 : oi;
		cur->new_start = cur->new_len ? nj + 1 : nj;
		oi += cur->old_len;
		nj += cur->new_len;
		k = last;
	}
	*nhunks = nh;
	return h != NULL ? h : xcalloc(1, sizeof(*h));
}
