// SPDX-License-Identifier: MIT
/* Hosting the VMBus server and the ICs (the sequence at the end of docs/vmbus.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linhv/ic_proto.h>
#include <linhv/winhv_synic.h>

#include "ic_heartbeat.h"
#include "ic_kvp.h"
#include "ic_shutdown.h"
#include "ic_timesync.h"
#include "netvsp.h"
#include "tap.h"
#include "storvsp.h"
#include "vmbus_host.h"
#include "vmbus_server.h"

struct vmbus_host {
	struct vmbus_server *server;
	struct ic_heartbeat *hb;
	struct ic_shutdown *sd;
	struct ic_timesync *ts;
	struct ic_kvp *kvp;
	uint8_t vm_id[16];
	struct netvsp *nics[8];
	struct tap *taps[8];
	uint8_t macs[8][6];
	struct storvsp *scsi;
	bool alive_seen, missed;
};

struct vmbus_guid vmbus_host_instance(const uint8_t vm_id[16], enum vmbus_host_kind kind,
				      uint16_t slot)
{
	struct vmbus_guid g;

	/*
	 * The VM's UUID with (kind, slot) folded into bytes that a UUID's
	 * version/variant leave alone: distinct per device, stable per VM.
	 */
	memcpy(g.b, vm_id, 16);
	g.b[4] ^= (uint8_t)kind;
	g.b[5] ^= 0x4c; /* never the VM's own UUID */
	g.b[10] ^= (uint8_t)(slot >> 8);
	g.b[11] ^= (uint8_t)slot;
	return g;
}

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "vmwp: %s\n", line); /* the server prefixes "vmbus: " */
}

static void on_hb(void *ctx, bool alive, uint64_t seq)
{
	struct vmbus_host *h = ctx;

	(void)seq;
	if (alive) {
		h->alive_seen = true;
		h->missed = false;
	} else {
		h->missed = true;
	}
}

static void on_sd_result(void *ctx, uint32_t status)
{
	(void)ctx;
	if (status != IC_S_OK)
		fprintf(stderr, "vmwp: the guest refused the shutdown request (status %#x)\n",
			status);
}

int vmbus_host_create(const struct vmbus_host_params *params, struct vmbus_host **out)
{
	struct evloop *loop = params->loop;
	struct winhv_partition *p = params->partition;
	uint32_t nr_vps = params->nr_vps;
	const uint8_t *id = params->vm_id;
	struct vmbus_host *h;
	int fd = WinHvGetPostedMessageFd(p);

	*out = NULL;
	if (fd == -ENOSYS)
		return -ENOSYS;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	memcpy(h->vm_id, id, sizeof(h->vm_id));
	struct vmbus_server_params sp = {
	    .partition = p, .loop = loop, .vp_count = nr_vps, .log = log_line};
	if (vmbus_server_create(&sp, &h->server))
		goto fail;
	struct ic_heartbeat_params hp = {.server = h->server,
					 .loop = loop,
					 .instance =
					     vmbus_host_instance(id, VMBUS_HOST_IC_HEARTBEAT, 0),
					 .on_status = on_hb,
					 .ctx = h};
	struct ic_shutdown_params dp = {.server = h->server,
					.loop = loop,
					.instance =
					    vmbus_host_instance(id, VMBUS_HOST_IC_SHUTDOWN, 0),
					.on_result = on_sd_result,
					.ctx = h};
	struct ic_timesync_params tp = {.server = h->server,
					.loop = loop,
					.instance =
					    vmbus_host_instance(id, VMBUS_HOST_IC_TIMESYNC, 0)};
	struct ic_kvp_params kp = {.server = h->server,
				   .loop = loop,
				   .instance = vmbus_host_instance(id, VMBUS_HOST_IC_KVP, 0),
				   .refresh_ms = 5000};
	if (ic_heartbeat_create(&hp, &h->hb) || ic_shutdown_create(&dp, &h->sd) ||
	    ic_timesync_create(&tp, &h->ts) || ic_kvp_create(&kp, &h->kvp))
		goto fail;
	if (params->ndisks) {
		struct storvsp_params sp = {
		    .server = h->server,
		    .instance = vmbus_host_instance(id, VMBUS_HOST_SCSI, 0),
		    .disks = params->disks,
		    .ndisks = params->ndisks,
		    .nr_vps = nr_vps,
		};
		int ret = storvsp_create(&sp, &h->scsi);

		if (ret) {
			fprintf(stderr, "vmwp: the SCSI controller could not be created: %s\n",
				strerror(-ret));
			goto fail;
		}
	}
	*out = h;
	return 0;
fail:
	vmbus_host_destroy(h);
	return -EIO;
}

