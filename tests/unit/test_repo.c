/*
 * The git layer against real repositories built with the git CLI in a
 * scratch directory: open rules, branch, status summary and detailed
 * status (cross-checked with git status --porcelain), item states,
 * incremental refresh, contents at every ref, stage, unstage, revert and
 * commit with and without a HEAD, a repository whose config and
 * attributes ask for programs that must never run, the owner check, and
 * the whole flow under the git worker's seccomp filter.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <git2.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "portacoded.h"
#include "log.h"
#include "sandbox.h"
#include "xmalloc.h"
#include "git/repo.h"
#include "git/repo-int.h"

#define NOBODY	65534

/* ASan's runtime makes calls of its own that no worker filter allows. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif

static char	 tmpdir[64];
static char	 rdir[256];	/* the current test's work tree */
static char	 err[512];

/* ---- helpers -------------------------------------------------------- */

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command in rdir; its exit status. */
static int
sh(const char *fmt, ...)
{
	char	*cmd, *full;
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) != -1);
	va_end(ap);
	assert_true(asprintf(&full, "cd '%s' && { %s ; } >/dev/null 2>&1",
	    rdir, cmd) != -1);
	rc = system(full);
	free(cmd);
	free(full);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* First line of a command's output in rdir, trailing newline cut. */
static void
sh_out(char *buf, size_t len, const char *cmd)
{
	char	*full;
	FILE	*f;

	assert_true(asprintf(&full, "cd '%s' && %s 2>/dev/null", rdir,
	    cmd) != -1);
	assert_non_null(f = popen(full, "r"));
	buf[0] = '\0';
	if (fgets(buf, len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(f);
	free(full);
}

/* rdir/rel in a static buffer. */
static const char *
rpath(const char *rel)
{
	static char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", rdir, rel);
	return path;
}

static void
put(const char *rel, const char *content)
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", rdir, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
exists(const char *rel)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/%s", rdir, rel);
	return lstat(path, &sb) == 0;
}

static void
slurp(const char *rel, char *buf, size_t len)
{
	char	 path[PATH_MAX];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", rdir, rel);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
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

/* A fresh empty repository (or plain directory) named name. */
static void
fresh(const char *name, int init)
{
	snprintf(rdir, sizeof(rdir), "%s/%s", tmpdir, name);
	rm_tree(rdir);
	assert_int_equal(mkdir(rdir, 0755), 0);
	if (init)
		assert_int_equal(sh("git init -q"), 0);
}

/* A repository with one commit of a.txt, dir/b.txt, dir/c.txt. */
static void
fresh_committed(const char *name)
{
	fresh(name, 1);
	assert_int_equal(mkdir(rpath("dir"), 0755), 0);
	put("a.txt", "alpha\n");
	put("dir/b.txt", "bravo\n");
	put("dir/c.txt", "charlie\n");
	assert_int_equal(sh("git add -A && git commit -qm first"), 0);
}

static struct repo *
open_ok(void)
{
	struct repo	*r = NULL;

	if (repo_open(rdir, &r, err, sizeof(err)) != 0)
		fail_msg("repo_open %s: %s", rdir, err);
	return r;
}

static void
sha256_hex(const char *s, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 len = 0, i;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(),
	    NULL), 1);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char *
jstr(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The change entry for path in one list of a detailed status. */
static json_object *
change_of(json_object *det, const char *list, const char *path)
{
	json_object	*arr, *c, *p;
	size_t		 i;

	assert_true(json_object_object_get_ex(det, list, &arr));
	for (i = 0; i < json_object_array_length(arr); i++) {
		c = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(c, "file_repo_path", &p) &&
		    strcmp(json_object_get_string(p), path) == 0)
			return c;
	}
	return NULL;
}

static size_t
list_len(json_object *det, const char *list)
{
	json_object	*arr;

	assert_true(json_object_object_get_ex(det, list, &arr));
	return json_object_array_length(arr);
}

static const char *
field(json_object *o, const char *key)
{
	json_object	*v;

	assert_non_null(o);
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

/*
 * The summary upstream computes from git status --porcelain: A counts
 * as untracked, then M, then D, then ??.
 */
static void
porcelain_summary(char *out, size_t len)
{
	char	 line[PATH_MAX + 8], *full;
	FILE	*f;
	int	 m = 0, d = 0, u = 0, any = 0;

	assert_true(asprintf(&full, "cd '%s' && git status --porcelain",
	    rdir) != -1);
	assert_non_null(f = popen(full, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strlen(line) < 2)
			continue;
		any = 1;
		if (line[0] == 'A' || line[1] == 'A')
			u++;
		else if (line[0] == 'M' || line[1] == 'M')
			m++;
		else if (line[0] == 'D' || line[1] == 'D')
			d++;
		else if (line[0] == '?' && line[1] == '?')
			u++;
	}
	pclose(f);
	free(full);
	if (!any)
		snprintf(out, len, "{\"clean\":0}");
	else
		snprintf(out, len, "{\"modified\":%d,\"deleted\":%d,"
		    "\"untracked\":%d}", m, d, u);
}

static void
expect_summary_matches_git(struct repo_status *st)
{
	json_object	*sum = repo_status_summary(st);
	char		 want[256];

	porcelain_summary(want, sizeof(want));
	assert_string_equal(jstr(sum), want);
	json_object_put(sum);
}

static struct repo_item
item_of(struct repo *r, struct repo_status *st, const char *rel, int dir)
{
	struct repo_item	 it;

	repo_item(r, st, rel, dir, &it);
	return it;
}

static void
expect_item(struct repo *r, struct repo_status *st, const char *rel,
    int dir, enum repo_state state, int tracked, enum repo_staged staged,
    int ignored)
{
	struct repo_item	 it = item_of(r, st, rel, dir);

	if (it.state != state || it.is_tracked != tracked ||
	    it.staged != staged || it.is_ignored != ignored)
		fail_msg("%s: state %s tracked %d staged %d ignored %d, want "
		    "%s %d %d %d", rel, repo_state_name(it.state),
		    it.is_tracked, it.staged, it.is_ignored,
		    repo_state_name(state), tracked, staged, ignored);
}

/* Index entry count and the staged blob id of a path, via the CLI. */
static int
in_index(const char *rel)
{
	return sh("git ls-files --error-unmatch -- '%s'", rel) == 0;
}

/* ---- fixtures ------------------------------------------------------- */

static int
setup(void **state)
{
	char	 path[PATH_MAX];
	FILE	*f;

	(void)state;
	strcpy(tmpdir, "/tmp/test_repo.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) == -1)
		return -1;
	/* Git and libgit2 see only this HOME and no system config. */
	if (setenv("HOME", tmpdir, 1) == -1 ||
	    setenv("GIT_CONFIG_NOSYSTEM", "1", 1) == -1 ||
	    unsetenv("XDG_CONFIG_HOME") == -1 || unsetenv("GIT_DIR") == -1 ||
	    unsetenv("GIT_WORK_TREE") == -1 || unsetenv("SUDO_UID") == -1 ||
	    unsetenv("GIT_INDEX_FILE") == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/.gitconfig", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
	    "[init]\n\tdefaultBranch = main\n[core]\n\tautocrlf = false\n");
	if (fclose(f) != 0)
		return -1;
	if (git_libgit2_init() < 0)
		return -1;
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 1);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM,
	    tmpdir);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    tmpdir);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG,
	    tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	git_libgit2_shutdown();
	rm_tree(tmpdir);
	return 0;
}

