/*
 * content: content_request. Upstream answers a miss only when the request
 * has no request_id (with one it fails on an unbound variable); ours
 * always answers content_response success:false. net echoes request_id.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <json-c/json.h>

#include "portacoded.h"
#include "json.h"
#include "worker.h"
#include "git/content.h"
#include "git/store.h"

void
cmd_content_request(struct worker_req *req)
{
	struct json_object	*ev, *arg = json_get(req->cmd, "content_hash");
	const char		*key, *text;
	size_t			 len;

	/* Upstream tests truthiness: an empty string is missing too. */
	if (arg == NULL || !json_object_is_type(arg, json_type_string) ||
	    json_object_get_string_len(arg) == 0) {
		worker_error(req->id, "content_hash parameter is required");
		return;
	}
	key = json_object_get_string(arg);
	/* A key with a NUL inside ("\u0000") names nothing. */
	if (strlen(key) != (size_t)json_object_get_string_len(arg))
		key = NULL;
	ev = json_event_new("content_response");
	json_object_object_add(ev, "content_hash", json_object_get(arg));
	if ((text = store_get(store_global(), key, &len)) == NULL) {
		json_object_object_add(ev, "content", NULL);
		json_set_bool(ev, "success", 0);
		json_set_str(ev, "error", "Content not found in cache");
		json_set_bool(ev, "chunked", 0);
	} else if (len > INT_MAX) {
		json_object_put(ev);
		worker_error(req->id, "content is too large to send");
		return;
	} else {
		json_set_bool(ev, "success", 1);
		json_object_object_add(ev, "content",
		    json_object_new_string_len(text, (int)len));
		/* net splits it when it is big (reference §4.10). */
		json_set_str(ev, "_chunk_field", "content");
	}
	worker_reply(req->id, ev);
}
