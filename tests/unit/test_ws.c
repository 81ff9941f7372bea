#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "portacoded.h"
#include "log.h"
#include "net/ws.h"

/*
 * A tiny WebSocket server on the other end of a socketpair, driven by
 * the same event loop as the client under test.
 */
struct srv {
	int		 fd;
	struct event	*ev;
	char		 req[8192];
	size_t		 reqlen;
	int		 got_req;
	char		 key[64];
	unsigned char	 in[256 * 1024];	/* client bytes after the request */
	size_t		 inlen;
	size_t		 total;			/* all of them, kept or not */
	size_t		 off;			/* parse position in in[] */
	int		 eof;
	void		(*respond)(struct srv *);
};

struct client {
	struct ws	*ws;
	int		 opened, closed, texts, binaries, pongs, drained;
	char		 reason[256];
	char		 text[256];
	size_t		 textlen;
	size_t		 binlen;
	int		 free_in_closed;
	int		 free_in_text;
};

struct t {
	struct event_base	*base;
	struct srv		 srv;
	struct client		 c;
	struct gateway_url	 url;
	int			 cfd;	/* client end until ws_new takes it */
};

static struct t	*T;

/* --- Helpers ------------------------------------------------------------ */

static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;
	struct pollfd	 pfd;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EPIPE || errno == ECONNRESET)
				return;		/* the client hung up */
			if (errno != EAGAIN)
				fail_msg("write: %s", strerror(errno));
			/* Let the client read; we are not inside the loop. */
			event_base_loop(T->base, EVLOOP_NONBLOCK);
			pfd.fd = fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 10);
			continue;
		}
		p += n;
		len -= n;
	}
}

static void
srv_send(struct srv *s, const char *text)
{
	write_all(s->fd, text, strlen(text));
}

/* An unmasked frame header; payload follows separately. */
static void
srv_frame_hdr(struct srv *s, int fin, int op, uint64_t len)
{
	unsigned char	 h[10];
	size_t		 n = 2, i;

	h[0] = (fin ? 0x80 : 0) | op;
	if (len < 126)
		h[1] = len;
	else if (len < 65536) {
		h[1] = 126;
		h[2] = len >> 8;
		h[3] = len;
		n = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = len >> (56 - 8 * i);
		n = 10;
	}
	write_all(s->fd, h, n);
}

static void
srv_frame(struct srv *s, int op, const void *data, size_t len)
{
	srv_frame_hdr(s, 1, op, len);
	if (len > 0)
		write_all(s->fd, data, len);
}

static void
srv_close_frame(struct srv *s, uint16_t code, const char *why)
{
	unsigned char	 p[125];
	size_t		 wl = strlen(why);

	p[0] = code >> 8;
	p[1] = code;
	memcpy(p + 2, why, wl);
	srv_frame(s, 0x8, p, 2 + wl);
}

/* The next complete client frame, unmasked into payload. */
static int
srv_next_frame(struct srv *s, int *op, unsigned char *payload, size_t *plen)
{
	const unsigned char	*p = s->in + s->off;
	size_t			 avail = s->inlen - s->off, hl = 2, i;
	uint64_t		 len;

	if (avail < 2)
		return 0;
	assert_true(p[1] & 0x80);		/* clients must mask */
	len = p[1] & 0x7f;
	if (len == 126) {
		if (avail < 4)
			return 0;
		len = (p[2] << 8) | p[3];
		hl = 4;
	} else if (len == 127) {
		if (avail < 10)
			return 0;
		for (len = 0, i = 0; i < 8; i++)
			len = (len << 8) | p[2 + i];
		hl = 10;
	}
	if (avail < hl + 4 + len)
		return 0;
	assert_true(len <= *plen);
	for (i = 0; i < len; i++)
		payload[i] = p[hl + 4 + i] ^ p[hl + (i % 4)];
	*op = p[0] & 0x0f;
	*plen = len;
	s->off += hl + 4 + len;
	return 1;
}

