/*
 * fs: file commands and system_info, as the target user, under seccomp.
 */
#include "config.h"

#include <stddef.h>

#include "portacoded.h"
#include "json.h"
#include "monitor.h"
#include "worker.h"
#include "fs/sysinfo.h"

static void
cmd_system_info(struct worker_req *req)
{
	struct json_object	*ev = json_event_new("system_info");

	json_object_object_add(ev, "info", sysinfo_collect());
	worker_reply(req->id, ev);
}

static const struct worker_cmd fs_cmds[] = {
	{ "system_info", cmd_system_info },
	{ NULL, NULL }
};

static void
fs_init(struct event_base *base, const struct config *conf)
{
	(void)conf;
	sysinfo_init(base, worker_user());
}

static const struct worker_ops fs_ops = {
	.role = ROLE_FS,
	.cmds = fs_cmds,
	.init = fs_init,
};

int
fs_main(struct child_boot *boot)
{
	return worker_main(boot, &fs_ops);
}
