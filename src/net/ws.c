/*
 * WebSocket client (RFC 6455) for the gateway link. The parent connects
 * the socket; here we add TLS (libevent's OpenSSL bufferevent), write the
 * HTTP/1.1 upgrade ourselves, check the answer strictly, and then let
 * wslay frame messages over the same bufferevent.
 *
 * Every way out (error, EOF, timeout, closing handshake) funnels into
 * ws_finish(), which reports closed() once. User callbacks only run from
 * libevent callbacks, never from inside the public functions, and a
 * ws_free() issued from inside one is carried out when it returns.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#include "portacoded.h"
#include "log.h"
#include "xmalloc.h"
#include "json.h"
#include "net/ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_BYTES	16
#define WS_CLOSE_WAIT	2		/* seconds for the peer's close */
#define WS_MAX_FRAGMENTS 4096		/* frames per inbound message */
#define WS_CLOSE_REASON	123		/* bytes of text a close frame holds */
/*
 * wslay keeps what does not fit here, so a pong or close can still
 * overtake queued messages at a frame boundary.
 */
#define WS_SEND_CAP	(256 * 1024)
#define WS_SEND_LOW	(64 * 1024)

#define WS_KEEPIDLE	30
#define WS_KEEPINTVL	10
#define WS_KEEPCNT	3
#define WS_USER_TIMEOUT	60000		/* ms of unacknowledged data */

enum ws_state {
	WS_HANDSHAKE,	/* TLS and HTTP upgrade */
	WS_OPEN,
	WS_CLOSING,	/* close frame queued or sent, waiting for the end */
	WS_DEAD		/* closed() reported */
};

struct ws {
	struct event_base	*base;
	struct bufferevent	*bev;
	SSL			*ssl;		/* owned by bev */
	wslay_event_context_ptr	 wctx;
	struct event		*timer;		/* handshake, then close wait */
	struct event		*kick;		/* deferred work */
	struct ws_cb		 cb;
	void			*arg;
	enum ws_state		 state;
	int			 tls;
	int			 tls_done;
	int			 busy;		/* depth of our callbacks */
	int			 freed;		/* ws_free() while busy */
	int			 high;		/* outq went above WS_OUT_HIGH */
	int			 nfrags;
	char			*request;	/* upgrade request, until sent */
	size_t			 scanned;	/* response bytes searched */
	char			 key[32];
	char			 host[256];
	char			 fail[256];	/* pending failure for kick */
	char			 reason[256];	/* why we are closing */
};

static ssize_t	ws_recv_cb(wslay_event_context_ptr, uint8_t *, size_t, int,
		    void *);
static ssize_t	ws_send_cb(wslay_event_context_ptr, const uint8_t *, size_t,
		    int, void *);
static int	ws_genmask_cb(wslay_event_context_ptr, uint8_t *, size_t,
		    void *);
static void	ws_frame_start_cb(wslay_event_context_ptr,
		    const struct wslay_event_on_frame_recv_start_arg *, void *);
static void	ws_msg_cb(wslay_event_context_ptr,
		    const struct wslay_event_on_msg_recv_arg *, void *);

static const struct wslay_event_callbacks ws_wslay_cbs = {
	ws_recv_cb,
	ws_send_cb,
	ws_genmask_cb,
	ws_frame_start_cb,
	NULL,
	NULL,
	ws_msg_cb
};

/* --- Small helpers ------------------------------------------------------ */

