/*
 * The device key: an RSA private key in PEM. Only the parent holds it;
 * net gets signatures, never the key.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "portacoded.h"
#include "key.h"
#include "log.h"
#include "xmalloc.h"

#define KEY_MAX_FILE	(64 * 1024)

/* The last OpenSSL error as text; also empties the queue for later users. */
static const char *
ssl_error(void)
{
	static char	 buf[256];
	unsigned long	 e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown error";
	ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

/* A daemon has no one to ask: any passphrase request fails the load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)arg = 1;
	return -1;
}

static int
read_key_file(const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY))
	    == -1) {
		seterr(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		log_warnx("%s: private key is accessible by group or others "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	buf = xmalloc(KEY_MAX_FILE + 1);
	for (;;) {
		r = read(fd, buf + len, KEY_MAX_FILE + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += r;
		if (len > KEY_MAX_FILE) {
			seterr(err, errlen, "%s is larger than %d bytes", path,
			    KEY_MAX_FILE);
			goto fail;
		}
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
 fail:
	explicit_bzero(buf, len);
	free(buf);
	close(fd);
	return -1;
}

EVP_PKEY *
key_load(const char *path, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	BIO		*bio;
	char		*buf;
	size_t		 len;
	int		 asked = 0, bits;

	if (read_key_file(path, &buf, &len, err, errlen) == -1)
		return NULL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf: %s", ssl_error());
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &asked);
	BIO_free(bio);
	explicit_bzero(buf, len);
	free(buf);
	/*
	 * Decoders that were tried and failed leave errors behind even on
	 * success; later TLS code must not find them in the queue.
	 */
	ERR_clear_error();

	if (pkey == NULL) {
		if (asked)
			seterr(err, errlen, "%s is encrypted; passphrases are "
			    "not supported", path);
		else
			seterr(err, errlen, "%s is not a PEM private key",
			    path);
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		seterr(err, errlen, "%s is not an RSA key", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if ((bits = EVP_PKEY_get_bits(pkey)) < KEY_MIN_BITS) {
		seterr(err, errlen, "%s has %d bits, at least %d required",
		    path, bits, KEY_MIN_BITS);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 r;

	while (len > 0) {
		if ((r = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		len -= r;
	}
	return 0;
}

/*
 * Write PEM text to a fresh temporary file next to the target. O_EXCL and
 * O_NOFOLLOW so a planted file or symlink is never written through.
 */
static int
write_temp(const char *tmp, mode_t mode, const char *data, size_t len,
    char *err, size_t errlen)
{
	int	 fd, saved;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		seterr(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		seterr(err, errlen, "cannot write %s: %s", tmp,
		    strerror(saved));
		return -1;
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(tmp);
		seterr(err, errlen, "cannot write %s: %s", tmp,
		    strerror(saved));
		return -1;
	}
	return 0;
}

/* PEM of the private (PKCS#8) or public (SubjectPublicKeyInfo) key. */
static char *
pem_text(EVP_PKEY *pkey, int private, size_t *lenp)
{
	BIO	*bio;
	char	*data, *out = NULL;
	long	 n;
	int	 ok;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (private)
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
		    NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, pkey);
	if (ok && (n = BIO_get_mem_data(bio, &data)) > 0) {
		out = xmalloc((size_t)n);
		memcpy(out, data, (size_t)n);
		*lenp = (size_t)n;
		explicit_bzero(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

/* Missing directories on the way to the key are created 0700, as mkdir -p. */
static int
make_dirs(char *dir, char *err, size_t errlen)
{
	struct stat	 st;
	char		*slash;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		seterr(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	if (errno != ENOENT) {
		seterr(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (make_dirs(dir, err, errlen) == -1)
			return -1;
		*slash = '/';
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		seterr(err, errlen, "cannot create directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	log_info("created directory %s", dir);
	return 0;
}

static int
make_key_dir(const char *path, char *err, size_t errlen)
{
	char	*copy;
	int	 rv;

	copy = xstrdup(path);
	rv = make_dirs(dirname(copy), err, errlen);
	free(copy);
	return rv;
}

static void
sync_dir(const char *path)
{
	char	*copy;
	int	 fd;

	copy = xstrdup(path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    != -1) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int
key_generate(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pkey = NULL;
	char		*priv = NULL, *pub = NULL;
	char		*tmp = NULL, *pubpath = NULL, *pubtmp = NULL;
	size_t		 privlen = 0, publen = 0;
	int		 rv = -1, saved;

	if (lstat(path, &st) == 0) {
		seterr(err, errlen, "%s already exists", path);
		return -1;
	}
	if (errno != ENOENT) {
		seterr(err, errlen, "cannot stat %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (make_key_dir(path, err, errlen) == -1)
		return -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)KEY_NEW_BITS)) == NULL) {
		seterr(err, errlen, "cannot generate an RSA key: %s",
		    ssl_error());
		return -1;
	}
	if ((priv = pem_text(pkey, 1, &privlen)) == NULL ||
	    (pub = pem_text(pkey, 0, &publen)) == NULL) {
		seterr(err, errlen, "cannot encode the key: %s", ssl_error());
		goto out;
	}

	xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	xasprintf(&pubpath, "%s.pub", path);
	xasprintf(&pubtmp, "%s.pub.tmp.%ld", path, (long)getpid());

	/* Public half first: a crash in between leaves no private key. */
	if (write_temp(pubtmp, 0644, pub, publen, err, errlen) == -1)
		goto out;
	if (rename(pubtmp, pubpath) == -1) {
		saved = errno;
		unlink(pubtmp);
		seterr(err, errlen, "cannot rename %s to %s: %s", pubtmp,
		    pubpath, strerror(saved));
		goto out;
	}
	if (write_temp(tmp, 0600, priv, privlen, err, errlen) == -1)
		goto out;
	/* link() rather than rename(): never replace a key that appeared. */
	if (link(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		if (saved == EEXIST)
			seterr(err, errlen, "%s already exists", path);
		else
			seterr(err, errlen, "cannot create %s: %s", path,
			    strerror(saved));
		goto out;
	}
	unlink(tmp);
	sync_dir(path);
	rv = 0;
 out:
	if (priv != NULL) {
		explicit_bzero(priv, privlen);
		free(priv);
	}
	free(pub);
	free(tmp);
	free(pubpath);
	free(pubtmp);
	EVP_PKEY_free(pkey);
	return rv;
}

/* Standard base64, padded, one line; optionally without the padding. */
static char *
b64(const unsigned char *data, size_t len, int pad)
{
	char	*out;
	size_t	 n;
	int	 r;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	r = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	if (r < 0) {
		free(out);
		return NULL;
	}
	n = (size_t)r;
	out[n] = '\0';
	if (!pad)
		while (n > 0 && out[n - 1] == '=')
			out[--n] = '\0';
	return out;
}

static int
pubkey_der(EVP_PKEY *pkey, unsigned char **derp, size_t *lenp)
{
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_PUBKEY(pkey, &der)) <= 0) {
		log_warnx("i2d_PUBKEY: %s", ssl_error());
		return -1;
	}
	*derp = der;
	*lenp = (size_t)n;
	return 0;
}

char *
key_pubkey_b64(EVP_PKEY *pkey)
{
	unsigned char	*der;
	size_t		 len;
	char		*s;

	if (pubkey_der(pkey, &der, &len) == -1)
		return NULL;
	s = b64(der, len, 1);
	OPENSSL_free(der);
	return s;
}

char *
key_fingerprint(EVP_PKEY *pkey)
{
	unsigned char	*der, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	size_t		 len;
	char		*s, *fp;

	if (pubkey_der(pkey, &der, &len) == -1)
		return NULL;
	if (!EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL)) {
		log_warnx("SHA-256: %s", ssl_error());
		OPENSSL_free(der);
		return NULL;
	}
	OPENSSL_free(der);
	if ((s = b64(md, mdlen, 0)) == NULL)
		return NULL;
	xasprintf(&fp, "SHA256:%s", s);
	free(s);
	return fp;
}

char *
key_sign_b64(EVP_PKEY *pkey, const void *data, size_t len)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;
	char		*s = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new: %s", ssl_error());
	if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1) {
		log_warnx("sign: %s", ssl_error());
		goto out;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1) {
		log_warnx("sign: %s", ssl_error());
		goto out;
	}
	s = b64(sig, siglen, 1);
 out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return s;
}

int
key_default_path(int system_mode, char *buf, size_t size)
{
	struct passwd	*pw;
	int		 n;

	if (system_mode)
		return strlcpy_chk(buf, PC_SYSTEM_KEYFILE, size);
	/* The password database, not $HOME: the environment is not ours. */
	if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL ||
	    pw->pw_dir[0] != '/')
		return -1;
	n = snprintf(buf, size, "%s%s%s/id_portacode", pw->pw_dir,
	    strcmp(pw->pw_dir, "/") == 0 ? "" : "/", PC_USER_KEYDIR);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}
