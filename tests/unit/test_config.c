#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "portacoded.h"

static struct config	 conf;
static char		 err[4096];

static int
parse(const char *text)
{
	config_clear(&conf);
	config_defaults(&conf);
	err[0] = '\0';
	return config_parse(&conf, text, strlen(text), err, sizeof(err));
}

static void
expect_error(const char *text, const char *want)
{
	if (parse(text) != -1)
		fail_msg("parsed without error: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static int
teardown(void **state)
{
	(void)state;
	config_clear(&conf);
	return 0;
}

static void
test_defaults(void **state)
{
	(void)state;
	config_defaults(&conf);
	assert_int_equal(conf.gateway.tls, 1);
	assert_string_equal(conf.gateway.host, "portacode.com");
	assert_string_equal(conf.gateway.port, "443");
	assert_string_equal(conf.gateway.path, "/gateway");
	assert_int_equal(conf.gateway.loopback, 0);
	assert_string_equal(conf.gateway_text, PC_DEFAULT_GATEWAY);
	assert_string_equal(conf.cafile, PC_DEFAULT_CAFILE);
	assert_int_equal(conf.loglevel, LOGLEVEL_INFO);
	assert_string_equal(conf.user, "");
	assert_string_equal(conf.keyfile, "");
	assert_int_equal(conf.proxmox_setup, 0);
	assert_int_equal(conf.sandbox_debug, 0);
	assert_int_equal(conf.nroots, 0);
}

static void
test_full_config(void **state)
{
	(void)state;
	assert_int_equal(parse(
	    "# portacoded.conf\n"
	    "\n"
	    "Gateway wss://gw.example.org:8443/ws?device=1\n"
	    "  user alice   # trailing comment\n"
	    "KEYFILE /var/lib/portacoded/key\n"
	    "CAFile\t/etc/ssl/ca.pem\n"
	    "LogLevel debug\n"
	    "ProxmoxSetup yes\n"
	    "SandboxDebug YES\n"
	    "AllowedRoots /srv /home\n"
	    "AllowedRoots /opt/data\n"), 0);
	assert_int_equal(conf.gateway.tls, 1);
	assert_string_equal(conf.gateway.host, "gw.example.org");
	assert_string_equal(conf.gateway.port, "8443");
	assert_string_equal(conf.gateway.path, "/ws?device=1");
	assert_string_equal(conf.gateway_text,
	    "wss://gw.example.org:8443/ws?device=1");
	assert_string_equal(conf.user, "alice");
	assert_string_equal(conf.keyfile, "/var/lib/portacoded/key");
	assert_string_equal(conf.cafile, "/etc/ssl/ca.pem");
	assert_int_equal(conf.loglevel, LOGLEVEL_DEBUG);
	assert_int_equal(conf.proxmox_setup, 1);
	assert_int_equal(conf.sandbox_debug, 1);
	assert_int_equal(conf.nroots, 3);
	assert_string_equal(conf.roots[0], "/srv");
	assert_string_equal(conf.roots[1], "/home");
	assert_string_equal(conf.roots[2], "/opt/data");
}

static void
test_empty_and_comments(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("\n\n   \n\t\n"), 0);
	assert_int_equal(parse("# only a comment\n   # indented\n"), 0);
	/* CRLF line ends and a last line without newline. */
	assert_int_equal(parse("LogLevel ERROR\r\nUser bob"), 0);
	assert_int_equal(conf.loglevel, LOGLEVEL_ERROR);
	assert_string_equal(conf.user, "bob");
	/* '#' inside a word is not a comment. */
	assert_int_equal(parse("KeyFile /k/a#b\n"), 0);
	assert_string_equal(conf.keyfile, "/k/a#b");
	/* '#' after whitespace is. */
	assert_int_equal(parse("KeyFile /k/a #b c\n"), 0);
	assert_string_equal(conf.keyfile, "/k/a");
}

static void
test_quoting(void **state)
{
	(void)state;
	assert_int_equal(parse("KeyFile \"/my keys/id # 1\"\n"), 0);
	assert_string_equal(conf.keyfile, "/my keys/id # 1");
	assert_int_equal(parse("AllowedRoots \"/a b\" /c \"/d\"\n"), 0);
	assert_int_equal(conf.nroots, 3);
	assert_string_equal(conf.roots[0], "/a b");
	assert_string_equal(conf.roots[1], "/c");
	assert_string_equal(conf.roots[2], "/d");
	assert_int_equal(parse("\"LogLevel\" \"VERBOSE\" # c\n"), 0);
	assert_int_equal(conf.loglevel, LOGLEVEL_VERBOSE);

	expect_error("LogLevel INFO\nKeyFile \"/a b\n", "line 2: unterminated quote");
	expect_error("KeyFile \"/a\"b\n", "line 1: text directly after a closing quote");
	expect_error("KeyFile /a\"b\"\n", "line 1: quote inside a word");
	expect_error("KeyFile \"\"\n", "line 1: KeyFile: empty value");
}

static void
test_unknown_keyword(void **state)
{
	(void)state;
	expect_error("LogLevel INFO\n\n# x\nPort 22\n",
	    "line 4: unknown keyword \"Port\"");
	expect_error("Gateway= wss://a/\n", "line 1: unknown keyword \"Gateway=\"");
}

static void
test_missing_value(void **state)
{
	(void)state;
	expect_error("LogLevel\n", "line 1: LogLevel: missing value");
	expect_error("\nUser   # alice\n", "line 2: User: missing value");
	expect_error("AllowedRoots\n", "line 1: AllowedRoots: missing value");
	expect_error("Gateway \t\n", "line 1: Gateway: missing value");
}

static void
test_extra_value(void **state)
{
	(void)state;
	expect_error("User alice bob\n",
	    "line 1: User: unexpected extra value \"bob\"");
	expect_error("LogLevel INFO\nLogLevel INFO DEBUG\n",
	    "line 2: LogLevel: unexpected extra value \"DEBUG\"");
	expect_error("KeyFile /a /b\n",
	    "line 1: KeyFile: unexpected extra value \"/b\"");
}

static void
test_duplicate(void **state)
{
	(void)state;
	expect_error("LogLevel INFO\n# x\nloglevel DEBUG\n",
	    "line 3: LogLevel: given twice (first on line 1)");
	expect_error("User a\nUser a\n", "line 2: User: given twice");
	expect_error("Gateway wss://a/\nGateway wss://b/\n",
	    "line 2: Gateway: given twice");
	expect_error("ProxmoxSetup no\nProxmoxSetup no\n",
	    "line 2: ProxmoxSetup: given twice");
	expect_error("SandboxDebug no\nSandboxDebug no\n",
	    "line 2: SandboxDebug: given twice");
	expect_error("KeyFile /a\nKeyFile /a\n", "line 2: KeyFile: given twice");
	expect_error("CAFile /a\nCAFile /a\n", "line 2: CAFile: given twice");
}

static void
test_loglevel(void **state)
{
	(void)state;
	assert_int_equal(loglevel_from_name("quiet"), LOGLEVEL_QUIET);
	assert_int_equal(loglevel_from_name("Error"), LOGLEVEL_ERROR);
	assert_int_equal(loglevel_from_name("INFO"), LOGLEVEL_INFO);
	assert_int_equal(loglevel_from_name("verbose"), LOGLEVEL_VERBOSE);
	assert_int_equal(loglevel_from_name("DeBuG"), LOGLEVEL_DEBUG);
	assert_int_equal(loglevel_from_name("DEBUG3"), -1);
	assert_int_equal(loglevel_from_name(""), -1);
	assert_int_equal(parse("LogLevel quiet\n"), 0);
	assert_int_equal(conf.loglevel, LOGLEVEL_QUIET);
	expect_error("User a\nKeyFile /k\nLogLevel LOUD\n",
	    "line 3: LogLevel: unknown level \"LOUD\"");
}

static void
test_yesno(void **state)
{
	(void)state;
	assert_int_equal(parse("ProxmoxSetup No\nSandboxDebug no\n"), 0);
	assert_int_equal(conf.proxmox_setup, 0);
	assert_int_equal(conf.sandbox_debug, 0);
	assert_int_equal(parse("ProxmoxSetup yes\n"), 0);
	assert_int_equal(conf.proxmox_setup, 1);
	expect_error("ProxmoxSetup maybe\n",
	    "line 1: ProxmoxSetup: expected yes or no, got \"maybe\"");
	expect_error("SandboxDebug 1\n",
	    "line 1: SandboxDebug: expected yes or no, got \"1\"");
}

static void
test_user(void **state)
{
	(void)state;
	assert_int_equal(parse("User _portacode\n"), 0);
	assert_string_equal(conf.user, "_portacode");
	assert_int_equal(parse("User host$\n"), 0);
	assert_int_equal(parse("User a.b-c_d9\n"), 0);
	assert_int_equal(parse("User abcdefghijklmnopqrstuvwxyz012345\n"), 0);
	expect_error("User abcdefghijklmnopqrstuvwxyz0123456\n",
	    "line 1: User: bad user name \"abcdefghijklmnopqrstuvwxyz0123456\"");
	expect_error("User 1000\n", "line 1: User: bad user name \"1000\"");
	expect_error("User -rf\n", "line 1: User: bad user name \"-rf\"");
	expect_error("User a/b\n", "User: bad user name \"a/b\"");
	expect_error("User a$b\n", "User: bad user name \"a$b\"");
	expect_error("User \"a b\"\n", "User: bad user name \"a b\"");
}

static void
test_paths(void **state)
{
	(void)state;
	assert_int_equal(parse("KeyFile /etc/portacoded/key\n"
	    "CAFile /etc/ssl/certs/x.pem\n"), 0);
	assert_string_equal(conf.cafile, "/etc/ssl/certs/x.pem");
	expect_error("KeyFile id_portacode\n",
	    "line 1: KeyFile: \"id_portacode\" must be an absolute path");
	expect_error("\nCAFile ./ca.pem\n",
	    "line 2: CAFile: \"./ca.pem\" must be an absolute path");
	expect_error("CAFile ~/ca.pem\n", "must be an absolute path");
}

static void
test_roots(void **state)
{
	char	 buf[4096];
	int	 i, n;

	(void)state;
	assert_int_equal(parse("AllowedRoots / /srv/ //home//alice/// /srv\n"),
	    0);
	assert_int_equal(conf.nroots, 3);	/* the second /srv is the same */
	assert_string_equal(conf.roots[0], "/");
	assert_string_equal(conf.roots[1], "/srv");
	assert_string_equal(conf.roots[2], "/home/alice");

	expect_error("AllowedRoots /srv srv\n",
	    "line 1: AllowedRoots: \"srv\" must be an absolute path");
	expect_error("AllowedRoots /srv/../etc\n",
	    "AllowedRoots: \"/srv/../etc\" must not contain \".\" or \"..\"");
	expect_error("AllowedRoots /srv/./x\n", "must not contain");
	expect_error("AllowedRoots /srv/..\n", "must not contain");
	/* Dots inside names are fine. */
	assert_int_equal(parse("AllowedRoots /srv/.hidden /a..b /.../x\n"), 0);
	assert_int_equal(conf.nroots, 3);

	/* CONF_MAX_ROOTS over several lines; one more fails. */
	buf[0] = '\0';
	for (i = 0; i < CONF_MAX_ROOTS; i++) {
		n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, "AllowedRoots /r%d\n", i);
	}
	assert_int_equal(parse(buf), 0);
	assert_int_equal(conf.nroots, CONF_MAX_ROOTS);
	n = strlen(buf);
	snprintf(buf + n, sizeof(buf) - n, "AllowedRoots /one/more\n");
	expect_error(buf, "line 33: AllowedRoots: more than 32 roots");
}

