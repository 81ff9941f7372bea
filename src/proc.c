/*
 * proc: starting children by fork + re-exec, and the first steps of a child
 * before its role takes over.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "xmalloc.h"

#define CONF_WAIT_MS	10000	/* a child waits this long for its config */

static const char *const role_names[ROLE_MAX] = {
	[ROLE_PARENT] = "parent",
	[ROLE_NET] = "net",
	[ROLE_TERM] = "term",
	[ROLE_FS] = "fs",
	[ROLE_GIT] = "git",
	[ROLE_PRIV] = "priv",
};

static int (*const role_mains[ROLE_MAX])(struct child_boot *) = {
	[ROLE_NET] = net_main,
	[ROLE_TERM] = term_main,
	[ROLE_FS] = fs_main,
	[ROLE_GIT] = git_main,
	[ROLE_PRIV] = priv_main,
};

static char	self_exe[PATH_MAX];
static int	child_debug;	/* -d: the config's LogLevel does not apply */

const char *
role_name(enum role role)
{
	if ((unsigned int)role >= ROLE_MAX)
		return "unknown";
	return role_names[role];
}

int
role_from_name(const char *name)
{
	int	 i;

	for (i = ROLE_NET; i < ROLE_MAX; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Children are started from the binary we were started from, not from a
 * path that may have been replaced since.
 */
int
proc_self_init(void)
{
	ssize_t	 n;

	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self_exe) - 1)
		return -1;
	self_exe[n] = '\0';
	return 0;
}

static void
child_reset_signals(void)
{
	sigset_t	 set;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

static void
child_close_fds(void)
{
#ifdef HAVE_CLOSEFROM
	closefrom(PC_PARENT_FD + 1);
#else
	int	 fd, max = sysconf(_SC_OPEN_MAX);

	for (fd = PC_PARENT_FD + 1; fd < max; fd++)
		close(fd);
#endif
}

pid_t
proc_spawn(enum role role, int *fdp, int log_stderr, int debug,
    int sandbox_debug)
{
	char	*argv[8];
	int	 sp[2], argc = 0;
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair for %s", role_name(role));
		return -1;
	}
	argv[argc++] = "portacoded";
	argv[argc++] = "-x";
	argv[argc++] = (char *)role_name(role);
	if (debug)
		argv[argc++] = "-d";
	else if (log_stderr)
		argv[argc++] = "-e";
	if (sandbox_debug)
		argv[argc++] = "-F";
	argv[argc] = NULL;

	switch (pid = fork()) {
	case -1:
		log_warn("fork %s", role_name(role));
		close(sp[0]);
		close(sp[1]);
		return -1;
	case 0:
		child_reset_signals();
		if (dup2(sp[1], PC_PARENT_FD) == -1)
			_exit(127);
		child_close_fds();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(self_exe, argv);
		_exit(127);
	}
	close(sp[1]);
	*fdp = sp[0];
	return pid;
}

/* Read exactly len bytes, waiting at most until deadline. */
static int
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	uint8_t		*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = recv(fd, p, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * The first message from the parent is the config text. It is read
 * byte-exact so that the fds attached to later messages stay queued for
 * the role's own link.
 */
static int
child_read_conf(struct child_boot *boot)
{
	struct ipc_hdr	 hdr;
	struct ipc_msg	 msg;
	struct ipc_rd	 rd;
	const char	*text;
	uint8_t		*buf;
	size_t		 len;
	char		 err[256];

	if (read_full(PC_PARENT_FD, &hdr, sizeof(hdr), CONF_WAIT_MS) == -1)
		fatalx("no config from the parent");
	if (hdr.version != IPC_VERSION || hdr.type != IMSG_CONF ||
	    hdr.flags != 0 || hdr.len > CONF_MAX_SIZE + 16)
		fatalx("bad first message from the parent");
	buf = xmalloc(hdr.len + 1);
	if (read_full(PC_PARENT_FD, buf, hdr.len, CONF_WAIT_MS) == -1)
		fatalx("short config from the parent");
	msg.hdr = hdr;
	msg.data = buf;
	msg.len = hdr.len;
	msg.fd = -1;
	ipc_rd_init(&rd, &msg);
	text = ipc_rd_str(&rd, &len);
	if (text == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed config message");
	config_defaults(&boot->conf);
	if (config_parse(&boot->conf, text, len, err, sizeof(err)) == -1)
		fatalx("config from the parent: %s", err);
	boot->conftext = xstrndup(text, len);
	boot->conflen = len;
	free(buf);
	return 0;
}

void
proc_reconf(struct ipc_msg *msg, struct config *conf)
{
	struct config	 nc;
	struct ipc_rd	 rd;
	const char	*text;
	size_t		 len;
	char		 err[256];

	ipc_rd_init(&rd, msg);
	text = ipc_rd_str(&rd, &len);
	if (text == NULL || ipc_rd_end(&rd) == -1 || msg->fd != -1)
		fatalx("malformed config from the parent");
	config_defaults(&nc);
	if (config_parse(&nc, text, len, err, sizeof(err)) == -1)
		fatalx("config from the parent: %s", err);
	config_clear(conf);
	*conf = nc;
	if (!child_debug)
		log_setlevel(nc.loglevel);
}

int
proc_child(enum role role, int log_stderr, int debug, int sandbox_debug)
{
	struct child_boot	 boot;

	if (role <= ROLE_PARENT || role >= ROLE_MAX)
		fatalx("bad role");
	child_debug = debug;
	log_init(log_stderr, debug ? LOGLEVEL_DEBUG : LOGLEVEL_INFO);
	log_setrole(role_name(role));
	if (fcntl(PC_PARENT_FD, F_GETFD) == -1)
		fatalx("-x is for internal use: no parent socket");
	memset(&boot, 0, sizeof(boot));
	boot.role = role;
	boot.system_mode = (getuid() == 0);
	child_read_conf(&boot);
	if (!debug)
		log_setlevel(boot.conf.loglevel);
	boot.sandbox_debug = sandbox_debug || boot.conf.sandbox_debug;
	return role_mains[role](&boot);
}
