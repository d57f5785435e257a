// SPDX-License-Identifier: MIT
/* KVP GET_IP_INFO (ic_kvp_ipinfo.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ic_kvp_ipinfo.h"
#include "ic_service.h"

void ic_kvp_ipinfo_request(struct ic_kvp_ip_msg *msg, const uint8_t mac[6])
{
	char id[18];

	memset(msg, 0, sizeof(*msg));
	msg->operation = IC_KVP_OP_GET_IP_INFO;
	msg->pool = IC_KVP_POOL_AUTO;
	snprintf(id, sizeof(id), "%02X:%02X:%02X:%02X:%02X:%02X", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	ic_utf8_to_utf16(id, msg->adapter_id, sizeof(msg->adapter_id));
}

/* Next ';'-separated item of *s (NULL at the end); empty items are skipped. */
static char *next_item(char **s)
{
	char *item;

	while (**s == ';')
		(*s)++;
	if (!**s)
		return NULL;
	item = *s;
	*s += strcspn(*s, ";");
	if (**s)
		*(*s)++ = '\0';
	return item;
}

/* An IPv4 netmask ("255.255.255.0") as a prefix length; -1 unless contiguous. */
static int mask_prefix(const char *mask)
{
	struct in_addr a;
	uint32_t m;
	int n = 0;

	if (inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (m & 0x80000000u) {
		m <<= 1;
		n++;
	}
	return m ? -1 : n;
}

/* "/64" (hv_kvp_daemon's IPv6 form) or a bare number, at most max. */
static int cidr_prefix(const char *s, int max)
{
	char *end;
	long v;

	if (*s == '/')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	return *end || v > max ? -1 : (int)v;
}

int ic_kvp_ipinfo_parse(const uint8_t *answer, size_t len, struct ic_kvp_addr *out, unsigned max)
{
	struct ic_kvp_ip_msg m;
	char addrs[1024 * 3 + 1], nets[1024 * 3 + 1];
	char *ap = addrs, *np = nets, *a;
	unsigned n = 0;

	if (len < sizeof(m))
		return -1;
	memcpy(&m, answer, sizeof(m)); /* copy once, then check */
	if (m.operation != IC_KVP_OP_GET_IP_INFO)
		return -1;
	ic_utf16_to_utf8(m.ip_addr, sizeof(m.ip_addr), addrs, sizeof(addrs));
	ic_utf16_to_utf8(m.sub_net, sizeof(m.sub_net), nets, sizeof(nets));
	while (n < max && (a = next_item(&ap))) {
		char *net = next_item(&np); /* the same position in the other list */
		unsigned char bin[16];
		struct ic_kvp_addr *o = &out[n];
		int prefix;

		if (inet_pton(AF_INET, a, bin) == 1) {
			o->v6 = false;
			prefix = net ? mask_prefix(net) : -1;
			if (prefix < 0)
				prefix = net ? cidr_prefix(net, 32) : -1;
		} else if (inet_pton(AF_INET6, a, bin) == 1) {
			o->v6 = true;
			prefix = net ? cidr_prefix(net, 128) : -1;
		} else {
			continue; /* not an address: dropped */
		}
		if (prefix < 0)
			prefix = o->v6 ? 128 : 32; /* no usable prefix: a host address */
		o->prefix = (uint8_t)prefix;
		if (!inet_ntop(o->v6 ? AF_INET6 : AF_INET, bin, o->text, sizeof(o->text)))
			continue;
		n++;
	}
	return (int)n;
}
