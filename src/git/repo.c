/*
 * repo: status, item state, contents and index operations on libgit2.
 *
 * Nothing here runs a program: libgit2 has no hooks, no fsmonitor and no
 * process filters, and we register no filter of our own. Index writes
 * happen only for stage, unstage, revert and commit, each right after a
 * fresh read of the index; status never writes it (libgit2's
 * GIT_STATUS_OPT_UPDATE_INDEX reads the index before taking the lock, so a
 * `git add` typed meanwhile in a terminal could be overwritten by a stale
 * copy; git itself locks first).
 *
 * A full status of a large repository runs in parallel parts, each on a
 * repository object of its own (libgit2 objects are not shared between
 * threads); see collect_parallel().
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/repository.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "log.h"
#include "xmalloc.h"
#include "git/repo.h"

#define HEX_SHA256	65
#define HASH_CHUNK	(64 * 1024)
/* Below this many index entries one thread is as fast as several. */
#define STATUS_SPLIT_MIN	8192

/* What says a working file is unchanged since we hashed it. */
struct fkey {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
};

struct hent {
	char		*path;
	struct fkey	 key;
	char		 hex[HEX_SHA256];
};

struct repo {
	git_repository	*git;
	char		*folder;	/* as given: base of file_abs_path */
	char		*lexfolder;	/* folder, lexically normalised */
	char		*workdir;	/* libgit2's real path, ending in '/' */
	struct hent	*hashes;	/* sorted by path: last status's digests */
	size_t		 nhashes;
	struct fkey	 smsig[2];	/* .gitmodules, config: submodules loaded */
	int		 smcached;
};

struct repo_entry {
	char		*path;
	unsigned int	 flags;		/* git_status_t */
	size_t		 ulen;		/* untracked: porcelain line is path[0..ulen) */
	int		 hashed;
	struct fkey	 key;
	char		 hex[HEX_SHA256];
};

struct repo_status {
	char		*folder;	/* the repo's, for file_abs_path */
	struct repo_entry *v;
	size_t		 n;
	int		 has_head;
	char		 head[REPO_HEX];
	int		 has_istamp;
	struct fkey	 istamp;	/* the index file when the pass began */
};

#define ST_INDEX	(GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED | \
	GIT_STATUS_INDEX_DELETED | GIT_STATUS_INDEX_RENAMED | \
	GIT_STATUS_INDEX_TYPECHANGE)
#define ST_WTCHANGE	(GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED | \
	GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_WT_RENAMED | \
	GIT_STATUS_WT_UNREADABLE)
/* A working file to hash exists on at least one side of these. */
#define ST_HASHED	(GIT_STATUS_WT_NEW | GIT_STATUS_WT_MODIFIED | \
	GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_INDEX_NEW | \
	GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_TYPECHANGE | \
	GIT_STATUS_INDEX_RENAMED | GIT_STATUS_CONFLICTED)

static void
gerr(char *err, size_t errlen, const char *what)
{
	const git_error	*e = git_error_last();

	if (e != NULL && e->message != NULL)
		seterr(err, errlen, "%s: %s", what, e->message);
	else
		seterr(err, errlen, "%s", what);
}

static int
ends_with_slash(const char *s)
{
	size_t	 len = strlen(s);

	return len > 0 && s[len - 1] == '/';
}

/* ---- paths ---------------------------------------------------------- */

/*
 * Lexical normalisation: no empty, "." or ".." components. An absolute
 * path keeps its leading '/' ("/.." is "/"); for a relative one, -1 when
 * ".." climbs above the start.
 */
static int
path_norm(const char *in, char *out, size_t outlen)
{
	size_t	 len = 0, clen;
	int	 abs = in[0] == '/';
	const char *p = in, *c;

	if (outlen < 2)
		return -1;
	if (abs)
		out[len++] = '/';
	out[len] = '\0';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		c = p;
		while (*p != '\0' && *p != '/')
			p++;
		clen = p - c;
		if (clen == 1 && c[0] == '.')
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			if (len == (size_t)abs) {
				if (!abs)
					return -1;
				continue;
			}
			while (len > (size_t)abs && out[len - 1] != '/')
				len--;
			if (len > (size_t)abs)
				len--;
			out[len] = '\0';
			continue;
		}
		if (len > (size_t)abs) {
			if (len + 1 >= outlen)
				return -1;
			out[len++] = '/';
		}
		if (len + clen >= outlen)
			return -1;
		memcpy(out + len, c, clen);
		len += clen;
		out[len] = '\0';
	}
	return 0;
}

/* The part of p under base, or NULL; both lexically normal. */
static const char *
path_under(const char *p, const char *base)
{
	size_t	 blen = strlen(base);

	if (strcmp(base, "/") == 0)
		return p + 1;
	if (strncmp(p, base, blen) != 0)
		return NULL;
	if (p[blen] == '\0')
		return p + blen;
	if (p[blen] == '/')
		return p + blen + 1;
	return NULL;
}

static int
has_dotgit(const char *rel)
{
	const char	*c = rel, *e;

	while (*c != '\0') {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e - c == 4 && strncasecmp(c, ".git", 4) == 0)
			return 1;
		c = *e == '/' ? e + 1 : e;
	}
	return 0;
}

int
repo_relpath(const struct repo *r, const char *path, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char		 norm[PATH_MAX], wd[PATH_MAX];
	const char	*rest;

	if (path == NULL || *path == '\0') {
		seterr(err, errlen, "Path is empty");
		return -1;
	}
	if (path_norm(path, norm, sizeof(norm)) == -1)
		goto outside;
	if (norm[0] == '/') {
		if (strlcpy_chk(wd, r->workdir, sizeof(wd)) == -1)
			goto outside;
		if (strlen(wd) > 1)
			wd[strlen(wd) - 1] = '\0';
		if ((rest = path_under(norm, r->lexfolder)) == NULL &&
		    (rest = path_under(norm, wd)) == NULL)
			goto outside;
	} else
		rest = norm;
	if (has_dotgit(rest)) {
		seterr(err, errlen, "Path is inside a .git directory: %s", path);
		return -1;
	}
	if (strlcpy_chk(out, rest, outlen) == -1) {
		seterr(err, errlen, "Path is too long: %s", path);
		return -1;
	}
	return 0;
outside:
	seterr(err, errlen, "Path is outside the repository: %s", path);
	return -1;
}

static void
abs_path(const struct repo *r, const char *rel, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s%s", r->workdir, rel);
}

/* 1 when a directory on the way to rel is a symbolic link. */
static int
beyond_symlink(const struct repo *r, const char *rel)
{
	char		 path[PATH_MAX];
	struct stat	 sb;
	size_t		 base = strlen(r->workdir), i;

	abs_path(r, rel, path, sizeof(path));
	for (i = base; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			return 1;
		path[i] = '/';
	}
	return 0;
}

static char **
rels_make(const struct repo *r, const char *const *paths, size_t n,
    int *all, char *err, size_t errlen)
{
	char	**v, rel[PATH_MAX];
	size_t	  i;

	*all = 0;
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (repo_relpath(r, paths[i], rel, sizeof(rel), err,
		    errlen) == -1) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return NULL;
		}
		if (rel[0] == '\0')
			*all = 1;
		v[i] = xstrdup(rel);
	}
	return v;
}

static void
rels_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- open ----------------------------------------------------------- */

/*
 * libgit2 1.5.1 reports a failed owner check as GIT_ENOTFOUND from its
 * safe.directory lookup when that key is not set at all, instead of
 * GIT_EOWNER: recognise that too, or such a repository would pass for a
 * plain folder.
 */
