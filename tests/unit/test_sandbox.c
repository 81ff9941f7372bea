/*
 * Privilege drop, rlimits and seccomp filters. Each test forks: the child
 * confines itself and tries something, the parent judges by the wait
 * status and what the child wrote to stderr. Child exit codes name the
 * step that went wrong.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <git2.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "portacoded.h"
#include "log.h"
#include "sandbox.h"

#define NOBODY	65534

struct child {
	int	 status;
	char	 err[8192];	/* what the child wrote to stderr */
};

typedef int	(*child_fn)(void *);

static char	 tmpdir[64];

/* Run fn in a child with stderr on a pipe; collect stderr and status. */
static void
run_child(child_fn fn, void *arg, struct child *c)
{
	char	 scratch[512];
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 p[2];

	memset(c, 0, sizeof(*c));
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* cmocka's handlers must not longjmp inside the child. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		close(p[0]);
		if (dup2(p[1], STDERR_FILENO) == -1)
			_exit(120);
		close(p[1]);
		log_init(1, LOGLEVEL_INFO);
		_exit(fn(arg));
	}
	close(p[1]);
	for (;;) {
		if (len + 1 < sizeof(c->err))
			n = read(p[0], c->err + len, sizeof(c->err) - 1 - len);
		else
			n = read(p[0], scratch, sizeof(scratch));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < sizeof(c->err))
			len += n;
	}
	c->err[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &c->status, 0) == -1)
		assert_int_equal(errno, EINTR);
}

static void
describe(const struct child *c)
{
	if (WIFEXITED(c->status))
		print_message("child exited %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		print_message("child killed by signal %d",
		    WTERMSIG(c->status));
	print_message(", stderr: [%s]\n", c->err);
}

static void
expect_exit(const struct child *c, int code)
{
	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != code) {
		describe(c);
		fail_msg("expected exit status %d", code);
	}
}

static void
expect_signal(const struct child *c, int sig)
{
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != sig) {
		describe(c);
		fail_msg("expected death by signal %d", sig);
	}
}

static void
expect_stderr(const struct child *c, const char *needle)
{
	if (strstr(c->err, needle) == NULL) {
		describe(c);
		fail_msg("stderr lacks \"%s\"", needle);
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty directory under the test's scratch dir. */
static void
fresh_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	rm_tree(buf);
	assert_int_equal(mkdir(buf, 0755), 0);
	assert_int_equal(chmod(buf, 0755), 0);
}

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_sandbox.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* libgit2 must not read the invoking user's global config. */
	if (setenv("HOME", tmpdir, 1) == -1 ||
	    unsetenv("XDG_CONFIG_HOME") == -1)
		return -1;
	/* The chroot checks want root-owned, not group/other writable. */
	return chmod(tmpdir, 0755);
}

static int
teardown(void **state)
{
	(void)state;
	rm_tree(tmpdir);
	return 0;
}

static void
confine(enum role role, int debug)
{
	sandbox_limits(role);
	sandbox_filter(role, debug);
}

/* ---- which roles are filtered ------------------------------------ */

static void
test_has_filter(void **state)
{
	(void)state;
	assert_true(sandbox_has_filter(ROLE_NET));
	assert_true(sandbox_has_filter(ROLE_FS));
	assert_true(sandbox_has_filter(ROLE_GIT));
	assert_false(sandbox_has_filter(ROLE_TERM));
	assert_false(sandbox_has_filter(ROLE_PRIV));
	assert_false(sandbox_has_filter(ROLE_PARENT));
}

/* Seccomp mode and number of filters, from /proc/self/status. */
static void
seccomp_state(char *buf, size_t len)
{
	char	 line[256];
	FILE	*f;

	buf[0] = '\0';
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Seccomp", 7) == 0)
			strncat(buf, line, len - strlen(buf) - 1);
	fclose(f);
}

static int
child_nofilter(void *arg)
{
	char	 before[256], after[256];
	int	 mode;

	(void)arg;
	/* The test itself may already run under a container's filter. */
	mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	seccomp_state(before, sizeof(before));
	sandbox_filter(ROLE_TERM, 0);
	sandbox_filter(ROLE_PRIV, 1);
	sandbox_filter(ROLE_PARENT, 0);
	seccomp_state(after, sizeof(after));
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != mode)
		return 1;
	if (strcmp(before, after) != 0)
		return 2;
	return getppid() > 0 ? 0 : 3;
}

