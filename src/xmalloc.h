#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

/* Allocation failure is fatal: a process that cannot allocate cannot keep its promises. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
/* strlcpy semantics; returns -1 when truncated. */
int	 strlcpy_chk(char *, const char *, size_t);
void	 freezero_str(char *);
/* printf into a caller's error buffer; a NULL or empty buffer is ignored. */
void	 seterr(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