static void
srv_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct srv	*s = arg;
	char		 buf[65536], *end, *k;
	ssize_t		 n;
	size_t		 keep, extra;

	(void)what;
	if ((n = read(fd, buf, sizeof(buf))) == -1) {
		if (errno == EAGAIN)
			return;
		n = 0;				/* ECONNRESET counts as EOF */
	}
	if (n == 0) {
		s->eof = 1;
		event_del(s->ev);
		return;
	}
	if (!s->got_req) {
		assert_true(s->reqlen + n < sizeof(s->req));
		memcpy(s->req + s->reqlen, buf, n);
		s->reqlen += n;
		s->req[s->reqlen] = '\0';
		if ((end = strstr(s->req, "\r\n\r\n")) == NULL)
			return;
		s->got_req = 1;
		extra = s->reqlen - (end + 4 - s->req);
		s->reqlen -= extra;
		if ((k = strstr(s->req, "Sec-WebSocket-Key: ")) != NULL)
			sscanf(k + 19, "%63[A-Za-z0-9+/=]", s->key);
		memmove(buf, end + 4, extra);
		n = extra;
		if (s->respond != NULL)
			s->respond(s);
	}
	s->total += n;
	keep = sizeof(s->in) - s->inlen;
	if (keep > (size_t)n)
		keep = n;
	memcpy(s->in + s->inlen, buf, keep);
	s->inlen += keep;
}

/* --- Client callbacks --------------------------------------------------- */

static void
c_open(struct ws *ws, void *arg)
{
	struct client	*c = arg;

	(void)ws;
	c->opened++;
}

static void
c_text(struct ws *ws, const char *s, size_t len, void *arg)
{
	struct client	*c = arg;

	c->texts++;
	c->textlen = len < sizeof(c->text) ? len : sizeof(c->text);
	memcpy(c->text, s, c->textlen);
	if (c->free_in_text) {
		ws_free(ws);
		c->ws = NULL;
	}
}

static void
c_binary(struct ws *ws, size_t len, void *arg)
{
	struct client	*c = arg;

	(void)ws;
	c->binaries++;
	c->binlen = len;
}

static void
c_pong(struct ws *ws, void *arg)
{
	struct client	*c = arg;

	(void)ws;
	c->pongs++;
}

static void
c_closed(struct ws *ws, const char *reason, void *arg)
{
	struct client	*c = arg;

	c->closed++;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	if (c->free_in_closed) {
		ws_free(ws);
		c->ws = NULL;
	}
}

static void
c_drained(struct ws *ws, void *arg)
{
	struct client	*c = arg;

	(void)ws;
	c->drained++;
}

static const struct ws_cb client_cb = {
	c_open, c_text, c_binary, c_pong, c_closed, c_drained
};

/* --- Loop driving ------------------------------------------------------- */

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until *flag reaches want; fail after a few seconds. */
static void
run_until(const int *flag, int want)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*guard;
	int		 expired = 0;

	guard = evtimer_new(T->base, guard_cb, &expired);
	evtimer_add(guard, &tv);
	while (*flag < want && !expired)
		event_base_loop(T->base, EVLOOP_ONCE);
	event_free(guard);
	assert_false(expired);
}

static int	 frame_seen;
static int	 frame_op;
static unsigned char frame_payload[8192];
static size_t	 frame_len;

/* Run until the server has a complete frame from the client. */
static void
run_until_frame(void)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*guard;
	int		 expired = 0;

	guard = evtimer_new(T->base, guard_cb, &expired);
	evtimer_add(guard, &tv);
	for (;;) {
		frame_len = sizeof(frame_payload);
		if (srv_next_frame(&T->srv, &frame_op, frame_payload,
		    &frame_len))
			break;
		if (expired)
			break;
		event_base_loop(T->base, EVLOOP_ONCE);
	}
	event_free(guard);
	assert_false(expired);
	frame_seen++;
}

static unsigned int
frame_close_code(void)
{
	assert_int_equal(frame_op, 0x8);
	assert_true(frame_len >= 2);
	return (frame_payload[0] << 8) | frame_payload[1];
}