static void
test_nofilter_roles(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_nofilter, NULL, &c);
	expect_exit(&c, 0);
}

/* ---- rlimits and prctl ------------------------------------------- */

static int
check_limit(int resource, rlim_t cur, rlim_t max)
{
	struct rlimit	 rl;

	if (getrlimit(resource, &rl) == -1)
		return -1;
	return rl.rlim_cur == cur && rl.rlim_max == max ? 0 : -1;
}

static int
child_limits_net(void *arg)
{
	struct rlimit	 rl;
	char		 path[PATH_MAX];
	int		 fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/fsize.XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1)
		return 10;
	unlink(path);
	sandbox_limits(ROLE_NET);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 1;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 2;
	if (check_limit(RLIMIT_CORE, 0, 0) == -1)
		return 3;
	if (check_limit(RLIMIT_NPROC, 0, 0) == -1)
		return 4;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_max > 64 ||
	    rl.rlim_cur != rl.rlim_max)
		return 5;
	/* stderr is a pipe here, so file writes are off. */
	if (check_limit(RLIMIT_FSIZE, 0, 0) == -1)
		return 6;
	signal(SIGXFSZ, SIG_IGN);
	if (write(fd, "x", 1) != -1 || errno != EFBIG)
		return 7;
	return 0;
}

static void
test_limits_net(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_limits_net, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_limits_workers(void *arg)
{
	struct rlimit	 before, rl;
	int		 dumpable;

	(void)arg;
	if (getrlimit(RLIMIT_CORE, &before) == -1)
		return 10;
	dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	/* term: shells must stay normal: no NO_NEW_PRIVS, hard core kept. */
	sandbox_limits(ROLE_TERM);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 1;
	if (check_limit(RLIMIT_CORE, 0, before.rlim_max) == -1)
		return 2;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable)
		return 3;
	sandbox_limits(ROLE_FS);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 4;
	if (check_limit(RLIMIT_CORE, 0, 0) == -1)
		return 5;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_max > 4096 ||
	    rl.rlim_cur != rl.rlim_max)
		return 6;
	return 0;
}

static void
test_limits_workers(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_limits_workers, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_limits_priv(void *arg)
{
	(void)arg;
	sandbox_limits(ROLE_PRIV);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 1;
	return check_limit(RLIMIT_CORE, 0, 0) == 0 ? 0 : 2;
}

static void
test_limits_priv(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_limits_priv, NULL, &c);
	expect_exit(&c, 0);
}

/* ---- net filter -------------------------------------------------- */

static int
child_net_open(void *arg)
{
	int	 fd, before;

	(void)arg;
	if ((before = open("/dev/null", O_RDONLY)) == -1)
		return 10;
	confine(ROLE_NET, 0);
	/* A soft denial: the call fails, the process lives. */
	if ((fd = open("/etc/passwd", O_RDONLY)) != -1 || errno != EACCES)
		return 1;
	if (openat(AT_FDCWD, "/etc/hostname", O_RDONLY) != -1 ||
	    errno != EACCES)
		return 2;
	/* Descriptors opened before still work. */
	if (read(before, &fd, sizeof(fd)) != 0)
		return 3;
	return 0;
}

static void
test_net_open_eacces(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_net_open, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_net_socket(void *arg)
{
	struct sockaddr	 sa;
	int		 sp[2];

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		return 10;
	confine(ROLE_NET, 0);
	if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EACCES)
		return 1;
	if (socket(AF_UNIX, SOCK_DGRAM, 0) != -1 || errno != EACCES)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	if (connect(sp[0], &sa, sizeof(sa)) != -1 || errno != EACCES)
		return 3;
	/* The IPC that sockets passed in do still works. */
	if (write(sp[0], "x", 1) != 1 || read(sp[1], &sa, 1) != 1)
		return 4;
	return 0;
}

static void
test_net_socket_eacces(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_net_socket, NULL, &c);
	expect_exit(&c, 0);
}

struct exec_try {
	enum role	 role;
	int		 at;		/* execveat instead of execve */
};

