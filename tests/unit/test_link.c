/*
 * Link capture: the private directory, the helper program end to end,
 * request validation, throttling and hostile clients of the socket.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "term/link.h"

#define TERM_ID		"0123456789abcdef"

struct seen {
	int	 n;
	char	 terminal_id[128];
	char	 command[64];
	char	 url[LINK_MAX_URL + 1];
	pid_t	 pid;
};

static struct event_base	*base;
static struct seen		 seen;
static char			 helper[PATH_MAX];
static char			 xdg[64];
static int			 have_helper;

static void
on_link(const struct link_request *req, void *arg)
{
	assert_ptr_equal(arg, &seen);
	seen.n++;
	snprintf(seen.terminal_id, sizeof(seen.terminal_id), "%s",
	    req->terminal_id);
	snprintf(seen.command, sizeof(seen.command), "%s", req->command);
	snprintf(seen.url, sizeof(seen.url), "%s", req->url);
	seen.pid = req->pid;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
spin(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(1000);
}

/* Keep the event loop going for secs. */
static void
spin_for(double secs)
{
	double	 end = now() + secs;

	while (now() < end)
		spin();
}

static void
rm_rf(const char *path)
{
	char	*cmd;

	if (asprintf(&cmd, "rm -rf -- '%s'", path) == -1)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
	free(cmd);
}

static int
group_setup(void **state)
{
	const char	*env = getenv("LINK_HELPER");
	const char	*bd = getenv("builddir");
	char		 abs[PATH_MAX];

	(void)state;
	if (env != NULL)
		snprintf(helper, sizeof(helper), "%s", env);
	else
		snprintf(helper, sizeof(helper), "%s/portacoded-link",
		    bd != NULL ? bd : ".");
	/* link_init wants an absolute path. */
	if (realpath(helper, abs) != NULL)
		snprintf(helper, sizeof(helper), "%s", abs);
	have_helper = access(helper, X_OK) == 0;
	if (!have_helper)
		fprintf(stderr, "test_link: helper %s not built; set "
		    "LINK_HELPER or builddir; skipping the tests that need "
		    "it\n", helper);
	return 0;
}

static int
setup(void **state)
{
	char	 err[256];

	(void)state;
	memset(&seen, 0, sizeof(seen));
	snprintf(xdg, sizeof(xdg), "/tmp/test_link.XXXXXX");
	if (mkdtemp(xdg) == NULL)
		return -1;
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	if ((base = event_base_new()) == NULL)
		return -1;
	if (have_helper &&
	    link_init(base, helper, on_link, &seen, err, sizeof(err)) == -1) {
		fprintf(stderr, "link_init: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	link_shutdown();
	event_base_free(base);
	base = NULL;
	rm_rf(xdg);
	unsetenv("XDG_RUNTIME_DIR");
	return 0;
}

#define NEED_HELPER() do {						\
	if (!have_helper) {						\
		skip();							\
	}								\
} while (0)

struct run {
	int	 status;		/* exit code, or -1 */
	char	 err[1024];		/* its stderr */
	pid_t	 pid;
};

enum { ENV_ALL, ENV_NO_ID, ENV_NO_SOCK, ENV_BAD_SOCK };

/*
 * Run argv (argv[0] a path, or a name looked up in a PATH that starts
 * with the link bin directory) while driving the event loop.
 */
static void
run_helper(struct run *r, int envmode, char *const argv[])
{
	int	 p[2], st, fl;
	size_t	 len = 0;
	ssize_t	 n;
	double	 end;
	pid_t	 pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char	 path[PATH_MAX];

		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		snprintf(path, sizeof(path), "%s:/usr/bin:/bin", link_bindir());
		setenv("PATH", path, 1);
		setenv("PORTACODE_TERMINAL_ID", TERM_ID, 1);
		setenv("PORTACODE_LINK_SOCKET", link_socket(), 1);
		if (envmode == ENV_NO_ID)
			unsetenv("PORTACODE_TERMINAL_ID");
		else if (envmode == ENV_NO_SOCK)
			unsetenv("PORTACODE_LINK_SOCKET");
		else if (envmode == ENV_BAD_SOCK)
			setenv("PORTACODE_LINK_SOCKET", "/nonexistent/link.sock",
			    1);
		execvp(argv[0], argv);
		_exit(127);
	}
	r->pid = pid;
	close(p[1]);
	fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	end = now() + 10;
	for (;;) {
		spin();
		n = read(p[0], r->err + len, sizeof(r->err) - 1 - len);
		if (n > 0)
			len += n;
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("helper did not finish");
		}
	}
	while ((n = read(p[0], r->err + len, sizeof(r->err) - 1 - len)) > 0)
		len += n;
	close(p[0]);
	r->err[len] = '\0';
	if (WIFEXITED(st))
		r->status = WEXITSTATUS(st);
}

