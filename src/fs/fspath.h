/*
 * fspath: the one place where a path from a command becomes a file
 * descriptor. With AllowedRoots set, a path must name something beneath
 * one of the roots as written, and the kernel resolves it with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the root's
 * descriptor, so neither "..", nor a symlink, nor a directory swapped
 * for a symlink mid-operation can lead outside. Everything after that
 * works on descriptors.
 *
 * Functions return -1 with errno set; EXDEV means "outside AllowedRoots"
 * (fspath_denied() tells the two apart from a real EXDEV).
 */
#ifndef FS_FSPATH_H
#define FS_FSPATH_H

#include <sys/types.h>
#include <stddef.h>

#include "portacoded.h"

#define FSPATH_MAX	4096

/* (Re)load the roots; called as the target user, after the drop. */
void	 fspath_configure(const struct config *);
/* 1 when AllowedRoots confines the fs worker. */
int	 fspath_confined(void);
/* 1 when errno from an fspath call means the policy refused the path. */
int	 fspath_denied(int err);

/* open(2) of the path itself; O_CLOEXEC is added. */
int	 fspath_open(const char *path, int flags, mode_t mode);
/*
 * The directory holding the path's last component, opened O_PATH, and
 * that component in name (never "", "." or ".."; EINVAL otherwise).
 */
int	 fspath_parent(const char *path, char *name, size_t namelen);
/*
 * The same beneath a directory descriptor, whatever the policy: rel
 * must not lead out of dirfd (EXDEV), symlinks included.
 */
int	 fspath_beneath_open(int dirfd, const char *rel, int flags,
	    mode_t mode);
int	 fspath_beneath_parent(int dirfd, const char *rel, char *name,
	    size_t namelen);
/* mkdir -p of path (inside the policy); 0 or -1. */
int	 fspath_mkdirs(const char *path);

/* Lexical helpers on path strings. */
/* Absolute form (relative paths are taken from the worker's cwd). */
int	 fspath_absolute(const char *path, char *out, size_t outlen);
/* dirname(3) without modifying its input. */
void	 fspath_dirname(const char *path, char *out, size_t outlen);
/* 1 if name is usable as a single new entry name. */
int	 fspath_name_ok(const char *name);

#endif
