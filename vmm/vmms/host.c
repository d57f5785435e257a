/* host.c: see host.h. Everything is read from /proc and /sys at call time. */
#include "host.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "store.h"

static long read_long(const char *path)
{
	char *t = read_file(path, 64);
	long v = t ? strtol(t, NULL, 10) : -1;
	free(t);
	return v;
}

/* Counts distinct values of topology file NAME over online CPUs. */
static int count_distinct(const char *name, long cpu_filter_pkg)
{
	long seen[1024];
	int nseen = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	for (long cpu = 0; cpu < ncpu && cpu < 4096; cpu++) {
		char p[128];
		snprintf(p, sizeof(p),
			 "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", cpu);
		long pkg = read_long(p);
		if (cpu_filter_pkg >= 0 && pkg != cpu_filter_pkg)
			continue;
		snprintf(p, sizeof(p), "/sys/devices/system/cpu/cpu%ld/topology/%s", cpu, name);
		long v = read_long(p);
		if (v < 0)
			continue;
		bool dup = false;
		for (int i = 0; i < nseen; i++)
			if (seen[i] == v)
				dup = true;
		if (!dup && nseen < 1024)
			seen[nseen++] = v;
	}
	return nseen;
}

int host_info(struct host_info *hi)
{
	memset(hi, 0, sizeof(*hi));
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(hi->model, sizeof(hi->model), "%.31s", u.machine);
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[256];
		unsigned long long kb;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
				hi->memory_kib = kb;
		fclose(f);
	}
	hi->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/proc/cpuinfo", "re");
	if (f) {
		char line[256];
		double mhz;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
				hi->mhz = (int)mhz;
				break;
			}
		fclose(f);
	}
	int nodes = 0;
	DIR *d = opendir("/sys/devices/system/node");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' &&
			    e->d_name[4] <= '9')
				nodes++;
		closedir(d);
	}
	hi->nodes = nodes > 0 ? nodes : 1;
	int sockets = count_distinct("physical_package_id", -1);
	hi->sockets = sockets > 0 ? sockets : 1;
	/* libvirt reports sockets per NUMA node */
	if (hi->sockets >= hi->nodes && hi->sockets % hi->nodes == 0)
		hi->sockets /= hi->nodes;
	int cores = count_distinct("core_id", 0);
	hi->cores = cores > 0 ? cores : hi->cpus;
	int per = hi->nodes * hi->sockets * hi->cores;
	hi->threads = per > 0 && hi->cpus % per == 0 && hi->cpus / per > 0 ? hi->cpus / per : 1;
	return 0;
}

void host_uuid(char out[37])
{
	out[0] = 0;
	char *id = read_file("/etc/machine-id", 128);
	if (!id)
		return;
	if (strlen(id) >= 32)
		snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16,
			 id + 20);
	free(id);
}

char *host_capabilities(const char *worker)
{
	char uuid[37];
	host_uuid(uuid);
	struct host_info hi;
	host_info(&hi);
	char *out = NULL;
	int rc = asprintf(&out,
			  "<capabilities>\n"
			  "  <host>\n"
			  "%s%s%s"
			  "    <cpu>\n"
			  "      <arch>%s</arch>\n"
			  "      <topology sockets='%d' dies='1' cores='%d' threads='%d'/>\n"
			  "    </cpu>\n"
			  "    <migration_features/>\n"
			  "  </host>\n"
			  "  <guest>\n"
			  "    <os_type>hvm</os_type>\n"
			  "    <arch name='x86_64'>\n"
			  "      <wordsize>64</wordsize>\n"
			  "      <emulator>%s</emulator>\n"
			  "      <domain type='linhv'/>\n"
			  "    </arch>\n"
			  "    <features>\n"
			  "      <acpi default='on' toggle='no'/>\n"
			  "      <apic default='on' toggle='no'/>\n"
			  "    </features>\n"
			  "  </guest>\n"
			  "</capabilities>\n",
			  uuid[0] ? "    <uuid>" : "", uuid, uuid[0] ? "</uuid>\n" : "", hi.model,
			  hi.sockets * hi.nodes, hi.cores, hi.threads,
			  worker && *worker ? worker : "vmwp");
	return rc < 0 ? NULL : out;
}
