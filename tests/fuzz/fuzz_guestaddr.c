/* libFuzzer target: vmms' parsers of the guest's KVP address lists, as they
 * reach it in the worker's status line and "ifaddrs" reply, and the worker's
 * parser of the guest's GET_IP_INFO answer. Any input: no crash, no overrun,
 * every address it keeps parses again, every prefix is in range. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestaddr.h"
#include "ic_kvp_ipinfo.h"

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
	static char big[4200]; /* vmms reads "ifaddrs" into 4096 bytes */
	n = size < sizeof(big) - 1 ? size : sizeof(big) - 1;
	memcpy(big, data, n);
	big[n] = 0;
	static struct guest_nics nics;
	k = guest_nics_parse(big, &nics);
	if (k != nics.n || k > GUEST_NICS_MAX)
		abort();
	for (size_t i = 0; i < k; i++) {
		if (strlen(nics.nic[i].mac) != 17 || nics.nic[i].addrs.n > GUEST_ADDRS_MAX)
			abort();
		for (size_t j = 0; j < nics.nic[i].addrs.n; j++) {
			const struct guest_addr *a = &nics.nic[i].addrs.a[j];
			unsigned char bin[16];
			if (inet_pton(a->v6 ? AF_INET6 : AF_INET, a->text, bin) != 1 ||
			    a->prefix > (a->v6 ? 128u : 32u))
				abort();
		}
	}
	/* The same bytes as a guest's GET_IP_INFO answer (padded to full size). */
	static uint8_t ans[sizeof(struct ic_kvp_ip_msg)];
	memset(ans, 0, sizeof(ans));
	memcpy(ans, data, size < sizeof(ans) ? size : sizeof(ans));
	ans[0] = IC_KVP_OP_GET_IP_INFO;
	struct ic_kvp_addr ka[IC_KVP_MAX_ADAPTER_ADDRS];
	int m = ic_kvp_ipinfo_parse(ans, sizeof(ans), ka, IC_KVP_MAX_ADAPTER_ADDRS);
	if (m < 0 || m > IC_KVP_MAX_ADAPTER_ADDRS)
		abort();
	for (int i = 0; i < m; i++) {
		unsigned char bin[16];
		if (inet_pton(ka[i].v6 ? AF_INET6 : AF_INET, ka[i].text, bin) != 1 ||
		    ka[i].prefix > (ka[i].v6 ? 128 : 32))
			abort();
	}
	return 0;
}
