#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "portacoded.h"
#include "fs/sysinfo.h"

static struct json_object *
get(struct json_object *o, const char *key, json_type type)
{
	struct json_object	*v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("missing \"%s\" in %s", key,
		    json_object_to_json_string(o));
	if (!json_object_is_type(v, type))
		fail_msg("\"%s\" is %s, want %s", key,
		    json_type_to_name(json_object_get_type(v)),
		    json_type_to_name(type));
	return v;
}

static int64_t
get_int(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key, json_type_int));
}

static double
get_double(struct json_object *o, const char *key)
{
	return json_object_get_double(get(o, key, json_type_double));
}

/* The serialised number has exactly one decimal, as Python's round(x, 1). */
static void
assert_one_decimal(struct json_object *o, const char *key)
{
	const char	*s, *dot;

	s = json_object_to_json_string(get(o, key, json_type_double));
	dot = strchr(s, '.');
	if (dot == NULL || strlen(dot) != 2)
		fail_msg("\"%s\" serialises as \"%s\"", key, s);
}

static void
test_collect_before_init(void **state)
{
	struct json_object	*info;

	(void)state;
	info = sysinfo_collect();
	assert_non_null(info);
	assert_true(get_double(info, "cpu_percent") == 0.0);
	get(info, "memory", json_type_object);
	json_object_put(info);
}

static void
test_fields(void **state)
{
	struct json_object	*info, *mem, *disk, *os, *uc, *pw_o, *px, *v;
	struct passwd		*pw;
	int64_t			 total;

	(void)state;
	pw = getpwuid(getuid());
	assert_non_null(pw);
	sysinfo_init(NULL, pw);
	info = sysinfo_collect();
	assert_non_null(info);

	/* Upstream sends 0.0 until the first 5 s interval is over. */
	assert_true(get_double(info, "cpu_percent") == 0.0);
	assert_one_decimal(info, "cpu_percent");

	mem = get(info, "memory", json_type_object);
	total = get_int(mem, "total");
	assert_true(total > 0);
	assert_true(get_int(mem, "available") <= total);
	assert_true(get_int(mem, "free") <= total);
	assert_true(get_int(mem, "used") >= 0);
	assert_true(get_int(mem, "used") <= total);
	get_int(mem, "active");
	get_int(mem, "inactive");
	get_int(mem, "buffers");
	get_int(mem, "cached");
	get_int(mem, "shared");
	get_int(mem, "slab");
	assert_true(get_double(mem, "percent") >= 0.0);
	assert_true(get_double(mem, "percent") <= 100.0);
	assert_one_decimal(mem, "percent");
	assert_int_equal(json_object_object_length(mem), 11);

	disk = get(info, "disk", json_type_object);
	assert_true(get_int(disk, "total") > 0);
	assert_true(get_int(disk, "used") >= 0);
	assert_true(get_int(disk, "free") >= 0);
	assert_true(get_int(disk, "used") + get_int(disk, "free") <=
	    get_int(disk, "total"));
	assert_one_decimal(disk, "percent");
	assert_int_equal(json_object_object_length(disk), 4);

	os = get(info, "os_info", json_type_object);
	assert_string_equal(json_object_get_string(get(os, "os_type",
	    json_type_string)), "Linux");
	assert_true(strlen(json_object_get_string(get(os, "os_version",
	    json_type_string))) > 0);
	assert_true(strlen(json_object_get_string(get(os, "architecture",
	    json_type_string))) > 0);
	assert_string_equal(json_object_get_string(get(os, "default_shell",
	    json_type_string)), pw->pw_shell[0] != '\0' ? pw->pw_shell :
	    "/bin/bash");
	assert_string_equal(json_object_get_string(get(os, "default_cwd",
	    json_type_string)), pw->pw_dir);

	uc = get(info, "user_context", json_type_object);
	assert_string_equal(json_object_get_string(get(uc, "username",
	    json_type_string)), pw->pw_name);
	assert_string_equal(json_object_get_string(get(uc, "username_source",
	    json_type_string)), "getpass");
	assert_string_equal(json_object_get_string(get(uc, "home",
	    json_type_string)), pw->pw_dir);
	assert_int_equal(get_int(uc, "uid"), getuid());
	assert_int_equal(get_int(uc, "euid"), geteuid());
	assert_int_equal(json_object_get_boolean(get(uc, "is_root",
	    json_type_boolean)), geteuid() == 0);
	assert_int_equal(json_object_get_boolean(get(uc, "has_sudo",
	    json_type_boolean)), access("/usr/bin/sudo", X_OK) == 0 ||
	    access("/bin/sudo", X_OK) == 0 ||
	    access("/usr/sbin/sudo", X_OK) == 0 ||
	    access("/sbin/sudo", X_OK) == 0 ||
	    access("/usr/local/bin/sudo", X_OK) == 0);
	get(uc, "sudo_user", json_type_null);
	assert_false(json_object_get_boolean(get(uc, "is_sudo_session",
	    json_type_boolean)));

	pw_o = get(info, "playwright", json_type_object);
	assert_false(json_object_get_boolean(get(pw_o, "installed",
	    json_type_boolean)));
	get(pw_o, "version", json_type_null);
	assert_int_equal(json_object_object_length(get(pw_o, "browsers",
	    json_type_object)), 0);
	get(pw_o, "error", json_type_null);

	px = get(info, "proxmox", json_type_object);
	get(px, "is_proxmox_node", json_type_boolean);
	assert_true(json_object_object_get_ex(px, "version", &v));
	if (access("/etc/proxmox-release", R_OK) == 0)
		assert_true(json_object_is_type(v, json_type_string));
	else
		assert_true(json_object_is_type(v, json_type_null));
	assert_int_equal(json_object_object_length(px), 2);

	assert_string_equal(json_object_get_string(get(info,
	    "portacode_version", json_type_string)), PACKAGE_VERSION);
	assert_int_equal(json_object_object_length(info), 8);
	json_object_put(info);
}

static void
burn(void)
{
	volatile unsigned long x = 0;

	alarm(10);
	for (;;)
		x++;
}

/* After one 5 s interval with a busy child, cpu_percent is above zero. */
static void
test_cpu_sampler(void **state)
{
	struct event_base	*base;
	struct json_object	*info;
	struct timeval		 tv = { 5, 500000 };
	pid_t			 pid;
	double			 cpu;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	sysinfo_init(base, getpwuid(getuid()));
	if ((pid = fork()) == 0)
		burn();
	assert_true(pid > 0);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	info = sysinfo_collect();
	cpu = get_double(info, "cpu_percent");
	assert_one_decimal(info, "cpu_percent");
	assert_true(cpu > 0.0);
	assert_true(cpu <= 100.0);
	json_object_put(info);
	sysinfo_init(NULL, getpwuid(getuid()));	/* frees the timer */
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_before_init),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_cpu_sampler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
