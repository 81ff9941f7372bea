/*
 * repo contents: a file as it is at HEAD, in the index, in the work tree
 * or in a commit (reference §6.6 diff sides).
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

#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

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

	ri_abs_path(r, rel, path, sizeof(path));
	xasprintf(&shown, "%s%s%s", r->folder, rel[0] != '\0' &&
	    !ri_ends_with_slash(r->folder) ? "/" : "", rel);
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
