/*
 * monitor: the parent process. It holds the device key, opens the gateway
 * socket for net, signs the auth challenge, and keeps its children running.
 * It never parses data that came from the network.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portacoded.h"
#include "backoff.h"
#include "ipc.h"
#include "key.h"
#include "log.h"
#include "monitor.h"
#include "xmalloc.h"

#define RESTART_BASE_MS		1000
#define RESTART_MAX_MS		30000
#define STABLE_SECS		60	/* a child up this long has its backoff reset */
#define PING_SECS		30
#define PING_DEAD_SECS		90
#define STOP_GRACE_MS		1500
#define CONNECT_TIMEOUT_SECS	10
#define CONNECT_MIN_GAP_MS	1000
#define CHALLENGE_MAX		4096

struct child {
	enum role	 role;
	pid_t		 pid;
	struct ipc	*ipc;
	int		 ready;
	int		 wanted;
	struct backoff	 bo;
	struct event	*restart_ev;
	time_t		 started;
	uint32_t	 ping_token;
	time_t		 ping_sent;	/* 0 = none outstanding */
};

struct connect_try {
	struct evutil_addrinfo	*ai;
	struct evutil_addrinfo	*cur;
	int			 fd;
	struct event		*ev;
	char			 lasterr[128];
};

static struct {
	const struct monitor_opts *opts;
	struct event_base	*base;
	struct evdns_base	*dns;
	struct config		 conf;
	char			*conftext;
	size_t			 conflen;
	int			 system_mode;
	EVP_PKEY		*key;
	char			*pubkey;
	char			 keypath[1024];
	struct child		 children[ROLE_MAX];
	int			 quitting;
	struct event		*stop_ev;
	struct event		*ping_ev;
	struct event		*watchdog_ev;
	struct connect_try	*conn;
	struct event		*conn_delay_ev;
	struct timespec		 last_connect;
	int			 sign_allowed;
	int			 link_up;
} m;

static void	child_start(struct child *);
static void	child_msg(struct ipc *, struct ipc_msg *, void *);
static void	child_err(struct ipc *, const char *, void *);
static void	connect_next(struct connect_try *);

/* ---- systemd notification, written directly ---- */

static void
sd_notify_str(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
}

static void
watchdog_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	/* Fed only while the gateway link is proven alive. */
	if (m.link_up)
		sd_notify_str("WATCHDOG=1");
}

static void
watchdog_init(void)
{
	const char	*s = getenv("WATCHDOG_USEC");
	struct timeval	 tv;
	long long	 usec;

	if (s == NULL || (usec = strtoll(s, NULL, 10)) <= 0)
		return;
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	m.watchdog_ev = event_new(m.base, -1, EV_PERSIST, watchdog_cb, NULL);
	event_add(m.watchdog_ev, &tv);
}

/* ---- children ---- */

static int
role_enabled(enum role role)
{
	if (role == ROLE_PRIV)
		return m.conf.proxmox_setup && m.system_mode;
	return role > ROLE_PARENT && role < ROLE_MAX;
}

static void
link_worker(struct child *w)
{
	struct child	*net = &m.children[ROLE_NET];
	int		 sp[2];

	if (!net->ready || !w->ready || net->ipc == NULL || w->ipc == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair net-%s", role_name(w->role));
		return;
	}
	if (ipc_send(net->ipc, IMSG_LINK, w->role, sp[0], NULL, 0) == -1)
		log_warnx("cannot hand the %s link to net", role_name(w->role));
	if (ipc_send(w->ipc, IMSG_LINK, w->role, sp[1], NULL, 0) == -1)
		log_warnx("cannot hand the net link to %s", role_name(w->role));
}

static void
child_ready(struct child *c)
{
	int	 r;

	c->ready = 1;
	log_verbose("%s ready (pid %ld)", role_name(c->role), (long)c->pid);
	if (c->role == ROLE_NET) {
		m.link_up = 0;
		ipc_send_str(c->ipc, IMSG_PUBKEY, 0, -1, m.pubkey);
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
			link_worker(&m.children[r]);
	} else
		link_worker(c);
}

static void
restart_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	child_start(arg);
}