static int
base64(const unsigned char *in, size_t inlen, char *out, size_t outlen)
{
	if (outlen < 4 * ((inlen + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)inlen);
	return 0;
}

int
ws_accept_value(const char *key, char *out, size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	char		 buf[128];
	int		 n;

	n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	if (EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1)
		return -1;
	return base64(md, mdlen, out, outlen);
}

/* Printable ASCII copy of untrusted text for messages. */
static void
sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t	 i, j = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && j + 1 < dstlen; i++) {
		unsigned char c = src[i];

		dst[j++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[j] = '\0';
}

static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *
close_code_text(unsigned int code)
{
	switch (code) {
	case WS_CLOSE_PROTOCOL:
	case 1005:
		return "protocol error from the gateway";
	case WS_CLOSE_INVALID_DATA:
		return "invalid UTF-8 from the gateway";
	case WS_CLOSE_POLICY:
		return "policy violation by the gateway";
	case WS_CLOSE_TOO_BIG:
		return "message from the gateway too big";
	default:
		return "connection closed";
	}
}

/* --- Lifecycle ---------------------------------------------------------- */

static void
ws_destroy(struct ws *ws)
{
	if (ws->bev != NULL)
		bufferevent_free(ws->bev);
	if (ws->wctx != NULL)
		wslay_event_context_free(ws->wctx);
	event_free(ws->timer);
	event_free(ws->kick);
	free(ws->request);
	free(ws);
}

static void
ws_enter(struct ws *ws)
{
	ws->busy++;
}

static void
ws_leave(struct ws *ws)
{
	if (--ws->busy == 0 && ws->freed)
		ws_destroy(ws);
}

static void
ws_kick(struct ws *ws)
{
	event_active(ws->kick, EV_TIMEOUT, 0);
}

/* Stop all I/O; the socket closes now even if the owner frees later. */
static void
ws_quiesce(struct ws *ws)
{
	evtimer_del(ws->timer);
	event_del(ws->kick);
	if (ws->wctx != NULL) {
		wslay_event_shutdown_read(ws->wctx);
		wslay_event_shutdown_write(ws->wctx);
	}
	if (ws->bev != NULL) {
		bufferevent_free(ws->bev);
		ws->bev = NULL;
		ws->ssl = NULL;
	}
}

/* The one exit. Callers are always inside ws_enter()/ws_leave(). */
static void
ws_finish(struct ws *ws, const char *reason)
{
	if (ws->state == WS_DEAD)
		return;
	ws->state = WS_DEAD;
	ws_quiesce(ws);
	log_debug("%s: WebSocket gone: %s", ws->host, reason);
	if (!ws->freed && ws->cb.closed != NULL)
		ws->cb.closed(ws, reason, ws->arg);
}

/* Report a failure from the event loop rather than from our caller. */
static void
ws_defer_fail(struct ws *ws, const char *reason)
{
	if (ws->fail[0] == '\0')
		strlcpy_chk(ws->fail, reason, sizeof(ws->fail));
	ws_kick(ws);
}

static void
ws_begin_closing(struct ws *ws)
{
	struct timeval	 tv = { WS_CLOSE_WAIT, 0 };

	if (ws->state != WS_OPEN)
		return;
	ws->state = WS_CLOSING;
	/* The write callback must tell us when the close frame left. */
	bufferevent_setwatermark(ws->bev, EV_WRITE, 0, 0);
	evtimer_add(ws->timer, &tv);
}

static const char *
ws_closing_reason(struct ws *ws)
{
	unsigned int	 code;

	if (ws->reason[0] != '\0')
		return ws->reason;
	if (ws->wctx != NULL && wslay_event_get_close_sent(ws->wctx)) {
		code = wslay_event_get_status_code_sent(ws->wctx);
		snprintf(ws->reason, sizeof(ws->reason), "%s (sent close %u)",
		    close_code_text(code), code);
		return ws->reason;
	}
	return "connection closed";
}

/* We refuse what the gateway sent: close with code, read no more. */
static void
ws_reject(struct ws *ws, uint16_t code, const char *why)
{
	if (ws->reason[0] == '\0')
		snprintf(ws->reason, sizeof(ws->reason), "%s (sent close %u)",
		    why, code);
	wslay_event_queue_close(ws->wctx, code, NULL, 0);
	wslay_event_shutdown_read(ws->wctx);
}

/* --- wslay glue --------------------------------------------------------- */

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws	*ws = arg;
	int		 n;

	(void)flags;
	if (ws->bev == NULL || (n = evbuffer_remove(bufferevent_get_input(
	    ws->bev), buf, len)) <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct ws	*ws = arg;
	struct evbuffer	*out;

	(void)flags;
	if (ws->bev == NULL) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	out = bufferevent_get_output(ws->bev);
	if (evbuffer_get_length(out) >= WS_SEND_CAP) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (evbuffer_add(out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return len;
}

static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	(void)ctx;
	(void)arg;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* wslay bounds message size but not the number of frames in one. */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *a, void *arg)
{
	struct ws	*ws = arg;

	(void)ctx;
	if (wslay_is_ctrl_frame(a->opcode))
		return;
	if (a->opcode != WSLAY_CONTINUATION_FRAME)
		ws->nfrags = 0;
	if (++ws->nfrags > WS_MAX_FRAGMENTS)
		ws_reject(ws, WS_CLOSE_POLICY,
		    "too many fragments in a message from the gateway");
}

static void
ws_peer_close(struct ws *ws, const struct wslay_event_on_msg_recv_arg *a)
{
	char	 text[WS_CLOSE_REASON + 1];

	if (ws->reason[0] != '\0')
		return;
	if (a->status_code == 0) {
		snprintf(ws->reason, sizeof(ws->reason),
		    "closed by the gateway (no status code)");
		return;
	}
	text[0] = '\0';
	if (a->msg_length > 2)
		sanitize(text, sizeof(text), (const char *)a->msg + 2,
		    a->msg_length - 2);
	snprintf(ws->reason, sizeof(ws->reason),
	    "closed by the gateway (code %u%s%s)", a->status_code,
	    text[0] != '\0' ? ": " : "", text);
}

static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *a, void *arg)
{
	struct ws	*ws = arg;
	const char	*msg = a->msg != NULL ? (const char *)a->msg : "";
	int		 deliver;

	if (ws->freed || ws->state == WS_DEAD)
		return;
	/* Nothing but the close frame counts once closing has begun. */
	deliver = ws->state == WS_OPEN && wslay_event_get_read_enabled(ctx);
	switch (a->opcode) {
	case WSLAY_TEXT_FRAME:
		if (!utf8_valid(msg, a->msg_length)) {
			ws_reject(ws, WS_CLOSE_INVALID_DATA,
			    "invalid UTF-8 from the gateway");
			return;
		}
		log_debug("%s: text message, %zu bytes", ws->host,
		    a->msg_length);
		if (deliver && ws->cb.text != NULL)
			ws->cb.text(ws, msg, a->msg_length, ws->arg);
		break;
	case WSLAY_BINARY_FRAME:
		log_debug("%s: binary message, %zu bytes", ws->host,
		    a->msg_length);
		if (deliver && ws->cb.binary != NULL)
			ws->cb.binary(ws, a->msg_length, ws->arg);
		break;
	case WSLAY_PONG:
		if (deliver && ws->cb.pong != NULL)
			ws->cb.pong(ws, ws->arg);
		break;
	case WSLAY_CONNECTION_CLOSE:
		ws_peer_close(ws, a);
		break;
	default:
		break;		/* ping: wslay queued the pong */
	}
}

/* --- HTTP upgrade ------------------------------------------------------- */

static int
url_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
ws_make_request(struct ws *ws, const struct gateway_url *url)
{
	unsigned char	 raw[WS_KEY_BYTES];
	const char	*dport;
	int		 v6, showport;

	if (url->host[0] == '\0' || url->path[0] != '/' ||
	    !url_text_ok(url->host) || !url_text_ok(url->port) ||
	    !url_text_ok(url->path))
		return -1;
	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    base64(raw, sizeof(raw), ws->key, sizeof(ws->key)) == -1)
		return -1;
	dport = url->tls ? "443" : "80";
	showport = url->port[0] != '\0' && strcmp(url->port, dport) != 0;
	v6 = strchr(url->host, ':') != NULL;
	xasprintf(&ws->request,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s%s%s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "User-Agent: portacoded/" PACKAGE_VERSION "\r\n"
	    "\r\n",
	    url->path, v6 ? "[" : "", url->host, v6 ? "]" : "",
	    showport ? ":" : "", showport ? url->port : "", ws->key);
	return 0;
}

