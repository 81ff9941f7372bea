/*
 * repo status: status passes over the work tree, their incremental
 * refresh for a few changed paths, and the cache of working-file digests
 * kept from one pass to the next.
 *
 * Status never writes the index (libgit2's GIT_STATUS_OPT_UPDATE_INDEX
 * reads the index before taking the lock, so a `git add` typed meanwhile
 * in a terminal could be overwritten by a stale copy; git itself locks
 * first).
 *
 * A full status of a large repository runs in parallel parts, each on a
 * repository object of its own (libgit2 objects are not shared between
 * threads); see ri_collect_parallel() in statuspar.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/repository.h>
#include <openssl/evp.h>

#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

#define HASH_CHUNK	(64 * 1024)

/* ---- content hashes ------------------------------------------------- */

static void
key_of(const struct stat *sb, struct fkey *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = sb->st_dev;
	k->ino = sb->st_ino;
	k->size = sb->st_size;
	k->mtim = sb->st_mtim;
	k->ctim = sb->st_ctim;
}

static int
key_equal(const struct fkey *a, const struct fkey *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static int
hent_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct hent *)e)->path);
}

static int
digest_fd(int fd, char hex[HEX_SHA256])
{
	static const char	 digits[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			*buf;
	ssize_t			 n;
	int			 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	buf = xmalloc(HASH_CHUNK);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (ok) {
		n = read(fd, buf, HASH_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		ok = EVP_DigestUpdate(ctx, buf, n) == 1;
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	free(buf);
	if (!ok)
		return -1;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * mdlen] = '\0';
	return 0;
}

/*
 * SHA-256 of the working file at rel, following a symbolic link as
 * upstream does; only regular files (a FIFO would block, a device is
 * nobody's content). Reused from the last pass while stat says unchanged.
 */
static int
hash_entry(struct repo *r, struct repo_entry *e)
{
	char		 path[PATH_MAX];
	struct stat	 sb;
	struct hent	*h;
	int		 fd, rc;

	e->hashed = 0;
	if (ri_ends_with_slash(e->path))
		return -1;
	ri_abs_path(r, e->path, path, sizeof(path));
	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return -1;
	key_of(&sb, &e->key);
	h = r->nhashes == 0 ? NULL :
	    bsearch(e->path, r->hashes, r->nhashes, sizeof(*h), hent_cmp);
	if (h != NULL && key_equal(&h->key, &e->key)) {
		memcpy(e->hex, h->hex, sizeof(e->hex));
		e->hashed = 1;
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -1;
	}
	key_of(&sb, &e->key);
	rc = digest_fd(fd, e->hex);
	close(fd);
	if (rc == 0)
		e->hashed = 1;
	return rc;
}

void
ri_hashes_clear(struct repo *r)
{
	size_t	 i;

	for (i = 0; i < r->nhashes; i++)
		free(r->hashes[i].path);
	free(r->hashes);
	r->hashes = NULL;
	r->nhashes = 0;
}

/* The digests of st become the cache for the next pass. */
static void
hashes_keep(struct repo *r, const struct repo_status *st)
{
	size_t	 i, n = 0;

	ri_hashes_clear(r);
	for (i = 0; i < st->n; i++)
		if (st->v[i].hashed)
			n++;
	if (n == 0)
		return;
	r->hashes = xcalloc(n, sizeof(*r->hashes));
	for (i = 0; i < st->n; i++) {
		if (!st->v[i].hashed)
			continue;
		r->hashes[r->nhashes].path = xstrdup(st->v[i].path);
		r->hashes[r->nhashes].key = st->v[i].key;
		memcpy(r->hashes[r->nhashes].hex, st->v[i].hex,
		    HEX_SHA256);
		r->nhashes++;
	}
}

/* ---- status --------------------------------------------------------- */

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct repo_entry *)a)->path,
	    ((const struct repo_entry *)b)->path);
}

static int
entry_key_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct repo_entry *)e)->path);
}

const struct repo_entry *
ri_entry_find(const struct repo_status *st, const char *path)
{
	if (st->n == 0)
		return NULL;
	return bsearch(path, st->v, st->n, sizeof(*st->v), entry_key_cmp);
}

