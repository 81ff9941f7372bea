/*
 * The "info" object of system_info (reference §8.1).
 *
 * This runs in the fs worker behind its seccomp filter, as the target
 * user: no programs, no sockets, no name service after sysinfo_init().
 * Everything comes from /proc, a few stat-like calls and what init copied.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "portacoded.h"
#include "fs/sysinfo.h"
#include "log.h"
#include "xmalloc.h"

#define SYSINFO_READ_MAX	(64 * 1024)
#define CPU_INTERVAL_SEC	5

struct cpu_sample {
	uint64_t	 total;
	uint64_t	 idle;		/* idle + iowait, as psutil counts it */
	int		 valid;
};

static struct {
	int		 ready;
	char		*username;
	char		*home;
	char		*shell;
	uid_t		 uid;
	char		*os_version;
	char		*machine;
	struct event	*cpu_ev;
	struct cpu_sample last;
	double		 cpu_percent;
} si;

/*
 * Read at most SYSINFO_READ_MAX - 1 bytes of a file into a NUL-terminated
 * buffer. Files in /proc report size 0, so read until EOF, not st_size.
 */
static char *
read_small(const char *path, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY))
	    == -1)
		return NULL;
	buf = xmalloc(SYSINFO_READ_MAX);
	while (len < SYSINFO_READ_MAX - 1) {
		r = read(fd, buf + len, SYSINFO_READ_MAX - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* --- CPU -------------------------------------------------------------- */

/*
 * First line of /proc/stat: "cpu user nice system idle iowait irq softirq
 * steal guest guest_nice". guest and guest_nice are already counted in
 * user and nice, so like psutil they are left out of the total.
 */
static int
cpu_read(struct cpu_sample *s)
{
	unsigned long long	 v[10] = { 0 };
	char			 buf[512];
	ssize_t			 r;
	int			 fd, i, n;

	if ((fd = open("/proc/stat", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		r = read(fd, buf, sizeof(buf) - 1);
	while (r == -1 && errno == EINTR);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	n = sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
	    "%llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
	    &v[8], &v[9]);
	if (n < 4)
		return -1;
	s->total = 0;
	for (i = 0; i < 8 && i < n; i++)
		s->total += v[i];
	s->idle = v[3] + (n > 4 ? v[4] : 0);
	s->valid = 1;
	return 0;
}

static void
cpu_tick(evutil_socket_t fd, short events, void *arg)
{
	struct cpu_sample	 now;
	uint64_t		 dt, di;

	(void)fd;
	(void)events;
	(void)arg;
	if (cpu_read(&now) == -1)
		return;
	if (si.last.valid && now.total > si.last.total) {
		dt = now.total - si.last.total;
		di = now.idle >= si.last.idle ? now.idle - si.last.idle : 0;
		if (di > dt)
			di = dt;
		si.cpu_percent = (double)(dt - di) * 100.0 / (double)dt;
	}
	si.last = now;
}

/* --- init ------------------------------------------------------------- */

/* PRETTY_NAME from os-release, unquoted; NULL if absent. */
static char *
os_pretty_name(void)
{
	char	*buf, *line, *next, *v, *out = NULL;
	size_t	 n;

	if ((buf = read_small("/etc/os-release", NULL)) == NULL &&
	    (buf = read_small("/usr/lib/os-release", NULL)) == NULL)
		return NULL;
	for (line = buf; line != NULL && out == NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = trim(line + 12);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		if (*v != '\0')
			out = xstrdup(v);
	}
	free(buf);
	return out;
}

static void
clear_strings(void)
{
	free(si.username);
	free(si.home);
	free(si.shell);
	free(si.os_version);
	free(si.machine);
	si.username = si.home = si.shell = si.os_version = si.machine = NULL;
}

void
sysinfo_init(struct event_base *base, const struct passwd *pw)
{
	struct utsname	 u;
	struct timeval	 tv = { CPU_INTERVAL_SEC, 0 };

	clear_strings();
	if (si.cpu_ev != NULL) {
		event_free(si.cpu_ev);
		si.cpu_ev = NULL;
	}

	si.username = xstrdup(pw != NULL && pw->pw_name != NULL ?
	    pw->pw_name : "");
	si.home = xstrdup(pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "");
	si.shell = xstrdup(pw != NULL && pw->pw_shell != NULL &&
	    pw->pw_shell[0] != '\0' ? pw->pw_shell : "/bin/bash");
	si.uid = pw != NULL ? pw->pw_uid : getuid();

	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	si.machine = xstrdup(u.machine);
	if ((si.os_version = os_pretty_name()) == NULL)
		xasprintf(&si.os_version, "Linux %s", u.release);

	/* As upstream: 0.0 until the first full interval has passed. */
	si.cpu_percent = 0.0;
	si.last.valid = 0;
	(void)cpu_read(&si.last);
	if (base != NULL) {
		si.cpu_ev = event_new(base, -1, EV_PERSIST, cpu_tick, NULL);
		if (si.cpu_ev == NULL || event_add(si.cpu_ev, &tv) == -1)
			log_warnx("sysinfo: cannot start the CPU sampler");
	}
	si.ready = 1;
}

/* --- collect ---------------------------------------------------------- */

/* A double that serialises with one decimal, as Python's round(x, 1). */
static struct json_object *
jdouble1(double v)
{
	char	 s[64];

	snprintf(s, sizeof(s), "%.1f", v);
	return json_object_new_double_s(strtod(s, NULL), s);
}

static void
add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static void
add_int(struct json_object *o, const char *k, int64_t v)
{
	add(o, k, json_object_new_int64(v));
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	add(o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static struct json_object *
percent_only(void)
{
	struct json_object *o = json_object_new_object();

	add(o, "percent", jdouble1(0.0));
	return o;
}

enum {
	MI_TOTAL, MI_FREE, MI_AVAILABLE, MI_BUFFERS, MI_CACHED,
	MI_SRECLAIMABLE, MI_ACTIVE, MI_INACTIVE, MI_SHMEM, MI_SLAB, MI_MAX
};

static const char *meminfo_keys[MI_MAX] = {
	"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached",
	"SReclaimable", "Active", "Inactive", "Shmem", "Slab"
};

/* Values in bytes; -1 where the kernel did not report the field. */
static int
meminfo_read(int64_t v[MI_MAX])
{
	char			*buf, *line, *next, *colon;
	unsigned long long	 kb;
	int			 i;

	for (i = 0; i < MI_MAX; i++)
		v[i] = -1;
	if ((buf = read_small("/proc/meminfo", NULL)) == NULL)
		return -1;
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (i = 0; i < MI_MAX; i++)
			if (strcmp(line, meminfo_keys[i]) == 0)
				break;
		if (i == MI_MAX || sscanf(colon + 1, "%llu", &kb) != 1)
			continue;
		v[i] = (int64_t)kb * 1024;
	}
	free(buf);
	return v[MI_TOTAL] > 0 && v[MI_FREE] >= 0 ? 0 : -1;
}

static int64_t
zero_if_missing(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* psutil.virtual_memory() on Linux, same keys in the same order. */
static struct json_object *
memory_info(void)
{
	struct json_object	*o;
	int64_t			 v[MI_MAX], total, avail, used, cached;

	if (meminfo_read(v) == -1)
		return percent_only();
	total = v[MI_TOTAL];
	cached = zero_if_missing(v[MI_CACHED]) +
	    zero_if_missing(v[MI_SRECLAIMABLE]);
	used = total - v[MI_FREE] - cached - zero_if_missing(v[MI_BUFFERS]);
	if (used < 0)
		used = total - v[MI_FREE];
	avail = v[MI_AVAILABLE];
	if (avail < 0)		/* kernels before 3.14 */
		avail = v[MI_FREE] + zero_if_missing(v[MI_BUFFERS]) + cached;
	if (avail > total)
		avail = total;

	o = json_object_new_object();
	add_int(o, "total", total);
	add_int(o, "available", avail);
	add(o, "percent", jdouble1((double)(total - avail) * 100.0 /
	    (double)total));
	add_int(o, "used", used);
	add_int(o, "free", v[MI_FREE]);
	add_int(o, "active", zero_if_missing(v[MI_ACTIVE]));
	add_int(o, "inactive", zero_if_missing(v[MI_INACTIVE]));
	add_int(o, "buffers", zero_if_missing(v[MI_BUFFERS]));
	add_int(o, "cached", cached);
	add_int(o, "shared", zero_if_missing(v[MI_SHMEM]));
	add_int(o, "slab", zero_if_missing(v[MI_SLAB]));
	return o;
}

/* psutil.disk_usage(home): percent of what a non-root user can use. */
static struct json_object *
disk_info(void)
{
	struct json_object	*o;
	struct statvfs		 sv;
	uint64_t		 total, used, freeb, denom;

	if (si.home == NULL || si.home[0] == '\0' ||
	    statvfs(si.home, &sv) == -1)
		return percent_only();
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	freeb = (uint64_t)sv.f_bavail * sv.f_frsize;
	used = total - (uint64_t)sv.f_bfree * sv.f_frsize;
	denom = used + freeb;

	o = json_object_new_object();
	add_int(o, "total", (int64_t)total);
	add_int(o, "used", (int64_t)used);
	add_int(o, "free", (int64_t)freeb);
	add(o, "percent", jdouble1(denom == 0 ? 0.0 :
	    (double)used * 100.0 / (double)denom));
	return o;
}

static struct json_object *
os_info(void)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "os_type", "Linux");
	add_str(o, "os_version", si.os_version != NULL ? si.os_version :
	    "Unknown");
	add_str(o, "architecture", si.machine != NULL ? si.machine :
	    "Unknown");
	add_str(o, "default_shell", si.shell != NULL ? si.shell : "/bin/bash");
	add_str(o, "default_cwd", si.home != NULL ? si.home : "Unknown");
	return o;
}

static int
have_sudo(void)
{
	static const char *dirs[] = {
		"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"
	};
	char	 path[64];
	size_t	 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/sudo", dirs[i]);
		if (access(path, X_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * The daemon's environment is not the user's, so SUDO_USER / SUDO_UID
 * say nothing about them: report "no sudo session".
 */
static struct json_object *
user_context(void)
{
	struct json_object	*o = json_object_new_object();
	uid_t			 euid = geteuid();

	add_str(o, "username", si.username != NULL ? si.username : "");
	add_str(o, "username_source", "getpass");
	add_str(o, "home", si.home != NULL ? si.home : "");
	add_int(o, "uid", (int64_t)(si.ready ? si.uid : getuid()));
	add_int(o, "euid", (int64_t)euid);
	add(o, "is_root", json_object_new_boolean(euid == 0));
	add(o, "has_sudo", json_object_new_boolean(have_sudo()));
	add(o, "sudo_user", NULL);
	add(o, "is_sudo_session", json_object_new_boolean(0));
	return o;
}

static struct json_object *
playwright_info(void)
{
	struct json_object *o = json_object_new_object();

	add(o, "installed", json_object_new_boolean(0));
	add(o, "version", NULL);
	add(o, "browsers", json_object_new_object());
	add(o, "error", NULL);
	return o;
}

static int
path_exists(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0;
}

/*
 * Hook for the Proxmox issue: the "infra" snapshot (reference §7) is
 * added here once priv maintains it. Until then nothing is emitted, as
 * in the upstream git tag.
 */
static void
proxmox_add_infra(struct json_object *proxmox)
{
	(void)proxmox;
}

static struct json_object *
proxmox_info(void)
{
	struct json_object	*o = json_object_new_object();
	char			*buf, *v;
	int			 node;

	node = path_exists("/etc/pve") || path_exists("/etc/proxmox-release") ||
	    path_exists("/usr/bin/pveversion");
	add(o, "is_proxmox_node", json_object_new_boolean(node));
	if ((buf = read_small("/etc/proxmox-release", NULL)) != NULL) {
		v = trim(buf);
		add_str(o, "version", v);
		free(buf);
	} else
		add(o, "version", NULL);
	proxmox_add_infra(o);
	return o;
}

struct json_object *
sysinfo_collect(void)
{
	struct json_object *info = json_object_new_object();

	add(info, "cpu_percent", jdouble1(si.cpu_percent));
	add(info, "memory", memory_info());
	add(info, "disk", disk_info());
	add(info, "os_info", os_info());
	add(info, "user_context", user_context());
	add(info, "playwright", playwright_info());
	add(info, "proxmox", proxmox_info());
	add_str(info, "portacode_version", PACKAGE_VERSION);
	return info;
}