static void
ws_send_request(struct ws *ws)
{
	if (ws->request == NULL)
		return;
	if (bufferevent_write(ws->bev, ws->request, strlen(ws->request)) != 0)
		ws_defer_fail(ws, "cannot queue the upgrade request");
	free(ws->request);
	ws->request = NULL;
}

/* 1 if the comma-separated list holds token (case-insensitive). */
static int
list_has_token(const char *list, const char *token)
{
	const char	*p = list, *e;
	size_t		 tlen = strlen(token), n;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		e = p + strcspn(p, ",");
		n = e - p;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return 1;
		p = e;
	}
}

struct upgrade {
	int	 upgrade;
	int	 connection;
	int	 accept;
};

static int
ws_header(struct ws *ws, struct upgrade *u, char *line, char *why,
    size_t whylen)
{
	char		 expect[64];
	char		*colon, *v, *e;

	if (*line == ' ' || *line == '\t') {
		snprintf(why, whylen, "folded header line");
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		snprintf(why, whylen, "malformed header line");
		return -1;
	}
	for (v = line; v < colon; v++)
		if (!is_tchar(*v)) {
			snprintf(why, whylen, "invalid header name");
			return -1;
		}
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v; *e != '\0'; e++) {
		unsigned char c = *e;

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, whylen, "control character in header %s",
			    line);
			return -1;
		}
	}
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';

	if (strcasecmp(line, "Upgrade") == 0) {
		if (u->upgrade++ || strcasecmp(v, "websocket") != 0) {
			snprintf(why, whylen, "bad Upgrade header");
			return -1;
		}
	} else if (strcasecmp(line, "Connection") == 0) {
		if (list_has_token(v, "upgrade"))
			u->connection = 1;
	} else if (strcasecmp(line, "Sec-WebSocket-Accept") == 0) {
		if (u->accept++ ||
		    ws_accept_value(ws->key, expect, sizeof(expect)) == -1 ||
		    strcmp(v, expect) != 0) {
			snprintf(why, whylen, "wrong Sec-WebSocket-Accept");
			return -1;
		}
	} else if (strcasecmp(line, "Sec-WebSocket-Extensions") == 0 ||
	    strcasecmp(line, "Sec-WebSocket-Protocol") == 0) {
		/* We offered none, so the server may pick none. */
		snprintf(why, whylen, "gateway selected an unrequested %s",
		    line);
		return -1;
	}
	return 0;
}

