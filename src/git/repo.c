/*
 * repo: status, item state, contents and index operations on libgit2.
 *
 * Nothing here runs a program: libgit2 has no hooks, no fsmonitor and no
 * process filters, and we register no filter of our own. Index writes
 * happen only for stage, unstage, revert and commit (gitops.c), each
 * right after a fresh read of the index; status never writes it (see
 * status.c).
 *
 * This file opens and closes a repository, maps paths onto its work tree
 * and reads HEAD; it also holds the helpers the other parts share through
 * repo-int.h: status.c (status passes), statuspar.c (the parallel full
 * pass), statusview.c (summary, detailed status and items), refcontent.c
 * (contents at a ref) and gitops.c (stage, unstage, revert, commit).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

void
ri_gerr(char *err, size_t errlen, const char *what)
{
	const git_error	*e = git_error_last();

	if (e != NULL && e->message != NULL)
		seterr(err, errlen, "%s: %s", what, e->message);
	else
		seterr(err, errlen, "%s", what);
}

int
ri_ends_with_slash(const char *s)
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
int
ri_path_norm(const char *in, char *out, size_t outlen)
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

int
ri_has_dotgit(const char *rel)
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
	if (ri_path_norm(path, norm, sizeof(norm)) == -1)
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
	if (ri_has_dotgit(rest)) {
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

void
ri_abs_path(const struct repo *r, const char *rel, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s%s", r->workdir, rel);
}

char **
ri_rels_make(const struct repo *r, const char *const *paths, size_t n,
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

void
ri_rels_free(char **v, size_t n)
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
	    ri_path_norm(folder, lex, sizeof(lex)) == -1) {
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
		ri_gerr(err, errlen, "Cannot open the repository");
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
	xasprintf(&r->workdir, "%s%s", wd, ri_ends_with_slash(wd) ? "" : "/");
	*rp = r;
	return 0;
}

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	ri_hashes_clear(r);
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
int
ri_head_tree(struct repo *r, git_tree **tp, char *err, size_t errlen)
{
	git_object	*obj;
	int		 rc;

	*tp = NULL;
	rc = git_revparse_single(&obj, r->git, "HEAD^{tree}");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		return 0;
	if (rc < 0) {
		ri_gerr(err, errlen, "Cannot read HEAD");
		return -1;
	}
	*tp = (git_tree *)obj;
	return 0;
}

/* ---- index ---------------------------------------------------------- */

int
ri_index_has_prefix(git_index *idx, const char *prefix)
{
	size_t	 pos;

	return git_index_find_prefix(&pos, idx, prefix) == 0;
}
