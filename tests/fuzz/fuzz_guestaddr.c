/* libFuzzer target: vmms' parser of the guest's KVP address lists, as they
 * reach it in the worker's status line. Any input: no crash, no overrun,
 * every address it keeps parses again. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[600]; /* vmms reads status replies into 512 bytes */
	size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = 0;
	struct guest_addrs g;
	size_t k = guest_addrs_parse(line, &g);
	if (k != g.n || k > GUEST_ADDRS_MAX)
		abort();
	for (size_t i = 0; i < k; i++) {
		unsigned char bin[16];
		if (inet_pton(g.a[i].v6 ? AF_INET6 : AF_INET, g.a[i].text, bin) != 1)
			abort();
	}
	return 0;
}
