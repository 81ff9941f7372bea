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
	/* Before the sandbox: open what the role needs later. */
	void			(*init)(struct event_base *, const struct config *);
	/* A new config arrived (SIGHUP in the parent). */
	void			(*reconf)(const struct config *);
};

struct child_boot;
int	 worker_main(struct child_boot *, const struct worker_ops *);

/* Answers. Each takes ownership of the event object. */
void	 worker_event(uint32_t id, struct json_object *);	/* id 0 = unsolicited */
void	 worker_reply(uint32_t id, struct json_object *);	/* event, then done */
void	 worker_error(uint32_t id, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 worker_done(uint32_t id);

struct event_base	*worker_base(void);
const struct config	*worker_config(void);
/* The identity the worker runs as (target user). */
const struct passwd	*worker_user(void);

#endif