static void
child_start(struct child *c)
{
	int	 fd;

	if (m.quitting || !c->wanted || c->pid > 0)
		return;
	c->pid = proc_spawn(c->role, &fd, m.opts->log_stderr, m.opts->debug,
	    m.opts->sandbox_debug);
	if (c->pid == -1) {
		struct timeval tv = { RESTART_MAX_MS / 1000, 0 };

		c->pid = 0;
		event_add(c->restart_ev, &tv);
		return;
	}
	c->started = time(NULL);
	c->ready = 0;
	c->ping_sent = 0;
	c->ipc = ipc_new(m.base, fd, role_name(c->role), IPC_MAX_CTL,
	    child_msg, child_err, c);
	if (ipc_send_str(c->ipc, IMSG_CONF, 0, -1, m.conftext) == -1)
		fatalx("cannot queue the config for %s", role_name(c->role));
	log_debug("started %s (pid %ld)", role_name(c->role), (long)c->pid);
}

/* Anything unexpected from a child is treated as hostile: it is restarted. */
static void
child_kill(struct child *c, const char *why)
{
	if (c->pid <= 0)
		return;
	log_warnx("%s (pid %ld): %s; killing it", role_name(c->role),
	    (long)c->pid, why);
	kill(c->pid, SIGKILL);
	if (c->ipc != NULL) {
		ipc_free(c->ipc);
		c->ipc = NULL;
	}
}

static void
child_err(struct ipc *ipc, const char *why, void *arg)
{
	struct child	*c = arg;

	(void)ipc;
	/* EOF is how a dying child looks; SIGCHLD tells the rest. */
	log_debug("link to %s: %s", role_name(c->role), why);
	ipc_free(c->ipc);
	c->ipc = NULL;
}

static void
log_child_status(struct child *c, int status)
{
	const char	*name = role_name(c->role);

	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0 && (m.quitting || !c->wanted))
			log_debug("%s exited", name);
		else
			log_warnx("%s (pid %ld) exited with status %d", name,
			    (long)c->pid, WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGSYS)
			log_warnx("%s (pid %ld) killed by its sandbox (SIGSYS): "
			    "a forbidden system call, possibly an attack; run "
			    "with -F to name it", name, (long)c->pid);
		else if (!m.quitting)
			log_warnx("%s (pid %ld) killed by signal %d (%s)", name,
			    (long)c->pid, WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
	}
}

static int
children_alive(void)
{
	int	 r, n = 0;

	for (r = ROLE_NET; r < ROLE_MAX; r++)
		if (m.children[r].pid > 0)
			n++;
	return n;
}

static void
child_reaped(struct child *c, int status)
{
	struct timeval	 tv;
	uint32_t	 ms;

	log_child_status(c, status);
	if (c->ipc != NULL) {
		ipc_free(c->ipc);
		c->ipc = NULL;
	}
	c->pid = 0;
	c->ready = 0;
	if (c->role == ROLE_NET) {
		m.sign_allowed = 0;
		m.link_up = 0;
	}
	if (m.quitting) {
		if (children_alive() == 0)
			event_base_loopexit(m.base, NULL);
		return;
	}
	if (!c->wanted)
		return;
	if (time(NULL) - c->started >= STABLE_SECS)
		backoff_reset(&c->bo);
	ms = backoff_next(&c->bo);
	log_info("restarting %s in %u.%03u s", role_name(c->role), ms / 1000,
	    ms % 1000);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(c->restart_ev, &tv);
}

static void
sigchld_cb(int sig, short ev, void *arg)
{
	pid_t	 pid;
	int	 status, r;

	(void)sig;
	(void)ev;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (r = ROLE_NET; r < ROLE_MAX; r++)
			if (m.children[r].pid == pid) {
				child_reaped(&m.children[r], status);
				break;
			}
	}
}

static void
ping_cb(int fd, short ev, void *arg)
{
	struct child	*c;
	time_t		 now = time(NULL);
	int		 r;

	(void)fd;
	(void)ev;
	(void)arg;
	for (r = ROLE_NET; r < ROLE_MAX; r++) {
		c = &m.children[r];
		if (c->pid <= 0 || !c->ready || c->ipc == NULL)
			continue;
		if (c->ping_sent != 0) {
			if (now - c->ping_sent >= PING_DEAD_SECS)
				child_kill(c, "not answering pings");
			continue;
		}
		c->ping_token = arc4random();
		c->ping_sent = now;
		ipc_send_u32(c->ipc, IMSG_PING, 0, c->ping_token);
	}
}

/* ---- gateway socket for net ---- */

