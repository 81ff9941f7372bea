/*
 * route: the client sessions the gateway told us about, and which of them
 * an event goes to (reference §1.8-1.9).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>
#include <json-c/json.h>

#define ROUTE_MAX_SESSIONS	1024
#define ROUTE_MAX_NAME		256

struct client_session {
	char	*channel_name;
	int	 dashboard;		/* connection_type == "dashboard" */
	char	*project_id;		/* NULL when absent or null */
	char	*project_folder_path;	/* NULL when absent */
};

enum route_mode {
	ROUTE_RESPONSE,		/* command reply: no sessions known -> broadcast */
	ROUTE_SESSION_AWARE,	/* unsolicited: no target -> drop */
	ROUTE_REQUESTER,	/* only the source_client_session */
};

/* Replace the list from a client_sessions_update "sessions" array. -1 + err on bad input. */
int	route_update(struct json_object *sessions, char *err, size_t errlen);
size_t	route_count(void);
const struct client_session *route_session(size_t);
int	route_known(const char *channel_name);
void	route_clear(void);
/*
 * Add client_sessions / reply_channel to payload for project_id (NULL =
 * project-less). reply_channel and source are the command's (or NULL).
 * Returns 0 to send, -1 to drop.
 */
int	route_event(struct json_object *payload, enum route_mode,
	    const char *project_id, const char *reply_channel,
	    const char *source);

#endif