/* --- Fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
	int	 sv[2];

	T = calloc(1, sizeof(*T));
	assert_non_null(T);
	assert_non_null(T->base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T->srv.fd = sv[1];
	evutil_make_socket_nonblocking(sv[1]);
	T->srv.ev = event_new(T->base, sv[1], EV_READ | EV_PERSIST,
	    srv_readcb, &T->srv);
	event_add(T->srv.ev, NULL);
	T->url.tls = 0;
	strcpy(T->url.host, "127.0.0.1");
	strcpy(T->url.port, "8080");
	strcpy(T->url.path, "/gateway?v=1");
	T->url.loopback = 1;
	T->c.ws = NULL;
	T->cfd = sv[0];
	*state = NULL;
	frame_seen = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (T->c.ws != NULL)
		ws_free(T->c.ws);
	if (T->cfd != -1)
		close(T->cfd);
	event_free(T->srv.ev);
	if (T->srv.fd != -1)
		close(T->srv.fd);
	event_base_free(T->base);
	free(T);
	T = NULL;
	return 0;
}

static void
start(void **state, void (*respond)(struct srv *))
{
	(void)state;
	T->srv.respond = respond;
	T->c.ws = ws_new(T->base, T->cfd, NULL, &T->url, &client_cb, &T->c);
	T->cfd = -1;
	assert_non_null(T->c.ws);
}

static void
accept_line(struct srv *s, char *out, size_t outlen)
{
	char	 acc[64];

	assert_int_equal(ws_accept_value(s->key, acc, sizeof(acc)), 0);
	snprintf(out, outlen, "Sec-WebSocket-Accept: %s\r\n", acc);
}

static void
respond_ok(struct srv *s)
{
	char	 acc[128], buf[1024];

	accept_line(s, acc, sizeof(acc));
	snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\n"
	    "Connection: keep-alive, Upgrade\r\n"
	    "%s"
	    "Server: test\r\n\r\n", acc);
	srv_send(s, buf);
}

/* Opened, with the upgrade checked; for tests about framing. */
static void
open_client(void **state)
{
	start(state, respond_ok);
	run_until(&T->c.opened, 1);
	assert_int_equal(T->c.closed, 0);
}

/* --- Tests -------------------------------------------------------------- */

/* RFC 6455 section 1.3. */
static void
test_accept_value(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", out, 28),
	    -1);
}