/* ---- open ----------------------------------------------------------- */

static void
test_open_rules(void **state)
{
	struct repo	*r = NULL;
	char		 path[PATH_MAX];

	(void)state;
	fresh("plain", 0);
	assert_int_equal(repo_open(rdir, &r, err, sizeof(err)),
	    REPO_ENOTREPO);
	assert_null(r);
	assert_string_equal(err, "Not a git repository");

	fresh_committed("open");
	/* A subdirectory of a work tree is not a project repository. */
	snprintf(path, sizeof(path), "%s/dir", rdir);
	assert_int_equal(repo_open(path, &r, err, sizeof(err)),
	    REPO_ENOTREPO);
	/* Nor is the git directory itself. */
	snprintf(path, sizeof(path), "%s/.git", rdir);
	assert_int_equal(repo_open(path, &r, err, sizeof(err)),
	    REPO_ENOTREPO);
	snprintf(path, sizeof(path), "%s/missing", rdir);
	assert_int_equal(repo_open(path, &r, err, sizeof(err)),
	    REPO_ENOTREPO);
	assert_int_equal(repo_open("relative", &r, err, sizeof(err)),
	    REPO_ENOTREPO);

	/* A trailing slash is the same folder, reported without it. */
	snprintf(path, sizeof(path), "%s/", rdir);
	assert_int_equal(repo_open(path, &r, err, sizeof(err)), 0);
	assert_string_equal(repo_folder(r), rdir);
	repo_close(r);

	fresh("bare", 0);
	assert_int_equal(sh("git init -q --bare"), 0);
	assert_int_equal(repo_open(rdir, &r, err, sizeof(err)),
	    REPO_ENOTREPO);
}

