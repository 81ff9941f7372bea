/*
 * Fuzz target: what net does with a gateway message before it leaves the
 * process: parse with limits, validate against the command table, and
 * feed client_sessions_update into the routing table.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "net/cmd.h"
#include "net/route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*frame, *payload, *ev;
	const struct cmd_entry	*e;
	const char		*name;
	char			 err[256];

	if ((frame = json_parse_text((const char *)data, size, NULL)) == NULL)
		return 0;
	payload = json_get(frame, "payload");
	if (payload != NULL && (name = json_get_str(payload, "cmd")) != NULL &&
	    (e = cmd_lookup(name)) != NULL &&
	    cmd_validate(e, payload, err, sizeof(err)) == 0 &&
	    e->role == ROLE_NET)
		(void)route_update(json_get(payload, "sessions"), err,
		    sizeof(err));
	ev = json_event_new("error");
	(void)route_event(ev, ROUTE_RESPONSE, json_get_str(payload, "project_id"),
	    NULL, json_get_str(payload, "source_client_session"));
	(void)json_text(ev, NULL);
	json_object_put(ev);
	json_object_put(frame);
	route_clear();
	return 0;
}