static int
ws_status_line(const char *line, char *why, size_t whylen)
{
	char	 text[80];

	if (strncmp(line, "HTTP/1.1 ", 9) != 0 ||
	    strspn(line + 9, "0123456789") != 3 ||
	    (line[12] != '\0' && line[12] != ' ')) {
		sanitize(text, sizeof(text), line, strlen(line));
		snprintf(why, whylen, "not an HTTP/1.1 response: \"%s\"", text);
		return -1;
	}
	if (strncmp(line + 9, "101", 3) != 0) {
		sanitize(text, sizeof(text), line + 9, strlen(line + 9));
		snprintf(why, whylen, "gateway refused the upgrade: %s", text);
		return -1;
	}
	return 0;
}

/* buf holds the header block with its final CRLF CRLF, NUL-terminated. */
static int
ws_parse_response(struct ws *ws, char *buf, size_t len, char *why,
    size_t whylen)
{
	struct upgrade	 u;
	char		*line, *eol;
	int		 nheaders = 0;

	memset(&u, 0, sizeof(u));
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "NUL byte in the upgrade response");
		return -1;
	}
	for (line = buf; ; line = eol + 2) {
		eol = strstr(line, "\r\n");	/* found: buf ends in CRLF */
		*eol = '\0';
		if (strpbrk(line, "\r\n") != NULL) {
			snprintf(why, whylen, "bare CR or LF in the upgrade "
			    "response");
			return -1;
		}
		if (line == buf) {
			if (ws_status_line(line, why, whylen) == -1)
				return -1;
			continue;
		}
		if (*line == '\0')
			break;
		if (++nheaders > WS_MAX_HEADERS) {
			snprintf(why, whylen, "more than %d header lines",
			    WS_MAX_HEADERS);
			return -1;
		}
		if (ws_header(ws, &u, line, why, whylen) == -1)
			return -1;
	}
	if (!u.upgrade || !u.connection || !u.accept) {
		snprintf(why, whylen, "missing %s header",
		    !u.upgrade ? "Upgrade" : !u.connection ?
		    "Connection: upgrade" : "Sec-WebSocket-Accept");
		return -1;
	}
	return 0;
}

