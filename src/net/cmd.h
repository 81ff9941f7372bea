/*
 * cmd: the command table. Each gateway command names the worker that runs it
 * and the spec its arguments are checked against before anything leaves net.
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "portacoded.h"

enum arg_type {
	ARG_STRING = 1,
	ARG_INT,
	ARG_NUMBER,
	ARG_BOOL,
	ARG_OBJECT,
	ARG_ARRAY,
	ARG_STRING_ARRAY,
	ARG_ID,			/* string or integer (request_id) */
	ARG_STRINGS,		/* a string or an array of strings */
};

#define ARG_REQUIRED	0x01
#define ARG_NULLABLE	0x02	/* JSON null accepted (treated as absent) */

struct arg_spec {
	const char	*name;
	enum arg_type	 type;
	int		 flags;
	int64_t		 min;	/* ints: value; strings/arrays: length */
	int64_t		 max;	/* 0 = type default */
};

struct cmd_entry {
	const char		*name;
	enum role		 role;	/* ROLE_NET: handled inside net */
	const struct arg_spec	*args;	/* terminated by name == NULL */
};

#define CMD_MAX_STRING	(8 * 1024 * 1024)	/* default string length cap */
#define CMD_MAX_ARRAY	10000

const struct cmd_entry	*cmd_lookup(const char *);
/* Fields every command may carry (request_id, source_client_session, …). */
extern const struct arg_spec cmd_common_args[];
/*
 * Check obj against the command's spec and the common fields.
 * 0 if fine; -1 with "field: reason" in err.
 */
int	cmd_validate(const struct cmd_entry *, struct json_object *,
	    char *err, size_t errlen);
int	args_validate(const struct arg_spec *, struct json_object *,
	    char *err, size_t errlen);

#endif