static int
owner_refused(int rc)
{
	const git_error	*e;

	if (rc != GIT_ENOTFOUND || (e = git_error_last()) == NULL ||
	    e->message == NULL)
		return 0;
	return e->klass == GIT_ERROR_CONFIG &&
	    strstr(e->message, "safe.directory") != NULL;
}

int
repo_open(const char *folder, struct repo **rp, char *err, size_t errlen)
{
	git_repository	*g = NULL;
	struct repo	*r;
	char		 real[PATH_MAX], wreal[PATH_MAX], lex[PATH_MAX];
	const char	*wd;
	size_t		 len;
	int		 rc;

	*rp = NULL;
	if (folder == NULL || folder[0] != '/' ||
	    path_norm(folder, lex, sizeof(lex)) == -1) {
		seterr(err, errlen, "Not a git repository");
		return REPO_ENOTREPO;
	}
	if (realpath(folder, real) == NULL) {
		seterr(err, errlen, "Not a git repository");
		return REPO_ENOTREPO;
	}
	rc = git_repository_open_ext(&g, real, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL);
	if (rc == GIT_EOWNER || owner_refused(rc)) {
		seterr(err, errlen, "Repository %s is owned by another user; "
		    "git refuses it unless safe.directory lists it", folder);
		return -1;
	}
	if (rc == GIT_ENOTFOUND) {
		seterr(err, errlen, "Not a git repository");
		return REPO_ENOTREPO;
	}
	if (rc < 0) {
		gerr(err, errlen, "Cannot open the repository");
		return -1;
	}
	/* Only the root of a work tree, never a git dir or a bare one. */
	if (git_repository_is_bare(g) ||
	    (wd = git_repository_workdir(g)) == NULL ||
	    realpath(wd, wreal) == NULL || strcmp(wreal, real) != 0) {
		git_repository_free(g);
		seterr(err, errlen, "Not a git repository");
		return REPO_ENOTREPO;
	}
	r = xcalloc(1, sizeof(*r));
	r->git = g;
	r->folder = xstrdup(folder);
	len = strlen(r->folder);
	while (len > 1 && r->folder[len - 1] == '/')
		r->folder[--len] = '\0';
	r->lexfolder = xstrdup(lex);
	xasprintf(&r->workdir, "%s%s", wd, ends_with_slash(wd) ? "" : "/");
	*rp = r;
	return 0;
}

static void
hashes_clear(struct repo *r)
{
	size_t	 i;

	for (i = 0; i < r->nhashes; i++)
		free(r->hashes[i].path);
	free(r->hashes);
	r->hashes = NULL;
	r->nhashes = 0;
}

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	hashes_clear(r);
	git_repository_free(r->git);
	free(r->folder);
	free(r->lexfolder);
	free(r->workdir);
	free(r);
}

const char *
repo_folder(const struct repo *r)
{
	return r->folder;
}

/* ---- HEAD ----------------------------------------------------------- */

char *
repo_branch(struct repo *r)
{
	git_reference	*ref = NULL;
	const char	*target, *name = NULL;
	char		*out = NULL;
	int		 rc;

	rc = git_repository_head(&ref, r->git);
	if (rc == 0) {
		if (git_reference_is_branch(ref))
			name = git_reference_shorthand(ref);
		if (name != NULL)
			out = xstrdup(name);
		git_reference_free(ref);
		return out;
	}
	/* Unborn: HEAD still names the branch its first commit will make. */
	if (rc == GIT_EUNBORNBRANCH &&
	    git_reference_lookup(&ref, r->git, "HEAD") == 0) {
		if (git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC &&
		    (target = git_reference_symbolic_target(ref)) != NULL &&
		    strncmp(target, "refs/heads/", 11) == 0 &&
		    target[11] != '\0')
			out = xstrdup(target + 11);
		git_reference_free(ref);
	}
	return out;
}

int
repo_head(struct repo *r, char hex[REPO_HEX])
{
	git_oid	 id;

	hex[0] = '\0';
	if (git_reference_name_to_id(&id, r->git, "HEAD") != 0)
		return 0;
	git_oid_tostr(hex, REPO_HEX, &id);
	return 1;
}

/* HEAD's tree, or NULL (unborn, or an error already in err). */
static int
head_tree(struct repo *r, git_tree **tp, char *err, size_t errlen)
{
	git_object	*obj;
	int		 rc;

	*tp = NULL;
	rc = git_revparse_single(&obj, r->git, "HEAD^{tree}");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		return 0;
	if (rc < 0) {
		gerr(err, errlen, "Cannot read HEAD");
		return -1;
	}
	*tp = (git_tree *)obj;
	return 0;
}

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
	if (ends_with_slash(e->path))
		return -1;
	abs_path(r, e->path, path, sizeof(path));
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

/* The digests of st become the cache for the next pass. */
static void
hashes_keep(struct repo *r, const struct repo_status *st)
{
	size_t	 i, n = 0;

	hashes_clear(r);
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

static const struct repo_entry *
entry_find(const struct repo_status *st, const char *path)
{
	if (st->n == 0)
		return NULL;
	return bsearch(path, st->v, st->n, sizeof(*st->v), entry_key_cmp);
}

/* First entry whose path is >= key. */
static size_t
entry_lower(const struct repo_status *st, const char *key)
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

static int
index_has_prefix(git_index *idx, const char *prefix)
{
	size_t	 pos;

	return git_index_find_prefix(&pos, idx, prefix) == 0;
}

/* 1 when the index has a submodule (gitlink) entry. */
static int
index_has_gitlink(git_index *idx)
{
	const git_index_entry	*ie;
	size_t			 i;

	for (i = 0; (ie = git_index_get_byindex(idx, i)) != NULL; i++)
		if (ie->mode == GIT_FILEMODE_COMMIT)
			return 1;
	return 0;
}

static int
is_untracked_line(unsigned int f)
{
	return (f & GIT_STATUS_WT_NEW) != 0 &&
	    (f & (ST_INDEX & ~GIT_STATUS_INDEX_DELETED)) == 0;
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
		if (idx == NULL || !index_has_prefix(idx, prefix))
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

/* Raw entries of one libgit2 status list. */
struct collected {
	struct repo_entry *v;
	size_t		 n;
	size_t		 cap;
};

static void
collected_add(struct collected *c, const char *path, unsigned int flags)
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
static int
collect(git_repository *g, const git_strarray *ps, struct collected *c,
    char *err, size_t errlen)
{
	git_status_options	 o;
	git_status_list		*l;
	const git_status_entry	*e;
	const git_diff_delta	*d;
	size_t			 i, n;

	if (git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION) != 0) {
		gerr(err, errlen, "Cannot get the git status");
		return -1;
	}
	o.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	    GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	    GIT_STATUS_OPT_INCLUDE_IGNORED;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	}
	if (git_status_list_new(&l, g, &o) != 0) {
		gerr(err, errlen, "Cannot get the git status");
		return -1;
	}
	n = git_status_list_entrycount(l);
	for (i = 0; i < n; i++) {
		e = git_status_byindex(l, i);
		d = e->head_to_index != NULL ? e->head_to_index :
		    e->index_to_workdir;
		if (d != NULL && d->old_file.path != NULL)
			collected_add(c, d->old_file.path, e->status);
	}
	git_status_list_free(l);
	return 0;
}

/* ---- parallel full pass --------------------------------------------- */

/*
 * A full pass is mostly one lstat per tracked file, which git spreads
 * over threads (preload-index) and libgit2 does not. For a large index
 * the work tree is cut into disjoint literal paths, each thread runs a
 * pathspec-limited pass with its own repository object, and the lists
 * are merged: the union of the parts is the whole, each path in one part.
 */
static int	 status_threads;	/* 0: one per CPU, up to the maximum */