static void
test_upgrade_request(void **state)
{
	const char	*r;
	char		 key[64];

	open_client(state);
	r = T->srv.req;
	assert_memory_equal(r, "GET /gateway?v=1 HTTP/1.1\r\n", 27);
	assert_non_null(strstr(r, "\r\nHost: 127.0.0.1:8080\r\n"));
	assert_non_null(strstr(r, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(r, "\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(r, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(r, "\r\nUser-Agent: portacoded/"
	    PACKAGE_VERSION "\r\n"));
	assert_null(strstr(r, "Extensions"));
	assert_null(strstr(r, "Protocol"));
	/* 16 random bytes in base64. */
	assert_int_equal(strlen(T->srv.key), 24);
	snprintf(key, sizeof(key), "%s", T->srv.key);
	assert_true(key[22] == '=' && key[23] == '=');
}

static void
test_host_header(void **state)
{
	strcpy(T->url.host, "::1");
	strcpy(T->url.port, "80");
	start(state, NULL);
	run_until(&T->srv.got_req, 1);
	assert_non_null(strstr(T->srv.req, "\r\nHost: [::1]\r\n"));
	assert_int_equal(T->c.opened + T->c.closed, 0);
}

/* Messages both ways, ping/pong, and our own closing handshake. */
static void
test_exchange_and_close(void **state)
{
	open_client(state);
	assert_int_equal(ws_send_text(T->c.ws, "hi there", 8), 0);
	run_until_frame();
	assert_int_equal(frame_op, 0x1);
	assert_int_equal(frame_len, 8);
	assert_memory_equal(frame_payload, "hi there", 8);

	assert_int_equal(ws_ping(T->c.ws), 0);
	run_until_frame();
	assert_int_equal(frame_op, 0x9);
	srv_frame(&T->srv, 0xa, "", 0);
	run_until(&T->c.pongs, 1);

	/* The gateway's ping is answered without us. */
	srv_frame(&T->srv, 0x9, "abc", 3);
	run_until_frame();
	assert_int_equal(frame_op, 0xa);
	assert_int_equal(frame_len, 3);
	assert_memory_equal(frame_payload, "abc", 3);

	ws_close(T->c.ws, WS_CLOSE_NORMAL, "bye");
	assert_int_equal(ws_send_text(T->c.ws, "late", 4), -1);
	run_until_frame();
	assert_int_equal(frame_close_code(), 1000);
	assert_int_equal(frame_len, 5);
	assert_memory_equal(frame_payload + 2, "bye", 3);
	assert_int_equal(T->c.closed, 0);
	srv_close_frame(&T->srv, 1000, "");
	run_until(&T->c.closed, 1);
	assert_non_null(strstr(T->c.reason, "1000"));
	run_until(&T->srv.eof, 1);
	assert_int_equal(T->c.closed, 1);
	assert_int_equal(ws_send_text(T->c.ws, "x", 1), -1);
	assert_int_equal(ws_outq(T->c.ws), 0);
}

/* Our close unanswered: closed() comes after the 2 s wait anyway. */
static void
test_close_timeout(void **state)
{
	open_client(state);
	ws_close(T->c.ws, WS_CLOSE_GOING_AWAY, NULL);
	run_until_frame();
	assert_int_equal(frame_close_code(), 1001);
	run_until(&T->c.closed, 1);
	assert_non_null(strstr(T->c.reason, "1001"));
}

static void
respond_bad_accept(struct srv *s)
{
	srv_send(s, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kvlXbg+xOo=\r\n\r\n");
}

static void
test_bad_accept(void **state)
{
	start(state, respond_bad_accept);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.opened, 0);
	assert_non_null(strstr(T->c.reason, "Sec-WebSocket-Accept"));
	run_until(&T->srv.eof, 1);
}

/* One write: we answer from inside the loop, so it must not block. */
static void
respond_huge(struct srv *s)
{
	static char	 buf[WS_MAX_HANDSHAKE + 2048];
	const char	*line = "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

	strcpy(buf, "HTTP/1.1 101 Switching Protocols\r\n");
	while (strlen(buf) < WS_MAX_HANDSHAKE + 100)
		strcat(buf, line);
	strcat(buf, "\r\n");
	srv_send(s, buf);
}

static void
test_oversized_headers(void **state)
{
	start(state, respond_huge);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.opened, 0);
	assert_non_null(strstr(T->c.reason, "too large"));
}

/* Each response is wrong in one way: a status line, then extra headers. */
static const struct {
	const char	*status;
	const char	*extra;
	const char	*why;
} bad_responses[] = {
	{ "HTTP/1.1 403 Forbidden", "", "refused the upgrade: 403" },
	{ "HTTP/1.0 101 Switching Protocols", "", "not an HTTP/1.1" },
	{ "HTTP/1.1 101", "X-Folded: a\r\n yes\r\n", "folded" },
	{ "HTTP/1.1 101 OK", "Sec-WebSocket-Extensions: permessage-deflate\r\n",
	    "unrequested Sec-WebSocket-Extensions" },
	{ "HTTP/1.1 101 OK", "Sec-WebSocket-Protocol: chat\r\n",
	    "unrequested Sec-WebSocket-Protocol" },
	{ "HTTP/1.1 101 OK", "Upgrade: websocket\r\n", "bad Upgrade" },
	{ "HTTP/1.1 101 OK", "Bad Name: x\r\n", "invalid header name" },
	{ "HTTP/1.1 101 OK", "X-Ctl: a\001b\r\n", "control character" },
	{ "HTTP/1.1 101 OK", "X-Bare: a\nb\r\n", "bare CR or LF" },
	{ "HTTP/1.1 101 OK", "X-Space : a\r\n", "invalid header name" },
	{ "HTTP/1.1 101 OK", "Sec-WebSocket-Accept: x\r\n",
	    "Sec-WebSocket-Accept" },
	{ "HTTP/1.1 1010 OK", "", "not an HTTP/1.1" },
	{ "HTTP/1.1 101 OK\r\nX-Empty-Name", ": x\r\n", "malformed" },
	{ NULL, NULL, NULL }
};
/* After the table: responses that lack something or have too much. */
static const char *bad_drop_why[] = {
	NULL, "missing Upgrade", "missing Connection", "more than 64 header"
};
static int	 bad_index;
static int	 bad_drop;	/* 1: omit Upgrade, 2: Connection, 3: 64+ */

