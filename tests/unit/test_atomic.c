#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "fs/atomic.h"

#define NOBODY		65534
#define OLD_SIZE	(1024 * 1024)
#define NEW_SIZE	(200 * 1024 * 1024)

/*
 * A fresh directory per test, on a disk file system where one is known
 * (the build directory under make check, else /var/tmp): the crash test
 * writes 200 MiB.
 */
static char	 dir[PATH_MAX];
static int	 dirfd_rw;	/* O_RDONLY | O_DIRECTORY */
static int	 dirfd_path;	/* O_PATH, as fspath_parent gives */

static const char *
D(const char *name)
{
	static char	 ring[4][PATH_MAX];
	static int	 next;
	char		*b = ring[next++ % 4];

	snprintf(b, PATH_MAX, "%.2048s/%s", dir, name);
	return b;
}

static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int
setup(void **state)
{
	const char	*where = getenv("builddir");
	char		 tmpl[PATH_MAX];

	(void)state;
	if (where == NULL || *where == '\0')
		where = "/var/tmp";
	if (access(where, W_OK) == -1)
		where = "/tmp";
	snprintf(tmpl, sizeof(tmpl), "%s/atomic-XXXXXX", where);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	dirfd_rw = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dirfd_path = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_rw == -1 || dirfd_path == -1)
		return -1;
	umask(022);
	atomic_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(dirfd_rw);
	close(dirfd_path);
	/* The read-only test may leave a 0555 directory behind. */
	chmod(D("ro"), 0755);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	umask(022);
	return 0;
}

static void
put_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	 fd;

	/* A fresh file: the old one may be read-only. */
	if (unlink(path) == -1)
		assert_int_equal(errno, ENOENT);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
