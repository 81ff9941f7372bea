/*
 * term: terminals, as the target user. No seccomp: user shells must behave
 * as they would under sshd.
 */
#include "config.h"

#include <stddef.h>

#include "portacoded.h"
#include "monitor.h"
#include "worker.h"

static const struct worker_cmd term_cmds[] = {
	{ NULL, NULL }
};

static const struct worker_ops term_ops = {
	.role = ROLE_TERM,
	.cmds = term_cmds,
};

int
term_main(struct child_boot *boot)
{
	return worker_main(boot, &term_ops);
}
