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
#include "net/cmd.h"
#include "net/route.h"

/* Every command in the table; keep in step with cmd.c. */
static const struct {
	const char	*name;
	enum role	 role;
} known[] = {
	{ "_client_sessions",		ROLE_GIT },
	{ "client_sessions_update",	ROLE_NET },
	{ "content_request",		ROLE_GIT },
	{ "directory_list",		ROLE_FS },
	{ "file_apply_diff",		ROLE_FS },
	{ "file_create",		ROLE_FS },
	{ "file_delete",		ROLE_FS },
	{ "file_info",			ROLE_FS },
	{ "file_preview_diff",		ROLE_FS },
	{ "file_read",			ROLE_FS },
	{ "file_rename",		ROLE_FS },
	{ "file_search",		ROLE_FS },
	{ "file_write",			ROLE_FS },
	{ "folder_create",		ROLE_FS },
	{ "project_state_diff_content_request", ROLE_GIT },
	{ "project_state_diff_open",	ROLE_GIT },
	{ "project_state_file_open",	ROLE_GIT },
	{ "project_state_folder_collapse", ROLE_GIT },
	{ "project_state_folder_expand", ROLE_GIT },
	{ "project_state_git_commit",	ROLE_GIT },
	{ "project_state_git_revert",	ROLE_GIT },
	{ "project_state_git_stage",	ROLE_GIT },
	{ "project_state_git_unstage",	ROLE_GIT },
	{ "project_state_set_active_tab", ROLE_GIT },
	{ "project_state_tab_close",	ROLE_GIT },
	{ "system_info",		ROLE_FS },
	{ "terminal_list",		ROLE_TERM },
	{ "terminal_resize",		ROLE_TERM },
	{ "terminal_send",		ROLE_TERM },
	{ "terminal_start",		ROLE_TERM },
	{ "terminal_stop",		ROLE_TERM },
};

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

/*
 * Run the validator on text; want NULL means it must pass, otherwise it
 * must fail with exactly that message.
 */
static void
check_obj(const struct arg_spec *spec, const struct cmd_entry *ce,
    struct json_object *o, const char *label, const char *want)
{
	char	err[512];
	int	r;

	memset(err, 'X', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	if (ce != NULL)
		r = cmd_validate(ce, o, err, sizeof(err));
	else
		r = args_validate(spec, o, err, sizeof(err));
	if (want == NULL && r != 0)
		fail_msg("%s: rejected with \"%s\"", label, err);
	if (want != NULL && r != -1)
		fail_msg("%s: accepted, wanted \"%s\"", label, want);
	if (want != NULL && strcmp(err, want) != 0)
		fail_msg("%s: got \"%s\", wanted \"%s\"", label, err, want);
}

static void
check(const struct arg_spec *spec, const char *text, const char *want)
{
	struct json_object	*o = obj(text);

	check_obj(spec, NULL, o, text, want);
	json_object_put(o);
}

static void
check_cmd(const char *name, const char *text, const char *want)
{
	const struct cmd_entry	*ce;
	struct json_object	*o = obj(text);

	assert_non_null(ce = cmd_lookup(name));
	check_obj(NULL, ce, o, text, want);
	json_object_put(o);
}

static void
test_lookup(void **state)
{
	const struct cmd_entry	*ce;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		ce = cmd_lookup(known[i].name);
		if (ce == NULL)
			fail_msg("%s not found (table out of order?)",
			    known[i].name);
		assert_string_equal(ce->name, known[i].name);
		assert_int_equal(ce->role, known[i].role);
		assert_non_null(ce->args);
	}
	assert_null(cmd_lookup(NULL));
	assert_null(cmd_lookup(""));
	assert_null(cmd_lookup("System_info"));
	assert_null(cmd_lookup("system_info "));
	assert_null(cmd_lookup("system_inf"));
	assert_null(cmd_lookup("a"));
	assert_null(cmd_lookup("zzz"));
}