struct vmbus_server *vmbus_host_server(struct vmbus_host *h)
{
	return h->server;
}

static void on_link(void *ctx, bool up)
{
	netvsp_set_link(ctx, up);
}

int vmbus_host_add_nic(struct vmbus_host *h, struct tap *tap, const uint8_t mac[6], unsigned slot)
{
	struct netvsp_params np = {.server = h->server,
				   .instance = vmbus_host_instance(h->vm_id, VMBUS_HOST_NIC, slot),
				   .mtu = tap_mtu(tap),
				   .fd = tap_fd(tap),
				   .link_up = tap_link_up(tap)};
	int qfds[NETVSP_MAX_QUEUES];
	int ret;

	np.nqueues = tap_queues(tap) < NETVSP_MAX_QUEUES ? tap_queues(tap) : NETVSP_MAX_QUEUES;
	for (unsigned i = 1; i < np.nqueues; i++)
		qfds[i - 1] = tap_queue_fd(tap, i);
	np.queue_fds = qfds;

	if (slot >= 8 || h->nics[slot])
		return -EINVAL;
	memcpy(np.mac, mac, 6);
	ret = netvsp_create(&np, &h->nics[slot]);
	if (ret)
		return ret;
	h->taps[slot] = tap;
	memcpy(h->macs[slot], mac, 6);
	tap_on_link(tap, on_link, h->nics[slot]);
	/* The guest's addresses on this NIC, by MAC, through KVP. */
	ic_kvp_watch_adapter(h->kvp, slot, mac);
	return 0;
}

void vmbus_host_destroy(struct vmbus_host *h)
{
	if (!h)
		return;
	/* First: its drain completes the I/O in flight while guest RAM is mapped. */
	if (h->scsi)
		storvsp_destroy(h->scsi);
	for (unsigned i = 0; i < 8; i++) {
		if (h->taps[i])
			tap_on_link(h->taps[i], NULL, NULL);
		netvsp_destroy(h->nics[i]);
	}
	if (h->kvp)
		ic_kvp_destroy(h->kvp);
	if (h->ts)
		ic_timesync_destroy(h->ts);
	if (h->sd)
		ic_shutdown_destroy(h->sd);
	if (h->hb)
		ic_heartbeat_destroy(h->hb);
	if (h->server)
		vmbus_server_destroy(h->server);
	free(h);
}

int vmbus_host_shutdown(struct vmbus_host *h, bool reboot, char *err, size_t len)
{
	int ret;

	if (!h || !ic_shutdown_ready(h->sd)) {
		snprintf(err, len, "the guest's shutdown integration service is not running");
		return -1;
	}
	ret = ic_shutdown_request(h->sd, reboot ? IC_SHUTDOWN_FLAG_REBOOT : 0, 0,
				  reboot ? "vmwp: reboot requested" : "vmwp: shutdown requested");
	if (ret) {
		snprintf(err, len, "the shutdown request could not be sent (%s)", strerror(-ret));
		return -1;
	}
	return 0;
}

const char *vmbus_host_heartbeat(struct vmbus_host *h)
{
	if (!h || !h->alive_seen)
		return "unknown";
	return h->missed ? "unresponsive" : "ok";
}

