/*
 * net: the only process that talks to the gateway. gateway.c owns the
 * connection (connect, auth, liveness, clock sync); net.c owns dispatch to
 * the workers and routing of their events back.
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <json-c/json.h>

struct event_base;
struct ipc;
struct ipc_msg;
struct config;

#define GW_PING_SECS		20	/* ping interval; also the pong timeout */
#define GW_CLOCK_REQUESTS	5
#define GW_CLOCK_TIMEOUT	20
#define GW_CLOCK_MAX_FAIL	3
#define GW_BACKOFF_BASE_MS	1000
#define GW_BACKOFF_MAX_MS	30000
#define GW_REJECT_BASE_MS	10000	/* auth rejected: retried slowly */
#define GW_REJECT_MAX_MS	300000
#define GW_STABLE_SECS		10	/* a session this long reconnects at once */
#define GW_CHALLENGE_MAX	4096

/* gateway.c */
void	 gw_init(struct event_base *, const struct config *, SSL_CTX *,
	    struct ipc *parent);
void	 gw_parent_msg(struct ipc_msg *);
/* Send {"channel": 0, "payload": payload}; -1 when not online. */
int	 gw_send(struct json_object *payload);
int	 gw_online(void);
size_t	 gw_outq(void);
int64_t	 gw_now_ms(void);
void	 gw_clock_response(struct json_object *payload);

/* net.c, called by gateway.c */
void	 net_online(void);
void	 net_offline(void);
void	 net_frame(const char *, size_t);
void	 net_binary(size_t);
void	 net_drained(void);

#endif
