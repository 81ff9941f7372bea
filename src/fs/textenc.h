/*
 * textenc: the encodings file_read accepts, decoded natively into UTF-8
 * with U+FFFD for what does not decode (Python's errors="replace").
 * Native rather than iconv: iconv loads gconv modules at run time,
 * which the fs sandbox does not allow, and four encodings are small.
 */
#ifndef FS_TEXTENC_H
#define FS_TEXTENC_H

#include <stddef.h>
#include <stdint.h>

enum textenc {
	TE_UTF8 = 0,
	TE_LATIN1,
	TE_ASCII,
	TE_UTF16,	/* BOM decides; little-endian without one */
	TE_UTF16LE,
	TE_UTF16BE
};

/* Python-style names ("UTF-8", "utf_8", "latin1", …); -1 if unknown. */
int	 textenc_lookup(const char *);

struct textdec {
	enum textenc	 enc;
	int		 started;	/* past a possible BOM */
	int		 big;		/* UTF-16 byte order */
	unsigned char	 carry[4];	/* a sequence split across feeds */
	size_t		 ncarry;
	uint32_t	 high;		/* pending UTF-16 high surrogate */
};

/* out needs room for TEXTDEC_ROOM(len) bytes. */
#define TEXTDEC_ROOM(len)	(3 * (len) + 16)

void	 textdec_init(struct textdec *, enum textenc);
/* Decode the next len bytes; last flushes what is pending. */
size_t	 textdec_feed(struct textdec *, const unsigned char *, size_t,
	    int last, char *out);

#endif