static void
respond_bad(struct srv *s)
{
	char	 acc[128], hdrs[4096], buf[8192];
	int	 i;

	accept_line(s, acc, sizeof(acc));
	snprintf(hdrs, sizeof(hdrs), "%s%s%s",
	    bad_drop == 1 ? "" : "Upgrade: websocket\r\n",
	    bad_drop == 2 ? "Connection: close\r\n" : "Connection: upgrade\r\n",
	    acc);
	if (bad_drop == 3)
		for (i = 0; i < WS_MAX_HEADERS; i++)
			strcat(hdrs, "X-Many: 1\r\n");
	if (bad_drop != 0)
		snprintf(buf, sizeof(buf), "HTTP/1.1 101 OK\r\n%s\r\n", hdrs);
	else
		snprintf(buf, sizeof(buf), "%s\r\n%s%s\r\n",
		    bad_responses[bad_index].status, hdrs,
		    bad_responses[bad_index].extra);
	srv_send(s, buf);
}

static void
reset_pair(void)
{
	int	 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	event_free(T->srv.ev);
	close(T->srv.fd);
	memset(&T->srv, 0, sizeof(T->srv));
	memset(&T->c, 0, sizeof(T->c));
	T->srv.fd = sv[1];
	evutil_make_socket_nonblocking(sv[1]);
	T->srv.ev = event_new(T->base, sv[1], EV_READ | EV_PERSIST,
	    srv_readcb, &T->srv);
	event_add(T->srv.ev, NULL);
	T->cfd = sv[0];
}

static void
test_bad_responses(void **state)
{
	int	 i, nresp;

	(void)state;
	for (nresp = 0; bad_responses[nresp].status != NULL; nresp++)
		;
	for (i = 0; i < nresp + 3; i++) {
		bad_index = i < nresp ? i : 0;
		bad_drop = i < nresp ? 0 : i - nresp + 1;
		reset_pair();
		T->srv.respond = respond_bad;
		T->c.free_in_closed = 1;
		T->c.ws = ws_new(T->base, T->cfd, NULL, &T->url, &client_cb,
		    &T->c);
		T->cfd = -1;
		run_until(&T->c.closed, 1);
		if (T->c.opened != 0)
			fail_msg("bad response %d accepted", i);
		if (strncmp(T->c.reason, "upgrade failed: ", 16) != 0 ||
		    strstr(T->c.reason, bad_drop != 0 ? bad_drop_why[bad_drop] :
		    bad_responses[i].why) == NULL)
			fail_msg("bad response %d: reason \"%s\"", i,
			    T->c.reason);
		assert_null(T->c.ws);
	}
}

/* Frames sent in the same write as the 101 belong to the stream. */
static void
respond_ok_and_text(struct srv *s)
{
	const char	*t = "h\xc3\xa9llo \xe2\x9c\x93";

	respond_ok(s);
	srv_frame(s, 0x1, t, strlen(t));
}

static void
test_text_after_upgrade(void **state)
{
	start(state, respond_ok_and_text);
	run_until(&T->c.texts, 1);
	assert_int_equal(T->c.opened, 1);
	assert_int_equal(T->c.textlen, 10);
	assert_memory_equal(T->c.text, "h\xc3\xa9llo \xe2\x9c\x93", 10);
}

