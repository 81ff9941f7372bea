/*
 * worker: what term, fs, git and priv share. Drop to the target identity,
 * load the role's sandbox, then serve commands from net and pings from the
 * parent until the parent goes away.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>

#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "ipc.h"
#include "json.h"
#include "log.h"
#include "monitor.h"
#include "sandbox.h"
#include "worker.h"
#include "xmalloc.h"

#define WORKER_MAX_KEPT	1024
#define WORKER_TRIM_SIZE (1024 * 1024)	/* give memory back after this */

struct kept {
	TAILQ_ENTRY(kept)	 entry;
	struct json_object	*ev;
};

static struct {
	const struct worker_ops	*ops;
	struct child_boot	*boot;
	struct event_base	*base;
	struct ipc		*parent;
	struct ipc		*net;
	struct passwd		 pw;
	TAILQ_HEAD(, kept)	 kept;
	size_t			 nkept;
	void			(*drain)(void);
} w;

static void
copy_passwd(const struct passwd *src)
{
	w.pw.pw_name = xstrdup(src->pw_name);
	w.pw.pw_passwd = xstrdup("x");
	w.pw.pw_uid = src->pw_uid;
	w.pw.pw_gid = src->pw_gid;
	w.pw.pw_gecos = xstrdup(src->pw_gecos ? src->pw_gecos : "");
	w.pw.pw_dir = xstrdup(src->pw_dir ? src->pw_dir : "/");
	w.pw.pw_shell = xstrdup(src->pw_shell && *src->pw_shell ?
	    src->pw_shell : "/bin/sh");
}

/* In system mode the configured User, otherwise whoever we already are. */
static void
lookup_user(void)
{
	struct passwd	*pw;

	if (w.boot->system_mode) {
		if ((pw = getpwnam(w.boot->conf.user)) == NULL)
			fatalx("unknown user %s", w.boot->conf.user);
	} else if ((pw = getpwuid(getuid())) == NULL)
		fatalx("no passwd entry for uid %ld", (long)getuid());
	copy_passwd(pw);
}

struct event_base *
worker_base(void)
{
	return w.base;
}

const struct config *
worker_config(void)
{
	return &w.boot->conf;
}

const struct passwd *
worker_user(void)
{
	return &w.pw;
}

/* ---- answers toward net ---- */

static void
send_event(unsigned int type, uint32_t id, struct json_object *ev)
{
	const char	*text;
	size_t		 len;

	if (w.net == NULL) {
		log_debug("no net link; dropping an event");
		json_object_put(ev);
		return;
	}
	text = json_text(ev, &len);
	if (ipc_send_str(w.net, type, id, -1, text) == -1) {
		log_warnx("cannot queue an event for net (%zu bytes)", len);
		/* The client waits for an answer: an error is one. */
		if (id != 0 && len > IPC_MAX_DATA / 2) {
			json_object_put(ev);
			ev = json_event_new("error");
			json_set_str(ev, "message",
			    "the answer is too large to send");
			text = json_text(ev, &len);
			ipc_send_str(w.net, type, id, -1, text);
		}
	}
	json_object_put(ev);
	if (len > WORKER_TRIM_SIZE)
		malloc_trim(0);
}

void
worker_event(uint32_t id, struct json_object *ev)
{
	send_event(IMSG_EVENT, id, ev);
}

void
worker_done(uint32_t id)
{
	if (w.net != NULL && id != 0)
		ipc_send(w.net, IMSG_DONE, id, -1, NULL, 0);
}

void
worker_event_keep(struct json_object *ev)
{
	struct kept	*k;

	if (w.net != NULL) {
		worker_event(0, ev);
		return;
	}
	if (w.nkept >= WORKER_MAX_KEPT) {
		log_warnx("net is away and %d events wait; dropping one",
		    WORKER_MAX_KEPT);
		json_object_put(ev);
		return;
	}
	k = xcalloc(1, sizeof(*k));
	k->ev = ev;
	TAILQ_INSERT_TAIL(&w.kept, k, entry);
	w.nkept++;
}

static void
send_kept(void)
{
	struct kept	*k;

	while (w.net != NULL && (k = TAILQ_FIRST(&w.kept)) != NULL) {
		TAILQ_REMOVE(&w.kept, k, entry);
		w.nkept--;
		worker_event(0, k->ev);
		free(k);
	}
}

size_t
worker_net_queued(void)
{
	return w.net != NULL ? ipc_queued(w.net) : 0;
}

static void
net_drained(struct ipc *ipc, void *arg)
{
	(void)ipc;
	(void)arg;
	if (w.drain != NULL)
		w.drain();
}

void
worker_set_drain(void (*cb)(void))
{
	w.drain = cb;
}

void
worker_reply(uint32_t id, struct json_object *ev)
{
	worker_event(id, ev);
	worker_done(id);
}

void
worker_error(uint32_t id, const char *fmt, ...)
{
	struct json_object	*ev;
	va_list			 ap;
	char			*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	ev = json_event_new("error");
	json_set_str(ev, "message", msg);
	free(msg);
	worker_reply(id, ev);
}