static void
connect_free(struct connect_try *ct)
{
	if (ct == NULL)
		return;
	if (ct->ev != NULL)
		event_free(ct->ev);
	if (ct->fd != -1)
		close(ct->fd);
	if (ct->ai != NULL)
		evutil_freeaddrinfo(ct->ai);
	free(ct);
	if (m.conn == ct)
		m.conn = NULL;
}

static void
connect_fail(struct connect_try *ct, const char *why)
{
	struct child	*net = &m.children[ROLE_NET];
	struct ipc_wr	 wr = { NULL, 0, 0 };

	log_verbose("gateway %s: %s", m.conf.gateway.host, why);
	if (net->ipc != NULL) {
		ipc_wr_str(&wr, why);
		ipc_wr_u32(&wr, 0);
		ipc_send_wr(net->ipc, IMSG_CONNECT_FAIL, 0, -1, &wr);
	}
	connect_free(ct);
}

static void
connect_done(struct connect_try *ct)
{
	struct child	*net = &m.children[ROLE_NET];
	char		 addr[INET6_ADDRSTRLEN + 16] = "?";
	char		 host[INET6_ADDRSTRLEN];
	const void	*sa = ct->cur->ai_addr;
	int		 port, fd = ct->fd;

	if (ct->cur->ai_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		snprintf(addr, sizeof(addr), "[%s]:%d", host, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		snprintf(addr, sizeof(addr), "%s:%d", host, port);
	}
	ct->fd = -1;
	log_verbose("connected to %s (%s)", m.conf.gateway.host, addr);
	if (net->ipc == NULL || !net->ready) {
		close(fd);
		connect_free(ct);
		return;
	}
	m.sign_allowed = 1;
	ipc_send_str(net->ipc, IMSG_CONNECT_OK, 0, fd, addr);
	connect_free(ct);
}

static void
connect_wait_cb(int fd, short ev, void *arg)
{
	struct connect_try	*ct = arg;
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (ev & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		connect_done(ct);
		return;
	}
	snprintf(ct->lasterr, sizeof(ct->lasterr), "connect: %s",
	    strerror(err));
	close(ct->fd);
	ct->fd = -1;
	event_free(ct->ev);
	ct->ev = NULL;
	ct->cur = ct->cur->ai_next;
	connect_next(ct);
}

static int
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	return 0;
}

static void
connect_next(struct connect_try *ct)
{
	struct timeval	 tv = { CONNECT_TIMEOUT_SECS, 0 };
	struct evutil_addrinfo *ai;

	for (; (ai = ct->cur) != NULL; ct->cur = ai->ai_next) {
		/* Plain ws:// is for loopback only, whatever DNS says. */
		if (!m.conf.gateway.tls && !addr_is_loopback(ai->ai_addr)) {
			snprintf(ct->lasterr, sizeof(ct->lasterr),
			    "ws:// resolved to a non-loopback address");
			continue;
		}
		ct->fd = socket(ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ct->fd == -1) {
			snprintf(ct->lasterr, sizeof(ct->lasterr),
			    "socket: %s", strerror(errno));
			continue;
		}
		if (connect(ct->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			connect_done(ct);
			return;
		}
		if (errno == EINPROGRESS) {
			ct->ev = event_new(m.base, ct->fd, EV_WRITE,
			    connect_wait_cb, ct);
			event_add(ct->ev, &tv);
			return;
		}
		snprintf(ct->lasterr, sizeof(ct->lasterr), "connect: %s",
		    strerror(errno));
		close(ct->fd);
		ct->fd = -1;
	}
	connect_fail(ct, ct->lasterr[0] ? ct->lasterr : "no address");
}

static void
resolved_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct connect_try	*ct = arg;
	char			 why[512];

	if (result != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s",
		    m.conf.gateway.host, evutil_gai_strerror(result));
		connect_fail(ct, why);
		return;
	}
	ct->ai = ct->cur = ai;
	connect_next(ct);
}

static void
connect_start(int fd, short ev, void *arg)
{
	struct evutil_addrinfo	 hints;
	struct connect_try	*ct;

	(void)fd;
	(void)ev;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &m.last_connect);
	ct = m.conn = xcalloc(1, sizeof(*ct));
	ct->fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	/* The callback may run before this returns (numeric hosts). */
	evdns_getaddrinfo(m.dns, m.conf.gateway.host, m.conf.gateway.port,
	    &hints, resolved_cb, ct);
}