void
repo_set_threads(int n)
{
	status_threads = n < 0 ? 0 : n > REPO_MAX_THREADS ?
	    REPO_MAX_THREADS : n;
}

struct unit {
	char	*path;
	size_t	 weight;	/* index entries at or under path */
};

struct units {
	struct unit	*v;
	size_t		 n;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_add(char ***v, size_t *n, const char *dir, const char *name,
    size_t len)
{
	char	*s;

	if ((len == 4 && strncmp(name, ".git", 4) == 0) ||
	    (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.') || len == 0)
		return;
	xasprintf(&s, "%s%s%.*s", dir, dir[0] != '\0' ? "/" : "", (int)len,
	    name);
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/*
 * Every path one level below dir that the work tree, the index or HEAD
 * knows: together they cover all a pass over dir would report.
 */
static char **
children(struct repo *r, git_index *idx, git_tree *head, const char *dir,
    size_t *np)
{
	const git_index_entry	*ie;
	const git_tree_entry	*te;
	git_tree_entry		*sub = NULL;
	git_tree		*tree = NULL;
	struct dirent		*de;
	DIR			*d;
	char			 path[PATH_MAX], prefix[PATH_MAX];
	char			**v = NULL;
	const char		*rest, *slash, *last = NULL;
	size_t			 n = 0, i, j, plen, pos, clen, llen = 0;

	abs_path(r, dir, path, sizeof(path));
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			names_add(&v, &n, dir, de->d_name,
			    strlen(de->d_name));
		closedir(d);
	}
	(void)snprintf(prefix, sizeof(prefix), "%s%s", dir,
	    dir[0] != '\0' ? "/" : "");
	plen = strlen(prefix);
	if (plen == 0)
		pos = 0;
	else if (git_index_find_prefix(&pos, idx, prefix) != 0)
		pos = git_index_entrycount(idx);
	for (; (ie = git_index_get_byindex(idx, pos)) != NULL; pos++) {
		if (strncmp(ie->path, prefix, plen) != 0)
			break;
		rest = ie->path + plen;
		slash = strchr(rest, '/');
		clen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
		/* Sorted: a directory's entries follow one another. */
		if (last != NULL && clen == llen &&
		    strncmp(rest, last, clen) == 0)
			continue;
		names_add(&v, &n, dir, rest, clen);
		last = rest;
		llen = clen;
	}
	if (head != NULL) {
		if (dir[0] == '\0')
			tree = head;
		else if (git_tree_entry_bypath(&sub, head, dir) == 0 &&
		    git_tree_entry_type(sub) == GIT_OBJECT_TREE)
			(void)git_tree_lookup(&tree, git_tree_owner(head),
			    git_tree_entry_id(sub));
		for (i = 0; tree != NULL && i < git_tree_entrycount(tree);
		    i++) {
			te = git_tree_entry_byindex(tree, i);
			names_add(&v, &n, dir, git_tree_entry_name(te),
			    strlen(git_tree_entry_name(te)));
		}
		if (tree != head)
			git_tree_free(tree);
		git_tree_entry_free(sub);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && strcmp(v[j - 1], v[i]) == 0)
			free(v[i]);
		else
			v[j++] = v[i];
	}
	*np = j;
	return v;
}

static size_t
index_weight(git_index *idx, const char *path)
{
	const git_index_entry	*ie;
	char			 prefix[PATH_MAX];
	size_t			 pos, plen, w = 0;

	if (git_index_get_bypath(idx, path, 0) != NULL)
		w++;
	(void)snprintf(prefix, sizeof(prefix), "%s/", path);
	plen = strlen(prefix);
	if (git_index_find_prefix(&pos, idx, prefix) != 0)
		return w;
	for (; (ie = git_index_get_byindex(idx, pos)) != NULL; pos++) {
		if (strncmp(ie->path, prefix, plen) != 0)
			break;
		w++;
	}
	return w;
}

static void
units_add(struct units *u, git_index *idx, char **names, size_t n)
{
	size_t	 i;

	u->v = xreallocarray(u->v, u->n + n + 1, sizeof(*u->v));
	for (i = 0; i < n; i++) {
		u->v[u->n].path = names[i];
		u->v[u->n].weight = index_weight(idx, names[i]);
		u->n++;
	}
	free(names);
}

static void
units_free(struct units *u)
{
	size_t	 i;

	for (i = 0; i < u->n; i++)
		free(u->v[i].path);
	free(u->v);
}

/* Split the heaviest directories until no unit is much above a share. */
static void
partition(struct repo *r, git_index *idx, git_tree *head, int nthreads,
    struct units *u)
{
	char	**names, path[PATH_MAX];
	size_t	  n, i, big, total = git_index_entrycount(idx), rounds;
	struct stat sb;

	memset(u, 0, sizeof(*u));
	names = children(r, idx, head, "", &n);
	units_add(u, idx, names, n);
	for (rounds = 0; rounds < 256 && u->n < 1024; rounds++) {
		for (big = 0, i = 1; i < u->n; i++)
			if (u->v[i].weight > u->v[big].weight)
				big = i;
		if (u->n == 0 || u->v[big].weight <= 1 ||
		    u->v[big].weight * 4 * nthreads <= total)
			break;
		/* Only a directory of its own: never into a nested repo. */
		abs_path(r, u->v[big].path, path, sizeof(path));
		if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode))
			break;
		(void)snprintf(path, sizeof(path), "%s%s/.git", r->workdir,
		    u->v[big].path);
		if (lstat(path, &sb) == 0)
			break;
		names = children(r, idx, head, u->v[big].path, &n);
		free(u->v[big].path);
		u->v[big] = u->v[--u->n];
		units_add(u, idx, names, n);
	}
}

struct part {
	struct repo		*r;
	git_strarray		 ps;
	size_t			 weight;
	struct collected	 out;
	int			 rc;
	char			 err[256];
	pthread_t		 tid;
};