static void
test_gateway_keyword(void **state)
{
	(void)state;
	assert_int_equal(parse("Gateway ws://127.0.0.1:8765/gateway\n"), 0);
	assert_int_equal(conf.gateway.tls, 0);
	assert_int_equal(conf.gateway.loopback, 1);
	assert_string_equal(conf.gateway.host, "127.0.0.1");
	assert_string_equal(conf.gateway.port, "8765");
	expect_error("LogLevel INFO\nGateway ws://example.com/\n",
	    "line 2: Gateway: \"ws://example.com/\": ws:// is only allowed "
	    "for a loopback host");
	expect_error("Gateway https://example.com/\n",
	    "line 1: Gateway: \"https://example.com/\": URL must start with "
	    "wss:// or ws://");
}

struct urlcase {
	const char	*url;
	int		 tls;
	const char	*host, *port, *path;
	int		 loopback;
};

static void
test_url_good(void **state)
{
	static const struct urlcase cases[] = {
		{ "wss://portacode.com/gateway", 1, "portacode.com", "443",
		    "/gateway", 0 },
		{ "wss://portacode.com", 1, "portacode.com", "443", "/", 0 },
		{ "WSS://Example.COM:1/", 1, "Example.COM", "1", "/", 0 },
		{ "wss://h:65535/a/b/c", 1, "h", "65535", "/a/b/c", 0 },
		{ "wss://h?x=1&y=2", 1, "h", "443", "/?x=1&y=2", 0 },
		{ "wss://h/p?q", 1, "h", "443", "/p?q", 0 },
		{ "ws://localhost", 0, "localhost", "80", "/", 1 },
		{ "ws://LOCALHOST:8080/gw", 0, "LOCALHOST", "8080", "/gw", 1 },
		{ "ws://127.0.0.1/", 0, "127.0.0.1", "80", "/", 1 },
		{ "ws://127.255.3.4:9/", 0, "127.255.3.4", "9", "/", 1 },
		{ "ws://[::1]:8765/gateway", 0, "::1", "8765", "/gateway", 1 },
		{ "ws://[::1]", 0, "::1", "80", "/", 1 },
		{ "wss://[2001:db8::1]:443/x", 1, "2001:db8::1", "443", "/x",
		    0 },
		{ "wss://127.0.0.1/", 1, "127.0.0.1", "443", "/", 1 },
		{ "wss://10.0.0.1:0443/", 1, "10.0.0.1", "443", "/", 0 },
	};
	struct gateway_url	 u;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&u, 0x55, sizeof(u));
		if (gateway_url_parse(&u, cases[i].url, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].url, err);
		assert_int_equal(u.tls, cases[i].tls);
		assert_string_equal(u.host, cases[i].host);
		assert_string_equal(u.port, cases[i].port);
		assert_string_equal(u.path, cases[i].path);
		assert_int_equal(u.loopback, cases[i].loopback);
	}
}

