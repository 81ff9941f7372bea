/*
 * gateway: one connection to the gateway at a time. The parent opens the
 * socket and signs the challenge; everything here runs inside the sandbox.
 */
#include "config.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "portacoded.h"
#include "backoff.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "net/net.h"
#include "net/ws.h"
#include "xmalloc.h"

enum gw_state {
	GW_IDLE,		/* waiting for the retry timer */
	GW_CONNECTING,		/* the parent is opening the socket */
	GW_HANDSHAKE,		/* TLS and HTTP upgrade */
	GW_AUTH_CHALLENGE,	/* key sent, waiting for the challenge */
	GW_AUTH_SIGNING,	/* the parent is signing */
	GW_AUTH_RESULT,		/* signature sent, waiting for "ok" */
	GW_ONLINE,
	GW_CLOSING,
};

static struct {
	struct event_base	*base;
	const struct config	*conf;
	SSL_CTX			*ctx;
	struct ipc		*parent;
	char			*pubkey;
	enum gw_state		 state;
	struct ws		*ws;
	struct backoff		 bo;
	struct backoff		 reject_bo;
	int			 rejected;
	time_t			 online_since;
	struct event		*retry_ev;
	struct event		*ping_ev;
	int			 pong_pending;
	struct event		*clock_ev;
	char			 clock_id[32];
	int64_t			 clock_sent_ms;
	int			 clock_count;
	int			 clock_failures;
	int			 clock_waiting;
	int64_t			 clock_offset;
	int			 clock_synced;
} gw;

static void	gw_schedule(uint32_t);
static void	link_lost(const char *);

static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gw_now_ms(void)
{
	return wall_ms() + gw.clock_offset;
}

int
gw_online(void)
{
	return gw.state == GW_ONLINE;
}

size_t
gw_outq(void)
{
	return gw.ws != NULL ? ws_outq(gw.ws) : 0;
}

static void
link_state(enum link_state state, const char *detail)
{
	struct ipc_wr	 wr = { NULL, 0, 0 };

	ipc_wr_u32(&wr, state);
	ipc_wr_str(&wr, detail);
	ipc_send_wr(gw.parent, IMSG_LINK_STATE, 0, -1, &wr);
}

/* Gateway text in logs: bounded and printable. */
static void
sanitize(const char *in, size_t len, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	for (i = 0; i < len && o + 1 < outlen; i++)
		out[o++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[o] = '\0';
}

static int
send_text(const char *s)
{
	return gw.ws == NULL ? -1 : ws_send_text(gw.ws, s, strlen(s));
}

int
gw_send(struct json_object *payload)
{
	struct json_object	*frame;
	const char		*text;
	size_t			 len;
	int			 r;

	if (gw.state != GW_ONLINE)
		return -1;
	frame = json_object_new_object();
	json_object_object_add(frame, "channel", json_object_new_int(0));
	json_object_object_add(frame, "payload", json_object_get(payload));
	text = json_text(frame, &len);
	r = ws_send_text(gw.ws, text, len);
	json_object_put(frame);
	return r;
}

/* ---- clock sync (reference §1.6) ---- */

static void
clock_send(void)
{
	static const char	 b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct json_object	*ev;
	struct timeval		 tv = { GW_CLOCK_TIMEOUT, 0 };
	unsigned char		 rnd[6];
	char			 tok[9];
	uint64_t		 v;
	int			 i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("RAND_bytes");
	for (i = 0, v = 0; i < (int)sizeof(rnd); i++)
		v = v << 8 | rnd[i];
	/* 48 random bits as 8 base64url characters, as upstream's token_urlsafe(6). */
	for (i = 0; i < 8; i++)
		tok[i] = b64url[(v >> (42 - 6 * i)) & 0x3f];
	tok[8] = '\0';
	snprintf(gw.clock_id, sizeof(gw.clock_id), "clock_sync:%s", tok);
	ev = json_event_new("clock_sync_request");
	json_set_str(ev, "request_id", gw.clock_id);
	gw.clock_sent_ms = wall_ms();
	gw.clock_waiting = 1;
	gw.clock_count++;
	gw_send(ev);
	json_object_put(ev);
	evtimer_add(gw.clock_ev, &tv);
}

static void
clock_next(void)
{
	struct timeval	 tv = { 1, 0 };

	gw.clock_waiting = 0;
	if (gw.clock_count < GW_CLOCK_REQUESTS)
		evtimer_add(gw.clock_ev, &tv);
}

static void
clock_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (gw.state != GW_ONLINE)
		return;
	if (!gw.clock_waiting) {
		clock_send();
		return;
	}
	/* No answer in time. */
	if (++gw.clock_failures >= GW_CLOCK_MAX_FAIL) {
		log_warnx("gateway did not answer %d clock sync requests; "
		    "reconnecting", gw.clock_failures);
		gw.clock_failures = 0;
		gw.state = GW_CLOSING;
		ws_close(gw.ws, WS_CLOSE_NORMAL, "clock sync timeout");
		return;
	}
	clock_next();
}

