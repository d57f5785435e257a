/* guestaddr.c: see guestaddr.h. */
#include "guestaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* The last " KEY" in S: the guest controls the hostname, which comes before
 * the address fields, so a hostname holding " ipv4=..." cannot shadow them. */
static const char *last_field(const char *s, const char *key)
{
	const char *hit = NULL;
	for (const char *p = strstr(s, key); p; p = strstr(p + 1, key))
		hit = p;
	return hit ? hit + strlen(key) : NULL;
}

static void add_list(const char *list, bool v6, struct guest_addrs *out)
{
	if (!list)
		return;
	size_t len = strcspn(list, " ");
	for (const char *p = list; p < list + len && out->n < GUEST_ADDRS_MAX;) {
		size_t n = strcspn(p, "; ");
		if (n > (size_t)(list + len - p))
			n = (size_t)(list + len - p);
		char text[GUEST_ADDR_LEN];
		unsigned char bin[16];
		if (n > 0 && n < sizeof(text)) {
			memcpy(text, p, n);
			text[n] = 0;
			if (inet_pton(v6 ? AF_INET6 : AF_INET, text, bin) == 1) {
				struct guest_addr *a = &out->a[out->n++];
				a->v6 = v6;
				/* Canonical form, whatever spelling the guest used. */
				inet_ntop(v6 ? AF_INET6 : AF_INET, bin, a->text, sizeof(a->text));
			}
		}
		p += n;
		if (*p == ';')
			p++;
	}
}

size_t guest_addrs_parse(const char *status, struct guest_addrs *out)
{
	memset(out, 0, sizeof(*out));
	const char *v6 = last_field(status, " ipv6=");
	/* ipv4 precedes ipv6; look for it only before the ipv6 field. */
	char head[1024];
	size_t hl = v6 ? (size_t)(v6 - status) : strlen(status);
	snprintf(head, sizeof(head), "%.*s", (int)(hl < sizeof(head) ? hl : sizeof(head) - 1),
		 status);
	const char *v4 = last_field(head, " ipv4=");
	add_list(v4, false, out);
	add_list(v6, true, out);
	return out->n;
}
