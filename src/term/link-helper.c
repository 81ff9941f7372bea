/*
 * portacoded-link: stands in for xdg-open and friends inside a terminal.
 * Invoked under an opener's name (through a symlink in the terminal's
 * PATH, or $BROWSER) or as "portacoded-link NAME ARGS...". It hands the
 * first URL argument to term over PORTACODE_LINK_SOCKET and exits 0 once
 * term has taken it, so the calling program sees a browser that opened.
 *
 * Deliberately tiny: no libevent, no shell, no Python.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "term/link.h"

#define HELPER_NAME	"portacoded-link"
#define LINK_MAGIC	"PCLINK1"	/* as in link.c */
#define TIMEOUT_MS	2000

static int
fail(const char *msg)
{
	fprintf(stderr, "%s: %s\n", HELPER_NAME, msg);
	return 1;
}

static const char *
base_name(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* kfmclient exec URL, gio-open URL, xdg-open URL: the first URL wins. */
static const char *
find_url(char **args, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (strstr(args[i], "://") != NULL ||
		    strncasecmp(args[i], "mailto:", 7) == 0)
			return args[i];
	}
	return NULL;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { TIMEOUT_MS / 1000, 0 };
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* A full backlog would block connect and send; bound both. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Whatever term answered before closing or the deadline, as a string. */
static void
read_answer(int fd, char *buf, size_t size, const struct timespec *deadline)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	size_t		 len = 0;
	ssize_t		 n;
	int		 r;

	while (len < size - 1 && memchr(buf, '\n', len) == NULL) {
		r = poll(&pfd, 1, (int)ms_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
}

int
main(int argc, char **argv)
{
	const char	*name, *url, *id, *sock;
	char		*req, *p, answer[32];
	struct timespec	 deadline;
	size_t		 len;
	int		 fd, first = 1;

	name = argc > 0 ? base_name(argv[0]) : HELPER_NAME;
	if (strcmp(name, HELPER_NAME) == 0) {
		name = argc > 1 ? argv[1] : "";
		first = 2;
	}
	url = first < argc ? find_url(argv + first, argc - first) : NULL;
	id = getenv("PORTACODE_TERMINAL_ID");
	sock = getenv("PORTACODE_LINK_SOCKET");
	if (url == NULL || id == NULL || sock == NULL || *name == '\0')
		return fail("no URL to open");
	if (strlen(url) > LINK_MAX_URL)
		return fail("URL refused");

	/* "PCLINK1\0<terminal id>\0<command>\0<url>\0" */
	len = strlen(LINK_MAGIC) + strlen(id) + strlen(name) + strlen(url) + 4;
	if ((req = malloc(len)) == NULL)
		return fail("out of memory");
	p = stpcpy(req, LINK_MAGIC) + 1;
	p = stpcpy(p, id) + 1;
	p = stpcpy(p, name) + 1;
	stpcpy(p, url);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TIMEOUT_MS / 1000;
	answer[0] = '\0';
	if ((fd = connect_to(sock)) != -1) {
		if (send_all(fd, req, len) == 0)
			read_answer(fd, answer, sizeof(answer), &deadline);
		close(fd);
	}
	free(req);
	if (strcmp(answer, "ok\n") == 0)
		return 0;
	if (strcmp(answer, "rejected\n") == 0)
		return fail("URL refused");
	return fail("cannot reach the terminal service");
}