static void
handle_connect_req(struct child *net)
{
	struct timespec	 now;
	struct timeval	 tv = { 0, 0 };
	long		 ms;

	if (m.conn != NULL || event_pending(m.conn_delay_ev, EV_TIMEOUT, NULL)) {
		child_kill(net, "asked to connect twice");
		return;
	}
	m.sign_allowed = 0;
	m.link_up = 0;
	/* Rate-limit: net's own backoff is not trusted to exist. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - m.last_connect.tv_sec) * 1000 +
	    (now.tv_nsec - m.last_connect.tv_nsec) / 1000000;
	if (m.last_connect.tv_sec != 0 && ms < CONNECT_MIN_GAP_MS)
		tv.tv_usec = (CONNECT_MIN_GAP_MS - ms) * 1000;
	event_add(m.conn_delay_ev, &tv);
}

static void
handle_sign_req(struct child *net, struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*challenge;
	char		*sig;
	size_t		 len;

	ipc_rd_init(&rd, msg);
	challenge = ipc_rd_str(&rd, &len);
	if (challenge == NULL || ipc_rd_end(&rd) == -1 || len == 0 ||
	    len > CHALLENGE_MAX) {
		child_kill(net, "malformed sign request");
		return;
	}
	/* One signature per connection we opened: no signing oracle. */
	if (!m.sign_allowed) {
		child_kill(net, "sign request without a fresh connection");
		return;
	}
	m.sign_allowed = 0;
	if ((sig = key_sign_b64(m.key, challenge, len)) == NULL) {
		ipc_send_str(net->ipc, IMSG_SIGN_FAIL, 0, -1, "signing failed");
		return;
	}
	ipc_send_str(net->ipc, IMSG_SIGN_OK, 0, -1, sig);
	free(sig);
}

static void
handle_link_state(struct child *net, struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*detail;
	uint32_t	 state;

	ipc_rd_init(&rd, msg);
	state = ipc_rd_u32(&rd);
	detail = ipc_rd_str(&rd, NULL);
	if (detail == NULL || ipc_rd_end(&rd) == -1 ||
	    state >= LINK_STATE_MAX) {
		child_kill(net, "malformed link state");
		return;
	}
	switch (state) {
	case LINK_UP:
		if (!m.link_up)
			sd_notify_str("READY=1\nSTATUS=connected to the gateway");
		m.link_up = 1;
		sd_notify_str("WATCHDOG=1");
		break;
	case LINK_DOWN:
		m.link_up = 0;
		sd_notify_str("STATUS=reconnecting to the gateway");
		break;
	case LINK_REJECTED:
		m.link_up = 0;
		sd_notify_str("STATUS=the gateway rejected the device key");
		break;
	}
}

static void
child_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	struct child	*c = arg;
	struct ipc_rd	 rd;
	uint32_t	 token;

	(void)ipc;
	if (msg->fd != -1 || (msg->hdr.type != IMSG_READY && !c->ready)) {
		child_kill(c, "message out of order");
		return;
	}
	switch (msg->hdr.type) {
	case IMSG_READY:
		if (c->ready || msg->len != 0) {
			child_kill(c, "bad READY");
			return;
		}
		child_ready(c);
		return;
	case IMSG_PONG:
		ipc_rd_init(&rd, msg);
		token = ipc_rd_u32(&rd);
		if (ipc_rd_end(&rd) == -1 || c->ping_sent == 0 ||
		    token != c->ping_token) {
			child_kill(c, "bad PONG");
			return;
		}
		c->ping_sent = 0;
		return;
	}
	if (c->role != ROLE_NET) {
		child_kill(c, "unexpected message");
		return;
	}
	switch (msg->hdr.type) {
	case IMSG_CONNECT_REQ:
		if (msg->len != 0)
			child_kill(c, "bad CONNECT_REQ");
		else
			handle_connect_req(c);
		break;
	case IMSG_SIGN_REQ:
		handle_sign_req(c, msg);
		break;
	case IMSG_LINK_STATE:
		handle_link_state(c, msg);
		break;
	default:
		child_kill(c, "unexpected message");
		break;
	}
}

/* ---- signals, reload, shutdown ---- */

static void
stop_cb(int fd, short ev, void *arg)
{
	int	 r;

	(void)fd;
	(void)ev;
	(void)arg;
	for (r = ROLE_NET; r < ROLE_MAX; r++)
		if (m.children[r].pid > 0)
			kill(m.children[r].pid, SIGKILL);
}

