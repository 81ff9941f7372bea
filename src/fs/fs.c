/*
 * fs: file commands and system_info, as the target user, under seccomp.
 */
#include "config.h"

#include <stddef.h>

#include "portacoded.h"
#include "json.h"
#include "monitor.h"
#include "worker.h"
#include "fs/atomic.h"
#include "fs/fileops.h"
#include "fs/fsdiff.h"
#include "fs/fspath.h"
#include "fs/fssearch.h"
#include "fs/sysinfo.h"

static void
cmd_system_info(struct worker_req *req)
{
	struct json_object	*ev = json_event_new("system_info");

	json_object_object_add(ev, "info", sysinfo_collect());
	worker_reply(req->id, ev);
}

static const struct worker_cmd fs_cmds[] = {
	{ "directory_list",	cmd_directory_list },
	{ "file_apply_diff",	cmd_file_apply_diff },
	{ "file_create",	cmd_file_create },
	{ "file_delete",	cmd_file_delete },
	{ "file_info",		cmd_file_info },
	{ "file_preview_diff",	cmd_file_preview_diff },
	{ "file_read",		cmd_file_read },
	{ "file_rename",	cmd_file_rename },
	{ "file_search",	cmd_file_search },
	{ "file_write",		cmd_file_write },
	{ "folder_create",	cmd_folder_create },
	{ "system_info",	cmd_system_info },
	{ NULL, NULL }
};

static void
fs_init(struct event_base *base, const struct config *conf)
{
	(void)conf;
	sysinfo_init(base, worker_user());
	atomic_init();
}

/* The roots are opened as the user: what it cannot reach stays shut. */
static void
fs_start(struct event_base *base, const struct config *conf)
{
	(void)base;
	fspath_configure(conf);
}

static void
fs_reconf(const struct config *conf)
{
	fspath_configure(conf);
}

static const struct worker_ops fs_ops = {
	.role = ROLE_FS,
	.cmds = fs_cmds,
	.init = fs_init,
	.start = fs_start,
	.reconf = fs_reconf,
};

int
fs_main(struct child_boot *boot)
{
	return worker_main(boot, &fs_ops);
}
