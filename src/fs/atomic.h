/*
 * atomic: write a file so that a crash or kill at any point leaves the
 * old content or the new, never a mix, and (all but a window of two
 * system calls) no temporary file behind.
 */
#ifndef FS_ATOMIC_H
#define FS_ATOMIC_H

#include <stddef.h>

#define ATOMIC_NOREPLACE	0x01	/* fail with EEXIST if name exists */

/* The temporary names we use: ".<name>.pctmp-XXXXXX". */
#define ATOMIC_TMP_TAG		".pctmp-"

/*
 * Write data as dirfd/name (dirfd may be O_PATH). An existing file's
 * mode is kept, and its owner where permitted. 0 or -1 with errno.
 */
int	 atomic_write(int dirfd, const char *name, const void *data,
	    size_t len, int flags);
/* The umask new files get, read once before the sandbox. */
void	 atomic_init(void);

#endif
