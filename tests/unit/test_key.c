#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "portacoded.h"
#include "key.h"

static char	 dir[64];
static char	 err[1024];

/* Keys are slow to make: one 2048-bit key shared by the tests. */
static EVP_PKEY	*rsa2048;

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_key.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return rsa2048 == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	EVP_PKEY_free(rsa2048);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

enum pemkind { PEM_PKCS8, PEM_PKCS1 };

static void
write_key(const char *path, EVP_PKEY *pkey, enum pemkind kind)
{
	BIO	*bio;
	int	 ok;

	bio = BIO_new_file(path, "w");
	assert_non_null(bio);
	if (kind == PEM_PKCS1)
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL,
		    NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
		    NULL);
	assert_int_equal(ok, 1);
	BIO_free(bio);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
write_text(const char *path, const char *text)
{
	FILE	*f;

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int
file_contains(const char *path, const char *needle)
{
	char	 buf[8192];
	FILE	*f;
	size_t	 n;

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void
assert_same_key(EVP_PKEY *a, EVP_PKEY *b)
{
	assert_int_equal(EVP_PKEY_eq(a, b), 1);
}

static void
test_load_pkcs1(void **state)
{
	char		 path[128];
	EVP_PKEY	*k;

	(void)state;
	tpath(path, sizeof(path), "pkcs1.pem");
	write_key(path, rsa2048, PEM_PKCS1);
	assert_true(file_contains(path, "-----BEGIN RSA PRIVATE KEY-----"));
	k = key_load(path, err, sizeof(err));
	if (k == NULL)
		fail_msg("%s", err);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	assert_same_key(k, rsa2048);
	EVP_PKEY_free(k);
}

static void
test_load_pkcs8(void **state)
{
	char		 path[128];
	EVP_PKEY	*k;

	(void)state;
	tpath(path, sizeof(path), "pkcs8.pem");
	write_key(path, rsa2048, PEM_PKCS8);
	assert_true(file_contains(path, "-----BEGIN PRIVATE KEY-----"));
	k = key_load(path, err, sizeof(err));
	if (k == NULL)
		fail_msg("%s", err);
	assert_same_key(k, rsa2048);
	EVP_PKEY_free(k);
}

static void
test_load_1024_and_group_readable(void **state)
{
	char		 path[128];
	EVP_PKEY	*small, *k;

	(void)state;
	/* Upstream keys are 1024 bits and often mode 0644: still accepted. */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(small);
	tpath(path, sizeof(path), "upstream.pem");
	write_key(path, small, PEM_PKCS1);
	assert_int_equal(chmod(path, 0644), 0);
	k = key_load(path, err, sizeof(err));
	if (k == NULL)
		fail_msg("%s", err);
	assert_int_equal(EVP_PKEY_get_bits(k), 1024);
	EVP_PKEY_free(k);
	EVP_PKEY_free(small);
}

static void
test_load_too_small(void **state)
{
	char		 path[128], want[256];
	EVP_PKEY	*small;

	(void)state;
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(small);
	tpath(path, sizeof(path), "small.pem");
	write_key(path, small, PEM_PKCS8);
	EVP_PKEY_free(small);
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s has 512 bits, at least 1024 required",
	    path);
	assert_string_equal(err, want);
}

static void
test_load_ec(void **state)
{
	char		 path[128], want[256];
	EVP_PKEY	*ec;

	(void)state;
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	tpath(path, sizeof(path), "ec.pem");
	write_key(path, ec, PEM_PKCS8);
	EVP_PKEY_free(ec);
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is not an RSA key", path);
	assert_string_equal(err, want);
}

static void
test_load_garbage(void **state)
{
	char	 path[128], want[256];

	(void)state;
	tpath(path, sizeof(path), "garbage.pem");
	write_text(path, "this is not a key\n");
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is not a PEM private key", path);
	assert_string_equal(err, want);

	/* Truncated PEM body. */
	write_text(path, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n"
	    "-----END PRIVATE KEY-----\n");
	assert_null(key_load(path, err, sizeof(err)));
	assert_string_equal(err, want);

	/* A public key is not a private key. */
	tpath(path, sizeof(path), "pub.pem");
	{
		BIO *bio = BIO_new_file(path, "w");

		assert_non_null(bio);
		assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa2048), 1);
		BIO_free(bio);
	}
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is not a PEM private key", path);
	assert_string_equal(err, want);

	/* Empty file. */
	tpath(path, sizeof(path), "empty.pem");
	write_text(path, "");
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is not a PEM private key", path);
	assert_string_equal(err, want);
}

