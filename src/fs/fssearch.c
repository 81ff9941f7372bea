/*
 * file_search (reference §4.8): options, clamps and default globs as
 * upstream; the walk and the matching are search.c's. A search runs in
 * slices of a few milliseconds so that other commands of this worker
 * are answered in between.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"
#include "fs/fspath.h"
#include "fs/fsreq.h"
#include "fs/fssearch.h"
#include "fs/search.h"

#define SEARCH_SLICE_US		4000
#define SEARCH_MAX_RUNNING	8
#define SEARCH_TIME_LIMIT_MS	10000
#define SEARCH_MAX_GLOBS	256

static const char *const default_dirs[] = {
	".git", ".hg", ".svn", "__pycache__", "node_modules", "vendor",
	"dist", "build", "tmp", "static", "assets", "coverage", NULL
};

static const char *const default_exts[] = {
	".py", ".pyi", ".pyx", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs",
	".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".md",
	".markdown", ".rst", ".txt", ".html", ".htm", ".css", ".scss",
	".less", ".go", ".rs", ".java", ".kt", ".kts", ".c", ".h", ".hpp",
	".hh", ".cc", ".cpp", ".cxx", ".cs", ".php", ".rb", ".swift",
	".scala", ".sql", ".sh", ".bash", ".zsh", ".fish", ".env",
	".dockerfile", ".gradle", ".mk", ".make", ".bat", ".ps1", NULL
};

static const char *const default_names[] = {
	"Makefile", "Dockerfile", "Jenkinsfile", "Procfile", "Gemfile",
	"CMakeLists.txt", "build.gradle", "settings.gradle", "package.json",
	"pnpm-lock.yaml", "yarn.lock", "requirements.txt", "pyproject.toml",
	NULL
};

struct globs {
	char	*v[SEARCH_MAX_GLOBS];
	size_t	 n;
};

struct running {
	TAILQ_ENTRY(running)	 entry;
	uint32_t		 id;
	struct search		*search;
	struct json_object	*resp;
	struct event		*ev;
	struct globs		 inc, exc;
};

static TAILQ_HEAD(, running) runs = TAILQ_HEAD_INITIALIZER(runs);
static size_t nruns;

static void
globs_add(struct globs *g, const char *s)
{
	const char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (e > s && g->n < SEARCH_MAX_GLOBS)
		g->v[g->n++] = xstrndup(s, e - s);
}

static void
globs_free(struct globs *g)
{
	while (g->n > 0)
		free(g->v[--g->n]);
}

/* A string or an array of strings; -1 (error sent) for anything else. */
static int
globs_arg(struct worker_req *req, const char *key, struct globs *g)
{
	struct json_object	*v, *one;
	size_t			 i;

	if (!json_object_object_get_ex(req->cmd, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		globs_add(g, json_object_get_string(v));
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		goto bad;
	for (i = 0; i < json_object_array_length(v); i++) {
		one = json_object_array_get_idx(v, i);
		if (!json_object_is_type(one, json_type_string))
			goto bad;
		globs_add(g, json_object_get_string(one));
	}
	return 0;
bad:
	worker_error(req->id, "%s must be a string or a list of strings", key);
	return -1;
}

static void
globs_defaults(struct globs *inc, struct globs *exc)
{
	char	*s;
	size_t	 i;

	if (inc->n == 0) {
		for (i = 0; default_exts[i] != NULL; i++) {
			xasprintf(&s, "*%s", default_exts[i]);
			globs_add(inc, s);
			free(s);
		}
		for (i = 0; default_names[i] != NULL; i++)
			globs_add(inc, default_names[i]);
	}
	if (exc->n == 0) {
		for (i = 0; default_dirs[i] != NULL; i++) {
			xasprintf(&s, "%s/**", default_dirs[i]);
			globs_add(exc, s);
			free(s);
			xasprintf(&s, "**/%s/**", default_dirs[i]);
			globs_add(exc, s);
			free(s);
		}
		globs_add(exc, "*.min.js");
		globs_add(exc, "*.min.css");
	}
}

static struct json_object *
globs_json(const struct globs *g)
{
	struct json_object	*a = json_object_new_array();
	size_t			 i;

	for (i = 0; i < g->n; i++)
		json_object_array_add(a, json_object_new_string(g->v[i]));
	return a;
}

static int64_t
clamp(struct worker_req *req, const char *key, int64_t def, int64_t lo,
    int64_t hi)
{
	int64_t	 v;

	if (!fsreq_int(req, key, &v))
		return def;
	return v < lo ? lo : v > hi ? hi : v;
}

static void
run_free(struct running *r)
{
	TAILQ_REMOVE(&runs, r, entry);
	nruns--;
	event_free(r->ev);
	search_free(r->search);
	json_object_put(r->resp);
	globs_free(&r->inc);
	globs_free(&r->exc);
	free(r);
}

static void
run_slice(evutil_socket_t fd, short what, void *arg)
{
	struct running	*r = arg;
	struct timeval	 now = { 0, 0 };

	(void)fd;
	(void)what;
	if (!search_step(r->search, SEARCH_SLICE_US)) {
		/* Through the timer queue, so pending I/O is served first. */
		evtimer_add(r->ev, &now);
		return;
	}
	search_result(r->search, r->resp);
	worker_reply(r->id, json_object_get(r->resp));
	run_free(r);
}

static struct json_object *
search_head(struct worker_req *req, const struct search_opts *o,
    const struct globs *given_inc, const struct globs *exc)
{
	struct json_object	*ev = json_event_new("file_search_response");

	json_set_str(ev, "root_path", o->root);
	json_set_str(ev, "query", o->query);
	json_set_bool(ev, "match_case", o->match_case);
	json_set_bool(ev, "regex", o->regex);
	json_set_bool(ev, "whole_word", o->whole_word);
	json_object_object_add(ev, "include_patterns", globs_json(given_inc));
	json_object_object_add(ev, "exclude_patterns", globs_json(exc));
	json_set_int(ev, "max_results", o->max_results);
	json_set_int(ev, "max_matches_per_file", o->max_per_file);
	(void)req;
	return ev;
}

static int
search_options(struct worker_req *req, struct search_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (fsreq_need(req, "root_path", &o->root) == -1 ||
	    fsreq_need(req, "query", &o->query) == -1)
		return -1;
	o->match_case = fsreq_bool(req, "match_case", 0);
	o->regex = fsreq_bool(req, "regex", 0);
	o->whole_word = fsreq_bool(req, "whole_word", 0);
	o->include_hidden = fsreq_bool(req, "include_hidden", 0);
	o->max_results = (int)clamp(req, "max_results", 40, 1, 500);
	o->max_per_file = (int)clamp(req, "max_matches_per_file", 5, 1, 50);
	o->max_file_size = (uint64_t)clamp(req, "max_file_size", 1 << 20,
	    1024, 10 << 20);
	o->max_line_length = (int)clamp(req, "max_line_length", 200, 32, 1024);
	o->time_limit_ms = SEARCH_TIME_LIMIT_MS;
	o->parents = !fspath_confined();
	return 0;
}

static int
open_root(struct worker_req *req, const char *root)
{
	int	 fd, save;

	if ((fd = fspath_open(root, O_RDONLY | O_DIRECTORY, 0)) != -1)
		return fd;
	save = errno;
	if (save == ENOENT || save == ENOTDIR)
		worker_error(req->id, "Root path is not a directory: %s", root);
	else
		fsreq_oserror(req, save, root, NULL, NULL);
	return -1;
}

void
cmd_file_search(struct worker_req *req)
{
	struct search_opts	 o;
	struct running		*r;
	struct globs		 given_inc;
	char			 err[512];
	size_t			 i;

	if (search_options(req, &o) == -1)
		return;
	if (nruns >= SEARCH_MAX_RUNNING) {
		worker_error(req->id, "Too many searches running (%d); try "
		    "again when one has finished", SEARCH_MAX_RUNNING);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	memset(&given_inc, 0, sizeof(given_inc));
	if (globs_arg(req, "include_patterns", &r->inc) == -1 ||
	    globs_arg(req, "exclude_patterns", &r->exc) == -1 ||
	    (o.root_fd = open_root(req, o.root)) == -1)
		goto fail;
	for (i = 0; i < r->inc.n; i++)
		globs_add(&given_inc, r->inc.v[i]);
	globs_defaults(&r->inc, &r->exc);
	o.include = (const char *const *)r->inc.v;
	o.ninclude = r->inc.n;
	o.exclude = (const char *const *)r->exc.v;
	o.nexclude = r->exc.n;
	r->search = search_new(&o, err, sizeof(err));
	close(o.root_fd);
	if (r->search == NULL) {
		worker_error(req->id, "%s", err);
		goto fail;
	}
	r->id = req->id;
	r->resp = search_head(req, &o, &given_inc, &r->exc);
	globs_free(&given_inc);
	r->ev = evtimer_new(worker_base(), run_slice, r);
	TAILQ_INSERT_TAIL(&runs, r, entry);
	nruns++;
	run_slice(-1, 0, r);
	return;
fail:
	globs_free(&given_inc);
	globs_free(&r->inc);
	globs_free(&r->exc);
	free(r);
}