static int
raw_connect(void)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", link_socket());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/*
 * Read what the server says on fd until it closes; "" if it closed
 * without a word. Fails the test if it stays open for secs.
 */
static const char *
raw_answer(int fd, double secs)
{
	static char	 ans[64];
	size_t		 len = 0;
	ssize_t		 n;
	double		 end = now() + secs;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		spin();
		n = read(fd, ans + len, sizeof(ans) - 1 - len);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			break;
		if (n > 0)
			len += n;
		if (now() > end)
			fail_msg("server kept the connection open");
	}
	close(fd);
	ans[len] = '\0';
	return ans;
}

static const char *
raw_send(const void *buf, size_t len, int shut)
{
	int	 fd = raw_connect();

	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	if (shut)
		shutdown(fd, SHUT_WR);
	return raw_answer(fd, 5);
}

/* A well-formed request with the given fields. */
static const char *
raw_request(const char *id, const char *cmd, const char *url)
{
	char	 buf[16384];
	size_t	 len;

	len = snprintf(buf, sizeof(buf), "PCLINK1%c%s%c%s%c%s%c", 0, id, 0,
	    cmd, 0, url, 0);
	assert_true(len < sizeof(buf));
	return raw_send(buf, len, 0);
}

static void
test_openers(void **state)
{
	static const char *const text[] = { "lynx", "links", "links2",
	    "elinks", "w3m", "netsurf", "www-browser", "browsh", NULL };
	static const char *const want[] = { "xdg-open", "x-www-browser",
	    "sensible-browser", "gio-open", "gnome-open", "gvfs-open",
	    "kde-open", "kde-open5", "kfmclient", "mate-open", NULL };
	int	 i, j, found;

	(void)state;
	for (i = 0; link_openers[i] != NULL; i++)
		;
	assert_int_equal(i, 10);
	for (i = 0; want[i] != NULL; i++) {
		for (found = 0, j = 0; link_openers[j] != NULL; j++)
			found += strcmp(link_openers[j], want[i]) == 0;
		assert_int_equal(found, 1);
	}
	for (i = 0; text[i] != NULL; i++)
		for (j = 0; link_openers[j] != NULL; j++)
			assert_string_not_equal(link_openers[j], text[i]);
}

