// SPDX-License-Identifier: MIT
/*
 * libwinhv common code: backend selection, argument checks, the GPA map that
 * every backend shares (for WinHvGpaToHva), and error reporting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winhv_backend.h"

static __thread char last_error[512];

int winhv_set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *WinHvLastError(void)
{
	return last_error[0] ? last_error : "no error";
}

static const struct winhv_backend_ops *backend_ops(enum winhv_backend b)
{
	switch (b) {
	case WINHV_BACKEND_LINHV:
		return &winhv_linhv_ops;
	case WINHV_BACKEND_LOOPBACK:
		return &winhv_loopback_ops;
	case WINHV_BACKEND_KVM:
		return &winhv_kvm_ops;
	default:
		return NULL; /* kvm and loopback are added with their backends */
	}
}

int WinHvParseBackend(const char *name, enum winhv_backend *out)
{
	static const struct {
		const char *name;
		enum winhv_backend b;
	} names[] = {
		{"auto", WINHV_BACKEND_AUTO},
		{"linhv", WINHV_BACKEND_LINHV},
		{"kvm", WINHV_BACKEND_KVM},
		{"loopback", WINHV_BACKEND_LOOPBACK},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i].name)) {
			*out = names[i].b;
			return 0;
		}
	}
	return -1;
}

const char *WinHvBackendName(enum winhv_backend b)
{
	switch (b) {
	case WINHV_BACKEND_AUTO:
		return "auto";
	case WINHV_BACKEND_LINHV:
		return "linhv";
	case WINHV_BACKEND_KVM:
		return "kvm";
	case WINHV_BACKEND_LOOPBACK:
		return "loopback";
	}
	return "unknown";
}

const char *WinHvVendorName(uint32_t vendor)
{
	switch (vendor) {
	case LINHV_VENDOR_SVM:
		return "SVM";
	case LINHV_VENDOR_VMX:
		return "VMX";
	default:
		return "none";
	}
}

void WinHvFeatureNames(uint64_t f, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{LINHV_FEAT_NPT, "NPT"},
		{LINHV_FEAT_EPT, "EPT"},
		{LINHV_FEAT_NRIP_SAVE, "nrip_save"},
		{LINHV_FEAT_DECODE_ASSISTS, "decode_assists"},
		{LINHV_FEAT_FLUSH_BY_ASID, "flush_by_asid"},
		{LINHV_FEAT_VMCB_CLEAN, "vmcb_clean"},
		{LINHV_FEAT_PAUSE_FILTER, "pause_filter"},
		{LINHV_FEAT_AVIC, "AVIC"},
		{LINHV_FEAT_VGIF, "vGIF"},
		{LINHV_FEAT_VPID, "VPID"},
		{LINHV_FEAT_UNRESTRICTED_GUEST, "unrestricted_guest"},
		{LINHV_FEAT_APICV, "APICv"},
		{LINHV_FEAT_LBRV, "LBRV"},
		{LINHV_FEAT_TSC_SCALING, "tsc_scaling"},
		{LINHV_FEAT_DEVICE_DOMAIN, "device_domain"},
		{LINHV_FEAT_DEVICE_INTERRUPT, "device_interrupt"},
		{LINHV_FEAT_CAN_RUN, "can_run_guests"},
	};
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(f & names[i].bit))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