static void
test_open_owner(void **state)
{
	struct repo	*r = NULL;

	(void)state;
	if (geteuid() != 0)
		skip();
	fresh_committed("owner");
	assert_int_equal(sh("chown -R %d '%s/.git'", NOBODY, rdir), 0);
	assert_int_equal(repo_open(rdir, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_non_null(strstr(err, "owned by another user"));
	/* The work tree alone counts too. */
	assert_int_equal(sh("chown -R 0 '%s/.git' && chown %d '%s'", rdir,
	    NOBODY, rdir), 0);
	assert_int_equal(repo_open(rdir, &r, err, sizeof(err)), -1);
	/* safe.directory, read from the global config, lifts it. */
	assert_int_equal(sh("git config --global --add safe.directory '%s'",
	    rdir), 0);
	assert_int_equal(repo_open(rdir, &r, err, sizeof(err)), 0);
	repo_close(r);
	assert_int_equal(sh("git config --global --unset-all "
	    "safe.directory"), 0);
	assert_int_equal(sh("chown 0 '%s'", rdir), 0);
}

static void
test_relpath(void **state)
{
	struct repo	*r;
	char		 rel[PATH_MAX], path[PATH_MAX], real[PATH_MAX];

	(void)state;
	fresh_committed("relpath");
	r = open_ok();
	snprintf(path, sizeof(path), "%s/dir/./b.txt", rdir);
	assert_int_equal(repo_relpath(r, path, rel, sizeof(rel), err,
	    sizeof(err)), 0);
	assert_string_equal(rel, "dir/b.txt");
	assert_int_equal(repo_relpath(r, "dir//x/../c.txt", rel, sizeof(rel),
	    err, sizeof(err)), 0);
	assert_string_equal(rel, "dir/c.txt");
	assert_int_equal(repo_relpath(r, rdir, rel, sizeof(rel), err,
	    sizeof(err)), 0);
	assert_string_equal(rel, "");
	snprintf(path, sizeof(path), "%s/../other/x", rdir);
	assert_int_equal(repo_relpath(r, path, rel, sizeof(rel), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "Path is outside the repository: "));
	assert_int_equal(repo_relpath(r, "../x", rel, sizeof(rel), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "outside the repository"));
	/* A sibling whose name starts with the folder's is outside. */
	snprintf(path, sizeof(path), "%s2/x", rdir);
	assert_int_equal(repo_relpath(r, path, rel, sizeof(rel), err,
	    sizeof(err)), -1);
	assert_int_equal(repo_relpath(r, ".git/config", rel, sizeof(rel), err,
	    sizeof(err)), -1);
	assert_int_equal(repo_relpath(r, "dir/.GIT/x", rel, sizeof(rel), err,
	    sizeof(err)), -1);
	repo_close(r);

	/* Opened through a symbolic link: both spellings are inside. */
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	unlink(path);
	assert_int_equal(symlink(rdir, path), 0);
	assert_int_equal(repo_open(path, &r, err, sizeof(err)), 0);
	assert_string_equal(repo_folder(r), path);
	assert_non_null(realpath(rdir, real));
	strcat(real, "/a.txt");
	assert_int_equal(repo_relpath(r, real, rel, sizeof(rel), err,
	    sizeof(err)), 0);
	assert_string_equal(rel, "a.txt");
	strcat(path, "/dir/b.txt");
	assert_int_equal(repo_relpath(r, path, rel, sizeof(rel), err,
	    sizeof(err)), 0);
	assert_string_equal(rel, "dir/b.txt");
	repo_close(r);
}

/* ---- branch and HEAD ------------------------------------------------ */

static void
test_branch(void **state)
{
	struct repo	*r;
	char		*b, hex[REPO_HEX], want[64];

	(void)state;
	fresh("branch", 1);
	r = open_ok();
	/* Unborn: the name of the branch the first commit will make. */
	assert_non_null(b = repo_branch(r));
	assert_string_equal(b, "main");
	free(b);
	assert_int_equal(repo_head(r, hex), 0);
	put("f", "x\n");
	assert_int_equal(sh("git add f && git commit -qm one"), 0);
	assert_int_equal(repo_head(r, hex), 1);
	sh_out(want, sizeof(want), "git rev-parse HEAD");
	assert_string_equal(hex, want);
	assert_int_equal(sh("git checkout -q -b feature/x"), 0);
	assert_non_null(b = repo_branch(r));
	assert_string_equal(b, "feature/x");
	free(b);
	assert_int_equal(sh("git checkout -q --detach"), 0);
	assert_null(repo_branch(r));
	repo_close(r);
}

/* ---- status --------------------------------------------------------- */

static void
test_status_clean(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	json_object		*sum, *det;
	char			 head[64];

	(void)state;
	fresh_committed("clean");
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	sum = repo_status_summary(st);
	assert_string_equal(jstr(sum), "{\"clean\":0}");
	det = repo_status_detailed(st);
	sh_out(head, sizeof(head), "git rev-parse HEAD");
	assert_string_equal(field(det, "head_commit_hash"), head);
	assert_int_equal(list_len(det, "staged_changes"), 0);
	assert_int_equal(list_len(det, "unstaged_changes"), 0);
	assert_int_equal(list_len(det, "untracked_files"), 0);
	assert_int_equal(repo_status_count(st), 0);
	json_object_put(sum);
	json_object_put(det);
	repo_status_free(st);
	repo_close(r);

	/* The shapes for a folder that is not a repository. */
	sum = repo_summary_none();
	assert_string_equal(jstr(sum), "{}");
	det = repo_detailed_none();
	assert_string_equal(jstr(det), "{\"head_commit_hash\":null,"
	    "\"staged_changes\":[],\"unstaged_changes\":[],"
	    "\"untracked_files\":[]}");
	json_object_put(sum);
	json_object_put(det);
}

/*
 * Every kind of change at once:
 *   a.txt        modified in the work tree
 *   dir/b.txt    deleted in the work tree
 *   dir/c.txt    staged modification, then modified again (mixed)
 *   new.txt      staged new file
 *   gone.txt     committed, then git rm (staged deletion)
 *   loose.txt    untracked
 *   fresh/x,y,z  untracked directory (one porcelain line)
 *   dir/u.txt    untracked inside a tracked directory
 *   build/       ignored directory; dir/debug.log ignored file
 */
static void
make_states_with(const char *extra)
{
	fresh_committed("states");
	if (extra != NULL)
		assert_int_equal(sh("%s", extra), 0);
	put(".gitignore", "build/\n*.log\n");
	put("gone.txt", "gone\n");
	assert_int_equal(sh("git add -A && git commit -qm second"), 0);
	put("a.txt", "alpha 2\n");
	assert_int_equal(unlink(rpath("dir/b.txt")), 0);
	put("dir/c.txt", "charlie staged\n");
	assert_int_equal(sh("git add dir/c.txt"), 0);
	put("dir/c.txt", "charlie working\n");
	put("new.txt", "new file\n");
	assert_int_equal(sh("git add new.txt && git rm -q gone.txt"), 0);
	put("loose.txt", "loose\n");
	assert_int_equal(sh("mkdir fresh build && echo 1 > fresh/x && "
	    "echo 2 > fresh/y && echo 3 > fresh/z && echo o > build/out.o"), 0);
	put("dir/u.txt", "u\n");
	put("dir/debug.log", "log\n");
}

static void
make_states(void)
{
	make_states_with(NULL);
}

static void
test_status_states(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	json_object		*sum, *det, *c;
	char			 hex[65], abs[PATH_MAX];

	(void)state;
	make_states();
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	sum = repo_status_summary(st);
	/* A and ?? lines: new.txt, loose.txt, fresh/, dir/u.txt. */
	assert_string_equal(jstr(sum),
	    "{\"modified\":2,\"deleted\":2,\"untracked\":4}");
	expect_summary_matches_git(st);
	json_object_put(sum);

	det = repo_status_detailed(st);
	assert_int_equal(list_len(det, "staged_changes"), 3);
	assert_int_equal(list_len(det, "unstaged_changes"), 3);
	assert_int_equal(list_len(det, "untracked_files"), 5);

	c = change_of(det, "staged_changes", "new.txt");
	assert_string_equal(field(c, "change_type"), "added");
	sha256_hex("new file\n", hex);
	assert_string_equal(field(c, "content_hash"), hex);
	assert_string_equal(field(c, "is_staged"), "true");
	assert_string_equal(field(c, "file_name"), "new.txt");
	snprintf(abs, sizeof(abs), "%s/new.txt", rdir);
	assert_string_equal(field(c, "file_abs_path"), abs);
	assert_null(field(c, "diff_details"));

	c = change_of(det, "staged_changes", "gone.txt");
	assert_string_equal(field(c, "change_type"), "deleted");
	assert_null(field(c, "content_hash"));

	/* Staged entries hash the working file, as upstream does. */
	c = change_of(det, "staged_changes", "dir/c.txt");
	assert_string_equal(field(c, "change_type"), "modified");
	sha256_hex("charlie working\n", hex);
	assert_string_equal(field(c, "content_hash"), hex);
	c = change_of(det, "unstaged_changes", "dir/c.txt");
	assert_string_equal(field(c, "content_hash"), hex);
	assert_string_equal(field(c, "is_staged"), "false");
	assert_string_equal(field(c, "file_name"), "c.txt");

	c = change_of(det, "unstaged_changes", "a.txt");
	assert_string_equal(field(c, "change_type"), "modified");
	c = change_of(det, "unstaged_changes", "dir/b.txt");
	assert_string_equal(field(c, "change_type"), "deleted");
	assert_null(field(c, "content_hash"));

	/* Untracked files one by one (--untracked-files=all). */
	assert_non_null(change_of(det, "untracked_files", "fresh/x"));
	assert_non_null(change_of(det, "untracked_files", "fresh/z"));
	c = change_of(det, "untracked_files", "loose.txt");
	assert_string_equal(field(c, "change_type"), "untracked");
	sha256_hex("loose\n", hex);
	assert_string_equal(field(c, "content_hash"), hex);
	/* Ignored files appear nowhere. */
	assert_null(change_of(det, "untracked_files", "dir/debug.log"));
	assert_null(change_of(det, "untracked_files", "build/out.o"));
	json_object_put(det);
	repo_status_free(st);
	repo_close(r);
}

static void
test_status_unborn(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	json_object		*det, *c;

	(void)state;
	fresh("unborn", 1);
	put("s.txt", "staged\n");
	put("u.txt", "untracked\n");
	assert_int_equal(sh("git add s.txt"), 0);
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_summary_matches_git(st);
	det = repo_status_detailed(st);
	assert_null(field(det, "head_commit_hash"));
	c = change_of(det, "staged_changes", "s.txt");
	assert_string_equal(field(c, "change_type"), "added");
	assert_non_null(change_of(det, "untracked_files", "u.txt"));
	expect_item(r, st, "s.txt", 0, REPO_STATE_ADDED, 0, REPO_STAGED_YES, 0);
	expect_item(r, st, "u.txt", 0, REPO_STATE_UNTRACKED, 0, REPO_STAGED_NO,
	    0);
	json_object_put(det);
	repo_status_free(st);
	repo_close(r);
}

/* ---- items ---------------------------------------------------------- */

static void
test_items(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	struct repo_item	 it;
	json_object		*o;

	(void)state;
	make_states_with("mkdir -p clean/sub empty only mod part && "
	    "echo k > clean/sub/k && echo m > mod/m && echo p > part/p && "
	    "echo q > part/q && git add -A && git commit -qm more");
	assert_int_equal(sh("echo l > only/x.log && echo m2 > mod/m && "
	    "rm part/q"), 0);
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));

	expect_item(r, st, "a.txt", 0, REPO_STATE_MODIFIED, 1, REPO_STAGED_NO,
	    0);
	expect_item(r, st, "dir/c.txt", 0, REPO_STATE_MODIFIED, 1,
	    REPO_STAGED_MIXED, 0);
	expect_item(r, st, "new.txt", 0, REPO_STATE_ADDED, 0, REPO_STAGED_YES,
	    0);
	expect_item(r, st, "loose.txt", 0, REPO_STATE_UNTRACKED, 0,
	    REPO_STAGED_NO, 0);
	expect_item(r, st, ".gitignore", 0, REPO_STATE_CLEAN, 1,
	    REPO_STAGED_NO, 0);
	expect_item(r, st, "dir/debug.log", 0, REPO_STATE_IGNORED, 0,
	    REPO_STAGED_NO, 1);
	expect_item(r, st, "build", 1, REPO_STATE_IGNORED, 0, REPO_STAGED_NO,
	    1);
	expect_item(r, st, "build/out.o", 0, REPO_STATE_IGNORED, 0,
	    REPO_STAGED_NO, 1);
	expect_item(r, st, "not-there", 0, REPO_STATE_NONE, 0,
	    REPO_STAGED_NO, 0);

	/* Directories: untracked wins, then deleted, then modified. */
	expect_item(r, st, "fresh", 1, REPO_STATE_UNTRACKED, 0,
	    REPO_STAGED_NO, 0);
	expect_item(r, st, "dir", 1, REPO_STATE_UNTRACKED, 0,
	    REPO_STAGED_MIXED, 0);
	expect_item(r, st, "part", 1, REPO_STATE_DELETED, 1, REPO_STAGED_NO,
	    0);
	expect_item(r, st, "mod", 1, REPO_STATE_MODIFIED, 1, REPO_STAGED_NO,
	    0);
	expect_item(r, st, "clean", 1, REPO_STATE_CLEAN, 1, REPO_STAGED_NO,
	    0);
	expect_item(r, st, "clean/sub", 1, REPO_STATE_CLEAN, 1,
	    REPO_STAGED_NO, 0);
	expect_item(r, st, "empty", 1, REPO_STATE_NONE, 0, REPO_STAGED_NO, 0);
	/* Only ignored files inside: the directory itself is not ignored. */
	expect_item(r, st, "only", 1, REPO_STATE_NONE, 0, REPO_STAGED_NO, 0);

	/* The JSON fields of an item. */
	repo_item(r, st, "dir/c.txt", 0, &it);
	o = json_object_new_object();
	repo_item_json(&it, o);
	assert_string_equal(jstr(o), "{\"is_git_tracked\":true,"
	    "\"git_status\":\"modified\",\"is_staged\":\"mixed\","
	    "\"is_ignored\":false}");
	json_object_put(o);
	memset(&it, 0, sizeof(it));
	o = json_object_new_object();
	repo_item_json(&it, o);
	assert_string_equal(jstr(o), "{\"is_git_tracked\":false,"
	    "\"git_status\":null,\"is_staged\":false,\"is_ignored\":false}");
	json_object_put(o);
	repo_status_free(st);
	repo_close(r);
}

