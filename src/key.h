#ifndef KEY_H
#define KEY_H

#include <stddef.h>
#include <openssl/evp.h>

#define KEY_MIN_BITS	1024
#define KEY_NEW_BITS	3072

/* Load an RSA private key (PKCS#1 or PKCS#8 PEM, unencrypted, >= 1024 bits). */
EVP_PKEY	*key_load(const char *path, char *err, size_t errlen);
/*
 * Create path (0600) and path.pub with a new RSA 3072 key; the directory
 * is created 0700 if missing. Refuses to overwrite an existing key.
 */
int		 key_generate(const char *path, char *err, size_t errlen);
char		*key_pubkey_b64(EVP_PKEY *);		/* base64 DER SubjectPublicKeyInfo */
char		*key_fingerprint(EVP_PKEY *);		/* "SHA256:" + base64(sha256(DER)) unpadded */
/* RSA PKCS#1 v1.5 over SHA-256, base64. NULL on failure. */
char		*key_sign_b64(EVP_PKEY *, const void *, size_t);
/* Default key path for the mode; user mode uses $HOME of the given uid. */
int		 key_default_path(int system_mode, char *, size_t);

#endif
