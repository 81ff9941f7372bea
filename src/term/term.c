/*
 * term: terminals, as the target user. No seccomp: user shells must behave
 * as they would under sshd. Each terminal is a program on a pty with a real
 * controlling terminal; its output feeds a screen model (for terminal_list
 * replays) and, coalesced for a few milliseconds, terminal_data events.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portacoded.h"
#include "json.h"
#include "log.h"
#include "monitor.h"
#include "worker.h"
#include "xmalloc.h"
#include "term/link.h"
#include "term/pty.h"
#include "term/screen.h"

#define TERM_MAX		256
#define TERM_READ_SIZE		(64 * 1024)
#define TERM_FLUSH_SIZE		(64 * 1024)
#define TERM_COALESCE_USEC	4000
#define TERM_INPUT_MAX		(16 * 1024 * 1024)
#define TERM_STOP_GRACE_MS	2000
#define TERM_STOP_POLL_USEC	50000
#define TERM_LIST_BUDGET	(12 * 1024 * 1024)	/* under IPC_MAX_DATA */
#define TERM_ROWS		24
#define TERM_COLS		80

struct terminal {
	TAILQ_ENTRY(terminal)	 entry;
	char			 id[33];
	char			*project_id;
	pid_t			 pid;
	int			 master;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_flush;
	struct event		*ev_stop;
	struct evbuffer		*input;
	struct utf8_carry	 carry;
	char			*out;
	size_t			 outlen;
	size_t			 outcap;
	struct screen		*screen;
	char			 shell[1024];
	char			 cwd[4096];
	char			 created_at[64];
	int			 rows;
	int			 cols;
	struct timespec		 last_flush;
	int			 reaped;
	int			 returncode;
	int			 eof;
	int			 stopping;
	int			 killed;
	struct timespec		 stop_started;
};

static TAILQ_HEAD(, terminal)	terminals = TAILQ_HEAD_INITIALIZER(terminals);
static int			nterminals;
static int			paused;		/* output backpressure */

static void	term_read_cb(int, short, void *);
static void	term_flush(struct terminal *);

/* ---- helpers ---- */

static struct terminal *
term_find(const char *id)
{
	struct terminal	*t;

	if (id == NULL)
		return NULL;
	TAILQ_FOREACH(t, &terminals, entry)
		if (!t->stopping && strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static struct terminal *
term_by_pid(pid_t pid)
{
	struct terminal	*t;

	TAILQ_FOREACH(t, &terminals, entry)
		if (t->pid == pid)
			return t;
	return NULL;
}

static void
set_project(struct json_object *ev, const char *project_id)
{
	json_object_object_add(ev, "project_id", project_id != NULL ?
	    json_object_new_string(project_id) : NULL);
}

static struct json_object *
term_event(const char *name, struct terminal *t)
{
	struct json_object	*ev = json_event_new(name);

	json_set_str(ev, "terminal_id", t->id);
	set_project(ev, t->project_id);
	return ev;
}

static void
new_id(char id[33])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[16];
	int			 i;

	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < 16; i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	id[32] = '\0';
}

static void
iso_now(char *buf, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* ---- output ---- */

static void
pause_reading(int pause)
{
	struct terminal	*t;

	if (pause == paused)
		return;
	paused = pause;
	TAILQ_FOREACH(t, &terminals, entry) {
		if (t->master == -1 || t->eof)
			continue;
		if (pause)
			event_del(t->ev_read);
		else
			event_add(t->ev_read, NULL);
	}
}

static void
term_drained(void)
{
	if (worker_net_queued() < WORKER_OUT_LOW)
		pause_reading(0);
}

static void
term_flush(struct terminal *t)
{
	struct json_object	*ev;

	evtimer_del(t->ev_flush);
	if (t->outlen == 0)
		return;
	ev = json_event_new("terminal_data");
	json_set_str(ev, "channel", t->id);
	json_object_object_add(ev, "data",
	    json_object_new_string_len(t->out, t->outlen));
	set_project(ev, t->project_id);
	worker_event(0, ev);
	t->outlen = 0;
	clock_gettime(CLOCK_MONOTONIC, &t->last_flush);
	/* The program blocks on a full pty, as under ssh, not our memory. */
	if (worker_net_queued() > WORKER_OUT_HIGH)
		pause_reading(1);
}

static void
flush_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	term_flush(arg);
}

static long
usec_since(const struct timespec *then)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - then->tv_sec) * 1000000 +
	    (now.tv_nsec - then->tv_nsec) / 1000;
}

