/*
 * Framed IPC over unix stream sockets, with fd passing.
 *
 * The decoder is separate from the I/O so it can be unit-tested and fuzzed
 * on its own; the I/O side is a pair of libevent events per link.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "xmalloc.h"

#define IPC_MAX_FDS	8		/* received but not yet claimed */
#define IPC_READ_SIZE	(64 * 1024)

static const char *const ipc_names[IMSG_MAX] = {
	[IMSG_NONE] = "NONE",
	[IMSG_CONF] = "CONF",
	[IMSG_READY] = "READY",
	[IMSG_PING] = "PING",
	[IMSG_PONG] = "PONG",
	[IMSG_LINK] = "LINK",
	[IMSG_PUBKEY] = "PUBKEY",
	[IMSG_CONNECT_REQ] = "CONNECT_REQ",
	[IMSG_CONNECT_OK] = "CONNECT_OK",
	[IMSG_CONNECT_FAIL] = "CONNECT_FAIL",
	[IMSG_SIGN_REQ] = "SIGN_REQ",
	[IMSG_SIGN_OK] = "SIGN_OK",
	[IMSG_SIGN_FAIL] = "SIGN_FAIL",
	[IMSG_LINK_STATE] = "LINK_STATE",
	[IMSG_CMD] = "CMD",
	[IMSG_EVENT] = "EVENT",
	[IMSG_DONE] = "DONE",
};

const char *
ipc_type_name(unsigned int type)
{
	if (type >= IMSG_MAX || ipc_names[type] == NULL)
		return "UNKNOWN";
	return ipc_names[type];
}

/* ---- decoder ---- */

struct ipc_dec {
	uint8_t		*buf;
	size_t		 len;
	size_t		 off;	/* start of the first undecoded byte */
	size_t		 cap;
	size_t		 maxmsg;
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds;
	int		 broken;
};

struct ipc_dec *
ipc_dec_new(size_t maxmsg)
{
	struct ipc_dec	*d = xcalloc(1, sizeof(*d));

	d->maxmsg = maxmsg;
	return d;
}

void
ipc_dec_free(struct ipc_dec *d)
{
	size_t	 i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nfds; i++)
		close(d->fds[i]);
	free(d->buf);
	free(d);
}