static void
test_layout(void **state)
{
	struct stat	 st;
	char		 path[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
	const char	*bin = link_bindir(), *sock = link_socket();
	ssize_t		 n;
	int		 i;

	(void)state;
	NEED_HELPER();
	assert_non_null(bin);
	assert_non_null(sock);
	/* <xdg>/portacoded-term-XXXXXX/{bin,link.sock} */
	snprintf(path, sizeof(path), "%s/portacoded-term-", xdg);
	assert_memory_equal(bin, path, strlen(path));
	snprintf(dir, sizeof(dir), "%s", bin);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(strlen(dir), strlen(path) + 6);
	assert_string_equal(bin + strlen(dir), "/bin");
	assert_memory_equal(sock, dir, strlen(dir));
	assert_string_equal(sock + strlen(dir), "/link.sock");

	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(lstat(bin, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	for (i = 0; link_openers[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", bin, link_openers[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		n = readlink(path, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, helper);
	}
	snprintf(path, sizeof(path), "%s/lynx", bin);
	assert_int_equal(lstat(path, &st), -1);
}

/* XDG_RUNTIME_DIR only when it is private and ours; /tmp otherwise. */
static void
test_base_choice(void **state)
{
	char		 err[256];
	const char	*tmp = "/tmp/portacoded-term-";

	(void)state;
	NEED_HELPER();
	link_shutdown();

	assert_int_equal(chmod(xdg, 0755), 0);
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_memory_equal(link_socket(), tmp, strlen(tmp));
	link_shutdown();

	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_memory_equal(link_socket(), tmp, strlen(tmp));
	link_shutdown();

	setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_memory_equal(link_socket(), tmp, strlen(tmp));
	link_shutdown();

	setenv("XDG_RUNTIME_DIR", xdg, 1);
	assert_int_equal(chmod(xdg, 0700), 0);
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_memory_equal(link_socket(), xdg, strlen(xdg));
}

static void
test_init_errors(void **state)
{
	char	 err[256];

	(void)state;
	NEED_HELPER();
	/* Already set up by the fixture. */
	err[0] = '\0';
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), -1);
	assert_true(err[0] != '\0');
	link_shutdown();
	assert_null(link_bindir());
	assert_null(link_socket());

	err[0] = '\0';
	assert_int_equal(link_init(base, "portacoded-link", on_link, &seen,
	    err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_int_equal(link_init(base, "/nonexistent/portacoded-link",
	    on_link, &seen, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_null(link_socket());
	/* And it still works afterwards. */
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_non_null(link_socket());
}

static void
test_open(void **state)
{
	char		 path[PATH_MAX];
	char		*argv[] = { path, "https://example.com/x", NULL };
	struct run	 r;

	(void)state;
	NEED_HELPER();
	snprintf(path, sizeof(path), "%s/xdg-open", link_bindir());
	run_helper(&r, ENV_ALL, argv);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.terminal_id, TERM_ID);
	assert_string_equal(seen.command, "xdg-open");
	assert_string_equal(seen.url, "https://example.com/x");
	assert_int_equal(seen.pid, r.pid);
}

/* Found through PATH, other argument conventions, the helper's own name. */
static void
test_open_variants(void **state)
{
	char		*a1[] = { "sensible-browser", "http://a.example/1", NULL };
	char		*a2[] = { "kfmclient", "exec", "http://a.example/2",
	    NULL };
	char		*a3[] = { "gio-open", "--", "file:///etc/hosts", NULL };
	char		 self[PATH_MAX];
	char		*a4[] = { self, "mate-open", "mailto:a@example.org",
	    NULL };
	struct run	 r;

	(void)state;
	NEED_HELPER();
	snprintf(self, sizeof(self), "%s", helper);

	run_helper(&r, ENV_ALL, a1);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.command, "sensible-browser");
	assert_string_equal(seen.url, "http://a.example/1");

	run_helper(&r, ENV_ALL, a2);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.command, "kfmclient");
	assert_string_equal(seen.url, "http://a.example/2");

	run_helper(&r, ENV_ALL, a3);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.command, "gio-open");
	assert_string_equal(seen.url, "file:///etc/hosts");

	run_helper(&r, ENV_ALL, a4);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.command, "mate-open");
	assert_string_equal(seen.url, "mailto:a@example.org");
}

static void
test_throttle(void **state)
{
	char	*a[] = { "xdg-open", "https://example.com/same", NULL };
	char	*b[] = { "xdg-open", "https://example.com/other", NULL };
	struct run	 r;

	(void)state;
	NEED_HELPER();
	run_helper(&r, ENV_ALL, a);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 1);
	/* A repeat is answered "ok" (the user's click was delivered)... */
	run_helper(&r, ENV_ALL, a);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(seen.n, 1);
	/* ... and the pair is what counts: other URL, other terminal. */
	run_helper(&r, ENV_ALL, b);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.url, "https://example.com/other");
	assert_string_equal(raw_request("abc", "xdg-open",
	    "https://example.com/same"), "ok\n");
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.terminal_id, "abc");
	/* Once the window has passed, the same pair goes out again. */
	spin_for(LINK_REPEAT_SECS + 0.2);
	run_helper(&r, ENV_ALL, a);
	assert_int_equal(r.status, 0);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.url, "https://example.com/same");
}

