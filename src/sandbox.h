#ifndef SANDBOX_H
#define SANDBOX_H

#include <sys/types.h>
#include "portacoded.h"

/* privdrop.c: every function is fatal on failure. */
void	privdrop_chroot(const char *dir);
/*
 * Switch to uid/gid with the supplementary groups of `name` (or only gid
 * when name is NULL), then prove the old ids cannot be restored.
 */
void	privdrop_user(uid_t, gid_t, const char *name);
/* PR_SET_NO_NEW_PRIVS, core dumps off, and the role's rlimits. */
void	sandbox_limits(enum role);

/* sandbox.c: the role's seccomp allowlist; debug traps and logs instead of killing. */
int	sandbox_has_filter(enum role);
void	sandbox_filter(enum role, int debug);

#endif
