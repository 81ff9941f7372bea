#ifndef SYSINFO_H
#define SYSINFO_H

#include <json-c/json.h>

struct event_base;
struct passwd;

/* Before the sandbox: remember the user, start the CPU sampler. */
void		 sysinfo_init(struct event_base *, const struct passwd *);
/* The "info" object of a system_info event (reference §8.1). */
struct json_object *sysinfo_collect(void);

#endif