const char *WinHvStatusString(int status)
{
	if (status < 0)
		return strerror(-status);
	switch (status) {
	case HV_STATUS_SUCCESS:
		return "HV_STATUS_SUCCESS";
	case HV_STATUS_INVALID_HYPERCALL_CODE:
		return "HV_STATUS_INVALID_HYPERCALL_CODE";
	case HV_STATUS_INVALID_HYPERCALL_INPUT:
		return "HV_STATUS_INVALID_HYPERCALL_INPUT";
	case HV_STATUS_INVALID_ALIGNMENT:
		return "HV_STATUS_INVALID_ALIGNMENT";
	case HV_STATUS_INVALID_PARAMETER:
		return "HV_STATUS_INVALID_PARAMETER";
	case HV_STATUS_ACCESS_DENIED:
		return "HV_STATUS_ACCESS_DENIED";
	case HV_STATUS_INVALID_PARTITION_STATE:
		return "HV_STATUS_INVALID_PARTITION_STATE";
	case HV_STATUS_OPERATION_DENIED:
		return "HV_STATUS_OPERATION_DENIED";
	case HV_STATUS_UNKNOWN_PROPERTY:
		return "HV_STATUS_UNKNOWN_PROPERTY";
	case HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE:
		return "HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE";
	case HV_STATUS_INSUFFICIENT_MEMORY:
		return "HV_STATUS_INSUFFICIENT_MEMORY";
	case HV_STATUS_INVALID_VP_INDEX:
		return "HV_STATUS_INVALID_VP_INDEX";
	case HV_STATUS_NOT_FOUND:
		return "HV_STATUS_NOT_FOUND";
	case HV_STATUS_INVALID_PORT_ID:
		return "HV_STATUS_INVALID_PORT_ID";
	case HV_STATUS_INVALID_CONNECTION_ID:
		return "HV_STATUS_INVALID_CONNECTION_ID";
	case HV_STATUS_INSUFFICIENT_BUFFERS:
		return "HV_STATUS_INSUFFICIENT_BUFFERS";
	case HV_STATUS_INVALID_VP_STATE:
		return "HV_STATUS_INVALID_VP_STATE";
	case HV_STATUS_OBJECT_IN_USE:
		return "HV_STATUS_OBJECT_IN_USE";
	case HV_STATUS_FEATURE_UNAVAILABLE:
		return "HV_STATUS_FEATURE_UNAVAILABLE";
	case HV_STATUS_TIME_OUT:
		return "HV_STATUS_TIME_OUT";
	default:
		return "HV_STATUS_(unknown)";
	}
}

int WinHvGetCapabilities(enum winhv_backend backend, struct winhv_caps *caps)
{
	const struct winhv_backend_ops *ops;

	memset(caps, 0, sizeof(*caps));
	if (backend == WINHV_BACKEND_AUTO) {
		/* Prefer the module; remember its error if nothing else works. */
		char first[sizeof(last_error)];
		int ret = WinHvGetCapabilities(WINHV_BACKEND_LINHV, caps);

		if (!ret)
			return 0;
		snprintf(first, sizeof(first), "%s", last_error);
		if (backend_ops(WINHV_BACKEND_KVM) && !WinHvGetCapabilities(WINHV_BACKEND_KVM, caps))
			return 0;
		return winhv_set_error(ret, "%s", first);
	}
	ops = backend_ops(backend);
	if (!ops)
		return winhv_set_error(-ENOSYS, "the %s backend is not built into this libwinhv",
				       WinHvBackendName(backend));
	caps->backend = backend;
	return ops->get_caps(caps);
}

/* ---- Partitions ---- */