/*
 * A keystroke's echo goes out at once; only output that keeps coming is
 * gathered, for at most TERM_COALESCE_USEC, into fewer larger events.
 */
static void
term_output(struct terminal *t, const char *buf, size_t len)
{
	struct timeval	 tv = { 0, 0 };
	long		 idle;

	screen_feed(t->screen, buf, len);
	utf8_stream(&t->carry, buf, len, &t->out, &t->outlen, &t->outcap);
	if (t->outlen == 0 || evtimer_pending(t->ev_flush, NULL))
		goto full;
	idle = usec_since(&t->last_flush);
	if (idle >= TERM_COALESCE_USEC) {
		term_flush(t);
		return;
	}
	tv.tv_usec = TERM_COALESCE_USEC - idle;
	evtimer_add(t->ev_flush, &tv);
full:
	if (t->outlen >= TERM_FLUSH_SIZE)
		term_flush(t);
}

static void
term_read_cb(int fd, short what, void *arg)
{
	static char	 buf[TERM_READ_SIZE];
	struct terminal	*t = arg;
	ssize_t		 n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		term_output(t, buf, n);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO: every slave fd is closed. What is carried is flushed as U+FFFD. */
	t->eof = 1;
	event_del(t->ev_read);
	utf8_stream_end(&t->carry, &t->out, &t->outlen, &t->outcap);
	term_flush(t);
}

/* Read what the program wrote before it went away. */
static void
term_drain_output(struct terminal *t)
{
	int	 i;

	for (i = 0; i < 64 && !t->eof && t->master != -1; i++) {
		size_t before = t->outlen;

		term_read_cb(t->master, EV_READ, t);
		if (t->outlen == before && !t->eof)
			break;
	}
	utf8_stream_end(&t->carry, &t->out, &t->outlen, &t->outcap);
	term_flush(t);
}

/* ---- input ---- */

