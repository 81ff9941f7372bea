/*
 * Seccomp allowlists for net, fs and git; term, priv and the parent run
 * without one. A filter is built from small tables of syscall names:
 * names this kernel or architecture does not have are skipped, calls a
 * library may probe harmlessly fail with an errno, and anything else kills
 * the whole process (the parent logs SIGSYS as a possible attack).
 *
 * With SandboxDebug the default action traps instead: a SIGSYS handler
 * names the call on stderr (the journal under systemd) and makes it fail
 * with ENOSYS, so a missing entry shows up without a crash. exec is never
 * legitimate and kills even then; so does a foreign architecture (i386 or
 * x32 calls on x86_64), whose numbers the tables do not describe.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "sandbox.h"
#include "xmalloc.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP	1	/* si_code of a SECCOMP_RET_TRAP SIGSYS */
#endif

#if defined(__x86_64__) || defined(__aarch64__)
#define SB_CAN_TRAP	1
#else
#define SB_CAN_TRAP	0
#endif

enum sb_action {
	SB_ALLOW,
	SB_EACCES,	/* a probe that may fail: config files, sockets */
	SB_ENOSYS,	/* glibc falls back to an older call */
	SB_ENOTTY,	/* isatty() on a descriptor that is never a tty */
	SB_KILL		/* never legitimate, not even with SandboxDebug */
};

/* Several rows for one syscall are alternatives. */
struct sb_rule {
	const char	*name;
	enum sb_action	 action;
	int		 arg;		/* -1: any arguments */
	int		 op;		/* enum scmp_compare */
	scmp_datum_t	 a;		/* value, or mask for MASKED_EQ */
	scmp_datum_t	 b;		/* value for MASKED_EQ */
	int		 self;		/* a is replaced by our pid */
};

#define ALLOW(n)		{ n, SB_ALLOW, -1, 0, 0, 0, 0 }
#define DENY(n, act)		{ n, act, -1, 0, 0, 0, 0 }
#define ARG_EQ(n, i, v)		{ n, SB_ALLOW, i, SCMP_CMP_EQ, v, 0, 0 }
#define ARG_MASK(n, i, m, v)	{ n, SB_ALLOW, i, SCMP_CMP_MASKED_EQ, m, v, 0 }
#define ARG_SELF(n, i)		{ n, SB_ALLOW, i, SCMP_CMP_EQ, 0, 0, 1 }
#define END			{ NULL, SB_ALLOW, -1, 0, 0, 0, 0 }

/*
 * clone(2) takes its flags first on x86_64 and aarch64. Forks and
 * threads are fine for fs and git; new namespaces are not (an
 * unprivileged user namespace is a large kernel attack surface).
 */
#define SB_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
/* kill(2) only on single processes: no groups, no broadcast to -1. */
#define SB_NEGATIVE_PID	0xffffffff80000000ULL

/*
 * Everything a libevent (epoll) + OpenSSL + wslay + json-c event loop
 * needs once it is set up, plus what glibc does behind its back (stdio
 * fstat, syslog datagrams, malloc arenas).
 */
