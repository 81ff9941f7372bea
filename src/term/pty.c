/*
 * pty: a program on a pseudo-terminal, started the way sshd starts a login
 * session: its own session with the pty as controlling terminal, a clean
 * environment, the user's home or a given directory.
 *
 * Everything that can fail for a reason the user should hear about is
 * checked before the fork, so that the error reaches the client as text
 * rather than as a shell that exits 127 at once.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "pty.h"

#define PTY_DEF_ROWS	24
#define PTY_DEF_COLS	80
#define PTY_MAX_DIM	1000

/* Debian's defaults from /etc/profile and login.defs. */
#define PATH_USER	"/usr/local/bin:/usr/bin:/bin"
#define PATH_ROOT	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define ENV_MAX_DEFAULTS	8

struct spawn_plan {
	char	 shell[1024];	/* path for execve */
	char	*argv0;
	char	**envp;
	size_t	 nenv;
	char	*notice;	/* for the terminal before the program starts */
	int	 cwdfd;
	int	 rows, cols;
};

/* The PATH the program will get: the last one in extra_env wins. */
static const char *
child_path(const struct pty_spec *spec)
{
	const char	*path = NULL;
	size_t		 i;

	if (spec->extra_env != NULL)
		for (i = 0; spec->extra_env[i] != NULL; i++)
			if (strncmp(spec->extra_env[i], "PATH=", 5) == 0)
				path = spec->extra_env[i] + 5;
	if (path != NULL)
		return path;
	return spec->pw->pw_uid == 0 ? PATH_ROOT : PATH_USER;
}

static void
env_free(char **envp, size_t n)
{
	size_t	 i;

	if (envp == NULL)
		return;
	for (i = 0; i < n; i++)
		free(envp[i]);
	free(envp);
}

/* Replaces an entry of the same name, or appends. */
static void
env_put(char **envp, size_t *n, char *entry)
{
	size_t	 i, nlen = strcspn(entry, "=");

	for (i = 0; i < *n; i++) {
		if (strncmp(envp[i], entry, nlen) == 0 &&
		    envp[i][nlen] == '=') {
			free(envp[i]);
			envp[i] = entry;
			return;
		}
	}
	envp[(*n)++] = entry;
	envp[*n] = NULL;
}

static int
env_name_ok(const char *entry)
{
	size_t	 nlen = strcspn(entry, "=");

	return nlen > 0 && entry[nlen] == '=';
}

/*
 * The child's whole environment, from nothing, as sshd builds it: the
 * daemon's own variables (and whatever secrets they hold) never reach it.
 */
static int
build_env(const struct pty_spec *spec, struct spawn_plan *plan, char *err,
    size_t errlen)
{
	const struct passwd	*pw = spec->pw;
	size_t			 i, nextra = 0, n = 0;
	char			**envp, *e;

	if (spec->extra_env != NULL) {
		for (nextra = 0; spec->extra_env[nextra] != NULL; nextra++) {
			if (!env_name_ok(spec->extra_env[nextra])) {
				seterr(err, errlen, "bad environment entry "
				    "\"%.64s\"", spec->extra_env[nextra]);
				return -1;
			}
		}
	}
	envp = xcalloc(ENV_MAX_DEFAULTS + nextra + 1, sizeof(*envp));
	envp[n++] = xstrdup("TERM=xterm-256color");
	xasprintf(&e, "HOME=%s", pw->pw_dir);
	envp[n++] = e;
	xasprintf(&e, "USER=%s", pw->pw_name);
	envp[n++] = e;
	xasprintf(&e, "LOGNAME=%s", pw->pw_name);
	envp[n++] = e;
	xasprintf(&e, "SHELL=%s", plan->shell);
	envp[n++] = e;
	xasprintf(&e, "PATH=%s", pw->pw_uid == 0 ? PATH_ROOT : PATH_USER);
	envp[n++] = e;
	envp[n++] = xstrdup("LANG=C.UTF-8");
	envp[n] = NULL;
	for (i = 0; i < nextra; i++)
		env_put(envp, &n, xstrdup(spec->extra_env[i]));
	plan->envp = envp;
	plan->nenv = n;
	return 0;
}

static int
is_exec_file(const char *path, int *errp)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		*errp = errno;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		*errp = EISDIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*errp = EACCES;
		return 0;
	}
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == -1) {
		*errp = errno;
		return 0;
	}
	return 1;
}

