#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "git/watch.h"

#define MAXREC	64

/* Everything the callbacks of one test delivered. */
struct rec {
	int		 calls;
	int		 overflow;
	int		 paths_overflow;
	char		*dirs[MAXREC];
	size_t		 ndirs;
	char		*gits[MAXREC];
	size_t		 ngits;
	char		*paths[MAXREC];
	size_t		 npaths;
	long		 first_ms;	/* time of the first callback */
	int		 stop;		/* break the loop on a callback */
};

static struct event_base	*base;
static struct rec		 R;
static char			 tmp[64];
static struct timespec		 t0;

static long
now_ms(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000;
}

static void
keep(char **v, size_t *n, const char *const *src, size_t k)
{
	size_t	i;

	for (i = 0; i < k && *n < MAXREC; i++)
		v[(*n)++] = strdup(src[i]);
}

static void
on_change(void *arg, const struct watch_changes *c)
{
	(void)arg;
	if (R.calls++ == 0)
		R.first_ms = now_ms();
	R.overflow |= c->overflow;
	R.paths_overflow |= c->paths_overflow;
	keep(R.dirs, &R.ndirs, c->dirs, c->ndirs);
	keep(R.gits, &R.ngits, c->gitdirs, c->ngitdirs);
	keep(R.paths, &R.npaths, c->paths, c->npaths);
	if (R.stop)
		event_base_loopbreak(base);
}

static void
rec_reset(void)
{
	size_t	i;

	for (i = 0; i < R.ndirs; i++)
		free(R.dirs[i]);
	for (i = 0; i < R.ngits; i++)
		free(R.gits[i]);
	for (i = 0; i < R.npaths; i++)
		free(R.paths[i]);
	memset(&R, 0, sizeof(R));
	R.stop = 1;
}