static void ws_read_frames(struct ws *);

static void
ws_read_upgrade(struct ws *ws)
{
	struct evbuffer		*in = bufferevent_get_input(ws->bev);
	struct evbuffer_ptr	 p;
	char			 why[200], reason[256];
	char			*buf;
	size_t			 hlen;
	int			 r;

	/* Resume where the last search ended: a slow peer stays linear. */
	if (evbuffer_ptr_set(in, &p, ws->scanned, EVBUFFER_PTR_SET) == -1)
		fatalx("%s: evbuffer_ptr_set", __func__);
	p = evbuffer_search(in, "\r\n\r\n", 4, &p);
	if (p.pos == -1) {
		if (evbuffer_get_length(in) >= WS_MAX_HANDSHAKE)
			ws_finish(ws, "upgrade response too large");
		else if (evbuffer_get_length(in) > 3)
			ws->scanned = evbuffer_get_length(in) - 3;
		return;
	}
	hlen = (size_t)p.pos + 4;
	if (hlen > WS_MAX_HANDSHAKE) {
		ws_finish(ws, "upgrade response too large");
		return;
	}
	buf = xmalloc(hlen + 1);
	if (evbuffer_remove(in, buf, hlen) != (int)hlen)
		fatalx("%s: evbuffer_remove", __func__);
	buf[hlen] = '\0';
	r = ws_parse_response(ws, buf, hlen, why, sizeof(why));
	free(buf);
	if (r == -1) {
		snprintf(reason, sizeof(reason), "upgrade failed: %s", why);
		ws_finish(ws, reason);
		return;
	}

	ws->state = WS_OPEN;
	evtimer_del(ws->timer);
	log_debug("%s: WebSocket open", ws->host);
	if (ws->cb.open != NULL)
		ws->cb.open(ws, ws->arg);
	/* Whatever followed the header block is already WebSocket data. */
	if (!ws->freed && ws->state == WS_OPEN && evbuffer_get_length(in) > 0)
		ws_read_frames(ws);
}

/* --- Event handling ----------------------------------------------------- */