int
ipc_dec_feed(struct ipc_dec *d, const void *data, size_t len)
{
	size_t	 need;

	if (d->off > 0) {
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
	/* Never hold more than one whole message plus one read. */
	if (d->len + len > IPC_HDR_SIZE + d->maxmsg + IPC_READ_SIZE) {
		d->broken = 1;
		return -1;
	}
	need = d->len + len;
	if (need > d->cap) {
		d->cap = need < 4096 ? 4096 : need + need / 2;
		d->buf = xreallocarray(d->buf, 1, d->cap);
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
	return 0;
}

void
ipc_dec_pushfd(struct ipc_dec *d, int fd)
{
	if (d->nfds == IPC_MAX_FDS) {
		close(fd);
		d->broken = 1;
		return;
	}
	d->fds[d->nfds++] = fd;
}

static int
dec_fail(struct ipc_dec *d, const char **why, const char *reason)
{
	d->broken = 1;
	if (why != NULL)
		*why = reason;
	return -1;
}

int
ipc_dec_next(struct ipc_dec *d, struct ipc_msg *msg, const char **why)
{
	struct ipc_hdr	 hdr;
	size_t		 avail = d->len - d->off;

	if (d->broken)
		return dec_fail(d, why, "too much data or too many fds");
	if (avail < IPC_HDR_SIZE)
		return 0;
	memcpy(&hdr, d->buf + d->off, sizeof(hdr));
	if (hdr.version != IPC_VERSION)
		return dec_fail(d, why, "bad protocol version");
	if (hdr.type == IMSG_NONE || hdr.type >= IMSG_MAX)
		return dec_fail(d, why, "unknown message type");
	if ((hdr.flags & ~IPC_F_FD) != 0)
		return dec_fail(d, why, "unknown flags");
	if (hdr.len > d->maxmsg)
		return dec_fail(d, why, "message too large");
	if (avail - IPC_HDR_SIZE < hdr.len)
		return 0;
	msg->fd = -1;
	if (hdr.flags & IPC_F_FD) {
		if (d->nfds == 0)
			return dec_fail(d, why, "fd flag without fd");
		msg->fd = d->fds[0];
		memmove(d->fds, d->fds + 1, (d->nfds - 1) * sizeof(int));
		d->nfds--;
	}
	msg->hdr = hdr;
	msg->data = d->buf + d->off + IPC_HDR_SIZE;
	msg->len = hdr.len;
	d->off += IPC_HDR_SIZE + hdr.len;
	return 1;
}

int
ipc_encode(unsigned int type, uint32_t peerid, int hasfd, const void *data,
    size_t len, uint8_t **out, size_t *outlen)
{
	struct ipc_hdr	 hdr;
	uint8_t		*p;

	if (len > UINT32_MAX - IPC_HDR_SIZE)
		return -1;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.version = IPC_VERSION;
	hdr.flags = hasfd ? IPC_F_FD : 0;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = getpid();
	p = xmalloc(IPC_HDR_SIZE + len);
	memcpy(p, &hdr, IPC_HDR_SIZE);
	if (len > 0)
		memcpy(p + IPC_HDR_SIZE, data, len);
	*out = p;
	*outlen = IPC_HDR_SIZE + len;
	return 0;
}

/* ---- links ---- */

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	uint8_t			*buf;
	size_t			 len;
	size_t			 off;
	int			 fd;
};

struct ipc {
	int			 fd;
	char			*peer;
	struct ipc_dec		*dec;
	struct event		*ev_read;
	struct event		*ev_write;
	TAILQ_HEAD(, ipc_out)	 outq;
	size_t			 queued;
	ipc_msg_cb		 msg_cb;
	ipc_err_cb		 err_cb;
	void			*arg;
	int			 paused;
	int			 failed;
	size_t			 drain_low;
	int			 drain_armed;
	void			(*drain_cb)(struct ipc *, void *);
	int			 busy;	/* inside a callback */
	int			 dead;	/* freed while busy */
};

static void	ipc_read_cb(int, short, void *);
static void	ipc_write_cb(int, short, void *);
static void	ipc_destroy(struct ipc *);

struct ipc *
ipc_new(struct event_base *base, int fd, const char *peer, size_t maxmsg,
    ipc_msg_cb msg_cb, ipc_err_cb err_cb, void *arg)
{
	struct ipc	*ipc = xcalloc(1, sizeof(*ipc));
	int		 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("ipc %s: fcntl", peer);
	ipc->fd = fd;
	ipc->peer = xstrdup(peer);
	ipc->dec = ipc_dec_new(maxmsg);
	ipc->msg_cb = msg_cb;
	ipc->err_cb = err_cb;
	ipc->arg = arg;
	TAILQ_INIT(&ipc->outq);
	ipc->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, ipc_read_cb, ipc);
	ipc->ev_write = event_new(base, fd, EV_WRITE, ipc_write_cb, ipc);
	if (ipc->ev_read == NULL || ipc->ev_write == NULL)
		fatalx("ipc %s: event_new", peer);
	event_add(ipc->ev_read, NULL);
	return ipc;
}

const char *
ipc_peer(const struct ipc *ipc)
{
	return ipc->peer;
}

int
ipc_fd(const struct ipc *ipc)
{
	return ipc->fd;
}

static void
ipc_destroy(struct ipc *ipc)
{
	struct ipc_out	*o;

	event_free(ipc->ev_read);
	event_free(ipc->ev_write);
	while ((o = TAILQ_FIRST(&ipc->outq)) != NULL) {
		TAILQ_REMOVE(&ipc->outq, o, entry);
		if (o->fd != -1)
			close(o->fd);
		free(o->buf);
		free(o);
	}
	ipc_dec_free(ipc->dec);
	close(ipc->fd);
	free(ipc->peer);
	free(ipc);
}

void
ipc_free(struct ipc *ipc)
{
	if (ipc == NULL)
		return;
	if (ipc->busy) {
		ipc->dead = 1;
		event_del(ipc->ev_read);
		event_del(ipc->ev_write);
		return;
	}
	ipc_destroy(ipc);
}

/* Report a broken link once; the callback usually frees the link. */
static void
ipc_fail(struct ipc *ipc, const char *why)
{
	if (ipc->failed)
		return;
	ipc->failed = 1;
	event_del(ipc->ev_read);
	event_del(ipc->ev_write);
	if (ipc->err_cb != NULL)
		ipc->err_cb(ipc, why, ipc->arg);
}