static void
test_submodule(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	const char		*one[1];
	char			 src[PATH_MAX], out[256];

	(void)state;
	fresh_committed("subsrc");
	strcpy(src, rdir);
	fresh_committed("super");
	assert_int_equal(sh("git -c protocol.file.allow=always submodule add "
	    "-q '%s' sm && git commit -qm sm", src), 0);
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_item(r, st, "sm", 1, REPO_STATE_CLEAN, 1, REPO_STAGED_NO, 0);
	repo_status_free(st);

	/* A new commit inside the submodule: the superproject sees it. */
	assert_int_equal(sh("cd sm && echo z > z && git add z && "
	    "git commit -qm z"), 0);
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_item(r, st, "sm", 1, REPO_STATE_MODIFIED, 1, REPO_STAGED_NO, 0);
	expect_summary_matches_git(st);
	repo_status_free(st);
	one[0] = "sm";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git diff --cached --name-only");
	assert_string_equal(out, "sm");

	/* A second one: .gitmodules changed, the cached set is reloaded. */
	assert_int_equal(sh("git -c protocol.file.allow=always submodule add "
	    "-q '%s' sm2 && cd sm2 && echo y > y && git add y && "
	    "git commit -qm y", src), 0);
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_item(r, st, "sm2", 1, REPO_STATE_MODIFIED, 1, REPO_STAGED_MIXED,
	    0);
	expect_summary_matches_git(st);
	repo_status_free(st);
	repo_close(r);
}

/* ---- incremental ---------------------------------------------------- */

static void
expect_same(struct repo *r, struct repo_status *st)
{
	struct repo_status	*full;
	json_object		*a, *b;

	assert_non_null(full = repo_status(r, err, sizeof(err)));
	a = repo_status_summary(st);
	b = repo_status_summary(full);
	assert_string_equal(jstr(a), jstr(b));
	json_object_put(a);
	json_object_put(b);
	a = repo_status_detailed(st);
	b = repo_status_detailed(full);
	assert_string_equal(jstr(a), jstr(b));
	json_object_put(a);
	json_object_put(b);
	repo_status_free(full);
}

static void
test_status_paths(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	json_object		*sum;
	const char		*one[1], *two[2];
	char			 path[PATH_MAX];

	(void)state;
	make_states();
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));

	/* An edit, absolute path as the watcher reports it. */
	put("dir/c.txt", "charlie again\n");
	snprintf(path, sizeof(path), "%s/dir/c.txt", rdir);
	one[0] = path;
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	expect_same(r, st);

	/* A file made clean again, and a new directory. */
	assert_int_equal(sh("git show HEAD:a.txt > a.txt && mkdir -p n/m && "
	    "echo z > n/m/z"), 0);
	two[0] = "a.txt";
	two[1] = "n";
	assert_int_equal(repo_status_paths(r, st, two, 2, err, sizeof(err)),
	    0);
	expect_same(r, st);

	/* A removed untracked directory. */
	assert_int_equal(sh("rm -r fresh"), 0);
	one[0] = "fresh";
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	expect_same(r, st);

	/* The index changed behind our back: a full pass is made. */
	assert_int_equal(sh("git add -A"), 0);
	one[0] = "loose.txt";
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	expect_same(r, st);
	sum = repo_status_summary(st);
	expect_summary_matches_git(st);
	json_object_put(sum);

	/* HEAD moved. */
	assert_int_equal(sh("git commit -qm all"), 0);
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	expect_same(r, st);

	/* A new .gitignore rule changes what is ignored anywhere. */
	put("zz.tmp", "t\n");
	one[0] = "zz.tmp";
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	put(".gitignore", "build/\n*.log\n*.tmp\n");
	one[0] = ".gitignore";
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    0);
	expect_same(r, st);
	expect_item(r, st, "zz.tmp", 0, REPO_STATE_IGNORED, 0, REPO_STAGED_NO,
	    1);

	one[0] = "/elsewhere";
	assert_int_equal(repo_status_paths(r, st, one, 1, err, sizeof(err)),
	    -1);
	repo_status_free(st);
	repo_close(r);
}

/* ---- parallel full pass -------------------------------------------- */

static void
expect_same_items(struct repo *r, struct repo_status *a,
    struct repo_status *b)
{
	static const char *const files[] = { "a.txt", "dir/c.txt", "new.txt",
	    "loose.txt", "dir/debug.log", "build/out.o", "deep/a/b/1",
	    "top.txt", "gone/g", NULL };
	static const char *const dirs[] = { "dir", "fresh", "build", "deep",
	    "deep/a", "deep/c", "nested", "gone", "only", NULL };
	struct repo_item	 x, y;
	size_t			 i;