static void
ws_read_frames(struct ws *ws)
{
	struct evbuffer	*in;

	if (wslay_event_get_read_enabled(ws->wctx) &&
	    wslay_event_recv(ws->wctx) != 0 && ws->reason[0] == '\0')
		snprintf(ws->reason, sizeof(ws->reason),
		    "protocol error from the gateway");
	/* A callback may have freed us (ws_quiesce dropped the bev). */
	if (ws->bev == NULL)
		return;
	/* Once wslay stops reading, whatever else arrives is discarded. */
	if (!wslay_event_get_read_enabled(ws->wctx)) {
		in = bufferevent_get_input(ws->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

/* Move queued frames out, then see whether we are done or drained. */
static void
ws_service(struct ws *ws)
{
	size_t	 q;

	if (ws->freed || ws->state == WS_DEAD)
		return;
	if (ws->fail[0] != '\0') {
		ws_finish(ws, ws->fail);
		return;
	}
	if (ws->state == WS_HANDSHAKE)
		return;
	if (wslay_event_want_write(ws->wctx) &&
	    wslay_event_send(ws->wctx) != 0) {
		ws_finish(ws, "cannot write to the gateway connection");
		return;
	}
	/* wslay stops reading once a close is received or decided on. */
	if (ws->state == WS_OPEN && !wslay_event_get_read_enabled(ws->wctx))
		ws_begin_closing(ws);
	/*
	 * Hanging up before the peer's close (or its EOF, or the close
	 * timer) would leave its unread data in our socket: the kernel
	 * then resets the connection and the peer may never see our code.
	 */
	if (ws->state == WS_CLOSING &&
	    wslay_event_get_close_sent(ws->wctx) &&
	    wslay_event_get_close_received(ws->wctx) &&
	    evbuffer_get_length(bufferevent_get_output(ws->bev)) == 0) {
		ws_finish(ws, ws_closing_reason(ws));
		return;
	}
	if (ws->state != WS_OPEN)
		return;
	q = ws_outq(ws);
	if (q > WS_OUT_HIGH)
		ws->high = 1;
	else if (ws->high && q < WS_OUT_LOW) {
		ws->high = 0;
		if (ws->cb.drained != NULL)
			ws->cb.drained(ws, ws->arg);
	}
}

static void
ws_readcb(struct bufferevent *bev, void *arg)
{
	struct ws	*ws = arg;

	(void)bev;
	ws_enter(ws);
	if (ws->state == WS_HANDSHAKE)
		ws_read_upgrade(ws);
	else if (ws->state == WS_OPEN || ws->state == WS_CLOSING)
		ws_read_frames(ws);
	ws_service(ws);
	ws_leave(ws);
}

static void
ws_writecb(struct bufferevent *bev, void *arg)
{
	struct ws	*ws = arg;

	(void)bev;
	ws_enter(ws);
	ws_service(ws);
	ws_leave(ws);
}

static void
ws_error_text(struct ws *ws, char *buf, size_t len)
{
	char		 ebuf[256];
	unsigned long	 e, first = 0;
	long		 vr;
	int		 serr = EVUTIL_SOCKET_ERROR();

	if (ws->ssl != NULL) {
		while ((e = bufferevent_get_openssl_error(ws->bev)) != 0)
			if (first == 0)
				first = e;
		ERR_clear_error();
		vr = SSL_get_verify_result(ws->ssl);
		if (vr != X509_V_OK) {
			/* What an administrator needs to see, always. */
			snprintf(buf, len, "certificate verify failed: %s",
			    X509_verify_cert_error_string(vr));
			log_warnx("%s: %s", ws->host, buf);
			return;
		}
		if (first != 0) {
			ERR_error_string_n(first, ebuf, sizeof(ebuf));
			snprintf(buf, len, "TLS error: %s", ebuf);
			return;
		}
	}
	if (serr != 0)
		snprintf(buf, len, "%s: %s", ws->tls && !ws->tls_done ?
		    "TLS handshake failed" : "connection error",
		    evutil_socket_error_to_string(serr));
	else
		snprintf(buf, len, "%s", ws->tls && !ws->tls_done ?
		    "TLS handshake failed" : "connection error");
}

static void
ws_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct ws	*ws = arg;
	char		 buf[300];

	(void)bev;
	ws_enter(ws);
	if (what & BEV_EVENT_CONNECTED) {
		ws->tls_done = 1;
		log_debug("%s: %s, %s", ws->host, SSL_get_version(ws->ssl),
		    SSL_get_cipher_name(ws->ssl));
		ws_send_request(ws);
	} else if (ws->state == WS_CLOSING || ws->reason[0] != '\0') {
		/* The peer may hang up right after its close frame. */
		ws_finish(ws, ws_closing_reason(ws));
	} else if (what & BEV_EVENT_ERROR) {
		ws_error_text(ws, buf, sizeof(buf));
		ws_finish(ws, buf);
	} else if (what & BEV_EVENT_EOF) {
		ws_finish(ws, ws->state == WS_OPEN ?
		    "gateway hung up without a close frame" :
		    ws->tls && !ws->tls_done ?
		    "gateway hung up during the TLS handshake" :
		    "gateway hung up during the upgrade");
	}
	ws_service(ws);
	ws_leave(ws);
}

static void
ws_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws	*ws = arg;

	(void)fd;
	(void)what;
	ws_enter(ws);
	if (ws->state == WS_HANDSHAKE)
		ws_finish(ws, ws->tls && !ws->tls_done ?
		    "TLS handshake timed out" : "upgrade timed out");
	else if (ws->state == WS_CLOSING)
		ws_finish(ws, ws_closing_reason(ws));
	ws_leave(ws);
}

static void
ws_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws	*ws = arg;

	(void)fd;
	(void)what;
	ws_enter(ws);
	ws_service(ws);
	ws_leave(ws);
}