static int
child_execve(void *arg)
{
	struct exec_try	*e = arg;
	char		*argv[] = { "true", NULL };
	char		*envp[] = { NULL };

	confine(e->role, 0);
	/*
	 * A path that does not exist: were the call allowed, it would
	 * fail with ENOENT and we would exit 1.
	 */
	if (e->at)
		syscall(SYS_execveat, AT_FDCWD, "/nonexistent/true", argv,
		    envp, 0);
	else
		execve("/nonexistent/true", argv, envp);
	return 1;
}

static void
exec_killed(enum role role, int at)
{
	struct child	 c;
	struct exec_try	 e = { role, at };

	run_child(child_execve, &e, &c);
	expect_signal(&c, SIGSYS);
}

static void
test_net_execve_killed(void **state)
{
	(void)state;
	exec_killed(ROLE_NET, 0);
	exec_killed(ROLE_NET, 1);
}

static int
child_fork(void *arg)
{
	pid_t	 pid;

	(void)arg;
	confine(ROLE_NET, 0);
	if ((pid = fork()) == 0)
		_exit(0);
	return 1;
}

static void
test_net_fork_killed(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_fork, NULL, &c);
	expect_signal(&c, SIGSYS);
}

static int
child_mprotect_exec(void *arg)
{
	void	*p;

	confine(*(enum role *)arg, 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 2;
}

static void
test_net_mprotect_exec_killed(void **state)
{
	struct child	 c;
	enum role	 role = ROLE_NET;

	(void)state;
	run_child(child_mprotect_exec, &role, &c);
	expect_signal(&c, SIGSYS);
}

static int
child_mmap_exec(void *arg)
{
	confine(*(enum role *)arg, 0);
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 2;
}

static void
test_net_mmap_exec_killed(void **state)
{
	struct child	 c;
	enum role	 role = ROLE_NET;

	(void)state;
	run_child(child_mmap_exec, &role, &c);
	expect_signal(&c, SIGSYS);
}

static int
child_fcntl(void *arg)
{
	int	 fl;

	(void)arg;
	confine(ROLE_NET, 0);
	if ((fl = fcntl(STDERR_FILENO, F_GETFL)) == -1)
		return 1;
	if (fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK) == -1)
		return 2;
	/* Commands outside the short list kill. */
	fcntl(STDERR_FILENO, F_SETOWN, getpid());
	return 3;
}

static void
test_net_fcntl_filtered(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_fcntl, NULL, &c);
	expect_signal(&c, SIGSYS);
}

static int
child_isatty(void *arg)
{
	int	 n;

	(void)arg;
	confine(ROLE_NET, 0);
	if (isatty(STDERR_FILENO) || errno != ENOTTY)
		return 1;
	if (ioctl(STDERR_FILENO, FIONREAD, &n) == -1)
		return 2;
	/* Terminal ioctls other than the isatty() probe kill. */
	ioctl(STDERR_FILENO, TIOCSTI, "x");
	return 3;
}

static void
test_net_ioctl_filtered(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_isatty, NULL, &c);
	expect_signal(&c, SIGSYS);
}

static volatile sig_atomic_t	 got_usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int
child_signals(void *arg)
{
	pid_t	 ppid = getppid();

	confine(ROLE_NET, 0);
	signal(SIGUSR1, on_usr1);
	if (raise(SIGUSR1) != 0 || !got_usr1)
		return 1;
	if (arg != NULL)
		abort();
	/* Signals to other processes, even probes, are not for net. */
	syscall(SYS_tgkill, ppid, ppid, 0);
	return 2;
}

static void
test_net_signals(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_signals, NULL, &c);
	expect_signal(&c, SIGSYS);
	/* abort(3) is an abort, not a sandbox violation. */
	run_child(child_signals, "abort", &c);
	expect_signal(&c, SIGABRT);
}

static int
child_x32(void *arg)
{
	(void)arg;
	confine(ROLE_NET, 0);
	/* getpid through the x32 ABI: a foreign architecture. */
	syscall(0x40000000 | SYS_getpid);
	return 1;
}

#if defined(__x86_64__)
static long
int80_getpid(void)
{
	long	 ret;

	/* i386 getpid is 20 in the compat table. */
	__asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L)
	    : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static int
child_int80(void *arg)
{
	if (arg != NULL)
		confine(ROLE_NET, 0);
	return int80_getpid() == getpid() ? 0 : 1;
}
#endif