static void
test_load_encrypted(void **state)
{
	char	 path[128];
	BIO	*bio;

	(void)state;
	tpath(path, sizeof(path), "enc.pem");
	bio = BIO_new_file(path, "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, rsa2048,
	    EVP_aes_128_cbc(), "secret", 6, NULL, NULL), 1);
	BIO_free(bio);
	/* Must fail without prompting (stdin is not read). */
	assert_null(key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "encrypted"));
}

static void
test_load_missing_and_dir(void **state)
{
	char	 path[128], want[256];

	(void)state;
	tpath(path, sizeof(path), "nope");
	assert_null(key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot open %s: No such file or "
	    "directory", path);
	assert_string_equal(err, want);
	assert_null(key_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s is not a regular file", dir);
	assert_string_equal(err, want);
}

static void
test_generate(void **state)
{
	char		 path[256], pub[300], sub[128], want[300];
	struct stat	 st;
	EVP_PKEY	*k, *pk;
	BIO		*bio;

	(void)state;
	/* The last directory component is created 0700. */
	tpath(sub, sizeof(sub), "keys");
	snprintf(path, sizeof(path), "%s/id_portacode", sub);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	if (key_generate(path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_true(file_contains(path, "-----BEGIN PRIVATE KEY-----"));
	assert_true(file_contains(pub, "-----BEGIN PUBLIC KEY-----"));

	k = key_load(path, err, sizeof(err));
	if (k == NULL)
		fail_msg("%s", err);
	assert_int_equal(EVP_PKEY_get_bits(k), KEY_NEW_BITS);

	/* The .pub file is the public half of that key. */
	bio = BIO_new_file(pub, "r");
	assert_non_null(bio);
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pk);
	assert_same_key(k, pk);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(k);

	/* No temporary files left behind. */
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2",
		    sub);
		assert_int_equal(system(cmd), 0);
	}

	/* Refuses to overwrite, and leaves the key alone. */
	assert_int_equal(key_generate(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s already exists", path);
	assert_string_equal(err, want);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_generate_errors(void **state)
{
	char		 path[160], link_path[128], file_path[128];
	struct stat	 st;
	int		 fd;

	(void)state;
	/* Missing directories are created, each 0700, like mkdir -p. */
	snprintf(path, sizeof(path), "%s/a/b/id_portacode", dir);
	assert_int_equal(key_generate(path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A file where a directory must be is an error. */
	tpath(file_path, sizeof(file_path), "plainfile");
	assert_true((fd = open(file_path, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub/id_portacode", file_path);
	assert_int_equal(key_generate(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Not a directory"));

	/* A dangling symlink at the path counts as existing. */
	tpath(link_path, sizeof(link_path), "dangling");
	assert_int_equal(symlink("/nonexistent/target", link_path), 0);
	assert_int_equal(key_generate(link_path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
}

static void
test_sign_verify(void **state)
{
	static const char challenge[] = "6f1c2b0e-challenge-\xc3\xa9";
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	 sig[1024];
	char		*b64;
	int		 n;

	(void)state;
	b64 = key_sign_b64(rsa2048, challenge, strlen(challenge));
	assert_non_null(b64);
	assert_null(strchr(b64, '\n'));
	/* 2048-bit signature: 256 bytes -> 344 base64 characters. */
	assert_int_equal(strlen(b64), 344);
	n = EVP_DecodeBlock(sig, (unsigned char *)b64, (int)strlen(b64));
	assert_int_equal(n, 258);	/* DecodeBlock counts the padding */

	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL,
	    rsa2048), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0);
	assert_int_equal(EVP_DigestVerify(ctx, sig, 256,
	    (const unsigned char *)challenge, strlen(challenge)), 1);
	/* A different message does not verify. */
	assert_int_equal(EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL,
	    rsa2048), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, 256,
	    (const unsigned char *)"other", 5), 1);
	EVP_MD_CTX_free(ctx);
	free(b64);

	/* PKCS#1 v1.5 is deterministic: same input, same signature. */
	b64 = key_sign_b64(rsa2048, "x", 1);
	{
		char *again = key_sign_b64(rsa2048, "x", 1);

		assert_string_equal(b64, again);
		free(again);
	}
	free(b64);
}

static void
test_pubkey_b64(void **state)
{
	unsigned char	 der[1024], *mine = NULL;
	const unsigned char *p;
	char		*b64;
	EVP_PKEY	*pk;
	int		 n, mlen, pad;

	(void)state;
	b64 = key_pubkey_b64(rsa2048);
	assert_non_null(b64);
	assert_null(strchr(b64, '\n'));
	assert_int_equal(strlen(b64) % 4, 0);
	assert_int_equal(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/="), strlen(b64));
	n = EVP_DecodeBlock(der, (unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0);
	pad = (int)strlen(b64) - (int)strcspn(b64, "=");
	n -= pad;
	mlen = i2d_PUBKEY(rsa2048, &mine);
	assert_int_equal(n, mlen);
	assert_memory_equal(der, mine, mlen);
	OPENSSL_free(mine);

	p = der;
	pk = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pk);
	assert_same_key(pk, rsa2048);
	EVP_PKEY_free(pk);
	free(b64);
}

static void
test_fingerprint(void **state)
{
	unsigned char	*der = NULL, md[32], enc[64];
	char		*fp;
	int		 len;

	(void)state;
	fp = key_fingerprint(rsa2048);
	assert_non_null(fp);
	assert_int_equal(strncmp(fp, "SHA256:", 7), 0);
	/* 32 bytes -> 44 base64 characters, 43 without the '=' padding. */
	assert_int_equal(strlen(fp), 7 + 43);
	assert_null(strchr(fp, '='));

	len = i2d_PUBKEY(rsa2048, &der);
	assert_true(len > 0);
	assert_int_equal(EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL), 1);
	OPENSSL_free(der);
	assert_int_equal(EVP_EncodeBlock(enc, md, 32), 44);
	enc[43] = '\0';
	assert_string_equal(fp + 7, (char *)enc);
	free(fp);
}

static void
test_default_path(void **state)
{
	char		 buf[1024], want[1024];
	struct passwd	*pw;

	(void)state;
	assert_int_equal(key_default_path(1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, PC_SYSTEM_KEYFILE);
	assert_string_equal(buf, "/var/lib/portacoded/id_portacode");

	pw = getpwuid(getuid());
	assert_non_null(pw);
	setenv("HOME", "/somewhere/else", 1);	/* must not be used */
	assert_int_equal(key_default_path(0, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/.local/share/portacode/keys/"
	    "id_portacode", strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir);
	assert_string_equal(buf, want);

	assert_int_equal(key_default_path(0, buf, 8), -1);
	assert_int_equal(key_default_path(1, buf, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_pkcs1),
		cmocka_unit_test(test_load_pkcs8),
		cmocka_unit_test(test_load_1024_and_group_readable),
		cmocka_unit_test(test_load_too_small),
		cmocka_unit_test(test_load_ec),
		cmocka_unit_test(test_load_garbage),
		cmocka_unit_test(test_load_encrypted),
		cmocka_unit_test(test_load_missing_and_dir),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_pubkey_b64),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
