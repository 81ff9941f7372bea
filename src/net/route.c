#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "xmalloc.h"
#include "route.h"

#define ROUTE_MAX_FIELD	4096	/* project_id, project_folder_path */

/*
 * The list as the gateway last sent it, in its order. names[i] is
 * sessions[i].channel_name as a JSON string made once per update, so an
 * event only takes references to it instead of copying every name for
 * every terminal_data. Nothing may modify those shared strings.
 */
struct route_list {
	struct client_session	*sessions;
	struct json_object	**names;
	size_t			 count;
};

static struct route_list	routes;

static void
session_free(struct client_session *s)
{
	free(s->channel_name);
	free(s->project_id);
	free(s->project_folder_path);
	memset(s, 0, sizeof(*s));
}

static void
list_free(struct route_list *l)
{
	size_t	i;

	for (i = 0; i < l->count; i++) {
		session_free(&l->sessions[i]);
		json_object_put(l->names[i]);
	}
	free(l->sessions);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

enum field {
	FIELD_OK,
	FIELD_TYPE,
	FIELD_LONG,
	FIELD_NUL,
};

/* An optional string field; *out is NULL when absent or null. */
static enum field
field_str(struct json_object *obj, const char *key, size_t max,
    const char **out)
{
	struct json_object	*v;
	size_t			 len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return FIELD_OK;
	if (!json_object_is_type(v, json_type_string))
		return FIELD_TYPE;
	len = json_object_get_string_len(v);
	if (len > max)
		return FIELD_LONG;
	/* C strings from here on: a NUL inside would cut them short. */
	if (memchr(json_object_get_string(v), '\0', len) != NULL)
		return FIELD_NUL;
	*out = json_object_get_string(v);
	return FIELD_OK;
}

static int
field_error(enum field f, size_t idx, const char *key, const char *type,
    size_t max, char *err, size_t errlen)
{
	switch (f) {
	case FIELD_OK:
		return 0;
	case FIELD_TYPE:
		snprintf(err, errlen, "sessions[%zu].%s must be %s", idx, key,
		    type);
		break;
	case FIELD_LONG:
		snprintf(err, errlen, "sessions[%zu].%s is too long "
		    "(max %zu bytes)", idx, key, max);
		break;
	case FIELD_NUL:
		snprintf(err, errlen, "sessions[%zu].%s must not contain NUL",
		    idx, key);
		break;
	}
	return -1;
}

/* 1: a session in *s; 0: skipped (no channel_name); -1: bad input. */
static int
session_parse(struct json_object *o, size_t idx, struct client_session *s,
    char *err, size_t errlen)
{
	const char	*name, *ctype, *pid, *path;

	memset(s, 0, sizeof(*s));
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "sessions[%zu] must be an object", idx);
		return -1;
	}
	if (field_error(field_str(o, "channel_name", ROUTE_MAX_NAME, &name),
	    idx, "channel_name", "a string", ROUTE_MAX_NAME, err, errlen) ||
	    field_error(field_str(o, "connection_type", ROUTE_MAX_FIELD,
	    &ctype), idx, "connection_type", "a string", ROUTE_MAX_FIELD, err,
	    errlen) ||
	    field_error(field_str(o, "project_id", ROUTE_MAX_FIELD, &pid),
	    idx, "project_id", "a string or null", ROUTE_MAX_FIELD, err,
	    errlen) ||
	    field_error(field_str(o, "project_folder_path", ROUTE_MAX_FIELD,
	    &path), idx, "project_folder_path", "a string or null",
	    ROUTE_MAX_FIELD, err, errlen))
		return -1;
	/* Upstream keeps only sessions with a truthy channel_name. */
	if (name == NULL || *name == '\0')
		return 0;
	s->channel_name = xstrdup(name);
	s->dashboard = ctype != NULL && strcmp(ctype, "dashboard") == 0;
	s->project_id = pid != NULL ? xstrdup(pid) : NULL;
	s->project_folder_path = path != NULL ? xstrdup(path) : NULL;
	return 1;
}

static size_t
list_find(const struct route_list *l, const char *name)
{
	size_t	i;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->sessions[i].channel_name, name) == 0)
			return i;
	return l->count;
}

/* Later duplicates replace the fields but keep the first one's place. */
static void
list_put(struct route_list *l, struct client_session *s)
{
	size_t	i;

	if ((i = list_find(l, s->channel_name)) < l->count) {
		session_free(&l->sessions[i]);
		l->sessions[i] = *s;
		return;
	}
	l->sessions[i] = *s;
	if ((l->names[i] = json_object_new_string(s->channel_name)) == NULL)
		fatalx("%s: out of memory", __func__);
	l->count++;
}

