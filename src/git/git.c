/*
 * git: project state and git operations with libgit2, as the target user,
 * under seccomp.
 */
#include "config.h"

#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <git2.h>

#include "portacoded.h"
#include "log.h"
#include "monitor.h"
#include "worker.h"
#include "git/content.h"
#include "git/project.h"
#include "git/store.h"

static const struct worker_cmd git_cmds[] = {
	{ "_client_sessions",			cmd_client_sessions },
	{ "content_request",			cmd_content_request },
	{ "project_state_diff_content_request",	cmd_diff_content_request },
	{ "project_state_diff_open",		cmd_diff_open },
	{ "project_state_file_open",		cmd_file_open },
	{ "project_state_folder_collapse",	cmd_folder_collapse },
	{ "project_state_folder_expand",	cmd_folder_expand },
	{ "project_state_git_commit",		cmd_git_commit },
	{ "project_state_git_revert",		cmd_git_revert },
	{ "project_state_git_stage",		cmd_git_stage },
	{ "project_state_git_unstage",		cmd_git_unstage },
	{ "project_state_set_active_tab",	cmd_set_active_tab },
	{ "project_state_tab_close",		cmd_tab_close },
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

/* Watches are the user's: made after the drop. */
static void
git_start(struct event_base *base, const struct config *conf)
{
	const char	*home = worker_user()->pw_dir;

	(void)conf;
	/* The user's own git configuration (identity, safe.directory). */
	char		 xdg[PATH_MAX];

	snprintf(xdg, sizeof(xdg), "%s/.config/git", home);
	if (setenv("HOME", home, 1) == -1 ||
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    home) < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG,
	    xdg) < 0)
		log_warnx("cannot point libgit2 at %s", home);
	project_init(base);
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
	.start = git_start,
	.reconf = git_reconf,
};

int
git_main(struct child_boot *boot)
{
	return worker_main(boot, &git_ops);
}
