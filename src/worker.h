/*
 * worker: the common skeleton of term, fs, git and priv. A worker gets
 * validated commands from net and answers with events; the table maps
 * command names to handlers.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdint.h>
#include <json-c/json.h>
#include "portacoded.h"

struct event_base;
struct passwd;

struct worker_req {
	uint32_t		 id;
	const char		*name;
	struct json_object	*cmd;	/* the command object; owned by the worker */
};

struct worker_cmd {
	const char	*name;
	void		(*fn)(struct worker_req *);
};

struct worker_ops {
	enum role		 role;
	const struct worker_cmd	*cmds;		/* terminated by name == NULL */
	/* Before the drop and the sandbox: open what the role needs later. */
	void			(*init)(struct event_base *, const struct config *);
	/* After the drop, as the target user: create what the user must own. */
	void			(*start)(struct event_base *, const struct config *);
	/* A new config arrived (SIGHUP in the parent). */
	void			(*reconf)(const struct config *);
};

struct child_boot;
int	 worker_main(struct child_boot *, const struct worker_ops *);

/*
 * Run a command through the table; takes the reference on cmd. For one
 * a handler held back until its data was ready.
 */
void	 worker_dispatch(uint32_t id, struct json_object *cmd);

/* Answers. Each takes ownership of the event object. */
void	 worker_event(uint32_t id, struct json_object *);	/* id 0 = unsolicited */
void	 worker_reply(uint32_t id, struct json_object *);	/* event, then done */
void	 worker_error(uint32_t id, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 worker_done(uint32_t id);
/*
 * An unsolicited event that must not be lost while net is away (a net
 * restart): kept, bounded, and sent in order once net is back.
 */
void	 worker_event_keep(struct json_object *);
/* Output backpressure toward net. */
#define WORKER_OUT_HIGH	(4 * 1024 * 1024)
#define WORKER_OUT_LOW	(1 * 1024 * 1024)
size_t	 worker_net_queued(void);
/* Called when the queue toward net falls below WORKER_OUT_LOW. */
void	 worker_set_drain(void (*)(void));

struct event_base	*worker_base(void);
const struct config	*worker_config(void);
/* The identity the worker runs as (target user). */
const struct passwd	*worker_user(void);

#endif