static void
test_net_foreign_arch_killed(void **state)
{
	struct child	 c;

	(void)state;
#if defined(__x86_64__)
	run_child(child_x32, NULL, &c);
	expect_signal(&c, SIGSYS);
	/* i386 calls, where the kernel still runs them at all. */
	run_child(child_int80, NULL, &c);
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
		skip();
	run_child(child_int80, "filter", &c);
	expect_signal(&c, SIGSYS);
#else
	(void)c;
	(void)child_x32;
	skip();
#endif
}

/* A self-signed EC certificate for an in-process handshake. */
static X509 *
smoke_cert(EVP_PKEY *key)
{
	X509		*x;
	X509_NAME	*name;

	if ((x = X509_new()) == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
smoke_handshake(X509 *cert, EVP_PKEY *key, int sp[2])
{
	SSL_CTX		*sctx, *cctx;
	SSL		*s, *cl;
	char		 buf[8];
	int		 i, cdone = 0, sdone = 0, r;

	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (sctx == NULL || cctx == NULL)
		return 20;
	if (SSL_CTX_use_certificate(sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, key) != 1)
		return 21;
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	if ((s = SSL_new(sctx)) == NULL || (cl = SSL_new(cctx)) == NULL)
		return 22;
	SSL_set_fd(s, sp[0]);
	SSL_set_fd(cl, sp[1]);
	for (i = 0; i < 100 && (!cdone || !sdone); i++) {
		if (!cdone) {
			if ((r = SSL_connect(cl)) == 1)
				cdone = 1;
			else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ)
				return 23;
		}
		if (!sdone) {
			if ((r = SSL_accept(s)) == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				return 24;
		}
	}
	if (!cdone || !sdone)
		return 25;
	if (SSL_write(cl, "ping", 4) != 4)
		return 26;
	for (i = 0; i < 100; i++)
		if ((r = SSL_read(s, buf, sizeof(buf))) > 0)
			break;
	if (r != 4 || memcmp(buf, "ping", 4) != 0)
		return 27;
	SSL_free(s);
	SSL_free(cl);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return 0;
}

static void
smoke_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

static int
child_net_smoke(void *arg)
{
	struct event_base	*base;
	struct event		*ev;
	struct timeval		 tv = { 0, 1000 };
	struct json_object	*obj, *v;
	EVP_PKEY		*key;
	X509			*cert;
	unsigned char		 rnd[32];
	int			 sp[2], fired = 0, rc;

	(void)arg;
	/* What net does before its sandbox (see net/tls.c). */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
	    NULL) != 1 || RAND_bytes(rnd, 1) != 1)
		return 10;
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (cert = smoke_cert(key)) == NULL)
		return 11;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == -1)
		return 12;
	openlog("test_sandbox", LOG_NDELAY, LOG_USER);
	confine(ROLE_NET, 0);

	if ((base = event_base_new()) == NULL)
		return 1;
	if ((ev = evtimer_new(base, smoke_timer, &fired)) == NULL ||
	    evtimer_add(ev, &tv) == -1)
		return 2;
	if (event_base_dispatch(base) == -1 || !fired)
		return 3;
	event_free(ev);
	event_base_free(base);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 4;
	if ((rc = smoke_handshake(cert, key, sp)) != 0)
		return rc;
	if ((obj = json_tokener_parse("{\"a\":[1,2,3]}")) == NULL ||
	    !json_object_object_get_ex(obj, "a", &v) ||
	    json_object_array_length(v) != 3)
		return 5;
	json_object_put(obj);
	obj = json_object_new_double(1.5);
	if (strcmp(json_object_to_json_string(obj), "1.5") != 0)
		return 6;
	json_object_put(obj);
	/* Without a syslog socket, glibc's reconnect attempt must just fail. */
	syslog(LOG_DEBUG, "sandbox smoke test");
	X509_free(cert);
	EVP_PKEY_free(key);
	log_info("smoke done");
	return 0;
}

static void
test_net_smoke(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_net_smoke, NULL, &c);
	expect_exit(&c, 0);
	expect_stderr(&c, "smoke done");
}

/* ---- debug mode -------------------------------------------------- */

static int
child_debug(void *arg)
{
	(void)arg;
	confine(ROLE_NET, 1);
	/* getppid is on no list; in debug mode it fails and we go on. */
	if (syscall(SYS_getppid) != -1 || errno != ENOSYS)
		return 1;
	/* Soft denials are unchanged. */
	if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
		return 2;
	return 0;
}

