#include "config.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portacoded.h"
#include "log.h"
#include "fs/fspath.h"

/*
 * The tree every test starts from (base is a fresh mkdtemp directory):
 *
 *	root/			the AllowedRoots entry
 *	root/sub/file		"inside"
 *	root/sub/deeper/
 *	root/abslink	->	BASE/out	(absolute, escapes)
 *	root/rellink	->	../out		(relative, escapes)
 *	root/inlink	->	sub		(relative, stays inside)
 *	root/absin	->	BASE/root/sub	(absolute, points inside)
 *	root/dangle	->	../out/nothere	(dangling, escapes)
 *	root/regular		a plain file
 *	rootb/file		shares "root" as a string prefix
 *	out/secret		"outside"
 *	other/			a second root for the multi-root test
 */
static char	 base[PATH_MAX];
static char	 savedcwd[PATH_MAX];

/* base + "/" + rel, from a small ring so that several can be live. */
static const char *
P(const char *rel)
{
	static char	 ring[8][PATH_MAX];
	static int	 next;
	char		*b = ring[next++ % 8];

	if (*rel == '\0')
		snprintf(b, PATH_MAX, "%s", base);
	else
		snprintf(b, PATH_MAX, "%.2048s/%s", base, rel);
	return b;
}

static void
put_file(const char *path, const char *text)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
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

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
configure(int n, ...)
{
	struct config	 conf;
	va_list		 ap;
	int		 i;

	memset(&conf, 0, sizeof(conf));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		conf.roots[i] = va_arg(ap, char *);
	va_end(ap);
	conf.nroots = n;
	fspath_configure(&conf);
}

static void
confine(void)
{
	char	 root[PATH_MAX];

	snprintf(root, sizeof(root), "%s", P("root"));
	configure(1, root);
	assert_true(fspath_confined());
}

static int
setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");
	char		 tmpl[PATH_MAX], real[PATH_MAX];

	(void)state;
	if (getcwd(savedcwd, sizeof(savedcwd)) == NULL)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/fspath-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, real) == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s", real);
	if (mkdir(P("root"), 0755) == -1 ||
	    mkdir(P("root/sub"), 0755) == -1 ||
	    mkdir(P("root/sub/deeper"), 0755) == -1 ||
	    mkdir(P("rootb"), 0755) == -1 ||
	    mkdir(P("out"), 0755) == -1 ||
	    mkdir(P("other"), 0755) == -1 ||
	    symlink(P("out"), P("root/abslink")) == -1 ||
	    symlink("../out", P("root/rellink")) == -1 ||
	    symlink("sub", P("root/inlink")) == -1 ||
	    symlink(P("root/sub"), P("root/absin")) == -1 ||
	    symlink("../out/nothere", P("root/dangle")) == -1)
		return -1;
	put_file(P("root/sub/file"), "inside");
	put_file(P("root/regular"), "plain");
	put_file(P("rootb/file"), "neighbour");
	put_file(P("out/secret"), "outside");
	configure(0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	configure(0);
	if (chdir(savedcwd) == -1)
		return -1;
	rm_tree(base);
	return 0;
}

static void
same_file(int fd, const char *path)
{
	struct stat	 a, b;

	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
}

static void
read_is(int fd, const char *want)
{
	char	 buf[64];
	ssize_t	 n;

	n = pread(fd, buf, sizeof(buf), 0);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, n);
}

/* fspath_open must fail with errno want (and no descriptor). */
static void
open_fails(const char *path, int flags, int want)
{
	int	 fd;

	errno = 0;
	fd = fspath_open(path, flags, 0644);
	if (fd != -1) {
		close(fd);
		print_error("%s: opened, want errno %d\n", path, want);
		fail();
	}
	if (errno != want) {
		print_error("%s: errno %d, want %d\n", path, errno, want);
		fail();
	}
}

static void
open_reads(const char *path, const char *want)
{
	int	 fd;

	fd = fspath_open(path, O_RDONLY, 0);
	if (fd == -1) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	read_is(fd, want);
	close(fd);
}