static int
ipc_recv(struct ipc *ipc)
{
	uint8_t		 buf[IPC_READ_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cmsgbuf;
	struct iovec	 iov = { buf, sizeof(buf) };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	n = recvmsg(ipc->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		ipc_fail(ipc, strerror(errno));
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			ipc_dec_pushfd(ipc->dec, fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		ipc_fail(ipc, "control data truncated");
		return -1;
	}
	if (n == 0) {
		ipc_fail(ipc, "connection closed");
		return -1;
	}
	if (ipc_dec_feed(ipc->dec, buf, n) == -1) {
		ipc_fail(ipc, "input over the link limit");
		return -1;
	}
	return 0;
}

static void
ipc_dispatch(struct ipc *ipc)
{
	struct ipc_msg	 msg;
	const char	*why = NULL;
	int		 r;

	while (!ipc->paused && !ipc->failed && !ipc->dead) {
		r = ipc_dec_next(ipc->dec, &msg, &why);
		if (r == 0)
			break;
		if (r == -1) {
			log_warnx("ipc from %s: %s", ipc->peer, why);
			ipc_fail(ipc, why);
			break;
		}
		ipc->msg_cb(ipc, &msg, ipc->arg);
		/* An fd the callback did not take is not leaked. */
		if (msg.fd != -1)
			close(msg.fd);
	}
}

static void
ipc_read_cb(int fd, short what, void *arg)
{
	struct ipc	*ipc = arg;

	(void)fd;
	ipc->busy++;
	if ((what & EV_READ) && !ipc->paused)
		(void)ipc_recv(ipc);
	ipc_dispatch(ipc);
	if (--ipc->busy == 0 && ipc->dead)
		ipc_destroy(ipc);
}

static int
ipc_write_one(struct ipc *ipc, struct ipc_out *o)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = o->buf + o->off;
	iov.iov_len = o->len - o->off;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (o->fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cm), &o->fd, sizeof(int));
	}
	n = sendmsg(ipc->fd, &mh, MSG_NOSIGNAL);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (o->fd != -1) {
		close(o->fd);
		o->fd = -1;
	}
	o->off += n;
	ipc->queued -= n;
	return 1;
}

static int
ipc_write_some(struct ipc *ipc)
{
	struct ipc_out	*o;
	int		 r;

	while ((o = TAILQ_FIRST(&ipc->outq)) != NULL) {
		if ((r = ipc_write_one(ipc, o)) <= 0)
			return r;
		if (o->off < o->len)
			return 0;
		TAILQ_REMOVE(&ipc->outq, o, entry);
		free(o->buf);
		free(o);
	}
	return 0;
}

static void
ipc_write_cb(int fd, short what, void *arg)
{
	struct ipc	*ipc = arg;

	(void)fd;
	(void)what;
	if (ipc_write_some(ipc) == -1) {
		ipc->busy++;
		ipc_fail(ipc, strerror(errno));
		if (--ipc->busy == 0 && ipc->dead)
			ipc_destroy(ipc);
		return;
	}
	if (!TAILQ_EMPTY(&ipc->outq))
		event_add(ipc->ev_write, NULL);
	if (ipc->drain_armed && ipc->queued < ipc->drain_low) {
		ipc->drain_armed = 0;
		ipc->busy++;
		ipc->drain_cb(ipc, ipc->arg);
		if (--ipc->busy == 0 && ipc->dead)
			ipc_destroy(ipc);
	}
}

void
ipc_flush(struct ipc *ipc)
{
	(void)ipc_write_some(ipc);
}

int
ipc_send(struct ipc *ipc, unsigned int type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct ipc_out	*o;

	if (ipc->failed || ipc->dead || len > ipc->dec->maxmsg ||
	    ipc->queued + len > IPC_MAX_QUEUE) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	o = xcalloc(1, sizeof(*o));
	if (ipc_encode(type, peerid, fd != -1, data, len, &o->buf,
	    &o->len) == -1) {
		free(o);
		if (fd != -1)
			close(fd);
		return -1;
	}
	o->fd = fd;
	TAILQ_INSERT_TAIL(&ipc->outq, o, entry);
	ipc->queued += o->len;
	if (ipc->drain_cb != NULL && ipc->queued >= ipc->drain_low)
		ipc->drain_armed = 1;
	event_add(ipc->ev_write, NULL);
	return 0;
}

