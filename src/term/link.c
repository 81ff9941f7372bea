/*
 * link: capture of URLs opened inside terminals.
 *
 * term owns a private directory (0700) holding a listening unix socket and
 * a bin/ directory of symlinks, one per opener name, to the helper program.
 * A terminal's PATH starts with bin/, so "xdg-open URL" runs the helper,
 * which sends one request over the socket and waits for the answer.
 *
 * Unlike the reference agent there is no polled spool directory (no temp
 * file races, no 0.5 s latency), text-mode browsers keep working, repeats
 * are throttled and the directory goes away with term.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "term/link.h"

#define LINK_MAGIC		"PCLINK1"
#define LINK_FIELDS		4	/* magic, terminal id, command, url */
#define LINK_REQ_MAX		8192
#define LINK_REQ_TIMEOUT	2	/* seconds for a whole request */
#define LINK_MAX_CONNS		16
#define LINK_MAX_ID		64
#define LINK_RECENT		64
#define LINK_DIR_PREFIX		"portacoded-term-"
#define LINK_STALE_SECS		60	/* leftovers of a crashed term, older than */
#define LINK_RM_DEPTH		4

const char *const link_openers[] = {
	"xdg-open",
	"x-www-browser",
	"sensible-browser",
	"gio-open",
	"gnome-open",
	"gvfs-open",
	"kde-open",
	"kde-open5",
	"kfmclient",
	"mate-open",
	NULL
};

struct link_conn {
	TAILQ_ENTRY(link_conn)	 entry;
	int			 fd;
	pid_t			 pid;
	struct event		*ev;
	size_t			 len;
	char			 buf[LINK_REQ_MAX];
};
TAILQ_HEAD(link_conns, link_conn);

struct link_recent {
	char	*terminal_id;
	char	*url;
	time_t	 when;		/* CLOCK_MONOTONIC seconds; 0: free */
};

static struct {
	int			 active;
	pid_t			 owner;		/* only this process cleans up */
	int			 fd;
	struct event		*ev;
	struct link_conns	 conns;
	int			 nconns;
	link_cb			 cb;
	void			*arg;
	char			 dir[PATH_MAX];
	char			 bindir[PATH_MAX];
	char			 sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct link_recent	 recent[LINK_RECENT];
} lk = { .fd = -1 };

static int	atexit_done;

static time_t
now_mono(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ts.tv_sec;
}

/*
 * Remove what is at name inside directory at, following no symlinks. The
 * directory is ours and private; depth only guards against surprises.
 */
static void
rm_tree_at(int at, const char *name, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR && errno != EPERM)
		return;
	if (depth <= 0)
		return;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rm_tree_at(dirfd(d), de->d_name, depth - 1);
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		log_debug("link: rmdir %s: %s", name, strerror(errno));
}

static void
rm_tree(const char *path)
{
	rm_tree_at(AT_FDCWD, path, LINK_RM_DEPTH);
}

static void
cleanup_fs(void)
{
	if (lk.dir[0] == '\0' || lk.owner != getpid())
		return;
	rm_tree(lk.dir);
	lk.dir[0] = '\0';
}

static void
link_atexit(void)
{
	cleanup_fs();
}

/* A directory of our own that nobody else can enter. */
static int
private_dir(const char *path)
{
	struct stat	 st;

	if (lstat(path, &st) == -1)
		return 0;
	return S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 07777) == 0700;
}

static int
sock_fits(const char *base)
{
	/* base + "/" + prefix + XXXXXX + "/link.sock" + NUL */
	return strlen(base) + 1 + strlen(LINK_DIR_PREFIX) + 6 +
	    strlen("/link.sock") + 1 <= sizeof(lk.sock);
}

static const char *
pick_base(void)
{
	const char	*xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg != NULL && xdg[0] == '/' && private_dir(xdg) && sock_fits(xdg))
		return xdg;
	return "/tmp";
}

/* 1 if a unix socket answers at path; 0 if nobody listens there. */
static int
sock_alive(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, alive;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_chk(sun.sun_path, path, sizeof(sun.sun_path)) == -1)
		return 1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;
	alive = 1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    (errno == ECONNREFUSED || errno == ENOENT))
		alive = 0;
	close(fd);
	return alive;
}