static const struct sb_rule rules_common[] = {
	ALLOW("read"), ALLOW("write"), ALLOW("readv"), ALLOW("writev"),
	ALLOW("close"),
	/* IPC with descriptor passing; syslog(3) datagrams. */
	ALLOW("recvfrom"), ALLOW("recvmsg"), ALLOW("sendto"),
	ALLOW("sendmsg"), ALLOW("getsockopt"), ALLOW("setsockopt"),
	ALLOW("getpeername"), ALLOW("getsockname"), ALLOW("shutdown"),
	/* libevent: epoll backend, its signal pipe, optional timerfd. */
	ALLOW("epoll_create"), ALLOW("epoll_create1"), ALLOW("epoll_ctl"),
	ALLOW("epoll_wait"), ALLOW("epoll_pwait"), ALLOW("epoll_pwait2"),
	ALLOW("poll"), ALLOW("ppoll"), ALLOW("eventfd2"), ALLOW("pipe"),
	ALLOW("pipe2"), ALLOW("timerfd_create"), ALLOW("timerfd_settime"),
	ALLOW("timerfd_gettime"),
	/* Time, usually the vDSO, but not always. */
	ALLOW("clock_gettime"), ALLOW("clock_getres"),
	ALLOW("gettimeofday"), ALLOW("time"), ALLOW("nanosleep"),
	ALLOW("clock_nanosleep"),
	ALLOW("getpid"), ALLOW("gettid"), ALLOW("getuid"), ALLOW("geteuid"),
	ALLOW("getgid"), ALLOW("getegid"), ALLOW("getrandom"),
	ALLOW("uname"),
	/* Memory, never executable: no code is loaded after setup. */
	ALLOW("brk"), ALLOW("munmap"), ALLOW("mremap"), ALLOW("madvise"),
	ARG_MASK("mmap", 2, PROT_EXEC, 0),
	ARG_MASK("mprotect", 2, PROT_EXEC, 0),
	ALLOW("futex"), ALLOW("set_robust_list"), ALLOW("rseq"),
	ALLOW("restart_syscall"), ALLOW("sched_yield"),
	ALLOW("rt_sigreturn"), ALLOW("rt_sigaction"),
	ALLOW("rt_sigprocmask"),
	ALLOW("exit"), ALLOW("exit_group"),
	/* glibc stdio and fstat(3). */
	ALLOW("fstat"), ALLOW("newfstatat"), ALLOW("lseek"),
	/* getrlimit(3) is prlimit64 with no new limit. */
	ALLOW("getrlimit"), ARG_EQ("prlimit64", 2, 0),
	ARG_EQ("fcntl", 1, F_GETFD), ARG_EQ("fcntl", 1, F_SETFD),
	ARG_EQ("fcntl", 1, F_GETFL), ARG_EQ("fcntl", 1, F_SETFL),
	ARG_EQ("ioctl", 1, FIONBIO), ARG_EQ("ioctl", 1, FIONREAD),
	{ "ioctl", SB_ENOTTY, 1, SCMP_CMP_EQ, TCGETS, 0, 0 },
	/*
	 * Nothing here opens sockets (the parent passes them in); glibc's
	 * syslog(3) tries to reconnect after an error and must just fail.
	 */
	DENY("socket", SB_EACCES), DENY("connect", SB_EACCES),
	/* Unfilterable (flags behind a pointer): glibc falls back to clone. */
	DENY("clone3", SB_ENOSYS),
	DENY("execve", SB_KILL), DENY("execveat", SB_KILL),
	END
};

static const struct sb_rule rules_net[] = {
	/* OpenSSL may look for configuration lazily; it was loaded before. */
	DENY("open", SB_EACCES), DENY("openat", SB_EACCES),
	DENY("openat2", SB_EACCES),
	/* raise(3) and abort(3), to ourselves only. */
	ARG_SELF("tgkill", 0),
	END
};

/* Files as the target user, for fs and for libgit2. */
static const struct sb_rule rules_files[] = {
	ALLOW("open"), ALLOW("openat"), ALLOW("openat2"),
	ALLOW("pread64"), ALLOW("pwrite64"), ALLOW("preadv"),
	ALLOW("pwritev"),
	ALLOW("stat"), ALLOW("lstat"), ALLOW("statx"), ALLOW("access"),
	ALLOW("faccessat"), ALLOW("faccessat2"), ALLOW("getdents64"),
	ALLOW("readlink"), ALLOW("readlinkat"),
	ALLOW("mkdir"), ALLOW("mkdirat"), ALLOW("unlink"), ALLOW("unlinkat"),
	ALLOW("rename"), ALLOW("renameat"), ALLOW("renameat2"),
	ALLOW("rmdir"), ALLOW("link"), ALLOW("linkat"), ALLOW("symlink"),
	ALLOW("symlinkat"),
	/* Atomic writes keep mode and, where permitted, owner. */
	ALLOW("chmod"), ALLOW("fchmod"), ALLOW("fchmodat"), ALLOW("fchown"),
	ALLOW("fchownat"), ALLOW("utimensat"),
	ALLOW("fsync"), ALLOW("fdatasync"), ALLOW("syncfs"), ALLOW("msync"),
	ALLOW("ftruncate"), ALLOW("fallocate"), ALLOW("fadvise64"),
	ALLOW("flock"),
	/* system_info and statvfs(3). */
	ALLOW("statfs"), ALLOW("fstatfs"), ALLOW("sysinfo"),
	ALLOW("getrusage"), ALLOW("sched_getaffinity"),
	ALLOW("getcwd"), ALLOW("chdir"), ALLOW("fchdir"), ALLOW("umask"),
	ALLOW("dup"), ALLOW("dup2"), ALLOW("dup3"),
	ALLOW("inotify_init1"), ALLOW("inotify_add_watch"),
	ALLOW("inotify_rm_watch"),
	ALLOW("sendfile"), ALLOW("copy_file_range"),
	/* Search children and libgit2 threads. */
	ARG_MASK("clone", 0, SB_NS_FLAGS, 0),
	ALLOW("wait4"), ALLOW("waitid"), ALLOW("tgkill"),
	ARG_MASK("kill", 0, SB_NEGATIVE_PID, 0),
	ARG_EQ("fcntl", 1, F_DUPFD), ARG_EQ("fcntl", 1, F_DUPFD_CLOEXEC),
	ARG_EQ("fcntl", 1, F_GETLK), ARG_EQ("fcntl", 1, F_SETLK),
	ARG_EQ("fcntl", 1, F_SETLKW), ARG_EQ("fcntl", 1, F_OFD_GETLK),
	ARG_EQ("fcntl", 1, F_OFD_SETLK), ARG_EQ("fcntl", 1, F_OFD_SETLKW),
	ARG_EQ("ioctl", 1, FIOCLEX), ARG_EQ("ioctl", 1, FIONCLEX),
	END
};