/* --- Setup -------------------------------------------------------------- */

/* Keepalive and a user timeout so a dead path is noticed without us. */
static void
ws_sockopts(int fd)
{
	static const struct {
		int		 level, name, value;
		const char	*what;
	} opts[] = {
		{ IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY" },
		{ SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, WS_KEEPIDLE, "TCP_KEEPIDLE" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, WS_KEEPINTVL, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, WS_KEEPCNT, "TCP_KEEPCNT" },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, WS_USER_TIMEOUT,
		    "TCP_USER_TIMEOUT" },
	};
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	size_t			 i;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		log_warn("%s: getsockname", __func__);
		return;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return;		/* a socketpair in tests */
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (setsockopt(fd, opts[i].level, opts[i].name,
		    &opts[i].value, sizeof(opts[i].value)) == -1)
			log_warn("setsockopt %s", opts[i].what);
}

static int
ws_tls_setup(struct ws *ws, SSL_CTX *ctx, const char *host)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	int		 literal;

	if ((ws->ssl = SSL_new(ctx)) == NULL)
		return -1;
	literal = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	if (literal) {
		/* No SNI for addresses (RFC 6066); match an IP SAN. */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ws->ssl),
		    host) != 1)
			return -1;
	} else {
		SSL_set_hostflags(ws->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ws->ssl, host) != 1 ||
		    SSL_set_tlsext_host_name(ws->ssl, host) != 1)
			return -1;
	}
	return 0;
}

struct ws *
ws_new(struct event_base *base, int fd, SSL_CTX *ctx,
    const struct gateway_url *url, const struct ws_cb *cb, void *arg)
{
	struct ws	*ws;
	struct timeval	 tv = { WS_HANDSHAKE_TIMEOUT, 0 };
	const int	 opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	ws = xcalloc(1, sizeof(*ws));
	ws->base = base;
	ws->cb = *cb;
	ws->arg = arg;
	ws->state = WS_HANDSHAKE;
	ws->tls = ctx != NULL;
	strlcpy_chk(ws->host, url->host, sizeof(ws->host));
	if ((ws->timer = evtimer_new(base, ws_timer_cb, ws)) == NULL ||
	    (ws->kick = event_new(base, -1, 0, ws_kick_cb, ws)) == NULL)
		fatalx("%s: event_new", __func__);
	if (wslay_event_context_client_init(&ws->wctx, &ws_wslay_cbs, ws) != 0)
		fatalx("%s: wslay_event_context_client_init", __func__);
	wslay_event_config_set_max_recv_msg_length(ws->wctx, WS_MAX_MESSAGE);

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1)
		log_warn("%s: fcntl", __func__);
	ws_sockopts(fd);

	if (ws_make_request(ws, url) == -1) {
		close(fd);
		ws_defer_fail(ws, "invalid gateway URL or no randomness");
		return ws;
	}
	if (ctx != NULL) {
		if (ws_tls_setup(ws, ctx, url->host) == -1) {
			char		 e[200] = "unknown error";
			unsigned long	 err;

			if ((err = ERR_get_error()) != 0)
				ERR_error_string_n(err, e, sizeof(e));
			ERR_clear_error();
			SSL_free(ws->ssl);
			ws->ssl = NULL;
			close(fd);
			snprintf(ws->fail, sizeof(ws->fail),
			    "TLS setup failed: %s", e);
			ws_kick(ws);
			return ws;
		}
		ws->bev = bufferevent_openssl_socket_new(base, fd, ws->ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
		if (ws->bev == NULL)
			fatalx("%s: bufferevent_openssl_socket_new", __func__);
		/* A TCP close without close_notify is a plain EOF here. */
		bufferevent_openssl_set_allow_dirty_shutdown(ws->bev, 1);
	} else if ((ws->bev = bufferevent_socket_new(base, fd, opts)) == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);

	bufferevent_setcb(ws->bev, ws_readcb, ws_writecb, ws_eventcb, ws);
	bufferevent_setwatermark(ws->bev, EV_WRITE, WS_SEND_LOW, 0);
	bufferevent_enable(ws->bev, EV_READ | EV_WRITE);
	evtimer_add(ws->timer, &tv);
	if (ctx == NULL)
		ws_send_request(ws);
	log_debug("%s: %s handshake started", ws->host, ctx ? "TLS" :
	    "upgrade");
	return ws;
}

