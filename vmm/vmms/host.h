/* host.h: facts about the host for hostname, nodeinfo and capabilities. */
#ifndef VMMS_HOST_H
#define VMMS_HOST_H

#include <stdint.h>

struct host_info {
	char model[32];	     /* uname machine, e.g. "x86_64" */
	uint64_t memory_kib; /* MemTotal */
	int cpus, mhz, nodes, sockets, cores, threads;
};

int host_info(struct host_info *hi);
/* Capabilities XML (malloc'd). WORKER is the vmwp path shown as emulator. */
char *host_capabilities(const char *worker);
/* Host UUID derived from /etc/machine-id, "" if there is none. */
void host_uuid(char out[37]);

#endif