void vmbus_host_ifaddrs(struct vmbus_host *h, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; h && i < 8 && at < len; i++) {
		struct ic_kvp_addr a[IC_KVP_MAX_ADAPTER_ADDRS];
		const uint8_t *m = h->macs[i];
		int n = h->nics[i]
			    ? ic_kvp_get_adapter_addrs(h->kvp, i, a, IC_KVP_MAX_ADAPTER_ADDRS)
			    : -1;

		if (n < 0)
			continue;
		at += (size_t)snprintf(buf + at, len - at,
				       "%s%02x:%02x:%02x:%02x:%02x:%02x=", at ? " " : "", m[0],
				       m[1], m[2], m[3], m[4], m[5]);
		for (int j = 0; j < n && at < len; j++)
			at += (size_t)snprintf(buf + at, len - at, "%s%s/%u", j ? "," : "",
					       a[j].text, a[j].prefix);
	}
	if (at >= len)
		buf[0] = '\0'; /* never half a list */
}

void vmbus_host_kvp_value(struct vmbus_host *h, const char *key, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!h || ic_kvp_get_guest_value(h->kvp, key, buf, len))
		buf[0] = '\0';
	for (unsigned char *p = (unsigned char *)buf; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			*p = '_';
}

/* Append s percent-encoded; false when it does not fit. */
static bool put_encoded(char *buf, size_t len, size_t *at, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool esc = *p <= ' ' || *p == 0x7f || *p == '%' || *p == '=';

		if (*at + (esc ? 3 : 1) >= len)
			return false;
		if (esc) {
			buf[(*at)++] = '%';
			buf[(*at)++] = hex[*p >> 4];
			buf[(*at)++] = hex[*p & 15];
		} else {
			buf[(*at)++] = (char)*p;
		}
	}
	return true;
}

unsigned vmbus_host_kvp_dump(struct vmbus_host *h, char *buf, size_t len)
{
	const size_t room = len > 8 ? len - 4 : 0; /* the rest is for " ..." */
	const char *key, *value;
	size_t at = 0;
	unsigned n = 0;

	if (len)
		buf[0] = '\0';
	for (uint32_t i = 0; room && h && !ic_kvp_get_guest_pair(h->kvp, i, &key, &value); i++) {
		size_t mark = at;
		bool ok = true;

		if (at && at + 1 < room)
			buf[at++] = ' ';
		else if (at)
			ok = false;
		ok = ok && put_encoded(buf, room, &at, key) && at + 1 < room;
		if (ok)
			buf[at++] = '=';
		ok = ok && put_encoded(buf, room, &at, value);
		if (!ok) {
			at = mark;
			memcpy(buf + at, " ...", 4);
			at += 4;
			break;
		}
		n++;
	}
	if (room)
		buf[at] = '\0';
	return n;
}

void vmbus_host_io_stats(struct vmbus_host *h, unsigned ndisks, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; h && i < ndisks && n < len; i++) {
		struct storvsp_lun_stats st = {0};

		storvsp_get_stats(h->scsi, i, &st);
		n +=
		    (size_t)snprintf(buf + n, len - n, "%sblk%u=%llu:%llu:%llu:%llu:%llu",
				     n ? " " : "", i, (unsigned long long)st.rd_req,
				     (unsigned long long)st.rd_bytes, (unsigned long long)st.wr_req,
				     (unsigned long long)st.wr_bytes, (unsigned long long)st.errs);
	}
	for (unsigned i = 0; h && i < 8 && n < len; i++) {
		struct netvsp_stats st;

		if (!h->nics[i])
			continue;
		netvsp_get_stats(h->nics[i], &st);
		/* As libvirt counts them: rx is what the guest received. */
		n += (size_t)snprintf(
		    buf + n, len - n, "%snet%u=%llu:%llu:0:%llu:%llu:%llu:0:%llu", n ? " " : "", i,
		    (unsigned long long)st.rx_bytes, (unsigned long long)st.rx_frames,
		    (unsigned long long)st.rx_dropped, (unsigned long long)st.tx_bytes,
		    (unsigned long long)st.tx_frames, (unsigned long long)st.tx_dropped);
	}
	if (n >= len && len > 4)
		snprintf(buf + len - 5, 5, " ...");
}