/* Another thread: a repository object of its own (libgit2's rule). */
static void *
part_run(void *arg)
{
	struct part	*p = arg;
	git_repository	*g;

	p->rc = git_repository_open_ext(&g, p->r->workdir,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (p->rc != 0) {
		gerr(p->err, sizeof(p->err), "Cannot open the repository");
		return NULL;
	}
	p->rc = collect(g, &p->ps, &p->out, p->err, sizeof(p->err));
	git_repository_free(g);
	return NULL;
}

static int
cpu_count(void)
{
	cpu_set_t	 set;
	int		 n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n;
}

/*
 * 1 when the parts ran (c filled or err set, rc in *rcp); 0 when a
 * single pass is the better plan.
 */
static int
collect_parallel(struct repo *r, struct collected *c, int *rcp, char *err,
    size_t errlen)
{
	struct part	 parts[REPO_MAX_THREADS];
	struct units	 u;
	git_index	*idx = NULL;
	git_tree	*head = NULL;
	char		 herr[8];
	size_t		 i, k, best;
	int		 nthreads = status_threads, started = 0, ran = 0;

	if (nthreads == 0) {
		nthreads = cpu_count();
		if (nthreads > REPO_MAX_THREADS)
			nthreads = REPO_MAX_THREADS;
	}
	if (nthreads < 2)
		return 0;
	/*
	 * Submodules stay with the repository that caches them: see
	 * submodules_cache().
	 */
	if (git_repository_index(&idx, r->git) != 0 ||
	    git_index_read(idx, 0) != 0 ||
	    (status_threads == 0 && git_index_entrycount(idx) <
	    STATUS_SPLIT_MIN) || index_has_gitlink(idx) ||
	    head_tree(r, &head, herr, sizeof(herr)) != 0) {
		git_index_free(idx);
		return 0;
	}
	partition(r, idx, head, nthreads, &u);
	git_tree_free(head);
	git_index_free(idx);
	if (u.n < 2) {
		units_free(&u);
		return 0;
	}
	/* Heaviest first, each to the lightest part. */
	memset(parts, 0, sizeof(parts));
	for (k = 0; k < u.n; k++) {
		for (best = k, i = k + 1; i < u.n; i++)
			if (u.v[i].weight > u.v[best].weight)
				best = i;
		if (best != k) {
			struct unit t = u.v[k];
			u.v[k] = u.v[best];
			u.v[best] = t;
		}
		for (best = 0, i = 1; i < (size_t)nthreads; i++)
			if (parts[i].weight < parts[best].weight)
				best = i;
		parts[best].ps.strings = xreallocarray(parts[best].ps.strings,
		    parts[best].ps.count + 1, sizeof(char *));
		parts[best].ps.strings[parts[best].ps.count++] = u.v[k].path;
		parts[best].weight += u.v[k].weight + 1;
	}
	for (i = 1; i < (size_t)nthreads; i++) {
		parts[i].r = r;
		if (parts[i].ps.count == 0)
			continue;
		if (pthread_create(&parts[i].tid, NULL, part_run,
		    &parts[i]) != 0)
			part_run(&parts[i]);	/* here, then */
		else
			started |= 1 << i;
		ran++;
	}
	/* The first part here, on the repository whose index is loaded. */
	parts[0].rc = collect(r->git, &parts[0].ps, &parts[0].out,
	    parts[0].err, sizeof(parts[0].err));
	ran++;
	*rcp = 0;
	for (i = 0; i < (size_t)nthreads; i++) {
		if (started & (1 << i))
			pthread_join(parts[i].tid, NULL);
		if (parts[i].rc != 0 && *rcp == 0) {
			*rcp = -1;
			seterr(err, errlen, "%s", parts[i].err);
		}
		for (k = 0; k < parts[i].out.n; k++) {
			if (*rcp == 0)
				collected_add(c, parts[i].out.v[k].path,
				    parts[i].out.v[k].flags);
			free(parts[i].out.v[k].path);
		}
		free(parts[i].out.v);
		free(parts[i].ps.strings);
	}
	units_free(&u);
	log_debug("status: %zu entries from %d parallel parts", c->n, ran);
	return 1;
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
	int			 rc;

	*vp = NULL;
	*np = 0;
	if (ps != NULL || !collect_parallel(r, &c, &rc, err, errlen))
		rc = collect(r->git, ps, &c, err, errlen);
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
	if ((rels = rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < n && !all; i++)
		all = forces_full(rels[i]);
	if (all) {
		rels_free(rels, n);
		return full_pass(r, st, err, errlen);
	}
	ps.strings = rels;
	ps.count = n;
	if (scan(r, &ps, &nv, &nn, err, errlen) == -1) {
		rels_free(rels, n);
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
	rels_free(rels, n);
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

/* ---- summary and detailed status ------------------------------------ */

/* Porcelain letters of the tracked line of an entry, ' ' for none. */
static void
porcelain(unsigned int f, char *x, char *y)
{
	*x = ' ';
	*y = ' ';
	if (f & GIT_STATUS_INDEX_NEW)
		*x = 'A';
	else if (f & (GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_TYPECHANGE |
	    GIT_STATUS_INDEX_RENAMED))
		*x = 'M';
	else if (f & GIT_STATUS_INDEX_DELETED)
		*x = 'D';
	if (f & (GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_TYPECHANGE |
	    GIT_STATUS_WT_RENAMED | GIT_STATUS_WT_UNREADABLE))
		*y = 'M';
	else if (f & GIT_STATUS_WT_DELETED)
		*y = 'D';
	/* Conflicts are counted as modifications. */
	if ((f & GIT_STATUS_CONFLICTED) && *x == ' ' && *y == ' ')
		*x = 'M';
}

json_object *
repo_status_summary(const struct repo_status *st)
{
	json_object		*o;
	const struct repo_entry	*e, *last = NULL;
	int64_t			 mod = 0, del = 0, unt = 0;
	size_t			 i, lines = 0;
	char			 x, y;

	for (i = 0; i < st->n; i++) {
		e = &st->v[i];
		if (e->flags & GIT_STATUS_IGNORED)
			continue;
		porcelain(e->flags, &x, &y);
		if (x != ' ' || y != ' ') {
			lines++;
			if (x == 'A' || y == 'A')
				unt++;
			else if (x == 'M' || y == 'M')
				mod++;
			else if (x == 'D' || y == 'D')
				del++;
		}
		if (!is_untracked_line(e->flags))
			continue;
		/* One "??" line per collapsed directory. */
		if (last != NULL && last->ulen == e->ulen &&
		    strncmp(last->path, e->path, e->ulen) == 0)
			continue;
		last = e;
		lines++;
		unt++;
	}
	o = json_object_new_object();
	if (lines == 0) {
		json_object_object_add(o, "clean", json_object_new_int(0));
		return o;
	}
	json_object_object_add(o, "modified", json_object_new_int64(mod));
	json_object_object_add(o, "deleted", json_object_new_int64(del));
	json_object_object_add(o, "untracked", json_object_new_int64(unt));
	return o;
}

static void
change_add(json_object *arr, const struct repo_entry *e, const char *type,
    int staged, const char *folder)
{
	json_object	*c;
	const char	*name, *p = e->path;
	char		*abs, *trimmed = NULL;
	size_t		 len = strlen(p);

	if (len > 1 && p[len - 1] == '/') {
		trimmed = xstrndup(p, len - 1);
		name = strrchr(trimmed, '/');
		name = name == NULL ? trimmed : name + 1;
	} else {
		name = strrchr(p, '/');
		name = name == NULL ? p : name + 1;
	}
	xasprintf(&abs, "%s%s%s", folder,
	    ends_with_slash(folder) ? "" : "/", p);
	c = json_object_new_object();
	json_object_object_add(c, "file_repo_path", json_object_new_string(p));
	json_object_object_add(c, "file_name", json_object_new_string(name));
	json_object_object_add(c, "file_abs_path",
	    json_object_new_string(abs));
	json_object_object_add(c, "change_type",
	    json_object_new_string(type));
	json_object_object_add(c, "content_hash",
	    strcmp(type, "deleted") != 0 && e->hashed ?
	    json_object_new_string(e->hex) : NULL);
	json_object_object_add(c, "is_staged",
	    json_object_new_boolean(staged));
	json_object_object_add(c, "diff_details", NULL);
	json_object_array_add(arr, c);
	free(abs);
	free(trimmed);
}

static const char *
staged_type(unsigned int f)
{
	if (f & GIT_STATUS_INDEX_NEW)
		return "added";
	if (f & GIT_STATUS_INDEX_DELETED)
		return "deleted";
	return "modified";
}

static const char *
unstaged_type(unsigned int f)
{
	if ((f & GIT_STATUS_WT_DELETED) && !(f & GIT_STATUS_CONFLICTED))
		return "deleted";
	return "modified";
}

static json_object *
detailed_make(const struct repo_status *st, const char *folder)
{
	json_object		*o, *staged, *unstaged, *untracked;
	const struct repo_entry	*e;
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "head_commit_hash", st != NULL &&
	    st->has_head ? json_object_new_string(st->head) : NULL);
	staged = json_object_new_array();
	unstaged = json_object_new_array();
	untracked = json_object_new_array();
	for (i = 0; st != NULL && i < st->n; i++) {
		e = &st->v[i];
		if (e->flags & GIT_STATUS_IGNORED)
			continue;
		if (e->flags & ST_INDEX)
			change_add(staged, e, staged_type(e->flags), 1,
			    folder);
		if (e->flags & (ST_WTCHANGE | GIT_STATUS_CONFLICTED))
			change_add(unstaged, e, unstaged_type(e->flags),
			    0, folder);
		if (e->flags & GIT_STATUS_WT_NEW)
			change_add(untracked, e, "untracked", 0, folder);
	}
	json_object_object_add(o, "staged_changes", staged);
	json_object_object_add(o, "unstaged_changes", unstaged);
	json_object_object_add(o, "untracked_files", untracked);
	return o;
}

json_object *
repo_status_detailed(const struct repo_status *st)
{
	return detailed_make(st, st->folder);
}

json_object *
repo_summary_none(void)
{
	return json_object_new_object();
}

json_object *
repo_detailed_none(void)
{
	return detailed_make(NULL, "");
}

/* ---- items ---------------------------------------------------------- */

const char *
repo_state_name(enum repo_state s)
{
	switch (s) {
	case REPO_STATE_CLEAN:
		return "clean";
	case REPO_STATE_MODIFIED:
		return "modified";
	case REPO_STATE_ADDED:
		return "added";
	case REPO_STATE_DELETED:
		return "deleted";
	case REPO_STATE_UNTRACKED:
		return "untracked";
	case REPO_STATE_IGNORED:
		return "ignored";
	case REPO_STATE_NONE:
		break;
	}
	return NULL;
}

void
repo_item_json(const struct repo_item *it, json_object *obj)
{
	const char	*name = repo_state_name(it->state);

	json_object_object_add(obj, "is_git_tracked",
	    json_object_new_boolean(it->is_tracked));
	json_object_object_add(obj, "git_status",
	    name != NULL ? json_object_new_string(name) : NULL);
	json_object_object_add(obj, "is_staged",
	    it->staged == REPO_STAGED_MIXED ? json_object_new_string("mixed") :
	    json_object_new_boolean(it->staged == REPO_STAGED_YES));
	json_object_object_add(obj, "is_ignored",
	    json_object_new_boolean(it->is_ignored));
}

/* rel itself, or a directory above it, was reported ignored. */
static int
item_ignored(const struct repo_status *st, const char *rel, int is_dir)
{
	const struct repo_entry	*e;
	char			 buf[PATH_MAX];
	size_t			 i;

	if (is_dir) {
		if (snprintf(buf, sizeof(buf), "%s/", rel) >= (int)sizeof(buf))
			return 0;
		e = entry_find(st, buf);
	} else
		e = entry_find(st, rel);
	if (e != NULL && (e->flags & GIT_STATUS_IGNORED))
		return 1;
	for (i = 0; rel[i] != '\0' && i + 2 < sizeof(buf); i++) {
		if (rel[i] != '/')
			continue;
		memcpy(buf, rel, i + 1);
		buf[i + 1] = '\0';
		if ((e = entry_find(st, buf)) != NULL &&
		    (e->flags & GIT_STATUS_IGNORED))
			return 1;
	}
	return 0;
}

static int
staged_side(unsigned int f)
{
	return (f & (ST_INDEX | GIT_STATUS_CONFLICTED)) != 0;
}

static int
unstaged_side(unsigned int f)
{
	return (f & (ST_WTCHANGE | GIT_STATUS_CONFLICTED)) != 0;
}

static void
file_item(git_index *idx, const struct repo_status *st, const char *rel,
    struct repo_item *it)
{
	const struct repo_entry	*e = entry_find(st, rel);
	unsigned int		 f = e != NULL ? e->flags : 0;
	int			 s = staged_side(f), u = unstaged_side(f);

	it->staged = s && u ? REPO_STAGED_MIXED :
	    s ? REPO_STAGED_YES : REPO_STAGED_NO;
	if (f & GIT_STATUS_WT_NEW) {
		it->state = REPO_STATE_UNTRACKED;
	} else if (s) {
		/* Upstream: a staged file not in HEAD is "added", untracked. */
		it->is_tracked = !(f & GIT_STATUS_INDEX_NEW);
		it->state = it->is_tracked ? REPO_STATE_MODIFIED :
		    REPO_STATE_ADDED;
	} else if (u) {
		it->is_tracked = 1;
		it->state = REPO_STATE_MODIFIED;
	} else if (idx != NULL && git_index_get_bypath(idx, rel, 0) != NULL) {
		it->is_tracked = 1;
		it->state = REPO_STATE_CLEAN;
	}
}

/* What a directory's entries add up to (upstream's batch rules). */
struct dirsum {
	int	 unt, mod, del, s, u, both;
};

static void
dirsum_add(struct dirsum *d, const struct repo_entry *e)
{
	char	 x, y;

	if (e->flags & GIT_STATUS_IGNORED)
		return;
	if (e->flags & GIT_STATUS_WT_NEW)
		d->unt = 1;
	porcelain(e->flags, &x, &y);
	if (x == 'A' || x == 'M' || y == 'M')
		d->mod = 1;
	else if (x == 'D' || y == 'D')
		d->del = 1;
	d->s |= staged_side(e->flags);
	d->u |= unstaged_side(e->flags);
	d->both |= staged_side(e->flags) && unstaged_side(e->flags);
}

/*
 * A directory, or a submodule (one gitlink entry at rel itself, as
 * upstream's "path == rel or under rel/" matches it).
 */
static void
dir_item(git_index *idx, const struct repo_status *st, const char *rel,
    struct repo_item *it)
{
	const struct repo_entry	*e;
	struct dirsum		 d;
	char			 prefix[PATH_MAX];
	size_t			 i, plen;
	int			 tracked;

	memset(&d, 0, sizeof(d));
	if (rel[0] == '\0')
		prefix[0] = '\0';
	else if (snprintf(prefix, sizeof(prefix), "%s/", rel) >=
	    (int)sizeof(prefix))
		return;
	plen = strlen(prefix);
	if (plen > 0 && (e = entry_find(st, rel)) != NULL)
		dirsum_add(&d, e);
	for (i = entry_lower(st, prefix); i < st->n; i++) {
		if (strncmp(st->v[i].path, prefix, plen) != 0)
			break;
		dirsum_add(&d, &st->v[i]);
	}
	it->staged = d.both || (d.s && d.u) ? REPO_STAGED_MIXED :
	    d.s ? REPO_STAGED_YES : REPO_STAGED_NO;
	if (plen == 0)
		tracked = idx != NULL && git_index_entrycount(idx) > 0;
	else
		tracked = idx != NULL && (index_has_prefix(idx, prefix) ||
		    git_index_get_bypath(idx, rel, 0) != NULL);
	if (d.unt)
		it->state = REPO_STATE_UNTRACKED;
	else if (d.del)
		it->state = REPO_STATE_DELETED;
	else if (d.mod)
		it->state = REPO_STATE_MODIFIED;
	else if (tracked)
		it->state = REPO_STATE_CLEAN;
	it->is_tracked = it->state != REPO_STATE_NONE &&
	    it->state != REPO_STATE_UNTRACKED;
}

void
repo_item(struct repo *r, const struct repo_status *st, const char *rel,
    int is_dir, struct repo_item *it)
{
	git_index	*idx = NULL;

	memset(it, 0, sizeof(*it));
	if (item_ignored(st, rel, is_dir)) {
		it->state = REPO_STATE_IGNORED;
		it->is_ignored = 1;
		return;
	}
	if (git_repository_index(&idx, r->git) != 0)
		idx = NULL;
	if (is_dir)
		dir_item(idx, st, rel, it);
	else
		file_item(idx, st, rel, it);
	git_index_free(idx);
}

/* ---- contents ------------------------------------------------------- */

int
repo_ref_parse(const char *s, enum repo_ref *ref)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "head") == 0)
		*ref = REPO_REF_HEAD;
	else if (strcmp(s, "staged") == 0)
		*ref = REPO_REF_STAGED;
	else if (strcmp(s, "working") == 0)
		*ref = REPO_REF_WORKING;
	else if (strcmp(s, "commit") == 0)
		*ref = REPO_REF_COMMIT;
	else
		return -1;
	return 0;
}