static int
has(char *const *v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Run the loop for at most ms (less if a callback breaks it). */
static void
run(long ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static char *
path(const char *rel)
{
	static char	buf[4][256];
	static int	k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

static void
touch(const char *rel)
{
	int	fd = open(path(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void
mkdir_p(const char *rel)
{
	assert_int_equal(mkdir(path(rel), 0755), 0);
}

static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;		/* the one opendir holds */
}

static void
rm_tree(const char *p)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", p);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_watch.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	base = event_base_new();
	watch_init(base, on_change, NULL);
	rec_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	watch_shutdown();
	event_base_free(base);
	rec_reset();
	rm_tree(tmp);
	return 0;
}

static void
test_create_reported(void **state)
{
	(void)state;
	assert_int_equal(watch_add(tmp), 0);
	assert_int_equal(watch_count(), 1);
	touch("a");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_true(has(R.dirs, R.ndirs, tmp));
	assert_true(has(R.paths, R.npaths, path("a")));
	assert_int_equal(R.ngits, 0);
	assert_int_equal(R.overflow, 0);
	assert_int_equal(watch_del(tmp), 0);
	assert_int_equal(watch_count(), 0);
}

static void
test_burst_is_one_batch(void **state)
{
	char	name[32];
	int	i;

	(void)state;
	assert_int_equal(watch_add(tmp), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		touch(name);
	}
	R.stop = 0;
	run(800);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ndirs, 1);
	assert_int_equal(R.npaths, 50);
	/* Debounced: not before WATCH_DEBOUNCE_MS of quiet. */
	assert_true(R.first_ms >= WATCH_DEBOUNCE_MS - 5);
	assert_int_equal(watch_del(tmp), 0);
}

static void
writer(int fd, short what, void *arg)
{
	int	*left = arg;

	(void)fd;
	(void)what;
	if ((*left)-- > 0)
		touch("busy");
}

/* A continuous stream still flushes, after at most the maximum delay. */
static void
test_max_delay(void **state)
{
	struct timeval	 tv = { 0, 40 * 1000 };
	struct event	*ev;
	int		 left = 35;		/* 1.4 s of writes */
	long		 start;

	(void)state;
	/* Writes every 40 ms keep a 100 ms debounce from ever running out. */
	watch_set_delays(100, 500);
	assert_int_equal(watch_add(tmp), 0);
	ev = event_new(base, -1, EV_PERSIST, writer, &left);
	event_add(ev, &tv);
	R.stop = 0;
	start = now_ms();
	touch("busy");
	run(1800);
	event_free(ev);
	assert_true(R.calls >= 2);
	assert_true(R.first_ms - start >= 450);
	assert_true(R.first_ms - start <= 750);
	assert_int_equal(watch_del(tmp), 0);
	watch_set_delays(0, 0);
}

static void
test_refcount(void **state)
{
	int	base_fds = count_fds();

	(void)state;
	assert_int_equal(watch_add(tmp), 0);
	assert_int_equal(watch_add(tmp), 0);
	assert_int_equal(watch_entries(), 1);
	assert_int_equal(watch_count(), 1);
	assert_int_equal(watch_del(tmp), 0);
	assert_int_equal(watch_count(), 1);
	touch("still");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(watch_del(tmp), 0);
	assert_int_equal(watch_count(), 0);
	assert_int_equal(watch_entries(), 0);
	assert_int_equal(count_fds(), base_fds);
	assert_int_equal(watch_del(tmp), -1);
	assert_int_equal(errno, ENOENT);
}

static void
make_gitdir(void)
{
	mkdir_p(".git");
	mkdir_p(".git/refs");
	mkdir_p(".git/refs/heads");
	mkdir_p(".git/refs/heads/a");
	mkdir_p(".git/refs/heads/a/b");
	touch(".git/HEAD");
}

static void
test_leak_free(void **state)
{
	int	base_fds = count_fds(), i;

	(void)state;
	make_gitdir();
	mkdir_p("d1");
	mkdir_p("d2");
	for (i = 0; i < 100; i++) {
		assert_int_equal(watch_add(tmp), 0);
		assert_int_equal(watch_add(path("d1")), 0);
		assert_int_equal(watch_add(path("d2")), 0);
		assert_int_equal(watch_add_git(path(".git"), NULL), 0);
		assert_int_equal(watch_add_git(path(".git"), NULL), 0);
		assert_int_equal(watch_count(), 7);
		touch("d1/x");
		assert_int_equal(watch_del_git(path(".git")), 0);
		assert_int_equal(watch_del_git(path(".git")), 0);
		assert_int_equal(watch_del(path("d2")), 0);
		assert_int_equal(watch_del(path("d1")), 0);
		assert_int_equal(watch_del(tmp), 0);
		assert_int_equal(watch_count(), 0);
		assert_int_equal(watch_entries(), 0);
		assert_int_equal(count_fds(), base_fds);
	}
	/* Nothing is delivered for watches that are gone. */
	run(300);
	assert_int_equal(R.calls, 0);
}

static void
test_symlink_alias(void **state)
{
	char	link[256];

	(void)state;
	mkdir_p("real");
	snprintf(link, sizeof(link), "%s", path("alias"));
	assert_int_equal(symlink(path("real"), link), 0);
	assert_int_equal(watch_add(path("real")), 0);
	assert_int_equal(watch_add(link), 0);
	assert_int_equal(watch_entries(), 2);
	assert_int_equal(watch_count(), 1);	/* one inode, one watch */
	touch("real/f");
	run(2000);
	assert_true(has(R.dirs, R.ndirs, path("real")));
	assert_true(has(R.dirs, R.ndirs, link));
	assert_int_equal(watch_del(link), 0);
	assert_int_equal(watch_count(), 1);
	rec_reset();
	touch("real/g");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ndirs, 1);
	assert_true(has(R.dirs, R.ndirs, path("real")));
	assert_int_equal(watch_del(path("real")), 0);
	assert_int_equal(watch_count(), 0);
}

static void
git_write(const char *name)
{
	char	lock[128], from[256];

	snprintf(lock, sizeof(lock), "%s.lock", name);
	touch(lock);
	snprintf(from, sizeof(from), "%s", path(lock));
	assert_int_equal(rename(from, path(name)), 0);
}

static void
test_git_metadata(void **state)
{
	(void)state;
	make_gitdir();
	assert_int_equal(watch_add_git(path(".git"), NULL), 0);
	/* .git, refs/heads, a, a/b */
	assert_int_equal(watch_entries(), 4);
	git_write(".git/HEAD");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ngits, 1);
	assert_string_equal(R.gits[0], path(".git"));
	assert_int_equal(R.ndirs, 0);

	/* Other files in .git do not count. */
	rec_reset();
	touch(".git/description");
	touch(".git/refs/heads/x.lock");
	run(400);
	assert_int_equal(R.calls, 0);

	git_write(".git/index");
	run(2000);
	assert_int_equal(R.ngits, 1);

	/* A branch in a new directory: the directory is watched too. */
	rec_reset();
	mkdir_p(".git/refs/heads/feature");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(watch_entries(), 5);
	rec_reset();
	git_write(".git/refs/heads/feature/x");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ngits, 1);
	assert_int_equal(watch_del_git(path(".git")), 0);
	assert_int_equal(watch_entries(), 0);
	assert_int_equal(watch_count(), 0);
}

/* A folder watch inside .git reports nothing; the git watch does. */
/* A git command's lock holds the batch back, until it goes. */
static void
test_git_lock_holds(void **state)
{
	long	start;

	(void)state;
	make_gitdir();
	assert_int_equal(watch_add_git(path(".git"), NULL), 0);
	touch(".git/index.lock");
	start = now_ms();
	git_write(".git/HEAD");
	run(200);
	assert_int_equal(R.calls, 0);
	assert_int_equal(unlink(path(".git/index.lock")), 0);
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ngits, 1);
	assert_true(R.first_ms - start >= 200);

	/* A lock left behind holds it no longer than the maximum delay. */
	rec_reset();
	touch(".git/HEAD.lock");
	start = now_ms();
	git_write(".git/index");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_true(R.first_ms - start >= WATCH_MAX_DELAY_MS - 20);
	assert_true(R.first_ms - start <= WATCH_MAX_DELAY_MS + 250);
	assert_int_equal(watch_del_git(path(".git")), 0);
}

