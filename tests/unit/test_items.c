#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "git/items.h"

static char	tmp[64];

static const char *const fields[] = {
	"name", "path", "is_directory", "parent_path", "size",
	"modified_time", "is_git_tracked", "git_status", "is_staged",
	"is_hidden", "is_ignored", "children", "is_expanded", "is_loaded",
	NULL
};

static char *
P(const char *rel)
{
	static char	buf[8][512];
	static int	k;

	k = (k + 1) % 8;
	if (rel == NULL || *rel == '\0')
		snprintf(buf[k], sizeof(buf[k]), "%s", tmp);
	else
		snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

static void
put(const char *rel, const char *text)
{
	int	fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
rm_tree(const char *p)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", p);
}

/*
 * root/
 *   .git/ (skipped)  .hidden  A.md  b.txt  dir1/ (x.c, sub/)  Zdir/
 *   lnk -> dir1  broken -> nowhere  fifo
 */
static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_items.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	mkdir(P(".git"), 0755);
	mkdir(P("dir1"), 0755);
	mkdir(P("dir1/sub"), 0755);
	mkdir(P("Zdir"), 0755);
	put(".hidden", "h");
	put("A.md", "# A\n");
	put("b.txt", "bbbbb");
	put("dir1/x.c", "int x;\n");
	if (symlink(P("dir1"), P("lnk")) != 0 ||
	    symlink(P("nowhere"), P("broken")) != 0 ||
	    mkfifo(P("fifo"), 0644) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_tree(tmp);
	return 0;
}

static struct json_object *
build(const struct item_folder *f, size_t n, item_status_fn fn, void *arg,
    int *trunc)
{
	struct items_req	req;

	req.root = tmp;
	req.folders = f;
	req.nfolders = n;
	req.status = fn;
	req.arg = arg;
	return items_build(&req, trunc);
}

static struct json_object *
item(struct json_object *arr, size_t i)
{
	assert_true(i < json_object_array_length(arr));
	return json_object_array_get_idx(arr, i);
}

static const char *
str(struct json_object *o, const char *k)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v == NULL ? NULL : json_object_get_string(v);
}

static int
boolean(struct json_object *o, const char *k)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static int
is_null(struct json_object *o, const char *k)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v == NULL;
}

static void
check_fields(struct json_object *o)
{
	size_t	i = 0;

	json_object_object_foreach(o, key, val) {
		(void)val;
		assert_non_null(fields[i]);
		assert_string_equal(key, fields[i]);
		i++;
	}
	assert_null(fields[i]);
}

