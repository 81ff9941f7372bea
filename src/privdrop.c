/*
 * Dropping privileges, OpenSSH style: every step is checked and any
 * failure is fatal, because a child that goes on running with more
 * rights than it believes it has is worse than no child at all.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "sandbox.h"
#include "xmalloc.h"

/* net keeps few descriptors: gateway, parent, worker links, epoll. */
#define NET_NOFILE	64
/* fs and git keep the caller's limit, up to this. */
#define WORKER_NOFILE	4096

/*
 * A component of the chroot path is safe when nobody but root can
 * replace what it points to: owned by root and not writable by group
 * or others. Ancestors may also be sticky (like /tmp), because then
 * only the owner of an entry, here root, can rename or remove it.
 */
static void
chroot_check(const char *path, int last)
{
	struct stat	 sb;

	if (lstat(path, &sb) == -1)
		fatal("chroot directory %s", path);
	if (S_ISLNK(sb.st_mode))
		fatalx("chroot directory %s: symbolic link refused", path);
	if (!S_ISDIR(sb.st_mode))
		fatalx("chroot directory %s: not a directory", path);
	if (sb.st_uid != 0)
		fatalx("chroot directory %s: bad ownership (must be root)",
		    path);
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (last || (sb.st_mode & S_ISVTX) == 0))
		fatalx("chroot directory %s: bad modes (group or other "
		    "writable)", path);
}

void
privdrop_chroot(const char *dir)
{
	char	 path[PATH_MAX];
	char	*p;

	if (dir == NULL || dir[0] != '/')
		fatalx("chroot directory %s: not an absolute path",
		    dir == NULL ? "(null)" : dir);
	if (strlcpy_chk(path, dir, sizeof(path)) == -1)
		fatalx("chroot directory %s: path too long", dir);
	/* Every ancestor, then the directory itself. */
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		chroot_check(path, 0);
		*p = '/';
	}
	chroot_check(path, 1);
	if (chroot(path) == -1)
		fatal("chroot(\"%s\")", path);
	if (chdir("/") == -1)
		fatal("chdir(\"/\") after chroot to %s", path);
	log_debug("chroot to %s", path);
}

/* Whether real, effective and saved ids are all uid and gid. */
static int
ids_are(uid_t uid, gid_t gid)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("getresuid");
	if (getresgid(&rgid, &egid, &sgid) == -1)
		fatal("getresgid");
	return ruid == uid && euid == uid && suid == uid &&
	    rgid == gid && egid == gid && sgid == gid;
}

static int
any_id_root(void)
{
	uid_t	 ruid, euid, suid;

	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("getresuid");
	return ruid == 0 || euid == 0 || suid == 0;
}

/* With no name the only group must be gid itself. */
static void
groups_check(gid_t gid)
{
	gid_t	 groups[2];
	int	 n;

	if ((n = getgroups(2, groups)) == -1)
		fatal("getgroups");
	if (n != 1 || groups[0] != gid)
		fatalx("supplementary groups not reduced to gid %lu",
		    (unsigned long)gid);
}

void
privdrop_user(uid_t uid, gid_t gid, const char *name)
{
	int	 wasroot, changed = 0;

	wasroot = any_id_root();
	/* User mode: already the target, nothing to change. */
	if (!ids_are(uid, gid)) {
		if (name != NULL) {
			if (initgroups(name, gid) == -1)
				fatal("initgroups(%s, %lu)", name,
				    (unsigned long)gid);
		} else if (setgroups(1, &gid) == -1)
			fatal("setgroups(%lu)", (unsigned long)gid);
		if (setresgid(gid, gid, gid) == -1)
			fatal("setresgid(%lu)", (unsigned long)gid);
		if (setresuid(uid, uid, uid) == -1)
			fatal("setresuid(%lu)", (unsigned long)uid);
		changed = 1;
	}
	if (!ids_are(uid, gid))
		fatalx("privilege drop to uid %lu gid %lu did not take effect",
		    (unsigned long)uid, (unsigned long)gid);
	if (changed && name == NULL)
		groups_check(gid);
	if (wasroot && uid != 0) {
		if (setuid(0) != -1 || seteuid(0) != -1)
			fatalx("privilege drop could be undone: uid 0 "
			    "regained");
		if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
			fatalx("privilege drop could be undone: gid 0 "
			    "regained");
	}
	log_debug("running as uid %lu gid %lu", (unsigned long)uid,
	    (unsigned long)gid);
}

static void
limit_set(int resource, const char *what, rlim_t cur, rlim_t max)
{
	struct rlimit	 rl;

	rl.rlim_cur = cur;
	rl.rlim_max = max;
	if (setrlimit(resource, &rl) == -1)
		fatal("setrlimit(%s, %llu)", what, (unsigned long long)cur);
}

/* Soft and hard both become min(hard, n): lowering is always allowed. */
static void
limit_cap(int resource, const char *what, rlim_t n)
{
	struct rlimit	 rl;

	if (getrlimit(resource, &rl) == -1)
		fatal("getrlimit(%s)", what);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		n = rl.rlim_max;
	limit_set(resource, what, n, n);
}

/*
 * Core files could hold keys, tokens or file contents, so they are off
 * everywhere. term only lowers the soft limit: the shells it starts
 * inherit it and their users may raise it again, as on a plain login.
 */
static void
limit_core(enum role role)
{
	struct rlimit	 rl;

	if (role != ROLE_TERM) {
		limit_set(RLIMIT_CORE, "RLIMIT_CORE", 0, 0);
		return;
	}
	if (getrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("getrlimit(RLIMIT_CORE)");
	limit_set(RLIMIT_CORE, "RLIMIT_CORE", 0, rl.rlim_max);
}

/*
 * net parses gateway data, so it gets the tightest box: no fork (the
 * count is per user, and _portacode runs nothing else), few descriptors,
 * no file writes, and not dumpable, which also keeps other processes of
 * the same user from attaching to it.
 */
static void
limit_net(void)
{
	struct stat	 sb;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
	limit_set(RLIMIT_NPROC, "RLIMIT_NPROC", 0, 0);
	limit_cap(RLIMIT_NOFILE, "RLIMIT_NOFILE", NET_NOFILE);
	/*
	 * net writes only to sockets; the one file it may legitimately
	 * write is a log redirected to a regular file (-d 2>file).
	 */
	if (fstat(STDERR_FILENO, &sb) == 0 && S_ISREG(sb.st_mode))
		log_debug("stderr is a file: RLIMIT_FSIZE left alone");
	else
		limit_set(RLIMIT_FSIZE, "RLIMIT_FSIZE", 0, 0);
}

void
sandbox_limits(enum role role)
{
	limit_core(role);
	switch (role) {
	case ROLE_NET:
		limit_net();
		break;
	case ROLE_FS:
	case ROLE_GIT:
		limit_cap(RLIMIT_NOFILE, "RLIMIT_NOFILE", WORKER_NOFILE);
		break;
	default:
		break;
	}
	/*
	 * Not for term, whose shells must be able to run sudo or ping, nor
	 * priv and the parent, which run as root and exec helpers.
	 */
	if (role == ROLE_NET || role == ROLE_FS || role == ROLE_GIT) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	}
}