/* git init makes objects after HEAD: that counts, and refs/heads arms. */
static void
test_git_init_order(void **state)
{
	(void)state;
	mkdir_p(".git");
	assert_int_equal(watch_add_git(path(".git"), NULL), 0);
	git_write(".git/HEAD");
	run(2000);
	assert_int_equal(R.calls, 1);
	rec_reset();
	mkdir_p(".git/objects");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ngits, 1);
	rec_reset();
	mkdir_p(".git/refs");
	mkdir_p(".git/refs/heads");
	run(2000);
	assert_true(R.calls >= 1);
	rec_reset();
	git_write(".git/refs/heads/main");
	run(2000);
	assert_int_equal(R.calls, 1);
	assert_int_equal(R.ngits, 1);
	assert_int_equal(watch_del_git(path(".git")), 0);
	assert_int_equal(watch_count(), 0);
}

static void
test_folder_under_git(void **state)
{
	(void)state;
	make_gitdir();
	assert_int_equal(watch_add(path(".git/refs")), 0);
	touch(".git/refs/swap");
	run(400);
	assert_int_equal(R.calls, 0);
	assert_int_equal(watch_del(path(".git/refs")), 0);
}

static void
test_deleted_and_recreated(void **state)
{
	(void)state;
	mkdir_p("sub");
	assert_int_equal(watch_add(tmp), 0);
	assert_int_equal(watch_add(path("sub")), 0);
	assert_int_equal(watch_count(), 2);
	assert_int_equal(rmdir(path("sub")), 0);
	run(2000);
	assert_true(has(R.dirs, R.ndirs, path("sub")));
	assert_true(has(R.dirs, R.ndirs, tmp));
	assert_int_equal(watch_count(), 1);	/* the kernel dropped it */
	assert_int_equal(watch_entries(), 2);	/* our reference stays */

	rec_reset();
	mkdir_p("sub");
	run(2000);
	assert_int_equal(watch_count(), 2);	/* armed again */
	rec_reset();
	touch("sub/new");
	run(2000);
	assert_true(has(R.paths, R.npaths, path("sub/new")));
	assert_int_equal(watch_del(path("sub")), 0);
	assert_int_equal(watch_del(tmp), 0);
	assert_int_equal(watch_count(), 0);
}

static void
test_moved_away(void **state)
{
	char	from[256];

	(void)state;
	mkdir_p("m");
	assert_int_equal(watch_add(path("m")), 0);
	snprintf(from, sizeof(from), "%s", path("m"));
	assert_int_equal(rename(from, path("m2")), 0);
	run(2000);
	assert_true(has(R.dirs, R.ndirs, path("m")));
	/* Not following the directory to its new name. */
	assert_int_equal(watch_count(), 0);
	rec_reset();
	touch("m2/x");
	run(300);
	assert_int_equal(R.calls, 0);
	assert_int_equal(watch_del(path("m")), 0);
	assert_int_equal(watch_entries(), 0);
}

static long
read_proc(const char *p)
{
	FILE	*f = fopen(p, "r");
	long	 v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void
test_queue_overflow(void **state)
{
	long	max = read_proc("/proc/sys/fs/inotify/max_queued_events");
	long	i;
	char	name[32];

	(void)state;
	if (max <= 0 || max > 200000)
		skip();
	assert_int_equal(watch_add(tmp), 0);
	/* Two events per round, nobody reading. */
	for (i = 0; i < max / 2 + 16; i++) {
		snprintf(name, sizeof(name), "o%ld", i % 4096);
		touch(name);
		unlink(path(name));
	}
	run(3000);
	assert_true(R.calls >= 1);
	assert_int_equal(R.overflow, 1);
	assert_int_equal(R.paths_overflow, 1);	/* far more than listed */
	assert_int_equal(watch_del(tmp), 0);
}

static void
test_limit(void **state)
{
	char	name[32];
	int	i, fail = -1;

	(void)state;
	if (read_proc("/proc/sys/fs/inotify/max_user_watches") <
	    WATCH_MAX + 1000)
		skip();
	for (i = 0; i <= WATCH_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		mkdir_p(name);
	}
	for (i = 0; i <= WATCH_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		if (watch_add(path(name)) == -1) {
			fail = i;
			break;
		}
	}
	assert_int_equal(fail, WATCH_MAX);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(watch_entries(), WATCH_MAX);
	/* Failure took no reference. */
	assert_int_equal(watch_del(path(name)), -1);
	for (i = 0; i < WATCH_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		assert_int_equal(watch_del(path(name)), 0);
	}
	assert_int_equal(watch_count(), 0);
}

static void
test_missing_folder(void **state)
{
	int	base_fds = count_fds();

	(void)state;
	assert_int_equal(watch_add(path("nope")), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(watch_entries(), 0);
	assert_int_equal(count_fds(), base_fds);
	touch("file");
	assert_int_equal(watch_add(path("file")), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(watch_add_git(path("nogit"), NULL), -1);
	assert_int_equal(watch_entries(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_reported, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_burst_is_one_batch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_delay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refcount, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leak_free, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink_alias, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_git_metadata, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_git_lock_holds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_git_init_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_folder_under_git, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deleted_and_recreated,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_away, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_folder, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
