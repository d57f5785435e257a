// SPDX-License-Identifier: MIT
/* vmwp's command line. Everything is checked here so bad input fails before any VM exists. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* timegm, tm_gmtoff */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

const char vmwp_usage_text[] =
    "Usage: vmwp --kernel bzImage [--initrd FILE] [--cmdline STR] [--memory SIZE] [--cpus N]\n"
    "            [--console stdio|pty|unix:PATH] [--backend auto|linhv|kvm] [--name N]\n"
    "            [--uuid U] [--control PATH] [--pidfile PATH] [--no-reboot]\n"
    "            [--rtc-base utc|localtime|YYYY-MM-DD[THH:MM:SS]]\n"
    "            [--disk FILE[,readonly][,serial=S][,cache=none|writeback]]... [--nic "
    "tap=NAME|bridge=BR[,mac=MAC][,queues=N]]...\n"
    "            [--assign-pci SSSS:BB:DD.F]...\n"
    "\n"
    "Runs one VM: boots a Linux bzImage directly (64-bit boot protocol) on linhv.ko or KVM.\n"
    "\n"
    "  --kernel FILE   the guest kernel, a bzImage (required)\n"
    "  --initrd FILE   an initramfs loaded next to the kernel\n"
    "  --cmdline STR   the kernel command line (default console=ttyS0)\n"
    "  --memory SIZE   guest RAM, e.g. 512M, 2G; a plain number is MiB (default 512M)\n"
    "  --cpus N        virtual processors, 1-64 (default 1)\n"
    "  --console C     where COM1 goes: stdio (default), pty, or a listening socket unix:PATH\n"
    "  --backend B     the hypervisor: linhv.ko, kvm, or auto (linhv if usable, else kvm)\n"
    "  --name N        the VM's name, used in vmwp's messages\n"
    "  --uuid U        the VM's UUID; VMBus instance GUIDs derive from it (default random)\n"
    "  --control PATH  control socket: shutdown|reboot|pause|resume|status|kvp|quit\n"
    "  --pidfile PATH  write vmwp's pid to PATH (removed at exit)\n"
    "  --no-reboot     exit with status 4 when the guest reboots\n"
    "  --disk FILE     a raw image or block device on the VM's synthetic SCSI controller\n"
    "                  (storvsp); repeat for more: the guest sees sda, sdb, ... in order.\n"
    "                  readonly: writes fail; serial=S: the disk's serial (1-20 chars);\n"
    "                  cache=none: O_DIRECT (the file system must support it),\n"
    "                  cache=writeback (default): the host page cache, flushed when\n"
    "                  the guest flushes. The image is locked against other writers.\n"
    "  --rtc-base B    the CMOS clock at VM start: host UTC (default), host local time,\n"
    "                  or a UTC date such as 2001-01-01 or 2001-01-01T12:00:00; it then\n"
    "                  runs in real time and keeps running across guest reboots\n"
    "  --nic tap=NAME|bridge=BR[,mac=MAC][,queues=N]\n"
    "                  a synthetic network adapter (netvsp) on a tap device or a bridge;\n"
    "                  both: the TAP NAME (created if missing) on the bridge BR;\n"
    "                  repeat for more. The TAP's GSO limit is lowered to 64512 bytes\n"
    "                  while vmwp runs (what the guest's driver takes in one buffer)\n"
    "  --assign-pci SSSS:BB:DD.F\n"
    "                  give the host PCI function at that address to the guest, which\n"
    "                  sees it on its own vPCI bus (pci-hyperv); repeat for more (up to\n"
    "                  8). Needs the linhv backend, an IOMMU, and the device (and its\n"
    "                  IOMMU group) bound to vfio-pci or pci-stub\n"
    "  --help          show this text\n"
    "\n"
    "Exit status: 0 guest powered off, 3 guest crashed, 4 guest rebooted with --no-reboot,\n"
    "1 vmwp's own error, 2 bad usage.\n";

static int err_set(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int vmwp_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1ULL << 20;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		p++;
		break;
	case 'M':
		mult = 1ULL << 20;
		p++;
		break;
	case 'G':
		mult = 1ULL << 30;
		p++;
		break;
	case 'T':
		mult = 1ULL << 40;
		p++;
		break;
	case 'B':
		mult = 1;
		break;
	default:
		return -1;
	}
	if (!strcmp(p, "iB") || !strcmp(p, "B") || !strcmp(p, "b"))
		p += strlen(p);
	if (*p)
		return -1;
	if (v && mult > UINT64_MAX / v)
		return -1;
	*out = v * mult;
	return 0;
}

