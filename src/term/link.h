/*
 * link: URLs opened inside terminals. Link openers (xdg-open and friends,
 * $BROWSER) are replaced in each terminal's PATH by a small helper program
 * that hands the URL to term over a unix socket; term turns it into a
 * terminal_link_request event.
 */
#ifndef LINK_H
#define LINK_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;

#define LINK_MAX_URL		4096
#define LINK_REPEAT_SECS	5	/* the same URL from one terminal, once per */

/* Names replaced by the helper (text-mode browsers are left alone). */
extern const char *const link_openers[];

struct link_request {
	const char	*terminal_id;
	const char	*command;	/* the name it was invoked as */
	const char	*url;
	pid_t		 pid;		/* of the helper's caller, from SO_PEERCRED */
};

typedef void	(*link_cb)(const struct link_request *, void *);

/*
 * Before the worker's event loop: create a private directory holding the
 * socket and a bin/ directory with one entry per opener that runs helper.
 * Returns -1 with err on failure.
 */
int		 link_init(struct event_base *, const char *helper_path,
		    link_cb, void *arg, char *err, size_t errlen);
/* What a terminal's environment needs: PATH prefix and the socket. */
const char	*link_bindir(void);
const char	*link_socket(void);
void		 link_shutdown(void);

#endif