static void
test_order_and_fields(void **state)
{
	struct item_folder	 f[] = {
		{ tmp, 1 }, { NULL, 0 }
	};
	struct json_object	*a, *o;
	const char		*want[] = {
		"dir1", "lnk", "Zdir", ".hidden", "A.md", "b.txt", "fifo",
		"sub", "x.c"
	};
	struct stat		 st;
	size_t			 i;
	int			 trunc = -1;

	(void)state;
	f[1].path = P("dir1");
	a = build(f, 2, NULL, NULL, &trunc);
	assert_int_equal(trunc, 0);
	assert_int_equal(json_object_array_length(a), 9);
	for (i = 0; i < 9; i++) {
		o = item(a, i);
		check_fields(o);
		assert_string_equal(str(o, "name"), want[i]);
		assert_string_equal(str(o, "parent_path"),
		    i < 7 ? tmp : P("dir1"));
		assert_true(is_null(o, "children"));
		assert_false(boolean(o, "is_git_tracked"));
		assert_true(is_null(o, "git_status"));
		assert_false(boolean(o, "is_staged"));
		assert_false(boolean(o, "is_ignored"));
	}
	/* Zdir: a directory, not monitored, not loaded. */
	o = item(a, 2);
	assert_true(boolean(o, "is_directory"));
	assert_true(is_null(o, "size"));
	assert_false(boolean(o, "is_expanded"));
	assert_false(boolean(o, "is_loaded"));
	/* dir1: monitored, collapsed. */
	o = item(a, 0);
	assert_string_equal(str(o, "path"), P("dir1"));
	assert_true(boolean(o, "is_loaded"));
	assert_false(boolean(o, "is_expanded"));
	/* lnk: a link to a directory is a directory. */
	assert_true(boolean(item(a, 1), "is_directory"));
	assert_false(boolean(item(a, 1), "is_loaded"));
	/* .hidden */
	assert_true(boolean(item(a, 3), "is_hidden"));
	assert_false(boolean(item(a, 4), "is_hidden"));
	/* b.txt: size and mtime as stat says. */
	o = item(a, 5);
	assert_int_equal(stat(P("b.txt"), &st), 0);
	assert_int_equal(json_object_get_int64(json_object_object_get(o,
	    "size")), 5);
	assert_true(json_object_get_double(json_object_object_get(o,
	    "modified_time")) == (double)st.st_mtim.tv_sec +
	    (double)st.st_mtim.tv_nsec * 1e-9);
	assert_true(boolean(o, "is_loaded"));
	/* fifo: neither directory nor regular file. */
	o = item(a, 6);
	assert_false(boolean(o, "is_directory"));
	assert_true(is_null(o, "size"));
	/* sub inside dir1 */
	assert_true(boolean(item(a, 7), "is_directory"));
	json_object_put(a);
}

struct calls {
	int	n;
	int	dirs;
	char	buf[16];
};

static void
status_cb(void *arg, const char *path, int is_dir, struct item_git *g)
{
	struct calls	*c = arg;

	c->n++;
	c->dirs += is_dir;
	if (strcmp(path, P("b.txt")) == 0) {
		/* Valid until the build returns, not longer. */
		snprintf(c->buf, sizeof(c->buf), "modified");
		g->git_status = c->buf;
		g->is_tracked = 1;
		g->is_staged = ITEM_STAGED_MIXED;
	} else if (strcmp(path, P("A.md")) == 0) {
		g->git_status = "added";
		g->is_staged = ITEM_STAGED_YES;
	} else if (strcmp(path, P(".hidden")) == 0) {
		g->git_status = "ignored";
		g->is_ignored = 1;
	}
}

static struct json_object *
find(struct json_object *a, const char *name)
{
	size_t	i;

	for (i = 0; i < json_object_array_length(a); i++)
		if (strcmp(str(item(a, i), "name"), name) == 0)
			return item(a, i);
	fail_msg("%s not in the list", name);
	return NULL;
}

static void
test_status(void **state)
{
	struct item_folder	 f[] = { { tmp, 1 } };
	struct json_object	*a, *o, *v;
	struct calls		 c;

	(void)state;
	memset(&c, 0, sizeof(c));
	a = build(f, 1, status_cb, &c, NULL);
	memset(c.buf, 'X', sizeof(c.buf) - 1);
	assert_int_equal(c.n, 7);	/* once per item */
	assert_int_equal(c.dirs, 3);
	o = find(a, "b.txt");
	assert_string_equal(str(o, "git_status"), "modified");
	assert_true(boolean(o, "is_git_tracked"));
	v = json_object_object_get(o, "is_staged");
	assert_true(json_object_is_type(v, json_type_string));
	assert_string_equal(json_object_get_string(v), "mixed");
	o = find(a, "A.md");
	assert_string_equal(str(o, "git_status"), "added");
	assert_true(boolean(o, "is_staged"));
	assert_false(boolean(o, "is_git_tracked"));
	o = find(a, ".hidden");
	assert_true(boolean(o, "is_ignored"));
	assert_string_equal(str(o, "git_status"), "ignored");
	json_object_put(a);
}

