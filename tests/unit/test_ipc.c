/* IPC codec and link: framing, typed readers, fd passing, hostile input. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

static void
encode_str(unsigned int type, uint32_t peerid, const char *s, uint8_t **out,
    size_t *outlen)
{
	struct ipc_wr	 wr = { NULL, 0, 0 };

	ipc_wr_str(&wr, s);
	assert_int_equal(ipc_encode(type, peerid, 0, wr.buf, wr.len, out,
	    outlen), 0);
	free(wr.buf);
}

static void
test_roundtrip(void **state)
{
	struct ipc_dec	*d = ipc_dec_new(1024);
	struct ipc_msg	 msg;
	struct ipc_rd	 rd;
	uint8_t		*buf;
	size_t		 len, slen;
	const char	*s;

	(void)state;
	encode_str(IMSG_CMD, 42, "{\"cmd\":\"x\"}", &buf, &len);
	assert_int_equal(ipc_dec_feed(d, buf, len), 0);
	assert_int_equal(ipc_dec_next(d, &msg, NULL), 1);
	assert_int_equal(msg.hdr.type, IMSG_CMD);
	assert_int_equal(msg.hdr.peerid, 42);
	assert_int_equal(msg.hdr.pid, getpid());
	assert_int_equal(msg.fd, -1);
	ipc_rd_init(&rd, &msg);
	s = ipc_rd_str(&rd, &slen);
	assert_non_null(s);
	assert_string_equal(s, "{\"cmd\":\"x\"}");
	assert_int_equal(slen, 11);
	assert_int_equal(ipc_rd_end(&rd), 0);
	assert_int_equal(ipc_dec_next(d, &msg, NULL), 0);
	free(buf);
	ipc_dec_free(d);
}

/* Every strict prefix of a message is "need more", never a message. */
static void
test_truncation(void **state)
{
	struct ipc_dec	*d;
	struct ipc_msg	 msg;
	uint8_t		*buf;
	size_t		 len, cut;

	(void)state;
	encode_str(IMSG_EVENT, 7, "hello", &buf, &len);
	for (cut = 0; cut < len; cut++) {
		d = ipc_dec_new(1024);
		assert_int_equal(ipc_dec_feed(d, buf, cut), 0);
		assert_int_equal(ipc_dec_next(d, &msg, NULL), 0);
		/* The rest completes it, byte by byte. */
		for (size_t i = cut; i < len; i++)
			assert_int_equal(ipc_dec_feed(d, buf + i, 1), 0);
		assert_int_equal(ipc_dec_next(d, &msg, NULL), 1);
		assert_int_equal(msg.len, len - IPC_HDR_SIZE);
		ipc_dec_free(d);
	}
	free(buf);
}

/* Typed readers reject short fields, missing terminators and leftovers. */
static void
test_typed_readers(void **state)
{
	struct ipc_msg	 msg;
	struct ipc_rd	 rd;
	uint8_t		 raw[64];
	uint32_t	 v;

	(void)state;
	memset(&msg, 0, sizeof(msg));
	msg.data = raw;

	/* trailing byte after a u32 */
	v = 5;
	memcpy(raw, &v, 4);
	raw[4] = 'x';
	msg.len = 5;
	ipc_rd_init(&rd, &msg);
	assert_int_equal(ipc_rd_u32(&rd), 5);
	assert_int_equal(ipc_rd_end(&rd), -1);

	/* short u32 */
	msg.len = 3;
	ipc_rd_init(&rd, &msg);
	ipc_rd_u32(&rd);
	assert_int_equal(ipc_rd_end(&rd), -1);

	/* string length past the end */
	v = 10;
	memcpy(raw, &v, 4);
	memcpy(raw + 4, "abc", 4);
	msg.len = 8;
	ipc_rd_init(&rd, &msg);
	assert_null(ipc_rd_str(&rd, NULL));
	assert_int_equal(ipc_rd_end(&rd), -1);

	/* not NUL-terminated */
	v = 3;
	memcpy(raw, &v, 4);
	memcpy(raw + 4, "abcd", 4);
	msg.len = 8;
	ipc_rd_init(&rd, &msg);
	assert_null(ipc_rd_str(&rd, NULL));

	/* embedded NUL */
	v = 3;
	memcpy(raw, &v, 4);
	memcpy(raw + 4, "a\0c", 4);
	msg.len = 8;
	ipc_rd_init(&rd, &msg);
	assert_null(ipc_rd_str(&rd, NULL));

	/* a reader that went bad stays bad */
	msg.len = 2;
	ipc_rd_init(&rd, &msg);
	ipc_rd_u32(&rd);
	msg.len = 8;
	assert_null(ipc_rd_str(&rd, NULL));
	assert_int_equal(ipc_rd_end(&rd), -1);
}