	for (i = 0; files[i] != NULL; i++) {
		repo_item(r, a, files[i], 0, &x);
		repo_item(r, b, files[i], 0, &y);
		if (memcmp(&x, &y, sizeof(x)) != 0)
			fail_msg("item %s differs", files[i]);
	}
	for (i = 0; dirs[i] != NULL; i++) {
		repo_item(r, a, dirs[i], 1, &x);
		repo_item(r, b, dirs[i], 1, &y);
		if (memcmp(&x, &y, sizeof(x)) != 0)
			fail_msg("directory item %s differs", dirs[i]);
	}
}

static void
test_status_parallel(void **state)
{
	struct repo		*r;
	struct repo_status	*one, *par;
	json_object		*a, *b;
	int			 t;

	(void)state;
	make_states_with("mkdir -p deep/a/b deep/c gone && "
	    "echo 1 > deep/a/b/1 && echo 2 > deep/a/2 && echo 3 > deep/c/3 && "
	    "echo g > gone/g && echo t > top.txt && git add -A && "
	    "git commit -qm more");
	/* A directory only HEAD still has, a nested repository, more. */
	assert_int_equal(sh("git rm -rq gone && echo 4 > deep/a/b/1 && "
	    "rm deep/c/3 && mkdir -p nested only && git init -q nested && "
	    "echo n > nested/n && echo l > only/x.log && echo u > deep/u"), 0);
	r = open_ok();
	repo_set_threads(1);
	assert_non_null(one = repo_status(r, err, sizeof(err)));
	for (t = 2; t <= REPO_MAX_THREADS; t++) {
		repo_set_threads(t);
		assert_non_null(par = repo_status(r, err, sizeof(err)));
		assert_int_equal(repo_status_count(par), repo_status_count(one));
		a = repo_status_summary(one);
		b = repo_status_summary(par);
		assert_string_equal(jstr(a), jstr(b));
		json_object_put(a);
		json_object_put(b);
		a = repo_status_detailed(one);
		b = repo_status_detailed(par);
		assert_string_equal(jstr(a), jstr(b));
		json_object_put(a);
		json_object_put(b);
		expect_same_items(r, one, par);
		repo_status_free(par);
	}
	expect_summary_matches_git(one);
	repo_set_threads(0);
	repo_status_free(one);
	repo_close(r);
}

/* ---- contents ------------------------------------------------------- */

static void
expect_content(struct repo *r, enum repo_ref ref, const char *path,
    const char *hash, const char *want)
{
	char	*buf;
	size_t	 len;

	if (repo_content(r, ref, path, hash, 0, &buf, &len, err,
	    sizeof(err)) != 0)
		fail_msg("repo_content %s: %s", path, err);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void
test_content(void **state)
{
	struct repo	*r;
	enum repo_ref	 ref;
	char		 first[64], path[PATH_MAX], *buf, want[PATH_MAX + 64];
	size_t		 len;

	(void)state;
	fresh_committed("content");
	sh_out(first, sizeof(first), "git rev-parse HEAD");
	put("a.txt", "alpha two\n");
	assert_int_equal(sh("git commit -qam second"), 0);
	put("a.txt", "alpha staged\n");
	assert_int_equal(sh("git add a.txt"), 0);
	put("a.txt", "alpha working\n\n");
	r = open_ok();

	assert_int_equal(repo_ref_parse("staged", &ref), 0);
	assert_int_equal(ref, REPO_REF_STAGED);
	assert_int_equal(repo_ref_parse("HEAD", &ref), -1);

	/* Exact bytes, final newlines included. */
	expect_content(r, REPO_REF_HEAD, "a.txt", NULL, "alpha two\n");
	expect_content(r, REPO_REF_STAGED, "a.txt", NULL, "alpha staged\n");
	expect_content(r, REPO_REF_WORKING, "a.txt", NULL,
	    "alpha working\n\n");
	expect_content(r, REPO_REF_COMMIT, "a.txt", first, "alpha\n");
	first[7] = '\0';
	expect_content(r, REPO_REF_COMMIT, "a.txt", first, "alpha\n");
	snprintf(path, sizeof(path), "%s/dir/b.txt", rdir);
	expect_content(r, REPO_REF_COMMIT, path, first, "bravo\n");

	/* Absent at that ref, or a bad hash: empty. */
	put("only-here.txt", "w\n");
	expect_content(r, REPO_REF_HEAD, "only-here.txt", NULL, "");
	expect_content(r, REPO_REF_STAGED, "only-here.txt", NULL, "");
	expect_content(r, REPO_REF_WORKING, "nope.txt", NULL, "");
	expect_content(r, REPO_REF_COMMIT, "a.txt", "HEAD~1", "");
	expect_content(r, REPO_REF_COMMIT, "a.txt", "0123456789abcdef", "");
	expect_content(r, REPO_REF_COMMIT, "a.txt", NULL, "");
	expect_content(r, REPO_REF_HEAD, "dir", NULL, "");

	/* A working read error, in upstream's words. */
	assert_int_equal(repo_content(r, REPO_REF_WORKING, "dir", NULL, 0,
	    &buf, &len, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "# Error reading file: [Errno 21] "
	    "Is a directory: '%s/dir'", rdir);
	assert_string_equal(buf, want);
	free(buf);

	assert_int_equal(repo_content(r, REPO_REF_HEAD, "/etc/passwd", NULL,
	    0, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside the repository"));
	assert_int_equal(repo_content(r, REPO_REF_WORKING, "a.txt", NULL, 4,
	    &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(repo_content(r, REPO_REF_HEAD, "a.txt", NULL, 4,
	    &buf, &len, err, sizeof(err)), -1);
	repo_close(r);
}

/* ---- stage ---------------------------------------------------------- */

static void
test_stage(void **state)
{
	struct repo	*r;
	const char	*one[1], *two[2];
	char		 path[PATH_MAX], out[256];

	(void)state;
	make_states();
	r = open_ok();

	/* A deletion is staged as a removal from the index. */
	one[0] = "dir/b.txt";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_false(in_index("dir/b.txt"));

	/* Absolute path to a new file. */
	snprintf(path, sizeof(path), "%s/loose.txt", rdir);
	one[0] = path;
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_true(in_index("loose.txt"));

	/* An ignored path, named explicitly, fails and stages nothing. */
	two[0] = "a.txt";
	two[1] = "dir/debug.log";
	assert_int_equal(repo_stage(r, two, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ignored by one of your .gitignore"));
	sh_out(out, sizeof(out), "git diff --cached --name-only -- a.txt");
	assert_string_equal(out, "");
	one[0] = "build";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), -1);

	one[0] = "missing.txt";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "pathspec 'missing.txt' did not match any "
	    "files");
	one[0] = "/tmp";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Path is outside the repository: /tmp"));

	/* A directory: its new files, not its ignored ones. */
	one[0] = "dir";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_true(in_index("dir/u.txt"));
	assert_false(in_index("dir/debug.log"));
	sh_out(out, sizeof(out), "git diff --name-only -- dir");
	assert_string_equal(out, "");

	/* Through a symbolic link to a directory: refused, as git does. */
	assert_int_equal(symlink("fresh", rpath("ln")), 0);
	one[0] = "ln/x";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "beyond a symbolic link"));

	/* Everything: what git add -A would leave is nothing unstaged. */
	assert_int_equal(repo_stage_all(r, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git status --porcelain | grep -v '^[AMD] '");
	assert_string_equal(out, "");
	assert_true(in_index("fresh/y"));
	assert_true(in_index("ln"));
	assert_false(in_index("build/out.o"));
	repo_close(r);
}

/* ---- unstage -------------------------------------------------------- */

static void
test_unstage(void **state)
{
	struct repo	*r;
	const char	*one[1];
	char		 out[256], buf[256];

	(void)state;
	make_states();
	r = open_ok();
	one[0] = "dir/c.txt";
	assert_int_equal(repo_unstage(r, one, 1, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git diff --cached --name-only -- dir/c.txt");
	assert_string_equal(out, "");
	slurp("dir/c.txt", buf, sizeof(buf));
	assert_string_equal(buf, "charlie working\n");

	one[0] = "new.txt";
	assert_int_equal(repo_unstage(r, one, 1, err, sizeof(err)), 0);
	assert_false(in_index("new.txt"));
	assert_true(exists("new.txt"));

	/* A staged deletion comes back into the index. */
	one[0] = "gone.txt";
	assert_int_equal(repo_unstage(r, one, 1, err, sizeof(err)), 0);
	assert_true(in_index("gone.txt"));
	assert_false(exists("gone.txt"));

	one[0] = "loose.txt";
	assert_int_equal(repo_unstage(r, one, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "did not match any file(s) known to git"));

	assert_int_equal(sh("git add -A"), 0);
	assert_int_equal(repo_unstage_all(r, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git diff --cached --name-only");
	assert_string_equal(out, "");
	repo_close(r);

	/* Without a HEAD: git rm --cached. */
	fresh("unstage-unborn", 1);
	assert_int_equal(sh("mkdir d && echo 1 > d/1 && echo 2 > two && "
	    "git add -A"), 0);
	r = open_ok();
	one[0] = "d";
	assert_int_equal(repo_unstage(r, one, 1, err, sizeof(err)), 0);
	assert_false(in_index("d/1"));
	assert_true(in_index("two"));
	assert_true(exists("d/1"));
	assert_int_equal(repo_unstage_all(r, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git ls-files");
	assert_string_equal(out, "");
	assert_true(exists("two"));
	repo_close(r);
}

/* ---- revert --------------------------------------------------------- */

static void
test_revert(void **state)
{
	struct repo	*r;
	const char	*one[1], *two[2];
	char		 buf[256], out[256];

	(void)state;
	make_states();
	r = open_ok();
	/* Staged and unstaged changes both go back to HEAD. */
	two[0] = "dir/c.txt";
	two[1] = "dir/b.txt";
	assert_int_equal(repo_revert(r, two, 2, err, sizeof(err)), 0);
	slurp("dir/c.txt", buf, sizeof(buf));
	assert_string_equal(buf, "charlie\n");
	slurp("dir/b.txt", buf, sizeof(buf));
	assert_string_equal(buf, "bravo\n");
	sh_out(out, sizeof(out), "git status --porcelain -- dir/c.txt "
	    "dir/b.txt");
	assert_string_equal(out, "");

	/* A staged new file leaves index and disk (git restore does too). */
	one[0] = "new.txt";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), 0);
	assert_false(exists("new.txt"));
	assert_false(in_index("new.txt"));

	/* An untracked file is never touched. */
	one[0] = "loose.txt";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "did not match any file(s) known to git"));
	assert_true(exists("loose.txt"));

	/* A staged deletion comes back on disk. */
	one[0] = "gone.txt";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), 0);
	slurp("gone.txt", buf, sizeof(buf));
	assert_string_equal(buf, "gone\n");

	/* A directory: known files restored, untracked ones stay. */
	put("dir/c.txt", "again\n");
	one[0] = "dir";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), 0);
	slurp("dir/c.txt", buf, sizeof(buf));
	assert_string_equal(buf, "charlie\n");
	assert_true(exists("dir/u.txt"));
	repo_close(r);

	/* Without a HEAD: staged files are removed, others stay. */
	fresh("revert-unborn", 1);
	assert_int_equal(sh("mkdir d && echo 1 > d/1 && echo 2 > two && "
	    "git add d"), 0);
	r = open_ok();
	one[0] = "two";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), -1);
	assert_true(exists("two"));
	one[0] = "d/1";
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), 0);
	assert_false(exists("d/1"));
	assert_false(exists("d"));
	assert_false(in_index("d/1"));
	repo_close(r);
}