/*
 * PCRE2's JIT writes machine code into anonymous read-write-execute
 * memory. File-backed executable mappings stay forbidden.
 */
static const struct sb_rule rules_fs[] = {
	ARG_MASK("mmap", 3, MAP_ANONYMOUS, MAP_ANONYMOUS),
	END
};

struct sb_policy {
	enum role		 role;
	const char		*name;
	const struct sb_rule	*tables[4];	/* NULL-terminated */
};

static const struct sb_policy policies[] = {
	{ ROLE_NET, "net", { rules_common, rules_net, NULL } },
	{ ROLE_FS, "fs", { rules_common, rules_files, rules_fs, NULL } },
	{ ROLE_GIT, "git", { rules_common, rules_files, NULL } },
};

/* For the SIGSYS handler, filled before the filter is loaded. */
#define SB_MAXNR	1024
static char		 sb_role[8];
static char		*sb_names[SB_MAXNR];

static const struct sb_policy *
policy_find(enum role role)
{
	size_t	 i;

	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (policies[i].role == role)
			return &policies[i];
	return NULL;
}

int
sandbox_has_filter(enum role role)
{
	return policy_find(role) != NULL;
}

static uint32_t
act_kill(void)
{
	/* Killing only the thread would leave a half-working process. */
	return seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
}

static uint32_t
act_of(enum sb_action action)
{
	switch (action) {
	case SB_ALLOW:
		return SCMP_ACT_ALLOW;
	case SB_EACCES:
		return SCMP_ACT_ERRNO(EACCES);
	case SB_ENOSYS:
		return SCMP_ACT_ERRNO(ENOSYS);
	case SB_ENOTTY:
		return SCMP_ACT_ERRNO(ENOTTY);
	case SB_KILL:
		break;
	}
	return act_kill();
}

static void
rule_add(scmp_filter_ctx ctx, const char *role, const struct sb_rule *r,
    uint32_t defact)
{
	struct scmp_arg_cmp	 cmp;
	uint32_t		 act;
	int			 nr, rc;

	/*
	 * A name this architecture lacks resolves to a pseudo number that
	 * libseccomp drops by itself; a name it does not know at all is
	 * newer than the library, and this system cannot make that call.
	 */
	if ((nr = seccomp_syscall_resolve_name(r->name)) == __NR_SCMP_ERROR) {
		log_debug("sandbox: %s: no syscall %s here", role, r->name);
		return;
	}
	/* libseccomp refuses a rule that repeats the default action. */
	if ((act = act_of(r->action)) == defact)
		return;
	if (r->arg == -1)
		rc = seccomp_rule_add(ctx, act, nr, 0);
	else {
		memset(&cmp, 0, sizeof(cmp));
		cmp.arg = r->arg;
		cmp.op = r->op;
		cmp.datum_a = r->self ? (scmp_datum_t)getpid() : r->a;
		cmp.datum_b = r->b;
		rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp);
	}
	if (rc < 0)
		fatalx("sandbox: %s: cannot add a rule for %s: %s", role,
		    r->name, strerror(-rc));
}