static void
term_write_cb(int fd, short what, void *arg)
{
	struct terminal	*t = arg;

	(void)what;
	if (evbuffer_write(t->input, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		/* The pty is gone; input has nowhere to go. */
		evbuffer_drain(t->input, evbuffer_get_length(t->input));
		return;
	}
	if (evbuffer_get_length(t->input) > 0)
		event_add(t->ev_write, NULL);
}

/* ---- lifecycle ---- */

static void
term_free(struct terminal *t)
{
	TAILQ_REMOVE(&terminals, t, entry);
	nterminals--;
	event_free(t->ev_read);
	event_free(t->ev_write);
	event_free(t->ev_flush);
	event_free(t->ev_stop);
	evbuffer_free(t->input);
	if (t->master != -1)
		close(t->master);
	screen_free(t->screen);
	free(t->out);
	free(t->project_id);
	free(t);
	/* Scrollback is large and freed in pieces: give it back to the system. */
	if (nterminals == 0 || nterminals % 16 == 0)
		malloc_trim(0);
}

static void
send_exit(struct terminal *t)
{
	struct json_object	*ev = term_event("terminal_exit", t);

	json_set_int(ev, "returncode", t->returncode);
	worker_event_keep(ev);
}

/* Gone means the whole session, background jobs in their own groups too. */
static int
group_gone(pid_t pid)
{
	return pty_signal_group(pid, 0) == -1 && errno == ESRCH;
}

static long
ms_since(const struct timespec *start)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Stopping: SIGHUP to the group, SIGKILL after the grace, done when gone. */
static void
stop_cb(int fd, short what, void *arg)
{
	struct timeval		 tv = { 0, TERM_STOP_POLL_USEC };
	struct terminal		*t = arg;
	struct json_object	*ev;

	(void)fd;
	(void)what;
	if (!t->killed && ms_since(&t->stop_started) >= TERM_STOP_GRACE_MS) {
		t->killed = 1;
		pty_signal_group(t->pid, SIGKILL);
	}
	if (!t->reaped || !group_gone(t->pid)) {
		evtimer_add(t->ev_stop, &tv);
		return;
	}
	ev = term_event("terminal_stop_completed", t);
	json_set_str(ev, "status", "success");
	json_set_str(ev, "message", "Terminal stopped successfully");
	worker_event_keep(ev);
	send_exit(t);
	term_free(t);
}

static void
term_reaped(struct terminal *t, int status)
{
	t->reaped = 1;
	t->returncode = WIFEXITED(status) ? WEXITSTATUS(status) :
	    -WTERMSIG(status);
	log_debug("terminal %s: pid %ld ended (%d)", t->id, (long)t->pid,
	    t->returncode);
	term_drain_output(t);
	if (t->stopping)
		return;		/* stop_cb reports it */
	send_exit(t);
	term_free(t);
}

static void
sigchld_cb(int sig, short what, void *arg)
{
	struct terminal	*t;
	pid_t		 pid;
	int		 status;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((t = term_by_pid(pid)) != NULL)
			term_reaped(t, status);
}

/* ---- commands ---- */

static int
opt_int(struct json_object *cmd, const char *key, int dflt)
{
	struct json_object	*v = json_get(cmd, key);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int(v);
}

static const char *
default_path(void)
{
	return getuid() == 0 ?
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" :
	    "/usr/local/bin:/usr/bin:/bin";
}

static void
cmd_terminal_start(struct worker_req *req)
{
	struct pty_spec		 spec;
	struct pty_proc		 proc;
	struct terminal		*t;
	struct json_object	*ev;
	const char		*env[8];
	char			 err[512], idenv[64], path[PATH_MAX + 64];
	char			 sock[PATH_MAX + 32], browser[PATH_MAX + 16], id[33];
	char			 prompt[2 * PATH_MAX + 64];
	int			 n = 0, rows, cols;

	rows = opt_int(req->cmd, "rows", TERM_ROWS);
	cols = opt_int(req->cmd, "cols", TERM_COLS);
	if (rows < 1 || rows > 1000 || cols < 1 || cols > 1000) {
		worker_error(req->id, "rows and cols must be between 1 and 1000");
		return;
	}
	if (nterminals >= TERM_MAX) {
		worker_error(req->id, "too many terminals (at most %d)",
		    TERM_MAX);
		return;
	}
	new_id(id);
	snprintf(idenv, sizeof(idenv), "PORTACODE_TERMINAL_ID=%s", id);
	env[n++] = idenv;
	if (link_bindir() != NULL) {
		snprintf(path, sizeof(path), "PATH=%s:%s", link_bindir(),
		    default_path());
		snprintf(sock, sizeof(sock), "PORTACODE_LINK_SOCKET=%s",
		    link_socket());
		snprintf(browser, sizeof(browser), "BROWSER=%s/xdg-open",
		    link_bindir());
		/*
		 * A login shell's profile resets PATH; bash puts the openers
		 * back before each prompt (BROWSER covers every shell).
		 */
		snprintf(prompt, sizeof(prompt), "PROMPT_COMMAND=case :$PATH: "
		    "in *:%s:*) ;; *) PATH=%s:$PATH;; esac", link_bindir(),
		    link_bindir());
		env[n++] = path;
		env[n++] = sock;
		env[n++] = browser;
		env[n++] = prompt;
	}
	env[n] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.pw = worker_user();
	spec.shell = json_get_str(req->cmd, "shell");
	spec.cwd = json_get_str(req->cmd, "cwd");
	spec.rows = rows;
	spec.cols = cols;
	spec.extra_env = env;
	if (pty_spawn(&spec, &proc, err, sizeof(err)) == -1) {
		worker_error(req->id, "%s", err);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	memcpy(t->id, id, sizeof(t->id));
	if (json_get_str(req->cmd, "project_id") != NULL)
		t->project_id = xstrdup(json_get_str(req->cmd, "project_id"));
	t->pid = proc.pid;
	t->master = proc.master;
	t->rows = rows;
	t->cols = cols;
	strlcpy_chk(t->shell, proc.shell, sizeof(t->shell));
	strlcpy_chk(t->cwd, proc.cwd, sizeof(t->cwd));
	iso_now(t->created_at, sizeof(t->created_at));
	t->screen = screen_new(rows, cols);
	t->input = evbuffer_new();
	t->ev_read = event_new(worker_base(), t->master, EV_READ | EV_PERSIST,
	    term_read_cb, t);
	t->ev_write = event_new(worker_base(), t->master, EV_WRITE,
	    term_write_cb, t);
	t->ev_flush = evtimer_new(worker_base(), flush_cb, t);
	t->ev_stop = evtimer_new(worker_base(), stop_cb, t);
	if (t->input == NULL || t->ev_read == NULL || t->ev_write == NULL ||
	    t->ev_flush == NULL || t->ev_stop == NULL)
		fatalx("terminal: out of memory");
	if (!paused)
		event_add(t->ev_read, NULL);
	TAILQ_INSERT_TAIL(&terminals, t, entry);
	nterminals++;
	log_verbose("terminal %s started: %s in %s (pid %ld)", t->id, t->shell,
	    t->cwd, (long)t->pid);

	ev = term_event("terminal_started", t);
	json_set_str(ev, "channel", t->id);
	json_set_int(ev, "pid", t->pid);
	json_set_str(ev, "shell", t->shell);
	json_set_str(ev, "cwd", t->cwd);
	json_set_int(ev, "rows", t->rows);
	json_set_int(ev, "cols", t->cols);
	worker_reply(req->id, ev);
}

static struct terminal *
find_or_error(struct worker_req *req)
{
	const char	*id = json_get_str(req->cmd, "terminal_id");
	struct terminal	*t;

	if (id == NULL) {
		worker_error(req->id, "terminal_id is required");
		return NULL;
	}
	if ((t = term_find(id)) == NULL)
		worker_error(req->id, "terminal_id %s not found", id);
	return t;
}

static void
cmd_terminal_send(struct worker_req *req)
{
	struct json_object	*data = json_get(req->cmd, "data");
	struct json_object	*ev;
	struct terminal		*t;
	size_t			 len;

	if ((t = find_or_error(req)) == NULL)
		return;
	if (data == NULL || !json_object_is_type(data, json_type_string)) {
		worker_error(req->id, "data must be a string");
		return;
	}
	len = json_object_get_string_len(data);
	if (evbuffer_get_length(t->input) + len > TERM_INPUT_MAX) {
		worker_error(req->id, "terminal %s is not reading its input",
		    t->id);
		return;
	}
	evbuffer_add(t->input, json_object_get_string(data), len);
	if (!t->reaped)
		term_write_cb(t->master, EV_WRITE, t);
	ev = json_event_new("terminal_send_ack");
	json_set_str(ev, "terminal_id", t->id);
	set_project(ev, t->project_id);
	worker_reply(req->id, ev);
}

static void
cmd_terminal_resize(struct worker_req *req)
{
	struct json_object	*ev;
	struct terminal		*t;
	int			 rows, cols;

	if ((t = find_or_error(req)) == NULL)
		return;
	rows = opt_int(req->cmd, "rows", 0);
	cols = opt_int(req->cmd, "cols", 0);
	if (rows < 1 || rows > 1000 || cols < 1 || cols > 1000) {
		worker_error(req->id, "rows and cols must be between 1 and 1000");
		return;
	}
	if (pty_resize(t->master, rows, cols) == -1) {
		worker_error(req->id, "resize terminal %s: %s", t->id,
		    strerror(errno));
		return;
	}
	screen_resize(t->screen, rows, cols);
	t->rows = rows;
	t->cols = cols;
	ev = term_event("terminal_resized", t);
	json_set_int(ev, "rows", rows);
	json_set_int(ev, "cols", cols);
	worker_reply(req->id, ev);
}

static void
cmd_terminal_stop(struct worker_req *req)
{
	struct timeval		 tv = { 0, TERM_STOP_POLL_USEC };
	const char		*id = json_get_str(req->cmd, "terminal_id");
	struct json_object	*ev;
	struct terminal		*t;

	if (id == NULL) {
		worker_error(req->id, "terminal_id is required");
		return;
	}
	if ((t = term_find(id)) == NULL) {
		ev = json_event_new("terminal_stopped");
		json_set_str(ev, "terminal_id", id);
		json_set_str(ev, "status", "not_found");
		json_set_str(ev, "message",
		    "Terminal was not found or already stopped");
		set_project(ev, NULL);
		worker_event(req->id, json_object_get(ev));
		json_set_str(ev, "event", "terminal_stop_completed");
		worker_reply(req->id, ev);
		return;
	}
	t->stopping = 1;
	clock_gettime(CLOCK_MONOTONIC, &t->stop_started);
	pty_signal_group(t->pid, SIGHUP);
	pty_signal_group(t->pid, SIGCONT);
	evtimer_add(t->ev_stop, &tv);
	ev = term_event("terminal_stopped", t);
	json_set_str(ev, "status", "stopping");
	json_set_str(ev, "message", "Terminal stop process initiated");
	worker_reply(req->id, ev);
}

/*
 * The oldest scrollback goes first when a list would not fit in one
 * message: keep the last `keep` bytes, from a line start (every rendered
 * line resets its attributes, so a line start is a clean cut).
 */
static const char *
trim_buffer(const char *buf, size_t *len, size_t keep)
{
	const char	*p;

	if (*len <= keep)
		return buf;
	p = buf + (*len - keep);
	while (p < buf + *len - 1 && !(p[0] == '\r' && p[1] == '\n'))
		p++;
	if (p < buf + *len - 1)
		p += 2;
	*len -= p - buf;
	return p;
}

static struct json_object *
term_session(struct terminal *t, size_t keep)
{
	struct json_object	*s = json_object_new_object();
	const char		*kept;
	char			*buf;
	size_t			 len;

	json_set_str(s, "terminal_id", t->id);
	json_set_str(s, "channel", t->id);
	json_set_int(s, "pid", t->pid);
	json_object_object_add(s, "returncode", t->reaped ?
	    json_object_new_int(t->returncode) : NULL);
	buf = screen_render(t->screen, &len);
	kept = trim_buffer(buf, &len, keep);
	json_object_object_add(s, "buffer", json_object_new_string_len(kept,
	    len));
	free(buf);
	json_set_str(s, "status", t->reaped ? "exited" : "active");
	json_set_str(s, "created_at", t->created_at);
	json_set_str(s, "shell", t->shell);
	json_set_str(s, "cwd", t->cwd);
	json_set_int(s, "rows", t->rows);
	json_set_int(s, "cols", t->cols);
	set_project(s, t->project_id);
	return s;
}

/* reference §3.6: no project_id lists project-less terminals, "all" all. */
static int
list_match(struct terminal *t, const char *want)
{
	if (want == NULL)
		return t->project_id == NULL;
	if (strcmp(want, "all") == 0)
		return 1;
	return t->project_id != NULL && strcmp(t->project_id, want) == 0;
}

static void
cmd_terminal_list(struct worker_req *req)
{
	const char		*want = json_get_str(req->cmd, "project_id");
	struct json_object	*ev, *arr = json_object_new_array();
	struct terminal		*t;

	size_t			 n = 0, keep;

	TAILQ_FOREACH(t, &terminals, entry)
		if (!t->stopping && list_match(t, want))
			n++;
	/* JSON escaping can double control-heavy text: leave room for it. */
	keep = n > 0 ? TERM_LIST_BUDGET / 2 / n : 0;
	TAILQ_FOREACH(t, &terminals, entry)
		if (!t->stopping && list_match(t, want))
			json_object_array_add(arr, term_session(t, keep));
	ev = json_event_new("terminal_list");
	json_object_object_add(ev, "sessions", arr);
	set_project(ev, want);
	worker_reply(req->id, ev);
}

/* ---- link capture ---- */

static void
link_request(const struct link_request *lr, void *arg)
{
	struct json_object	*ev, *args;
	struct terminal		*t;
	struct timespec		 ts;

	(void)arg;
	if ((t = term_find(lr->terminal_id)) == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev = term_event("terminal_link_request", t);
	json_set_str(ev, "channel", t->id);
	json_set_str(ev, "url", lr->url);
	json_set_str(ev, "command", lr->command);
	args = json_object_new_array();
	json_object_array_add(args, json_object_new_string(lr->url));
	json_object_object_add(ev, "args", args);
	json_set_int(ev, "pid", lr->pid);
	json_object_object_add(ev, "timestamp", json_object_new_double(
	    ts.tv_sec + ts.tv_nsec / 1e9));
	worker_event(0, ev);
}

static char	helper_path[PATH_MAX + 32];
static int	helper_fd = -1;
static char	helper_copy[64];

/* The helper sits next to our binary in a build tree, else in libexec. */
static void
helper_find(void)
{
	char	 exe[PATH_MAX], *slash;
	ssize_t	 n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		snprintf(helper_path, sizeof(helper_path), "%s/portacoded-link",
		    exe);
	}
	if (n <= 0 || access(helper_path, X_OK) == -1)
		snprintf(helper_path, sizeof(helper_path), "%s/portacoded-link",
		    LIBEXECDIR);
	/* Kept open: the target user may not be able to reach this path. */
	helper_fd = open(helper_path, O_RDONLY | O_CLOEXEC);
}

static void
helper_copy_remove(void)
{
	if (helper_copy[0] != '\0')
		unlink(helper_copy);
}

/*
 * As the target user: the installed helper when they can run it, else a
 * private copy of it (a build tree under a home they cannot enter).
 */
static const char *
helper_usable(void)
{
	char	 buf[8192];
	ssize_t	 n;
	off_t	 off = 0;
	int	 fd;

	if (access(helper_path, X_OK) == 0 || helper_fd == -1)
		return helper_path;
	strlcpy_chk(helper_copy, "/tmp/portacoded-link-XXXXXX",
	    sizeof(helper_copy));
	if ((fd = mkstemp(helper_copy)) == -1) {
		helper_copy[0] = '\0';
		return helper_path;
	}
	while ((n = pread(helper_fd, buf, sizeof(buf), off)) > 0) {
		if (write(fd, buf, n) != n)
			break;
		off += n;
	}
	if (n != 0 || fchmod(fd, 0700) == -1) {
		close(fd);
		unlink(helper_copy);
		helper_copy[0] = '\0';
		return helper_path;
	}
	close(fd);
	atexit(helper_copy_remove);
	return helper_copy;
}

static void
link_setup(struct event_base *base)
{
	char	 err[512];

	if (link_init(base, helper_usable(), link_request, NULL, err,
	    sizeof(err)) == -1)
		log_warnx("link capture disabled: %s", err);
}

static void
term_quit(int sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	/* exit() runs link_shutdown; the shells get SIGHUP from the ptys. */
	exit(0);
}

/* As the target user: the link socket must be theirs to connect to. */
static void
term_start(struct event_base *base, const struct config *conf)
{
	struct event	*ev;

	(void)conf;
	ev = evsignal_new(base, SIGCHLD, sigchld_cb, NULL);
	evsignal_add(ev, NULL);
	ev = evsignal_new(base, SIGTERM, term_quit, NULL);
	evsignal_add(ev, NULL);
	worker_set_drain(term_drained);
	link_setup(base);
}

static const struct worker_cmd term_cmds[] = {
	{ "terminal_list", cmd_terminal_list },
	{ "terminal_resize", cmd_terminal_resize },
	{ "terminal_send", cmd_terminal_send },
	{ "terminal_start", cmd_terminal_start },
	{ "terminal_stop", cmd_terminal_stop },
	{ NULL, NULL }
};

/* Still as root in system mode: find the link helper while we can. */
static void
term_init(struct event_base *base, const struct config *conf)
{
	(void)base;
	(void)conf;
	helper_find();
}

static const struct worker_ops term_ops = {
	.role = ROLE_TERM,
	.cmds = term_cmds,
	.init = term_init,
	.start = term_start,
};

int
term_main(struct child_boot *boot)
{
	return worker_main(boot, &term_ops);
}