/* The table of recent pairs is bounded: the oldest entry makes room. */
static void
test_throttle_bounded(void **state)
{
	char	 url[128];
	int	 i;

	(void)state;
	NEED_HELPER();
	for (i = 0; i < 65; i++) {
		snprintf(url, sizeof(url), "https://example.com/%d", i);
		assert_string_equal(raw_request("1", "xdg-open", url), "ok\n");
	}
	assert_int_equal(seen.n, 65);
	/* 64 is still remembered; 0 was evicted. */
	assert_string_equal(raw_request("1", "xdg-open",
	    "https://example.com/64"), "ok\n");
	assert_int_equal(seen.n, 65);
	assert_string_equal(raw_request("1", "xdg-open",
	    "https://example.com/0"), "ok\n");
	assert_int_equal(seen.n, 66);
}

static void
test_urls(void **state)
{
	static const char *const bad[] = {
		"", "javascript:alert(1)", "javascript://x%0Aalert(1)",
		"data:text/html,<script>x</script>", "vbscript:x",
		"http://", "https:///etc/passwd", "http:example.com",
		"https://exa\x01mple.com", "https://example.com/\x7f",
		"https://example.com/\t", "https://example.com/\xc2\x85",
		"https://example.com/\xff", "https://example.com/\xc0\xaf",
		"https://example.com/\xed\xa0\x80", "//example.com",
		"example.com", "mailto:", "file://", NULL,
	};
	static const char *const good[] = {
		"HTTPS://Example.COM/", "http://example.com:8080/a?b=c#d",
		"file:///etc/hosts", "ftp://ftp.example.org/pub",
		"mailto:someone@example.org", "MailTo:x@y",
		"https://\xe4\xbe\x8b\xe3\x81\x88.jp/\xc3\xbc",
		"http://[::1]:8000/", NULL,
	};
	char	*big;
	int	 i, n = 0;

	(void)state;
	NEED_HELPER();
	for (i = 0; bad[i] != NULL; i++) {
		assert_string_equal(raw_request(TERM_ID, "xdg-open", bad[i]),
		    "rejected\n");
		assert_int_equal(seen.n, 0);
	}
	for (i = 0; good[i] != NULL; i++) {
		assert_string_equal(raw_request(TERM_ID, "xdg-open", good[i]),
		    "ok\n");
		assert_int_equal(seen.n, ++n);
		assert_string_equal(seen.url, good[i]);
	}

	/* LINK_MAX_URL bytes pass, one more does not. */
	big = malloc(LINK_MAX_URL + 2);
	assert_non_null(big);
	memcpy(big, "https://e/", 10);
	memset(big + 10, 'a', LINK_MAX_URL - 10);
	big[LINK_MAX_URL] = '\0';
	assert_string_equal(raw_request(TERM_ID, "xdg-open", big), "ok\n");
	assert_int_equal(seen.n, ++n);
	assert_int_equal(strlen(seen.url), LINK_MAX_URL);
	big[LINK_MAX_URL] = 'a';
	big[LINK_MAX_URL + 1] = '\0';
	assert_string_equal(raw_request(TERM_ID, "xdg-open", big),
	    "rejected\n");
	assert_int_equal(seen.n, n);
	free(big);
}

