// SPDX-License-Identifier: MIT
/* vsc_platform over the libwinhv loopback backend (vsc/loopback.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linhv/winhv_loopback.h>
#include <vsc/loopback.h>

#include "evloop.h"

#define PAGE 4096u

static void *lb_map(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vsc_loopback *lb = ctx;

	return WinHvGpaToHva(lb->partition, gpa, len);
}

static int lb_alloc(void *ctx, uint32_t count, uint64_t *gpa)
{
	struct vsc_loopback *lb = ctx;
	uint64_t pages = lb->ram_size / PAGE, run = 0;

	for (uint64_t i = 0; i < pages && count; i++) {
		run = lb->page_used[i] ? 0 : run + 1;
		if (run == count) {
			uint64_t first = i + 1 - count;

			memset(lb->page_used + first, 1, count);
			memset(lb->ram + first * PAGE, 0, (size_t)count * PAGE);
			*gpa = VSC_LOOPBACK_RAM_GPA + first * PAGE;
			return 0;
		}
	}
	return -1;
}

static void lb_free(void *ctx, uint64_t gpa, uint32_t count)
{
	struct vsc_loopback *lb = ctx;
	uint64_t first = (gpa - VSC_LOOPBACK_RAM_GPA) / PAGE;

	if (gpa >= VSC_LOOPBACK_RAM_GPA && first + count <= lb->ram_size / PAGE)
		memset(lb->page_used + first, 0, count);
}

static void lb_setup_synic(void *ctx, uint64_t simp, uint64_t siefp, uint32_t sint)
{
	struct vsc_loopback *lb = ctx;

	WinHvLoopbackGuestSetSynicPages(lb->partition, lb->plat.vp_index, simp, siefp);
	WinHvLoopbackGuestSetSint(lb->partition, lb->plat.vp_index, sint, 0xf3, !simp);
}

static uint32_t lb_post(void *ctx, uint32_t connection_id, const void *payload, uint32_t size)
{
	struct vsc_loopback *lb = ctx;
	struct hv_input_post_message in;

	memset(&in, 0, sizeof(in));
	in.connection_id = connection_id;
	in.message_type = 1;
	in.payload_size = size;
	memcpy(in.payload, payload, size > sizeof(in.payload) ? sizeof(in.payload) : size);
	return (uint32_t)WinHvLoopbackGuestPostMessage(lb->partition, lb->plat.vp_index, &in);
}

static uint32_t lb_signal(void *ctx, uint32_t connection_id)
{
	struct vsc_loopback *lb = ctx;

	return (uint32_t)WinHvLoopbackGuestSignalEvent(lb->partition, lb->plat.vp_index,
						       connection_id, 0);
}

static void lb_eom(void *ctx)
{
	struct vsc_loopback *lb = ctx;

	WinHvLoopbackGuestEom(lb->partition, lb->plat.vp_index);
}

static bool lb_wait(void *ctx)
{
	struct vsc_loopback *lb = ctx;

	lb->waits++;
	if (lb->pump)
		evloop_run_once(lb->pump, lb->pump_timeout_ms);
	WinHvLoopbackGuestWaitInterrupt(lb->partition, lb->plat.vp_index, lb->pump ? 0 : 10, NULL);
	return true;
}

int vsc_loopback_create(struct vsc_loopback *lb, uint32_t vp_count, uint64_t ram_size, uint32_t vp,
			struct evloop *pump)
{
	struct winhv_partition_params params = {.backend = WINHV_BACKEND_LOOPBACK,
						.max_vps = vp_count};
	int ret;

	memset(lb, 0, sizeof(*lb));
	ram_size = (ram_size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	ret = WinHvCreatePartition(&params, &lb->partition);
	if (ret)
		return ret;
	lb->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lb->page_used = calloc(ram_size / PAGE, 1);
	if (lb->ram == MAP_FAILED || !lb->page_used) {
		ret = -ENOMEM;
		goto fail;
	}
	lb->ram_size = ram_size;
	ret = WinHvMapGpaPages(lb->partition, VSC_LOOPBACK_RAM_GPA, lb->ram, ram_size,
			       HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE);
	if (ret)
		goto fail;
	lb->pump = pump;
	lb->pump_timeout_ms = 1;
	lb->plat = (struct vsc_platform){
	    .ctx = lb,
	    .vp_index = vp,
	    .map = lb_map,
	    .alloc_pages = lb_alloc,
	    .free_pages = lb_free,
	    .setup_synic = lb_setup_synic,
	    .post_message = lb_post,
	    .signal_event = lb_signal,
	    .eom = lb_eom,
	    .wait = lb_wait,
	};
	return 0;
fail:
	if (lb->ram && lb->ram != MAP_FAILED)
		munmap(lb->ram, ram_size);
	free(lb->page_used);
	WinHvDeletePartition(lb->partition);
	memset(lb, 0, sizeof(*lb));
	return ret;
}

void vsc_loopback_destroy(struct vsc_loopback *lb)
{
	WinHvDeletePartition(lb->partition);
	if (lb->ram)
		munmap(lb->ram, lb->ram_size);
	free(lb->page_used);
	memset(lb, 0, sizeof(*lb));
}

uint32_t vsc_loopback_pages_in_use(const struct vsc_loopback *lb)
{
	uint32_t n = 0;

	for (uint64_t i = 0; i < lb->ram_size / PAGE; i++)
		n += lb->page_used[i];
	return n;
}
