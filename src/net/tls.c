/*
 * TLS client context for the gateway link. It is built before net enters
 * its chroot, so everything OpenSSL would otherwise read from disk later
 * (configuration, CA certificates) is read here, once.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "net/ws.h"

static void
tls_error(char *err, size_t errlen, const char *what)
{
	char		 buf[256];
	unsigned long	 e;

	/* The oldest queued error is the root cause ("No such file"). */
	if ((e = ERR_peek_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

SSL_CTX *
tls_ctx_new(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX		*ctx;
	unsigned char	 seed;
	char		 what[1200];

	/*
	 * Load openssl.cnf, error strings and providers now: after the
	 * chroot there is no file system to load them from.
	 */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
	    NULL) != 1) {
		tls_error(err, errlen, "OpenSSL initialisation failed");
		return NULL;
	}
	/* Instantiate the DRBG while the seed sources are reachable. */
	if (RAND_bytes(&seed, 1) != 1) {
		tls_error(err, errlen, "random number generator unavailable");
		return NULL;
	}
	if (cafile == NULL || *cafile == '\0') {
		snprintf(err, errlen, "no CA file configured");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tls_error(err, errlen, "cannot require TLS 1.2");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 10);
	/*
	 * A file only, never a directory: a hashed CA directory is
	 * consulted lazily during verification, i.e. inside the chroot.
	 */
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		snprintf(what, sizeof(what), "cannot load CA file %s", cafile);
		tls_error(err, errlen, what);
		goto fail;
	}
	/* The client never resumes sessions; keep nothing around. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
