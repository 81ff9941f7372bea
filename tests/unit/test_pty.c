#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "term/pty.h"

/*
 * The tests run as whoever runs them (root under make check, anyone by
 * hand). The passwd entry is the caller's, but with /bin/sh as the login
 * shell and a scratch home, so the account's own shell and dotfiles (or
 * nologin and /nonexistent) do not matter.
 */
static struct passwd	 tpw;
static struct term	*cur;		/* killed by the teardown if a test fails */
static char		 thome[PATH_MAX];
static char		 tname[256];

#define OUTMAX	(256 * 1024)

struct term {
	struct pty_proc	 p;
	char		 out[OUTMAX + 1];
	size_t		 len;
};

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void
msleep(int ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reads until needle shows up; 1 if it did within ms, 0 on timeout/EOF. */
static int
read_until(struct term *t, const char *needle, int ms)
{
	struct pollfd	 pfd;
	long		 end = now_ms() + ms;
	ssize_t		 n;

	for (;;) {
		t->out[t->len] = '\0';
		if (needle != NULL && strstr(t->out, needle) != NULL)
			return 1;
		if (now_ms() >= end)
			return 0;
		pfd.fd = t->p.master;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			continue;
		if (t->len == OUTMAX) {
			/* Keep the tail; a needle never spans more than that. */
			memmove(t->out, t->out + OUTMAX / 2, OUTMAX / 2);
			t->len = OUTMAX / 2;
		}
		n = read(t->p.master, t->out + t->len, OUTMAX - t->len);
		if (n > 0)
			t->len += n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return 0;
	}
}

/* 1 once the master reports the other side gone (EIO), 0 on timeout. */
static int
read_eof(struct term *t, int ms)
{
	struct pollfd	 pfd;
	long		 end = now_ms() + ms;
	char		 buf[4096];
	ssize_t		 n;

	while (now_ms() < end) {
		pfd.fd = t->p.master;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = read(t->p.master, buf, sizeof(buf));
		if (n == 0 || (n == -1 && errno == EIO))
			return 1;
	}
	return 0;
}

static void
send_str(struct term *t, const char *s)
{
	size_t	 len = strlen(s), off = 0;
	ssize_t	 n;

	while (off < len) {
		n = write(t->p.master, s + off, len - off);
		if (n > 0)
			off += n;
		else if (n == -1 && errno == EAGAIN)
			msleep(1);
		else
			fail_msg("write: %s", strerror(errno));
	}
}

static void
expect_out(struct term *t, const char *needle, int ms)
{
	if (!read_until(t, needle, ms))
		fail_msg("\"%s\" not seen; got: \"%s\"", needle, t->out);
}

static void
clear_out(struct term *t)
{
	t->len = 0;
	t->out[0] = '\0';
}

static void
spec_init(struct pty_spec *spec, const char *shell, const char *cwd)
{
	memset(spec, 0, sizeof(*spec));
	spec->pw = &tpw;
	spec->shell = shell;
	spec->cwd = cwd;
}

static struct term *
start(const struct pty_spec *spec)
{
	struct term	*t;
	char		 err[256];

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	if (pty_spawn(spec, &t->p, err, sizeof(err)) == -1)
		fail_msg("pty_spawn: %s", err);
	assert_true(t->p.pid > 1);
	assert_true(t->p.master >= 0);
	cur = t;
	assert_true(fcntl(t->p.master, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t->p.master, F_GETFD) & FD_CLOEXEC);
	return t;
}

/* A command that proves the shell is reading input; dash prompts "# "/"$ ". */
static void
sync_shell(struct term *t)
{
	long	 end;

	send_str(t, "echo sync-$((20+22))\n");
	expect_out(t, "sync-42\r\n", 5000);
	/* And its next prompt, so that it cannot land in later output. */
	end = now_ms() + 5000;
	while (now_ms() < end) {
		if (t->len >= 2 && (strcmp(t->out + t->len - 2, "# ") == 0 ||
		    strcmp(t->out + t->len - 2, "$ ") == 0))
			break;
		(void)read_until(t, "\x01never\x01", 20);
	}
	clear_out(t);
}

/* Waits for every child (and orphan, as subreaper) to be reaped. */
static int
reap_all(int ms)
{
	long	 end = now_ms() + ms;
	pid_t	 r;

	for (;;) {
		r = waitpid(-1, NULL, WNOHANG);
		if (r == -1 && errno == ECHILD)
			return 0;
		if (r > 0)
			continue;
		if (now_ms() >= end)
			return -1;
		msleep(5);
	}
}

static void
kill_term(struct term *t)
{
	(void)pty_signal_group(t->p.pid, SIGKILL);
	close(t->p.master);
	free(t);
	if (t == cur)
		cur = NULL;
}

static void
finish(struct term *t)
{
	kill_term(t);
	if (reap_all(3000) == -1)
		fail_msg("children left behind");
}

static int
teardown(void **state)
{
	(void)state;
	if (cur != NULL)
		kill_term(cur);
	return reap_all(3000);
}

/* Field n (1-based, after the command name) of /proc/PID/stat. */
static long
stat_field(pid_t pid, int field)
{
	char	 path[64], buf[1024], *p;
	FILE	*f;
	long	 v = -1;
	int	 i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p += 2;
	/* Field 3 is the state, the first after the name. */
	for (i = 3; i < field; i++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		p++;
	}
	if (field == 3)
		return *p;
	v = strtol(p, NULL, 10);
	return v;
}

static int
read_cmdline(pid_t pid, char *buf, size_t len)
{
	char	 path[64];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Waits until pid has exec'd and its argv[0] is want. */
static int
wait_argv0(pid_t pid, const char *want)
{
	char	 buf[4096];
	long	 end = now_ms() + 5000;

	while (now_ms() < end) {
		if (read_cmdline(pid, buf, sizeof(buf)) == 0 &&
		    strcmp(buf, want) == 0)
			return 1;
		msleep(5);
	}
	return 0;
}

/* The pid of a child of ppid running comm, or -1. */
static pid_t
find_child(pid_t ppid, const char *comm)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], name[64];
	FILE		*f;
	pid_t		 pid, found = -1;

	assert_non_null(d = opendir("/proc"));
	while (found == -1 && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (stat_field(pid, 4) != ppid)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(name, sizeof(name), f) != NULL) {
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, comm) == 0)
				found = pid;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Gone, or a zombie nobody has reaped yet: either way, not running. */
