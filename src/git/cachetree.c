/*
 * cachetree: whether the index holds exactly HEAD's tree, read from the
 * index file's cache-tree extension ("TREE"), which git and libgit2 keep
 * valid through a commit and invalidate on every change to the entries.
 * When the root's tree id there is HEAD's, the index has no staged
 * change and a status pass can leave the HEAD-to-index diff out (git
 * status does the same). Anything unexpected in the file answers "no":
 * the full diff is always right, only slower.
 *
 * Index format (git's Documentation/gitformat-index): a 12-byte header
 * "DIRC", version, entry count; the entries; extensions of a 4-byte
 * signature and a 4-byte size; a trailing checksum.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "xmalloc.h"
#include "git/repo-int.h"

#define IDX_MAX_SIZE	(512u * 1024 * 1024)
#define OID_LEN		20	/* SHA-1: the only object format libgit2 reads */
#define ENTRY_FIXED	62	/* stat data, object id, flags */
#define FLAG_EXTENDED	0x4000
#define NAME_MASK	0x0fff

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Past one entry at *off; 0 when it does not fit in end. */
static int
skip_entry(const unsigned char *b, size_t end, size_t *off, uint32_t version)
{
	size_t		 at = *off, name;
	const unsigned char *nul;
	unsigned int	 flags;

	if (end - at < ENTRY_FIXED + 2)
		return 0;
	flags = (unsigned int)b[at + 60] << 8 | b[at + 61];
	name = at + ENTRY_FIXED;
	if (flags & FLAG_EXTENDED) {
		if (version < 3)
			return 0;
		name += 2;
	}
	if (version == 4) {
		/* A varint (prefix to strip), then the rest of the name. */
		while (name < end && (b[name] & 0x80))
			name++;
		if (++name >= end)
			return 0;
	}
	if ((nul = memchr(b + name, '\0', end - name)) == NULL)
		return 0;
	if (version == 4) {
		*off = (size_t)(nul - b) + 1;
		return 1;
	}
	/* NUL-padded to a multiple of 8 bytes, one NUL at least. */
	*off = at + (((name - at) + (size_t)(nul - (b + name)) + 8) & ~(size_t)7);
	return *off <= end;
}

/* The root's tree id in a TREE extension, if it is valid and whole. */
static int
root_tree(const unsigned char *d, size_t len, uint32_t entries,
    unsigned char oid[OID_LEN])
{
	const unsigned char *p = d, *end = d + len;
	char		 num[16];
	long		 count;
	size_t		 i;

	if (len < 1 || *p++ != '\0')		/* the root's path: "" */
		return 0;
	for (i = 0; p < end && *p != ' ' && i < sizeof(num) - 1; i++)
		num[i] = (char)*p++;
	num[i] = '\0';
	if (p == end || *p != ' ')
		return 0;
	count = strtol(num, NULL, 10);
	while (p < end && *p != '\n')
		p++;
	if (p == end || count < 0 || (unsigned long)count != entries ||
	    end - ++p < OID_LEN)
		return 0;
	memcpy(oid, p, OID_LEN);
	return 1;
}

static unsigned char *
slurp_index(const char *path, size_t *len)
{
	struct stat	 sb;
	unsigned char	*b;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < 32 || (uintmax_t)sb.st_size > IDX_MAX_SIZE) {
		close(fd);
		return NULL;
	}
	b = xmalloc((size_t)sb.st_size);
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, b + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(b);
		return NULL;
	}
	*len = got;
	return b;
}

static int
index_root_tree(const char *path, unsigned char oid[OID_LEN])
{
	unsigned char	*b;
	size_t		 len, off = 12, end, size;
	uint32_t	 version, entries, i;
	int		 found = 0;

	if ((b = slurp_index(path, &len)) == NULL)
		return 0;
	end = len - OID_LEN;			/* the checksum */
	version = be32(b + 4);
	entries = be32(b + 8);
	if (memcmp(b, "DIRC", 4) != 0 || version < 2 || version > 4)
		goto out;
	for (i = 0; i < entries; i++)
		if (!skip_entry(b, end, &off, version))
			goto out;
	while (end - off >= 8) {
		size = be32(b + off + 4);
		if (size > end - off - 8)
			break;
		if (memcmp(b + off, "TREE", 4) == 0) {
			found = root_tree(b + off + 8, size, entries, oid);
			break;
		}
		/* A required extension (lower case, "link"): not ours. */
		if (b[off] < 'A' || b[off] > 'Z')
			break;
		off += 8 + size;
	}
out:
	free(b);
	return found;
}

int
ri_index_is_head(struct repo *r)
{
	unsigned char	 oid[OID_LEN];
	char		 path[PATH_MAX], err[8];
	git_tree	*head;
	const git_oid	*id;
	int		 same;

	if (snprintf(path, sizeof(path), "%sindex",
	    git_repository_path(r->git)) >= (int)sizeof(path) ||
	    !index_root_tree(path, oid))
		return 0;
	if (ri_head_tree(r, &head, err, sizeof(err)) != 0 || head == NULL)
		return 0;
	id = git_tree_id(head);
	same = memcmp(id->id, oid, OID_LEN) == 0;
	git_tree_free(head);
	return same;
}