static void
test_url_bad(void **state)
{
	static const struct {
		const char *url, *why;
	} cases[] = {
		{ "", "must start with wss:// or ws://" },
		{ "portacode.com", "must start with wss:// or ws://" },
		{ "http://h/", "must start with wss:// or ws://" },
		{ "wss:/h/", "must start with wss:// or ws://" },
		{ "wss://", "missing host" },
		{ "wss:///path", "missing host" },
		{ "wss://:443/", "missing host" },
		{ "wss://h:/", "bad port" },
		{ "wss://h:0/", "bad port" },
		{ "wss://h:65536/", "bad port" },
		{ "wss://h:123456/", "bad port" },
		{ "wss://h:8x/", "bad port" },
		{ "wss://h:-1/", "bad port" },
		{ "wss://user@h/", "user information" },
		{ "wss://user:pw@h:1/", "user information" },
		{ "wss://h/p#frag", "fragment" },
		{ "wss://h/a b", "space, control or non-ASCII" },
		{ "wss://h/\xc3\xa9", "space, control or non-ASCII" },
		{ "wss://h\x01/", "space, control or non-ASCII" },
		{ "wss://ex!ample.com/", "bad host name" },
		{ "wss://a..b/", "bad host name" },
		{ "wss://[::1/", "missing ']'" },
		{ "wss://[]/", "bad IPv6 address" },
		{ "wss://[zz::1]/", "bad IPv6 address" },
		{ "wss://[::1]x/", "unexpected characters after ']'" },
		{ "wss://::1/", "missing host" },
		{ "ws://example.com/", "ws:// is only allowed for a loopback" },
		{ "ws://10.0.0.1:80/", "ws:// is only allowed for a loopback" },
		{ "ws://[2001:db8::1]/", "ws:// is only allowed for a loopback" },
		{ "ws://localhost.example.com/", "only allowed for a loopback" },
		{ "ws://128.0.0.1/", "only allowed for a loopback" },
	};
	struct gateway_url	 u, orig;
	size_t			 i;

	(void)state;
	memset(&orig, 0x55, sizeof(orig));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = orig;
		err[0] = '\0';
		if (gateway_url_parse(&u, cases[i].url, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", cases[i].url);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].url,
			    err, cases[i].why);
		/* A failed parse leaves the target alone. */
		assert_memory_equal(&u, &orig, sizeof(u));
	}
}