/* Async-signal-safe string building for the handler. */
static size_t
sb_cat(char *buf, size_t len, size_t size, const char *s)
{
	while (*s != '\0' && len + 1 < size)
		buf[len++] = *s++;
	return len;
}

static size_t
sb_catnum(char *buf, size_t len, size_t size, long n)
{
	char		 tmp[24];
	size_t		 i = sizeof(tmp) - 1;
	unsigned long	 u;

	tmp[i] = '\0';
	u = n < 0 ? -(unsigned long)n : (unsigned long)n;
	do {
		tmp[--i] = '0' + u % 10;
		u /= 10;
	} while (u != 0 && i > 1);
	if (n < 0)
		tmp[--i] = '-';
	return sb_cat(buf, len, size, tmp + i);
}

/*
 * Only SECCOMP_RET_TRAP gets here. The name comes from sb_names, filled
 * before the filter was loaded: libseccomp's resolver allocates and so
 * cannot be called from a signal handler.
 */
static void
sb_sigsys(int sig, siginfo_t *si, void *arg)
{
	ucontext_t	*uc = arg;
	const char	*name = "unknown";
	char		 buf[160];
	size_t		 len = 0;
	int		 saved = errno, nr;

	(void)sig;
	if (si->si_code != SYS_SECCOMP)
		return;
	nr = si->si_syscall;
	if (nr >= 0 && nr < SB_MAXNR && sb_names[nr] != NULL)
		name = sb_names[nr];
	len = sb_cat(buf, len, sizeof(buf), "sandbox: ");
	len = sb_cat(buf, len, sizeof(buf), sb_role);
	len = sb_cat(buf, len, sizeof(buf), " blocked syscall ");
	len = sb_cat(buf, len, sizeof(buf), name);
	len = sb_cat(buf, len, sizeof(buf), " (");
	len = sb_catnum(buf, len, sizeof(buf), nr);
	len = sb_cat(buf, len, sizeof(buf), ")\n");
	if (write(STDERR_FILENO, buf, len) == -1) {
		/* Nowhere else to report it. */
	}
	/* The call was skipped; this becomes its return value. */
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (uint64_t)-ENOSYS;
#else
	(void)uc;
#endif
	errno = saved;
}

static void
trap_setup(const char *role)
{
	struct sigaction	 sa;
	uint32_t		 arch;
	int			 nr;

	(void)strlcpy_chk(sb_role, role, sizeof(sb_role));
	arch = seccomp_arch_native();
	for (nr = 0; nr < SB_MAXNR; nr++) {
		free(sb_names[nr]);
		sb_names[nr] = seccomp_syscall_resolve_num_arch(arch, nr);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sb_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction(SIGSYS)");
	/* A blocked SIGSYS would turn every trap into a kill. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGSYS);
	if (sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL) == -1)
		fatal("sigprocmask");
}

void
sandbox_filter(enum role role, int debug)
{
	const struct sb_policy	*p;
	const struct sb_rule	*r;
	scmp_filter_ctx		 ctx;
	uint32_t		 defact;
	int			 i, rc;

	/* term, priv and the parent: see sandbox_has_filter(). */
	if ((p = policy_find(role)) == NULL)
		return;
	if (debug && !SB_CAN_TRAP) {
		log_warnx("sandbox: %s: debug mode not supported on this "
		    "architecture; blocked calls kill", p->name);
		debug = 0;
	}
	defact = debug ? SCMP_ACT_TRAP : act_kill();
	if ((ctx = seccomp_init(defact)) == NULL)
		fatalx("sandbox: %s: seccomp_init failed", p->name);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    act_kill())) < 0)
		fatalx("sandbox: %s: bad-architecture action: %s", p->name,
		    strerror(-rc));
	/* Should a library have started a thread, it is confined too. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("sandbox: %s: thread sync: %s", p->name,
		    strerror(-rc));
	for (i = 0; p->tables[i] != NULL; i++)
		for (r = p->tables[i]; r->name != NULL; r++)
			rule_add(ctx, p->name, r, defact);
	if (debug)
		trap_setup(p->name);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: %s: cannot load the seccomp filter: %s",
		    p->name, strerror(-rc));
	seccomp_release(ctx);
	if (debug)
		log_warnx("sandbox: %s: debug mode, blocked calls are logged "
		    "and fail with ENOSYS instead of killing", p->name);
	else
		log_debug("sandbox: %s: seccomp filter loaded", p->name);
}