static void
content_set(char **buf, size_t *lenp, const void *data, size_t len)
{
	*buf = xmalloc(len + 1);
	if (len > 0)
		memcpy(*buf, data, len);
	(*buf)[len] = '\0';
	*lenp = len;
}

static int
too_large(size_t len, size_t limit, char *err, size_t errlen)
{
	if (limit == 0 || len <= limit)
		return 0;
	seterr(err, errlen, "File too large: %zu bytes", len);
	return 1;
}

static int
blob_content(struct repo *r, const git_oid *id, size_t limit, char **buf,
    size_t *lenp, char *err, size_t errlen)
{
	git_blob	*blob;
	size_t		 len;

	if (git_blob_lookup(&blob, r->git, id) != 0) {
		content_set(buf, lenp, "", 0);
		return 0;
	}
	len = (size_t)git_blob_rawsize(blob);
	if (too_large(len, limit, err, errlen)) {
		git_blob_free(blob);
		return -1;
	}
	content_set(buf, lenp, git_blob_rawcontent(blob), len);
	git_blob_free(blob);
	return 0;
}

/* The blob at rel in the tree of commit-ish spec; "" when absent. */
static int
tree_content(struct repo *r, const char *spec, const char *rel,
    size_t limit, char **buf, size_t *lenp, char *err, size_t errlen)
{
	git_object	*obj = NULL, *tree = NULL;
	git_tree_entry	*te = NULL;
	int		 rc = 0;

	if (rel[0] == '\0' || git_revparse_single(&obj, r->git, spec) != 0 ||
	    git_object_peel(&tree, obj, GIT_OBJECT_TREE) != 0 ||
	    git_tree_entry_bypath(&te, (git_tree *)tree, rel) != 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		content_set(buf, lenp, "", 0);
	else
		rc = blob_content(r, git_tree_entry_id(te), limit, buf, lenp,
		    err, errlen);
	git_tree_entry_free(te);
	git_object_free(tree);
	git_object_free(obj);
	return rc;
}

static int
staged_content(struct repo *r, const char *rel, size_t limit, char **buf,
    size_t *lenp, char *err, size_t errlen)
{
	git_index		*idx;
	const git_index_entry	*e;
	int			 rc = 0;

	if (git_repository_index(&idx, r->git) != 0) {
		content_set(buf, lenp, "", 0);
		return 0;
	}
	(void)git_index_read(idx, 0);
	if (rel[0] == '\0' || (e = git_index_get_bypath(idx, rel, 0)) == NULL ||
	    e->mode == GIT_FILEMODE_COMMIT)
		content_set(buf, lenp, "", 0);
	else
		rc = blob_content(r, &e->id, limit, buf, lenp, err, errlen);
	git_index_free(idx);
	return rc;
}

/* Upstream's Python wording: "[Errno 21] Is a directory: '/p/x'". */
static void
read_error(char **buf, size_t *lenp, int error, const char *path)
{
	char	*s;
	int	 len;

	len = xasprintf(&s, "# Error reading file: [Errno %d] %s: '%s'",
	    error, strerror(error), path);
	*buf = s;
	*lenp = (size_t)len;
}

static int
working_content(struct repo *r, const char *rel, size_t limit, char **buf,
    size_t *lenp, char *err, size_t errlen)
{
	char		 path[PATH_MAX], *shown, *data;
	struct stat	 sb;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd, error;

	abs_path(r, rel, path, sizeof(path));
	xasprintf(&shown, "%s%s%s", r->folder, rel[0] != '\0' &&
	    !ends_with_slash(r->folder) ? "/" : "", rel);
	if (stat(path, &sb) == -1) {
		error = errno;
		if (error == ENOENT || error == ENOTDIR)
			content_set(buf, lenp, "", 0);
		else
			read_error(buf, lenp, error, shown);
		free(shown);
		return 0;
	}
	if (!S_ISREG(sb.st_mode)) {
		read_error(buf, lenp, S_ISDIR(sb.st_mode) ? EISDIR : EINVAL,
		    shown);
		free(shown);
		return 0;
	}
	if (too_large((size_t)sb.st_size, limit, err, errlen)) {
		free(shown);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		read_error(buf, lenp, errno, shown);
		free(shown);
		return 0;
	}
	cap = (size_t)sb.st_size + 1;
	data = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (too_large(len + 1, limit, err, errlen)) {
				free(data);
				free(shown);
				close(fd);
				return -1;
			}
			cap *= 2;
			data = xreallocarray(data, cap + 1, 1);
		}
		n = read(fd, data + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = errno;
			free(data);
			close(fd);
			read_error(buf, lenp, error, shown);
			free(shown);
			return 0;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	free(shown);
	if (too_large(len, limit, err, errlen)) {
		free(data);
		return -1;
	}
	data[len] = '\0';
	*buf = data;
	*lenp = len;
	return 0;
}

/* A full or abbreviated commit id, nothing revparse would read further. */
static int
valid_hash(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i >= 4 && i <= 40;
}

int
repo_content(struct repo *r, enum repo_ref ref, const char *path,
    const char *hash, size_t limit, char **buf, size_t *lenp, char *err,
    size_t errlen)
{
	char	 rel[PATH_MAX], spec[64];

	*buf = NULL;
	*lenp = 0;
	if (repo_relpath(r, path, rel, sizeof(rel), err, errlen) == -1)
		return -1;
	switch (ref) {
	case REPO_REF_HEAD:
		return tree_content(r, "HEAD", rel, limit, buf, lenp, err,
		    errlen);
	case REPO_REF_COMMIT:
		if (!valid_hash(hash)) {
			content_set(buf, lenp, "", 0);
			return 0;
		}
		(void)snprintf(spec, sizeof(spec), "%s^{commit}", hash);
		return tree_content(r, spec, rel, limit, buf, lenp, err,
		    errlen);
	case REPO_REF_STAGED:
		return staged_content(r, rel, limit, buf, lenp, err, errlen);
	case REPO_REF_WORKING:
		return working_content(r, rel, limit, buf, lenp, err, errlen);
	}
	seterr(err, errlen, "Unknown reference");
	return -1;
}

/* ---- index operations ----------------------------------------------- */

/* The repository's index, re-read if the file changed under us. */
static int
index_fresh(struct repo *r, git_index **ip, char *err, size_t errlen)
{
	if (git_repository_index(ip, r->git) != 0) {
		gerr(err, errlen, "Cannot open the index");
		return -1;
	}
	if (git_index_read(*ip, 0) != 0) {
		gerr(err, errlen, "Cannot read the index");
		git_index_free(*ip);
		*ip = NULL;
		return -1;
	}
	return 0;
}

static int
index_write(git_index *idx, char *err, size_t errlen)
{
	if (git_index_write(idx) != 0) {
		gerr(err, errlen, "Cannot write the index");
		(void)git_index_read(idx, 1);	/* drop what was not saved */
		return -1;
	}
	return 0;
}

/* The index knows rel as a file, a submodule or a directory. */
static int
index_knows(git_index *idx, const char *rel)
{
	char	 prefix[PATH_MAX];

	if (git_index_get_bypath(idx, rel, 0) != NULL ||
	    git_index_get_bypath(idx, rel, 1) != NULL ||
	    git_index_get_bypath(idx, rel, 2) != NULL ||
	    git_index_get_bypath(idx, rel, 3) != NULL)
		return 1;
	if (snprintf(prefix, sizeof(prefix), "%s/", rel) >= (int)sizeof(prefix))
		return 0;
	return index_has_prefix(idx, prefix);
}

static int
tree_knows(git_tree *tree, const char *rel)
{
	git_tree_entry	*te;

	if (tree == NULL || git_tree_entry_bypath(&te, tree, rel) != 0)
		return 0;
	git_tree_entry_free(te);
	return 1;
}

/* What git add -A -- rel would refuse, checked before anything changes. */
static int
stage_check(struct repo *r, git_index *idx, const char *rel, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX], probe[PATH_MAX];
	struct stat	 sb;
	int		 ignored = 0;

	if (beyond_symlink(r, rel)) {
		seterr(err, errlen, "pathspec '%s' is beyond a symbolic link",
		    rel);
		return -1;
	}
	abs_path(r, rel, path, sizeof(path));
	if (lstat(path, &sb) == -1) {
		if ((errno == ENOENT || errno == ENOTDIR) &&
		    index_knows(idx, rel))
			return 0;	/* a deletion to stage */
		if (errno == ENOENT || errno == ENOTDIR)
			seterr(err, errlen, "pathspec '%s' did not match any "
			    "files", rel);
		else
			seterr(err, errlen, "%s: %s", rel, strerror(errno));
		return -1;
	}
	if (index_knows(idx, rel))
		return 0;
	(void)snprintf(probe, sizeof(probe), "%s%s", rel,
	    S_ISDIR(sb.st_mode) ? "/" : "");
	if (git_ignore_path_is_ignored(&ignored, r->git, probe) != 0) {
		gerr(err, errlen, "Cannot check .gitignore");
		return -1;
	}
	if (ignored) {
		seterr(err, errlen, "The following paths are ignored by one "
		    "of your .gitignore files: %s", rel);
		return -1;
	}
	return 0;
}

