/*
 * portacoded: entry point. Without -x this is the parent; with -x ROLE it
 * is one of the children the parent re-executed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "portacoded.h"
#include "key.h"
#include "log.h"
#include "monitor.h"
#include "xmalloc.h"

static void __attribute__((noreturn))
usage(void)
{
	log_warnx("usage: portacoded [-dDeFKtV] [-f config_file]");
	exit(1);
}

static int
resolve_keypath(const struct config *conf, int system_mode, char *buf,
    size_t len)
{
	if (conf->keyfile[0] != '\0')
		return strlcpy_chk(buf, conf->keyfile, len);
	return key_default_path(system_mode, buf, len);
}

/* -t: the config and the key, as the daemon would load them. */
static int
test_config(const char *path)
{
	struct config	 conf;
	EVP_PKEY	*key;
	char		 err[512], keypath[1024], *text;
	size_t		 len;
	int		 system_mode = (geteuid() == 0);

	config_defaults(&conf);
	if (config_load(&conf, path, &text, &len, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if (config_check_mode(&conf, system_mode, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", path, err);
		free(text);
		return 1;
	}
	free(text);
	if (resolve_keypath(&conf, system_mode, keypath, sizeof(keypath)) ==
	    -1) {
		log_warnx("%s: cannot determine the key path", path);
		return 1;
	}
	if ((key = key_load(keypath, err, sizeof(err))) == NULL) {
		log_warnx("%s (create one with portacoded -K)", err);
		return 1;
	}
	EVP_PKEY_free(key);
	config_clear(&conf);
	return 0;
}

/* -K: create the key if missing and show what the dashboard asks for. */
static int
make_key(const char *path)
{
	struct config	 conf;
	struct stat	 st;
	EVP_PKEY	*key;
	char		 err[512], keypath[1024], *text, *pub, *fp;
	size_t		 len;

	config_defaults(&conf);
	/* No config yet is fine: the key goes to the default place. */
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		if (config_load(&conf, path, &text, &len, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			return 1;
		}
		free(text);
	}
	if (resolve_keypath(&conf, geteuid() == 0, keypath,
	    sizeof(keypath)) == -1) {
		log_warnx("cannot determine the key path");
		return 1;
	}
	if (stat(keypath, &st) == -1) {
		if (key_generate(keypath, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			return 1;
		}
		printf("Created %s (RSA %d)\n", keypath, KEY_NEW_BITS);
	}
	if ((key = key_load(keypath, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	pub = key_pubkey_b64(key);
	fp = key_fingerprint(key);
	printf("Public key (add it to the Portacode dashboard):\n%s\n", pub);
	printf("Fingerprint: %s\n", fp);
	free(pub);
	free(fp);
	EVP_PKEY_free(key);
	config_clear(&conf);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct monitor_opts	 opts;
	const char		*role = NULL;
	int			 ch, check = 0, mkkey = 0, r;

	log_init(1, LOGLEVEL_INFO);
	memset(&opts, 0, sizeof(opts));
	opts.conffile = PC_CONF_FILE;
	while ((ch = getopt(argc, argv, "dDeFf:KtVx:")) != -1) {
		switch (ch) {
		case 'd':
			opts.debug = opts.foreground = opts.log_stderr = 1;
			break;
		case 'D':
			opts.foreground = 1;
			break;
		case 'e':
			opts.log_stderr = 1;
			break;
		case 'F':
			opts.sandbox_debug = 1;
			break;
		case 'f':
			opts.conffile = optarg;
			break;
		case 'K':
			mkkey = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("portacoded %s\n", PC_VERSION);
			return 0;
		case 'x':
			role = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (role != NULL) {
		if ((r = role_from_name(role)) == -1)
			usage();
		return proc_child(r, opts.log_stderr, opts.debug,
		    opts.sandbox_debug);
	}
	if (check)
		return test_config(opts.conffile);
	if (mkkey)
		return make_key(opts.conffile);
	return monitor_main(&opts);
}