static int
is_dead(pid_t pid)
{
	long	 st = stat_field(pid, 3);

	return st == -1 || st == 'Z' || st == 'X';
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* --- spawning --- */

static void
test_given_shell_size(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	spec.rows = 40;
	spec.cols = 100;
	t = start(&spec);
	assert_string_equal(t->p.shell, "/bin/sh");
	assert_string_equal(t->p.cwd, "/");
	/* A named shell runs as is: argv[0] the name, no login "-". */
	assert_true(wait_argv0(t->p.pid, "/bin/sh"));
	send_str(t, "stty size; pwd\n");
	expect_out(t, "40 100\r\n/\r\n", 5000);
	finish(t);
}

static void
test_default_size(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	send_str(t, "stty size\n");
	expect_out(t, "24 80\r\n", 5000);
	finish(t);
}

/* No shell given: the user's, as a login shell, in the user's home. */
static void
test_login_shell(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	char		 want[PATH_MAX + 8];

	(void)state;
	spec_init(&spec, NULL, NULL);
	t = start(&spec);
	assert_string_equal(t->p.shell, "/bin/sh");
	assert_string_equal(t->p.cwd, thome);
	assert_true(wait_argv0(t->p.pid, "-sh"));
	sync_shell(t);
	send_str(t, "pwd\n");
	snprintf(want, sizeof(want), "%s\r\n", thome);
	expect_out(t, want, 5000);
	finish(t);
}

/* A relative cwd starts from home, where ssh would have landed. */
static void
test_relative_cwd(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	char		 sub[PATH_MAX + 8], want[PATH_MAX + 16];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", thome);
	assert_true(mkdir(sub, 0700) == 0 || errno == EEXIST);
	spec_init(&spec, "/bin/sh", "sub");
	t = start(&spec);
	assert_string_equal(t->p.cwd, sub);
	sync_shell(t);
	send_str(t, "pwd\n");
	snprintf(want, sizeof(want), "%s\r\n", sub);
	expect_out(t, want, 5000);
	finish(t);
	rmdir(sub);
}

static void
test_controlling_tty(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	pid_t		 sl;
	long		 end;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	sync_shell(t);
	/* Its own session, led by it, on a tty that is its own. */
	assert_int_equal(stat_field(t->p.pid, 6), t->p.pid);
	assert_int_equal(stat_field(t->p.pid, 5), t->p.pid);
	assert_true(stat_field(t->p.pid, 7) != 0);
	assert_true(stat_field(t->p.pid, 8) > 0);

	send_str(t, "sleep 100\n");
	end = now_ms() + 5000;
	while ((sl = find_child(t->p.pid, "sleep")) == -1 && now_ms() < end)
		msleep(5);
	assert_true(sl > 0);
	/* The sleep is the terminal's foreground group. */
	end = now_ms() + 5000;
	while (stat_field(t->p.pid, 8) != stat_field(sl, 5) && now_ms() < end)
		msleep(5);
	assert_int_equal(stat_field(t->p.pid, 8), stat_field(sl, 5));
	assert_int_equal(stat_field(sl, 7), stat_field(t->p.pid, 7));

	send_str(t, "\x03");
	end = now_ms() + 1000;
	while (!is_dead(sl) && now_ms() < end)
		msleep(5);
	assert_true(is_dead(sl));
	send_str(t, "echo done-$((1+1))\n");
	expect_out(t, "done-2", 1000);
	finish(t);
}

static void
test_clean_env(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	char		 want[PATH_MAX + 16];

	(void)state;
	assert_int_equal(setenv("FOO_SECRET", "1", 1), 0);
	assert_int_equal(setenv("COLUMNS", "33", 1), 0);
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	sync_shell(t);
	send_str(t, "env; echo END-$((2+3))\n");
	expect_out(t, "END-5", 5000);
	assert_null(strstr(t->out, "FOO_SECRET"));
	assert_null(strstr(t->out, "COLUMNS="));
	assert_null(strstr(t->out, "LINES="));
	assert_non_null(strstr(t->out, "\nTERM=xterm-256color\r"));
	assert_non_null(strstr(t->out, "\nLANG=C.UTF-8\r"));
	assert_non_null(strstr(t->out, "\nSHELL=/bin/sh\r"));
	snprintf(want, sizeof(want), "\nHOME=%s\r", thome);
	assert_non_null(strstr(t->out, want));
	snprintf(want, sizeof(want), "\nUSER=%s\r", tname);
	assert_non_null(strstr(t->out, want));
	snprintf(want, sizeof(want), "\nLOGNAME=%s\r", tname);
	assert_non_null(strstr(t->out, want));
	assert_non_null(strstr(t->out, getuid() == 0 ?
	    "\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
	    "/sbin:/bin\r" : "\nPATH=/usr/local/bin:/usr/bin:/bin\r"));
	finish(t);
	unsetenv("FOO_SECRET");
	unsetenv("COLUMNS");
}

static void
test_extra_env(void **state)
{
	const char *const	 extra[] = { "LANG=en_US.UTF-8",
				    "PORTACODE_TERMINAL_ID=abc123",
				    "TERM=vt100", NULL };
	struct pty_spec		 spec;
	struct term		*t;
	const char		*p;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	spec.extra_env = extra;
	t = start(&spec);
	sync_shell(t);
	send_str(t, "env; echo END-$((2+3))\n");
	expect_out(t, "END-5", 5000);
	assert_non_null(p = strstr(t->out, "\nLANG=en_US.UTF-8\r"));
	assert_null(strstr(p + 1, "\nLANG="));
	assert_null(strstr(t->out, "LANG=C.UTF-8"));
	assert_non_null(strstr(t->out, "\nTERM=vt100\r"));
	assert_null(strstr(t->out, "xterm-256color"));
	assert_non_null(strstr(t->out, "\nPORTACODE_TERMINAL_ID=abc123\r"));
	finish(t);
}

/* Nothing of ours reaches the program: no fds, no signal state. */
static void
test_hygiene(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	struct sigaction sa;
	sigset_t	 set, old;
	DIR		*d;
	struct dirent	*de;
	char		 path[300], link[PATH_MAX], tty[PATH_MAX], buf[8192];
	char		*p;
	ssize_t		 n;
	int		 leak, nfd = 0;
	FILE		*f;

	(void)state;
	/* An fd without close-on-exec, an ignored and a blocked signal. */
	assert_true((leak = open("/dev/null", O_RDONLY)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);

	spec_init(&spec, "cat", "/");
	t = start(&spec);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR2, &sa, NULL);
	close(leak);
	assert_true(wait_argv0(t->p.pid, "cat"));

	snprintf(path, sizeof(path), "/proc/%ld/fd/0", (long)t->p.pid);
	assert_true((n = readlink(path, tty, sizeof(tty) - 1)) > 0);
	tty[n] = '\0';
	assert_true(strncmp(tty, "/dev/pts/", 9) == 0);
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)t->p.pid);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s",
		    (long)t->p.pid, de->d_name);
		assert_true((n = readlink(path, link, sizeof(link) - 1)) > 0);
		link[n] = '\0';
		assert_string_equal(link, tty);
		nfd++;
	}
	closedir(d);
	assert_int_equal(nfd, 3);

	/* cat echoes UTF-8 through the line discipline unchanged. */
	send_str(t, "h\xc3\xa9llo \xf0\x9f\x98\x80\n");
	expect_out(t, "h\xc3\xa9llo \xf0\x9f\x98\x80\r\n"
	    "h\xc3\xa9llo \xf0\x9f\x98\x80\r\n", 5000);

	/* Only now is cat surely past exec: before it, the mask is in flux. */
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)t->p.pid);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/*
	 * Signals 32 and 33 are glibc's own (thread cancellation, setxid);
	 * glibc will not let a program block, unblock or set their action,
	 * so what a parent left there says nothing about our reset.
	 */
	assert_non_null(p = strstr(buf, "SigBlk:\t"));
	assert_int_equal(strtoull(p + 8, NULL, 16) & ~0x180000000ULL, 0);
	assert_non_null(p = strstr(buf, "SigIgn:\t"));
	assert_int_equal(strtoull(p + 8, NULL, 16) & ~0x180000000ULL, 0);
	/* IUTF8: erasing (DEL) a character takes all of its bytes. */
	clear_out(t);
	send_str(t, "ab\xc3\xa9\x7f" "c\n");
	expect_out(t, "\nabc\r\n", 5000);
	finish(t);
}