static void
test_revert_all(void **state)
{
	struct repo	*r;
	char		 buf[256], out[256];

	(void)state;
	make_states();
	assert_int_equal(sh("git rm -q -f --cached dir/c.txt"), 0);
	put("a.txt", "changed\n");
	r = open_ok();
	assert_int_equal(repo_revert_all(r, err, sizeof(err)), 0);
	/* Work tree from the index; staged changes kept. */
	slurp("a.txt", buf, sizeof(buf));
	assert_string_equal(buf, "alpha\n");
	slurp("dir/b.txt", buf, sizeof(buf));
	assert_string_equal(buf, "bravo\n");
	assert_true(in_index("new.txt"));
	assert_true(exists("new.txt"));
	/* No longer in the index: an untracked file now, kept. */
	slurp("dir/c.txt", buf, sizeof(buf));
	assert_string_equal(buf, "charlie working\n");
	assert_true(exists("loose.txt"));
	assert_true(exists("fresh/x"));
	sh_out(out, sizeof(out), "git diff --name-only");
	assert_string_equal(out, "");
	repo_close(r);

	/* Also without a HEAD (upstream gave up). */
	fresh("revert-all-unborn", 1);
	put("f", "1\n");
	assert_int_equal(sh("git add f"), 0);
	put("f", "2\n");
	r = open_ok();
	assert_int_equal(repo_revert_all(r, err, sizeof(err)), 0);
	slurp("f", buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	repo_close(r);
}

/* ---- commit --------------------------------------------------------- */

static void
test_commit(void **state)
{
	struct repo	*r;
	char		 hash[REPO_HEX], out[256], *b;
	const char	*one[1];

	(void)state;
	fresh("commit", 1);
	r = open_ok();
	assert_int_equal(repo_commit(r, "nothing", hash, err, sizeof(err)), -1);
	assert_string_equal(err, "No staged changes to commit");
	assert_string_equal(hash, "");

	/* The first commit makes the branch HEAD names. */
	put("f", "one\n");
	one[0] = "f";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_int_equal(repo_commit(r, "  \n first commit \n\n", hash, err,
	    sizeof(err)), 0);
	sh_out(out, sizeof(out), "git rev-parse HEAD");
	assert_string_equal(hash, out);
	sh_out(out, sizeof(out), "git rev-parse main");
	assert_string_equal(hash, out);
	sh_out(out, sizeof(out), "git log -1 --format=%B");
	assert_string_equal(out, "first commit");
	sh_out(out, sizeof(out), "git log -1 --format='%an <%ae>|%cn'");
	assert_string_equal(out, "Test User <test@example.invalid>|Test User");
	assert_int_equal(sh("git fsck --strict"), 0);

	assert_int_equal(repo_commit(r, "again", hash, err, sizeof(err)), -1);
	assert_string_equal(err, "No staged changes to commit");
	assert_int_equal(repo_commit(r, " \n\t", hash, err, sizeof(err)), -1);

	/* A second commit has the first as parent; unstaged work stays. */
	put("f", "two\n");
	put("g", "g\n");
	one[0] = "g";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_int_equal(repo_commit(r, "second", hash, err, sizeof(err)), 0);
	sh_out(out, sizeof(out), "git rev-parse HEAD");
	assert_string_equal(hash, out);
	sh_out(out, sizeof(out), "git rev-list --count HEAD");
	assert_string_equal(out, "2");
	sh_out(out, sizeof(out), "git status --porcelain");
	assert_string_equal(out, " M f");

	/* On another branch. */
	assert_int_equal(sh("git checkout -q -b side"), 0);
	assert_int_equal(repo_stage_all(r, err, sizeof(err)), 0);
	assert_int_equal(repo_commit(r, "side work", hash, err, sizeof(err)),
	    0);
	sh_out(out, sizeof(out), "git rev-parse side");
	assert_string_equal(hash, out);
	assert_non_null(b = repo_branch(r));
	assert_string_equal(b, "side");
	free(b);
	repo_close(r);
}

static void
test_commit_merge(void **state)
{
	struct repo	*r;
	char		 hash[REPO_HEX], out[256];

	(void)state;
	fresh_committed("merge");
	assert_int_equal(sh("git checkout -q -b other && echo o > o && "
	    "git add o && git commit -qm o && git checkout -q main && "
	    "echo m > m && git add m && git commit -qm m && "
	    "git merge -q --no-commit other"), 0);
	r = open_ok();
	assert_int_equal(repo_commit(r, "merge other", hash, err, sizeof(err)),
	    0);
	sh_out(out, sizeof(out), "git rev-list --parents -n1 HEAD | wc -w");
	assert_string_equal(out, "3");
	assert_false(exists(".git/MERGE_HEAD"));
	repo_close(r);
}

static void
test_commit_identity(void **state)
{
	struct repo	*r;
	char		 hash[REPO_HEX], empty[PATH_MAX];

	(void)state;
	fresh("noident", 1);
	put("f", "x\n");
	assert_int_equal(sh("git add f"), 0);
	/* Config levels are read when a repository opens its config. */
	snprintf(empty, sizeof(empty), "%s/noident-home", tmpdir);
	(void)mkdir(empty, 0755);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    empty);
	r = open_ok();
	assert_int_equal(repo_commit(r, "x", hash, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Please tell me who you are"));
	repo_close(r);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    tmpdir);
	r = open_ok();
	assert_int_equal(repo_commit(r, "x", hash, err, sizeof(err)), 0);
	repo_close(r);
}

/* ---- programs that must never run ----------------------------------- */

/*
 * A repository whose config and attributes name programs: a clean/smudge
 * filter driver (also as a long-running process), core.fsmonitor,
 * core.hooksPath with hooks, and hooks in .git/hooks. Each program makes
 * a marker file.
 */
static void
make_evil(const char *name, char *marks, size_t len, int process)
{
	fresh(name, 1);
	snprintf(marks, len, "%s/%s-marks", tmpdir, name);
	rm_tree(marks);
	assert_int_equal(mkdir(marks, 0755), 0);
	assert_int_equal(sh("mkdir hooks && "
	    "for h in pre-commit commit-msg post-commit post-index-change "
	    "pre-auto-gc reference-transaction; do "
	    "printf '#!/bin/sh\\ntouch %s/hook-$h\\n' > hooks/$h; "
	    "cp hooks/$h .git/hooks/$h; done && "
	    "chmod +x hooks/* .git/hooks/* && "
	    "git config filter.evil.clean 'touch %s/clean; cat' && "
	    "git config filter.evil.smudge 'touch %s/smudge; cat' && "
	    "git config core.fsmonitor 'touch %s/fsmonitor; true' && "
	    "git config core.hooksPath '%s/hooks' && "
	    "printf '* filter=evil\\n' > .gitattributes",
	    marks, marks, marks, marks, rdir), 0);
	/* git cannot work with a process filter that is not one. */
	if (process)
		assert_int_equal(sh("git config filter.evil.process "
		    "'touch %s/process'", marks), 0);
	put("f.txt", "content\n");
}

static int
marks_count(const char *marks)
{
	char	 cmd[PATH_MAX + 32], line[32];
	FILE	*f;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", marks);
	assert_non_null(f = popen(cmd, "r"));
	if (fgets(line, sizeof(line), f) != NULL)
		n = atoi(line);
	pclose(f);
	return n;
}

static void
test_no_programs(void **state)
{
	struct repo		*r;
	struct repo_status	*st;
	json_object		*sum;
	char			 marks[PATH_MAX], hash[REPO_HEX], *buf;
	const char		*one[1];
	size_t			 len;
	int			 n;

	(void)state;
	/* The set-up is live: the git CLI does run these programs. */
	make_evil("evil-cli", marks, sizeof(marks), 0);
	assert_int_equal(sh("git add -A && git commit -qm x && "
	    "rm f.txt && git checkout -- f.txt && git status"), 0);
	assert_true(marks_count(marks) >= 4);

	make_evil("evil", marks, sizeof(marks), 1);
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	sum = repo_status_summary(st);
	json_object_put(sum);
	repo_status_free(st);
	one[0] = "f.txt";
	assert_int_equal(repo_stage(r, one, 1, err, sizeof(err)), 0);
	assert_int_equal(repo_stage_all(r, err, sizeof(err)), 0);
	assert_int_equal(repo_commit(r, "evil", hash, err, sizeof(err)), 0);
	put("f.txt", "changed\n");
	assert_int_equal(repo_content(r, REPO_REF_HEAD, "f.txt", NULL, 0,
	    &buf, &len, err, sizeof(err)), 0);
	assert_string_equal(buf, "content\n");
	free(buf);
	assert_int_equal(repo_revert(r, one, 1, err, sizeof(err)), 0);
	assert_int_equal(repo_revert_all(r, err, sizeof(err)), 0);
	assert_int_equal(repo_unstage_all(r, err, sizeof(err)), 0);
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	repo_status_free(st);
	repo_close(r);
	if ((n = marks_count(marks)) != 0)
		fail_msg("a program named by the repository ran: %d marker(s) "
		    "in %s", n, marks);
}

/* ---- under the git worker's seccomp filter -------------------------- */

/* Child: every operation once; the exit code names the failing step. */
static int
sandboxed_steps(void)
{
	struct repo		*r;
	struct repo_status	*st;
	struct repo_item	 it;
	json_object		*o;
	char			 hash[REPO_HEX], *buf, *b;
	const char		*one[1], *chg[1];
	size_t			 len;

	/* Threads too: the full pass is split even for a small index. */
	repo_set_threads(2);
	if (repo_open(rdir, &r, err, sizeof(err)) != 0)
		return 10;
	if ((b = repo_branch(r)) == NULL)
		return 11;
	free(b);
	if ((st = repo_status(r, err, sizeof(err))) == NULL)
		return 12;
	o = repo_status_detailed(st);
	json_object_put(o);
	o = repo_status_summary(st);
	json_object_put(o);
	repo_item(r, st, "dir", 1, &it);
	chg[0] = "a.txt";
	if (repo_status_paths(r, st, chg, 1, err, sizeof(err)) != 0)
		return 13;
	repo_status_free(st);
	if (repo_content(r, REPO_REF_HEAD, "a.txt", NULL, 0, &buf, &len, err,
	    sizeof(err)) != 0)
		return 14;
	free(buf);
	if (repo_content(r, REPO_REF_WORKING, "a.txt", NULL, 0, &buf, &len,
	    err, sizeof(err)) != 0)
		return 15;
	free(buf);
	one[0] = "a.txt";
	if (repo_stage(r, one, 1, err, sizeof(err)) != 0)
		return 16;
	if (repo_stage_all(r, err, sizeof(err)) != 0)
		return 17;
	if (repo_commit(r, "sandboxed", hash, err, sizeof(err)) != 0)
		return 18;
	if (repo_content(r, REPO_REF_COMMIT, "a.txt", hash, 0, &buf, &len,
	    err, sizeof(err)) != 0)
		return 19;
	free(buf);
	put("a.txt", "dirty\n");
	if (repo_revert(r, one, 1, err, sizeof(err)) != 0)
		return 20;
	put("dir/b.txt", "dirty\n");
	if (repo_stage(r, one, 1, err, sizeof(err)) != 0 ||
	    repo_unstage_all(r, err, sizeof(err)) != 0 ||
	    repo_revert_all(r, err, sizeof(err)) != 0)
		return 21;
	repo_close(r);
	return 0;
}

static void
run_sandboxed(int debug)
{
	char	 out[8192];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 p[2], status, rc;

	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		signal(SIGSYS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		close(p[0]);
		if (dup2(p[1], STDERR_FILENO) == -1)
			_exit(120);
		log_init(1, LOGLEVEL_INFO);
		sandbox_limits(ROLE_GIT);
		sandbox_filter(ROLE_GIT, debug);
		rc = sandboxed_steps();
		if (rc != 0)
			fprintf(stderr, "step %d: %s\n", rc, err);
		_exit(rc);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    strstr(out, "blocked syscall") != NULL)
		fail_msg("sandboxed git (debug %d): status 0x%x, stderr [%s]",
		    debug, status, out);
}

static void
test_sandboxed(void **state)
{
	(void)state;
	if (UNDER_ASAN)
		skip();
	/* Packed objects too: libgit2 maps pack and index files. */
	make_states_with("git gc -q");
	assert_true(exists(".git/objects/pack"));
	assert_int_equal(sh("ls .git/objects/pack/*.pack"), 0);
	/* Debug mode names any refused call; then the real, killing one. */
	run_sandboxed(1);
	make_states_with("git gc -q");
	run_sandboxed(0);
}

static int
has_dir(char **v, size_t n, const char *d)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], d) == 0)
			return 1;
	return 0;
}