int vmwp_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -1;
		char hex[3] = {s[0], s[1], 0};

		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	if (*s)
		return -1;
	if (mac[0] & 1)
		return -2; /* multicast: not a station address */
	return 0;
}

bool vmwp_valid_uuid(const char *s)
{
	static const int groups[5] = {8, 4, 4, 4, 12};

	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++)
			if (!isxdigit((unsigned char)*s++))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

int vmwp_uuid_bytes(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	if (!vmwp_valid_uuid(s))
		return -1;
	for (; *s; s++) {
		int v;

		if (*s == '-')
			continue;
		v = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return 0;
}

int vmwp_parse_disk(char *spec, struct vmwp_disk *out, char *err, size_t errlen)
{
	char *opt = strchr(spec, ',');

	memset(out, 0, sizeof(*out));
	out->path = spec;
	if (opt)
		*opt++ = '\0';
	if (!*spec)
		return err_set(err, errlen, "--disk needs a file name");
	while (opt) {
		char *next = strchr(opt, ',');

		if (next)
			*next++ = '\0';
		if (!strcmp(opt, "readonly") || !strcmp(opt, "ro")) {
			out->readonly = true;
		} else if (!strcmp(opt, "cache=none")) {
			out->cache_none = true;
		} else if (!strcmp(opt, "cache=writeback")) {
			out->cache_none = false;
		} else if (!strncmp(opt, "serial=", 7)) {
			const char *v = opt + 7;
			size_t n = strlen(v);

			if (n == 0 || n > 20)
				return err_set(err, errlen,
					       "--disk %s: serial must be 1-20 characters", spec);
			for (size_t i = 0; i < n; i++)
				if (v[i] <= ' ' || v[i] > '~')
					return err_set(err, errlen,
						       "--disk %s: serial must be printable ASCII "
						       "without spaces",
						       spec);
			out->serial = v;
		} else {
			return err_set(err, errlen,
				       "--disk %s: unknown option '%s' (readonly, serial=S, "
				       "cache=none|writeback)",
				       spec, opt);
		}
		opt = next;
	}
	return 0;
}

static int ifname(const char *v, size_t n, char dst[16], const char *what, char *err, size_t errlen)
{
	if (n == 0 || n > 15)
		return err_set(err, errlen, "--nic: %s name must be 1-15 characters", what);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
			return err_set(err, errlen, "--nic: bad character in %s name", what);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int vmwp_parse_nic(const char *spec, struct vmwp_nic *out, char *err, size_t errlen)
{
	const char *p = spec;

	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);

		if (!eq)
			return err_set(err, errlen, "--nic %s: expected key=value", spec);
		size_t kl = (size_t)(eq - p), vl = n - kl - 1;

		if (kl == 3 && !strncmp(p, "tap", 3)) {
			if (ifname(eq + 1, vl, out->tap, "tap", err, errlen))
				return -1;
		} else if (kl == 6 && !strncmp(p, "bridge", 6)) {
			if (ifname(eq + 1, vl, out->bridge, "bridge", err, errlen))
				return -1;
		} else if (kl == 3 && !strncmp(p, "mac", 3)) {
			char mac[32];
			int bad = -1;

			if (vl < sizeof(mac)) {
				memcpy(mac, eq + 1, vl);
				mac[vl] = '\0';
				bad = vmwp_parse_mac(mac, out->mac);
			}
			if (bad == -2)
				return err_set(err, errlen,
					       "--nic: mac %s is multicast; a NIC needs %s", mac,
					       "a unicast address (first byte even)");
			if (bad)
				return err_set(err, errlen, "--nic: bad mac '%.*s' (want %s)",
					       (int)vl, eq + 1,
					       "six hex pairs like 02:00:00:00:00:01");
			out->has_mac = true;
		} else if (kl == 6 && !strncmp(p, "queues", 6)) {
			if (vl != 1 || eq[1] < '1' || eq[1] > '8')
				return err_set(err, errlen, "--nic %s: queues= takes 1 to 8", spec);
			out->queues = (unsigned)(eq[1] - '0');
		} else {
			return err_set(err, errlen, "--nic %s: unknown key '%.*s'", spec, (int)kl,
				       p);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!out->tap[0] && !out->bridge[0])
		return err_set(err, errlen, "--nic %s: give tap=, bridge= or both", spec);
	return 0;
}

/* n digits at *p, advancing it; -1 if not all digits. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int k = 0; k < n; k++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int vmwp_parse_rtc_base(const char *s, enum vmwp_rtc_base *base, int64_t *date)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, dim;
	struct tm tm = {0};
	time_t t;

	if (!strcmp(s, "utc")) {
		*base = VMWP_RTC_UTC;
		*date = 0;
		return 0;
	}
	if (!strcmp(s, "localtime")) {
		*base = VMWP_RTC_LOCALTIME;
		*date = 0;
		return 0;
	}
	y = digits(&p, 4);
	if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 0)
		return -1;
	if (*p == 'T') {
		p++;
		if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0 ||
		    *p++ != ':' || (sec = digits(&p, 2)) < 0)
			return -1;
	}
	if (*p || y < 1970 || mo < 1 || mo > 12)
		return -1;
	dim = mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	if (d < 1 || d > dim || h > 23 || mi > 59 || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < 0)
		return -1;
	*base = VMWP_RTC_DATE;
	*date = (int64_t)t;
	return 0;
}

int64_t vmwp_rtc_offset(const struct vmwp_options *o, time_t now)
{
	struct tm tm;

	switch (o->rtc_base) {
	case VMWP_RTC_LOCALTIME:
		return localtime_r(&now, &tm) ? (int64_t)tm.tm_gmtoff : 0;
	case VMWP_RTC_DATE:
		return o->rtc_date - (int64_t)now;
	default:
		return 0;
	}
}

int vmwp_parse_pci_address(const char *s, char out[16])
{
	unsigned v[4] = {0, 0, 0, 0}, n = 0, max[4] = {0xffff, 0xff, 0x1f, 0x7};
	const char *p = s;
	char seps[4];

	/* Up to four hex fields: [segment:]bus:device.function. */
	while (n < 4) {
		const char *start = p;
		unsigned long x = 0;

		while (isxdigit((unsigned char)*p) && p - start < 4) {
			x = x * 16 + (unsigned long)(isdigit((unsigned char)*p)
							 ? *p - '0'
							 : tolower((unsigned char)*p) - 'a' + 10);
			p++;
		}
		if (p == start || isxdigit((unsigned char)*p))
			return -1;
		v[n] = (unsigned)x;
		seps[n++] = *p;
		if (*p != ':' && *p != '.')
			break;
		p++;
	}
	/* The separators must read ::. (or :. without the segment), then the end. */
	if (n == 4 && !strncmp(seps, "::.", 3) && seps[3] == '\0') {
		/* segment:bus:device.function */
	} else if (n == 3 && seps[0] == ':' && seps[1] == '.' && seps[2] == '\0') {
		v[3] = v[2];
		v[2] = v[1];
		v[1] = v[0];
		v[0] = 0;
	} else {
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if (v[i] > max[i])
			return -1;
	snprintf(out, 16, "%04x:%02x:%02x.%x", v[0], v[1], v[2], v[3]);
	return 0;
}

static const char *const value_opts[] = {
    "kernel", "initrd",	 "cmdline", "memory", "cpus", "console",  "backend",	"name",
    "uuid",   "control", "pidfile", "disk",   "nic",  "rtc-base", "assign-pci", NULL,
};

int vmwp_parse_options(int argc, char **argv, struct vmwp_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->memory = 512ULL << 20;
	o->cpus = 1;
	o->console = VMWP_CONSOLE_STDIO;
	o->backend = WINHV_BACKEND_AUTO;

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i], *val = NULL, *eq;
		char name[32];
		bool takes = false;

		if (strncmp(arg, "--", 2))
			return err_set(err, errlen, "unexpected argument '%s' (see --help)", arg);
		arg += 2;
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		for (int k = 0; value_opts[k]; k++)
			if (!strcmp(name, value_opts[k]))
				takes = true;
		if (!strcmp(name, "help") && !eq)
			return 1;
		if (!strcmp(name, "no-reboot") && !eq) {
			o->no_reboot = true;
			continue;
		}
		if (!takes)
			return err_set(err, errlen, "unknown option '%s' (see --help)", argv[i]);
		if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc)
				return err_set(err, errlen, "option --%s needs a value", name);
			val = argv[++i];
		}
		if (!strcmp(name, "kernel")) {
			o->kernel = val;
		} else if (!strcmp(name, "initrd")) {
			o->initrd = val;
		} else if (!strcmp(name, "cmdline")) {
			o->cmdline = val;
		} else if (!strcmp(name, "memory")) {
			if (vmwp_parse_size(val, &o->memory))
				return err_set(err, errlen,
					       "--memory %s: not a size (e.g. 512M, 2G)", val);
			if (o->memory < VMWP_MIN_MEMORY || o->memory > VMWP_MAX_MEMORY)
				return err_set(err, errlen, "--memory %s: must be 32M to 1T", val);
			o->memory &= ~0x1fffffULL; /* whole 2 MiB pages */
		} else if (!strcmp(name, "cpus")) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(val, &end, 10);
			if (errno || end == val || *end || !isdigit((unsigned char)val[0]) ||
			    n < 1 || n > VMWP_MAX_CPUS)
				return err_set(err, errlen, "--cpus %s: must be 1-%d", val,
					       VMWP_MAX_CPUS);
			o->cpus = (uint32_t)n;
		} else if (!strcmp(name, "console")) {
			if (!strcmp(val, "stdio")) {
				o->console = VMWP_CONSOLE_STDIO;
			} else if (!strcmp(val, "pty")) {
				o->console = VMWP_CONSOLE_PTY;
			} else if (!strncmp(val, "unix:", 5) && val[5]) {
				o->console = VMWP_CONSOLE_UNIX;
				o->console_path = val + 5;
			} else {
				return err_set(err, errlen,
					       "--console %s: expected stdio, pty or unix:PATH",
					       val);
			}
		} else if (!strcmp(name, "backend")) {
			if (WinHvParseBackend(val, &o->backend) ||
			    o->backend == WINHV_BACKEND_LOOPBACK)
				return err_set(err, errlen,
					       "--backend %s: expected auto, linhv or kvm", val);
		} else if (!strcmp(name, "name")) {
			if (!*val || strlen(val) > 64 || strchr(val, '/') || strchr(val, ' '))
				return err_set(err, errlen,
					       "--name: 1-64 characters, no '/' or spaces");
			o->name = val;
		} else if (!strcmp(name, "uuid")) {
			if (!vmwp_valid_uuid(val))
				return err_set(err, errlen, "--uuid %s: not a UUID", val);
			o->uuid = val;
		} else if (!strcmp(name, "control")) {
			o->control = val;
		} else if (!strcmp(name, "pidfile")) {
			o->pidfile = val;
		} else if (!strcmp(name, "rtc-base")) {
			if (vmwp_parse_rtc_base(val, &o->rtc_base, &o->rtc_date))
				return err_set(
				    err, errlen,
				    "--rtc-base %s: expected utc, localtime or a UTC date "
				    "YYYY-MM-DD[THH:MM:SS] (1970-9999)",
				    val);
		} else if (!strcmp(name, "disk")) {
			if (o->ndisks == VMWP_MAX_DISKS)
				return err_set(err, errlen, "at most %d disks", VMWP_MAX_DISKS);
			if (vmwp_parse_disk(val, &o->disks[o->ndisks], err, errlen))
				return -1;
			o->ndisks++;
		} else if (!strcmp(name, "nic")) {
			if (o->nnics == VMWP_MAX_NICS)
				return err_set(err, errlen, "at most %d NICs", VMWP_MAX_NICS);
			if (vmwp_parse_nic(val, &o->nics[o->nnics], err, errlen))
				return -1;
			o->nnics++;
		} else if (!strcmp(name, "assign-pci")) {
			char addr[16];

			if (vmwp_parse_pci_address(val, addr))
				return err_set(err, errlen,
					       "--assign-pci %s: not a PCI address (SSSS:BB:DD.F, "
					       "hex, e.g. 0000:01:00.0)",
					       val);
			for (unsigned k = 0; k < o->nassigned; k++)
				if (!strcmp(o->assigned[k], addr))
					return err_set(err, errlen, "--assign-pci %s: given twice",
						       addr);
			if (o->nassigned == VMWP_MAX_ASSIGNED)
				return err_set(err, errlen, "at most %d --assign-pci devices",
					       VMWP_MAX_ASSIGNED);
			memcpy(o->assigned[o->nassigned++], addr, sizeof(addr));
		}
	}
	if (!o->kernel)
		return err_set(err, errlen, "--kernel is required (see --help)");
	return 0;
}
