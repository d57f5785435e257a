/* stats.h: domain statistics as libvirt reports them: the typed-parameter
 * groups of virConnectGetAllDomainStats (state, cpu, balloon, vcpu, net,
 * block) and the per-device counters vmwp returns for its "stats" control
 * request (storvsp per disk, netvsp per NIC). */
#ifndef VMMS_STATS_H
#define VMMS_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "domxml.h"
#include "vmms_protocol.h"

struct domain;

#define STATS_MAX_BLK 64
#define STATS_MAX_NET 8

/* rd_req, rd_bytes, wr_req, wr_bytes, errs */
struct stats_blk {
	uint64_t v[5];
};
/* rx_bytes, rx_pkts, rx_errs, rx_drop, tx_bytes, tx_pkts, tx_errs, tx_drop */
struct stats_net {
	uint64_t v[8];
};
struct stats_dev {
	bool valid; /* the worker answered */
	unsigned nblk, nnet;
	struct stats_blk blk[STATS_MAX_BLK];
	struct stats_net net[STATS_MAX_NET];
};

/* Parses vmwp's "ok blk0=... net0=..." reply; -1 if it is not one. Counters
 * for devices the reply leaves out stay zero. */
int stats_parse(const char *reply, struct stats_dev *out);

/* The groups vmms reports (VIR_DOMAIN_STATS_*). */
#define STATS_SUPPORTED                                                                            \
	(VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |          \
	 VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK)

/* Fills REC's typed parameters with GROUPS for D; DEV (may be NULL or not
 * valid) has its device counters. Returns -1 when out of memory. */
int stats_record(const struct domain *d, unsigned groups, const struct stats_dev *dev,
		 struct vmms_stats_record *rec);

/* The disk a domblkstat path names (target "sda" or the source file), or -1. */
int stats_disk_index(const struct dom_def *def, const char *path);
/* The NIC a domifstat path names (its tap name or MAC), or -1. */
int stats_nic_index(const struct dom_def *def, const char *path);
/* How a NIC is named in the statistics: its tap, else its MAC. */
const char *stats_nic_name(const struct dom_nic *nic);

/* CPU time of process PID in ns (user, system); zeros if it is gone. */
void stats_cpu(pid_t pid, uint64_t *user_ns, uint64_t *sys_ns);
/* Resident memory of process PID in KiB, 0 if unknown. */
uint64_t stats_rss_kib(pid_t pid);

#endif
