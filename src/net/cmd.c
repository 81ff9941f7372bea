#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "portacoded.h"
#include "cmd.h"
#include "route.h"

#define CMD_MAX_FIELD	256	/* ids, channel names, project ids */

/* Fields any command may carry; "cmd" itself is checked by the caller. */
const struct arg_spec cmd_common_args[] = {
	{ "request_id",	ARG_ID,	    ARG_NULLABLE, 0, CMD_MAX_FIELD },
	{ "source_client_session",
			ARG_STRING, ARG_NULLABLE, 0, CMD_MAX_FIELD },
	{ "reply_channel", ARG_STRING, ARG_NULLABLE, 0, CMD_MAX_FIELD },
	{ "project_id",	ARG_STRING, ARG_NULLABLE, 0, CMD_MAX_FIELD },
	{ "trace",	ARG_OBJECT, ARG_NULLABLE, 0, 0 },
	{ NULL,		0,	    0,		  0, 0 }
};

static const struct arg_spec no_args[] = {
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec terminal_start_args[] = {
	{ "shell",	ARG_STRING, ARG_NULLABLE, 1, 4096 },
	{ "cwd",	ARG_STRING, ARG_NULLABLE, 1, 4096 },
	{ "rows",	ARG_INT,    ARG_NULLABLE, 1, 1000 },
	{ "cols",	ARG_INT,    ARG_NULLABLE, 1, 1000 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec terminal_id_args[] = {
	{ "terminal_id", ARG_STRING, ARG_REQUIRED, 1, 64 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec terminal_send_args[] = {
	{ "terminal_id", ARG_STRING, ARG_REQUIRED, 1, 64 },
	{ "data",	ARG_STRING, ARG_REQUIRED, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec terminal_resize_args[] = {
	{ "terminal_id", ARG_STRING, ARG_REQUIRED, 1, 64 },
	{ "rows",	ARG_INT,    ARG_REQUIRED, 1, 1000 },
	{ "cols",	ARG_INT,    ARG_REQUIRED, 1, 1000 },
	{ NULL, 0, 0, 0, 0 }
};

/*
 * File commands: types and sizes are checked here; a missing argument
 * is left to fs, which words the error as upstream does. Numbers that
 * upstream clamps are taken at any value and clamped there.
 */
#define PATH_MAX_LEN	4096

static const struct arg_spec file_read_args[] = {
	{ "path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "start_line",	ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "end_line",	ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "max_lines",	ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "encoding",	ARG_STRING, ARG_NULLABLE, 0, 64 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_write_args[] = {
	{ "path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "content",	ARG_STRING, ARG_NULLABLE, 0, 0 },
	{ "expected_mtime", ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec directory_list_args[] = {
	{ "path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "show_hidden", ARG_BOOL,  ARG_NULLABLE, 0, 0 },
	{ "offset",	ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "limit",	ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec path_args[] = {
	{ "path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_delete_args[] = {
	{ "path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "recursive",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_create_args[] = {
	{ "parent_path", ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "file_name",	ARG_STRING, ARG_NULLABLE, 0, 255 },
	{ "content",	ARG_STRING, ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec folder_create_args[] = {
	{ "parent_path", ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "folder_name", ARG_STRING, ARG_NULLABLE, 0, 255 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_rename_args[] = {
	{ "old_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "new_name",	ARG_STRING, ARG_NULLABLE, 0, 255 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_search_args[] = {
	{ "root_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "query",	ARG_STRING, ARG_NULLABLE, 0, 4096 },
	{ "match_case",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ "regex",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ "whole_word",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ "include_hidden", ARG_BOOL, ARG_NULLABLE, 0, 0 },
	{ "include_patterns", ARG_STRINGS, ARG_NULLABLE, 0, 256 },
	{ "exclude_patterns", ARG_STRINGS, ARG_NULLABLE, 0, 256 },
	{ "max_results", ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "max_matches_per_file", ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "max_file_size", ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ "max_line_length", ARG_NUMBER, ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec diff_args[] = {
	{ "diff",	ARG_STRING, ARG_NULLABLE, 0, 0 },
	{ "base_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ NULL, 0, 0, 0, 0 }
};

/* Project state and git (the git worker). */
static const struct arg_spec folder_args[] = {
	{ "folder_path", ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec file_open_args[] = {
	{ "file_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "set_active",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec tab_args[] = {
	{ "tab_id",	ARG_STRING, ARG_NULLABLE, 0, 256 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec diff_open_args[] = {
	{ "file_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "from_ref",	ARG_STRING, ARG_NULLABLE, 0, 64 },
	{ "to_ref",	ARG_STRING, ARG_NULLABLE, 0, 64 },
	{ "from_hash",	ARG_STRING, ARG_NULLABLE, 0, 256 },
	{ "to_hash",	ARG_STRING, ARG_NULLABLE, 0, 256 },
	{ "content_type", ARG_STRING, ARG_NULLABLE, 0, 64 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec git_paths_args[] = {
	{ "file_path",	ARG_STRING, ARG_NULLABLE, 0, PATH_MAX_LEN },
	{ "file_paths",	ARG_STRING_ARRAY, ARG_NULLABLE, 0, 0 },
	{ "stage_all",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ "unstage_all", ARG_BOOL,  ARG_NULLABLE, 0, 0 },
	{ "revert_all",	ARG_BOOL,   ARG_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec git_commit_args[] = {
	{ "commit_message", ARG_STRING, ARG_NULLABLE, 0, 64 * 1024 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec content_request_args[] = {
	{ "content_hash", ARG_STRING, ARG_NULLABLE, 0, 256 },
	{ NULL, 0, 0, 0, 0 }
};

/* net's own: the validated session list, for the git worker. */
static const struct arg_spec internal_sessions_args[] = {
	{ "sessions", ARG_ARRAY, ARG_REQUIRED, 0, ROUTE_MAX_SESSIONS },
	{ NULL, 0, 0, 0, 0 }
};

static const struct arg_spec client_sessions_update_args[] = {
	{ "sessions", ARG_ARRAY, ARG_REQUIRED, 0, ROUTE_MAX_SESSIONS },
	{ NULL, 0, 0, 0, 0 }
};

/*
 * The command table, sorted by name (strcmp order): cmd_lookup() is a
 * binary search. A command is one line here plus its spec array above:
 *
 *	static const struct arg_spec file_read_args[] = {
 *		{ "path",	ARG_STRING, ARG_REQUIRED, 1, 4096 },
 *		{ "start_line",	ARG_INT,    ARG_NULLABLE, 1, INT32_MAX },
 *		{ "end_line",	ARG_INT,    ARG_NULLABLE, 1, INT32_MAX },
 *		{ NULL, 0, 0, 0, 0 }
 *	};
 *	...
 *	{ "file_read",		ROLE_FS,  file_read_args },
 *
 * Spec fields: min/max bound the value of an ARG_INT/ARG_NUMBER and the
 * length of strings and arrays; max 0 means the type's default
 * (CMD_MAX_STRING, CMD_MAX_ARRAY, INT64_MAX), and min == max == 0 on a
 * number means any value. test_cmd.c lists every name: extend it too.
 */
static const struct cmd_entry cmds[] = {
	{ "_client_sessions",	ROLE_GIT, internal_sessions_args },
	{ "client_sessions_update", ROLE_NET, client_sessions_update_args },
	{ "content_request",	ROLE_GIT, content_request_args },
	{ "directory_list",	ROLE_FS,  directory_list_args },
	{ "file_apply_diff",	ROLE_FS,  diff_args },
	{ "file_create",	ROLE_FS,  file_create_args },
	{ "file_delete",	ROLE_FS,  file_delete_args },
	{ "file_info",		ROLE_FS,  path_args },
	{ "file_preview_diff",	ROLE_FS,  diff_args },
	{ "file_read",		ROLE_FS,  file_read_args },
	{ "file_rename",	ROLE_FS,  file_rename_args },
	{ "file_search",	ROLE_FS,  file_search_args },
	{ "file_write",		ROLE_FS,  file_write_args },
	{ "folder_create",	ROLE_FS,  folder_create_args },
	{ "project_state_diff_content_request", ROLE_GIT, diff_open_args },
	{ "project_state_diff_open", ROLE_GIT, diff_open_args },
	{ "project_state_file_open", ROLE_GIT, file_open_args },
	{ "project_state_folder_collapse", ROLE_GIT, folder_args },
	{ "project_state_folder_expand", ROLE_GIT, folder_args },
	{ "project_state_git_commit", ROLE_GIT, git_commit_args },
	{ "project_state_git_revert", ROLE_GIT, git_paths_args },
	{ "project_state_git_stage", ROLE_GIT, git_paths_args },
	{ "project_state_git_unstage", ROLE_GIT, git_paths_args },
	{ "project_state_set_active_tab", ROLE_GIT, tab_args },
	{ "project_state_tab_close", ROLE_GIT, tab_args },
	{ "system_info",		ROLE_FS,  no_args },
	{ "terminal_list",		ROLE_TERM, no_args },
	{ "terminal_resize",		ROLE_TERM, terminal_resize_args },
	{ "terminal_send",		ROLE_TERM, terminal_send_args },
	{ "terminal_start",		ROLE_TERM, terminal_start_args },
	{ "terminal_stop",		ROLE_TERM, terminal_id_args },
};

static int
cmd_compare(const void *key, const void *entry)
{
	return strcmp(key, ((const struct cmd_entry *)entry)->name);
}

const struct cmd_entry *
cmd_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	return bsearch(name, cmds, sizeof(cmds) / sizeof(cmds[0]),
	    sizeof(cmds[0]), cmd_compare);
}

static void
int_bounds(const struct arg_spec *a, int64_t *lo, int64_t *hi)
{
	if (a->min == 0 && a->max == 0) {
		*lo = INT64_MIN;
		*hi = INT64_MAX;
		return;
	}
	*lo = a->min;
	*hi = a->max == 0 ? INT64_MAX : a->max;
}

static int
range_error(const struct arg_spec *a, char *err, size_t errlen)
{
	int64_t	lo, hi;

	int_bounds(a, &lo, &hi);
	snprintf(err, errlen, "%s must be between %" PRId64 " and %" PRId64,
	    a->name, lo, hi);
	return -1;
}

/*
 * json-c stores integers above INT64_MAX as uint64 (and clamps the ones
 * beyond that); none of them fit our int64 fields.
 */
static int
int_fits(struct json_object *v, int64_t *out)
{
	*out = json_object_get_int64(v);
	if (*out == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
		return 0;
	return 1;
}

static int
check_int(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	int64_t	n, lo, hi;

	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s must be an integer", a->name);
		return -1;
	}
	int_bounds(a, &lo, &hi);
	if (!int_fits(v, &n) || n < lo || n > hi)
		return range_error(a, err, errlen);
	return 0;
}

static int
check_number(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	double	d;
	int64_t	n, lo, hi;

	if (json_object_is_type(v, json_type_int)) {
		int_bounds(a, &lo, &hi);
		if (!int_fits(v, &n) || n < lo || n > hi)
			return range_error(a, err, errlen);
		return 0;
	}
	if (!json_object_is_type(v, json_type_double) ||
	    !isfinite(d = json_object_get_double(v))) {
		snprintf(err, errlen, "%s must be a number", a->name);
		return -1;
	}
	if (a->min == 0 && a->max == 0)
		return 0;
	int_bounds(a, &lo, &hi);
	if (d < (double)lo || d > (double)hi)
		return range_error(a, err, errlen);
	return 0;
}

static int
check_length(const struct arg_spec *a, size_t len, size_t defmax,
    int bytes, char *err, size_t errlen)
{
	uint64_t	max = a->max > 0 ? (uint64_t)a->max : defmax;
	uint64_t	min = a->min > 0 ? (uint64_t)a->min : 0;

	if (len > max) {
		if (bytes)
			snprintf(err, errlen, "%s is too long (max %" PRIu64
			    " bytes)", a->name, max);
		else
			snprintf(err, errlen, "%s has too many elements "
			    "(max %" PRIu64 ")", a->name, max);
		return -1;
	}
	if (len >= min)
		return 0;
	if (min == 1)
		snprintf(err, errlen, "%s must not be empty", a->name);
	else if (bytes)
		snprintf(err, errlen, "%s is too short (min %" PRIu64
		    " bytes)", a->name, min);
	else
		snprintf(err, errlen, "%s has too few elements (min %" PRIu64
		    ")", a->name, min);
	return -1;
}

static int
check_string(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s must be a string", a->name);
		return -1;
	}
	return check_length(a, json_object_get_string_len(v), CMD_MAX_STRING,
	    1, err, errlen);
}

static int
check_array(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	size_t	i, n;

	if (!json_object_is_type(v, json_type_array)) {
		snprintf(err, errlen, "%s must be %s", a->name,
		    a->type == ARG_STRING_ARRAY ? "an array of strings" :
		    a->type == ARG_STRINGS ? "a string or an array of strings" :
		    "an array");
		return -1;
	}
	n = json_object_array_length(v);
	if (check_length(a, n, CMD_MAX_ARRAY, 0, err, errlen) == -1)
		return -1;
	if (a->type != ARG_STRING_ARRAY && a->type != ARG_STRINGS)
		return 0;
	for (i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(v, i),
		    json_type_string)) {
			snprintf(err, errlen, "%s must be %s", a->name,
			    a->type == ARG_STRINGS ?
			    "a string or an array of strings" :
			    "an array of strings");
			return -1;
		}
	}
	return 0;
}

static int
check_id(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	int64_t	n;

	if (json_object_is_type(v, json_type_string))
		return check_length(a, json_object_get_string_len(v),
		    CMD_MAX_STRING, 1, err, errlen);
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s must be a string or an integer",
		    a->name);
		return -1;
	}
	if (!int_fits(v, &n)) {
		snprintf(err, errlen, "%s must be between %" PRId64 " and %"
		    PRId64, a->name, INT64_MIN, INT64_MAX);
		return -1;
	}
	return 0;
}

static int
check_type(const struct arg_spec *a, struct json_object *v,
    enum json_type want, const char *what, char *err, size_t errlen)
{
	if (json_object_is_type(v, want))
		return 0;
	snprintf(err, errlen, "%s must be %s", a->name, what);
	return -1;
}

static int
arg_check(const struct arg_spec *a, struct json_object *v, char *err,
    size_t errlen)
{
	switch (a->type) {
	case ARG_STRING:
		return check_string(a, v, err, errlen);
	case ARG_INT:
		return check_int(a, v, err, errlen);
	case ARG_NUMBER:
		return check_number(a, v, err, errlen);
	case ARG_BOOL:
		return check_type(a, v, json_type_boolean, "a boolean", err,
		    errlen);
	case ARG_OBJECT:
		return check_type(a, v, json_type_object, "an object", err,
		    errlen);
	case ARG_ARRAY:
	case ARG_STRING_ARRAY:
		return check_array(a, v, err, errlen);
	case ARG_ID:
		return check_id(a, v, err, errlen);
	case ARG_STRINGS:
		if (json_object_is_type(v, json_type_string))
			return check_string(a, v, err, errlen);
		return check_array(a, v, err, errlen);
	}
	snprintf(err, errlen, "%s has an unknown type in the spec", a->name);
	return -1;
}

int
args_validate(const struct arg_spec *spec, struct json_object *obj,
    char *err, size_t errlen)
{
	const struct arg_spec	*a;
	struct json_object	*v;
	int			 present;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "message must be an object");
		return -1;
	}
	for (a = spec; a != NULL && a->name != NULL; a++) {
		present = json_object_object_get_ex(obj, a->name, &v);
		if (present && v == NULL && (a->flags & ARG_NULLABLE))
			present = 0;
		if (!present) {
			if (a->flags & ARG_REQUIRED) {
				snprintf(err, errlen, "%s is required",
				    a->name);
				return -1;
			}
			continue;
		}
		if (arg_check(a, v, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
cmd_validate(const struct cmd_entry *ce, struct json_object *obj,
    char *err, size_t errlen)
{
	if (args_validate(cmd_common_args, obj, err, errlen) == -1)
		return -1;
	return args_validate(ce->args, obj, err, errlen);
}
