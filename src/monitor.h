#ifndef MONITOR_H
#define MONITOR_H

#include "portacoded.h"

struct monitor_opts {
	const char	*conffile;
	int		 foreground;	/* -D / -d */
	int		 log_stderr;	/* -e / -d */
	int		 debug;		/* -d */
	int		 sandbox_debug;	/* -F */
};

/* proc.c */
int		 proc_self_init(void);		/* remember our executable */
pid_t		 proc_spawn(enum role, int *fdp, int log_stderr, int debug,
		    int sandbox_debug);
int		 proc_child(enum role, int log_stderr, int debug, int sandbox_debug);
struct ipc_msg;
struct config;
/* A new IMSG_CONF from the parent: parse it into *conf (fatal if bad). */
void		 proc_reconf(struct ipc_msg *, struct config *);

struct child_boot {
	enum role	 role;
	int		 system_mode;
	int		 sandbox_debug;
	struct config	 conf;
	char		*conftext;
	size_t		 conflen;
};

int		 net_main(struct child_boot *);
int		 term_main(struct child_boot *);
int		 fs_main(struct child_boot *);
int		 git_main(struct child_boot *);
int		 priv_main(struct child_boot *);

/* monitor.c */
int		 monitor_main(const struct monitor_opts *);

#endif