static void
dirs_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * The directories worth watching: each holding a tracked file or an
 * untracked entry, each once, sorted; ignored trees left out; the
 * shallowest kept under a cap.
 */
static void
test_tree_dirs(void **state)
{
	struct repo_status	*st;
	struct repo		*r;
	char			**v;
	size_t			  n, i;
	int			  capped;

	(void)state;
	fresh_committed("treedirs");
	assert_int_equal(sh("mkdir -p x/y/z u/v build/out && "
	    "echo 1 > x/y/z/f && echo 2 > x/g && git add -A && "
	    "git commit -qm two && echo build/ > .gitignore && "
	    "echo 3 > u/v/new && echo 4 > build/out/o"), 0);
	r = open_ok();
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	assert_int_equal(repo_tree_dirs(r, st, 100, &v, &n, &capped), 0);
	assert_false(capped);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++)
		assert_true(i == 0 || strcmp(v[i - 1], v[i]) < 0);
	assert_true(has_dir(v, n, "dir") && has_dir(v, n, "x") &&
	    has_dir(v, n, "x/y") && has_dir(v, n, "x/y/z") &&
	    has_dir(v, n, "u") && has_dir(v, n, "u/v"));
	dirs_free(v, n);

	/* Under a cap of 3: the shallowest three, still sorted. */
	assert_int_equal(repo_tree_dirs(r, st, 3, &v, &n, &capped), 0);
	assert_true(capped);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "dir");
	assert_string_equal(v[1], "u");
	assert_string_equal(v[2], "x");
	dirs_free(v, n);
	repo_status_free(st);
	repo_close(r);
}