static void
shutdown_cb(int sig, short ev, void *arg)
{
	struct timeval	 tv = { 0, STOP_GRACE_MS * 1000 };
	int		 r;

	(void)ev;
	(void)arg;
	if (m.quitting)
		return;
	log_info("received %s, shutting down", strsignal(sig));
	sd_notify_str("STOPPING=1");
	m.quitting = 1;
	for (r = ROLE_NET; r < ROLE_MAX; r++)
		if (m.children[r].pid > 0)
			kill(m.children[r].pid, SIGTERM);
	if (children_alive() == 0) {
		event_base_loopexit(m.base, NULL);
		return;
	}
	event_add(m.stop_ev, &tv);
}

static int
load_key(const char *path, EVP_PKEY **keyp, char **pubp, char *err,
    size_t errlen)
{
	struct stat	 st;

	if ((*keyp = key_load(path, err, errlen)) == NULL)
		return -1;
	if (m.system_mode && stat(path, &st) == 0 &&
	    (st.st_uid != 0 || (st.st_mode & 077) != 0)) {
		snprintf(err, errlen, "%s: a system key must be owned by root "
		    "with mode 0600", path);
		EVP_PKEY_free(*keyp);
		*keyp = NULL;
		return -1;
	}
	*pubp = key_pubkey_b64(*keyp);
	return 0;
}

static void
restart_role(enum role role)
{
	struct child	*c = &m.children[role];

	if (c->pid > 0)
		kill(c->pid, SIGTERM);
	backoff_reset(&c->bo);
}

static void
apply_reload(struct config *nc, char *text, size_t len, EVP_PKEY *key,
    char *pub, const char *keypath)
{
	struct config	 old = m.conf;
	int		 r, gw_changed, user_changed;

	gw_changed = strcmp(old.gateway_text, nc->gateway_text) != 0 ||
	    strcmp(old.cafile, nc->cafile) != 0 ||
	    strcmp(m.pubkey, pub) != 0;
	user_changed = strcmp(old.user, nc->user) != 0;
	EVP_PKEY_free(m.key);
	free(m.pubkey);
	m.key = key;
	m.pubkey = pub;
	strlcpy_chk(m.keypath, keypath, sizeof(m.keypath));
	free(m.conftext);
	m.conftext = text;
	m.conflen = len;
	m.conf = *nc;
	config_clear(&old);
	if (!m.opts->debug)
		log_setlevel(m.conf.loglevel);
	for (r = ROLE_NET; r < ROLE_MAX; r++) {
		struct child *c = &m.children[r];

		c->wanted = role_enabled(r);
		if (c->ipc != NULL)
			ipc_send_str(c->ipc, IMSG_CONF, 0, -1, m.conftext);
		if (c->pid > 0 && !c->wanted)
			kill(c->pid, SIGTERM);
		else if (c->pid == 0 && c->wanted)
			child_start(c);
	}
	if (gw_changed)
		restart_role(ROLE_NET);
	if (user_changed)
		for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
			if (r != ROLE_PRIV)
				restart_role(r);
}

static void
reload_cb(int sig, short ev, void *arg)
{
	struct config	 nc;
	EVP_PKEY	*key;
	char		*text, *pub, err[512], keypath[1024];
	size_t		 len;

	(void)sig;
	(void)ev;
	(void)arg;
	log_info("received SIGHUP, reloading %s", m.opts->conffile);
	config_defaults(&nc);
	if (config_load(&nc, m.opts->conffile, &text, &len, err,
	    sizeof(err)) == -1) {
		log_warnx("%s; keeping the running config", err);
		config_clear(&nc);
		return;
	}
	if (config_check_mode(&nc, m.system_mode, err, sizeof(err)) == -1) {
		log_warnx("%s: %s; keeping the running config",
		    m.opts->conffile, err);
		config_clear(&nc);
		free(text);
		return;
	}
	if (nc.keyfile[0] != '\0')
		strlcpy_chk(keypath, nc.keyfile, sizeof(keypath));
	else
		key_default_path(m.system_mode, keypath, sizeof(keypath));
	if (load_key(keypath, &key, &pub, err, sizeof(err)) == -1) {
		log_warnx("%s; keeping the running config", err);
		config_clear(&nc);
		free(text);
		return;
	}
	apply_reload(&nc, text, len, key, pub, keypath);
}