/*
 * git add -A over ps (literal paths, NULL for everything): each path
 * where the work tree differs from the index is added, or removed when
 * gone from the work tree. Ignored files are not part of the diff.
 */
static int
stage_apply(struct repo *r, git_index *idx, const git_strarray *ps,
    char *err, size_t errlen)
{
	git_diff_options	 o;
	git_diff		*diff;
	const git_diff_delta	*d;
	const char		*p;
	size_t			 i, n;
	int			 rc = 0;

	if (git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION) != 0)
		return -1;
	o.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
	    GIT_DIFF_INCLUDE_TYPECHANGE;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	}
	if (git_diff_index_to_workdir(&diff, r->git, idx, &o) != 0) {
		gerr(err, errlen, "Cannot compare the work tree");
		return -1;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n && rc == 0; i++) {
		d = git_diff_get_delta(diff, i);
		p = d->new_file.path != NULL ? d->new_file.path :
		    d->old_file.path;
		/* A repository inside the work tree is left alone. */
		if (ends_with_slash(p))
			continue;
		if (d->status == GIT_DELTA_DELETED)
			rc = git_index_remove_bypath(idx, p);
		else
			rc = git_index_add_bypath(idx, p);
		if (rc != 0)
			gerr(err, errlen, "Cannot stage");
	}
	git_diff_free(diff);
	return rc == 0 ? 0 : -1;
}