/* Through the helper, a refused URL is an error for the caller. */
static void
test_refused_by_helper(void **state)
{
	char		*a[] = { "xdg-open", "javascript://x%0Aalert(1)", NULL };
	char		*b[] = { "xdg-open", "javascript:alert(1)", NULL };
	struct run	 r;

	(void)state;
	NEED_HELPER();
	run_helper(&r, ENV_ALL, a);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: URL refused\n");
	/* No "//": not taken for a URL at all. */
	run_helper(&r, ENV_ALL, b);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: no URL to open\n");
	assert_int_equal(seen.n, 0);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char	*buf;
		size_t		 len;
		const char	*want;
	} cases[] = {
#define C(s, w)	{ s, sizeof(s) - 1, w }
		C("PCLINK2\0" "abc\0xdg-open\0http://x/\0", "rejected\n"),
		C("pclink1\0" "abc\0xdg-open\0http://x/\0", "rejected\n"),
		C("\0abc\0xdg-open\0http://x/\0", "rejected\n"),
		/* Missing field: the peer gives up, we say nothing. */
		C("PCLINK1\0" "abc\0xdg-open\0", ""),
		C("PCLINK1\0" "abc\0xdg-open\0http://x/", ""),
		C("", ""),
		/* Fields out of place or extra. */
		C("PCLINK1\0" "abc\0http://x/\0xdg-open\0", "rejected\n"),
		C("PCLINK1\0" "abc\0xdg-open\0http://x/\0extra\0", "rejected\n"),
		C("PCLINK1\0" "abc\0xdg-open\0http://x/\0junk", "rejected\n"),
		/* Terminal ids and commands. */
		C("PCLINK1\0" "\0xdg-open\0http://x/\0", "rejected\n"),
		C("PCLINK1\0" "ABC\0xdg-open\0http://x/\0", "rejected\n"),
		C("PCLINK1\0" "ab-c\0xdg-open\0http://x/\0", "rejected\n"),
		C("PCLINK1\0" "abc\0lynx\0http://x/\0", "rejected\n"),
		C("PCLINK1\0" "abc\0/usr/bin/xdg-open\0http://x/\0",
		    "rejected\n"),
		C("PCLINK1\0" "abc\0\0http://x/\0", "rejected\n"),
#undef C
	};
	char	 buf[9000];
	char	 id[80];
	size_t	 i;

	(void)state;
	NEED_HELPER();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(raw_send(cases[i].buf, cases[i].len, 1),
		    cases[i].want);
		assert_int_equal(seen.n, 0);
	}
	/* Id length: 64 hex digits pass, 65 do not. */
	memset(id, 'a', 65);
	id[65] = '\0';
	assert_string_equal(raw_request(id, "xdg-open", "http://x/"),
	    "rejected\n");
	id[64] = '\0';
	assert_string_equal(raw_request(id, "xdg-open", "http://x/"), "ok\n");
	assert_int_equal(seen.n, 1);

	/* Oversize: closed once 8 KiB came without a complete request. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PCLINK1\0abc\0xdg-open\0", 21);
	{
		int	 fd = raw_connect();

		/* The server may close before it has read everything. */
		(void)send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		assert_string_equal(raw_answer(fd, 5), "");
	}
	/* Silence: dropped after the 2 s limit, not kept forever. */
	{
		int	 fd = raw_connect();
		double	 t0 = now();

		assert_string_equal(raw_answer(fd, 5), "");
		assert_true(now() - t0 >= 1.5);
	}
	assert_int_equal(seen.n, 1);
	/* The listener still works. */
	assert_string_equal(raw_request("abc", "xdg-open", "http://y/"),
	    "ok\n");
	assert_int_equal(seen.n, 2);
}

/* Idle connections cannot pile up without bound, nor block the rest. */
static void
test_conn_limit(void **state)
{
	int	 fds[40], i, closed = 0;
	char	 c;

	(void)state;
	NEED_HELPER();
	for (i = 0; i < 40; i++) {
		fds[i] = raw_connect();
		spin();
	}
	spin_for(0.05);
	for (i = 0; i < 40; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		if (read(fds[i], &c, 1) == 0)
			closed++;
	}
	assert_true(closed >= 40 - 16);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	spin_for(0.05);
	assert_string_equal(raw_request("abc", "xdg-open", "http://z/"),
	    "ok\n");
	assert_int_equal(seen.n, 1);
}

static void
test_helper_errors(void **state)
{
	char		 path[PATH_MAX];
	char		*url[] = { path, "https://example.com/", NULL };
	char		*nourl[] = { path, "--help", NULL };
	char		*bare[] = { helper, NULL };
	struct run	 r;

	(void)state;
	NEED_HELPER();
	snprintf(path, sizeof(path), "%s/x-www-browser", link_bindir());
	run_helper(&r, ENV_NO_ID, url);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: no URL to open\n");
	run_helper(&r, ENV_NO_SOCK, url);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: no URL to open\n");
	run_helper(&r, ENV_ALL, nourl);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: no URL to open\n");
	run_helper(&r, ENV_ALL, bare);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "portacoded-link: no URL to open\n");
	run_helper(&r, ENV_BAD_SOCK, url);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err,
	    "portacoded-link: cannot reach the terminal service\n");
	assert_int_equal(seen.n, 0);
}

