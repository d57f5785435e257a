/* guestaddr.c: see guestaddr.h. */
#include "guestaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* TEXT as an address of the family V6 says, in canonical form (whatever
 * spelling the guest used) into OUT; false when it is not one. */
static bool canonical(const char *text, bool v6, struct guest_addr *out)
{
	unsigned char bin[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, bin) != 1)
		return false;
	out->v6 = v6;
	return inet_ntop(v6 ? AF_INET6 : AF_INET, bin, out->text, sizeof(out->text)) != NULL;
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
		if (n > 0 && n < sizeof(text)) {
			memcpy(text, p, n);
			text[n] = 0;
			struct guest_addr *a = &out->a[out->n];
			if (canonical(text, v6, a)) {
				a->prefix = v6 ? 128 : 32;
				out->n++;
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

/* "ADDR/PREFIX" (LEN bytes at P) into OUT; false when either is invalid. */
static bool parse_cidr(const char *p, size_t len, struct guest_addr *out)
{
	char text[GUEST_ADDR_LEN + 5];
	if (len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = 0;
	char *slash = strchr(text, '/');
	if (!slash || !slash[1] || strlen(slash + 1) > 3 ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1))
		return false;
	*slash = 0;
	unsigned prefix = (unsigned)atoi(slash + 1);
	if (!canonical(text, false, out) && !canonical(text, true, out))
		return false;
	if (prefix > (out->v6 ? 128u : 32u))
		return false;
	out->prefix = prefix;
	return true;
}

static bool mac_ok(const char *p, size_t len)
{
	if (len != 17)
		return false;
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2 ? p[i] != ':' : !isxdigit((unsigned char)p[i]))
			return false;
	}
	return true;
}

size_t guest_nics_parse(const char *reply, struct guest_nics *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(reply, "ok", 2))
		return 0;
	for (const char *p = reply + 2; *p && out->n < GUEST_NICS_MAX;) {
		p += strspn(p, " ");
		size_t tok = strcspn(p, " ");
		const char *eq = memchr(p, '=', tok);
		if (eq && mac_ok(p, (size_t)(eq - p))) {
			struct guest_nic *nic = &out->nic[out->n++];
			for (size_t i = 0; i < 17; i++)
				nic->mac[i] = (char)tolower((unsigned char)p[i]);
			for (const char *a = eq + 1;
			     a < p + tok && nic->addrs.n < GUEST_ADDRS_MAX;) {
				size_t n = strcspn(a, ", ");
				if (n > (size_t)(p + tok - a))
					n = (size_t)(p + tok - a);
				if (n && parse_cidr(a, n, &nic->addrs.a[nic->addrs.n]))
					nic->addrs.n++;
				a += n;
				if (*a == ',')
					a++;
			}
		}
		p += tok;
	}
	return out->n;
}