/* ---- commands from net ---- */

static const struct worker_cmd *
find_cmd(const char *name)
{
	const struct worker_cmd	*c;

	for (c = w.ops->cmds; c != NULL && c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
worker_dispatch(uint32_t id, struct json_object *cmd)
{
	const struct worker_cmd	*c;
	struct worker_req	 req;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.cmd = cmd;
	if ((req.name = json_get_str(cmd, "cmd")) == NULL)
		worker_error(id, "invalid command: no cmd");
	else if ((c = find_cmd(req.name)) == NULL)
		worker_error(id, "Unknown cmd: %s", req.name);
	else
		c->fn(&req);
	json_object_put(cmd);
}

/* net validated the command already; it is checked again here all the same. */
static void
handle_cmd(struct ipc_msg *msg)
{
	struct json_object	*cmd;
	struct ipc_rd		 rd;
	const char		*text, *why = NULL;
	size_t			 len;
	uint32_t		 id = msg->hdr.peerid;

	ipc_rd_init(&rd, msg);
	text = ipc_rd_str(&rd, &len);
	if (text == NULL || ipc_rd_end(&rd) == -1 || id == 0)
		fatalx("malformed command from net");
	if ((cmd = json_parse_text(text, len, &why)) == NULL ||
	    !json_object_is_type(cmd, json_type_object)) {
		worker_error(id, "invalid command: %s", why ? why :
		    "not an object");
		json_object_put(cmd);
		return;
	}
	worker_dispatch(id, cmd);
	/* A big command (a file's content) leaves malloc holding the pages. */
	if (len > WORKER_TRIM_SIZE)
		malloc_trim(0);
}

static void
net_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	(void)ipc;
	(void)arg;
	if (msg->fd != -1 || msg->hdr.type != IMSG_CMD)
		fatalx("unexpected %s from net", ipc_type_name(msg->hdr.type));
	handle_cmd(msg);
}

static void
net_err(struct ipc *ipc, const char *why, void *arg)
{
	(void)ipc;
	(void)arg;
	log_debug("net link: %s", why);
	ipc_free(w.net);
	w.net = NULL;
	/* Nothing queues toward a missing net: producers may go on. */
	if (w.drain != NULL)
		w.drain();
}

/* ---- the parent ---- */

static void
parent_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	(void)arg;
	switch (msg->hdr.type) {
	case IMSG_PING:
		if (ipc_answer_ping(ipc, msg) == -1)
			fatalx("malformed ping from the parent");
		break;
	case IMSG_LINK:
		if (msg->fd == -1 || msg->hdr.peerid != w.ops->role)
			fatalx("bad net link from the parent");
		if (w.net != NULL)
			ipc_free(w.net);
		w.net = ipc_new(w.base, msg->fd, "net", IPC_MAX_DATA, net_msg,
		    net_err, NULL);
		ipc_set_drain(w.net, WORKER_OUT_LOW, net_drained);
		msg->fd = -1;
		log_debug("linked to net");
		send_kept();
		/* Whatever waited for room waits no more: this queue is empty. */
		if (w.drain != NULL)
			w.drain();
		break;
	case IMSG_CONF:
		proc_reconf(msg, &w.boot->conf);
		if (w.ops->reconf != NULL)
			w.ops->reconf(&w.boot->conf);
		break;
	default:
		fatalx("unexpected %s from the parent",
		    ipc_type_name(msg->hdr.type));
	}
}

static void
parent_err(struct ipc *ipc, const char *why, void *arg)
{
	(void)ipc;
	(void)arg;
	/* Without the parent nobody supervises us: leave. */
	log_debug("parent link: %s; exiting", why);
	exit(0);
}

static void
drop(void)
{
	enum role	 role = w.ops->role;

	if (w.boot->system_mode && role != ROLE_PRIV) {
		privdrop_user(w.pw.pw_uid, w.pw.pw_gid, w.pw.pw_name);
		/* Credential changes clear the parent-death signal. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	}
	if (chdir(w.pw.pw_dir) == -1 && chdir("/") == -1)
		fatal("chdir");
	sandbox_limits(role);
	if (sandbox_has_filter(role))
		sandbox_filter(role, w.boot->sandbox_debug);
}

int
worker_main(struct child_boot *boot, const struct worker_ops *ops)
{
	memset(&w, 0, sizeof(w));
	TAILQ_INIT(&w.kept);
	w.ops = ops;
	w.boot = boot;
	signal(SIGPIPE, SIG_IGN);
	lookup_user();
	if ((w.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (ops->init != NULL)
		ops->init(w.base, &boot->conf);
	drop();
	if (ops->start != NULL)
		ops->start(w.base, &boot->conf);
	w.parent = ipc_new(w.base, PC_PARENT_FD, "parent", IPC_MAX_CTL,
	    parent_msg, parent_err, NULL);
	ipc_send(w.parent, IMSG_READY, 0, -1, NULL, 0);
	log_debug("running as %s (uid %ld)", w.pw.pw_name, (long)getuid());
	event_base_dispatch(w.base);
	return 0;
}