/* Another user who reaches the socket is still turned away. */
static void
test_other_uid(void **state)
{
	char	 dir[PATH_MAX];
	pid_t	 pid;
	int	 st;
	double	 end;

	(void)state;
	NEED_HELPER();
	if (geteuid() != 0) {
		fprintf(stderr, "test_other_uid: needs root, skipped\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "%s", link_socket());
	*strrchr(dir, '/') = '\0';
	/* Open the way on purpose, so that only the uid check remains. */
	assert_int_equal(chmod(xdg, 0711), 0);
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(chmod(link_socket(), 0666), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct sockaddr_un	 sun;
		char			 req[] = "PCLINK1\0abc\0xdg-open\0http://u/";
		char			 ans[16];
		struct timeval		 tv = { 5, 0 };
		int			 fd;

		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    link_socket());
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			_exit(3);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		send(fd, req, sizeof(req), MSG_NOSIGNAL);
		/* Closed without an answer: 0; an answer: 4. */
		_exit(read(fd, ans, sizeof(ans)) <= 0 ? 0 : 4);
	}
	end = now() + 10;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		spin();
		assert_true(now() < end);
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(seen.n, 0);
}

static void
test_shutdown(void **state)
{
	char		 dir[128], path[PATH_MAX];
	struct stat	 st;
	FILE		*f;

	(void)state;
	NEED_HELPER();
	snprintf(dir, sizeof(dir), "%s", link_socket());
	*strrchr(dir, '/') = '\0';
	/* Whatever a user dropped in there goes too. */
	snprintf(path, sizeof(path), "%s/extra", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/extra/file", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	link_shutdown();
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(link_bindir());
	assert_null(link_socket());
	link_shutdown();	/* twice is harmless */
}

static void
make_old_dir(const char *path, int listen_there, int old)
{
	struct timespec	 ts[2];

	assert_int_equal(mkdir(path, 0700), 0);
	if (listen_there) {
		struct sockaddr_un	 sun;
		int			 fd;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/link.sock",
		    path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun,
		    sizeof(sun)), 0);
		assert_int_equal(listen(fd, 1), 0);
		/* Left open until the process ends: a live instance. */
	} else {
		char	 f[PATH_MAX];

		snprintf(f, sizeof(f), "%s/link.sock", path);
		close(open(f, O_CREAT | O_WRONLY, 0600));
	}
	if (old) {
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= 3600;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

/* Directories left by a term that was killed are removed at init. */
static void
test_stale(void **state)
{
	char		 dead[PATH_MAX], live[PATH_MAX], young[PATH_MAX];
	char		 other[PATH_MAX], err[256];
	struct stat	 st;

	(void)state;
	NEED_HELPER();
	link_shutdown();
	snprintf(dead, sizeof(dead), "%s/portacoded-term-aaaaaa", xdg);
	snprintf(live, sizeof(live), "%s/portacoded-term-bbbbbb", xdg);
	snprintf(young, sizeof(young), "%s/portacoded-term-cccccc", xdg);
	snprintf(other, sizeof(other), "%s/portacoded-terminal", xdg);
	make_old_dir(dead, 0, 1);
	make_old_dir(live, 1, 1);
	make_old_dir(young, 0, 0);
	make_old_dir(other, 0, 1);
	assert_int_equal(link_init(base, helper, on_link, &seen, err,
	    sizeof(err)), 0);
	assert_int_equal(lstat(dead, &st), -1);
	assert_int_equal(lstat(live, &st), 0);
	assert_int_equal(lstat(young, &st), 0);
	assert_int_equal(lstat(other, &st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openers),
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_choice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_init_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_variants, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_throttle_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_by_helper, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_conn_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_helper_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_uid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