static int64_t
json_ms(struct json_object *o, const char *key, int *ok)
{
	struct json_object	*v = json_get(o, key);

	*ok = v != NULL && (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double));
	return *ok ? json_object_get_int64(v) : 0;
}

void
gw_clock_response(struct json_object *p)
{
	const char	*id = json_get_str(p, "request_id");
	int64_t		 now = wall_ms(), rtt, server, recv_t, send_t, offset;
	int		 has_recv, has_send, has_time;

	if (!gw.clock_waiting || id == NULL || strcmp(id, gw.clock_id) != 0)
		return;
	recv_t = json_ms(p, "server_receive_time", &has_recv);
	send_t = json_ms(p, "server_send_time", &has_send);
	server = json_ms(p, "server_time", &has_time);
	if (has_recv && has_send)
		server = recv_t + (send_t > recv_t ? (send_t - recv_t) / 2 : 0);
	else if (has_recv)
		server = recv_t;
	else if (has_send)
		server = send_t;
	else if (!has_time)
		return;
	rtt = now - gw.clock_sent_ms;
	if (rtt < 0)
		rtt = 0;
	offset = server - (now - rtt / 2);
	if (!gw.clock_synced)
		gw.clock_offset = offset;
	else
		gw.clock_offset = (gw.clock_offset * 4 + offset) / 5;
	gw.clock_synced = 1;
	gw.clock_failures = 0;
	evtimer_del(gw.clock_ev);
	log_debug("clock sync: offset %lld ms, rtt %lld ms",
	    (long long)gw.clock_offset, (long long)rtt);
	clock_next();
}

/* ---- liveness ---- */

static void
ping_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (gw.state != GW_ONLINE)
		return;
	if (gw.pong_pending) {
		/* A peer that answers no ping answers no close either: drop it. */
		log_warnx("gateway did not answer a ping within %d s; "
		    "reconnecting", GW_PING_SECS);
		ws_free(gw.ws);
		gw.ws = NULL;
		link_lost("ping timeout");
		return;
	}
	gw.pong_pending = 1;
	ws_ping(gw.ws);
}

/* ---- connection lifecycle ---- */

static void
go_online(void)
{
	struct timeval	 tv = { GW_PING_SECS, 0 };

	gw.state = GW_ONLINE;
	gw.rejected = 0;
	gw.online_since = time(NULL);
	backoff_reset(&gw.bo);
	backoff_reset(&gw.reject_bo);
	gw.pong_pending = 0;
	event_add(gw.ping_ev, &tv);
	log_info("authenticated to %s", gw.conf->gateway_text);
	link_state(LINK_UP, "authenticated");
	net_online();
	gw.clock_count = 0;
	gw.clock_waiting = 0;
	gw.clock_failures = 0;
	clock_send();
}

static void
reject(const char *text, size_t len)
{
	char	 safe[256];

	sanitize(text, len, safe, sizeof(safe));
	log_warnx("gateway rejected authentication: %s", safe);
	link_state(LINK_REJECTED, safe);
	gw.rejected = 1;
	gw.state = GW_CLOSING;
	ws_close(gw.ws, WS_CLOSE_NORMAL, "");
}

