/*
 * net: dispatch of gateway commands to the workers and of their events
 * back to the gateway. Every command is checked against the command table
 * before it leaves this process.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <pwd.h>
#include <signal.h>
#include <time.h>
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
#include "xmalloc.h"
#include "net/chunk.h"
#include "net/cmd.h"
#include "net/net.h"
#include "net/route.h"
#include "net/ws.h"

#define NET_MAX_INFLIGHT	4096
#define NET_MAX_PENDING		256	/* held while a worker is (re)starting */
#define PENDING_SECS		10
#define SYSINFO_PERIOD_SECS	10
#define NET_MAX_HELD		1024	/* must-deliver events while offline */
#define NET_MAX_TERMINALS	1024

/* A command on its way through a worker. */
struct request {
	TAILQ_ENTRY(request)	 entry;
	uint32_t		 id;
	enum role		 role;
	enum route_mode		 mode;
	char			 cmd[64];
	struct json_object	*request_id;
	struct json_object	*trace;
	char			*reply_channel;
	char			*source;
	char			*project_id;
	int			 sink;		/* answered to net itself */
};

/* A command for a worker whose link is not up yet. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	enum role		 role;
	enum route_mode		 mode;
	char			 cmd[64];
	struct json_object	*payload;
	time_t			 since;
};

/* An event that must reach the clients even if it happens while offline. */
struct held {
	TAILQ_ENTRY(held)	 entry;
	struct json_object	*ev;
};

/* A live terminal, as seen passing by: reported if term dies under it. */
struct tracked {
	TAILQ_ENTRY(tracked)	 entry;
	char			 id[65];
	char			*project_id;
};

static const char *const must_deliver[] = {
	"terminal_exit",
	"terminal_stop_completed",
	NULL
};

static struct {
	struct child_boot	*boot;
	struct event_base	*base;
	struct ipc		*parent;
	struct ipc		*links[ROLE_MAX];
	TAILQ_HEAD(, request)	 reqs;
	size_t			 nreqs;
	TAILQ_HEAD(, pending)	 pending;
	size_t			 npending;
	TAILQ_HEAD(, held)	 held;
	size_t			 nheld;
	TAILQ_HEAD(, tracked)	 terms;
	size_t			 nterms;
	struct event		*pending_ev;
	uint32_t		 next_id;
	int			 paused;
	struct event		*sysinfo_ev;
	uint32_t		 sysinfo_req;	/* periodic request in flight */
} n;

/* Replies that go only to the session that asked (reference §1.9). */
static const char *const requester_events[] = {
	"terminal_list",
	"terminal_send_ack",
	"file_apply_diff_response",
	"file_preview_diff_response",
	"project_state_initialized",
	"project_state_update",
	NULL
};

/* ---- events toward the gateway ---- */

static void
backpressure(void)
{
	int	 r, pause = gw_outq() > WS_OUT_HIGH;

	if (pause == n.paused)
		return;
	n.paused = pause;
	log_debug("%s reading from workers", pause ? "pausing" : "resuming");
	for (r = ROLE_FIRST_WORKER; r < ROLE_MAX; r++)
		if (n.links[r] != NULL)
			ipc_pause(n.links[r], pause);
}

void
net_drained(void)
{
	backpressure();
}