static void
test_debug_traps(void **state)
{
	struct child	 c;
	char		 line[128];

	(void)state;
	run_child(child_debug, NULL, &c);
	expect_exit(&c, 0);
	snprintf(line, sizeof(line), "sandbox: net blocked syscall getppid "
	    "(%d)\n", (int)SYS_getppid);
	expect_stderr(&c, line);
}

static int
child_debug_execve(void *arg)
{
	char	*argv[] = { "true", NULL };
	char	*envp[] = { NULL };

	(void)arg;
	confine(ROLE_NET, 1);
	execve("/nonexistent/true", argv, envp);
	return 1;
}

static void
test_debug_execve_killed(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_debug_execve, NULL, &c);
	expect_signal(&c, SIGSYS);
}

/* ---- fs filter --------------------------------------------------- */

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static int
fs_jit(void)
{
	pcre2_code		*re;
	pcre2_match_data	*md;
	PCRE2_SIZE		 off;
	int			 errcode, rc;
	const char		*subject = "sandbox: fs blocked nothing";

	re = pcre2_compile((PCRE2_SPTR)"b(lo|la)cked\\s+\\w+", PCRE2_ZERO_TERMINATED,
	    0, &errcode, &off, NULL);
	if (re == NULL)
		return 40;
	if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
		return 41;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_jit_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0,
	    md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc == 2 ? 0 : 42;
}

static int
child_fs_files(void *arg)
{
	const char	*dir = arg;
	char		 a[PATH_MAX], b[PATH_MAX], sub[PATH_MAX], buf[16];
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	pthread_t	 t;
	pid_t		 pid;
	int		 fd, n, st, tv = 0, rc;

	snprintf(a, sizeof(a), "%s/a.tmp", dir);
	snprintf(b, sizeof(b), "%s/b.txt", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	confine(ROLE_FS, 0);

	/* The atomic write pattern. */
	if ((fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return 1;
	if (write(fd, "hello", 5) != 5 || fsync(fd) == -1 ||
	    fchmod(fd, 0644) == -1 || close(fd) == -1)
		return 2;
	if (rename(a, b) == -1)
		return 3;
	if ((fd = open(b, O_RDONLY)) == -1 || read(fd, buf, sizeof(buf)) != 5 ||
	    memcmp(buf, "hello", 5) != 0 || close(fd) == -1)
		return 4;
	if (stat(b, &sb) == -1 || (sb.st_mode & 07777) != 0644)
		return 5;
	if (mkdir(sub, 0755) == -1)
		return 6;
	if ((d = opendir(dir)) == NULL)
		return 7;
	for (n = 0; (de = readdir(d)) != NULL; )
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	if (n != 2)
		return 8;
	if (rmdir(sub) == -1 || unlink(b) == -1 || access(b, F_OK) != -1)
		return 9;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE) == -1)
		return 10;
	close(fd);

	/* A search child, and a thread (clone3 falls back to clone). */
	if ((pid = fork()) == -1)
		return 11;
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 7)
		return 12;
	if (pthread_create(&t, NULL, thread_main, &tv) != 0 ||
	    pthread_join(t, NULL) != 0 || tv != 42)
		return 13;
	if ((rc = fs_jit()) != 0)
		return rc;

	/* Leave one file for the parent to find. */
	if ((fd = open(b, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1 ||
	    write(fd, "kept", 4) != 4 || close(fd) == -1)
		return 14;
	return 0;
}

static void
test_fs_files(void **state)
{
	struct child	 c;
	char		 dir[PATH_MAX], path[PATH_MAX + 8], buf[16];
	FILE		*f;
	size_t		 n;

	(void)state;
	fresh_dir(dir, sizeof(dir), "fs");
	run_child(child_fs_files, dir, &c);
	expect_exit(&c, 0);
	snprintf(path, sizeof(path), "%s/b.txt", dir);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "kept", 4);
}

static void
test_fs_execve_killed(void **state)
{
	(void)state;
	exec_killed(ROLE_FS, 0);
	exec_killed(ROLE_FS, 1);
}

static int
child_fs_socket(void *arg)
{
	(void)arg;
	confine(ROLE_FS, 0);
	if (socket(AF_INET6, SOCK_DGRAM, 0) != -1 || errno != EACCES)
		return 1;
	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EACCES)
		return 2;
	return 0;
}