static void
test_url_long(void **state)
{
	struct gateway_url	 u;
	char			 url[2048], host[300];

	(void)state;
	memset(host, 'a', 256);
	host[256] = '\0';
	snprintf(url, sizeof(url), "wss://%s/", host);
	assert_int_equal(gateway_url_parse(&u, url, err, sizeof(err)), -1);

	snprintf(url, sizeof(url), "wss://h/");
	memset(url + 8, 'p', 1100);
	url[1108] = '\0';
	assert_int_equal(gateway_url_parse(&u, url, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "path too long"));
}

static void
test_limits(void **state)
{
	char	*big;
	size_t	 n;

	(void)state;
	/* A line of CONF_MAX_LINE - 1 bytes is fine, one more is not. */
	big = malloc(CONF_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, ' ', CONF_MAX_LINE - 1);
	memcpy(big, "# ", 2);
	big[CONF_MAX_LINE - 1] = '\n';
	big[CONF_MAX_LINE] = '\0';
	assert_int_equal(parse(big), 0);
	memset(big, ' ', CONF_MAX_LINE + 14);
	memcpy(big, "LogLevel INFO\n# ", 16);
	big[CONF_MAX_LINE + 14] = '\0';
	assert_int_equal(strlen(big + 14), CONF_MAX_LINE);
	expect_error(big, "line 2: line is longer than 4095 bytes");

	/* Whole-text limit. */
	memset(big, '\n', CONF_MAX_SIZE + 1);
	big[CONF_MAX_SIZE] = '\0';
	assert_int_equal(parse(big), 0);
	big[CONF_MAX_SIZE] = '\n';
	big[CONF_MAX_SIZE + 1] = '\0';
	n = strlen(big);
	assert_int_equal(n, CONF_MAX_SIZE + 1);
	config_defaults(&conf);
	assert_int_equal(config_parse(&conf, big, n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 65536"));
	free(big);
}

static void
test_nul_and_control(void **state)
{
	static const char text[] = "LogLevel INFO\nUser al\0ice\n";

	(void)state;
	config_defaults(&conf);
	assert_int_equal(config_parse(&conf, text, sizeof(text) - 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "line 2: NUL byte");
	expect_error("User a\x1b[31m\n", "line 1: control character 0x1b");
	expect_error("User a\rb\n", "line 1: control character 0x0d");
}

static void
test_failed_parse_keeps_config(void **state)
{
	static const char bad[] = "AllowedRoots /b /c\nBogus x\n";

	(void)state;
	assert_int_equal(parse("User alice\nAllowedRoots /a\n"), 0);
	assert_int_equal(config_parse(&conf, bad, sizeof(bad) - 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "line 2: unknown keyword \"Bogus\"");
	assert_string_equal(conf.user, "alice");
	assert_int_equal(conf.nroots, 1);
	assert_string_equal(conf.roots[0], "/a");
	config_clear(&conf);
	assert_int_equal(conf.nroots, 0);
	assert_null(conf.roots[0]);
}

/* --- config_load ------------------------------------------------------ */

static char	 tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	char	 cmd[128];

	(void)state;
	config_clear(&conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int	 fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_load(void **state)
{
	static const char text[] = "User root\nLogLevel VERBOSE\n";
	char	 path[128], *got = NULL;
	size_t	 len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	write_file(path, text, sizeof(text) - 1, 0644);
	config_defaults(&conf);
	assert_int_equal(config_load(&conf, path, &got, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(got, text, len);
	assert_int_equal(got[len], '\0');
	assert_int_equal(conf.loglevel, LOGLEVEL_VERBOSE);
	assert_string_equal(conf.user, "root");
	free(got);

	/* textp may be NULL. */
	config_defaults(&conf);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), 0);
}

static void
test_load_errors(void **state)
{
	char	 path[128], want[256], *big;

	(void)state;
	/* Missing file. */
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	config_defaults(&conf);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot open %s: No such file or "
	    "directory", path);
	assert_string_equal(err, want);

	/* Not a regular file. */
	assert_int_equal(config_load(&conf, tmpdir, NULL, NULL, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	/* Parse error names the file and the line. */
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	write_file(path, "User root\nLogLevel LOUD\n", 24, 0600);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: line 2: LogLevel: unknown level "
	    "\"LOUD\"", path);
	assert_non_null(strstr(err, want));

	/* Too large. */
	big = malloc(CONF_MAX_SIZE + 1);
	assert_non_null(big);
	memset(big, '\n', CONF_MAX_SIZE + 1);
	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	write_file(path, big, CONF_MAX_SIZE + 1, 0600);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than 65536 bytes", path);
	assert_string_equal(err, want);
	write_file(path, big, CONF_MAX_SIZE, 0600);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), 0);
	free(big);
}

static void
test_load_strict_modes(void **state)
{
	char	 path[128];

	(void)state;
	if (getuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/modes.conf", tmpdir);
	write_file(path, "LogLevel INFO\n", 14, 0664);
	config_defaults(&conf);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "bad ownership or modes"));
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), 0);
	/* Owned by someone else. */
	assert_int_equal(chown(path, 1, 1), 0);
	assert_int_equal(config_load(&conf, path, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad ownership or modes"));
}

/* --- config_check_mode ------------------------------------------------ */

static void
test_check_system_mode(void **state)
{
	(void)state;
	assert_int_equal(parse("LogLevel INFO\n"), 0);
	assert_int_equal(config_check_mode(&conf, 1, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "User is not set (required when running as root)");
	assert_int_equal(parse("User nosuchuser_pc9\n"), 0);
	assert_int_equal(config_check_mode(&conf, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "User nosuchuser_pc9: no such user");
	assert_int_equal(parse("User root\n"), 0);
	assert_int_equal(config_check_mode(&conf, 1, err, sizeof(err)), 0);
	assert_int_equal(parse("User root\nProxmoxSetup yes\n"), 0);
	assert_int_equal(config_check_mode(&conf, 1, err, sizeof(err)), 0);
}

static void
test_check_user_mode(void **state)
{
	struct passwd	*pw;
	char		 text[128];
	const char	*other;

	(void)state;
	pw = getpwuid(getuid());
	assert_non_null(pw);
	assert_int_equal(parse("LogLevel INFO\n"), 0);
	assert_int_equal(config_check_mode(&conf, 0, err, sizeof(err)), 0);
	snprintf(text, sizeof(text), "User %s\n", pw->pw_name);
	assert_int_equal(parse(text), 0);
	assert_int_equal(config_check_mode(&conf, 0, err, sizeof(err)), 0);

	other = strcmp(pw->pw_name, "pctest") == 0 ? "pctest2" : "pctest";
	snprintf(text, sizeof(text), "User %s\n", other);
	assert_int_equal(parse(text), 0);
	assert_int_equal(config_check_mode(&conf, 0, err, sizeof(err)), -1);
	snprintf(text, sizeof(text), "User %s: cannot switch users when not "
	    "running as root", other);
	assert_string_equal(err, text);

	assert_int_equal(parse("ProxmoxSetup yes\n"), 0);
	assert_int_equal(config_check_mode(&conf, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ProxmoxSetup"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_full_config, teardown),
		cmocka_unit_test_teardown(test_empty_and_comments, teardown),
		cmocka_unit_test_teardown(test_quoting, teardown),
		cmocka_unit_test_teardown(test_unknown_keyword, teardown),
		cmocka_unit_test_teardown(test_missing_value, teardown),
		cmocka_unit_test_teardown(test_extra_value, teardown),
		cmocka_unit_test_teardown(test_duplicate, teardown),
		cmocka_unit_test_teardown(test_loglevel, teardown),
		cmocka_unit_test_teardown(test_yesno, teardown),
		cmocka_unit_test_teardown(test_user, teardown),
		cmocka_unit_test_teardown(test_paths, teardown),
		cmocka_unit_test_teardown(test_roots, teardown),
		cmocka_unit_test_teardown(test_gateway_keyword, teardown),
		cmocka_unit_test(test_url_good),
		cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_url_long),
		cmocka_unit_test_teardown(test_limits, teardown),
		cmocka_unit_test_teardown(test_nul_and_control, teardown),
		cmocka_unit_test_teardown(test_failed_parse_keeps_config,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_errors, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_strict_modes,
		    setup_dir, teardown_dir),
		cmocka_unit_test_teardown(test_check_system_mode, teardown),
		cmocka_unit_test_teardown(test_check_user_mode, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