/*
 * The cache-tree shortcut: only an index that is HEAD's tree exactly
 * skips the HEAD-to-index diff, and the status is the same either way.
 */
static void
test_index_is_head(void **state)
{
	struct repo_status	*st;
	struct repo		*r;

	(void)state;
	fresh("cachetree", 1);
	put("a.txt", "alpha\n");
	assert_int_equal(sh("git add a.txt"), 0);
	r = open_ok();
	assert_false(ri_index_is_head(r));		/* unborn */
	repo_close(r);
	assert_int_equal(sh("git commit -qm one"), 0);
	r = open_ok();
	assert_true(ri_index_is_head(r));
	put("a.txt", "changed\n");			/* work tree only */
	assert_true(ri_index_is_head(r));
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_summary_matches_git(st);
	repo_status_free(st);
	assert_int_equal(sh("git add a.txt"), 0);	/* staged */
	assert_false(ri_index_is_head(r));
	assert_non_null(st = repo_status(r, err, sizeof(err)));
	expect_summary_matches_git(st);
	repo_status_free(st);
	assert_int_equal(sh("git commit -qm two"), 0);
	assert_true(ri_index_is_head(r));
	assert_int_equal(sh("git update-index --index-version 4"), 0);
	assert_true(ri_index_is_head(r));
	/* A truncated index file is refused, not read past its end. */
	assert_int_equal(sh("head -c 40 .git/index > i && mv i .git/index"),
	    0);
	assert_false(ri_index_is_head(r));
	repo_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_rules),
		cmocka_unit_test(test_open_owner),
		cmocka_unit_test(test_relpath),
		cmocka_unit_test(test_branch),
		cmocka_unit_test(test_status_clean),
		cmocka_unit_test(test_status_states),
		cmocka_unit_test(test_status_unborn),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_submodule),
		cmocka_unit_test(test_status_paths),
		cmocka_unit_test(test_status_parallel),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_unstage),
		cmocka_unit_test(test_revert),
		cmocka_unit_test(test_revert_all),
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_commit_merge),
		cmocka_unit_test(test_commit_identity),
		cmocka_unit_test(test_no_programs),
		cmocka_unit_test(test_sandboxed),
		cmocka_unit_test(test_tree_dirs),
		cmocka_unit_test(test_index_is_head),
	};

	log_init(1, LOGLEVEL_QUIET);
	return cmocka_run_group_tests(tests, setup, teardown);
}
