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
	unsigned prefix; /* 32/128 when the guest gave none */
	char text[GUEST_ADDR_LEN];
};

struct guest_addrs {
	struct guest_addr a[GUEST_ADDRS_MAX];
	size_t n;
};

/* Fills OUT from a status reply; anything that is not a valid address is
 * skipped. Returns the number of addresses. */
size_t guest_addrs_parse(const char *status, struct guest_addrs *out);

#define GUEST_NICS_MAX 8

/* One NIC's addresses from the worker's "ifaddrs" reply. */
struct guest_nic {
	char mac[18]; /* lower case */
	struct guest_addrs addrs;
};

struct guest_nics {
	struct guest_nic nic[GUEST_NICS_MAX];
	size_t n;
};

/* Fills OUT from an "ifaddrs" reply ("ok MAC=ADDR/PREFIX,ADDR/PREFIX ...");
 * a NIC whose MAC is malformed, and any address or prefix that is not valid,
 * is skipped. Returns the number of NICs. */
size_t guest_nics_parse(const char *reply, struct guest_nics *out);

#endif