static const struct arg_spec str_spec[] = {
	{ "s",	ARG_STRING, 0, 0, 0 },
	{ "s1",	ARG_STRING, 0, 1, 8 },
	{ "s3",	ARG_STRING, 0, 3, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_string(void **state)
{
	(void)state;
	check(str_spec, "{}", NULL);
	check(str_spec, "{\"s\":\"\",\"s1\":\"x\",\"s3\":\"abc\"}", NULL);
	check(str_spec, "{\"s1\":\"12345678\"}", NULL);
	check(str_spec, "{\"s\":1}", "s must be a string");
	check(str_spec, "{\"s\":1.5}", "s must be a string");
	check(str_spec, "{\"s\":true}", "s must be a string");
	check(str_spec, "{\"s\":null}", "s must be a string");
	check(str_spec, "{\"s\":[]}", "s must be a string");
	check(str_spec, "{\"s\":{}}", "s must be a string");
	check(str_spec, "{\"s1\":\"\"}", "s1 must not be empty");
	check(str_spec, "{\"s1\":\"123456789\"}",
	    "s1 is too long (max 8 bytes)");
	/* Bytes, not characters. */
	check(str_spec, "{\"s1\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
	    "s1 is too long (max 8 bytes)");
	check(str_spec, "{\"s3\":\"ab\"}", "s3 is too short (min 3 bytes)");
}

static void
test_string_default_max(void **state)
{
	struct json_object	*o;
	char			*big;

	(void)state;
	big = malloc(CMD_MAX_STRING + 1);
	assert_non_null(big);
	memset(big, 'a', CMD_MAX_STRING + 1);
	o = json_object_new_object();
	json_object_object_add(o, "s",
	    json_object_new_string_len(big, CMD_MAX_STRING));
	check_obj(str_spec, NULL, o, "max string", NULL);
	json_object_object_add(o, "s",
	    json_object_new_string_len(big, CMD_MAX_STRING + 1));
	check_obj(str_spec, NULL, o, "max string + 1",
	    "s is too long (max 8388608 bytes)");
	json_object_put(o);
	free(big);
}

static const struct arg_spec int_spec[] = {
	{ "i",		ARG_INT, 0, -5, 10 },
	{ "iany",	ARG_INT, 0, 0, 0 },
	{ "ipos",	ARG_INT, 0, 1, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_int(void **state)
{
	(void)state;
	check(int_spec, "{\"i\":-5}", NULL);
	check(int_spec, "{\"i\":10}", NULL);
	check(int_spec, "{\"i\":0}", NULL);
	check(int_spec, "{\"i\":-6}", "i must be between -5 and 10");
	check(int_spec, "{\"i\":11}", "i must be between -5 and 10");
	check(int_spec, "{\"i\":1.0}", "i must be an integer");
	check(int_spec, "{\"i\":1e2}", "i must be an integer");
	check(int_spec, "{\"i\":\"1\"}", "i must be an integer");
	check(int_spec, "{\"i\":true}", "i must be an integer");
	check(int_spec, "{\"i\":null}", "i must be an integer");
	check(int_spec, "{\"iany\":-9223372036854775808}", NULL);
	check(int_spec, "{\"iany\":9223372036854775807}", NULL);
	check(int_spec, "{\"iany\":9223372036854775808}",
	    "iany must be between -9223372036854775808 and "
	    "9223372036854775807");
	check(int_spec, "{\"iany\":18446744073709551615}",
	    "iany must be between -9223372036854775808 and "
	    "9223372036854775807");
	check(int_spec, "{\"ipos\":1}", NULL);
	check(int_spec, "{\"ipos\":9223372036854775807}", NULL);
	check(int_spec, "{\"ipos\":0}",
	    "ipos must be between 1 and 9223372036854775807");
}

static const struct arg_spec num_spec[] = {
	{ "n",		ARG_NUMBER, 0, -1, 100 },
	{ "nany",	ARG_NUMBER, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_number(void **state)
{
	(void)state;
	check(num_spec, "{\"n\":0.5,\"nany\":-1e300}", NULL);
	check(num_spec, "{\"n\":100,\"nany\":12}", NULL);
	check(num_spec, "{\"n\":-1.0}", NULL);
	check(num_spec, "{\"n\":100.5}", "n must be between -1 and 100");
	check(num_spec, "{\"n\":-2}", "n must be between -1 and 100");
	check(num_spec, "{\"n\":\"1\"}", "n must be a number");
	check(num_spec, "{\"n\":false}", "n must be a number");
	check(num_spec, "{\"nany\":NaN}", "nany must be a number");
	check(num_spec, "{\"nany\":Infinity}", "nany must be a number");
	check(num_spec, "{\"nany\":1e400}", "nany must be a number");
}

static const struct arg_spec misc_spec[] = {
	{ "b",	ARG_BOOL,	  0, 0, 0 },
	{ "o",	ARG_OBJECT,	  0, 0, 0 },
	{ "a",	ARG_ARRAY,	  0, 0, 3 },
	{ "a1",	ARG_ARRAY,	  0, 1, 0 },
	{ "a2",	ARG_ARRAY,	  0, 2, 0 },
	{ "sa",	ARG_STRING_ARRAY, 0, 0, 2 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_bool_object_array(void **state)
{
	(void)state;
	check(misc_spec, "{\"b\":true,\"o\":{\"x\":1},\"a\":[1,\"2\",null],"
	    "\"a1\":[[]],\"sa\":[\"x\",\"\"]}", NULL);
	check(misc_spec, "{\"b\":false,\"o\":{},\"a\":[],\"sa\":[]}", NULL);
	check(misc_spec, "{\"b\":1}", "b must be a boolean");
	check(misc_spec, "{\"b\":0}", "b must be a boolean");
	check(misc_spec, "{\"b\":\"true\"}", "b must be a boolean");
	check(misc_spec, "{\"o\":[]}", "o must be an object");
	check(misc_spec, "{\"o\":\"{}\"}", "o must be an object");
	check(misc_spec, "{\"a\":{}}", "a must be an array");
	check(misc_spec, "{\"a\":\"abc\"}", "a must be an array");
	check(misc_spec, "{\"a\":[1,2,3,4]}", "a has too many elements (max 3)");
	check(misc_spec, "{\"a1\":[]}", "a1 must not be empty");
	check(misc_spec, "{\"a2\":[1]}", "a2 has too few elements (min 2)");
	check(misc_spec, "{\"sa\":[\"x\",1]}", "sa must be an array of strings");
	check(misc_spec, "{\"sa\":[null]}", "sa must be an array of strings");
	check(misc_spec, "{\"sa\":\"x\"}", "sa must be an array of strings");
	check(misc_spec, "{\"sa\":[\"a\",\"b\",\"c\"]}",
	    "sa has too many elements (max 2)");
}

static void
test_array_default_max(void **state)
{
	struct json_object	*o, *arr;
	int			 i;

	(void)state;
	o = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < CMD_MAX_ARRAY; i++)
		json_object_array_add(arr, json_object_new_int(i));
	json_object_object_add(o, "a1", arr);
	check_obj(misc_spec, NULL, o, "max array", NULL);
	json_object_array_add(arr, json_object_new_int(i));
	check_obj(misc_spec, NULL, o, "max array + 1",
	    "a1 has too many elements (max 10000)");
	json_object_put(o);
}

static const struct arg_spec id_spec[] = {
	{ "id",	ARG_ID, 0, 0, 4 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_id(void **state)
{
	(void)state;
	check(id_spec, "{\"id\":\"abcd\"}", NULL);
	check(id_spec, "{\"id\":\"\"}", NULL);
	check(id_spec, "{\"id\":0}", NULL);
	check(id_spec, "{\"id\":-9223372036854775808}", NULL);
	check(id_spec, "{\"id\":9223372036854775807}", NULL);
	check(id_spec, "{\"id\":\"abcde\"}", "id is too long (max 4 bytes)");
	check(id_spec, "{\"id\":1.5}", "id must be a string or an integer");
	check(id_spec, "{\"id\":2.0}", "id must be a string or an integer");
	check(id_spec, "{\"id\":true}", "id must be a string or an integer");
	check(id_spec, "{\"id\":[]}", "id must be a string or an integer");
	check(id_spec, "{\"id\":{}}", "id must be a string or an integer");
	check(id_spec, "{\"id\":null}", "id must be a string or an integer");
	check(id_spec, "{\"id\":9223372036854775808}",
	    "id must be between -9223372036854775808 and "
	    "9223372036854775807");
}

static const struct arg_spec flag_spec[] = {
	{ "req",	ARG_STRING, ARG_REQUIRED, 0, 0 },
	{ "reqnull",	ARG_INT,    ARG_REQUIRED | ARG_NULLABLE, 0, 0 },
	{ "opt",	ARG_OBJECT, ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static void
test_required_nullable(void **state)
{
	(void)state;
	check(flag_spec, "{\"req\":\"\",\"reqnull\":1}", NULL);
	check(flag_spec, "{\"req\":\"\",\"reqnull\":1,\"opt\":null}", NULL);
	check(flag_spec, "{\"req\":\"\",\"reqnull\":1,\"opt\":{}}", NULL);
	check(flag_spec, "{\"reqnull\":1}", "req is required");
	/* Not nullable: a null is the wrong type, not a missing field. */
	check(flag_spec, "{\"req\":null,\"reqnull\":1}", "req must be a string");
	check(flag_spec, "{\"req\":\"x\"}", "reqnull is required");
	check(flag_spec, "{\"req\":\"x\",\"reqnull\":null}",
	    "reqnull is required");
	check(flag_spec, "{\"req\":\"\",\"reqnull\":1,\"opt\":5}",
	    "opt must be an object");
	/* Fields not in the spec are none of the validator's business. */
	check(flag_spec, "{\"req\":\"\",\"reqnull\":1,\"other\":[1,{}]}", NULL);
}

static void
test_not_object(void **state)
{
	struct json_object	*o;

	(void)state;
	o = obj("[1]");
	check_obj(flag_spec, NULL, o, "array", "message must be an object");
	json_object_put(o);
	check_obj(flag_spec, NULL, NULL, "null", "message must be an object");
	o = obj("\"system_info\"");
	check_obj(NULL, cmd_lookup("system_info"), o, "string",
	    "message must be an object");
	json_object_put(o);
}

/* A small error buffer truncates, never overruns. */
static void
test_small_errbuf(void **state)
{
	struct json_object	*o;
	char			 err[8];

	(void)state;
	o = obj("{}");
	assert_int_equal(args_validate(flag_spec, o, err, sizeof(err)), -1);
	assert_string_equal(err, "req is ");
	json_object_put(o);
}

static void
test_common_args(void **state)
{
	char	buf[600], id[300];

	(void)state;
	check_cmd("system_info", "{\"cmd\":\"system_info\"}", NULL);
	check_cmd("terminal_start", "{\"rows\":40,\"cols\":100}", NULL);
	check_cmd("terminal_start", "{\"rows\":0}",
	    "rows must be between 1 and 1000");
	check_cmd("terminal_start", "{\"cols\":\"80\"}",
	    "cols must be an integer");
	check_cmd("terminal_send", "{\"terminal_id\":\"ab\",\"data\":5}",
	    "data must be a string");
	check_cmd("terminal_send", "{\"data\":\"x\"}",
	    "terminal_id is required");
	check_cmd("terminal_resize", "{\"terminal_id\":\"ab\",\"rows\":24}",
	    "cols is required");
	check_cmd("terminal_stop", "{\"terminal_id\":\"\"}",
	    "terminal_id must not be empty");
	check_cmd("system_info", "{\"cmd\":\"system_info\",\"request_id\":\"r1\","
	    "\"source_client_session\":\"specific..inmemory!abc\","
	    "\"reply_channel\":\"x\",\"project_id\":\"p\","
	    "\"trace\":{\"client_send\":1},\"device_id\":7}", NULL);
	check_cmd("system_info", "{\"request_id\":42,\"reply_channel\":null,"
	    "\"project_id\":null,\"trace\":null,\"source_client_session\":null}",
	    NULL);
	check_cmd("system_info", "{\"request_id\":null}", NULL);
	check_cmd("system_info", "{\"request_id\":1.5}",
	    "request_id must be a string or an integer");
	check_cmd("system_info", "{\"request_id\":false}",
	    "request_id must be a string or an integer");
	check_cmd("system_info", "{\"source_client_session\":5}",
	    "source_client_session must be a string");
	check_cmd("system_info", "{\"reply_channel\":[]}",
	    "reply_channel must be a string");
	check_cmd("system_info", "{\"project_id\":1}",
	    "project_id must be a string");
	check_cmd("system_info", "{\"trace\":\"t\"}", "trace must be an object");
	check_cmd("system_info", "{\"trace\":[]}", "trace must be an object");

	memset(id, 'r', 256);
	id[256] = '\0';
	snprintf(buf, sizeof(buf), "{\"request_id\":\"%s\"}", id);
	check_cmd("system_info", buf, NULL);
	id[256] = 'r';
	id[257] = '\0';
	snprintf(buf, sizeof(buf), "{\"request_id\":\"%s\"}", id);
	check_cmd("system_info", buf, "request_id is too long (max 256 bytes)");
	snprintf(buf, sizeof(buf), "{\"source_client_session\":\"%s\"}", id);
	check_cmd("system_info", buf,
	    "source_client_session is too long (max 256 bytes)");
	snprintf(buf, sizeof(buf), "{\"reply_channel\":\"%s\"}", id);
	check_cmd("system_info", buf,
	    "reply_channel is too long (max 256 bytes)");
	snprintf(buf, sizeof(buf), "{\"project_id\":\"%s\"}", id);
	check_cmd("system_info", buf, "project_id is too long (max 256 bytes)");
}

static void
test_file_commands(void **state)
{
	(void)state;
	/* Missing arguments are fs's to report, in upstream's words. */
	check_cmd("file_read", "{\"cmd\":\"file_read\"}", NULL);
	check_cmd("file_read", "{\"path\":1}", "path must be a string");
	check_cmd("file_read", "{\"path\":\"/x\",\"start_line\":-5,"
	    "\"max_lines\":1e9}", NULL);
	check_cmd("file_read", "{\"path\":\"/x\",\"start_line\":\"2\"}",
	    "start_line must be a number");
	check_cmd("file_write", "{\"path\":\"/x\",\"content\":null,"
	    "\"expected_mtime\":1.5}", NULL);
	check_cmd("file_write", "{\"path\":\"/x\",\"expected_mtime\":\"1\"}",
	    "expected_mtime must be a number");
	check_cmd("directory_list", "{\"show_hidden\":\"yes\"}",
	    "show_hidden must be a boolean");
	check_cmd("file_create", "{\"file_name\":[]}",
	    "file_name must be a string");
	check_cmd("file_search", "{\"include_patterns\":\"*.c\","
	    "\"exclude_patterns\":[\"a\",\"b\"]}", NULL);
	check_cmd("file_search", "{\"include_patterns\":{}}",
	    "include_patterns must be a string or an array of strings");
	check_cmd("file_search", "{\"exclude_patterns\":[\"a\",2]}",
	    "exclude_patterns must be a string or an array of strings");
	check_cmd("file_search", "{\"max_results\":true}",
	    "max_results must be a number");
	check_cmd("file_apply_diff", "{\"diff\":5}", "diff must be a string");
}

static void
test_client_sessions_update(void **state)
{
	struct json_object	*o, *arr;
	int			 i;

	(void)state;
	check_cmd("client_sessions_update", "{\"sessions\":[]}", NULL);
	check_cmd("client_sessions_update",
	    "{\"sessions\":[{\"channel_name\":\"a\"}]}", NULL);
	check_cmd("client_sessions_update", "{}", "sessions is required");
	check_cmd("client_sessions_update", "{\"sessions\":null}",
	    "sessions must be an array");
	check_cmd("client_sessions_update", "{\"sessions\":{}}",
	    "sessions must be an array");
	/* Common fields are checked first. */
	check_cmd("client_sessions_update", "{\"request_id\":[]}",
	    "request_id must be a string or an integer");

	o = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < ROUTE_MAX_SESSIONS; i++)
		json_object_array_add(arr, json_object_new_object());
	json_object_object_add(o, "sessions", arr);
	check_obj(NULL, cmd_lookup("client_sessions_update"), o, "1024", NULL);
	json_object_array_add(arr, json_object_new_object());
	check_obj(NULL, cmd_lookup("client_sessions_update"), o, "1025",
	    "sessions has too many elements (max 1024)");
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_string_default_max),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_bool_object_array),
		cmocka_unit_test(test_array_default_max),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_required_nullable),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_small_errbuf),
		cmocka_unit_test(test_common_args),
		cmocka_unit_test(test_file_commands),
		cmocka_unit_test(test_client_sessions_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
