/*
 * ipc: framed messages with optional fd passing over a socketpair.
 *
 * Every message starts with a fixed header. A reader that finds a bad
 * version, an oversized length, an fd flag without an fd, or any other
 * inconsistency reports the link as broken: the privileged side treats
 * that as fatal for the sender.
 */
#ifndef IPC_H
#define IPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define IPC_VERSION		1
#define IPC_F_FD		0x01	/* one fd travels with this message */

struct ipc_hdr {
	uint16_t	type;
	uint8_t		version;
	uint8_t		flags;
	uint32_t	len;		/* payload bytes, header excluded */
	uint32_t	peerid;		/* request id, role, … by type */
	uint32_t	pid;		/* sender pid */
};
#define IPC_HDR_SIZE		sizeof(struct ipc_hdr)

/* Per-link payload limits. */
#define IPC_MAX_CTL		(64 * 1024)		/* parent links */
#define IPC_MAX_DATA		(48 * 1024 * 1024)	/* net <-> worker */
/* Queue limit; past it ipc_send fails and the caller applies backpressure. */
#define IPC_MAX_QUEUE		(128 * 1024 * 1024)

enum imsg_type {
	IMSG_NONE = 0,
	IMSG_CONF,		/* parent -> child: str config text */
	IMSG_READY,		/* child -> parent: sandboxed and running */
	IMSG_PING,		/* u32 token */
	IMSG_PONG,		/* u32 token */
	IMSG_LINK,		/* parent -> net (peerid = worker role) / worker: fd */
	IMSG_PUBKEY,		/* parent -> net: str base64 DER public key */
	IMSG_CONNECT_REQ,	/* net -> parent: open a socket to the gateway */
	IMSG_CONNECT_OK,	/* parent -> net: fd; str peer address */
	IMSG_CONNECT_FAIL,	/* parent -> net: str reason; u32 retry in ms */
	IMSG_SIGN_REQ,		/* net -> parent: str challenge */
	IMSG_SIGN_OK,		/* parent -> net: str base64 signature */
	IMSG_SIGN_FAIL,		/* parent -> net: str reason */
	IMSG_LINK_STATE,	/* net -> parent: u32 enum link_state; str detail */
	IMSG_CMD,		/* net -> worker: peerid = request; str JSON */
	IMSG_EVENT,		/* worker -> net: peerid = request or 0; str JSON */
	IMSG_DONE,		/* worker -> net: peerid = request finished */
	IMSG_MAX
};

enum link_state {
	LINK_DOWN = 0,
	LINK_UP,		/* authenticated */
	LINK_REJECTED,		/* gateway refused our key */
	LINK_STATE_MAX
};

const char	*ipc_type_name(unsigned int);

struct ipc_msg {
	struct ipc_hdr	 hdr;
	const uint8_t	*data;
	size_t		 len;
	int		 fd;	/* -1 if none; the receiver owns it */
};

struct ipc;
typedef void	(*ipc_msg_cb)(struct ipc *, struct ipc_msg *, void *);
/* EOF, I/O error or malformed input; the link is unusable afterwards. */
typedef void	(*ipc_err_cb)(struct ipc *, const char *, void *);

struct ipc	*ipc_new(struct event_base *, int fd, const char *peer,
		    size_t maxmsg, ipc_msg_cb, ipc_err_cb, void *);
void		 ipc_free(struct ipc *);	/* closes fd and queued fds */
const char	*ipc_peer(const struct ipc *);
int		 ipc_fd(const struct ipc *);
/*
 * Queue a message. The fd (or -1) is taken over and closed once sent.
 * Fails (-1, fd closed) when the payload is over the link's limit or
 * the queue is full.
 */
int		 ipc_send(struct ipc *, unsigned int type, uint32_t peerid,
		    int fd, const void *, size_t);
int		 ipc_send_str(struct ipc *, unsigned int type, uint32_t peerid,
		    int fd, const char *);
int		 ipc_send_u32(struct ipc *, unsigned int type, uint32_t peerid,
		    uint32_t);
size_t		 ipc_queued(const struct ipc *);
/* Called once the queue falls below low after having been at or above it. */
void		 ipc_set_drain(struct ipc *, size_t low,
		    void (*)(struct ipc *, void *));
void		 ipc_pause(struct ipc *, int);	/* stop/start reading */
/* Answer an IMSG_PING; -1 if it is malformed. */
int		 ipc_answer_ping(struct ipc *, struct ipc_msg *);
/* Write what can be written now without the event loop (shutdown paths). */
void		 ipc_flush(struct ipc *);

/* Decoder state, exposed for unit tests and fuzzing. */
struct ipc_dec;
struct ipc_dec	*ipc_dec_new(size_t maxmsg);
void		 ipc_dec_free(struct ipc_dec *);
int		 ipc_dec_feed(struct ipc_dec *, const void *, size_t);
void		 ipc_dec_pushfd(struct ipc_dec *, int);
/* 1: message in *msg (valid until next call); 0: need more; -1: malformed (why set) */
int		 ipc_dec_next(struct ipc_dec *, struct ipc_msg *, const char **why);
int		 ipc_encode(unsigned int type, uint32_t peerid, int hasfd,
		    const void *, size_t, uint8_t **out, size_t *outlen);

/* Typed payload readers: any short, overlong or unterminated field sets bad. */
struct ipc_rd {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;
};
void		 ipc_rd_init(struct ipc_rd *, const struct ipc_msg *);
uint32_t	 ipc_rd_u32(struct ipc_rd *);
/* u32 length, bytes, NUL; no NUL inside. Returns NULL when bad. */
const char	*ipc_rd_str(struct ipc_rd *, size_t *);
int		 ipc_rd_end(struct ipc_rd *);	/* 0 = fully consumed and never bad */

/* Typed payload writer. */
struct ipc_wr {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
};
void		 ipc_wr_u32(struct ipc_wr *, uint32_t);
void		 ipc_wr_strn(struct ipc_wr *, const char *, size_t);
void		 ipc_wr_str(struct ipc_wr *, const char *);
int		 ipc_send_wr(struct ipc *, unsigned int type, uint32_t peerid,
		    int fd, struct ipc_wr *);	/* frees the writer's buffer */

#endif