content_is(const char *path, const void *want, size_t len)
{
	char	*buf;
	int	 fd;
	ssize_t	 n;

	buf = malloc(len + 1);
	assert_non_null(buf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	n = read(fd, buf, len + 1);
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

static mode_t
mode_of(const char *path)
{
	struct stat	 sb;

	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* Names containing the temporary tag in a directory; prints them. */
static int
leftovers_in(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ATOMIC_TMP_TAG) != NULL) {
			print_error("temporary file left: %s/%s\n", path,
			    de->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static void
test_create_mode(void **state)
{
	(void)state;
	assert_int_equal(atomic_write(dirfd_rw, "a", "hello", 5, 0), 0);
	content_is(D("a"), "hello", 5);
	assert_int_equal(mode_of(D("a")), 0644);

	umask(027);
	atomic_init();
	umask(022);	/* atomic_init remembered 027; the process has 022 */
	assert_int_equal(atomic_write(dirfd_path, "b", "x", 1, 0), 0);
	assert_int_equal(mode_of(D("b")), 0640);

	umask(0);
	atomic_init();
	assert_int_equal(atomic_write(dirfd_path, "c", "", 0, 0), 0);
	assert_int_equal(mode_of(D("c")), 0666);
	content_is(D("c"), "", 0);

	umask(077);
	atomic_init();
	assert_int_equal(atomic_write(dirfd_path, "d", "y", 1,
	    ATOMIC_NOREPLACE), 0);
	assert_int_equal(mode_of(D("d")), 0600);
	umask(022);
	atomic_init();
	assert_int_equal(leftovers_in(dir), 0);
}

static void
test_replace_keeps_mode(void **state)
{
	static const char	 text[] = "new content\n";
	struct stat		 before, after;
	static const mode_t	 modes[] = { 0640, 0600, 0755, 0444, 0604 };
	size_t			 i;

	(void)state;
	/* umask 077 must not leak into a replaced file's mode. */
	umask(077);
	atomic_init();
	umask(022);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put_file(D("f"), "old", 3, modes[i]);
		assert_int_equal(stat(D("f"), &before), 0);
		assert_int_equal(atomic_write(i % 2 ? dirfd_path : dirfd_rw,
		    "f", text, sizeof(text) - 1, 0), 0);
		assert_int_equal(stat(D("f"), &after), 0);
		assert_int_equal(after.st_mode & 07777, modes[i]);
		assert_int_equal(after.st_size, sizeof(text) - 1);
		/* A new inode: the old one was never written in place. */
		assert_int_not_equal(before.st_ino, after.st_ino);
		content_is(D("f"), text, sizeof(text) - 1);
	}
	/* Shrinking to nothing. */
	assert_int_equal(atomic_write(dirfd_rw, "f", "", 0, 0), 0);
	content_is(D("f"), "", 0);
	umask(022);
	atomic_init();
	assert_int_equal(leftovers_in(dir), 0);
}

static void
test_replace_keeps_owner(void **state)
{
	struct stat	 sb;

	(void)state;
	if (geteuid() != 0)
		skip();
	put_file(D("owned"), "old", 3, 0640);
	assert_int_equal(chown(D("owned"), NOBODY, NOBODY), 0);
	assert_int_equal(atomic_write(dirfd_path, "owned", "new", 3, 0), 0);
	assert_int_equal(stat(D("owned"), &sb), 0);
	assert_int_equal(sb.st_uid, NOBODY);
	assert_int_equal(sb.st_gid, NOBODY);
	assert_int_equal(sb.st_mode & 07777, 0640);
	content_is(D("owned"), "new", 3);
}

static void
test_noreplace(void **state)
{
	(void)state;
	put_file(D("exists"), "old", 3, 0640);
	errno = 0;
	assert_int_equal(atomic_write(dirfd_path, "exists", "new", 3,
	    ATOMIC_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	content_is(D("exists"), "old", 3);
	assert_int_equal(mode_of(D("exists")), 0640);
	/* Also when the name is a dangling symlink or a directory. */
	assert_int_equal(symlink("nowhere", D("dangling")), 0);
	errno = 0;
	assert_int_equal(atomic_write(dirfd_path, "dangling", "new", 3,
	    ATOMIC_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(D("nowhere"), F_OK), -1);
	/* A free name is created. */
	assert_int_equal(atomic_write(dirfd_path, "fresh", "new", 3,
	    ATOMIC_NOREPLACE), 0);
	content_is(D("fresh"), "new", 3);
	assert_int_equal(leftovers_in(dir), 0);
}

static void
test_not_regular(void **state)
{
	struct stat	 sb;
	char		 buf[64];
	ssize_t		 n;

	(void)state;
	assert_int_equal(mkdir(D("sub"), 0755), 0);
	errno = 0;
	assert_int_equal(atomic_write(dirfd_path, "sub", "x", 1, 0), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(lstat(D("sub"), &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	/* A symlink is the caller's business: refused, left alone. */
	put_file(D("target"), "old", 3, 0644);
	assert_int_equal(symlink("target", D("link")), 0);
	assert_int_equal(atomic_write(dirfd_path, "link", "new", 3, 0), -1);
	n = readlink(D("link"), buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "target", 6);
	content_is(D("target"), "old", 3);
	/* A FIFO is refused, not opened. */
	assert_int_equal(mkfifo(D("fifo"), 0644), 0);
	assert_int_equal(atomic_write(dirfd_path, "fifo", "new", 3, 0), -1);
	assert_int_equal(lstat(D("fifo"), &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	/* A missing directory. */
	errno = 0;
	assert_int_equal(atomic_write(dirfd_path, "nodir/x", "new", 3, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(leftovers_in(dir), 0);
}

static void
test_long_name(void **state)
{
	char	 name[NAME_MAX + 1];

	(void)state;
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	assert_int_equal(atomic_write(dirfd_path, name, "long", 4, 0), 0);
	content_is(D(name), "long", 4);
	assert_int_equal(atomic_write(dirfd_path, name, "longer", 6, 0), 0);
	content_is(D(name), "longer", 6);
	assert_int_equal(leftovers_in(dir), 0);
}

/* Run fn in a child; its exit status is the result (0 = as expected). */
static int
in_child(int (*fn)(void))
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
ro_child(void)
{
	int	 fd;

	fd = open(D("ro"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return 10;
	/* Root ignores directory modes: be somebody else. */
	if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(NOBODY) == -1 || setuid(NOBODY) == -1))
		return 11;
	errno = 0;
	if (atomic_write(fd, "new", "data", 4, 0) != -1 || errno != EACCES)
		return 12;
	errno = 0;
	if (atomic_write(fd, "old", "data", 4, 0) != -1 || errno != EACCES)
		return 13;
	errno = 0;
	if (atomic_write(fd, "new", "data", 4, ATOMIC_NOREPLACE) != -1 ||
	    errno != EACCES)
		return 14;
	return 0;
}

static void
test_readonly_dir(void **state)
{
	(void)state;
	assert_int_equal(mkdir(D("ro"), 0755), 0);
	put_file(D("ro/old"), "old", 3, 0666);
	assert_int_equal(chmod(D("ro"), 0555), 0);
	assert_int_equal(in_child(ro_child), 0);
	content_is(D("ro/old"), "old", 3);
	assert_int_equal(access(D("ro/new"), F_OK), -1);
	assert_int_equal(leftovers_in(D("ro")), 0);
	assert_int_equal(chmod(D("ro"), 0755), 0);
}

/*
 * A directory that may be written but not read (0300): the replacement
 * succeeds and is reported as such, although the directory cannot be
 * opened for its fsync.
 */
static int
wo_child(void)
{
	char	 buf[16];
	int	 fd, rfd;
	ssize_t	 n;

	fd = open(D("wo"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return 10;
	if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(NOBODY) == -1 || setuid(NOBODY) == -1))
		return 11;
	if (atomic_write(fd, "old", "new", 3, 0) == -1)
		return 12;
	if (atomic_write(fd, "made", "made", 4, ATOMIC_NOREPLACE) == -1)
		return 13;
	if ((rfd = openat(fd, "old", O_RDONLY | O_CLOEXEC)) == -1)
		return 14;
	n = read(rfd, buf, sizeof(buf));
	close(rfd);
	if (n != 3 || memcmp(buf, "new", 3) != 0)
		return 15;
	return 0;
}

static void
test_writeonly_dir(void **state)
{
	(void)state;
	assert_int_equal(mkdir(D("wo"), 0755), 0);
	put_file(D("wo/old"), "old", 3, 0644);
	if (geteuid() == 0) {
		assert_int_equal(chown(D("wo"), NOBODY, NOBODY), 0);
		assert_int_equal(chown(D("wo/old"), NOBODY, NOBODY), 0);
	}
	assert_int_equal(chmod(D("wo"), 0300), 0);
	assert_int_equal(in_child(wo_child), 0);
	assert_int_equal(chmod(D("wo"), 0755), 0);
	content_is(D("wo/old"), "new", 3);
	content_is(D("wo/made"), "made", 4);
	assert_int_equal(leftovers_in(D("wo")), 0);
}

/* A write that fails half-way (file size limit) leaves everything. */
static int
efbig_child(void)
{
	struct rlimit	 rl = { 64 * 1024, 64 * 1024 };
	char		*big;

	if ((big = malloc(OLD_SIZE)) == NULL)
		return 10;
	memset(big, 'Z', OLD_SIZE);
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 11;
	errno = 0;
	if (atomic_write(dirfd_path, "victim", big, OLD_SIZE, 0) != -1 ||
	    errno != EFBIG)
		return 12;
	errno = 0;
	if (atomic_write(dirfd_path, "newcomer", big, OLD_SIZE, 0) != -1 ||
	    errno != EFBIG)
		return 13;
	return 0;
}

static void
test_write_failure(void **state)
{
	(void)state;
	put_file(D("victim"), "precious", 8, 0620);
	assert_int_equal(in_child(efbig_child), 0);
	content_is(D("victim"), "precious", 8);
	assert_int_equal(mode_of(D("victim")), 0620);
	assert_int_equal(access(D("newcomer"), F_OK), -1);
	assert_int_equal(leftovers_in(dir), 0);
}

static int
o_tmpfile_works(void)
{
	int	 fd;

	fd = openat(dirfd_rw, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

/* 1 when path is exactly len bytes of c. */
static int
all_of(const char *path, int c, size_t len)
{
	static char	 want[1 << 20], buf[1 << 20];
	struct stat	 sb;
	size_t		 done = 0;
	ssize_t		 n;
	int		 fd, ok = 1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	if ((size_t)sb.st_size != len) {
		close(fd);
		return 0;
	}
	memset(want, c, sizeof(want));
	while (ok && (n = read(fd, buf, sizeof(buf))) > 0) {
		ok = memcmp(buf, want, n) == 0;
		done += n;
	}
	close(fd);
	return ok && done == len;
}

/* Round outcomes of the crash test. */
struct crash {
	char	*olddata, *newdata;
	int	 olds, news;
};

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * One round: the target holds 1 MiB of 'A'; a child replaces it with
 * 200 MiB of 'B' and is SIGKILLed delay_us after it starts (never when
 * delay_us is -1). Returns how long the child lived, in microseconds.
 */
static uint64_t
crash_round(struct crash *c, long delay_us)
{
	struct timespec	 ts;
	uint64_t	 t0;
	pid_t		 pid;
	char		 go;
	int		 p[2], status;

	put_file(D("target"), c->olddata, OLD_SIZE, 0640);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], "g", 1) != 1)
			_exit(2);
		_exit(atomic_write(dirfd_path, "target", c->newdata, NEW_SIZE,
		    0) == 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &go, 1), 1);
	close(p[0]);
	t0 = now_us();
	if (delay_us >= 0) {
		ts.tv_sec = delay_us / 1000000;
		ts.tv_nsec = (delay_us % 1000000) * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	t0 = now_us() - t0;
	if (delay_us < 0 || WIFEXITED(status)) {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	if (all_of(D("target"), 'A', OLD_SIZE))
		c->olds++;
	else if (all_of(D("target"), 'B', NEW_SIZE))
		c->news++;
	else {
		print_error("kill after %ld us: target is neither all old "
		    "nor all new\n", delay_us);
		fail();
	}
	assert_int_equal(mode_of(D("target")), 0640);
	if (leftovers_in(dir) != 0) {
		print_error("kill after %ld us: temporary file left "
		    "(link-to-rename window?)\n", delay_us);
		fail();
	}
	return t0;
}

/*
 * The crash test: kills at staggered delays, then at fractions
 * of a measured full write so that some land in the fsync, link and
 * rename at the end; each must leave exactly the old or the new file.
 */
static void
test_crash(void **state)
{
	static const int	 delays_ms[] = {
		0, 1, 5, 20, 50, 100, 200,
		0, 2, 10, 30, 75, 150, 300,
	};
	static const int	 permille[] = {
		500, 800, 900, 950, 980, 990, 995, 1000, 1010
	};
	struct statfs		 sf;
	struct crash		 c;
	uint64_t		 full;
	size_t			 i;

	(void)state;
	assert_int_equal(statfs(dir, &sf), 0);
	if ((uint64_t)sf.f_bavail * sf.f_bsize < 3ULL * NEW_SIZE) {
		print_message("crash test skipped: %s has too little space\n",
		    dir);
		skip();
	}
	if (!o_tmpfile_works()) {
		/* Named temporaries are left by a kill: not this test. */
		print_message("crash test skipped: no O_TMPFILE in %s\n", dir);
		skip();
	}
	memset(&c, 0, sizeof(c));
	c.olddata = malloc(OLD_SIZE);
	c.newdata = malloc(NEW_SIZE);
	assert_non_null(c.olddata);
	assert_non_null(c.newdata);
	memset(c.olddata, 'A', OLD_SIZE);
	memset(c.newdata, 'B', NEW_SIZE);

	for (i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++)
		crash_round(&c, delays_ms[i] * 1000L);
	assert_true(c.olds > 0);	/* kills did land mid-write */
	full = crash_round(&c, -1);
	assert_true(c.news > 0);
	for (i = 0; i < sizeof(permille) / sizeof(permille[0]); i++)
		crash_round(&c, (long)(full * permille[i] / 1000));
	print_message("crash test: full write %llu ms; %d rounds left the "
	    "old content, %d the new\n", (unsigned long long)full / 1000,
	    c.olds, c.news);
	free(c.olddata);
	free(c.newdata);
	assert_int_equal(unlink(D("target")), 0);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup_teardown(test_create_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace_keeps_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace_keeps_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_noreplace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_readonly_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writeonly_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
	};

	log_init(1, LOGLEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