static void
auth_challenge(const char *text, size_t len)
{
	struct json_object	*o;
	const char		*challenge;
	size_t			 clen;

	o = json_parse_text(text, len, NULL);
	challenge = o != NULL ? json_get_str(o, "challenge") : NULL;
	if (challenge == NULL) {
		json_object_put(o);
		reject(text, len);
		return;
	}
	clen = strlen(challenge);
	if (clen == 0 || clen > GW_CHALLENGE_MAX) {
		json_object_put(o);
		reject(text, len);
		return;
	}
	ipc_send_str(gw.parent, IMSG_SIGN_REQ, 0, -1, challenge);
	gw.state = GW_AUTH_SIGNING;
	json_object_put(o);
}

static void
ws_open_cb(struct ws *ws, void *arg)
{
	(void)ws;
	(void)arg;
	log_debug("websocket open; sending the device key");
	gw.state = GW_AUTH_CHALLENGE;
	send_text(gw.pubkey);
}

static void
ws_text_cb(struct ws *ws, const char *text, size_t len, void *arg)
{
	(void)ws;
	(void)arg;
	switch (gw.state) {
	case GW_AUTH_CHALLENGE:
		auth_challenge(text, len);
		break;
	case GW_AUTH_RESULT:
		if (len == 2 && memcmp(text, "ok", 2) == 0)
			go_online();
		else
			reject(text, len);
		break;
	case GW_ONLINE:
		net_frame(text, len);
		break;
	case GW_AUTH_SIGNING:
		reject(text, len);
		break;
	default:
		break;
	}
}

static void
ws_binary_cb(struct ws *ws, size_t len, void *arg)
{
	(void)ws;
	(void)arg;
	if (gw.state == GW_ONLINE)
		net_binary(len);
	else if (gw.state != GW_CLOSING)
		reject("(binary message)", 16);
}

static void
ws_pong_cb(struct ws *ws, void *arg)
{
	(void)ws;
	(void)arg;
	gw.pong_pending = 0;
	if (gw.state == GW_ONLINE)
		link_state(LINK_UP, "alive");
}

static void
ws_drained_cb(struct ws *ws, void *arg)
{
	(void)ws;
	(void)arg;
	net_drained();
}

static void
ws_free_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	ws_free(arg);
}

static void
ws_closed_cb(struct ws *ws, const char *why, void *arg)
{
	struct timeval	 zero = { 0, 0 };

	(void)arg;
	event_base_once(gw.base, -1, EV_TIMEOUT, ws_free_cb, ws, &zero);
	gw.ws = NULL;
	link_lost(why);
}

/* The connection is gone: tell the others and plan the next attempt. */
static void
link_lost(const char *why)
{
	int		 was_online = gw.online_since != 0;
	uint32_t	 delay;

	log_info("gateway connection closed: %s", why);
	event_del(gw.ping_ev);
	event_del(gw.clock_ev);
	if (was_online) {
		net_offline();
		if (!gw.rejected)
			link_state(LINK_DOWN, why);
	}
	if (gw.rejected)
		delay = backoff_next(&gw.reject_bo);
	else if (was_online && time(NULL) - gw.online_since >= GW_STABLE_SECS)
		delay = 0;
	else
		delay = backoff_next(&gw.bo);
	gw.online_since = 0;
	gw.rejected = 0;
	gw_schedule(delay);
}

static const struct ws_cb gw_ws_cb = {
	.open = ws_open_cb,
	.text = ws_text_cb,
	.binary = ws_binary_cb,
	.pong = ws_pong_cb,
	.closed = ws_closed_cb,
	.drained = ws_drained_cb,
};

static void
retry_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	gw.state = GW_CONNECTING;
	log_debug("asking the parent for a connection to %s",
	    gw.conf->gateway.host);
	ipc_send(gw.parent, IMSG_CONNECT_REQ, 0, -1, NULL, 0);
}