static void
test_fs_socket_eacces(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_fs_socket, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_fs_userns(void *arg)
{
	(void)arg;
	confine(ROLE_FS, 0);
	/* A fork into a new user namespace. */
	if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) == 0)
		_exit(0);
	return 1;
}

static void
test_fs_clone_namespace_killed(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_fs_userns, NULL, &c);
	expect_signal(&c, SIGSYS);
}

static int
child_fs_mmap_file_exec(void *arg)
{
	int	 fd;

	(void)arg;
	if ((fd = open("/bin/true", O_RDONLY)) == -1)
		return 10;
	confine(ROLE_FS, 0);
	/* Anonymous RWX is PCRE2's JIT; code from a file is not. */
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	return 1;
}

static void
test_fs_mmap_file_exec_killed(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_fs_mmap_file_exec, NULL, &c);
	expect_signal(&c, SIGSYS);
}

/* ---- git filter -------------------------------------------------- */

static int
child_git_steps(void *arg)
{
	const char		*dir = arg;
	git_repository		*repo;
	git_index		*idx;
	git_tree		*tree;
	git_signature		*sig;
	git_status_list		*st;
	git_status_options	 sopts;
	git_oid			 tree_id, commit_id;
	char			 path[PATH_MAX];
	pthread_t		 t;
	FILE			*f;
	int			 tv = 0;

	/* Global state (settings, search paths) is set up before. */
	if (git_libgit2_init() < 0 ||
	    git_status_options_init(&sopts, GIT_STATUS_OPTIONS_VERSION) != 0)
		return 10;
	confine(ROLE_GIT, 0);

	if (git_repository_init(&repo, dir, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/hello.txt", dir);
	if ((f = fopen(path, "w")) == NULL || fputs("hello\n", f) < 0 ||
	    fclose(f) != 0)
		return 2;
	if (git_repository_index(&idx, repo) != 0 ||
	    git_index_add_bypath(idx, "hello.txt") != 0 ||
	    git_index_write(idx) != 0 ||
	    git_index_write_tree(&tree_id, idx) != 0)
		return 3;
	if (git_tree_lookup(&tree, repo, &tree_id) != 0 ||
	    git_signature_new(&sig, "Sandbox", "sandbox@example.invalid",
	    1700000000, 0) != 0)
		return 4;
	if (git_commit_create_v(&commit_id, repo, "HEAD", sig, sig, NULL,
	    "sandboxed commit\n", tree, 0) != 0)
		return 5;
	if (git_status_list_new(&st, repo, &sopts) != 0 ||
	    git_status_list_entrycount(st) != 0)
		return 6;
	git_status_list_free(st);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	git_repository_free(repo);
	if (git_repository_open(&repo, dir) != 0)
		return 7;
	git_repository_free(repo);
	if (pthread_create(&t, NULL, thread_main, &tv) != 0 ||
	    pthread_join(t, NULL) != 0 || tv != 42)
		return 8;
	git_libgit2_shutdown();
	return 0;
}

/* libgit2 says why a step failed. */
static int
child_git(void *arg)
{
	const git_error	*e;
	int		 rc;

	if ((rc = child_git_steps(arg)) != 0 && (e = git_error_last()) != NULL)
		fprintf(stderr, "libgit2: %s\n", e->message);
	return rc;
}

static void
test_git_repository(void **state)
{
	struct child	 c;
	git_repository	*repo;
	git_object	*obj;
	char		 dir[PATH_MAX];

	(void)state;
	fresh_dir(dir, sizeof(dir), "git");
	run_child(child_git, dir, &c);
	expect_exit(&c, 0);
	/* The commit is really there. */
	assert_true(git_libgit2_init() > 0);
	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(git_revparse_single(&obj, repo, "HEAD"), 0);
	assert_string_equal(git_commit_message((git_commit *)obj),
	    "sandboxed commit\n");
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
}

static void
test_git_execve_killed(void **state)
{
	(void)state;
	exec_killed(ROLE_GIT, 0);
	exec_killed(ROLE_GIT, 1);
}

static void
test_git_mmap_exec_killed(void **state)
{
	struct child	 c;
	enum role	 role = ROLE_GIT;

	(void)state;
	/* Unlike fs, git has no JIT: no executable memory at all. */
	run_child(child_mmap_exec, &role, &c);
	expect_signal(&c, SIGSYS);
}

/* ---- privilege drop ---------------------------------------------- */

static int
child_same_ids(void *arg)
{
	uid_t	 uid = getuid();
	gid_t	 gid = getgid();

	(void)arg;
	/* User mode: nothing to change, only checks. */
	privdrop_user(uid, gid, NULL);
	return getuid() == uid && geteuid() == uid && getgid() == gid ? 0 : 1;
}

static void
test_privdrop_same_ids(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_same_ids, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_regain_root(void *arg)
{
	(void)arg;
	if (getuid() == 0)
		privdrop_user(NOBODY, NOBODY, NULL);
	/* Must not return: an unprivileged process cannot become root. */
	privdrop_user(0, 0, NULL);
	return 0;
}

static void
test_privdrop_unprivileged_fails(void **state)
{
	struct child	 c;

	(void)state;
	run_child(child_regain_root, NULL, &c);
	expect_exit(&c, 1);
	expect_stderr(&c, "setgroups");
}

static int
child_drop_nobody(void *arg)
{
	gid_t	 groups[4];
	pid_t	 pid;

	(void)arg;
	privdrop_user(NOBODY, NOBODY, NULL);
	if (getuid() != NOBODY || geteuid() != NOBODY ||
	    getgid() != NOBODY || getegid() != NOBODY)
		return 1;
	if (getgroups(4, groups) != 1 || groups[0] != NOBODY)
		return 2;
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		return 3;
	/* net's limits: the privsep user may not fork. */
	sandbox_limits(ROLE_NET);
	if ((pid = fork()) == 0)
		_exit(0);
	if (pid != -1 || errno != EAGAIN)
		return 4;
	return 0;
}

static void
test_privdrop_user(void **state)
{
	struct child	 c;

	(void)state;
	if (getuid() != 0)
		skip();
	run_child(child_drop_nobody, NULL, &c);
	expect_exit(&c, 0);
}

static int
child_drop_named(void *arg)
{
	struct passwd	*pw = arg;

	privdrop_user(pw->pw_uid, pw->pw_gid, pw->pw_name);
	if (getuid() != pw->pw_uid || getgid() != pw->pw_gid)
		return 1;
	return setuid(0) == -1 ? 0 : 2;
}

static void
test_privdrop_user_named(void **state)
{
	struct child	 c;
	struct passwd	*pw = NULL;

	(void)state;
	if (getuid() != 0 || (pw = getpwnam("nobody")) == NULL ||
	    pw->pw_uid == 0)
		skip();
	run_child(child_drop_named, pw, &c);
	expect_exit(&c, 0);
}

static int
child_chroot(void *arg)
{
	char	 cwd[PATH_MAX];

	privdrop_chroot(arg);
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return 1;
	if (access("/marker", F_OK) == -1)
		return 2;
	if (access("/etc/passwd", F_OK) != -1 || errno != ENOENT)
		return 3;
	return 0;
}

static void
test_chroot(void **state)
{
	struct child	 c;
	char		 dir[PATH_MAX], path[PATH_MAX + 8];
	int		 fd;

	(void)state;
	if (getuid() != 0)
		skip();
	fresh_dir(dir, sizeof(dir), "empty");
	snprintf(path, sizeof(path), "%s/marker", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) != -1);
	close(fd);
	run_child(child_chroot, dir, &c);
	expect_exit(&c, 0);
	/* A trailing slash names the same directory. */
	strcat(dir, "/");
	run_child(child_chroot, dir, &c);
	expect_exit(&c, 0);
}

static int
child_chroot_refused(void *arg)
{
	privdrop_chroot(arg);
	return 0;
}

static void
chroot_refused(const char *dir, const char *why)
{
	struct child	 c;
	char		 want[PATH_MAX + 64];

	run_child(child_chroot_refused, (void *)dir, &c);
	expect_exit(&c, 1);
	snprintf(want, sizeof(want), "chroot directory %s: %s", dir, why);
	expect_stderr(&c, want);
}

static void
test_chroot_refused(void **state)
{
	char	 dir[PATH_MAX], inner[PATH_MAX + 8];

	(void)state;
	if (getuid() != 0)
		skip();
	fresh_dir(dir, sizeof(dir), "gw");
	assert_int_equal(chmod(dir, 0775), 0);
	chroot_refused(dir, "bad modes");

	fresh_dir(dir, sizeof(dir), "ow");
	assert_int_equal(chmod(dir, 0757), 0);
	chroot_refused(dir, "bad modes");

	fresh_dir(dir, sizeof(dir), "owner");
	assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
	chroot_refused(dir, "bad ownership");

	snprintf(inner, sizeof(inner), "%s/link", tmpdir);
	unlink(inner);
	fresh_dir(dir, sizeof(dir), "target");
	assert_int_equal(symlink(dir, inner), 0);
	chroot_refused(inner, "symbolic link refused");

	chroot_refused("relative/dir", "not an absolute path");
}

static void
test_chroot_ancestor(void **state)
{
	struct child	 c;
	char		 dir[PATH_MAX], inner[PATH_MAX + 8];

	(void)state;
	if (getuid() != 0)
		skip();
	fresh_dir(dir, sizeof(dir), "anc");
	snprintf(inner, sizeof(inner), "%s/inner", dir);
	assert_int_equal(mkdir(inner, 0755), 0);
	assert_int_equal(chmod(inner, 0755), 0);
	/* World-writable without the sticky bit: refused, naming it. */
	assert_int_equal(chmod(dir, 0777), 0);
	run_child(child_chroot_refused, inner, &c);
	expect_exit(&c, 1);
	expect_stderr(&c, dir);
	expect_stderr(&c, "bad modes");
	/* Sticky like /tmp: others cannot replace root's entries. */
	assert_int_equal(chmod(dir, 01777), 0);
	run_child(child_chroot_refused, inner, &c);
	expect_exit(&c, 0);
}

/* The whole order net follows: chroot, drop, limits, filter. */
static int
child_net_full(void *arg)
{
	struct event_base	*base;

	privdrop_chroot(arg);
	privdrop_user(NOBODY, NOBODY, NULL);
	confine(ROLE_NET, 0);
	if ((base = event_base_new()) == NULL)
		return 1;
	if (event_base_loop(base, EVLOOP_NONBLOCK) == -1)
		return 2;
	event_base_free(base);
	if (getuid() != NOBODY || open("/marker", O_RDONLY) != -1 ||
	    errno != EACCES)
		return 3;
	return 0;
}

static void
test_net_full_order(void **state)
{
	struct child	 c;
	char		 dir[PATH_MAX];

	(void)state;
	if (getuid() != 0)
		skip();
	fresh_dir(dir, sizeof(dir), "netroot");
	run_child(child_net_full, dir, &c);
	expect_exit(&c, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has_filter),
		cmocka_unit_test(test_nofilter_roles),
		cmocka_unit_test(test_limits_net),
		cmocka_unit_test(test_limits_workers),
		cmocka_unit_test(test_limits_priv),
		cmocka_unit_test(test_net_open_eacces),
		cmocka_unit_test(test_net_socket_eacces),
		cmocka_unit_test(test_net_execve_killed),
		cmocka_unit_test(test_net_fork_killed),
		cmocka_unit_test(test_net_mprotect_exec_killed),
		cmocka_unit_test(test_net_mmap_exec_killed),
		cmocka_unit_test(test_net_fcntl_filtered),
		cmocka_unit_test(test_net_ioctl_filtered),
		cmocka_unit_test(test_net_signals),
		cmocka_unit_test(test_net_foreign_arch_killed),
		cmocka_unit_test(test_net_smoke),
		cmocka_unit_test(test_debug_traps),
		cmocka_unit_test(test_debug_execve_killed),
		cmocka_unit_test(test_fs_files),
		cmocka_unit_test(test_fs_execve_killed),
		cmocka_unit_test(test_fs_socket_eacces),
		cmocka_unit_test(test_fs_clone_namespace_killed),
		cmocka_unit_test(test_fs_mmap_file_exec_killed),
		cmocka_unit_test(test_git_repository),
		cmocka_unit_test(test_git_execve_killed),
		cmocka_unit_test(test_git_mmap_exec_killed),
		cmocka_unit_test(test_privdrop_same_ids),
		cmocka_unit_test(test_privdrop_unprivileged_fails),
		cmocka_unit_test(test_privdrop_user),
		cmocka_unit_test(test_privdrop_user_named),
		cmocka_unit_test(test_chroot),
		cmocka_unit_test(test_chroot_refused),
		cmocka_unit_test(test_chroot_ancestor),
		cmocka_unit_test(test_net_full_order),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