/* A bare command name, looked up in the PATH the program will get. */
static int
path_lookup(const char *name, const char *path, char *out, size_t outlen)
{
	const char	*p = path, *end;
	size_t		 dlen;
	int		 e, r;

	while (*p != '\0') {
		end = strchr(p, ':');
		dlen = end != NULL ? (size_t)(end - p) : strlen(p);
		/* Empty and relative entries would mean our own cwd. */
		if (dlen > 0 && p[0] == '/') {
			r = snprintf(out, outlen, "%.*s/%s", (int)dlen, p,
			    name);
			if (r > 0 && (size_t)r < outlen &&
			    is_exec_file(out, &e))
				return 0;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return -1;
}

/* An absolute shell path: it must fit and be an executable file. */
static int
take_shell(struct spawn_plan *plan, const char *sh, char *err, size_t errlen)
{
	int	 e;

	if (strlcpy_chk(plan->shell, sh, sizeof(plan->shell)) == -1) {
		seterr(err, errlen, "shell %.64s...: %s", sh,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	if (!is_exec_file(sh, &e)) {
		seterr(err, errlen, "shell %s: %s", sh, strerror(e));
		return -1;
	}
	return 0;
}

static int
resolve_shell(const struct pty_spec *spec, struct spawn_plan *plan,
    char *err, size_t errlen)
{
	const char	*sh = spec->shell, *base, *path;

	if (sh == NULL) {
		/* login(1) and sshd: "-" + basename tells it to be a login shell. */
		sh = spec->pw->pw_shell;
		if (sh == NULL || *sh == '\0')
			sh = "/bin/sh";
		if (take_shell(plan, sh, err, errlen) == -1)
			return -1;
		base = strrchr(sh, '/');
		base = base != NULL ? base + 1 : sh;
		xasprintf(&plan->argv0, "-%s", base);
		return 0;
	}
	if (*sh == '\0') {
		seterr(err, errlen, "shell must not be empty");
		return -1;
	}
	if (sh[0] == '/') {
		if (take_shell(plan, sh, err, errlen) == -1)
			return -1;
	} else if (strchr(sh, '/') != NULL) {
		seterr(err, errlen,
		    "shell must be an absolute path or a command name");
		return -1;
	} else {
		path = child_path(spec);
		if (path_lookup(sh, path, plan->shell,
		    sizeof(plan->shell)) == -1) {
			seterr(err, errlen, "shell %.256s: not found in PATH",
			    sh);
			return -1;
		}
	}
	/* Upstream runs a named shell as is: no "-", no arguments. */
	plan->argv0 = xstrdup(sh);
	return 0;
}

static int
open_dir(const char *path, int *fdp)
{
	if ((*fdp = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == -1) {
		close(*fdp);
		*fdp = -1;
		return -1;
	}
	return 0;
}

/*
 * A relative cwd is taken from the user's home, where an ssh login lands,
 * not from wherever this daemon happens to be. Without a cwd, a home that
 * is not there means "/" and a word on the terminal, as sshd does.
 */
static int
resolve_cwd(const struct pty_spec *spec, struct pty_proc *proc,
    struct spawn_plan *plan, char *err, size_t errlen)
{
	const char	*home = spec->pw->pw_dir;
	const char	*cwd = spec->cwd;
	int		 r;

	if (home == NULL || *home == '\0')
		home = "/";
	if (cwd == NULL || *cwd == '\0') {
		if (strlcpy_chk(proc->cwd, home, sizeof(proc->cwd)) == 0 &&
		    open_dir(proc->cwd, &plan->cwdfd) == 0)
			return 0;
		xasprintf(&plan->notice, "Could not chdir to home directory "
		    "%s: %s\n", home, strerror(errno));
		(void)strlcpy_chk(proc->cwd, "/", sizeof(proc->cwd));
		if (open_dir(proc->cwd, &plan->cwdfd) == 0)
			return 0;
		seterr(err, errlen, "cwd /: %s", strerror(errno));
		return -1;
	}
	if (cwd[0] == '/')
		r = snprintf(proc->cwd, sizeof(proc->cwd), "%s", cwd);
	else
		r = snprintf(proc->cwd, sizeof(proc->cwd), "%s%s%s", home,
		    home[strlen(home) - 1] == '/' ? "" : "/", cwd);
	if (r < 0 || (size_t)r >= sizeof(proc->cwd)) {
		seterr(err, errlen, "cwd %.64s...: %s", cwd,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	if (open_dir(proc->cwd, &plan->cwdfd) == -1) {
		seterr(err, errlen, "cwd %s: %s", proc->cwd, strerror(errno));
		return -1;
	}
	return 0;
}

static int
check_size(int *rows, int *cols, char *err, size_t errlen)
{
	if (*rows == 0)
		*rows = PTY_DEF_ROWS;
	if (*cols == 0)
		*cols = PTY_DEF_COLS;
	if (*rows < 1 || *rows > PTY_MAX_DIM ||
	    *cols < 1 || *cols > PTY_MAX_DIM) {
		seterr(err, errlen, "rows and cols must be 1..%d",
		    PTY_MAX_DIM);
		return -1;
	}
	return 0;
}

/* A pty pair; the slave stays open here until the child holds it too. */
static int
open_pair(const struct spawn_plan *plan, int *masterp, int *slavep,
    char *slavename, size_t namelen, char *err, size_t errlen)
{
	struct winsize	 ws;
	struct termios	 tio;
	int		 m, s = -1, fl;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "posix_openpt: %s", strerror(errno));
		return -1;
	}
	if (fcntl(m, F_SETFD, FD_CLOEXEC) == -1 ||
	    (fl = fcntl(m, F_GETFL)) == -1 ||
	    fcntl(m, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    grantpt(m) == -1 || unlockpt(m) == -1 ||
	    ptsname_r(m, slavename, namelen) != 0) {
		seterr(err, errlen, "pty setup: %s", strerror(errno));
		goto fail;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = plan->rows;
	ws.ws_col = plan->cols;
	if (ioctl(m, TIOCSWINSZ, &ws) == -1) {
		seterr(err, errlen, "TIOCSWINSZ: %s", strerror(errno));
		goto fail;
	}
	/*
	 * Without a slave open, a master read may report EIO before the
	 * child gets to open its side; keep one open across the fork.
	 */
	s = open(slavename, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s == -1) {
		seterr(err, errlen, "%s: %s", slavename, strerror(errno));
		goto fail;
	}
	/* Line editing that erases whole UTF-8 characters, as sshd asks. */
	if (tcgetattr(s, &tio) == 0) {
		tio.c_iflag |= IUTF8;
		(void)tcsetattr(s, TCSANOW, &tio);
	}
	*masterp = m;
	*slavep = s;
	return 0;
fail:
	close(m);
	return -1;
}

/* Async-signal-safe enough for a child that is about to exit. */
static void __attribute__((noreturn))
child_fail(int fd, const char *what, const char *arg, int e)
{
	const char	*msg = strerror(e);

	(void)!write(fd, "portacoded: ", 12);
	(void)!write(fd, what, strlen(what));
	if (arg != NULL) {
		(void)!write(fd, " ", 1);
		(void)!write(fd, arg, strlen(arg));
	}
	(void)!write(fd, ": ", 2);
	(void)!write(fd, msg, strlen(msg));
	(void)!write(fd, "\n", 1);
	_exit(127);
}

/* Default dispositions first, then nothing blocked: exec keeps the mask. */
static void
reset_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static void __attribute__((noreturn))
child_exec(const struct spawn_plan *plan, int slave, const char *slavename)
{
	char	*argv[2];
	int	 fd;

	reset_signals();
	if (setsid() == -1)
		child_fail(slave, "setsid", NULL, errno);
	/* A session leader without a tty acquires the first it opens. */
	if ((fd = open(slavename, O_RDWR)) == -1)
		child_fail(slave, "open", slavename, errno);
	if (ioctl(fd, TIOCSCTTY, 0) == -1)
		child_fail(fd, "TIOCSCTTY", NULL, errno);
	if (fchdir(plan->cwdfd) == -1)
		child_fail(fd, "chdir", NULL, errno);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		child_fail(fd, "dup2", NULL, errno);
#ifdef HAVE_CLOSEFROM
	closefrom(3);
#else
	{
		long	 max = sysconf(_SC_OPEN_MAX);

		if (max < 0 || max > 1048576)
			max = 1048576;
		for (fd = 3; fd < max; fd++)
			(void)close(fd);
	}
#endif
	if (plan->notice != NULL)
		(void)!write(2, plan->notice, strlen(plan->notice));
	argv[0] = plan->argv0;
	argv[1] = NULL;
	execve(plan->shell, argv, plan->envp);
	child_fail(2, "exec", plan->shell, errno);
}

int
pty_spawn(const struct pty_spec *spec, struct pty_proc *proc, char *err,
    size_t errlen)
{
	struct spawn_plan	 plan;
	char			 slavename[128];
	sigset_t		 all, oset;
	int			 master = -1, slave = -1, ret = -1, e;
	pid_t			 pid;

	memset(&plan, 0, sizeof(plan));
	plan.cwdfd = -1;
	memset(proc, 0, sizeof(*proc));
	proc->pid = -1;
	proc->master = -1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (spec->pw == NULL || spec->pw->pw_name == NULL ||
	    spec->pw->pw_dir == NULL) {
		seterr(err, errlen, "no user");
		return -1;
	}
	plan.rows = spec->rows;
	plan.cols = spec->cols;
	if (check_size(&plan.rows, &plan.cols, err, errlen) == -1)
		return -1;
	if (resolve_shell(spec, &plan, err, errlen) == -1)
		goto out;
	if (build_env(spec, &plan, err, errlen) == -1)
		goto out;
	if (resolve_cwd(spec, proc, &plan, err, errlen) == -1)
		goto out;
	if (open_pair(&plan, &master, &slave, slavename, sizeof(slavename),
	    err, errlen) == -1)
		goto out;

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &oset);
	if ((pid = fork()) == 0)
		child_exec(&plan, slave, slavename);
	e = errno;
	sigprocmask(SIG_SETMASK, &oset, NULL);
	if (pid == -1) {
		seterr(err, errlen, "fork: %s", strerror(e));
		close(master);
		goto out;
	}
	proc->pid = pid;
	proc->master = master;
	(void)strlcpy_chk(proc->shell, plan.shell, sizeof(proc->shell));
	log_debug("pty: pid %ld on %s: %s in %s", (long)pid, slavename,
	    plan.shell, proc->cwd);
	ret = 0;
out:
	if (slave != -1)
		close(slave);
	if (plan.cwdfd != -1)
		close(plan.cwdfd);
	free(plan.argv0);
	free(plan.notice);
	env_free(plan.envp, plan.nenv);
	if (ret == -1)
		proc->cwd[0] = '\0';
	return ret;
}

int
pty_resize(int master, int rows, int cols)
{
	struct winsize	 ws;

	if (rows < 1 || rows > PTY_MAX_DIM || cols < 1 || cols > PTY_MAX_DIM) {
		errno = EINVAL;
		return -1;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = rows;
	ws.ws_col = cols;
	/* The kernel sends SIGWINCH to the foreground group if it changed. */
	return ioctl(master, TIOCSWINSZ, &ws);
}

/* Session id and process group from /proc/PID/stat; -1 if gone. */
static int
proc_sid_pgrp(long pid, pid_t *sid, pid_t *pgrp)
{
	char	 path[64], buf[512], *p;
	ssize_t	 n;
	int	 fd;
	long	 pg, sess;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold anything, even ") "; skip to its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %*c %*d %ld %ld", &pg, &sess) != 2)
		return -1;
	*pgrp = (pid_t)pg;
	*sid = (pid_t)sess;
	return 0;
}

/*
 * Job control moves background jobs into process groups of their own, so
 * signalling only the shell's group would leave "sleep 100 &" behind when
 * a terminal is stopped. Every group of the session that pid leads gets
 * the signal.
 */
static int
signal_session(pid_t sid, int sig, int *sent)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		 s, pg, done[64];
	size_t		 ndone = 0, i;
	char		*ep;
	long		 pid;
	int		 eperm = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &ep, 10);
		if (*ep != '\0' || pid <= 1)
			continue;
		if (proc_sid_pgrp(pid, &s, &pg) == -1 || s != sid ||
		    pg == sid || pg <= 1)
			continue;
		for (i = 0; i < ndone; i++)
			if (done[i] == pg)
				break;
		if (i < ndone)
			continue;
		if (ndone < sizeof(done) / sizeof(done[0]))
			done[ndone++] = pg;
		if (kill(-pg, sig) == 0)
			(*sent)++;
		else if (errno == EPERM)
			eperm = 1;
	}
	closedir(d);
	return eperm;
}

int
pty_signal_group(pid_t pid, int sig)
{
	int	 sent = 0, eperm = 0;

	/* kill(-1) and kill(0) would reach far more than one terminal. */
	if (pid <= 1) {
		errno = EINVAL;
		return -1;
	}
	if (kill(-pid, sig) == 0)
		sent++;
	else if (errno == EPERM)
		eperm = 1;
	else if (errno != ESRCH)
		return -1;
	eperm |= signal_session(pid, sig, &sent);
	if (sent > 0)
		return 0;
	/* Nothing left: sig 0 lets a caller ask whether the terminal is gone. */
	errno = eperm ? EPERM : ESRCH;
	return -1;
}

/*
 * UTF-8 decoding for output that goes into JSON strings.
 *
 * Well-formed sequences (Unicode Table 3-7) pass unchanged. Anything else
 * becomes U+FFFD, one per "maximal subpart" (Unicode 3.9, the W3C/WHATWG
 * decoder rule): a lead byte followed by the longest run of bytes that
 * could still begin a well-formed sequence is one subpart; decoding
 * resumes at the first byte that breaks the sequence. Thus
 *	C0 AF		two U+FFFD (C0 can never start a sequence)
 *	E2 82 41	U+FFFD "A"
 *	ED A0 80	three U+FFFD (ED allows only 80..9F next: no surrogates)
 *	F4 90 80 80	four U+FFFD (above U+10FFFF)
 *	E2 82 <EOF>	one U+FFFD
 * A valid but unfinished sequence at the end of a chunk is carried (at most
 * 3 bytes) into the next call, so a character split between two reads
 * comes out whole. NUL is a character like any other.
 */

static const char	 repl[3] = { (char)0xef, (char)0xbf, (char)0xbd };

static void
out_reserve(char **out, size_t *outlen, size_t *outcap, size_t more)
{
	size_t	 cap = *outcap;

	/* One more byte: the text is always NUL-terminated for convenience. */
	if (*outlen + more + 1 <= cap && *out != NULL)
		return;
	if (cap < 64)
		cap = 64;
	while (cap < *outlen + more + 1) {
		if (cap > SIZE_MAX / 2)
			fatalx("utf8_stream: output too large");
		cap *= 2;
	}
	*out = xreallocarray(*out, cap, 1);
	*outcap = cap;
}

static void
out_put(char **out, size_t *outlen, size_t *outcap, const void *p, size_t n)
{
	out_reserve(out, outlen, outcap, n);
	memcpy(*out + *outlen, p, n);
	*outlen += n;
	(*out)[*outlen] = '\0';
}

size_t
utf8_stream(struct utf8_carry *c, const char *in, size_t len, char **out,
    size_t *outlen, size_t *outcap)
{
	const unsigned char	*s = (const unsigned char *)in;
	unsigned char		 tmp[4];
	size_t			 start = *outlen, i = 0, run, take;
	int			 r;

	/* Room for the usual case, all valid; U+FFFD may grow it later. */
	out_reserve(out, outlen, outcap, len + c->len);
	(*out)[*outlen] = '\0';

	if (c->len > 0) {
		/* Finish the carried sequence with bytes from this chunk. */
		memcpy(tmp, c->buf, c->len);
		take = sizeof(tmp) - c->len;
		if (take > len)
			take = len;
		memcpy(tmp + c->len, s, take);
		r = utf8_check(tmp, c->len + take);
		if (r == 0) {
			/* Still short: everything here joins the carry. */
			memcpy(c->buf + c->len, s, take);
			c->len += take;
			return *outlen - start;
		}
		if (r > 0)
			out_put(out, outlen, outcap, tmp, r);
		else {
			out_put(out, outlen, outcap, repl, sizeof(repl));
			r = -r;
		}
		/* The carry was a valid prefix, so r covers all of it. */
		i = (size_t)r - c->len;
		c->len = 0;
	}

	while (i < len) {
		for (run = i; run < len && s[run] < 0x80; run++)
			;
		if (run > i) {
			out_put(out, outlen, outcap, s + i, run - i);
			i = run;
			continue;
		}
		r = utf8_check(s + i, len - i);
		if (r == 0) {
			c->len = len - i;
			memcpy(c->buf, s + i, c->len);
			break;
		}
		if (r > 0) {
			out_put(out, outlen, outcap, s + i, r);
			i += r;
		} else {
			out_put(out, outlen, outcap, repl, sizeof(repl));
			i += -r;
		}
	}
	return *outlen - start;
}

size_t
utf8_stream_end(struct utf8_carry *c, char **out, size_t *outlen,
    size_t *outcap)
{
	/* A carry is one unfinished sequence: one maximal subpart. */
	if (c->len == 0)
		return 0;
	c->len = 0;
	out_put(out, outlen, outcap, repl, sizeof(repl));
	return sizeof(repl);
}
