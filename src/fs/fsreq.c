/*
 * fsreq: argument access and error texts for the fs commands.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "xmalloc.h"
#include "json.h"
#include "worker.h"
#include "fs/fspath.h"
#include "fs/fsreq.h"

int
fsreq_str(struct worker_req *req, const char *key, const char **out,
    size_t *lenp)
{
	struct json_object	*v;
	const char		*s;
	size_t			 len;

	*out = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (!json_object_object_get_ex(req->cmd, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		worker_error(req->id, "%s must be a string", key);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* Only content may hold NUL bytes; callers that allow it pass lenp. */
	if (lenp == NULL && strlen(s) != len) {
		worker_error(req->id, "%s must not contain a NUL byte", key);
		return -1;
	}
	*out = s;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int
fsreq_need(struct worker_req *req, const char *key, const char **out)
{
	if (fsreq_str(req, key, out, NULL) == -1)
		return -1;
	if (*out == NULL || **out == '\0') {
		worker_error(req->id, "%s parameter is required", key);
		return -1;
	}
	return 0;
}

int
fsreq_bool(struct worker_req *req, const char *key, int def)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(req->cmd, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return def;
	return json_object_get_boolean(v);
}

int
fsreq_int(struct worker_req *req, const char *key, int64_t *out)
{
	struct json_object	*v;
	double			 d;

	if (!json_object_object_get_ex(req->cmd, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 1;
	}
	if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!(d > -9e18 && d < 9e18))
			return 0;
		*out = (int64_t)d;
		return 1;
	}
	return 0;
}

void
fsreq_oserror(struct worker_req *req, int err, const char *path,
    const char *notfound, const char *prefix)
{
	if (fspath_denied(err)) {
		worker_error(req->id, "Access denied: %s is outside "
		    "AllowedRoots", path);
		return;
	}
	if (err == EACCES || err == EPERM) {
		worker_error(req->id, "Permission denied: %s", path);
		return;
	}
	if (err == ENOENT && notfound != NULL) {
		/* The format is one of ours, never from the network. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		worker_error(req->id, notfound, path);
#pragma GCC diagnostic pop
		return;
	}
	worker_error(req->id, "%s[Errno %d] %s: '%s'", prefix ? prefix : "",
	    err, strerror(err), path);
}

void
fsreq_float(double d, char *buf, size_t len)
{
	size_t	 n;
	int	 prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	n = strlen(buf);
	if (strpbrk(buf, ".eEni") == NULL && n + 3 <= len)
		memcpy(buf + n, ".0", 3);
}

double
fsreq_time(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

char *
fsreq_join(const char *a, const char *b)
{
	char	*s;
	size_t	 n = strlen(a);

	if (n == 0)
		return xstrdup(b);
	xasprintf(&s, "%s%s%s", a, a[n - 1] == '/' ? "" : "/", b);
	return s;
}
