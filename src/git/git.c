/*
 * git: project state and git operations with libgit2, as the target user,
 * under seccomp.
 */
#include "config.h"

#include <stddef.h>

#include <git2.h>

#include "portacoded.h"
#include "log.h"
#include "monitor.h"
#include "worker.h"
#include "git/content.h"
#include "git/store.h"

/*
 * net's session list. Project states are built from it (reference
 * §6.1); until they are, it is only acknowledged.
 */
static void
cmd_client_sessions(struct worker_req *req)
{
	worker_done(req->id);
}

static const struct worker_cmd git_cmds[] = {
	{ "_client_sessions",	cmd_client_sessions },
	{ "content_request",	cmd_content_request },
	{ NULL, NULL }
};

/* libgit2 reads its global state before the sandbox closes the door. */
static void
git_init(struct event_base *base, const struct config *conf)
{
	(void)base;
	if (git_libgit2_init() < 0)
		fatalx("libgit2 initialisation failed");
	/* Repositories of other users are refused unless configured. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 1);
	/* Made here, before the sandbox: OpenSSL sets up SHA-256 on first use. */
	store_set_limit(store_global(), conf->content_cache_size);
}

static void
git_reconf(const struct config *conf)
{
	store_set_limit(store_global(), conf->content_cache_size);
}

static const struct worker_ops git_ops = {
	.role = ROLE_GIT,
	.cmds = git_cmds,
	.init = git_init,
	.reconf = git_reconf,
};

int
git_main(struct child_boot *boot)
{
	return worker_main(boot, &git_ops);
}