static void
test_fragmented_text(void **state)
{
	open_client(state);
	srv_frame_hdr(&T->srv, 0, 0x1, 3);
	write_all(T->srv.fd, "abc", 3);
	srv_frame(&T->srv, 0x9, "", 0);		/* control frame in between */
	srv_frame_hdr(&T->srv, 1, 0x0, 3);
	write_all(T->srv.fd, "def", 3);
	run_until(&T->c.texts, 1);
	assert_int_equal(T->c.textlen, 6);
	assert_memory_equal(T->c.text, "abcdef", 6);
}

static void
test_invalid_utf8(void **state)
{
	open_client(state);
	/* An overlong '/' then a lone continuation byte. */
	srv_frame(&T->srv, 0x1, "ok \xc0\xaf \x80", 7);
	run_until_frame();
	assert_int_equal(frame_close_code(), 1007);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.texts, 0);
	assert_non_null(strstr(T->c.reason, "1007"));
	run_until(&T->srv.eof, 1);
	assert_int_equal(T->c.closed, 1);
}

static void
test_too_big(void **state)
{
	static char	 chunk[4096];

	open_client(state);
	srv_frame_hdr(&T->srv, 1, 0x1, (uint64_t)WS_MAX_MESSAGE + 1);
	memset(chunk, 'a', sizeof(chunk));
	write_all(T->srv.fd, chunk, sizeof(chunk));
	run_until_frame();
	assert_int_equal(frame_close_code(), 1009);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.texts, 0);
	assert_non_null(strstr(T->c.reason, "1009"));
}

/* Many small fragments adding up to too much also close with 1009. */
static void
test_too_big_fragmented(void **state)
{
	static char	 chunk[1024 * 1024];
	int		 i;

	open_client(state);
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0; i < 9; i++) {
		srv_frame_hdr(&T->srv, 0, i == 0 ? 0x1 : 0x0, sizeof(chunk));
		write_all(T->srv.fd, chunk, sizeof(chunk));
		if (T->srv.inlen > 0)
			break;		/* already refused */
		event_base_loop(T->base, EVLOOP_NONBLOCK);
	}
	run_until_frame();
	assert_int_equal(frame_close_code(), 1009);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.texts, 0);
}

static void
test_too_many_fragments(void **state)
{
	unsigned char	 buf[2 * 5000];
	int		 i;

	open_client(state);
	for (i = 0; i < 5000; i++) {
		buf[2 * i] = i == 0 ? 0x01 : 0x00;
		buf[2 * i + 1] = 0;
	}
	write_all(T->srv.fd, buf, sizeof(buf));
	run_until_frame();
	assert_int_equal(frame_close_code(), 1008);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.texts, 0);
}

static void
test_binary(void **state)
{
	unsigned char	 data[300];

	open_client(state);
	memset(data, 0xff, sizeof(data));	/* not UTF-8, not our business */
	srv_frame(&T->srv, 0x2, data, sizeof(data));
	run_until(&T->c.binaries, 1);
	assert_int_equal(T->c.binlen, 300);
	assert_int_equal(T->c.texts, 0);
	assert_int_equal(T->c.closed, 0);
}

static void
test_peer_close(void **state)
{
	open_client(state);
	T->c.free_in_closed = 1;
	srv_close_frame(&T->srv, 1001, "going away");
	run_until_frame();
	assert_int_equal(frame_close_code(), 1001);	/* echoed */
	run_until(&T->c.closed, 1);
	assert_non_null(strstr(T->c.reason, "1001"));
	assert_non_null(strstr(T->c.reason, "going away"));
	assert_null(T->c.ws);
	run_until(&T->srv.eof, 1);
}

static void
test_peer_eof(void **state)
{
	open_client(state);
	T->c.free_in_closed = 1;
	shutdown(T->srv.fd, SHUT_WR);
	run_until(&T->c.closed, 1);
	assert_non_null(strstr(T->c.reason, "without a close frame"));
}