static int
stage(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_strarray	 ps;
	size_t		 i;
	int		 rc = -1;

	if (index_fresh(r, &idx, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (stage_check(r, idx, rels[i], err, errlen) == -1)
			goto done;
	ps.strings = rels;
	ps.count = n;
	if (stage_apply(r, idx, rels != NULL ? &ps : NULL, err, errlen) == -1) {
		(void)git_index_read(idx, 1);
		goto done;
	}
	rc = index_write(idx, err, errlen);
done:
	git_index_free(idx);
	return rc;
}

int
repo_stage(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	char	**rels;
	int	  all, rc;

	if (n == 0 || paths == NULL) {
		seterr(err, errlen, "No path given");
		return -1;
	}
	if ((rels = rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	rc = stage(r, all ? NULL : rels, all ? 0 : n, err, errlen);
	rels_free(rels, n);
	return rc;
}

int
repo_stage_all(struct repo *r, char *err, size_t errlen)
{
	return stage(r, NULL, 0, err, errlen);
}

/* Remember index-only paths that revert will delete from the work tree. */
struct added {
	char	**v;
	size_t	  n;
};

/*
 * The index entries of ps (NULL: all) become tree's; entries tree lacks
 * (tree NULL: all of them) leave the index. git restore --staged.
 */
static int
index_reset(struct repo *r, git_index *idx, git_tree *tree,
    const git_strarray *ps, struct added *added, char *err, size_t errlen)
{
	git_diff_options	 o;
	git_diff		*diff;
	const git_diff_delta	*d;
	git_index_entry		 ie;
	size_t			 i, n;
	int			 rc = 0;

	if (git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION) != 0)
		return -1;
	o.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
	if (ps != NULL) {
		o.pathspec = *ps;
		o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	}
	if (git_diff_tree_to_index(&diff, r->git, tree, idx, &o) != 0) {
		gerr(err, errlen, "Cannot compare the index with HEAD");
		return -1;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n && rc == 0; i++) {
		d = git_diff_get_delta(diff, i);
		if (d->old_file.flags & GIT_DIFF_FLAG_EXISTS &&
		    d->status != GIT_DELTA_ADDED) {
			memset(&ie, 0, sizeof(ie));
			ie.path = d->old_file.path;
			ie.mode = d->old_file.mode;
			ie.id = d->old_file.id;
			/* No stat data: status hashes the file once. */
			rc = git_index_add(idx, &ie);
		} else {
			rc = git_index_remove_bypath(idx, d->new_file.path);
			if (rc == 0 && added != NULL) {
				added->v = xreallocarray(added->v,
				    added->n + 1, sizeof(*added->v));
				added->v[added->n++] =
				    xstrdup(d->new_file.path);
			}
		}
		if (rc != 0)
			gerr(err, errlen, "Cannot reset the index");
	}
	git_diff_free(diff);
	return rc == 0 ? 0 : -1;
}

static int
known_check(git_index *idx, git_tree *tree, char **rels, size_t n,
    char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (index_knows(idx, rels[i]) || tree_knows(tree, rels[i]))
			continue;
		seterr(err, errlen, "pathspec '%s' did not match any file(s) "
		    "known to git", rels[i]);
		return -1;
	}
	return 0;
}

static int
unstage(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_tree	*tree;
	git_strarray	 ps;
	int		 rc = -1;

	if (head_tree(r, &tree, err, errlen) == -1)
		return -1;
	if (index_fresh(r, &idx, err, errlen) == -1) {
		git_tree_free(tree);
		return -1;
	}
	ps.strings = rels;
	ps.count = n;
	if (known_check(idx, tree, rels, n, err, errlen) == 0 &&
	    index_reset(r, idx, tree, rels != NULL ? &ps : NULL, NULL, err,
	    errlen) == 0)
		rc = index_write(idx, err, errlen);
	else
		(void)git_index_read(idx, 1);
	git_index_free(idx);
	git_tree_free(tree);
	return rc;
}

int
repo_unstage(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	char	**rels;
	int	  all, rc;

	if (n == 0 || paths == NULL) {
		seterr(err, errlen, "No path given");
		return -1;
	}
	if ((rels = rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	rc = unstage(r, all ? NULL : rels, all ? 0 : n, err, errlen);
	rels_free(rels, n);
	return rc;
}

int
repo_unstage_all(struct repo *r, char *err, size_t errlen)
{
	return unstage(r, NULL, 0, err, errlen);
}

/*
 * Delete the working file of a path that was only staged, as git
 * restore --staged --worktree does, then directories it leaves empty.
 * The path comes from the index: checked like a client path first.
 */
static void
remove_added(struct repo *r, const char *rel)
{
	char		 path[PATH_MAX], check[PATH_MAX], *slash;
	struct stat	 sb;
	size_t		 base = strlen(r->workdir);

	if (path_norm(rel, check, sizeof(check)) == -1 ||
	    strcmp(check, rel) != 0 || rel[0] == '/' || has_dotgit(rel) ||
	    beyond_symlink(r, rel))
		return;
	abs_path(r, rel, path, sizeof(path));
	if (lstat(path, &sb) == -1 || S_ISDIR(sb.st_mode))
		return;
	if (unlink(path) == -1) {
		log_warn("revert: unlink %s", path);
		return;
	}
	while ((slash = strrchr(path, '/')) != NULL &&
	    (size_t)(slash - path) >= base) {
		*slash = '\0';
		if (rmdir(path) == -1)
			break;
	}
}

static int
checkout_head(struct repo *r, git_tree *tree, const git_strarray *ps,
    char *err, size_t errlen)
{
	git_checkout_options	 co;

	if (git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION) != 0)
		return -1;
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (ps != NULL) {
		co.paths = *ps;
		co.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
	}
	if (git_checkout_tree(r->git, (const git_object *)tree, &co) != 0) {
		gerr(err, errlen, "Cannot restore files from HEAD");
		return -1;
	}
	return 0;
}

static int
revert(struct repo *r, char **rels, size_t n, char *err, size_t errlen)
{
	git_index	*idx;
	git_tree	*tree;
	git_strarray	 ps;
	struct added	 added = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	if (head_tree(r, &tree, err, errlen) == -1)
		return -1;
	if (index_fresh(r, &idx, err, errlen) == -1) {
		git_tree_free(tree);
		return -1;
	}
	ps.strings = rels;
	ps.count = n;
	if (known_check(idx, tree, rels, n, err, errlen) == -1 ||
	    index_reset(r, idx, tree, rels != NULL ? &ps : NULL, &added, err,
	    errlen) == -1 || index_write(idx, err, errlen) == -1) {
		(void)git_index_read(idx, 1);
		goto done;
	}
	if (tree != NULL && checkout_head(r, tree, rels != NULL ? &ps : NULL,
	    err, errlen) == -1)
		goto done;
	for (i = 0; i < added.n; i++)
		remove_added(r, added.v[i]);
	rc = 0;
done:
	for (i = 0; i < added.n; i++)
		free(added.v[i]);
	free(added.v);
	git_index_free(idx);
	git_tree_free(tree);
	return rc;
}

int
repo_revert(struct repo *r, const char *const *paths, size_t n, char *err,
    size_t errlen)
{
	char	**rels;
	int	  all, rc;

	if (n == 0 || paths == NULL) {
		seterr(err, errlen, "No path given");
		return -1;
	}
	if ((rels = rels_make(r, paths, n, &all, err, errlen)) == NULL)
		return -1;
	rc = revert(r, all ? NULL : rels, all ? 0 : n, err, errlen);
	rels_free(rels, n);
	return rc;
}

/*
 * git restore . : tracked files back to their staged content. The index
 * is also the baseline, so a file the index no longer has (git rm
 * --cached) counts as untracked and stays.
 */
int
repo_revert_all(struct repo *r, char *err, size_t errlen)
{
	git_checkout_options	 co;
	git_index		*idx;
	int			 rc = 0;

	if (index_fresh(r, &idx, err, errlen) == -1)
		return -1;
	if (git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION) != 0)
		rc = -1;
	else {
		co.checkout_strategy = GIT_CHECKOUT_FORCE;
		co.baseline_index = idx;
		if (git_checkout_index(r->git, idx, &co) != 0) {
			gerr(err, errlen, "Cannot restore files");
			rc = -1;
		}
	}
	git_index_free(idx);
	return rc;
}

/* ---- commit --------------------------------------------------------- */

static char *
message_clean(const char *m)
{
	const char	*end;
	char		*s;

	while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r' ||
	    *m == '\v' || *m == '\f')
		m++;
	end = m + strlen(m);
	while (end > m && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\v' ||
	    end[-1] == '\f'))
		end--;
	if (end == m)
		return NULL;
	xasprintf(&s, "%.*s\n", (int)(end - m), m);
	return s;
}