int WinHvCreatePartition(const struct winhv_partition_params *params, struct winhv_partition **out)
{
	struct winhv_partition_params pp = *params;
	struct winhv_partition *p;
	int ret;

	*out = NULL;
	if (pp.backend == WINHV_BACKEND_AUTO) {
		struct winhv_caps caps;

		ret = WinHvGetCapabilities(WINHV_BACKEND_AUTO, &caps);
		if (ret)
			return ret;
		pp.backend = caps.backend;
	}
	if (!backend_ops(pp.backend))
		return winhv_set_error(-ENOSYS, "the %s backend is not built into this libwinhv",
				       WinHvBackendName(pp.backend));
	if (pp.max_vps == 0 || pp.max_vps > 256)
		return winhv_set_error(-EINVAL, "max_vps must be 1..256 (got %u)", pp.max_vps);

	p = calloc(1, sizeof(*p));
	if (!p)
		return winhv_set_error(-ENOMEM, "out of memory");
	p->vps = calloc(pp.max_vps, sizeof(*p->vps));
	if (!p->vps) {
		free(p);
		return winhv_set_error(-ENOMEM, "out of memory");
	}
	p->backend = pp.backend;
	p->ops = backend_ops(pp.backend);
	p->max_vps = pp.max_vps;
	pthread_rwlock_init(&p->regions_lock, NULL);
	ret = p->ops->create_partition(p, &pp);
	if (ret) {
		free(p->vps);
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void WinHvDeletePartition(struct winhv_partition *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->max_vps; i++) {
		if (p->vps[i]) {
			p->ops->delete_vp(p->vps[i]);
			free(p->vps[i]);
		}
	}
	p->ops->delete_partition(p);
	pthread_rwlock_destroy(&p->regions_lock);
	free(p->vps);
	free(p);
}

enum winhv_backend WinHvPartitionBackend(const struct winhv_partition *p)
{
	return p->backend;
}

int WinHvSetCpuidPolicy(struct winhv_partition *p, const struct linhv_cpuid_entry *e, uint32_t n)
{
	if (n > LINHV_MAX_CPUID_ENTRIES)
		return winhv_set_error(-E2BIG, "at most %d CPUID entries", LINHV_MAX_CPUID_ENTRIES);
	return p->ops->set_cpuid ? p->ops->set_cpuid(p, e, n) : -ENOSYS;
}

int WinHvSetMsrForward(struct winhv_partition *p, const uint32_t *msrs, uint32_t n)
{
	if (n > LINHV_MAX_MSR_FORWARD)
		return winhv_set_error(-E2BIG, "at most %d forwarded MSRs", LINHV_MAX_MSR_FORWARD);
	return p->ops->set_msr_forward ? p->ops->set_msr_forward(p, msrs, n) : -ENOSYS;
}

int WinHvSetIoPortPolicy(struct winhv_partition *p, const struct linhv_io_port_range *r,
			 uint32_t n)
{
	if (n > LINHV_MAX_IO_PORT_RANGES)
		return winhv_set_error(-E2BIG, "at most %d I/O port ranges",
				       LINHV_MAX_IO_PORT_RANGES);
	return p->ops->set_io_ports ? p->ops->set_io_ports(p, r, n) : -ENOSYS;
}

int WinHvInitializePartition(struct winhv_partition *p)
{
	return p->ops->initialize ? p->ops->initialize(p) : 0;
}

/* ---- Guest memory ---- */

static int overlaps(const struct winhv_region *r, uint64_t gpa, uint64_t bytes)
{
	return gpa < r->gpa + r->bytes && r->gpa < gpa + bytes;
}

int WinHvMapGpaPages(struct winhv_partition *p, uint64_t gpa, void *hva, uint64_t bytes,
		     uint32_t flags)
{
	int ret;

	if ((gpa | bytes | (uintptr_t)hva) & 0xfff || !bytes || gpa + bytes < gpa)
		return winhv_set_error(HV_STATUS_INVALID_ALIGNMENT,
				       "GPA, size and address must be page aligned and non-empty");
	pthread_rwlock_wrlock(&p->regions_lock);
	for (uint32_t i = 0; i < p->nr_regions; i++) {
		if (overlaps(&p->regions[i], gpa, bytes)) {
			pthread_rwlock_unlock(&p->regions_lock);
			return winhv_set_error(HV_STATUS_INVALID_PARAMETER,
					       "GPA range %#llx+%#llx overlaps a mapping",
					       (unsigned long long)gpa, (unsigned long long)bytes);
		}
	}
	if (p->nr_regions == WINHV_MAX_REGIONS) {
		pthread_rwlock_unlock(&p->regions_lock);
		return winhv_set_error(HV_STATUS_INSUFFICIENT_MEMORY, "too many GPA mappings");
	}
	ret = p->ops->map(p, gpa, hva, bytes, flags);
	if (!ret)
		p->regions[p->nr_regions++] =
			(struct winhv_region){.gpa = gpa, .bytes = bytes, .hva = hva, .flags = flags};
	pthread_rwlock_unlock(&p->regions_lock);
	return ret;
}

int WinHvUnmapGpaPages(struct winhv_partition *p, uint64_t gpa, uint64_t bytes)
{
	int ret;

	pthread_rwlock_wrlock(&p->regions_lock);
	for (uint32_t i = 0; i < p->nr_regions; i++) {
		if (p->regions[i].gpa == gpa && p->regions[i].bytes == bytes) {
			ret = p->ops->unmap(p, gpa, bytes);
			if (!ret)
				p->regions[i] = p->regions[--p->nr_regions];
			pthread_rwlock_unlock(&p->regions_lock);
			return ret;
		}
	}
	pthread_rwlock_unlock(&p->regions_lock);
	return winhv_set_error(HV_STATUS_INVALID_PARAMETER, "no mapping at exactly that GPA range");
}

void *WinHvGpaToHva(struct winhv_partition *p, uint64_t gpa, uint64_t len)
{
	void *hva = NULL;

	if (gpa + len < gpa)
		return NULL;
	pthread_rwlock_rdlock(&p->regions_lock);
	for (uint32_t i = 0; i < p->nr_regions; i++) {
		const struct winhv_region *r = &p->regions[i];

		if (gpa >= r->gpa && gpa + len <= r->gpa + r->bytes) {
			hva = r->hva + (gpa - r->gpa);
			break;
		}
	}
	pthread_rwlock_unlock(&p->regions_lock);
	return hva;
}

/* ---- Virtual processors ---- */

int WinHvCreateVp(struct winhv_partition *p, uint32_t index, struct winhv_vp **out)
{
	struct winhv_vp *vp;
	int ret;

	*out = NULL;
	if (index >= p->max_vps)
		return winhv_set_error(HV_STATUS_INVALID_VP_INDEX, "VP index %u out of range", index);
	if (p->vps[index])
		return winhv_set_error(HV_STATUS_OBJECT_IN_USE, "VP %u already exists", index);
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return winhv_set_error(-ENOMEM, "out of memory");
	vp->partition = p;
	vp->index = index;
	ret = p->ops->create_vp(vp);
	if (ret) {
		free(vp);
		return ret;
	}
	p->vps[index] = vp;
	*out = vp;
	return 0;
}

uint32_t WinHvVpIndex(const struct winhv_vp *vp)
{
	return vp->index;
}

int WinHvGetVpRegisters(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *values,
			uint32_t count)
{
	if (count > LINHV_MAX_REGISTERS)
		return winhv_set_error(-E2BIG, "at most %d registers per call", LINHV_MAX_REGISTERS);
	return vp->partition->ops->get_regs(vp, names, values, count);
}

int WinHvSetVpRegisters(struct winhv_vp *vp, const uint32_t *names,
			const union hv_register_value *values, uint32_t count)
{
	if (count > LINHV_MAX_REGISTERS)
		return winhv_set_error(-E2BIG, "at most %d registers per call", LINHV_MAX_REGISTERS);
	return vp->partition->ops->set_regs(vp, names, values, count);
}

int WinHvRunVp(struct winhv_vp *vp, struct hv_message *msg)
{
	return vp->partition->ops->run(vp, msg);
}

int WinHvCancelRunVp(struct winhv_vp *vp)
{
	return vp->partition->ops->cancel(vp);
}

int WinHvAssertVirtualInterrupt(struct winhv_partition *p, uint32_t type, uint32_t vector,
				uint32_t target_vp)
{
	if (target_vp >= p->max_vps)
		return winhv_set_error(HV_STATUS_INVALID_VP_INDEX, "VP index %u out of range",
				       target_vp);
	return p->ops->assert_interrupt(p, type, vector, target_vp);
}
