/*
 * priv: root-only Proxmox node setup; started only with ProxmoxSetup yes.
 */
#include "config.h"

#include <stddef.h>

#include "portacoded.h"
#include "monitor.h"
#include "worker.h"

static const struct worker_cmd priv_cmds[] = {
	{ NULL, NULL }
};

static const struct worker_ops priv_ops = {
	.role = ROLE_PRIV,
	.cmds = priv_cmds,
};

int
priv_main(struct child_boot *boot)
{
	return worker_main(boot, &priv_ops);
}