static int
name_in(const char *name, const char *const *list)
{
	int	 i;

	for (i = 0; name != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

static void
hold_event(struct json_object *ev)
{
	struct held	*h;

	if (n.nheld >= NET_MAX_HELD) {
		log_warnx("offline with %d events waiting; dropping one",
		    NET_MAX_HELD);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->ev = json_object_get(ev);
	TAILQ_INSERT_TAIL(&n.held, h, entry);
	n.nheld++;
}

static void
emit(struct json_object *ev, enum route_mode mode, const char *project_id,
    const char *reply_channel, const char *source)
{
	const char	*name = json_get_str(ev, "event");

	if (!gw_online() && name_in(name, must_deliver)) {
		hold_event(ev);
		return;
	}
	if (route_event(ev, mode, project_id, reply_channel, source) == 0 &&
	    gw_send(ev) == -1)
		log_debug("offline: dropped %s event", name);
	backpressure();
}

/* Back online with a fresh session list: what waited goes out now. */
static void
send_held(void)
{
	struct held	*h;

	while (gw_online() && (h = TAILQ_FIRST(&n.held)) != NULL) {
		TAILQ_REMOVE(&n.held, h, entry);
		n.nheld--;
		json_object_object_del(h->ev, "client_sessions");
		json_object_object_del(h->ev, "reply_channel");
		emit(h->ev, ROUTE_SESSION_AWARE,
		    json_get_str(h->ev, "project_id"), NULL, NULL);
		json_object_put(h->ev);
		free(h);
	}
}

/* An error about a gateway message, routed as a command reply would be. */
static void
net_error(struct json_object *payload, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
net_error(struct json_object *payload, const char *fmt, ...)
{
	struct json_object	*ev, *rid;
	va_list			 ap;
	char			 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_verbose("gateway input: %s", msg);
	ev = json_event_new("error");
	json_set_str(ev, "message", msg);
	if (payload != NULL && (rid = json_get(payload, "request_id")) != NULL &&
	    (json_object_is_type(rid, json_type_string) ||
	    json_object_is_type(rid, json_type_int)))
		json_object_object_add(ev, "request_id", json_object_get(rid));
	emit(ev, ROUTE_RESPONSE,
	    payload ? json_get_str(payload, "project_id") : NULL,
	    payload ? json_get_str(payload, "reply_channel") : NULL,
	    payload ? json_get_str(payload, "source_client_session") : NULL);
	json_object_put(ev);
}

/* ---- requests ---- */

static struct request *
req_find(uint32_t id)
{
	struct request	*r;

	TAILQ_FOREACH(r, &n.reqs, entry)
		if (r->id == id)
			return r;
	return NULL;
}

static void
req_free(struct request *r)
{
	TAILQ_REMOVE(&n.reqs, r, entry);
	n.nreqs--;
	if (r->id == n.sysinfo_req)
		n.sysinfo_req = 0;
	json_object_put(r->request_id);
	json_object_put(r->trace);
	free(r->reply_channel);
	free(r->source);
	free(r->project_id);
	free(r);
}

static char *
dup_opt(struct json_object *o, const char *key)
{
	const char	*s = json_get_str(o, key);

	return s != NULL ? xstrdup(s) : NULL;
}

/* §2.5: timestamps in ms on the synced clock; ping relative to client_send. */
static void
trace_stamp(struct json_object *trace, const char *key)
{
	struct json_object	*cs = json_get(trace, "client_send");
	int64_t			 now = gw_now_ms();

	json_set_int(trace, key, now);
	if (cs != NULL && (json_object_is_type(cs, json_type_int) ||
	    json_object_is_type(cs, json_type_double)))
		json_set_int(trace, "ping", now - json_object_get_int64(cs));
}

static struct request *
req_new(enum role role, const char *cmd, struct json_object *payload,
    enum route_mode mode)
{
	struct request		*r = xcalloc(1, sizeof(*r));
	struct json_object	*trace, *rid;

	do {
		r->id = ++n.next_id;
	} while (r->id == 0 || req_find(r->id) != NULL);
	r->role = role;
	r->mode = mode;
	strlcpy_chk(r->cmd, cmd, sizeof(r->cmd));
	if (payload != NULL) {
		if ((rid = json_get(payload, "request_id")) != NULL)
			r->request_id = json_object_get(rid);
		trace = json_get(payload, "trace");
		if (r->request_id != NULL && trace != NULL &&
		    json_object_is_type(trace, json_type_object)) {
			trace_stamp(trace, "handler_receive");
			trace_stamp(trace, "handler_dispatch");
			r->trace = json_object_get(trace);
		}
		r->reply_channel = dup_opt(payload, "reply_channel");
		r->source = dup_opt(payload, "source_client_session");
		r->project_id = dup_opt(payload, "project_id");
	}
	TAILQ_INSERT_TAIL(&n.reqs, r, entry);
	n.nreqs++;
	return r;
}

/*
 * A worker that is starting or restarting gets its commands a moment
 * later instead of an error; the hold is bounded in count and time.
 */
static void
hold(enum role role, const char *cmd, struct json_object *payload,
    enum route_mode mode)
{
	struct timeval	 tv = { 1, 0 };
	struct pending	*p;

	if (n.npending >= NET_MAX_PENDING) {
		net_error(payload, "the %s service is not running; try again",
		    role_name(role));
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->role = role;
	p->mode = mode;
	strlcpy_chk(p->cmd, cmd, sizeof(p->cmd));
	p->payload = json_object_get(payload);
	p->since = time(NULL);
	TAILQ_INSERT_TAIL(&n.pending, p, entry);
	n.npending++;
	if (!evtimer_pending(n.pending_ev, NULL))
		evtimer_add(n.pending_ev, &tv);
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&n.pending, p, entry);
	n.npending--;
	json_object_put(p->payload);
	free(p);
}

static void
pending_cb(int fd, short ev, void *arg)
{
	struct timeval	 tv = { 1, 0 };
	struct pending	*p, *next;
	time_t		 now = time(NULL);

	(void)fd;
	(void)ev;
	(void)arg;
	for (p = TAILQ_FIRST(&n.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (now - p->since < PENDING_SECS)
			continue;
		net_error(p->payload, "the %s service is not running; try again",
		    role_name(p->role));
		pending_free(p);
	}
	if (!TAILQ_EMPTY(&n.pending))
		evtimer_add(n.pending_ev, &tv);
}

static uint32_t
forward(enum role role, const char *cmd, struct json_object *payload,
    enum route_mode mode)
{
	struct request	*r;
	const char	*text;

	if (n.links[role] == NULL) {
		hold(role, cmd, payload, mode);
		return 0;
	}
	if (n.nreqs >= NET_MAX_INFLIGHT) {
		net_error(payload, "too many requests in progress");
		return 0;
	}
	r = req_new(role, cmd, payload, mode);
	text = json_text(payload, NULL);
	if (ipc_send_str(n.links[role], IMSG_CMD, r->id, -1, text) == -1) {
		req_free(r);
		net_error(payload, "the %s service is busy; try again",
		    role_name(role));
		return 0;
	}
	return r->id;
}

/* A command net makes up itself, e.g. system_info for new sessions. */
static uint32_t
internal_cmd(const char *cmd, enum route_mode mode, const char *project_id,
    const char *session)
{
	const struct cmd_entry	*e = cmd_lookup(cmd);
	struct json_object	*p;
	uint32_t		 id = 0;

	if (e == NULL)
		return 0;
	p = json_object_new_object();
	json_set_str(p, "cmd", cmd);
	if (project_id != NULL)
		json_set_str(p, "project_id", project_id);
	if (session != NULL)
		json_set_str(p, "source_client_session", session);
	id = forward(e->role, cmd, p, mode);
	json_object_put(p);
	return id;
}

static void
sysinfo_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (!gw_online() || route_count() == 0 || n.sysinfo_req != 0 ||
	    n.links[ROLE_FS] == NULL)
		return;
	n.sysinfo_req = internal_cmd("system_info", ROUTE_SESSION_AWARE, NULL,
	    NULL);
}

/* ---- commands handled inside net ---- */

/*
 * The git worker keeps one project state per project session: it gets
 * the (validated) session list whenever it changes and when it links.
 */
static void
sessions_to_git(void)
{
	const struct client_session	*cs;
	struct json_object		*p, *arr, *o;
	size_t				 i;

	if (n.links[ROLE_GIT] == NULL)
		return;
	p = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < route_count(); i++) {
		cs = route_session(i);
		o = json_object_new_object();
		json_set_str(o, "channel_name", cs->channel_name);
		json_set_bool(o, "dashboard", cs->dashboard);
		json_object_object_add(o, "project_id", cs->project_id ?
		    json_object_new_string(cs->project_id) : NULL);
		json_object_object_add(o, "project_folder_path",
		    cs->project_folder_path ?
		    json_object_new_string(cs->project_folder_path) : NULL);
		json_object_array_add(arr, o);
	}
	json_set_str(p, "cmd", "_client_sessions");
	json_object_object_add(p, "sessions", arr);
	forward(ROLE_GIT, "_client_sessions", p, ROUTE_RESPONSE);
	json_object_put(p);
}

static void
sessions_update(struct json_object *payload)
{
	struct json_object	*sessions = json_get(payload, "sessions");
	const struct client_session *cs;
	char			**old, err[256];
	size_t			 i, j, nold = route_count();
	int			 fresh = 0, isnew;

	old = xcalloc(nold + 1, sizeof(*old));
	for (i = 0; i < nold; i++)
		old[i] = xstrdup(route_session(i)->channel_name);
	if (route_update(sessions, err, sizeof(err)) == -1) {
		net_error(payload, "%s", err);
		goto out;
	}
	for (i = 0; i < route_count(); i++) {
		cs = route_session(i);
		for (j = 0, isnew = 1; j < nold && isnew; j++)
			if (strcmp(old[j], cs->channel_name) == 0)
				isnew = 0;
		if (!isnew)
			continue;
		if (!fresh)	/* reference §1.8: system_info to every session */
			internal_cmd("system_info", ROUTE_RESPONSE, NULL, NULL);
		fresh = 1;
		/* Each new session learns the terminals it can see. */
		if (!cs->dashboard && cs->project_id != NULL)
			internal_cmd("terminal_list", ROUTE_REQUESTER,
			    cs->project_id, cs->channel_name);
		internal_cmd("terminal_list", ROUTE_REQUESTER, NULL,
		    cs->channel_name);
	}
	log_debug("client sessions: %zu (%s)", route_count(),
	    fresh ? "new ones" : "no new ones");
	sessions_to_git();
	send_held();
out:
	for (i = 0; i < nold; i++)
		free(old[i]);
	free(old);
}

/*
 * A diff without base_path applies in the requester's project folder
 * (upstream takes it from the project state, which came from there).
 */
static void
default_base_path(struct json_object *payload, const char *name)
{
	const struct client_session	*cs;
	const char			*base, *src;
	size_t				 i;

	if (strcmp(name, "file_apply_diff") != 0 &&
	    strcmp(name, "file_preview_diff") != 0)
		return;
	base = json_get_str(payload, "base_path");
	src = json_get_str(payload, "source_client_session");
	if ((base != NULL && *base != '\0') || src == NULL)
		return;
	for (i = 0; i < route_count(); i++) {
		cs = route_session(i);
		if (strcmp(cs->channel_name, src) == 0 &&
		    cs->project_folder_path != NULL &&
		    *cs->project_folder_path != '\0') {
			json_set_str(payload, "base_path",
			    cs->project_folder_path);
			return;
		}
	}
}

static void
dispatch(struct json_object *payload, const char *name)
{
	const struct cmd_entry	*e;
	char			 err[256];

	/* Names starting with '_' are net's own messages to workers. */
	if (name[0] == '_' || (e = cmd_lookup(name)) == NULL) {
		net_error(payload, "Unknown cmd: %s", name);
		return;
	}
	if (cmd_validate(e, payload, err, sizeof(err)) == -1) {
		net_error(payload, "%s: %s", name, err);
		return;
	}
	if (e->role != ROLE_NET) {
		default_base_path(payload, name);
		forward(e->role, name, payload, ROUTE_RESPONSE);
		return;
	}
	if (strcmp(name, "client_sessions_update") == 0)
		sessions_update(payload);
}

static int
channel_is_control(struct json_object *ch)
{
	const char	*s;

	if (json_object_is_type(ch, json_type_int))
		return json_object_get_int64(ch) == 0;
	if (json_object_is_type(ch, json_type_string)) {
		s = json_object_get_string(ch);
		return strcmp(s, "0") == 0;
	}
	return 0;
}

/* A string payload holding JSON is accepted, as upstream does. */
static struct json_object *
frame_payload(struct json_object *frame, struct json_object **owned,
    const char **why)
{
	struct json_object	*p = json_get(frame, "payload");
	const char		*s;

	*owned = NULL;
	if (p != NULL && json_object_is_type(p, json_type_string)) {
		s = json_object_get_string(p);
		p = *owned = json_parse_text(s, strlen(s), why);
	}
	if (p == NULL || !json_object_is_type(p, json_type_object)) {
		if (*why == NULL)
			*why = "payload must be a JSON object";
		return NULL;
	}
	return p;
}

void
net_frame(const char *text, size_t len)
{
	struct json_object	*frame, *payload, *owned = NULL, *ch, *cmd;
	struct json_object	*trace;
	const char		*why = NULL, *ev;

	if ((frame = json_parse_text(text, len, &why)) == NULL) {
		net_error(NULL, "invalid message: %s", why);
		return;
	}
	if (!json_object_is_type(frame, json_type_object)) {
		net_error(NULL, "invalid message: not a JSON object");
		goto out;
	}
	if ((ch = json_get(frame, "channel")) == NULL) {
		net_error(NULL, "invalid message: channel is missing");
		goto out;
	}
	if ((payload = frame_payload(frame, &owned, &why)) == NULL) {
		net_error(NULL, "invalid message: %s", why);
		goto out;
	}
	if (!channel_is_control(ch)) {
		net_error(payload, "invalid message: only channel 0 is served");
		goto out;
	}
	trace = json_get(payload, "trace");
	if (trace != NULL && json_object_is_type(trace, json_type_object) &&
	    json_get(payload, "request_id") != NULL)
		trace_stamp(trace, "device_receive");
	cmd = json_get(payload, "cmd");
	if (cmd == NULL && (ev = json_get_str(payload, "event")) != NULL) {
		if (strcmp(ev, "clock_sync_response") == 0)
			gw_clock_response(payload);
		else
			log_debug("ignoring event %s from the gateway", ev);
		goto out;
	}
	if (cmd == NULL)
		net_error(payload, "invalid message: payload has no cmd");
	else if (!json_object_is_type(cmd, json_type_string))
		net_error(payload, "invalid message: cmd must be a string");
	else
		dispatch(payload, json_object_get_string(cmd));
out:
	json_object_put(owned);
	json_object_put(frame);
}

void
net_binary(size_t len)
{
	net_error(NULL, "invalid message: binary frames are not supported "
	    "(%zu bytes ignored)", len);
}

void
net_online(void)
{
	struct json_object	*ev = json_event_new("request_client_sessions");

	gw_send(ev);
	json_object_put(ev);
}

void
net_offline(void)
{
	backpressure();
}

/* ---- events from the workers ---- */


static void
track_terminal(const char *name, struct json_object *ev)
{
	const char	*id = json_get_str(ev, "terminal_id");
	const char	*project = json_get_str(ev, "project_id");
	struct tracked	*t;

	if (id == NULL)
		return;
	if (strcmp(name, "terminal_started") == 0) {
		if (n.nterms >= NET_MAX_TERMINALS || strlen(id) >= sizeof(t->id))
			return;
		t = xcalloc(1, sizeof(*t));
		strlcpy_chk(t->id, id, sizeof(t->id));
		t->project_id = project != NULL ? xstrdup(project) : NULL;
		TAILQ_INSERT_TAIL(&n.terms, t, entry);
		n.nterms++;
	} else if (strcmp(name, "terminal_exit") == 0) {
		TAILQ_FOREACH(t, &n.terms, entry)
			if (strcmp(t->id, id) == 0)
				break;
		if (t == NULL)
			return;
		TAILQ_REMOVE(&n.terms, t, entry);
		n.nterms--;
		free(t->project_id);
		free(t);
	}
}

static int
tracked_has(const char *id)
{
	struct tracked	*t;

	TAILQ_FOREACH(t, &n.terms, entry)
		if (strcmp(t->id, id) == 0)
			return 1;
	return 0;
}

/* term died and its terminals with it (their ptys closed): say so. */
static void
terminals_lost(void)
{
	struct json_object	*ev;
	struct tracked		*t;

	while ((t = TAILQ_FIRST(&n.terms)) != NULL) {
		ev = json_event_new("terminal_exit");
		json_set_str(ev, "terminal_id", t->id);
		json_set_int(ev, "returncode", -SIGHUP);
		json_object_object_add(ev, "project_id", t->project_id ?
		    json_object_new_string(t->project_id) : NULL);
		json_set_str(ev, "reason", "the terminal service stopped");
		track_terminal("terminal_exit", ev);
		emit(ev, ROUTE_SESSION_AWARE, json_get_str(ev, "project_id"),
		    NULL, NULL);
		json_object_put(ev);
	}
}

/* net's own terminal_list after (re)linking term: who is alive there. */
static void
sink_event(struct json_object *ev, const char *name)
{
	struct json_object	*arr, *one;
	size_t			 i;

	if (strcmp(name, "terminal_list") != 0 ||
	    (arr = json_get(ev, "sessions")) == NULL ||
	    !json_object_is_type(arr, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		one = json_object_array_get_idx(arr, i);
		if (json_get_str(one, "terminal_id") != NULL &&
		    !tracked_has(json_get_str(one, "terminal_id")))
			track_terminal("terminal_started", one);
	}
}

/*
 * A worker marks a text that may be too big for one message with
 * "_chunk_field"; it goes out as §4.10 chunks, each routed as the whole.
 */
static void
emit_reply(struct json_object *ev, enum route_mode mode,
    const char *project_id, const char *reply_channel, const char *source)
{
	struct chunker		*ch;
	struct json_object	*c;

	if (json_get(ev, CHUNK_MARK) == NULL ||
	    (ch = chunk_begin(ev, json_get_str(ev, CHUNK_MARK))) == NULL) {
		emit(ev, mode, project_id, reply_channel, source);
		return;
	}
	while ((c = chunk_next(ch)) != NULL) {
		emit(c, mode, project_id, reply_channel, source);
		json_object_put(c);
	}
	chunk_free(ch);
}

/*
 * A worker's own event goes to the sessions of its project, or, when it
 * names one with "_target_session" (project state of one session), to
 * that session alone if it is still connected.
 */
static void
deliver_unsolicited(struct json_object *ev, const char *project)
{
	struct json_object	*t;
	char			*target;

	if (!json_object_object_get_ex(ev, "_target_session", &t)) {
		emit_reply(ev, ROUTE_SESSION_AWARE, project, NULL, NULL);
		return;
	}
	target = json_object_is_type(t, json_type_string) ?
	    xstrdup(json_object_get_string(t)) : NULL;
	json_object_object_del(ev, "_target_session");
	if (target != NULL && route_known(target))
		emit_reply(ev, ROUTE_REQUESTER, project, NULL, target);
	free(target);
}

static void
deliver(struct json_object *ev, const char *name, struct request *r)
{
	struct json_object	*trace;
	const char		*project = json_get_str(ev, "project_id");
	enum route_mode		 mode;

	if (r == NULL) {
		deliver_unsolicited(ev, project);
		return;
	}
	if (r->sink) {
		sink_event(ev, name);
		return;
	}
	if (r->request_id != NULL && json_get(ev, "request_id") == NULL)
		json_object_object_add(ev, "request_id",
		    json_object_get(r->request_id));
	if (r->trace != NULL) {
		trace = json_object_new_object();
		json_object_deep_copy(r->trace, &trace, NULL);
		trace_stamp(trace, "handler_complete");
		trace_stamp(trace, "device_send");
		json_object_object_add(ev, "trace", trace);
	}
	mode = name_in(name, requester_events) ? ROUTE_REQUESTER : r->mode;
	if (strcmp(name, "error") == 0)
		project = r->project_id;
	emit_reply(ev, mode, project, r->reply_channel, r->source);
}

static void
worker_event(enum role role, struct ipc_msg *msg)
{
	struct json_object	*ev;
	struct request		*r = NULL;
	struct ipc_rd		 rd;
	const char		*text, *name, *why = NULL;
	size_t			 len;

	ipc_rd_init(&rd, msg);
	text = ipc_rd_str(&rd, &len);
	if (text == NULL || ipc_rd_end(&rd) == -1) {
		log_warnx("%s sent a malformed event message", role_name(role));
		return;
	}
	if (msg->hdr.peerid != 0 && ((r = req_find(msg->hdr.peerid)) == NULL ||
	    r->role != role)) {
		log_warnx("%s answered unknown request %u", role_name(role),
		    msg->hdr.peerid);
		return;
	}
	ev = json_parse_text(text, len, &why);
	if (ev == NULL || !json_object_is_type(ev, json_type_object) ||
	    (name = json_get_str(ev, "event")) == NULL) {
		log_warnx("%s sent an invalid event: %s", role_name(role),
		    why ? why : "no event name");
		json_object_put(ev);
		return;
	}
	if (role == ROLE_TERM)
		track_terminal(name, ev);
	deliver(ev, name, r);
	json_object_put(ev);
}

static void
worker_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	enum role	 role = (enum role)(intptr_t)arg;
	struct request	*r;

	(void)ipc;
	switch (msg->hdr.type) {
	case IMSG_EVENT:
		worker_event(role, msg);
		break;
	case IMSG_DONE:
		if (msg->len != 0 || (r = req_find(msg->hdr.peerid)) == NULL ||
		    r->role != role)
			log_warnx("%s: bad DONE for request %u",
			    role_name(role), msg->hdr.peerid);
		else
			req_free(r);
		break;
	default:
		log_warnx("%s sent unexpected %s", role_name(role),
		    ipc_type_name(msg->hdr.type));
		break;
	}
}

/* Requests in flight on a lost worker get an error, not silence. */
static void
worker_lost(enum role role)
{
	struct request		*r, *next;
	struct json_object	*ev;

	for (r = TAILQ_FIRST(&n.reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->role != role)
			continue;
		ev = json_event_new("error");
		json_set_str(ev, "message",
		    "the service running this command stopped; try again");
		deliver(ev, "error", r);
		json_object_put(ev);
		req_free(r);
	}
}

static void
worker_err(struct ipc *ipc, const char *why, void *arg)
{
	enum role	 role = (enum role)(intptr_t)arg;

	log_verbose("link to %s: %s", role_name(role), why);
	ipc_free(ipc);
	if (n.links[role] == ipc)
		n.links[role] = NULL;
	worker_lost(role);
	if (role == ROLE_TERM)
		terminals_lost();
}

/* A new net (or a new link) learns which terminals term already runs. */
static void
resync_terminals(void)
{
	struct json_object	*p = json_object_new_object();
	uint32_t		 id;
	struct request		*r;

	json_set_str(p, "cmd", "terminal_list");
	json_set_str(p, "project_id", "all");
	if ((id = forward(ROLE_TERM, "terminal_list", p, ROUTE_RESPONSE)) != 0 &&
	    (r = req_find(id)) != NULL)
		r->sink = 1;
	json_object_put(p);
}

/* The worker is there now: what waited for it goes, in arrival order. */
static void
release(enum role role)
{
	struct pending	*p, *next;

	for (p = TAILQ_FIRST(&n.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->role != role)
			continue;
		forward(role, p->cmd, p->payload, p->mode);
		pending_free(p);
	}
}

static void
set_link(enum role role, int fd)
{
	if (n.links[role] != NULL) {
		ipc_free(n.links[role]);
		n.links[role] = NULL;
		worker_lost(role);
	}
	n.links[role] = ipc_new(n.base, fd, role_name(role), IPC_MAX_DATA,
	    worker_msg, worker_err, (void *)(intptr_t)role);
	if (n.paused)
		ipc_pause(n.links[role], 1);
	log_debug("linked to %s", role_name(role));
	release(role);
	if (role == ROLE_TERM)
		resync_terminals();
	if (role == ROLE_GIT)
		sessions_to_git();
}

/* ---- the parent ---- */

static void
parent_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	uint32_t	 v;

	(void)arg;
	switch (msg->hdr.type) {
	case IMSG_PING:
		if (ipc_answer_ping(ipc, msg) == -1)
			fatalx("malformed ping from the parent");
		break;
	case IMSG_LINK:
		v = msg->hdr.peerid;
		if (msg->fd == -1 || v < ROLE_FIRST_WORKER || v >= ROLE_MAX)
			fatalx("bad LINK from the parent");
		set_link(v, msg->fd);
		msg->fd = -1;
		break;
	case IMSG_CONF:
		/* Gateway changes restart us; what remains is the log level. */
		proc_reconf(msg, &n.boot->conf);
		break;
	default:
		gw_parent_msg(msg);
		break;
	}
}

static void
parent_err(struct ipc *ipc, const char *why, void *arg)
{
	(void)ipc;
	(void)arg;
	log_debug("parent link: %s; exiting", why);
	exit(0);
}

/* Load what needs files, then lock ourselves in. */
static SSL_CTX *
net_sandbox(struct child_boot *boot)
{
	struct passwd	*pw;
	SSL_CTX		*ctx = NULL;
	char		 err[512];

	if (boot->conf.gateway.tls &&
	    (ctx = tls_ctx_new(boot->conf.cafile, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	log_openlog();
	if (boot->system_mode) {
		if ((pw = getpwnam(PRIVSEP_USER)) == NULL)
			fatalx("privsep user %s does not exist", PRIVSEP_USER);
		privdrop_chroot(PRIVSEP_PATH);
		privdrop_user(pw->pw_uid, pw->pw_gid, NULL);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	}
	sandbox_limits(ROLE_NET);
	sandbox_filter(ROLE_NET, boot->sandbox_debug);
	return ctx;
}

int
net_main(struct child_boot *boot)
{
	struct timeval	 tv = { SYSINFO_PERIOD_SECS, 0 };
	SSL_CTX		*ctx;

	memset(&n, 0, sizeof(n));
	n.boot = boot;
	TAILQ_INIT(&n.reqs);
	TAILQ_INIT(&n.pending);
	TAILQ_INIT(&n.held);
	TAILQ_INIT(&n.terms);
	signal(SIGPIPE, SIG_IGN);
	if ((n.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	ctx = net_sandbox(boot);
	n.parent = ipc_new(n.base, PC_PARENT_FD, "parent", IPC_MAX_CTL,
	    parent_msg, parent_err, NULL);
	gw_init(n.base, &boot->conf, ctx, n.parent);
	n.pending_ev = evtimer_new(n.base, pending_cb, NULL);
	n.sysinfo_ev = event_new(n.base, -1, EV_PERSIST, sysinfo_cb, NULL);
	event_add(n.sysinfo_ev, &tv);
	ipc_send(n.parent, IMSG_READY, 0, -1, NULL, 0);
	event_base_dispatch(n.base);
	return 0;
}