static void
test_duplicates_and_expanded(void **state)
{
	struct item_folder	 f[4];
	struct json_object	*a;

	(void)state;
	f[0].path = tmp;
	f[0].expanded = 1;
	f[1].path = P("dir1");
	f[1].expanded = 0;
	f[2].path = P("dir1");
	f[2].expanded = 1;
	f[3].path = "/tmp";	/* outside the project: ignored */
	f[3].expanded = 1;
	a = build(f, 4, NULL, NULL, NULL);
	assert_int_equal(json_object_array_length(a), 9);
	assert_true(boolean(find(a, "dir1"), "is_expanded"));
	assert_true(boolean(find(a, "sub"), "is_directory"));
	assert_false(boolean(find(a, "sub"), "is_loaded"));
	json_object_put(a);
}

static void
test_case_order(void **state)
{
	struct item_folder	 f[] = { { NULL, 1 } };
	struct json_object	*a;
	const char		*want[] = { "a", "B", "b", "C1", "c_" };
	size_t			 i;

	(void)state;
	mkdir(P("case"), 0755);
	put("case/b", "");
	put("case/B", "");
	put("case/C1", "");
	put("case/c_", "");
	put("case/a", "");
	f[0].path = P("case");
	a = build(f, 1, NULL, NULL, NULL);
	assert_int_equal(json_object_array_length(a), 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(str(item(a, i), "name"), want[i]);
	json_object_put(a);
}

static void
test_missing_folder(void **state)
{
	struct item_folder	 f[] = { { NULL, 1 } };
	struct json_object	*a;

	(void)state;
	f[0].path = P("gone");
	a = build(f, 1, NULL, NULL, NULL);
	assert_int_equal(json_object_array_length(a), 0);
	json_object_put(a);
}

static void
test_trailing_slash_root(void **state)
{
	struct item_folder	 f[] = { { NULL, 1 } };
	struct json_object	*a;
	char			 root[128];

	(void)state;
	snprintf(root, sizeof(root), "%s/", tmp);
	f[0].path = root;
	a = build(f, 1, NULL, NULL, NULL);
	/* os.path.join: no doubled slash, parent_path as given. */
	assert_string_equal(str(find(a, "b.txt"), "path"), P("b.txt"));
	assert_string_equal(str(find(a, "b.txt"), "parent_path"), root);
	json_object_put(a);
}

static void
test_bound(void **state)
{
	struct item_folder	 f[] = { { NULL, 1 } };
	struct json_object	*a;
	char			 name[64];
	int			 i, trunc = 0;

	(void)state;
	mkdir(P("big"), 0755);
	for (i = 0; i < ITEMS_MAX_PER_FOLDER + 50; i++) {
		snprintf(name, sizeof(name), "big/f%05d", i);
		put(name, "");
	}
	f[0].path = P("big");
	a = build(f, 1, NULL, NULL, &trunc);
	assert_int_equal(trunc, 1);
	assert_int_equal(json_object_array_length(a), ITEMS_MAX_PER_FOLDER);
	json_object_put(a);
}

static void
test_subdirs(void **state)
{
	char	**v;
	size_t	  n;

	(void)state;
	assert_int_equal(items_subdirs(tmp, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], P("Zdir"));
	assert_string_equal(v[1], P("dir1"));
	assert_string_equal(v[2], P("lnk"));
	items_free_list(v, n);
	assert_int_equal(items_subdirs(P("dir1/sub"), &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	items_free_list(v, n);
	assert_int_equal(items_subdirs(P("gone"), &v, &n), -1);
	assert_int_equal(items_subdirs(P("b.txt"), &v, &n), -1);
}

static void
test_join(void **state)
{
	char	*p;

	(void)state;
	p = items_join("/a", "b");
	assert_string_equal(p, "/a/b");
	free(p);
	p = items_join("/a/", "b");
	assert_string_equal(p, "/a/b");
	free(p);
	p = items_join("/", "b");
	assert_string_equal(p, "/b");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_and_expanded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_folder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_trailing_slash_root,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subdirs, setup, teardown),
		cmocka_unit_test(test_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