static void
test_unconfined(void **state)
{
	char	 name[NAME_MAX + 1];
	int	 fd, dfd;

	(void)state;
	assert_false(fspath_confined());
	assert_false(fspath_denied(EXDEV));
	open_reads(P("out/secret"), "outside");
	open_reads(P("root/abslink/secret"), "outside");
	open_reads(P("root/../out/secret"), "outside");
	open_reads(P("rootb/file"), "neighbour");

	assert_int_equal(chdir(P("root")), 0);
	open_reads("sub/file", "inside");
	open_reads("rellink/secret", "outside");

	dfd = fspath_parent("sub/file", name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "file");
	same_file(dfd, P("root/sub"));
	close(dfd);

	/* O_CLOEXEC is always added. */
	fd = fspath_open("sub/file", O_RDONLY, 0);
	assert_true(fd != -1);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* Creation through the policy-less path works too. */
	fd = fspath_open(P("out/new"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(unlink(P("out/new")), 0);

	assert_int_equal(fspath_mkdirs(P("out/m1/m2/m3")), 0);
	fd = open(P("out/m1/m2/m3"), O_PATH | O_DIRECTORY);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(fspath_mkdirs(P("out/m1/m2/m3")), 0);
	open_fails(P("nonexistent/x"), O_RDONLY, ENOENT);
}

static void
test_confined_inside(void **state)
{
	char	 name[NAME_MAX + 1];
	int	 fd;

	(void)state;
	confine();
	open_reads(P("root/sub/file"), "inside");
	open_reads(P("root//sub/./file"), "inside");
	open_reads(P("root/sub/../sub/file"), "inside");
	open_reads(P("root/sub/deeper/../file"), "inside");
	/* A relative symlink that stays inside is followed. */
	open_reads(P("root/inlink/file"), "inside");
	open_reads(P("root/regular"), "plain");

	/* The root itself, with and without a trailing slash. */
	fd = fspath_open(P("root"), O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd != -1);
	same_file(fd, P("root"));
	close(fd);
	fd = fspath_open(P("root/"), O_PATH | O_DIRECTORY, 0);
	assert_true(fd != -1);
	same_file(fd, P("root"));
	close(fd);

	/* A mode with O_DIRECTORY (no O_CREAT) is ignored, as by open(2). */
	fd = fspath_open(P("root/sub"), O_RDONLY | O_DIRECTORY, 0755);
	assert_true(fd != -1);
	close(fd);
	/* O_TMPFILE takes its mode. */
	fd = fspath_open(P("root/sub"), O_TMPFILE | O_WRONLY, 0600);
	assert_true(fd != -1);
	close(fd);

	/* Relative paths are taken from the cwd. */
	assert_int_equal(chdir(P("root/sub")), 0);
	open_reads("file", "inside");
	open_reads("./deeper/../file", "inside");

	/* Creating inside works and lands inside. */
	fd = fspath_open(P("root/sub/created"), O_WRONLY | O_CREAT | O_EXCL,
	    0600);
	assert_true(fd != -1);
	same_file(fd, P("root/sub/created"));
	close(fd);
	assert_int_equal(unlink(P("root/sub/created")), 0);

	/* A symlink inside the root is a name there (parent + name). */
	fd = fspath_parent(P("root/abslink"), name, sizeof(name));
	assert_true(fd != -1);
	assert_string_equal(name, "abslink");
	same_file(fd, P("root"));
	close(fd);
	/* O_NOFOLLOW | O_PATH on the link itself is not an escape. */
	fd = fspath_open(P("root/abslink"), O_PATH | O_NOFOLLOW, 0);
	assert_true(fd != -1);
	close(fd);
}

static void
test_confined_escapes(void **state)
{
	char	 path[PATH_MAX];
	int	 fd;

	(void)state;
	confine();
	assert_true(fspath_denied(EXDEV));
	assert_false(fspath_denied(ENOENT));
	assert_false(fspath_denied(EACCES));

	open_fails(P("root/../out/secret"), O_RDONLY, EXDEV);
	open_fails(P("root/sub/../../out/secret"), O_RDONLY, EXDEV);
	open_fails(P("root/.."), O_RDONLY | O_DIRECTORY, EXDEV);
	open_fails(P("root/abslink/secret"), O_RDONLY, EXDEV);
	open_fails(P("root/abslink"), O_RDONLY | O_DIRECTORY, EXDEV);
	open_fails(P("root/rellink/secret"), O_RDONLY, EXDEV);
	open_fails(P("root/rellink"), O_PATH, EXDEV);
	/*
	 * RESOLVE_BENEATH refuses every absolute symlink, even one that
	 * points back inside the root.
	 */
	open_fails(P("root/absin/file"), O_RDONLY, EXDEV);
	/* Not under any root. */
	open_fails(P("out/secret"), O_RDONLY, EXDEV);
	open_fails(P(""), O_PATH | O_DIRECTORY, EXDEV);
	open_fails("/etc/passwd", O_RDONLY, EXDEV);
	open_fails("/", O_PATH, EXDEV);
	/* "root" is a string prefix of "rootb", not a parent of it. */
	open_fails(P("rootb/file"), O_RDONLY, EXDEV);
	open_fails(P("rootb"), O_PATH, EXDEV);
	/* The root reached through /proc/self/root is not the root. */
	snprintf(path, sizeof(path), "/proc/self/root%s", P("root/sub/file"));
	fd = open(path, O_RDONLY);
	assert_true(fd != -1);	/* the path itself is fine unconfined */
	close(fd);
	open_fails(path, O_RDONLY, EXDEV);
	/* Relative paths from a cwd outside. */
	assert_int_equal(chdir(P("out")), 0);
	open_fails("secret", O_RDONLY, EXDEV);
	open_fails("../root/../out/secret", O_RDONLY, EXDEV);
	/* Relative from a cwd inside, leading out. */
	assert_int_equal(chdir(P("root")), 0);
	open_fails("../out/secret", O_RDONLY, EXDEV);
	open_fails("rellink/secret", O_RDONLY, EXDEV);
	/* As written: stepping out of the root and back in is refused. */
	open_fails("../root/sub/file", O_RDONLY, EXDEV);
	open_fails(P("root/../root/sub/file"), O_RDONLY, EXDEV);

	/* Creation through a dangling escaping symlink: refused, no file. */
	open_fails(P("root/dangle"), O_WRONLY | O_CREAT, EXDEV);
	open_fails(P("root/abslink/new"), O_WRONLY | O_CREAT, EXDEV);
	assert_int_equal(access(P("out/nothere"), F_OK), -1);
	assert_int_equal(access(P("out/new"), F_OK), -1);
}

/* The policy through /proc's magic links, with /proc itself a root. */
static void
test_confined_magiclinks(void **state)
{
	char	 path[64];
	int	 fd, outfd;

	(void)state;
	configure(1, "/proc");
	fd = fspath_open("/proc/self/status", O_RDONLY, 0);
	assert_true(fd != -1);	/* the root works for ordinary files */
	close(fd);
	fd = fspath_open("/proc/self/root/etc/passwd", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_true(errno == ELOOP || errno == EXDEV);
	fd = fspath_open("/proc/self/cwd", O_PATH, 0);
	assert_int_equal(fd, -1);
	outfd = open(P("out/secret"), O_RDONLY);
	assert_true(outfd != -1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", outfd);
	fd = fspath_open(path, O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_true(errno == ELOOP || errno == EXDEV);
	close(outfd);
}

static void
test_multiple_roots(void **state)
{
	char	 r1[PATH_MAX], r2[PATH_MAX], r3[PATH_MAX];
	int	 fd;

	(void)state;
	snprintf(r1, sizeof(r1), "%s", P("root/sub"));
	snprintf(r2, sizeof(r2), "%s", P("other"));
	snprintf(r3, sizeof(r3), "%s", P("missing"));
	configure(3, r3, r1, r2);
	open_reads(P("root/sub/file"), "inside");
	fd = fspath_open(P("other"), O_PATH | O_DIRECTORY, 0);
	assert_true(fd != -1);
	close(fd);
	open_fails(P("root/regular"), O_RDONLY, EXDEV);
	open_fails(P("root/sub/../regular"), O_RDONLY, EXDEV);
	open_fails(P("out/secret"), O_RDONLY, EXDEV);
	/* A root that does not exist refuses everything beneath it. */
	assert_int_equal(mkdir(P("missing"), 0755), 0);
	put_file(P("missing/f"), "late");
	open_fails(P("missing/f"), O_RDONLY, EXDEV);
	/* Reconfiguring replaces the roots. */
	configure(1, r3);
	open_reads(P("missing/f"), "late");
	open_fails(P("root/sub/file"), O_RDONLY, EXDEV);
	configure(0);
	assert_false(fspath_confined());
	open_reads(P("out/secret"), "outside");
	assert_int_equal(unlink(P("missing/f")), 0);
	assert_int_equal(rmdir(P("missing")), 0);
}

static void
test_root_slash(void **state)
{
	(void)state;
	configure(1, "/");
	assert_true(fspath_confined());
	open_reads(P("out/secret"), "outside");
	/* Absolute symlinks are refused even with "/" as the root. */
	open_fails(P("root/abslink/secret"), O_RDONLY, EXDEV);
}

static void
test_parent(void **state)
{
	char	 name[NAME_MAX + 1], small[4];
	int	 dfd;

	(void)state;
	errno = 0;
	assert_int_equal(fspath_parent("/", name, sizeof(name)), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fspath_parent("//", name, sizeof(name)), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fspath_parent("x/..", name, sizeof(name)), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fspath_parent(P("root/.."), name, sizeof(name)), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fspath_parent("", name, sizeof(name)), -1);
	assert_int_equal(errno, ENOENT);

	/* Trailing slashes go. */
	dfd = fspath_parent(P("root/sub/deeper///"), name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "deeper");
	same_file(dfd, P("root/sub"));
	close(dfd);
	/* A trailing "." names the directory itself. */
	dfd = fspath_parent(P("root/sub/."), name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "sub");
	same_file(dfd, P("root"));
	close(dfd);
	/* A top-level name: the parent is "/". */
	dfd = fspath_parent("/tmp", name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "tmp");
	same_file(dfd, "/");
	close(dfd);
	/* The parent is opened O_PATH. */
	dfd = fspath_parent(P("root/sub/file"), name, sizeof(name));
	assert_true(dfd != -1);
	assert_int_equal(fcntl(dfd, F_GETFL) & O_PATH, O_PATH);
	assert_true(fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	close(dfd);

	/* Relative paths against the cwd. */
	assert_int_equal(chdir(P("root/sub")), 0);
	dfd = fspath_parent("file", name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "file");
	same_file(dfd, P("root/sub"));
	close(dfd);
	dfd = fspath_parent("deeper/x", name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "x");
	same_file(dfd, P("root/sub/deeper"));
	close(dfd);
	dfd = fspath_parent("../regular", name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "regular");
	same_file(dfd, P("root"));
	close(dfd);
	/* The parent need not exist for the lexical part, but must to open. */
	errno = 0;
	assert_int_equal(fspath_parent("nope/x", name, sizeof(name)), -1);
	assert_int_equal(errno, ENOENT);
	/* The name must fit. */
	errno = 0;
	assert_int_equal(fspath_parent("file", small, sizeof(small)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	dfd = fspath_parent("abc", small, sizeof(small));
	assert_true(dfd != -1);
	assert_string_equal(small, "abc");
	close(dfd);
}

static void
test_parent_confined(void **state)
{
	char	 name[NAME_MAX + 1];
	int	 dfd;

	(void)state;
	confine();
	dfd = fspath_parent(P("root/newfile"), name, sizeof(name));
	assert_true(dfd != -1);
	assert_string_equal(name, "newfile");
	same_file(dfd, P("root"));
	close(dfd);
	dfd = fspath_parent(P("root/inlink/file"), name, sizeof(name));
	assert_true(dfd != -1);
	same_file(dfd, P("root/sub"));
	close(dfd);
	errno = 0;
	assert_int_equal(fspath_parent(P("root/../out/secret"), name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_parent(P("root/abslink/secret"), name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_parent(P("root/rellink/x"), name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_parent(P("rootb/file"), name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EXDEV);
	/* The root itself has its parent outside: refused. */
	errno = 0;
	assert_int_equal(fspath_parent(P("root"), name, sizeof(name)), -1);
	assert_int_equal(errno, EXDEV);
	assert_true(fspath_denied(EXDEV));
}

static int
is_dir(const char *path)
{
	struct stat	 sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void
test_mkdirs(void **state)
{
	(void)state;
	confine();
	assert_int_equal(fspath_mkdirs(P("root/a/b/c/d")), 0);
	assert_true(is_dir(P("root/a/b/c/d")));
	/* Already there: fine. */
	assert_int_equal(fspath_mkdirs(P("root/a/b/c/d")), 0);
	assert_int_equal(fspath_mkdirs(P("root/a/b/c/d/")), 0);
	assert_int_equal(fspath_mkdirs(P("root")), 0);
	/* Through a symlink that stays inside. */
	assert_int_equal(fspath_mkdirs(P("root/inlink/made/here")), 0);
	assert_true(is_dir(P("root/sub/made/here")));
	/* Relative, against the cwd. */
	assert_int_equal(chdir(P("root/a")), 0);
	assert_int_equal(fspath_mkdirs("rel1/rel2"), 0);
	assert_true(is_dir(P("root/a/rel1/rel2")));
	/* A regular file in the way. */
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/regular/x")), -1);
	assert_int_equal(errno, ENOTDIR);

	/* Outside, directly or through symlinks: refused, nothing made. */
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("out/evil")), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/abslink/evil/deep")), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/rellink/evil")), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/dangle/evil")), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/../out/evil")), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(fspath_mkdirs(P("root/a/../../rootb/evil")), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(access(P("out/evil"), F_OK), -1);
	assert_int_equal(access(P("out/nothere"), F_OK), -1);
	assert_int_equal(access(P("rootb/evil"), F_OK), -1);
}

/* Every open through dirfd that must stay beneath it, with any policy. */
static void
beneath_cases(void)
{
	char	 name[NAME_MAX + 1], abs[PATH_MAX];
	int	 dirfd, fd, procfd;

	dirfd = open(P("root"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd != -1);

	fd = fspath_beneath_open(dirfd, "sub/file", O_RDONLY, 0);
	assert_true(fd != -1);
	read_is(fd, "inside");
	close(fd);
	fd = fspath_beneath_open(dirfd, "inlink/file", O_RDONLY, 0);
	assert_true(fd != -1);
	close(fd);
	fd = fspath_beneath_open(dirfd, "sub/deeper/../file", O_RDONLY, 0);
	assert_true(fd != -1);
	close(fd);
	fd = fspath_beneath_open(dirfd, "sub", O_RDONLY | O_DIRECTORY, 0700);
	assert_true(fd != -1);
	close(fd);
	fd = fspath_beneath_open(dirfd, ".", O_PATH | O_DIRECTORY, 0);
	assert_true(fd != -1);
	same_file(fd, P("root"));
	close(fd);

	snprintf(abs, sizeof(abs), "%s", P("out/secret"));
	{
		const char	*bad[] = {
			"..", "../out/secret", "sub/../../out/secret",
			"abslink/secret", "rellink/secret", "absin/file",
			abs, "/", "dangle",
		};
		size_t		 i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			fd = fspath_beneath_open(dirfd, bad[i], O_RDONLY, 0);
			if (fd != -1 || errno != EXDEV) {
				print_error("beneath_open %s: fd %d errno %d\n",
				    bad[i], fd, errno);
				fail();
			}
		}
	}
	errno = 0;
	assert_int_equal(fspath_beneath_open(dirfd, "dangle",
	    O_WRONLY | O_CREAT, 0600), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(access(P("out/nothere"), F_OK), -1);

	/* beneath_parent */
	fd = fspath_beneath_parent(dirfd, "sub/file", name, sizeof(name));
	assert_true(fd != -1);
	assert_string_equal(name, "file");
	same_file(fd, P("root/sub"));
	close(fd);
	fd = fspath_beneath_parent(dirfd, "newname", name, sizeof(name));
	assert_true(fd != -1);
	assert_string_equal(name, "newname");
	same_file(fd, P("root"));
	close(fd);
	fd = fspath_beneath_parent(dirfd, "inlink/x", name, sizeof(name));
	assert_true(fd != -1);
	same_file(fd, P("root/sub"));
	close(fd);
	{
		const char	*exdev[] = {
			"../x", "abslink/x", "rellink/x", "/x", "/tmp/x",
			"sub/../../x", "absin/x",
		};
		const char	*einval[] = {
			"", "sub/", "sub/..", "sub/.", ".", "..", "/",
		};
		size_t		 i;

		for (i = 0; i < sizeof(exdev) / sizeof(exdev[0]); i++) {
			errno = 0;
			fd = fspath_beneath_parent(dirfd, exdev[i], name,
			    sizeof(name));
			if (fd != -1 || errno != EXDEV) {
				print_error("beneath_parent %s: fd %d errno "
				    "%d\n", exdev[i], fd, errno);
				fail();
			}
		}
		for (i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
			errno = 0;
			fd = fspath_beneath_parent(dirfd, einval[i], name,
			    sizeof(name));
			if (fd != -1 || errno != EINVAL) {
				print_error("beneath_parent \"%s\": fd %d "
				    "errno %d\n", einval[i], fd, errno);
				fail();
			}
		}
	}
	errno = 0;
	assert_int_equal(fspath_beneath_parent(dirfd, "sub/longname", name, 4),
	    -1);
	assert_int_equal(errno, ENAMETOOLONG);
	close(dirfd);

	/* Magic links beneath a /proc descriptor. */
	procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd != -1);
	fd = fspath_beneath_open(procfd, "status", O_RDONLY, 0);
	assert_true(fd != -1);
	close(fd);
	fd = fspath_beneath_open(procfd, "root/etc/passwd", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_true(errno == ELOOP || errno == EXDEV);
	fd = fspath_beneath_open(procfd, "cwd", O_PATH, 0);
	assert_int_equal(fd, -1);
	close(procfd);
}

static void
test_beneath_unconfined(void **state)
{
	(void)state;
	configure(0);
	beneath_cases();
}

static void
test_beneath_confined(void **state)
{
	char	 r[PATH_MAX];

	(void)state;
	/* Even when the policy itself would allow everything. */
	configure(1, "/");
	beneath_cases();
	snprintf(r, sizeof(r), "%s", P("root"));
	configure(1, r);
	beneath_cases();
}

static void
test_absolute(void **state)
{
	char	 out[PATH_MAX], want[PATH_MAX], tiny[8];

	(void)state;
	assert_int_equal(fspath_absolute("/a//b/./c/", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b/c");
	assert_int_equal(fspath_absolute("/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(fspath_absolute("///.//", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* ".." is left for the kernel. */
	assert_int_equal(fspath_absolute("/a/../b", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/../b");
	assert_int_equal(chdir(P("root")), 0);
	assert_int_equal(fspath_absolute("sub/./file", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s", P("root/sub/file"));
	assert_string_equal(out, want);
	assert_int_equal(fspath_absolute(".", out, sizeof(out)), 0);
	assert_string_equal(out, P("root"));
	errno = 0;
	assert_int_equal(fspath_absolute("", out, sizeof(out)), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(fspath_absolute("/abcdefgh/ij", tiny, sizeof(tiny)),
	    -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(fspath_absolute("/abc/de", tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "/abc/de");
}

static void
dirname_is(const char *in, const char *want)
{
	char	 out[PATH_MAX];

	memset(out, 'Z', sizeof(out));
	fspath_dirname(in, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		print_error("dirname(\"%s\") = \"%s\", want \"%s\"\n", in,
		    out, want);
		fail();
	}
}

static void
test_dirname(void **state)
{
	char	 small[4];

	(void)state;
	dirname_is("/a/b/c", "/a/b");
	dirname_is("/a/b/c/", "/a/b");
	dirname_is("/a/b//c//", "/a/b");
	dirname_is("/a", "/");
	dirname_is("//a", "/");
	dirname_is("/", "/");
	dirname_is("///", "/");
	dirname_is("a", ".");
	dirname_is("a/", ".");
	dirname_is("", ".");
	dirname_is("a/b", "a");
	dirname_is("a//b", "a");
	dirname_is("./a", ".");
	dirname_is("../a", "..");
	dirname_is("/a/..", "/a");
	/* Input untouched, output truncated, never overrun. */
	memset(small, 'Z', sizeof(small));
	fspath_dirname("/abcdef/g", small, sizeof(small));
	assert_int_equal(small[3], '\0');
	assert_string_equal(small, "/ab");
}

static void
test_name_ok(void **state)
{
	char	 longname[NAME_MAX + 2];

	(void)state;
	assert_true(fspath_name_ok("file.txt"));
	assert_true(fspath_name_ok(".hidden"));
	assert_true(fspath_name_ok("..."));
	assert_true(fspath_name_ok("a b"));
	assert_true(fspath_name_ok("\xc3\xa9t\xc3\xa9"));
	assert_false(fspath_name_ok(""));
	assert_false(fspath_name_ok("."));
	assert_false(fspath_name_ok(".."));
	assert_false(fspath_name_ok("a/b"));
	assert_false(fspath_name_ok("/"));
	assert_false(fspath_name_ok("a/"));
	assert_false(fspath_name_ok("a\\b"));
	memset(longname, 'x', NAME_MAX);
	longname[NAME_MAX] = '\0';
	assert_true(fspath_name_ok(longname));
	longname[NAME_MAX] = 'x';
	longname[NAME_MAX + 1] = '\0';
	assert_false(fspath_name_ok(longname));
}

/*
 * The race: root/d is, turn by turn, a real directory and a symlink to
 * race-out (a thread swaps the two names with RENAME_EXCHANGE), while
 * this thread resolves paths through root/d. No descriptor may ever be
 * one of race-out's files.
 */
struct race {
	atomic_int	 stop;
	atomic_long	 swaps;
	int		 rootfd;
	const char	*other;	/* the name swapped with "d" */
};

static void *
swapper(void *arg)
{
	struct race	*r = arg;

	while (!atomic_load(&r->stop)) {
		if (renameat2(r->rootfd, "d", r->rootfd, r->other,
		    RENAME_EXCHANGE) == 0)
			atomic_fetch_add(&r->swaps, 1);
	}
	return NULL;
}

struct ident {
	dev_t	 dev;
	ino_t	 ino;
};

static struct ident	 outside[3];

static void
ident_of(const char *path, struct ident *id)
{
	struct stat	 sb;

	assert_int_equal(stat(path, &sb), 0);
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
}

/* 1 when fd is one of race-out's objects. */
static int
escaped(int fd)
{
	struct stat	 sb;
	size_t		 i;

	assert_int_equal(fstat(fd, &sb), 0);
	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
		if (sb.st_dev == outside[i].dev && sb.st_ino == outside[i].ino)
			return 1;
	return 0;
}

struct tally {
	long	 ok, refused, escapes, other;
};

static void
count(struct tally *t, int fd)
{
	if (fd == -1) {
		if (errno == EXDEV)
			t->refused++;
		else
			t->other++;
		return;
	}
	if (escaped(fd))
		t->escapes++;
	else
		t->ok++;
	close(fd);
}

/* One round of operations through root/d; returns with t updated. */
static void
race_ops(struct tally *t)
{
	char	 name[NAME_MAX + 1];
	int	 dfd, fd;

	count(t, fspath_open(P("root/d/f"), O_RDONLY, 0));
	count(t, fspath_open(P("root/d"), O_RDONLY | O_DIRECTORY, 0));
	count(t, fspath_open(P("root/d/s"), O_PATH | O_DIRECTORY, 0));
	/* ".." under a concurrent rename: the kernel's EAGAIN path. */
	count(t, fspath_open(P("root/d/s/../f"), O_RDONLY, 0));
	fd = fspath_open(P("root/d/made"), O_WRONLY | O_CREAT, 0600);
	count(t, fd);
	dfd = fspath_parent(P("root/d/f"), name, sizeof(name));
	if (dfd == -1) {
		count(t, -1);
		return;
	}
	assert_string_equal(name, "f");
	if (escaped(dfd)) {
		t->escapes++;
		close(dfd);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	count(t, fd);
	fspath_mkdirs(P("root/d/s/mk"));
}

static void
race_run(const char *target, int confined, struct tally *t)
{
	struct race	 r;
	pthread_t	 th;
	long		 i;

	memset(t, 0, sizeof(*t));
	assert_int_equal(mkdir(P("race-out"), 0755), 0);
	assert_int_equal(mkdir(P("race-out/s"), 0755), 0);
	put_file(P("race-out/f"), "outside");
	ident_of(P("race-out"), &outside[0]);
	ident_of(P("race-out/s"), &outside[1]);
	ident_of(P("race-out/f"), &outside[2]);
	assert_int_equal(mkdir(P("root/d"), 0755), 0);
	assert_int_equal(mkdir(P("root/d/s"), 0755), 0);
	put_file(P("root/d/f"), "inside");
	assert_int_equal(symlink(target, P("root/link")), 0);
	if (confined)
		confine();
	else
		configure(0);

	memset(&r, 0, sizeof(r));
	r.rootfd = open(P("root"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r.rootfd != -1);
	r.other = "link";
	/* Check the swap works here before relying on it. */
	assert_int_equal(renameat2(r.rootfd, "d", r.rootfd, "link",
	    RENAME_EXCHANGE), 0);
	assert_int_equal(renameat2(r.rootfd, "d", r.rootfd, "link",
	    RENAME_EXCHANGE), 0);
	assert_int_equal(pthread_create(&th, NULL, swapper, &r), 0);
	/* At least 1000 rounds, and until both shapes were seen. */
	for (i = 0; i < 200000; i++) {
		race_ops(t);
		if (confined && t->escapes > 0)
			break;
		if (i >= 1000 && t->ok > 0 &&
		    (confined ? t->refused > 0 : t->escapes > 0))
			break;
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	close(r.rootfd);
	print_message("race (%s, %s): %ld rounds, %ld swaps, %ld ok, "
	    "%ld refused, %ld escapes, %ld other\n",
	    confined ? "confined" : "unconfined", target, i + 1,
	    atomic_load(&r.swaps), t->ok, t->refused, t->escapes, t->other);
	configure(0);
}

static void
race_cleanup(void)
{
	rm_tree(P("race-out"));
	unlink(P("root/link"));
	rm_tree(P("root/d"));
	rm_tree(P("root/link"));
}

static void
race_confined(const char *target)
{
	struct tally	 t;
	int		 outside_made;

	race_run(target, 1, &t);
	outside_made = access(P("race-out/made"), F_OK) == 0 ||
	    access(P("race-out/s/mk"), F_OK) == 0;
	race_cleanup();
	assert_int_equal(t.escapes, 0);
	assert_false(outside_made);
	/* The race really happened: both shapes were met. */
	assert_true(t.ok > 0);
	assert_true(t.refused > 0);
}

static void
test_race_absolute(void **state)
{
	char	 target[PATH_MAX];

	(void)state;
	snprintf(target, sizeof(target), "%s", P("race-out"));
	race_confined(target);
}

static void
test_race_relative(void **state)
{
	(void)state;
	race_confined("../race-out");
}

/* Control: without the policy the same loop does escape, so it can see. */
static void
test_race_control(void **state)
{
	struct tally	 t;

	(void)state;
	race_run("../race-out", 0, &t);
	race_cleanup();
	assert_true(t.escapes > 0);
	assert_int_equal(t.refused, 0);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup_teardown(test_unconfined, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_confined_inside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_confined_escapes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_confined_magiclinks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_multiple_roots, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_root_slash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_confined, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beneath_unconfined, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_beneath_confined, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
		cmocka_unit_test(test_dirname),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test_setup_teardown(test_race_absolute, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_relative, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race_control, setup,
		    teardown),
	};

	log_init(1, LOGLEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