int
route_update(struct json_object *arr, char *err, size_t errlen)
{
	struct route_list	 nl;
	struct client_session	 s;
	size_t			 i, n;
	int			 r;

	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "sessions must be an array");
		return -1;
	}
	n = json_object_array_length(arr);
	if (n > ROUTE_MAX_SESSIONS) {
		snprintf(err, errlen, "sessions has too many elements (max %d)",
		    ROUTE_MAX_SESSIONS);
		return -1;
	}
	memset(&nl, 0, sizeof(nl));
	if (n > 0) {
		nl.sessions = xcalloc(n, sizeof(*nl.sessions));
		nl.names = xcalloc(n, sizeof(*nl.names));
	}
	for (i = 0; i < n; i++) {
		r = session_parse(json_object_array_get_idx(arr, i), i, &s,
		    err, errlen);
		if (r == -1) {
			list_free(&nl);
			return -1;
		}
		if (r == 1)
			list_put(&nl, &s);
	}
	list_free(&routes);
	routes = nl;
	return 0;
}

size_t
route_count(void)
{
	return routes.count;
}

const struct client_session *
route_session(size_t i)
{
	if (i >= routes.count)
		return NULL;
	return &routes.sessions[i];
}

int
route_known(const char *name)
{
	if (name == NULL)
		return 0;
	return list_find(&routes, name) < routes.count;
}

void
route_clear(void)
{
	list_free(&routes);
}

/*
 * Reference §1.9: dashboards only get project-less events; other sessions
 * get project-less ones, "" ones, and their own project's.
 */
static int
route_wants(const struct client_session *s, const char *project_id)
{
	if (s->dashboard)
		return project_id == NULL;
	if (project_id == NULL || *project_id == '\0')
		return 1;
	return s->project_id != NULL && strcmp(s->project_id, project_id) == 0;
}

static struct json_object *
route_targets(const char *project_id)
{
	struct json_object	*arr;
	size_t			 i, n = 0;

	for (i = 0; i < routes.count; i++)
		if (route_wants(&routes.sessions[i], project_id))
			n++;
	if (n == 0)
		return NULL;
	if ((arr = json_object_new_array_ext(n)) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < routes.count; i++) {
		if (!route_wants(&routes.sessions[i], project_id))
			continue;
		if (json_object_array_add(arr,
		    json_object_get(routes.names[i])) != 0)
			fatalx("%s: out of memory", __func__);
	}
	return arr;
}

static void
set_field(struct json_object *payload, const char *key,
    struct json_object *val)
{
	if (json_object_object_add(payload, key, val) != 0)
		fatalx("%s: cannot set \"%s\"", __func__, key);
}

static void
set_str(struct json_object *payload, const char *key, const char *val)
{
	struct json_object	*v;

	if ((v = json_object_new_string(val)) == NULL)
		fatalx("%s: out of memory", __func__);
	set_field(payload, key, v);
}

static int
has_field(struct json_object *payload, const char *key)
{
	return json_object_object_get_ex(payload, key, NULL);
}

/*
 * BaseHandler.send_response: with no sessions known, let the gateway
 * broadcast.
 */
static int
route_response(struct json_object *payload, const char *project_id,
    const char *reply_channel)
{
	struct json_object	*targets;

	if (routes.count == 0) {
		if (reply_channel != NULL)
			set_str(payload, "reply_channel", reply_channel);
		return 0;
	}
	if ((targets = route_targets(project_id)) == NULL)
		return -1;
	set_field(payload, "client_sessions", targets);
	if (reply_channel != NULL)
		set_str(payload, "reply_channel", reply_channel);
	else
		set_field(payload, "reply_channel",
		    json_object_get(routes.names[0]));
	return 0;
}

/* TerminalManager._send_session_aware: nobody to send to means drop. */
static int
route_session_aware(struct json_object *payload, const char *project_id,
    const char *reply_channel)
{
	struct json_object	*targets;

	if (routes.count == 0)
		return -1;
	if ((targets = route_targets(project_id)) == NULL)
		return -1;
	if (!has_field(payload, "client_sessions"))
		set_field(payload, "client_sessions", targets);
	else
		json_object_put(targets);
	if (has_field(payload, "reply_channel"))
		return 0;
	if (reply_channel != NULL)
		set_str(payload, "reply_channel", reply_channel);
	else
		set_field(payload, "reply_channel",
		    json_object_get(routes.names[0]));
	return 0;
}

int
route_event(struct json_object *payload, enum route_mode mode,
    const char *project_id, const char *reply_channel, const char *source)
{
	struct json_object	*arr, *name;

	if (!json_object_is_type(payload, json_type_object)) {
		log_warnx("%s: payload is not an object", __func__);
		return -1;
	}
	/* Upstream tests these for truth: "" counts as absent. */
	if (reply_channel != NULL && *reply_channel == '\0')
		reply_channel = NULL;
	if (source != NULL && *source == '\0')
		source = NULL;

	switch (mode) {
	case ROUTE_REQUESTER:
		if (source == NULL)
			return route_response(payload, project_id,
			    reply_channel);
		if ((arr = json_object_new_array_ext(1)) == NULL ||
		    (name = json_object_new_string(source)) == NULL ||
		    json_object_array_add(arr, name) != 0)
			fatalx("%s: out of memory", __func__);
		set_field(payload, "client_sessions", arr);
		return 0;
	case ROUTE_RESPONSE:
		return route_response(payload, project_id, reply_channel);
	case ROUTE_SESSION_AWARE:
		return route_session_aware(payload, project_id, reply_channel);
	}
	log_warnx("%s: unknown mode %d", __func__, (int)mode);
	return -1;
}
