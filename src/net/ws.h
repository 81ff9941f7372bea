/*
 * ws: a WebSocket client connection (RFC 6455) over a connected socket,
 * with TLS when the gateway URL is wss://. HTTP/1.1 upgrade is ours,
 * framing is wslay's, I/O is libevent's.
 */
#ifndef WS_H
#define WS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

struct event_base;
struct gateway_url;

#define WS_MAX_MESSAGE		(8 * 1024 * 1024)	/* inbound; larger closes 1009 */
#define WS_MAX_HANDSHAKE	(16 * 1024)		/* upgrade response bytes */
#define WS_MAX_HEADERS		64
#define WS_HANDSHAKE_TIMEOUT	10			/* seconds, TLS + upgrade */
#define WS_OUT_HIGH		(4 * 1024 * 1024)	/* backpressure mark */
#define WS_OUT_LOW		(1 * 1024 * 1024)

#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_INVALID_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011

struct ws;
/*
 * Callbacks run only from the event loop, never from inside ws_new,
 * ws_send_text, ws_ping or ws_close. After ws_close only closed() follows.
 * The text is not NUL-terminated and is valid only during the call.
 */
struct ws_cb {
	void	(*open)(struct ws *, void *);		/* upgrade accepted */
	void	(*text)(struct ws *, const char *, size_t, void *); /* valid UTF-8 */
	void	(*binary)(struct ws *, size_t, void *);	/* contents discarded */
	void	(*pong)(struct ws *, void *);
	/*
	 * Gone for any reason (after open or not), reported exactly once,
	 * possibly before open. The owner then calls ws_free.
	 */
	void	(*closed)(struct ws *, const char *, void *);
	void	(*drained)(struct ws *, void *);	/* output fell below WS_OUT_LOW */
};

SSL_CTX		*tls_ctx_new(const char *cafile, char *err, size_t errlen);
/*
 * Takes over fd (a connected socket) and never returns NULL: a setup
 * failure is reported through closed() from the event loop.
 * ctx is NULL for ws://.
 */
struct ws	*ws_new(struct event_base *, int fd, SSL_CTX *,
		    const struct gateway_url *, const struct ws_cb *, void *);
/*
 * Safe at any time, also from inside any ws callback (destruction is
 * then deferred until that callback returns). No callback runs after it.
 */
void		 ws_free(struct ws *);
int		 ws_send_text(struct ws *, const char *, size_t);	/* -1 once closing */
int		 ws_ping(struct ws *);
/* Start the closing handshake; closed() follows (at most 2 s later). */
void		 ws_close(struct ws *, uint16_t, const char *);
size_t		 ws_outq(const struct ws *);	/* bytes queued toward the gateway */

/* Exposed for unit tests. */
int		 ws_accept_value(const char *key, char *out, size_t outlen);

#endif