/* --- Public operations -------------------------------------------------- */

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	if (ws->busy > 0) {
		/* Inside one of our callbacks: finish when it returns. */
		ws->freed = 1;
		ws_quiesce(ws);
		return;
	}
	ws_destroy(ws);
}

static int
ws_queue(struct ws *ws, uint8_t opcode, const char *data, size_t len)
{
	struct wslay_event_msg	 m;

	if (ws->freed || ws->state != WS_OPEN)
		return -1;
	m.opcode = opcode;
	m.msg = (const uint8_t *)data;
	m.msg_length = len;
	if (wslay_event_queue_msg(ws->wctx, &m) != 0)
		return -1;
	if (ws_outq(ws) > WS_OUT_HIGH)
		ws->high = 1;
	ws_kick(ws);
	return 0;
}

int
ws_send_text(struct ws *ws, const char *data, size_t len)
{
	return ws_queue(ws, WSLAY_TEXT_FRAME, data, len);
}

int
ws_ping(struct ws *ws)
{
	return ws_queue(ws, WSLAY_PING, NULL, 0);
}

void
ws_close(struct ws *ws, uint16_t code, const char *why)
{
	size_t	 len;

	if (ws->freed || ws->state == WS_DEAD || ws->state == WS_CLOSING)
		return;
	if (ws->state == WS_HANDSHAKE) {
		ws_defer_fail(ws, why != NULL && *why != '\0' ? why :
		    "closed before the upgrade completed");
		return;
	}
	if (why == NULL)
		why = "";
	snprintf(ws->reason, sizeof(ws->reason), "closed by us (code %u%s%s)",
	    code, *why != '\0' ? ": " : "", why);
	len = strlen(why);
	if (len > WS_CLOSE_REASON) {
		len = WS_CLOSE_REASON;
		while (len > 0 && ((unsigned char)why[len] & 0xc0) == 0x80)
			len--;
	}
	if (!utf8_valid(why, len))
		len = 0;
	wslay_event_queue_close(ws->wctx, code, (const uint8_t *)why, len);
	ws_begin_closing(ws);
	ws_kick(ws);
}

size_t
ws_outq(const struct ws *ws)
{
	size_t	 n = 0;

	if (ws->freed || ws->state == WS_DEAD)
		return 0;
	if (ws->bev != NULL)
		n += evbuffer_get_length(bufferevent_get_output(ws->bev));
	if (ws->wctx != NULL)
		n += wslay_event_get_queued_msg_length(ws->wctx);
	return n;
}