struct parents {
	git_commit	*v[16];
	size_t		 n;
	git_repository	*git;
};

static int
merge_head_cb(const git_oid *id, void *arg)
{
	struct parents	*p = arg;

	if (p->n >= sizeof(p->v) / sizeof(p->v[0]))
		return -1;
	if (git_commit_lookup(&p->v[p->n], p->git, id) != 0)
		return -1;
	p->n++;
	return 0;
}

static int
signature(struct repo *r, git_signature **sig, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = git_signature_default(sig, r->git)) == 0)
		return 0;
	if (rc == GIT_ENOTFOUND)
		seterr(err, errlen, "Please tell me who you are: set "
		    "user.name and user.email in your git configuration");
	else
		gerr(err, errlen, "Cannot make the commit author");
	return -1;
}

int
repo_commit(struct repo *r, const char *message, char hash[REPO_HEX],
    char *err, size_t errlen)
{
	git_index	*idx = NULL;
	git_tree	*tree = NULL;
	git_signature	*sig = NULL;
	struct parents	 par;
	git_oid		 tree_id, id;
	char		*msg;
	size_t		 i;
	int		 rc = -1, merging;

	hash[0] = '\0';
	memset(&par, 0, sizeof(par));
	par.git = r->git;
	if (message == NULL || (msg = message_clean(message)) == NULL) {
		seterr(err, errlen, "Aborting commit due to empty commit "
		    "message");
		return -1;
	}
	if (index_fresh(r, &idx, err, errlen) == -1)
		goto done;
	if (git_index_has_conflicts(idx)) {
		seterr(err, errlen, "Cannot commit: the index has unresolved "
		    "conflicts");
		goto done;
	}
	switch (git_revparse_single((git_object **)&par.v[0], r->git,
	    "HEAD^{commit}")) {
	case 0:
		par.n = 1;
		break;
	case GIT_ENOTFOUND:
	case GIT_EUNBORNBRANCH:
		break;
	default:
		gerr(err, errlen, "Cannot read HEAD");
		goto done;
	}
	if (git_index_write_tree(&tree_id, idx) != 0) {
		gerr(err, errlen, "Cannot write the tree");
		goto done;
	}
	if ((par.n == 0 && git_index_entrycount(idx) == 0) ||
	    (par.n == 1 && git_oid_equal(&tree_id,
	    git_commit_tree_id(par.v[0])))) {
		seterr(err, errlen, "No staged changes to commit");
		goto done;
	}
	merging = par.n == 1 &&
	    git_repository_state(r->git) == GIT_REPOSITORY_STATE_MERGE;
	if (merging && git_repository_mergehead_foreach(r->git, merge_head_cb,
	    &par) != 0) {
		gerr(err, errlen, "Cannot read MERGE_HEAD");
		goto done;
	}
	if (signature(r, &sig, err, errlen) == -1)
		goto done;
	if (git_tree_lookup(&tree, r->git, &tree_id) != 0 ||
	    git_commit_create(&id, r->git, "HEAD", sig, sig, NULL, msg, tree,
	    par.n, (const git_commit **)par.v) != 0) {
		gerr(err, errlen, "Cannot commit");
		goto done;
	}
	if (merging && git_repository_state_cleanup(r->git) != 0)
		log_warnx("commit: merge state left behind: %s",
		    git_error_last() != NULL ? git_error_last()->message : "");
	git_oid_tostr(hash, REPO_HEX, &id);
	rc = 0;
done:
	for (i = 0; i < par.n; i++)
		git_commit_free(par.v[i]);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	free(msg);
	return rc;
}
