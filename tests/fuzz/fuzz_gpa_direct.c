// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the GPA-direct range-list parser (vmbus_gpa_direct_parse)
 * on arbitrary packets against a loopback partition with a little RAM. Every
 * iovec it returns must lie inside guest RAM and add up to the byte count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"

static struct fuzz_env env;
static struct vmbus_gpa_direct out;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t *raw;
	const char *why;
	uint64_t sum = 0;

	if (!ready) {
		if (fuzz_env_create(&env))
			abort();
		ready = 1;
	}
	if (size > 65536)
		return 0;
	/* An exact-size copy so ASan sees any read past the packet. */
	raw = malloc(size ? size : 1);
	memcpy(raw, data, size);
	if (vmbus_gpa_direct_parse(env.lb.partition, raw, (uint32_t)size, &out, &why) == 0) {
		if (out.niov == 0 || out.niov > VMBUS_GPA_DIRECT_MAX_PAGES)
			abort();
		for (uint32_t i = 0; i < out.niov; i++) {
			uint8_t *b = out.iov[i].iov_base;

			if (b < env.lb.ram || b + out.iov[i].iov_len > env.lb.ram + env.lb.ram_size)
				abort();
			sum += out.iov[i].iov_len;
		}
		if (sum != out.bytes)
			abort();
	}
	free(raw);
	return 0;
}