static void
gw_schedule(uint32_t ms)
{
	struct timeval	 tv;

	gw.state = GW_IDLE;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (ms > 0)
		log_info("reconnecting in %u s", (ms + 999) / 1000);
	evtimer_add(gw.retry_ev, &tv);
}

static void
connect_ok(struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*addr;

	ipc_rd_init(&rd, msg);
	addr = ipc_rd_str(&rd, NULL);
	if (addr == NULL || ipc_rd_end(&rd) == -1 || msg->fd == -1 ||
	    gw.state != GW_CONNECTING)
		fatalx("bad CONNECT_OK from the parent");
	log_debug("connected to %s", addr);
	gw.state = GW_HANDSHAKE;
	gw.ws = ws_new(gw.base, msg->fd, gw.ctx, &gw.conf->gateway, &gw_ws_cb,
	    NULL);
	msg->fd = -1;
}

static void
connect_fail(struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*why;

	ipc_rd_init(&rd, msg);
	why = ipc_rd_str(&rd, NULL);
	(void)ipc_rd_u32(&rd);
	if (why == NULL || ipc_rd_end(&rd) == -1 || gw.state != GW_CONNECTING)
		fatalx("bad CONNECT_FAIL from the parent");
	log_warnx("cannot connect to the gateway: %s", why);
	gw_schedule(backoff_next(&gw.bo));
}

static void
sign_ok(struct ipc_msg *msg)
{
	struct json_object	*o;
	struct ipc_rd		 rd;
	const char		*sig;

	ipc_rd_init(&rd, msg);
	sig = ipc_rd_str(&rd, NULL);
	if (sig == NULL || ipc_rd_end(&rd) == -1)
		fatalx("bad SIGN_OK from the parent");
	/* The connection may have gone while the parent was signing. */
	if (gw.state != GW_AUTH_SIGNING || gw.ws == NULL)
		return;
	o = json_object_new_object();
	json_set_str(o, "signature", sig);
	send_text(json_text(o, NULL));
	json_object_put(o);
	gw.state = GW_AUTH_RESULT;
}

void
gw_parent_msg(struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*s;

	switch (msg->hdr.type) {
	case IMSG_PUBKEY:
		ipc_rd_init(&rd, msg);
		if ((s = ipc_rd_str(&rd, NULL)) == NULL ||
		    ipc_rd_end(&rd) == -1)
			fatalx("bad PUBKEY from the parent");
		free(gw.pubkey);
		gw.pubkey = xstrdup(s);
		if (gw.state == GW_IDLE && !evtimer_pending(gw.retry_ev, NULL))
			gw_schedule(0);
		break;
	case IMSG_CONNECT_OK:
		connect_ok(msg);
		break;
	case IMSG_CONNECT_FAIL:
		connect_fail(msg);
		break;
	case IMSG_SIGN_OK:
		sign_ok(msg);
		break;
	case IMSG_SIGN_FAIL:
		log_warnx("the parent could not sign the challenge");
		if (gw.ws != NULL) {
			gw.state = GW_CLOSING;
			ws_close(gw.ws, WS_CLOSE_INTERNAL, "");
		}
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

void
gw_init(struct event_base *base, const struct config *conf, SSL_CTX *ctx,
    struct ipc *parent)
{
	memset(&gw, 0, sizeof(gw));
	gw.base = base;
	gw.conf = conf;
	gw.ctx = ctx;
	gw.parent = parent;
	gw.state = GW_IDLE;
	backoff_init(&gw.bo, GW_BACKOFF_BASE_MS, GW_BACKOFF_MAX_MS);
	backoff_init(&gw.reject_bo, GW_REJECT_BASE_MS, GW_REJECT_MAX_MS);
	gw.retry_ev = evtimer_new(base, retry_cb, NULL);
	gw.ping_ev = event_new(base, -1, EV_PERSIST, ping_cb, NULL);
	gw.clock_ev = evtimer_new(base, clock_cb, NULL);
}