/* Fails before the fork: no child, no fd left, the reason in err. */
static void
expect_fail(const struct pty_spec *spec, const char *want)
{
	struct pty_proc	 p;
	char		 err[512];
	int		 nfd = count_fds();

	memset(err, 'x', sizeof(err));
	assert_int_equal(pty_spawn(spec, &p, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(p.pid, -1);
	assert_int_equal(p.master, -1);
	assert_int_equal(count_fds(), nfd);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_bad_cwd(void **state)
{
	struct pty_spec	 spec;
	char		 want[PATH_MAX + 64];

	(void)state;
	spec_init(&spec, "/bin/sh", "/nonexistent-pty-test");
	expect_fail(&spec, "cwd /nonexistent-pty-test: No such file or "
	    "directory");
	spec_init(&spec, "/bin/sh", "/etc/passwd");
	expect_fail(&spec, "cwd /etc/passwd: Not a directory");
	spec_init(&spec, "/bin/sh", "no-such-subdir");
	snprintf(want, sizeof(want), "cwd %s/no-such-subdir: No such file or "
	    "directory", thome);
	expect_fail(&spec, want);
}

/* No cwd and no home: "/" and a word about it, as sshd does. */
static void
test_missing_home(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;

	(void)state;
	spec_init(&spec, NULL, NULL);
	tpw.pw_dir = "/nonexistent-home";
	t = start(&spec);
	tpw.pw_dir = thome;
	assert_string_equal(t->p.cwd, "/");
	expect_out(t, "Could not chdir to home directory /nonexistent-home: "
	    "No such file or directory\r\n", 5000);
	sync_shell(t);
	send_str(t, "pwd; echo $HOME\n");
	expect_out(t, "/\r\n/nonexistent-home\r\n", 5000);
	finish(t);
}

static void
test_bad_shell(void **state)
{
	struct pty_spec	 spec;
	char		 bad[PATH_MAX + 8];
	int		 fd;

	(void)state;
	spec_init(&spec, "/nonexistent/sh", "/");
	expect_fail(&spec, "shell /nonexistent/sh: No such file or directory");
	snprintf(bad, sizeof(bad), "%s/noexec", thome);
	assert_true((fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	close(fd);
	spec_init(&spec, bad, "/");
	{
		char	 want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "shell %s: Permission denied",
		    bad);
		expect_fail(&spec, want);
	}
	unlink(bad);
	spec_init(&spec, "/tmp", "/");
	expect_fail(&spec, "shell /tmp: Is a directory");
	spec_init(&spec, "no-such-shell-xyz", "/");
	expect_fail(&spec, "shell no-such-shell-xyz: not found in PATH");
	spec_init(&spec, "bin/sh", "/");
	expect_fail(&spec, "shell must be an absolute path or a command name");
	spec_init(&spec, "./sh", "/");
	expect_fail(&spec, "shell must be an absolute path or a command name");
	/* The login shell is checked too. */
	spec_init(&spec, NULL, "/");
	tpw.pw_shell = "/nonexistent/bash";
	expect_fail(&spec, "shell /nonexistent/bash: No such file or "
	    "directory");
	tpw.pw_shell = "/bin/sh";
}

static void
test_bad_size(void **state)
{
	struct pty_spec	 spec;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	spec.rows = 1001;
	expect_fail(&spec, "rows and cols must be 1..1000");
	spec.rows = -1;
	expect_fail(&spec, "rows and cols must be 1..1000");
	spec.rows = 10;
	spec.cols = 1001;
	expect_fail(&spec, "rows and cols must be 1..1000");
}

static void
test_bad_env(void **state)
{
	const char *const	 extra[] = { "GOOD=1", "BAD", NULL };
	const char *const	 extra2[] = { "=x", NULL };
	struct pty_spec		 spec;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	spec.extra_env = extra;
	expect_fail(&spec, "bad environment entry \"BAD\"");
	spec.extra_env = extra2;
	expect_fail(&spec, "bad environment entry \"=x\"");
}

/* A bare name is looked up in the PATH the shell itself will get. */
static void
test_bare_name(void **state)
{
	const char *const	 nopath[] = { "PATH=/nonexistent-dir", NULL };
	const char *const	 binpath[] = { "PATH=/bin", NULL };
	struct pty_spec		 spec;
	struct term		*t;

	(void)state;
	spec_init(&spec, "sh", "/");
	t = start(&spec);
	assert_true(strcmp(t->p.shell, "/usr/bin/sh") == 0 ||
	    strcmp(t->p.shell, "/bin/sh") == 0);
	assert_true(wait_argv0(t->p.pid, "sh"));
	sync_shell(t);
	finish(t);

	spec.extra_env = nopath;
	expect_fail(&spec, "shell sh: not found in PATH");
	spec.extra_env = binpath;
	t = start(&spec);
	assert_string_equal(t->p.shell, "/bin/sh");
	finish(t);
}

static void
test_resize(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	send_str(t, "stty size\n");
	expect_out(t, "24 80\r\n", 5000);
	assert_int_equal(pty_resize(t->p.master, 50, 132), 0);
	clear_out(t);
	send_str(t, "stty size\n");
	expect_out(t, "50 132\r\n", 5000);
	assert_int_equal(pty_resize(t->p.master, 1, 1000), 0);
	clear_out(t);
	send_str(t, "stty size\n");
	expect_out(t, "1 1000\r\n", 5000);

	errno = 0;
	assert_int_equal(pty_resize(t->p.master, 0, 80), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pty_resize(t->p.master, 24, 1001), -1);
	assert_int_equal(pty_resize(t->p.master, -5, 80), -1);
	finish(t);
}

/* The program in the foreground hears about a resize. */
static void
test_resize_sigwinch(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	/*
	 * SIGWINCH goes to the foreground group: a program that waits for
	 * it, in its own job, not the interactive shell.
	 */
	send_str(t, "sh -c 'trap \"echo winch-$((3*3)); exit\" WINCH; "
	    "echo ready-$((1+1)); while :; do sleep 0.05; done'\n");
	expect_out(t, "ready-2", 5000);
	assert_int_equal(pty_resize(t->p.master, 30, 90), 0);
	expect_out(t, "winch-9", 5000);
	finish(t);
}

static void
test_signal_group(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	char		*p;
	pid_t		 bg, r;
	int		 st, got_bg = 0, got_sh = 0;
	long		 end;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	send_str(t, "sleep 100 & echo bg=$!=$((6*7))\n");
	expect_out(t, "=42\r\n", 5000);
	/* The echo of the command line has "$!", the output has digits. */
	for (p = t->out; (p = strstr(p, "bg=")) != NULL; p++)
		if (isdigit((unsigned char)p[3]))
			break;
	assert_non_null(p);
	bg = atoi(p + 3);
	assert_true(bg > 1);
	assert_int_equal(kill(bg, 0), 0);
	/* Same session, but job control gave it a group of its own. */
	assert_int_equal(stat_field(bg, 6), t->p.pid);
	assert_true(stat_field(bg, 5) != t->p.pid);

	assert_int_equal(pty_signal_group(t->p.pid, 0), 0);
	assert_int_equal(pty_signal_group(t->p.pid, SIGKILL), 0);
	/* We are the subreaper: the orphaned sleep comes to us. */
	end = now_ms() + 3000;
	while ((!got_bg || !got_sh) && now_ms() < end) {
		r = waitpid(-1, &st, WNOHANG);
		if (r == 0) {
			msleep(5);
			continue;
		}
		assert_true(r > 0);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGKILL);
		if (r == bg)
			got_bg = 1;
		if (r == t->p.pid)
			got_sh = 1;
	}
	assert_true(got_sh);
	assert_true(got_bg);
	errno = 0;
	assert_int_equal(pty_signal_group(t->p.pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	finish(t);

	errno = 0;
	assert_int_equal(pty_signal_group(1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pty_signal_group(0, 0), -1);
	assert_int_equal(pty_signal_group(-1, 0), -1);
}

/* When the program ends the master reports it: no slave kept open here. */
static void
test_exit_status(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	int		 st;

	(void)state;
	spec_init(&spec, "/bin/sh", "/");
	t = start(&spec);
	send_str(t, "exit 3\n");
	assert_true(read_eof(t, 5000));
	assert_int_equal(waitpid(t->p.pid, &st, 0), t->p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	finish(t);
}

/* A file that passes the checks but cannot be executed: exit 127. */
static void
test_exec_failure(void **state)
{
	struct pty_spec	 spec;
	struct term	*t;
	char		 bad[PATH_MAX + 8];
	int		 fd, st;

	(void)state;
	snprintf(bad, sizeof(bad), "%s/garbage", thome);
	assert_true((fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0755)) >= 0);
	assert_int_equal(write(fd, "\x7f" "ELF\x01\x01", 6), 6);
	close(fd);
	spec_init(&spec, bad, "/");
	t = start(&spec);
	expect_out(t, "portacoded: exec ", 5000);
	assert_int_equal(waitpid(t->p.pid, &st, 0), t->p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);
	finish(t);
	unlink(bad);
}

/* --- UTF-8 --- */

struct dec {
	struct utf8_carry	 c;
	char			*out;
	size_t			 len, cap;
};

static void
dec_feed(struct dec *d, const char *in, size_t len)
{
	size_t	 before = d->len, added;

	added = utf8_stream(&d->c, in, len, &d->out, &d->len, &d->cap);
	assert_int_equal(added, d->len - before);
	assert_true(d->c.len <= 3);
	assert_true(d->cap > d->len);
	assert_int_equal(d->out[d->len], '\0');
}

static void
dec_end(struct dec *d)
{
	size_t	 before = d->len, added;

	added = utf8_stream_end(&d->c, &d->out, &d->len, &d->cap);
	assert_int_equal(added, d->len - before);
	assert_int_equal(d->c.len, 0);
}

/* Decodes in three chunks split at i and j; want is the whole output. */
static void
check_split(const char *in, size_t len, const char *want, size_t wlen,
    size_t i, size_t j)
{
	struct dec	 d;

	memset(&d, 0, sizeof(d));
	dec_feed(&d, in, i);
	dec_feed(&d, in + i, j - i);
	dec_feed(&d, in + j, len - j);
	dec_end(&d);
	if (d.len != wlen || memcmp(d.out, want, wlen) != 0)
		fail_msg("split %zu/%zu of %zu bytes: got %zu bytes, want %zu",
		    i, j, len, d.len, wlen);
	free(d.out);
}

/* The output must not depend on how the input was chunked. */
static void
check_all_splits(const char *in, size_t len, const char *want, size_t wlen)
{
	size_t	 i, j;

	for (i = 0; i <= len; i++)
		for (j = i; j <= len; j++)
			check_split(in, len, want, wlen, i, j);
}

#define CHECK(in, want) \
	check_all_splits(in, sizeof(in) - 1, want, sizeof(want) - 1)
#define R	"\xef\xbf\xbd"

static void
test_utf8_valid(void **state)
{
	struct dec	 d;
	const char	 s[] = "a\xc3\xa9" "b\xe2\x82\xac" "\xf0\x9f\x98\x80"
			    "z\xe0\xa0\x80\xed\x9f\xbf\xf4\x8f\xbf\xbf"
			    "\xef\xbf\xbd";
	size_t		 i;

	(void)state;
	CHECK(s, s);
	CHECK("", "");
	/* NUL is a character: it passes through. */
	CHECK("a\0b", "a\0b");

	/* Byte by byte. */
	memset(&d, 0, sizeof(d));
	for (i = 0; i < sizeof(s) - 1; i++)
		dec_feed(&d, s + i, 1);
	dec_end(&d);
	assert_int_equal(d.len, sizeof(s) - 1);
	assert_memory_equal(d.out, s, d.len);
	free(d.out);
}

static void
test_utf8_invalid(void **state)
{
	(void)state;
	CHECK("a\xff" "b", "a" R "b");
	CHECK("\xe2\x82", R);				/* cut off by EOF */
	CHECK("\xe2\x82" "A", R "A");
	CHECK("\xf0\x9f\x98", R);
	CHECK("\xf0\x9f\x98" "A", R "A");
	CHECK("\xc0\xaf", R R);				/* C0 is never valid */
	CHECK("\xc1\xbf", R R);
	CHECK("\xe0\x80\xaf", R R R);			/* overlong */
	CHECK("\xf0\x80\x80\xaf", R R R R);		/* overlong */
	CHECK("\xed\xa0\x80", R R R);			/* surrogate */
	CHECK("\xed\xbf\xbf", R R R);
	CHECK("\xf4\x90\x80\x80", R R R R);		/* > U+10FFFF */
	CHECK("\xf5\x80", R R);
	CHECK("\x80", R);				/* stray continuation */
	CHECK("\x80\xbf\x80", R R R);
	CHECK("\xc2", R);
	CHECK("\xc2\xc2\xa9", R "\xc2\xa9");
	CHECK("\xe2\x82\xe2\x82\xac", R "\xe2\x82\xac");
	CHECK("\xf0\x9f\xe2\x82\xac" "x", R "\xe2\x82\xac" "x");
	CHECK("\xe2\x82\x00", R "\x00");
	/* Unicode 6.0 table 3-8's example. */
	CHECK("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
	    "a" R R R "b" R "c" R R "d");
}

/* The caller's buffer grows as needed, from nothing and from small. */
static void
test_utf8_growth(void **state)
{
	struct dec	 d;
	char		*in;
	size_t		 n = 100000, i;

	(void)state;
	in = malloc(n);
	assert_non_null(in);
	memset(in, 0xff, n);
	memset(&d, 0, sizeof(d));
	dec_feed(&d, in, n);
	assert_int_equal(d.len, 3 * n);
	for (i = 0; i < n; i++)
		assert_memory_equal(d.out + 3 * i, R, 3);
	free(d.out);

	/* Appends after what is there already. */
	memset(&d, 0, sizeof(d));
	d.cap = 4;
	d.out = malloc(d.cap);
	memcpy(d.out, "ab", 2);
	d.len = 2;
	memset(in, 'x', n);
	dec_feed(&d, in, n);
	dec_feed(&d, "\xe2", 1);
	assert_int_equal(d.len, n + 2);
	dec_end(&d);
	assert_int_equal(d.len, n + 5);
	assert_memory_equal(d.out, "abxx", 4);
	assert_memory_equal(d.out + n + 2, R, 3);
	free(d.out);
	free(in);
}

static int
setup_all(void **state)
{
	struct passwd	*pw;
	char		 tmpl[] = "/tmp/test_pty.XXXXXX";

	(void)state;
	if ((pw = getpwuid(getuid())) == NULL)
		return -1;
	snprintf(tname, sizeof(tname), "%s", pw->pw_name);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(thome, sizeof(thome), "%s", tmpl);
	tpw = *pw;
	tpw.pw_name = tname;
	tpw.pw_dir = thome;
	tpw.pw_shell = "/bin/sh";
	/* Orphans of the shells come back to be reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		return -1;
	return 0;
}

static int
teardown_all(void **state)
{
	const char	*left[] = { "sub", "noexec", "garbage" };
	char		 path[PATH_MAX + 16];
	size_t		 i;

	(void)state;
	/* What a failed test may have left. */
	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", thome, left[i]);
		(void)unlink(path);
		(void)rmdir(path);
	}
	rmdir(thome);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_given_shell_size, teardown),
		cmocka_unit_test_teardown(test_default_size, teardown),
		cmocka_unit_test_teardown(test_login_shell, teardown),
		cmocka_unit_test_teardown(test_relative_cwd, teardown),
		cmocka_unit_test_teardown(test_controlling_tty, teardown),
		cmocka_unit_test_teardown(test_clean_env, teardown),
		cmocka_unit_test_teardown(test_extra_env, teardown),
		cmocka_unit_test_teardown(test_hygiene, teardown),
		cmocka_unit_test_teardown(test_bad_cwd, teardown),
		cmocka_unit_test_teardown(test_missing_home, teardown),
		cmocka_unit_test_teardown(test_bad_shell, teardown),
		cmocka_unit_test_teardown(test_bad_size, teardown),
		cmocka_unit_test_teardown(test_bad_env, teardown),
		cmocka_unit_test_teardown(test_bare_name, teardown),
		cmocka_unit_test_teardown(test_resize, teardown),
		cmocka_unit_test_teardown(test_resize_sigwinch, teardown),
		cmocka_unit_test_teardown(test_signal_group, teardown),
		cmocka_unit_test_teardown(test_exit_status, teardown),
		cmocka_unit_test_teardown(test_exec_failure, teardown),
		cmocka_unit_test_teardown(test_utf8_valid, teardown),
		cmocka_unit_test_teardown(test_utf8_invalid, teardown),
		cmocka_unit_test_teardown(test_utf8_growth, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init(1, getenv("PTY_TEST_DEBUG") != NULL ? LOGLEVEL_DEBUG :
	    LOGLEVEL_QUIET);
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