int
ipc_send_str(struct ipc *ipc, unsigned int type, uint32_t peerid, int fd,
    const char *s)
{
	struct ipc_wr	 wr = { NULL, 0, 0 };

	ipc_wr_str(&wr, s);
	return ipc_send_wr(ipc, type, peerid, fd, &wr);
}

int
ipc_send_u32(struct ipc *ipc, unsigned int type, uint32_t peerid, uint32_t v)
{
	struct ipc_wr	 wr = { NULL, 0, 0 };

	ipc_wr_u32(&wr, v);
	return ipc_send_wr(ipc, type, peerid, -1, &wr);
}

int
ipc_answer_ping(struct ipc *ipc, struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	uint32_t	 token;

	ipc_rd_init(&rd, msg);
	token = ipc_rd_u32(&rd);
	if (ipc_rd_end(&rd) == -1 || msg->fd != -1)
		return -1;
	return ipc_send_u32(ipc, IMSG_PONG, 0, token);
}

void
ipc_set_drain(struct ipc *ipc, size_t low, void (*cb)(struct ipc *, void *))
{
	ipc->drain_low = low;
	ipc->drain_cb = cb;
	ipc->drain_armed = cb != NULL && ipc->queued >= low;
}

size_t
ipc_queued(const struct ipc *ipc)
{
	return ipc->queued;
}

void
ipc_pause(struct ipc *ipc, int pause)
{
	if (ipc->failed || ipc->dead || ipc->paused == pause)
		return;
	ipc->paused = pause;
	if (pause)
		event_del(ipc->ev_read);
	else {
		event_add(ipc->ev_read, NULL);
		/* Messages already buffered must not wait for new input. */
		event_active(ipc->ev_read, 0, 0);
	}
}

/* ---- typed payloads ---- */

void
ipc_rd_init(struct ipc_rd *rd, const struct ipc_msg *msg)
{
	rd->p = msg->data;
	rd->left = msg->len;
	rd->bad = 0;
}

uint32_t
ipc_rd_u32(struct ipc_rd *rd)
{
	uint32_t	 v;

	if (rd->bad || rd->left < sizeof(v)) {
		rd->bad = 1;
		return 0;
	}
	memcpy(&v, rd->p, sizeof(v));
	rd->p += sizeof(v);
	rd->left -= sizeof(v);
	return v;
}

const char *
ipc_rd_str(struct ipc_rd *rd, size_t *lenp)
{
	const char	*s;
	uint32_t	 len;

	len = ipc_rd_u32(rd);
	if (rd->bad || rd->left < (size_t)len + 1) {
		rd->bad = 1;
		return NULL;
	}
	s = (const char *)rd->p;
	if (s[len] != '\0' || memchr(s, '\0', len) != NULL) {
		rd->bad = 1;
		return NULL;
	}
	rd->p += len + 1;
	rd->left -= len + 1;
	if (lenp != NULL)
		*lenp = len;
	return s;
}

int
ipc_rd_end(struct ipc_rd *rd)
{
	return (rd->bad || rd->left != 0) ? -1 : 0;
}

static void
wr_grow(struct ipc_wr *wr, size_t n)
{
	if (wr->len + n <= wr->cap)
		return;
	wr->cap = wr->len + n < 256 ? 256 : (wr->len + n) * 2;
	wr->buf = xreallocarray(wr->buf, 1, wr->cap);
}

void
ipc_wr_u32(struct ipc_wr *wr, uint32_t v)
{
	wr_grow(wr, sizeof(v));
	memcpy(wr->buf + wr->len, &v, sizeof(v));
	wr->len += sizeof(v);
}

void
ipc_wr_strn(struct ipc_wr *wr, const char *s, size_t len)
{
	if (len > UINT32_MAX - 1)
		fatalx("ipc_wr_strn: string too long");
	ipc_wr_u32(wr, (uint32_t)len);
	wr_grow(wr, len + 1);
	memcpy(wr->buf + wr->len, s, len);
	wr->buf[wr->len + len] = '\0';
	wr->len += len + 1;
}

void
ipc_wr_str(struct ipc_wr *wr, const char *s)
{
	ipc_wr_strn(wr, s, strlen(s));
}

int
ipc_send_wr(struct ipc *ipc, unsigned int type, uint32_t peerid, int fd,
    struct ipc_wr *wr)
{
	int	 r;

	r = ipc_send(ipc, type, peerid, fd, wr->buf, wr->len);
	free(wr->buf);
	wr->buf = NULL;
	wr->len = wr->cap = 0;
	return r;
}