/* First entry whose path is >= key. */
size_t
ri_entry_lower(const struct repo_status *st, const char *key)
{
	size_t	 lo = 0, hi = st->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(st->v[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
entries_free(struct repo_entry *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/*
 * git status --porcelain shows an untracked directory as one line when
 * it holds no tracked file: the shallowest such ancestor of path.
 */
static size_t
untracked_len(git_index *idx, const char *path)
{
	char	 prefix[PATH_MAX];
	size_t	 i;

	for (i = 0; path[i] != '\0'; i++) {
		if (path[i] != '/' || path[i + 1] == '\0')
			continue;
		if (i + 2 > sizeof(prefix))
			break;
		memcpy(prefix, path, i + 1);
		prefix[i + 1] = '\0';
		if (idx == NULL || !ri_index_has_prefix(idx, prefix))
			return i + 1;
	}
	return strlen(path);
}

static void
stamp_index(struct repo *r, struct repo_status *st)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	(void)snprintf(path, sizeof(path), "%sindex",
	    git_repository_path(r->git));
	st->has_istamp = stat(path, &sb) == 0;
	if (st->has_istamp)
		key_of(&sb, &st->istamp);
	else
		memset(&st->istamp, 0, sizeof(st->istamp));
}

void
ri_collected_add(struct collected *c, const char *path, unsigned int flags)
{
	if (c->n + 1 >= c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].path = xstrdup(path);
	c->v[c->n].flags = flags;
	c->n++;
}

/*
 * One libgit2 status pass over g: everything, or only the literal paths
 * of ps (a directory covers what is under it). Renames are not asked
 * for; index refresh is not written back (see the top of the file).
 */
int
ri_collect(git_repository *g, const git_strarray *ps, int wt_only,
    struct collected *c, char *err, size_t errlen)
{
	git_status_options	 o;
	git_status_list		*l;
	const git_status_entry	*e;
	const git_diff_delta	*d;
	size_t			 i, n;

	if (git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION) != 0) {
		ri_gerr(err, errlen, "Cannot get the git status");
		return -1;
	}
	o.show = wt_only ? GIT_STATUS_SHOW_WORKDIR_ONLY :
	    GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	    GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	    GIT_STATUS_OPT_INCLUDE_IGNORED;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	}
	if (git_status_list_new(&l, g, &o) != 0) {
		ri_gerr(err, errlen, "Cannot get the git status");
		return -1;
	}
	n = git_status_list_entrycount(l);
	for (i = 0; i < n; i++) {
		e = git_status_byindex(l, i);
		d = e->head_to_index != NULL ? e->head_to_index :
		    e->index_to_workdir;
		if (d != NULL && d->old_file.path != NULL)
			ri_collected_add(c, d->old_file.path, e->status);
	}
	git_status_list_free(l);
	return 0;
}

/*
 * A status pass into sorted entries with their digests and porcelain
 * lines: everything (ps NULL) or the literal paths of ps.
 */
static int
scan(struct repo *r, const git_strarray *ps, struct repo_entry **vp,
    size_t *np, char *err, size_t errlen)
{
	struct collected	 c = { NULL, 0, 0 };
	struct repo_entry	*v;
	git_index		*idx = NULL;
	size_t			 i, n;
	int			 rc, wt_only;

	*vp = NULL;
	*np = 0;
	/* What git status saves too: no staged change, no index diff. */
	wt_only = ps == NULL && ri_index_is_head(r);
	if (ps != NULL || !ri_collect_parallel(r, wt_only, &c, &rc, err,
	    errlen))
		rc = ri_collect(r->git, ps, wt_only, &c, err, errlen);
	if (rc != 0) {
		entries_free(c.v, c.n);
		return -1;
	}
	v = c.v != NULL ? c.v : xcalloc(1, sizeof(*v));
	n = c.n;
	qsort(v, n, sizeof(*v), entry_cmp);
	/* Parts are disjoint; should a path come twice, it is one entry. */
	for (i = 1; i < n; i++) {
		if (strcmp(v[i - 1].path, v[i].path) != 0)
			continue;
		v[i - 1].flags |= v[i].flags;
		free(v[i].path);
		memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
		n--;
		i--;
	}

	/* The index was refreshed by the pass; no second read. */
	if (git_repository_index(&idx, r->git) != 0)
		idx = NULL;
	else
		(void)git_index_read(idx, 0);
	for (i = 0; i < n; i++) {
		if (v[i].flags & GIT_STATUS_IGNORED)
			continue;
		if ((v[i].flags & ST_HASHED) &&
		    !(v[i].flags & GIT_STATUS_WT_DELETED))
			(void)hash_entry(r, &v[i]);
		if (v[i].flags & GIT_STATUS_WT_NEW)
			v[i].ulen = untracked_len(idx, v[i].path);
	}
	git_index_free(idx);
	*vp = v;
	*np = n;
	return 0;
}

static void
head_state(struct repo *r, struct repo_status *st)
{
	st->has_head = repo_head(r, st->head);
}

static void
stamp_file(const char *path, struct fkey *k)
{
	struct stat	 sb;

	if (stat(path, &sb) == 0)
		key_of(&sb, k);
	else
		memset(k, 0, sizeof(*k));
}

/*
 * libgit2 1.5.1 leaks pcre2 match data for every .gitmodules key that is
 * not a path, each time it loads the submodules, which a status does
 * unless the repository caches them. Load them into that cache once, and
 * again only when .gitmodules or the config changed. The cache holds
 * configuration only: a submodule's status is still read afresh.
 */
static void
submodules_cache(struct repo *r)
{
	struct fkey	 sig[2];
	char		 path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s.gitmodules", r->workdir);
	stamp_file(path, &sig[0]);
	(void)snprintf(path, sizeof(path), "%sconfig",
	    git_repository_commondir(r->git));
	stamp_file(path, &sig[1]);
	if (r->smcached && key_equal(&sig[0], &r->smsig[0]) &&
	    key_equal(&sig[1], &r->smsig[1]))
		return;
	(void)git_repository_submodule_cache_clear(r->git);
	r->smcached = git_repository_submodule_cache_all(r->git) == 0;
	if (!r->smcached)
		git_error_clear();
	memcpy(r->smsig, sig, sizeof(sig));
}

static int
full_pass(struct repo *r, struct repo_status *st, char *err, size_t errlen)
{
	struct repo_status	 nst;

	memset(&nst, 0, sizeof(nst));
	stamp_index(r, &nst);
	head_state(r, &nst);
	submodules_cache(r);
	if (scan(r, NULL, &nst.v, &nst.n, err, errlen) == -1)
		return -1;
	entries_free(st->v, st->n);
	nst.folder = st->folder;
	*st = nst;
	hashes_keep(r, st);
	return 0;
}

struct repo_status *
repo_status(struct repo *r, char *err, size_t errlen)
{
	struct repo_status	*st;

	st = xcalloc(1, sizeof(*st));
	st->folder = xstrdup(r->folder);
	if (full_pass(r, st, err, errlen) == -1) {
		free(st->folder);
		free(st);
		return NULL;
	}
	return st;
}

void
repo_status_free(struct repo_status *st)
{
	if (st == NULL)
		return;
	entries_free(st->v, st->n);
	free(st->folder);
	free(st);
}

/* The index or HEAD moved since st: only a full pass is right. */
static int
status_stale(struct repo *r, const struct repo_status *st)
{
	struct repo_status	 now;

	memset(&now, 0, sizeof(now));
	stamp_index(r, &now);
	head_state(r, &now);
	if (now.has_istamp != st->has_istamp ||
	    (now.has_istamp && !key_equal(&now.istamp, &st->istamp)))
		return 1;
	return now.has_head != st->has_head ||
	    strcmp(now.head, st->head) != 0;
}

static int
forces_full(const char *rel)
{
	const char	*base = strrchr(rel, '/');

	base = base == NULL ? rel : base + 1;
	return rel[0] == '\0' || strcmp(base, ".gitignore") == 0 ||
	    strcmp(base, ".gitattributes") == 0;
}

/* path is one of rels, or under one of them. */
static int
covered(char *const *rels, size_t n, const char *path)
{
	size_t	 i, len;

	for (i = 0; i < n; i++) {
		len = strlen(rels[i]);
		if (strncmp(path, rels[i], len) == 0 &&
		    (path[len] == '\0' || path[len] == '/'))
			return 1;
	}
	return 0;
}

int
repo_status_paths(struct repo *r, struct repo_status *st,
    const char *const *paths, size_t n, char *err, size_t errlen)
{
	struct repo_entry	*nv, *mv;
	git_strarray		 ps;
	char			**rels;
	size_t			 nn, i, j, k;
	int			 all;

	if (n == 0)
		return 0;
	if (status_stale(r, st))
		return full_pass(r, st, err, errlen);
	if ((rels = ri_rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < n && !all; i++)
		all = forces_full(rels[i]);
	if (all) {
		ri_rels_free(rels, n);
		return full_pass(r, st, err, errlen);
	}
	ps.strings = rels;
	ps.count = n;
	if (scan(r, &ps, &nv, &nn, err, errlen) == -1) {
		ri_rels_free(rels, n);
		return -1;
	}
	/* Old entries of those paths go; the new ones merge in by path. */
	mv = xcalloc(st->n + nn + 1, sizeof(*mv));
	for (i = j = k = 0; i < st->n || j < nn;) {
		if (i < st->n && (covered(rels, n, st->v[i].path) ||
		    (j < nn && strcmp(st->v[i].path, nv[j].path) == 0))) {
			free(st->v[i++].path);
			continue;
		}
		if (j >= nn || (i < st->n &&
		    strcmp(st->v[i].path, nv[j].path) < 0))
			mv[k++] = st->v[i++];
		else
			mv[k++] = nv[j++];
	}
	free(st->v);
	free(nv);
	st->v = mv;
	st->n = k;
	ri_rels_free(rels, n);
	hashes_keep(r, st);
	return 0;
}

size_t
repo_status_count(const struct repo_status *st)
{
	size_t	 i, n = 0;

	for (i = 0; i < st->n; i++)
		if (!(st->v[i].flags & GIT_STATUS_IGNORED))
			n++;
	return n;
}
