/* Fuzz target: the IPC decoder and the typed readers behind it. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_dec	*d = ipc_dec_new(4096);
	struct ipc_msg	 msg;
	struct ipc_rd	 rd;
	size_t		 half = size / 2;

	/* Two feeds, so that a message split across reads is exercised. */
	if (ipc_dec_feed(d, data, half) == 0 &&
	    ipc_dec_feed(d, data + half, size - half) == 0) {
		while (ipc_dec_next(d, &msg, NULL) == 1) {
			ipc_rd_init(&rd, &msg);
			(void)ipc_rd_u32(&rd);
			(void)ipc_rd_str(&rd, NULL);
			(void)ipc_rd_end(&rd);
			if (msg.fd != -1)
				close(msg.fd);
		}
	}
	ipc_dec_free(d);
	return 0;
}
