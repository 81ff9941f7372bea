/*
 * portacoded: shared definitions for every process.
 */
#ifndef PORTACODED_H
#define PORTACODED_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define PC_VERSION		PACKAGE_VERSION
#define PC_CONF_FILE		SYSCONFDIR "/portacoded/portacoded.conf"
#define PC_SYSTEM_KEYFILE	"/var/lib/portacoded/id_portacode"
#define PC_USER_KEYDIR		".local/share/portacode/keys"	/* under $HOME */
#define PC_DEFAULT_GATEWAY	"wss://portacode.com/gateway"
#define PC_DEFAULT_CAFILE	"/etc/ssl/certs/ca-certificates.crt"

/* The parent socket sits at this fd in every child after re-exec. */
#define PC_PARENT_FD		3

/* Process roles. The order is the order the parent starts them in. */
enum role {
	ROLE_PARENT = 0,
	ROLE_NET,
	ROLE_TERM,
	ROLE_FS,
	ROLE_GIT,
	ROLE_PRIV,
	ROLE_MAX
};
#define ROLE_FIRST_WORKER	ROLE_TERM

const char	*role_name(enum role);
int		 role_from_name(const char *);	/* -1 if unknown */

/* config.c */
#define CONF_MAX_ROOTS		32
#define CONF_DEFAULT_READ	(16ULL * 1024 * 1024)
#define CONF_MIN_READ		1024ULL
#define CONF_MAX_READ		(32ULL * 1024 * 1024)	/* the answer must fit IPC_MAX_DATA */
#define CONF_DEFAULT_CACHE	(64ULL * 1024 * 1024)	/* = STORE_DEFAULT_LIMIT */
#define CONF_MIN_CACHE		(64ULL * 1024)
#define CONF_MAX_CACHE		(4ULL * 1024 * 1024 * 1024)
#define CONF_MAX_SIZE		(64 * 1024)
#define CONF_MAX_LINE		4096

enum loglevel {
	LOGLEVEL_QUIET = 0,
	LOGLEVEL_ERROR,
	LOGLEVEL_INFO,
	LOGLEVEL_VERBOSE,
	LOGLEVEL_DEBUG
};

struct gateway_url {
	int		 tls;		/* wss */
	char		 host[256];
	char		 port[8];
	char		 path[1024];	/* starts with '/' */
	int		 loopback;	/* host is a loopback name or address */
};

struct config {
	struct gateway_url gateway;
	char		 gateway_text[1400];
	char		 user[64];	/* target user; "" = unset */
	char		 keyfile[1024];	/* "" = default for the mode */
	char		 cafile[1024];
	enum loglevel	 loglevel;
	int		 proxmox_setup;
	int		 sandbox_debug;
	char		*roots[CONF_MAX_ROOTS];
	int		 nroots;
	uint64_t	 file_read_limit;	/* whole-file file_read */
	uint64_t	 content_cache_size;	/* git content store (reference §4.9) */
};

void	 config_defaults(struct config *);
/*
 * Parse config text. On error, writes "line N: reason" into err and
 * returns -1. `source` names the text in messages.
 */
int	 config_parse(struct config *, const char *text, size_t len,
	    char *err, size_t errlen);
int	 config_load(struct config *, const char *path, char **textp,
	    size_t *lenp, char *err, size_t errlen);
int	 config_check_mode(const struct config *, int system_mode,
	    char *err, size_t errlen);
void	 config_clear(struct config *);
int	 gateway_url_parse(struct gateway_url *, const char *, char *err,
	    size_t errlen);
int	 loglevel_from_name(const char *);

#endif