/* ---- setup ---- */

static void
system_dirs(void)
{
	struct stat	 st;

	if (getpwnam(PRIVSEP_USER) == NULL)
		fatalx("privsep user %s does not exist; create it with: "
		    "useradd --system --home-dir /nonexistent --shell "
		    "/usr/sbin/nologin %s", PRIVSEP_USER, PRIVSEP_USER);
	if (mkdir("/run/portacoded", 0755) == -1 && errno != EEXIST)
		fatal("mkdir /run/portacoded");
	if (mkdir(PRIVSEP_PATH, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", PRIVSEP_PATH);
	if (lstat(PRIVSEP_PATH, &st) == -1)
		fatal("%s", PRIVSEP_PATH);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		fatalx("%s must be a directory owned by root and not writable "
		    "by group or others", PRIVSEP_PATH);
}

static void
daemonize(void)
{
	int	 fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
monitor_load(const struct monitor_opts *opts)
{
	char	 err[512];

	config_defaults(&m.conf);
	if (config_load(&m.conf, opts->conffile, &m.conftext, &m.conflen, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if (config_check_mode(&m.conf, m.system_mode, err, sizeof(err)) == -1)
		fatalx("%s: %s", opts->conffile, err);
	if (m.conf.keyfile[0] != '\0')
		strlcpy_chk(m.keypath, m.conf.keyfile, sizeof(m.keypath));
	else if (key_default_path(m.system_mode, m.keypath,
	    sizeof(m.keypath)) == -1)
		fatalx("cannot find a key location");
	if (load_key(m.keypath, &m.key, &m.pubkey, err, sizeof(err)) == -1)
		fatalx("%s (create a key with portacoded -K)", err);
}

int
monitor_main(const struct monitor_opts *opts)
{
	struct event	*sig[5];
	int		 r, i = 0;
	struct timeval	 tv = { PING_SECS, 0 };

	memset(&m, 0, sizeof(m));
	m.opts = opts;
	m.system_mode = (geteuid() == 0);
	umask(077);
	log_init(1, opts->debug ? LOGLEVEL_DEBUG : LOGLEVEL_INFO);
	monitor_load(opts);
	if (!opts->debug)
		log_setlevel(m.conf.loglevel);
	if (proc_self_init() == -1)
		fatal("cannot find our own executable");
	if (m.system_mode)
		system_dirs();
	if (!opts->foreground)
		daemonize();
	if (!opts->log_stderr)
		log_init(0, log_getlevel());
	signal(SIGPIPE, SIG_IGN);

	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sig[i++] = evsignal_new(m.base, SIGTERM, shutdown_cb, NULL);
	sig[i++] = evsignal_new(m.base, SIGINT, shutdown_cb, NULL);
	sig[i++] = evsignal_new(m.base, SIGHUP, reload_cb, NULL);
	sig[i++] = evsignal_new(m.base, SIGCHLD, sigchld_cb, NULL);
	for (r = 0; r < i; r++)
		evsignal_add(sig[r], NULL);
	/* The resolver reads resolv.conf and hosts once, here. */
	m.dns = evdns_base_new(m.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (m.dns == NULL && (m.dns = evdns_base_new(m.base, 0)) == NULL)
		fatalx("cannot start the resolver");
	m.stop_ev = evtimer_new(m.base, stop_cb, NULL);
	m.conn_delay_ev = evtimer_new(m.base, connect_start, NULL);
	m.ping_ev = event_new(m.base, -1, EV_PERSIST, ping_cb, NULL);
	event_add(m.ping_ev, &tv);
	watchdog_init();

	log_info("portacoded %s starting (%s mode, user %s, gateway %s)",
	    PC_VERSION, m.system_mode ? "system" : "user",
	    m.conf.user[0] ? m.conf.user : "(self)", m.conf.gateway_text);
	for (r = ROLE_NET; r < ROLE_MAX; r++) {
		struct child *c = &m.children[r];

		c->role = r;
		c->wanted = role_enabled(r);
		backoff_init(&c->bo, RESTART_BASE_MS, RESTART_MAX_MS);
		c->restart_ev = evtimer_new(m.base, restart_cb, c);
		child_start(c);
	}
	event_base_dispatch(m.base);
	log_info("stopped");
	return 0;
}
