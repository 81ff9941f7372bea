/*
 * textenc: UTF-8, Latin-1, ASCII and UTF-16 to UTF-8, chunk by chunk.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "json.h"
#include "fs/textenc.h"

static const struct {
	const char	*name;		/* normalised: lower case, '_' */
	enum textenc	 enc;
} names[] = {
	{ "utf_8", TE_UTF8 },		{ "utf8", TE_UTF8 },
	{ "u8", TE_UTF8 },		{ "latin_1", TE_LATIN1 },
	{ "latin1", TE_LATIN1 },	{ "iso_8859_1", TE_LATIN1 },
	{ "iso8859_1", TE_LATIN1 },	{ "8859", TE_LATIN1 },
	{ "l1", TE_LATIN1 },		{ "ascii", TE_ASCII },
	{ "us_ascii", TE_ASCII },	{ "utf_16", TE_UTF16 },
	{ "utf16", TE_UTF16 },		{ "utf_16_le", TE_UTF16LE },
	{ "utf_16le", TE_UTF16LE },	{ "utf_16_be", TE_UTF16BE },
	{ "utf_16be", TE_UTF16BE },
};

int
textenc_lookup(const char *name)
{
	char	 norm[32];
	size_t	 i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i + 1 >= sizeof(norm))
			return -1;
		norm[i] = name[i] == '-' || name[i] == ' ' ? '_' :
		    tolower((unsigned char)name[i]);
	}
	norm[i] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(norm, names[i].name) == 0)
			return names[i].enc;
	return -1;
}

void
textdec_init(struct textdec *d, enum textenc enc)
{
	memset(d, 0, sizeof(*d));
	d->enc = enc;
	d->big = enc == TE_UTF16BE;
}

#define REPLACEMENT	0xfffd

/* Valid runs are copied; each invalid maximal subpart becomes U+FFFD. */
static size_t
utf8_span(const unsigned char *in, size_t len, int last, char *out,
    size_t *used)
{
	size_t	 i = 0, o = 0;
	int	 n;

	while (i < len) {
		if (in[i] < 0x80) {
			out[o++] = (char)in[i++];
			continue;
		}
		n = utf8_check(in + i, len - i);
		if (n > 0) {
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
		} else if (n == 0 && !last) {
			break;		/* the rest comes with the next feed */
		} else {
			o += utf8_put(out + o, REPLACEMENT);
			i += n == 0 ? len - i : (size_t)-n;
		}
	}
	*used = i;
	return o;
}

static size_t
feed_utf8(struct textdec *d, const unsigned char *in, size_t len, int last,
    char *out)
{
	unsigned char	 tmp[8];
	size_t		 o = 0, used, take;

	if (!d->started) {
		d->started = 1;
		/* Python's utf-8 codec keeps a BOM as U+FEFF; so do we. */
	}
	if (d->ncarry > 0) {
		take = len < 4 ? len : 4;
		memcpy(tmp, d->carry, d->ncarry);
		if (take > 0)	/* in may be NULL for the final flush */
			memcpy(tmp + d->ncarry, in, take);
		o = utf8_span(tmp, d->ncarry + take, last && take == len,
		    out, &used);
		if (used < d->ncarry) {
			/* Still incomplete: only possible when in is tiny. */
			memcpy(d->carry, tmp, d->ncarry + take);
			d->ncarry += take;
			return o;
		}
		in += used - d->ncarry;
		len -= used - d->ncarry;
		d->ncarry = 0;
	}
	o += utf8_span(in, len, last, out + o, &used);
	if (used < len) {
		memcpy(d->carry, in + used, len - used);
		d->ncarry = len - used;
	}
	return o;
}

static size_t
feed_single(struct textdec *d, const unsigned char *in, size_t len,
    char *out)
{
	size_t	 i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] < 0x80)
			out[o++] = (char)in[i];
		else
			o += utf8_put(out + o, d->enc == TE_ASCII ?
			    REPLACEMENT : in[i]);
	}
	return o;
}

static size_t
utf16_unit(struct textdec *d, uint32_t u, char *out)
{
	size_t	 o = 0;

	if (d->high != 0) {
		if (u >= 0xdc00 && u <= 0xdfff) {
			u = 0x10000 + ((d->high - 0xd800) << 10) +
			    (u - 0xdc00);
			d->high = 0;
			return utf8_put(out, u);
		}
		d->high = 0;
		o += utf8_put(out, REPLACEMENT);
	}
	if (u >= 0xd800 && u <= 0xdbff)
		d->high = u;
	else if (u >= 0xdc00 && u <= 0xdfff)
		o += utf8_put(out + o, REPLACEMENT);
	else
		o += utf8_put(out + o, u);
	return o;
}

static size_t
feed_utf16(struct textdec *d, const unsigned char *in, size_t len, int last,
    char *out)
{
	unsigned char	 pair[2];
	size_t		 i = 0, o = 0;
	uint32_t	 u;

	while (i < len || (d->ncarry == 2)) {
		if (d->ncarry < 2) {
			d->carry[d->ncarry++] = in[i++];
			continue;
		}
		memcpy(pair, d->carry, 2);
		d->ncarry = 0;
		if (!d->started) {
			d->started = 1;
			if (d->enc == TE_UTF16 && pair[0] == 0xfe &&
			    pair[1] == 0xff) {
				d->big = 1;
				continue;
			}
			if (d->enc == TE_UTF16 && pair[0] == 0xff &&
			    pair[1] == 0xfe)
				continue;
		}
		u = d->big ? (uint32_t)pair[0] << 8 | pair[1] :
		    (uint32_t)pair[1] << 8 | pair[0];
		o += utf16_unit(d, u, out + o);
	}
	if (last) {
		if (d->high != 0 || d->ncarry != 0)
			o += utf8_put(out + o, REPLACEMENT);
		d->high = 0;
		d->ncarry = 0;
	}
	return o;
}

size_t
textdec_feed(struct textdec *d, const unsigned char *in, size_t len, int last,
    char *out)
{
	switch (d->enc) {
	case TE_UTF8:
		return feed_utf8(d, in, len, last, out);
	case TE_LATIN1:
	case TE_ASCII:
		return feed_single(d, in, len, out);
	case TE_UTF16:
	case TE_UTF16LE:
	case TE_UTF16BE:
		return feed_utf16(d, in, len, last, out);
	}
	return 0;
}
