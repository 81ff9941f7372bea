#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "portacoded.h"
#include "json.h"
#include "log.h"
#include "net/route.h"

static struct json_object *
obj(const char *text)
{
	struct json_object	*o;
	const char		*why;

	o = json_parse_text(text, strlen(text), &why);
	if (o == NULL)
		fail_msg("test JSON rejected (%s): %s", why, text);
	return o;
}

static void
update_ok(const char *text)
{
	struct json_object	*o = obj(text);
	char			 err[256] = "";

	if (route_update(o, err, sizeof(err)) != 0)
		fail_msg("route_update failed: %s", err);
	json_object_put(o);
}

static void
update_bad(struct json_object *o, const char *want)
{
	char	err[256] = "";

	assert_int_equal(route_update(o, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
update_bad_text(const char *text, const char *want)
{
	struct json_object	*o = obj(text);

	update_bad(o, want);
	json_object_put(o);
}

/* Names of the current list, space separated. */
static const char *
names(void)
{
	static char	buf[4096];
	size_t		i;

	buf[0] = '\0';
	for (i = 0; i < route_count(); i++) {
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, route_session(i)->channel_name);
	}
	return buf;
}

/*
 * Route payload and return what would go on the wire, or "DROP".
 * The caller does not free the result.
 */
static const char *
route(const char *payload, enum route_mode mode, const char *project_id,
    const char *reply_channel, const char *source)
{
	static char		 buf[4096];
	struct json_object	*o = obj(payload);

	if (route_event(o, mode, project_id, reply_channel, source) == -1)
		strcpy(buf, "DROP");
	else
		snprintf(buf, sizeof(buf), "%s", json_text(o, NULL));
	json_object_put(o);
	return buf;
}

#define EV	"{\"event\":\"e\"}"

static const char *mixed =
    "[{\"channel_name\":\"dash1\",\"connection_type\":\"dashboard\","
    "\"project_id\":null,\"user_id\":3},"
    "{\"channel_name\":\"projA\",\"connection_type\":\"project\","
    "\"project_id\":\"A\",\"project_folder_path\":\"/srv/a\"},"
    "{\"channel_name\":\"projB\",\"connection_type\":\"project\","
    "\"project_id\":\"B\",\"project_folder_path\":\"/srv/b\"},"
    "{\"channel_name\":\"dash2\",\"connection_type\":\"dashboard\"},"
    "{\"channel_name\":\"plain\"}]";

static int
teardown(void **state)
{
	(void)state;
	route_clear();
	return 0;
}

static void
test_update_fields(void **state)
{
	const struct client_session	*s;

	(void)state;
	update_ok(mixed);
	assert_int_equal(route_count(), 5);
	assert_string_equal(names(), "dash1 projA projB dash2 plain");
	s = route_session(0);
	assert_true(s->dashboard);
	assert_null(s->project_id);
	assert_null(s->project_folder_path);
	s = route_session(1);
	assert_false(s->dashboard);
	assert_string_equal(s->project_id, "A");
	assert_string_equal(s->project_folder_path, "/srv/a");
	assert_true(route_session(3)->dashboard);
	assert_false(route_session(4)->dashboard);
	assert_null(route_session(4)->project_id);
	assert_null(route_session(5));
	assert_null(route_session((size_t)-1));
	assert_true(route_known("projB"));
	assert_false(route_known("projb"));
	assert_false(route_known(""));
	assert_false(route_known(NULL));

	/* A new list replaces the old one entirely. */
	update_ok("[{\"channel_name\":\"only\",\"connection_type\":\"Dashboard\"}]");
	assert_string_equal(names(), "only");
	assert_false(route_session(0)->dashboard);	/* exact match only */
	assert_false(route_known("dash1"));
	update_ok("[]");
	assert_int_equal(route_count(), 0);
	assert_null(route_session(0));
}

/* Upstream keeps sessions keyed by a truthy channel_name. */
static void
test_update_skips_and_duplicates(void **state)
{
	const struct client_session	*s;

	(void)state;
	update_ok("[{\"connection_type\":\"dashboard\"},"
	    "{\"channel_name\":null},{\"channel_name\":\"\"},"
	    "{\"channel_name\":\"a\",\"project_id\":\"X\"},"
	    "{\"channel_name\":\"b\"},"
	    "{\"channel_name\":\"a\",\"project_id\":\"Y\","
	    "\"connection_type\":\"dashboard\"},"
	    "{\"channel_name\":\"c\"},{\"channel_name\":\"b\"}]");
	assert_string_equal(names(), "a b c");
	s = route_session(0);
	assert_string_equal(s->project_id, "Y");	/* last wins */
	assert_true(s->dashboard);
	/* The duplicate's place is the first one's, its data the last's. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"a\",\"b\",\"c\"],"
	    "\"reply_channel\":\"a\"}");
}

static void
test_update_errors_keep_list(void **state)
{
	struct json_object	*o;
	char			 long_name[300], buf[5000];
	char			 path[4200];

	(void)state;
	update_ok(mixed);

	update_bad(NULL, "sessions must be an array");
	update_bad_text("{}", "sessions must be an array");
	update_bad_text("\"x\"", "sessions must be an array");
	update_bad_text("[{\"channel_name\":\"new\"},5]",
	    "sessions[1] must be an object");
	update_bad_text("[{\"channel_name\":\"new\"},null]",
	    "sessions[1] must be an object");
	update_bad_text("[{},{},{},{\"channel_name\":7}]",
	    "sessions[3].channel_name must be a string");
	update_bad_text("[{\"channel_name\":[\"x\"]}]",
	    "sessions[0].channel_name must be a string");
	update_bad_text("[{\"channel_name\":\"x\",\"connection_type\":1}]",
	    "sessions[0].connection_type must be a string");
	update_bad_text("[{\"channel_name\":\"x\",\"project_id\":5}]",
	    "sessions[0].project_id must be a string or null");
	update_bad_text("[{\"channel_name\":\"x\",\"project_id\":{}}]",
	    "sessions[0].project_id must be a string or null");
	update_bad_text("[{\"channel_name\":\"x\",\"project_id\":false}]",
	    "sessions[0].project_id must be a string or null");
	update_bad_text("[{\"channel_name\":\"x\","
	    "\"project_folder_path\":[]}]",
	    "sessions[0].project_folder_path must be a string or null");
	/* Even an element that would be skipped must be well-formed. */
	update_bad_text("[{\"project_id\":1}]",
	    "sessions[0].project_id must be a string or null");

	memset(long_name, 'n', ROUTE_MAX_NAME + 1);
	long_name[ROUTE_MAX_NAME + 1] = '\0';
	snprintf(buf, sizeof(buf), "[{\"channel_name\":\"%s\"}]", long_name);
	update_bad_text(buf, "sessions[0].channel_name is too long "
	    "(max 256 bytes)");
	memset(path, 'p', 4097);
	path[0] = '/';
	path[4097] = '\0';
	snprintf(buf, sizeof(buf), "[{\"channel_name\":\"x\","
	    "\"project_folder_path\":\"%s\"}]", path);
	update_bad_text(buf, "sessions[0].project_folder_path is too long "
	    "(max 4096 bytes)");

	/* A NUL can only get here from a tree built by hand. */
	o = json_object_new_array();
	json_object_array_add(o, json_object_new_object());
	json_object_object_add(json_object_array_get_idx(o, 0), "channel_name",
	    json_object_new_string_len("a\0b", 3));
	update_bad(o, "sessions[0].channel_name must not contain NUL");
	json_object_put(o);

	assert_string_equal(names(), "dash1 projA projB dash2 plain");

	/* The limits themselves are fine. */
	long_name[ROUTE_MAX_NAME] = '\0';
	path[4096] = '\0';
	snprintf(buf, sizeof(buf), "[{\"channel_name\":\"%s\","
	    "\"project_folder_path\":\"%s\"}]", long_name, path);
	update_ok(buf);
	assert_int_equal(route_count(), 1);
	assert_int_equal(strlen(route_session(0)->channel_name),
	    ROUTE_MAX_NAME);
	assert_int_equal(strlen(route_session(0)->project_folder_path), 4096);
}

static void
test_update_limit(void **state)
{
	struct json_object	*arr, *s;
	char			 name[32], err[256];
	int			 i;

	(void)state;
	arr = json_object_new_array();
	for (i = 0; i < ROUTE_MAX_SESSIONS; i++) {
		snprintf(name, sizeof(name), "specific..inmemory!%06d", i);
		s = json_object_new_object();
		json_set_str(s, "channel_name", name);
		json_object_array_add(arr, s);
	}
	assert_int_equal(route_update(arr, err, sizeof(err)), 0);
	assert_int_equal(route_count(), ROUTE_MAX_SESSIONS);
	assert_string_equal(route_session(ROUTE_MAX_SESSIONS - 1)->channel_name,
	    "specific..inmemory!001023");

	s = json_object_new_object();
	json_set_str(s, "channel_name", "one too many");
	json_object_array_add(arr, s);
	update_bad(arr, "sessions has too many elements (max 1024)");
	assert_int_equal(route_count(), ROUTE_MAX_SESSIONS);
	json_object_put(arr);
}

static void
test_targets(void **state)
{
	(void)state;
	update_ok(mixed);
	/* Project-less: everyone, in server order. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"dash1\",\"projA\","
	    "\"projB\",\"dash2\",\"plain\"],\"reply_channel\":\"dash1\"}");
	/* "": every non-dashboard session, whatever its project. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, "", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projA\",\"projB\","
	    "\"plain\"],\"reply_channel\":\"dash1\"}");
	/* A project: its sessions only, never dashboards or other projects. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projA\"],"
	    "\"reply_channel\":\"dash1\"}");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, "B", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projB\"],"
	    "\"reply_channel\":\"dash1\"}");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "a", NULL, NULL), "DROP");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "C", NULL, NULL), "DROP");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, "C", NULL, NULL),
	    "DROP");

	/* Only dashboards: a project event has nowhere to go. */
	update_ok("[{\"channel_name\":\"d\",\"connection_type\":\"dashboard\","
	    "\"project_id\":\"A\"}]");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", NULL, NULL), "DROP");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "", NULL, NULL), "DROP");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, "", NULL, NULL),
	    "DROP");

	/* A session whose project_id is "" is not in project "A"... */
	update_ok("[{\"channel_name\":\"e\",\"project_id\":\"\"}]");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", NULL, NULL), "DROP");
	/* ...but is in "" and in project-less events. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, "", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"e\"],"
	    "\"reply_channel\":\"e\"}");
}

static void
test_response_mode(void **state)
{
	(void)state;
	/* No sessions known: the gateway broadcasts. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, NULL, NULL), EV);
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", NULL, NULL), EV);
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, "", NULL), EV);
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", "rc", NULL),
	    "{\"event\":\"e\",\"reply_channel\":\"rc\"}");

	/* One session. */
	update_ok("[{\"channel_name\":\"s1\",\"project_id\":\"A\"}]");
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "A", "rc", NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"rc\"}");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "B", "rc", NULL), "DROP");
	/* An empty reply_channel is no reply_channel (upstream truthiness). */
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, "", NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");
	/* Whatever the payload carried is replaced. */
	assert_string_equal(route("{\"event\":\"e\",\"client_sessions\":[\"zz\"],"
	    "\"reply_channel\":\"old\"}", ROUTE_RESPONSE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");
	/* The source is not a target in this mode. */
	assert_string_equal(route(EV, ROUTE_RESPONSE, NULL, NULL, "other"),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");

	/* Many sessions: reply_channel is the first known one. */
	update_ok(mixed);
	assert_string_equal(route(EV, ROUTE_RESPONSE, "B", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projB\"],"
	    "\"reply_channel\":\"dash1\"}");
	assert_string_equal(route(EV, ROUTE_RESPONSE, "B", "rc", NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projB\"],"
	    "\"reply_channel\":\"rc\"}");
}

static void
test_session_aware_mode(void **state)
{
	(void)state;
	/* No sessions known: dropped, unlike a response. */
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, NULL, NULL, NULL),
	    "DROP");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, NULL, "rc", NULL),
	    "DROP");

	update_ok("[{\"channel_name\":\"s1\"}]");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, NULL, "rc", NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"rc\"}");

	update_ok(mixed);
	assert_string_equal(route(EV, ROUTE_SESSION_AWARE, NULL, NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"dash1\",\"projA\","
	    "\"projB\",\"dash2\",\"plain\"],\"reply_channel\":\"dash1\"}");
	/* What the payload already has is kept. */
	assert_string_equal(route("{\"event\":\"e\",\"reply_channel\":\"mine\"}",
	    ROUTE_SESSION_AWARE, "A", "rc", NULL),
	    "{\"event\":\"e\",\"reply_channel\":\"mine\","
	    "\"client_sessions\":[\"projA\"]}");
	assert_string_equal(route("{\"event\":\"e\",\"client_sessions\":[\"x\"]}",
	    ROUTE_SESSION_AWARE, "A", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"x\"],"
	    "\"reply_channel\":\"dash1\"}");
	/* ...but no target still means drop. */
	assert_string_equal(route("{\"event\":\"e\",\"client_sessions\":[\"x\"]}",
	    ROUTE_SESSION_AWARE, "Z", NULL, NULL), "DROP");
}

static void
test_requester_mode(void **state)
{
	(void)state;
	/* With a source: only it, no reply_channel, even with none known. */
	assert_string_equal(route(EV, ROUTE_REQUESTER, NULL, "rc", "src"),
	    "{\"event\":\"e\",\"client_sessions\":[\"src\"]}");
	/* Without one: a normal response. */
	assert_string_equal(route(EV, ROUTE_REQUESTER, NULL, NULL, NULL), EV);
	assert_string_equal(route(EV, ROUTE_REQUESTER, NULL, "rc", ""),
	    "{\"event\":\"e\",\"reply_channel\":\"rc\"}");

	update_ok("[{\"channel_name\":\"s1\",\"project_id\":\"A\"}]");
	assert_string_equal(route(EV, ROUTE_REQUESTER, "B", NULL, "s1"),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"]}");
	assert_string_equal(route(EV, ROUTE_REQUESTER, "A", NULL, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"s1\"],"
	    "\"reply_channel\":\"s1\"}");
	assert_string_equal(route(EV, ROUTE_REQUESTER, "B", NULL, NULL), "DROP");

	update_ok(mixed);
	assert_string_equal(route(EV, ROUTE_REQUESTER, "A", "rc", "projB"),
	    "{\"event\":\"e\",\"client_sessions\":[\"projB\"]}");
	assert_string_equal(route(EV, ROUTE_REQUESTER, "A", "rc", NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projA\"],"
	    "\"reply_channel\":\"rc\"}");
}

/* Names handed out to events stay valid after the list changes. */
static void
test_event_outlives_list(void **state)
{
	struct json_object	*o;

	(void)state;
	update_ok(mixed);
	o = obj(EV);
	assert_int_equal(route_event(o, ROUTE_SESSION_AWARE, "A", NULL, NULL),
	    0);
	update_ok("[{\"channel_name\":\"other\"}]");
	route_clear();
	assert_string_equal(json_text(o, NULL),
	    "{\"event\":\"e\",\"client_sessions\":[\"projA\"],"
	    "\"reply_channel\":\"dash1\"}");
	json_object_put(o);
}

static void
test_bad_payload(void **state)
{
	struct json_object	*o;

	(void)state;
	update_ok(mixed);
	assert_int_equal(route_event(NULL, ROUTE_RESPONSE, NULL, NULL, NULL),
	    -1);
	o = obj("[]");
	assert_int_equal(route_event(o, ROUTE_RESPONSE, NULL, NULL, NULL), -1);
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_update_fields, teardown),
		cmocka_unit_test_teardown(test_update_skips_and_duplicates,
		    teardown),
		cmocka_unit_test_teardown(test_update_errors_keep_list,
		    teardown),
		cmocka_unit_test_teardown(test_update_limit, teardown),
		cmocka_unit_test_teardown(test_targets, teardown),
		cmocka_unit_test_teardown(test_response_mode, teardown),
		cmocka_unit_test_teardown(test_session_aware_mode, teardown),
		cmocka_unit_test_teardown(test_requester_mode, teardown),
		cmocka_unit_test_teardown(test_event_outlives_list, teardown),
		cmocka_unit_test_teardown(test_bad_payload, teardown),
	};

	log_init(1, LOGLEVEL_QUIET);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