static void
test_eof_during_upgrade(void **state)
{
	start(state, NULL);
	run_until(&T->srv.got_req, 1);
	srv_send(&T->srv, "HTTP/1.1 101 Switching Protocols\r\n");
	shutdown(T->srv.fd, SHUT_WR);
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.opened, 0);
	assert_non_null(strstr(T->c.reason, "upgrade"));
}

/* Run the loop until the client has read everything the server wrote. */
static void
pump_until_read(void)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*guard;
	int		 expired = 0, queued, i;

	guard = evtimer_new(T->base, guard_cb, &expired);
	evtimer_add(guard, &tv);
	do {
		event_base_loop(T->base, EVLOOP_NONBLOCK);
		assert_int_equal(ioctl(T->srv.fd, SIOCOUTQ, &queued), 0);
	} while (queued > 0 && !expired);
	for (i = 0; i < 3; i++)		/* and ran its deferred callbacks */
		event_base_loop(T->base, EVLOOP_NONBLOCK);
	event_free(guard);
	assert_false(expired);
}

/* The response trickles in; the end of the header block is split. */
static void
test_split_response(void **state)
{
	char	 acc[128], buf[1024];
	size_t	 len;

	start(state, NULL);
	run_until(&T->srv.got_req, 1);
	accept_line(&T->srv, acc, sizeof(acc));
	snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n%s\r\n", acc);
	len = strlen(buf);
	write_all(T->srv.fd, buf, 11);
	pump_until_read();
	write_all(T->srv.fd, buf + 11, len - 12);
	pump_until_read();
	assert_int_equal(T->c.opened + T->c.closed, 0);
	write_all(T->srv.fd, buf + len - 1, 1);
	srv_frame(&T->srv, 0x1, "split", 5);
	run_until(&T->c.texts, 1);
	assert_int_equal(T->c.opened, 1);
	assert_memory_equal(T->c.text, "split", 5);
}

/* ws_free from inside text(), with more frames waiting behind it. */
static void
test_free_in_text(void **state)
{
	open_client(state);
	T->c.free_in_text = 1;
	srv_frame(&T->srv, 0x1, "one", 3);
	srv_frame(&T->srv, 0x1, "two", 3);
	run_until(&T->c.texts, 1);
	assert_null(T->c.ws);
	run_until(&T->srv.eof, 1);
	event_base_loop(T->base, EVLOOP_NONBLOCK);
	assert_int_equal(T->c.texts, 1);
	assert_int_equal(T->c.closed, 0);
}

static void
test_close_before_open(void **state)
{
	start(state, NULL);
	ws_close(T->c.ws, WS_CLOSE_NORMAL, NULL);
	assert_int_equal(T->c.closed, 0);	/* never from inside ws_close */
	run_until(&T->c.closed, 1);
	assert_int_equal(T->c.opened, 0);
}

/* Backpressure: outq crosses WS_OUT_HIGH, drained() once it is low. */
static void
test_drained(void **state)
{
	size_t	 len = WS_OUT_HIGH + 1024 * 1024;
	char	*big;

	open_client(state);
	big = malloc(len);
	assert_non_null(big);
	memset(big, 'x', len);
	assert_int_equal(ws_send_text(T->c.ws, big, len), 0);
	free(big);
	assert_true(ws_outq(T->c.ws) > WS_OUT_HIGH);
	run_until(&T->c.drained, 1);
	assert_true(ws_outq(T->c.ws) < WS_OUT_LOW);
	assert_true(T->srv.total > len - WS_OUT_LOW);
	assert_int_equal(T->c.closed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_value),
		cmocka_unit_test_setup_teardown(test_upgrade_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_host_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_and_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_accept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_oversized_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_responses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_text_after_upgrade, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_response, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fragmented_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_fragmented, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many_fragments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_peer_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_during_upgrade, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_in_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_before_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drained, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init(1, getenv("WS_TEST_DEBUG") != NULL ? LOGLEVEL_DEBUG :
	    LOGLEVEL_QUIET);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