static void
expect_malformed(struct ipc_hdr *hdr, size_t maxmsg)
{
	struct ipc_dec	*d = ipc_dec_new(maxmsg);
	struct ipc_msg	 msg;
	const char	*why = NULL;
	uint8_t		 buf[IPC_HDR_SIZE + 8];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, hdr, sizeof(*hdr));
	assert_int_equal(ipc_dec_feed(d, buf, sizeof(buf)), 0);
	assert_int_equal(ipc_dec_next(d, &msg, &why), -1);
	assert_non_null(why);
	/* Once broken, always broken. */
	assert_int_equal(ipc_dec_next(d, &msg, &why), -1);
	ipc_dec_free(d);
}

static void
test_bad_headers(void **state)
{
	struct ipc_hdr	 hdr;

	(void)state;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = IPC_VERSION;
	hdr.type = IMSG_PING;
	hdr.len = 4;

	hdr.version = IPC_VERSION + 1;
	expect_malformed(&hdr, 64);
	hdr.version = IPC_VERSION;

	hdr.type = IMSG_MAX;
	expect_malformed(&hdr, 64);
	hdr.type = IMSG_NONE;
	expect_malformed(&hdr, 64);
	hdr.type = IMSG_PING;

	hdr.flags = 0x80;
	expect_malformed(&hdr, 64);
	hdr.flags = IPC_F_FD;		/* no fd arrived with it */
	expect_malformed(&hdr, 64);
	hdr.flags = 0;

	hdr.len = 65;			/* over the link limit */
	expect_malformed(&hdr, 64);
}

/* Random bytes never crash the decoder and never yield an oversized message. */
static void
test_random_input(void **state)
{
	struct ipc_dec	*d;
	struct ipc_msg	 msg;
	uint8_t		 buf[512];
	int		 round, r;
	size_t		 i;

	(void)state;
	srandom(12345);
	for (round = 0; round < 2000; round++) {
		d = ipc_dec_new(256);
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = random();
		/* Half the rounds start with a plausible header. */
		if (round % 2) {
			buf[2] = IPC_VERSION;
			buf[0] = 1 + random() % (IMSG_MAX - 1);
			buf[1] = 0;
			buf[3] = 0;
		}
		assert_int_equal(ipc_dec_feed(d, buf, 1 + random() %
		    sizeof(buf)), 0);
		while ((r = ipc_dec_next(d, &msg, NULL)) == 1)
			assert_true(msg.len <= 256);
		ipc_dec_free(d);
	}
}

struct link_result {
	int	 got;
	int	 fd;
	char	 text[64];
	int	 failed;
};

static void
link_msg(struct ipc *ipc, struct ipc_msg *msg, void *arg)
{
	struct link_result	*res = arg;
	struct ipc_rd		 rd;
	const char		*s;

	(void)ipc;
	ipc_rd_init(&rd, msg);
	s = ipc_rd_str(&rd, NULL);
	if (s != NULL && ipc_rd_end(&rd) == 0)
		strncpy(res->text, s, sizeof(res->text) - 1);
	res->fd = msg->fd;
	msg->fd = -1;
	res->got++;
}

static void
link_err(struct ipc *ipc, const char *why, void *arg)
{
	struct link_result	*res = arg;

	(void)ipc;
	(void)why;
	res->failed = 1;
}

static void
run_until(struct event_base *base, int *flag)
{
	int	 i;

	for (i = 0; i < 1000 && !*flag; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* A real link passes a descriptor that still works on the other side. */
static void
test_fd_passing(void **state)
{
	struct event_base	*base = event_base_new();
	struct link_result	 a, b;
	struct ipc		*ia, *ib;
	struct stat		 st1, st2;
	int			 sp[2], fd;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.fd = b.fd = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ia = ipc_new(base, sp[0], "a", 1024, link_msg, link_err, &a);
	ib = ipc_new(base, sp[1], "b", 1024, link_msg, link_err, &b);
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st1), 0);
	assert_int_equal(ipc_send_str(ia, IMSG_LINK, 3, fd, "x"), 0);
	run_until(base, &b.got);
	assert_int_equal(b.got, 1);
	assert_true(b.fd >= 0);
	assert_int_equal(fstat(b.fd, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_string_equal(b.text, "x");
	close(b.fd);

	/* Over the link's limit: refused at the sender. */
	{
		char big[2048];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(ipc_send_str(ia, IMSG_EVENT, 0, -1, big), -1);
	}

	/* The peer going away is reported. */
	ipc_free(ia);
	run_until(base, &b.failed);
	assert_int_equal(b.failed, 1);
	ipc_free(ib);
	event_base_free(base);
}

static void
test_names(void **state)
{
	unsigned int	 t;

	(void)state;
	for (t = 0; t < IMSG_MAX; t++)
		assert_string_not_equal(ipc_type_name(t), "UNKNOWN");
	assert_string_equal(ipc_type_name(IMSG_MAX), "UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_typed_readers),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