/*
 * A term killed by a signal cannot clean up: remove directories of ours
 * that nobody listens in any more. The age test keeps us off a directory
 * another instance is still setting up.
 */
static void
sweep_stale(const char *base)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[PATH_MAX], sock[PATH_MAX];
	time_t		 now = time(NULL);
	int		 n;

	if ((d = opendir(base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, LINK_DIR_PREFIX,
		    strlen(LINK_DIR_PREFIX)) != 0 ||
		    strlen(de->d_name) != strlen(LINK_DIR_PREFIX) + 6)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid() ||
		    st.st_mtime > now - LINK_STALE_SECS)
			continue;
		n = snprintf(sock, sizeof(sock), "%s/link.sock", path);
		if (n < 0 || (size_t)n >= sizeof(sock) || sock_alive(sock))
			continue;
		log_debug("link: removing stale %s", path);
		rm_tree(path);
	}
	closedir(d);
}

static int
make_listener(char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_chk(sun.sun_path, lk.sock, sizeof(sun.sun_path)) == -1) {
		seterr(err, errlen, "socket path too long: %s", lk.sock);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		seterr(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* The directory is 0700, so nobody can reach the socket before chmod. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(lk.sock, 0600) == -1 || listen(fd, 16) == -1) {
		seterr(err, errlen, "%s: %s", lk.sock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
make_bin(const char *helper, char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	int	 i, n;

	if (mkdir(lk.bindir, 0700) == -1) {
		seterr(err, errlen, "mkdir %s: %s", lk.bindir, strerror(errno));
		return -1;
	}
	for (i = 0; link_openers[i] != NULL; i++) {
		n = snprintf(path, sizeof(path), "%s/%s", lk.bindir,
		    link_openers[i]);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			seterr(err, errlen, "path too long in %s", lk.bindir);
			return -1;
		}
		if (symlink(helper, path) == -1) {
			seterr(err, errlen, "symlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
conn_free(struct link_conn *c)
{
	TAILQ_REMOVE(&lk.conns, c, entry);
	lk.nconns--;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
conn_reply(struct link_conn *c, const char *msg)
{
	/* A fresh socket buffer takes a few bytes; a vanished peer is fine. */
	if (send(c->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("link: reply to pid %ld: %s", (long)c->pid,
		    strerror(errno));
	conn_free(c);
}

static int
valid_id(const char *s)
{
	size_t	 n = strlen(s);

	if (n < 1 || n > LINK_MAX_ID)
		return 0;
	return strspn(s, "0123456789abcdef") == n;
}

static int
valid_command(const char *s)
{
	int	 i;

	for (i = 0; link_openers[i] != NULL; i++)
		if (strcmp(s, link_openers[i]) == 0)
			return 1;
	return 0;
}

/* C0, DEL and C1 (U+0080..U+009F); the string is known to be UTF-8. */
static int
has_control(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Schemes a browser on the user's side can be asked to open. */
static int
valid_scheme(const char *url)
{
	static const struct {
		const char	*prefix;
		int		 need_host;
	} schemes[] = {
		{ "http://", 1 },
		{ "https://", 1 },
		{ "ftp://", 1 },
		{ "file://", 0 },
		{ "mailto:", 0 },
	};
	const char	*rest;
	size_t		 i, n;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].prefix);
		if (strncasecmp(url, schemes[i].prefix, n) != 0)
			continue;
		rest = url + n;
		if (*rest == '\0')
			return 0;
		if (schemes[i].need_host && (*rest == '/' || *rest == '?' ||
		    *rest == '#'))
			return 0;
		return 1;
	}
	return 0;
}

static int
valid_url(const char *url, size_t len)
{
	return len >= 1 && len <= LINK_MAX_URL && utf8_valid(url, len) &&
	    !has_control(url) && valid_scheme(url);
}

/*
 * Split a complete request into its fields. Exactly LINK_FIELDS
 * NUL-terminated fields and nothing after the last.
 */
static int
parse_request(char *buf, size_t len, char **f, size_t *flen, const char **why)
{
	char	*p = buf, *end = buf + len, *nul;
	int	 i;

	for (i = 0; i < LINK_FIELDS; i++) {
		if ((nul = memchr(p, '\0', end - p)) == NULL) {
			*why = "missing field";
			return -1;
		}
		f[i] = p;
		flen[i] = nul - p;
		p = nul + 1;
	}
	if (p != end) {
		*why = "trailing bytes";
		return -1;
	}
	if (strcmp(f[0], LINK_MAGIC) != 0) {
		*why = "bad magic";
		return -1;
	}
	if (!valid_id(f[1])) {
		*why = "bad terminal id";
		return -1;
	}
	if (!valid_command(f[2])) {
		*why = "unknown command";
		return -1;
	}
	if (!valid_url(f[3], flen[3])) {
		*why = "URL refused";
		return -1;
	}
	return 0;
}

/*
 * 1 if (terminal_id, url) went out less than LINK_REPEAT_SECS ago;
 * otherwise record it now, evicting the oldest entry when full.
 */
static int
recently_sent(const char *terminal_id, const char *url)
{
	struct link_recent	*r, *free_slot = NULL, *oldest = NULL;
	time_t			 now = now_mono();
	int			 i;

	for (i = 0; i < LINK_RECENT; i++) {
		r = &lk.recent[i];
		if (r->when != 0 && now - r->when >= LINK_REPEAT_SECS) {
			free(r->terminal_id);
			free(r->url);
			memset(r, 0, sizeof(*r));
		}
		if (r->when == 0) {
			if (free_slot == NULL)
				free_slot = r;
			continue;
		}
		if (strcmp(r->terminal_id, terminal_id) == 0 &&
		    strcmp(r->url, url) == 0)
			return 1;
		if (oldest == NULL || r->when < oldest->when)
			oldest = r;
	}
	r = free_slot != NULL ? free_slot : oldest;
	free(r->terminal_id);
	free(r->url);
	r->terminal_id = xstrdup(terminal_id);
	r->url = xstrdup(url);
	/* 0 marks a free slot; the monotonic clock may start near it. */
	r->when = now > 0 ? now : 1;
	return 0;
}

static void
recent_clear(void)
{
	int	 i;

	for (i = 0; i < LINK_RECENT; i++) {
		free(lk.recent[i].terminal_id);
		free(lk.recent[i].url);
		memset(&lk.recent[i], 0, sizeof(lk.recent[i]));
	}
}

static void
conn_request(struct link_conn *c)
{
	struct link_request	 req;
	char			*f[LINK_FIELDS];
	size_t			 flen[LINK_FIELDS];
	const char		*why = NULL;

	if (parse_request(c->buf, c->len, f, flen, &why) == -1) {
		log_debug("link: request from pid %ld dropped: %s",
		    (long)c->pid, why);
		conn_reply(c, "rejected\n");
		return;
	}
	if (recently_sent(f[1], f[3])) {
		log_debug("link: repeat of %s from terminal %s throttled",
		    f[3], f[1]);
		conn_reply(c, "ok\n");
		return;
	}
	req.terminal_id = f[1];
	req.command = f[2];
	req.url = f[3];
	req.pid = c->pid;
	log_verbose("link: %s from terminal %s", req.command, req.terminal_id);
	lk.cb(&req, lk.arg);
	conn_reply(c, "ok\n");
}

static int
count_nul(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nul;
	int		 n = 0;

	while (p < end && (nul = memchr(p, '\0', end - p)) != NULL) {
		n++;
		p = nul + 1;
	}
	return n;
}

static void
conn_read(evutil_socket_t fd, short what, void *arg)
{
	struct link_conn	*c = arg;
	ssize_t			 n;

	if (what & EV_TIMEOUT) {
		log_debug("link: request from pid %ld timed out", (long)c->pid);
		conn_free(c);
		return;
	}
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_debug("link: read: %s", strerror(errno));
		conn_free(c);
		return;
	}
	if (n == 0) {
		log_debug("link: request from pid %ld incomplete",
		    (long)c->pid);
		conn_free(c);
		return;
	}
	c->len += n;
	if (count_nul(c->buf, c->len) >= LINK_FIELDS) {
		conn_request(c);
		return;
	}
	if (c->len == sizeof(c->buf)) {
		log_debug("link: request from pid %ld too long", (long)c->pid);
		conn_free(c);
	}
}

static void
link_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct link_conn	*c;
	struct ucred		 cred;
	socklen_t		 credlen = sizeof(cred);
	struct timeval		 tv = { LINK_REQ_TIMEOUT, 0 };
	int			 fd;

	(void)what;
	(void)arg;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("link: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == -1 ||
	    credlen != sizeof(cred)) {
		log_warn("link: SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid != geteuid()) {
		log_debug("link: connection from uid %ld dropped",
		    (long)cred.uid);
		close(fd);
		return;
	}
	if (lk.nconns >= LINK_MAX_CONNS) {
		log_debug("link: too many pending requests");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->pid = cred.pid;
	c->ev = event_new(event_get_base(lk.ev), fd, EV_READ | EV_PERSIST,
	    conn_read, c);
	if (c->ev == NULL || event_add(c->ev, &tv) == -1)
		fatalx("link: event_new");
	TAILQ_INSERT_TAIL(&lk.conns, c, entry);
	lk.nconns++;
}

static int
setup(struct event_base *base, const char *helper, char *err, size_t errlen)
{
	const char	*root = pick_base();
	char		 tmpl[PATH_MAX];
	int		 n;

	sweep_stale(root);
	n = snprintf(tmpl, sizeof(tmpl), "%s/%sXXXXXX", root, LINK_DIR_PREFIX);
	if (n < 0 || (size_t)n >= sizeof(tmpl)) {
		seterr(err, errlen, "path too long: %s", root);
		return -1;
	}
	if (mkdtemp(tmpl) == NULL) {
		seterr(err, errlen, "mkdtemp %s: %s", tmpl, strerror(errno));
		return -1;
	}
	/* From here on, failures clean up through cleanup_fs(). */
	strlcpy_chk(lk.dir, tmpl, sizeof(lk.dir));
	n = snprintf(lk.sock, sizeof(lk.sock), "%s/link.sock", lk.dir);
	if (n < 0 || (size_t)n >= sizeof(lk.sock)) {
		seterr(err, errlen, "socket path too long in %s", lk.dir);
		return -1;
	}
	n = snprintf(lk.bindir, sizeof(lk.bindir), "%s/bin", lk.dir);
	if (n < 0 || (size_t)n >= sizeof(lk.bindir)) {
		seterr(err, errlen, "path too long: %s", lk.dir);
		return -1;
	}
	if (make_bin(helper, err, errlen) == -1)
		return -1;
	if ((lk.fd = make_listener(err, errlen)) == -1)
		return -1;
	lk.ev = event_new(base, lk.fd, EV_READ | EV_PERSIST, link_accept,
	    NULL);
	if (lk.ev == NULL || event_add(lk.ev, NULL) == -1) {
		seterr(err, errlen, "event_new failed");
		return -1;
	}
	return 0;
}

int
link_init(struct event_base *base, const char *helper_path, link_cb cb,
    void *arg, char *err, size_t errlen)
{
	if (lk.active) {
		seterr(err, errlen, "link capture already set up");
		return -1;
	}
	if (helper_path == NULL || helper_path[0] != '/') {
		seterr(err, errlen, "helper path must be absolute");
		return -1;
	}
	if (access(helper_path, X_OK) == -1) {
		seterr(err, errlen, "%s: %s", helper_path, strerror(errno));
		return -1;
	}
	TAILQ_INIT(&lk.conns);
	lk.nconns = 0;
	lk.cb = cb;
	lk.arg = arg;
	lk.owner = getpid();
	lk.active = 1;
	if (!atexit_done) {
		atexit(link_atexit);
		atexit_done = 1;
	}
	if (setup(base, helper_path, err, errlen) == -1) {
		link_shutdown();
		return -1;
	}
	log_debug("link: listening on %s", lk.sock);
	return 0;
}

const char *
link_bindir(void)
{
	return lk.active ? lk.bindir : NULL;
}

const char *
link_socket(void)
{
	return lk.active ? lk.sock : NULL;
}

/* Call before the event base is freed; atexit only removes the files. */
void
link_shutdown(void)
{
	struct link_conn	*c;

	if (!lk.active)
		return;
	while ((c = TAILQ_FIRST(&lk.conns)) != NULL)
		conn_free(c);
	if (lk.ev != NULL) {
		event_free(lk.ev);
		lk.ev = NULL;
	}
	if (lk.fd != -1) {
		close(lk.fd);
		lk.fd = -1;
	}
	cleanup_fs();
	recent_clear();
	lk.bindir[0] = '\0';
	lk.sock[0] = '\0';
	lk.active = 0;
}
