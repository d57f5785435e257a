/* guestaddr.h: the guest's IP addresses as the worker reports them from the
 * KVP integration service (vmwp's control "status": ... ipv4=A;B ipv6=C;D).
 * The values come from the guest, so every address is checked. */
#ifndef VMMS_GUESTADDR_H
#define VMMS_GUESTADDR_H

#include <stdbool.h>
#include <stddef.h>

#define GUEST_ADDRS_MAX 32
#define GUEST_ADDR_LEN 46 /* INET6_ADDRSTRLEN */

struct guest_addr {
	bool v6;
	char text[GUEST_ADDR_LEN];
};

struct guest_addrs {
	struct guest_addr a[GUEST_ADDRS_MAX];
	size_t n;
};

/* Fills OUT from a status reply; anything that is not a valid address is
 * skipped. Returns the number of addresses. */
size_t guest_addrs_parse(const char *status, struct guest_addrs *out);

#endif
