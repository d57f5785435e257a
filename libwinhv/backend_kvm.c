// SPDX-License-Identifier: MIT
/*
 * The kvm backend: the same partition/VP/memory API over a stock /dev/kvm, so
 * vmwp runs unchanged where linhv.ko cannot be loaded.
 *
 * The platform matches what linhv presents: the local APIC is KVM's (split
 * irqchip, KVM_CAP_SPLIT_IRQCHIP), the IOAPIC and everything else live in the
 * worker, and interrupts from the worker are MSIs. KVM exits become the TLFS
 * intercept messages the linhv backend produces.
 *
 * KVM completes port I/O and MMIO itself on the next KVM_RUN (it reports data,
 * not instruction bytes). To keep the worker's code identical on both
 * backends, an MMIO exit is handed out as an HvMessageTypeUnmappedGpa message
 * whose instruction bytes encode an equivalent "mov rAX, [mem]" / "mov [mem],
 * rAX" of the access size; string and rep I/O is handed out one element at a
 * time as plain IN/OUT. Until the next run, the VP's RAX as WinHvEmulateMmio
 * reads it is the MMIO data, and the completion (a register set that starts
 * with RIP, as WinHvEmulateIoPort/WinHvEmulateMmio do) stores the result
 * where KVM expects it; KVM then moves RIP itself.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_kvm.h"

#define KVM_IOAPIC_PINS 24

static int open_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return winhv_set_error(-ENOENT,
				       "/dev/kvm does not exist: load kvm_amd or kvm_intel "
				       "(modprobe kvm_amd) on a CPU with AMD-V or VT-x enabled");
	if (errno == EACCES || errno == EPERM)
		return winhv_set_error(-errno, "permission denied opening /dev/kvm; run as root or "
					       "join the kvm group");
	return winhv_set_error(-errno, "cannot open /dev/kvm: %s", strerror(errno));
}

static int vp_fd(struct winhv_vp *vp)
{
	return ((struct kvm_vp *)vp->priv)->fd;
}

/* ---- Capabilities ---- */

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP (local APIC in the kernel)"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_HYPERV_SYNIC2, "KVM_CAP_HYPERV_SYNIC2 (Hyper-V SynIC)"},
    {KVM_CAP_HYPERV_CPUID, "KVM_CAP_HYPERV_CPUID"},
    {KVM_CAP_HYPERV_EVENTFD, "KVM_CAP_HYPERV_EVENTFD"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
};

static int kvm_get_caps(struct winhv_caps *caps)
{
	unsigned int a, b, c, d;
	int fd = open_kvm(), n;
	long ver;

	if (fd < 0)
		return fd;
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		close(fd);
		return winhv_set_error(-EPROTO, "/dev/kvm speaks API version %ld, expected %d", ver,
				       KVM_API_VERSION);
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			close(fd);
			return winhv_set_error(
			    -ENOTSUP,
			    "/dev/kvm lacks %s; this KVM cannot run the worker's "
			    "guests (use a host kernel with kvm_amd/kvm_intel)",
			    required_caps[i].name);
		}
	}
	memset(&caps->hv, 0, sizeof(caps->hv));
	__cpuid(0, a, b, c, d);
	memcpy(caps->hv.cpu_vendor, &b, 4);
	memcpy(caps->hv.cpu_vendor + 4, &d, 4);
	memcpy(caps->hv.cpu_vendor + 8, &c, 4);
	caps->hv.vendor = !strcmp(caps->hv.cpu_vendor, "GenuineIntel")	 ? LINHV_VENDOR_VMX
			  : !strcmp(caps->hv.cpu_vendor, "AuthenticAMD") ? LINHV_VENDOR_SVM
									 : LINHV_VENDOR_NONE;
	caps->hv.features = LINHV_FEAT_CAN_RUN |
			    (caps->hv.vendor == LINHV_VENDOR_VMX ? LINHV_FEAT_EPT : LINHV_FEAT_NPT);
	n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	caps->hv.max_vps_per_partition = n > 0 ? (uint32_t)n : 1;
	caps->hv.max_partitions = 0;
	caps->hv.api_version = (uint32_t)ver;
	close(fd);
	return 0;
}

/* ---- Partitions ---- */

static int kvm_create_partition(struct winhv_partition *p,
				const struct winhv_partition_params *params)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {KVM_IOAPIC_PINS}};
	struct kvm_part *kp;
	struct winhv_caps caps;
	int ret;

	ret = kvm_get_caps(&caps);
	if (ret)
		return ret;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return winhv_set_error(-ENOMEM, "out of memory");
	kp->kvm_fd = -1;
	kp->vm_fd = -1;
	kp->post_fd = -1;
	kp->hyperv = params->flags & WINHV_PARTITION_HYPERV;
	p->priv = kp;
	kp->kvm_fd = open_kvm();
	if (kp->kvm_fd < 0) {
		ret = kp->kvm_fd;
		goto fail;
	}
	kp->vm_fd = ioctl(kp->kvm_fd, KVM_CREATE_VM, 0);
	if (kp->vm_fd < 0) {
		ret = winhv_set_error(-errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(kp->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		ret = winhv_set_error(-errno, "KVM_CAP_SPLIT_IRQCHIP: %s", strerror(errno));
		goto fail;
	}
	/* VMX needs these pages somewhere; put them just below the 4 GiB boot ROM hole. */
	ioctl(kp->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	ret = kvm_synic_init(p);
	if (ret)
		goto fail;
	return 0;
fail:
	kvm_synic_fini(p);
	if (kp->vm_fd >= 0)
		close(kp->vm_fd);
	if (kp->kvm_fd >= 0)
		close(kp->kvm_fd);
	free(kp);
	p->priv = NULL;
	return ret;
}

static void kvm_delete_partition(struct winhv_partition *p)
{
	struct kvm_part *kp = p->priv;

	if (!kp)
		return;
	kvm_synic_fini(p);
	close(kp->vm_fd);
	close(kp->kvm_fd);
	free(kp->policy);
	free(kp);
}

static int kvm_set_cpuid(struct winhv_partition *p, const struct linhv_cpuid_entry *e, uint32_t n)
{
	struct kvm_part *kp = kvm_part(p);
	struct linhv_cpuid_entry *copy = NULL;

	if (n) {
		copy = malloc(n * sizeof(*e));
		if (!copy)
			return winhv_set_error(-ENOMEM, "out of memory");
		memcpy(copy, e, n * sizeof(*e));
	}
	free(kp->policy);
	kp->policy = copy;
	kp->policy_count = n;
	return 0;
}

static int kvm_map(struct winhv_partition *p, uint64_t gpa, void *hva, uint64_t bytes,
		   uint32_t flags)
{
	struct kvm_part *kp = kvm_part(p);
	struct kvm_userspace_memory_region r = {0};
	int slot;

	for (slot = 0; slot < 32 && (kp->slots_used & (1u << slot)); slot++)
		;
	if (slot == 32)
		return winhv_set_error(HV_STATUS_INSUFFICIENT_MEMORY, "no free KVM memory slot");
	r.slot = (uint32_t)slot;
	r.guest_phys_addr = gpa;
	r.memory_size = bytes;
	r.userspace_addr = (uintptr_t)hva;
	r.flags = (flags & HV_MAP_GPA_WRITABLE) ? 0 : KVM_MEM_READONLY;
	if (ioctl(kp->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return winhv_set_error(-errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	kp->slots_used |= 1u << slot;
	kp->slot_gpa[slot] = gpa;
	return 0;
}

static int kvm_unmap(struct winhv_partition *p, uint64_t gpa, uint64_t bytes)
{
	struct kvm_part *kp = kvm_part(p);

	(void)bytes;
	for (int slot = 0; slot < 32; slot++) {
		struct kvm_userspace_memory_region r = {.slot = (uint32_t)slot};

		if (!(kp->slots_used & (1u << slot)) || kp->slot_gpa[slot] != gpa)
			continue;
		r.guest_phys_addr = gpa;
		if (ioctl(kp->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return winhv_set_error(-errno, "KVM_SET_USER_MEMORY_REGION: %s",
					       strerror(errno));
		kp->slots_used &= ~(1u << slot);
		return 0;
	}
	return winhv_set_error(HV_STATUS_INVALID_PARAMETER, "no KVM slot at that GPA");
}

/* ---- CPUID ---- */

static struct kvm_cpuid2 *get_cpuid(int fd, unsigned long req)
{
	for (uint32_t n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(fd, req, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/*
 * The guest's CPUID: what KVM supports, this VP's APIC ID, the hypervisor and
 * x2APIC bits, and with WINHV_PARTITION_HYPERV the Hyper-V leaves in place of
 * KVM's own signature leaves (Linux would pick KVM first otherwise), cut down
 * to the interface linhv.ko offers (hvgdk.h): the same guest code paths on
 * both backends, so the kvm backend is a like-for-like baseline.
 */
static int setup_cpuid(struct winhv_vp *vp)
{
	struct kvm_part *kp = kvm_part(vp->partition);
	struct kvm_cpuid2 *sup, *hv = NULL, *out;
	uint32_t n = 0;
	int ret = 0;

	sup = get_cpuid(kp->kvm_fd, KVM_GET_SUPPORTED_CPUID);
	if (!sup)
		return winhv_set_error(-errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	if (kp->hyperv) {
		hv = get_cpuid(vp_fd(vp), KVM_GET_SUPPORTED_HV_CPUID);
		if (!hv) {
			free(sup);
			return winhv_set_error(-errno, "KVM_GET_SUPPORTED_HV_CPUID: %s",
					       strerror(errno));
		}
	}
	out = calloc(1, sizeof(*out) + (sup->nent + (hv ? hv->nent : 0) + kp->policy_count) *
					   sizeof(out->entries[0]));
	if (!out) {
		free(sup);
		free(hv);
		return winhv_set_error(-ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < sup->nent; i++) {
		struct kvm_cpuid_entry2 e = sup->entries[i];

		if (e.function >= 0x40000000 && e.function < 0x50000000)
			continue;
		if (e.function == 1) {
			e.ebx = (e.ebx & 0x00ffffff) | (vp->index << 24);
			e.ecx |= (1u << 31) | (1u << 21);
		} else if (e.function == 0xb || e.function == 0x1f) {
			e.edx = vp->index;
		}
		out->entries[n++] = e;
	}
	if (hv) {
		for (uint32_t i = 0; i < hv->nent; i++) {
			struct kvm_cpuid_entry2 e = hv->entries[i];

			if (e.function < 0x40000000 || e.function > HV_CPUID_MAX_LEAF_LINHV)
				continue;
			switch (e.function) {
			case 0x40000000:
				e.eax = HV_CPUID_MAX_LEAF_LINHV;
				e.ebx = 0x7263694d; /* "Microsoft Hv" */
				e.ecx = 0x666f736f;
				e.edx = 0x76482074;
				break;
			case 0x40000003:
				/* Never more than linhv.ko offers: other EBX bits make Linux
				 * think it is the root or call hypercalls we lack. */
				e.eax &= HV_LINHV_PRIVILEGES_EAX;
				e.ebx &= HV_LINHV_PRIVILEGES_EBX;
				e.ecx = 0;
				/* Panics reach vmwp through KVM's crash MSRs. */
				e.edx &= HV_LINHV_FEATURES_EDX | HV_FEAT_GUEST_CRASH_MSRS;
				break;
			case 0x40000004:
				e.eax = HV_LINHV_HINTS_EAX;
				e.ebx = HV_LINHV_SPIN_RETRIES;
				e.ecx = 0;
				e.edx = 0;
				break;
			}
			out->entries[n++] = e;
		}
	}
	for (uint32_t i = 0; i < kp->policy_count; i++) {
		const struct linhv_cpuid_entry *pe = &kp->policy[i];
		struct kvm_cpuid_entry2 *e = NULL;

		for (uint32_t j = 0; j < n && !e; j++)
			if (out->entries[j].function == pe->function &&
			    ((pe->flags & LINHV_CPUID_SUBLEAF_ANY) ||
			     out->entries[j].index == pe->index))
				e = &out->entries[j];
		if (!e) {
			e = &out->entries[n++];
			memset(e, 0, sizeof(*e));
			e->function = pe->function;
			e->index = pe->index;
		}
		e->eax = pe->eax;
		e->ebx = pe->ebx;
		e->ecx = pe->ecx;
		e->edx = pe->edx;
	}
	out->nent = n;
	if (ioctl(vp_fd(vp), KVM_SET_CPUID2, out) < 0)
		ret = winhv_set_error(-errno, "KVM_SET_CPUID2: %s", strerror(errno));
	(void)find_leaf;
	free(out);
	free(sup);
	free(hv);
	return ret;
}

/* ---- Virtual processors ---- */

static void sigusr1_noop(int sig)
{
	(void)sig;
}

/* Cancel interrupts KVM_RUN with SIGUSR1; it must not kill the process. */
static void ensure_cancel_signal(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigusr1_noop; /* no SA_RESTART: KVM_RUN must return */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
}

static int kvm_create_vp(struct winhv_vp *vp)
{
	struct kvm_part *kp = kvm_part(vp->partition);
	struct kvm_vp *kv;
	long size;
	int ret;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return winhv_set_error(-ENOMEM, "out of memory");
	kv->fd = ioctl(kp->vm_fd, KVM_CREATE_VCPU, (unsigned long)vp->index);
	if (kv->fd < 0) {
		ret = winhv_set_error(-errno, "KVM_CREATE_VCPU: %s", strerror(errno));
		free(kv);
		return ret;
	}
	vp->priv = kv;
	size = ioctl(kp->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kv->run_size = size > 0 ? (size_t)size : 4096;
	kv->run = mmap(NULL, kv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		ret = winhv_set_error(-errno, "mmap of kvm_run: %s", strerror(errno));
		goto fail;
	}
	ret = setup_cpuid(vp);
	if (ret)
		goto fail;
	if (kp->hyperv) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_HYPERV_SYNIC2};

		if (ioctl(kv->fd, KVM_ENABLE_CAP, &cap) < 0) {
			ret = winhv_set_error(-errno, "KVM_CAP_HYPERV_SYNIC2: %s", strerror(errno));
			goto fail;
		}
	}
	ensure_cancel_signal();
	return 0;
fail:
	if (kv->run && kv->run != MAP_FAILED)
		munmap(kv->run, kv->run_size);
	close(kv->fd);
	free(kv);
	vp->priv = NULL;
	return ret;
}

static void kvm_delete_vp(struct winhv_vp *vp)
{
	struct kvm_vp *kv = vp->priv;

	if (kv) {
		munmap(kv->run, kv->run_size);
		close(kv->fd);
		free(kv);
	}
}

/* ---- Registers ---- */

struct regstate {
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events ev;
	struct kvm_xcrs x;
	struct kvm_debugregs d;
	bool have_r, have_s, have_ev, have_x, have_d;
	bool dirty_r, dirty_s, dirty_ev, dirty_x, dirty_d;
};

static __u64 *gpr(struct kvm_regs *r, uint32_t name)
{
	__u64 *tab[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			  &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};

	if (name >= HvX64RegisterRax && name <= HvX64RegisterR15)
		return tab[name - HvX64RegisterRax];
	if (name == HvX64RegisterRip)
		return &r->rip;
	if (name == HvX64RegisterRflags)
		return &r->rflags;
	return NULL;
}

static struct kvm_segment *seg(struct kvm_sregs *s, uint32_t name)
{
	switch (name) {
	case HvX64RegisterEs:
		return &s->es;
	case HvX64RegisterCs:
		return &s->cs;
	case HvX64RegisterSs:
		return &s->ss;
	case HvX64RegisterDs:
		return &s->ds;
	case HvX64RegisterFs:
		return &s->fs;
	case HvX64RegisterGs:
		return &s->gs;
	case HvX64RegisterLdtr:
		return &s->ldt;
	case HvX64RegisterTr:
		return &s->tr;
	}
	return NULL;
}

static __u64 *sreg64(struct kvm_sregs *s, uint32_t name)
{
	switch (name) {
	case HvX64RegisterCr0:
		return &s->cr0;
	case HvX64RegisterCr2:
		return &s->cr2;
	case HvX64RegisterCr3:
		return &s->cr3;
	case HvX64RegisterCr4:
		return &s->cr4;
	case HvX64RegisterCr8:
		return &s->cr8;
	case HvX64RegisterEfer:
		return &s->efer;
	case HvX64RegisterApicBase:
		return &s->apic_base;
	}
	return NULL;
}

static uint32_t msr_of(uint32_t name)
{
	switch (name) {
	case HvX64RegisterTsc:
		return 0x10;
	case HvX64RegisterKernelGsBase:
		return 0xc0000102;
	case HvX64RegisterPat:
		return 0x277;
	case HvX64RegisterSysenterCs:
		return 0x174;
	case HvX64RegisterSysenterEsp:
		return 0x175;
	case HvX64RegisterSysenterEip:
		return 0x176;
	case HvX64RegisterStar:
		return 0xc0000081;
	case HvX64RegisterLstar:
		return 0xc0000082;
	case HvX64RegisterCstar:
		return 0xc0000083;
	case HvX64RegisterSfmask:
		return 0xc0000084;
	case HvX64RegisterTscAux:
		return 0xc0000103;
	}
	return 0;
}

static uint16_t seg_to_hv(const struct kvm_segment *k)
{
	return (uint16_t)((k->type & 0xf) | (k->s & 1) << 4 | (k->dpl & 3) << 5 |
			  (k->present & 1) << 7 | (k->avl & 1) << 12 | (k->l & 1) << 13 |
			  (k->db & 1) << 14 | (k->g & 1) << 15);
}

static void seg_from_hv(struct kvm_segment *k, const struct hv_x64_segment_register *h)
{
	uint16_t a = h->attributes;

	memset(k, 0, sizeof(*k));
	k->base = h->base;
	k->limit = h->limit;
	k->selector = h->selector;
	k->type = a & 0xf;
	k->s = (a >> 4) & 1;
	k->dpl = (a >> 5) & 3;
	k->present = (a >> 7) & 1;
	k->avl = (a >> 12) & 1;
	k->l = (a >> 13) & 1;
	k->db = (a >> 14) & 1;
	k->g = (a >> 15) & 1;
	k->unusable = !k->present;
}

static int need(int fd, bool *have, unsigned long req, void *buf, const char *what)
{
	if (*have)
		return 0;
	if (ioctl(fd, req, buf) < 0)
		return winhv_set_error(-errno, "%s: %s", what, strerror(errno));
	*have = true;
	return 0;
}

#define NEED(st, fd, f, req) need(fd, &(st)->have_##f, req, &(st)->f, #req)

static int reg_access(struct winhv_vp *vp, struct regstate *st, uint32_t name,
		      union hv_register_value *v, bool set)
{
	int fd = vp_fd(vp), ret;
	__u64 *p;
	struct kvm_segment *sg;

	if ((p = gpr(&st->r, name))) {
		if ((ret = NEED(st, fd, r, KVM_GET_REGS)))
			return ret;
		if (set) {
			*p = v->reg64;
			st->dirty_r = true;
		} else {
			v->reg64 = *p;
		}
		return 0;
	}
	if ((ret = NEED(st, fd, s, KVM_GET_SREGS)))
		return ret;
	if ((p = sreg64(&st->s, name))) {
		if (set) {
			*p = v->reg64;
			st->dirty_s = true;
		} else {
			v->reg64 = *p;
		}
		return 0;
	}
	if ((sg = seg(&st->s, name))) {
		if (set) {
			seg_from_hv(sg, &v->segment);
			st->dirty_s = true;
		} else {
			v->segment.base = sg->base;
			v->segment.limit = sg->limit;
			v->segment.selector = sg->selector;
			v->segment.attributes = sg->unusable ? 0 : seg_to_hv(sg);
		}
		return 0;
	}
	if (name == HvX64RegisterIdtr || name == HvX64RegisterGdtr) {
		struct kvm_dtable *t = name == HvX64RegisterIdtr ? &st->s.idt : &st->s.gdt;

		if (set) {
			t->base = v->table.base;
			t->limit = v->table.limit;
			st->dirty_s = true;
		} else {
			memset(v, 0, sizeof(*v));
			v->table.base = t->base;
			v->table.limit = t->limit;
		}
		return 0;
	}
	if (name == HvX64RegisterXfem) {
		if ((ret = NEED(st, fd, x, KVM_GET_XCRS)))
			return ret;
		for (uint32_t i = 0; i < st->x.nr_xcrs && i < KVM_MAX_XCRS; i++) {
			if (st->x.xcrs[i].xcr != 0)
				continue;
			if (set) {
				st->x.xcrs[i].value = v->reg64;
				st->dirty_x = true;
			} else {
				v->reg64 = st->x.xcrs[i].value;
			}
			return 0;
		}
		if (!set)
			v->reg64 = 1;
		return 0;
	}
	if (name == HvX64RegisterDr7) {
		if ((ret = NEED(st, fd, d, KVM_GET_DEBUGREGS)))
			return ret;
		if (set) {
			st->d.dr7 = v->reg64;
			st->dirty_d = true;
		} else {
			v->reg64 = st->d.dr7;
		}
		return 0;
	}
	if (name == HvRegisterInterruptState || name == HvRegisterPendingInterruption) {
		if ((ret = NEED(st, fd, ev, KVM_GET_VCPU_EVENTS)))
			return ret;
		if (name == HvRegisterInterruptState) {
			if (set) {
				st->ev.interrupt.shadow = v->interrupt_state.interrupt_shadow;
				st->ev.nmi.masked = v->interrupt_state.nmi_masked;
				st->ev.flags |= KVM_VCPUEVENT_VALID_SHADOW;
				st->dirty_ev = true;
			} else {
				v->reg64 = 0;
				v->interrupt_state.interrupt_shadow =
				    st->ev.interrupt.shadow ? 1 : 0;
				v->interrupt_state.nmi_masked = st->ev.nmi.masked ? 1 : 0;
			}
			return 0;
		}
		if (set) {
			if (v->pending_interruption.interruption_pending &&
			    v->pending_interruption.interruption_type == HV_X64_PENDING_EXCEPTION) {
				st->ev.exception.injected = 1;
				st->ev.exception.nr =
				    (uint8_t)v->pending_interruption.interruption_vector;
				st->ev.exception.has_error_code =
				    v->pending_interruption.deliver_error_code;
				st->ev.exception.error_code = v->pending_interruption.error_code;
			} else if (v->pending_interruption.interruption_pending &&
				   v->pending_interruption.interruption_type ==
				       HV_X64_PENDING_NMI) {
				st->ev.nmi.injected = 1;
			} else if (v->pending_interruption.interruption_pending) {
				st->ev.interrupt.injected = 1;
				st->ev.interrupt.nr =
				    (uint8_t)v->pending_interruption.interruption_vector;
			} else {
				st->ev.exception.injected = 0;
				st->ev.interrupt.injected = 0;
				st->ev.nmi.injected = 0;
			}
			st->dirty_ev = true;
		} else {
			v->reg128[0] = v->reg128[1] = 0;
			if (st->ev.exception.injected) {
				v->pending_interruption.interruption_pending = 1;
				v->pending_interruption.interruption_type =
				    HV_X64_PENDING_EXCEPTION;
				v->pending_interruption.interruption_vector = st->ev.exception.nr;
				v->pending_interruption.deliver_error_code =
				    st->ev.exception.has_error_code;
				v->pending_interruption.error_code = st->ev.exception.error_code;
			} else if (st->ev.interrupt.injected) {
				v->pending_interruption.interruption_pending = 1;
				v->pending_interruption.interruption_type =
				    HV_X64_PENDING_INTERRUPT;
				v->pending_interruption.interruption_vector = st->ev.interrupt.nr;
			} else if (st->ev.nmi.injected) {
				v->pending_interruption.interruption_pending = 1;
				v->pending_interruption.interruption_type = HV_X64_PENDING_NMI;
				v->pending_interruption.interruption_vector = 2;
			}
		}
		return 0;
	}
	if (msr_of(name)) {
		/* struct kvm_msrs ends in a flexible array: one entry of room. */
		union {
			struct kvm_msrs hdr;
			uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
		} m;
		struct kvm_msr_entry *e = &m.hdr.entries[0];

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		e->index = msr_of(name);
		e->data = set ? v->reg64 : 0;
		if (ioctl(fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m) != 1)
			return winhv_set_error(HV_STATUS_INVALID_PARAMETER,
					       "MSR %#x not accessible", e->index);
		if (!set)
			v->reg64 = e->data;
		return 0;
	}
	return winhv_set_error(HV_STATUS_INVALID_PARAMETER,
			       "register %#x is not supported by the "
			       "kvm backend",
			       name);
}

static int flush(struct winhv_vp *vp, struct regstate *st)
{
	int fd = vp_fd(vp);

	if (st->dirty_s && ioctl(fd, KVM_SET_SREGS, &st->s) < 0)
		return winhv_set_error(-errno, "KVM_SET_SREGS: %s", strerror(errno));
	if (st->dirty_r && ioctl(fd, KVM_SET_REGS, &st->r) < 0)
		return winhv_set_error(-errno, "KVM_SET_REGS: %s", strerror(errno));
	if (st->dirty_x && ioctl(fd, KVM_SET_XCRS, &st->x) < 0)
		return winhv_set_error(-errno, "KVM_SET_XCRS: %s", strerror(errno));
	if (st->dirty_d && ioctl(fd, KVM_SET_DEBUGREGS, &st->d) < 0)
		return winhv_set_error(-errno, "KVM_SET_DEBUGREGS: %s", strerror(errno));
	if (st->dirty_ev && ioctl(fd, KVM_SET_VCPU_EVENTS, &st->ev) < 0)
		return winhv_set_error(-errno, "KVM_SET_VCPU_EVENTS: %s", strerror(errno));
	return 0;
}

/* The data of the I/O or MMIO exit being completed (see the top comment). */
static uint8_t *io_data(struct kvm_vp *kv)
{
	if (kv->io.is_mmio)
		return kv->run->mmio.data;
	return (uint8_t *)kv->run + kv->run->io.data_offset + (size_t)kv->io.index * kv->io.size;
}

static int kvm_get_regs(struct winhv_vp *vp, const uint32_t *names, union hv_register_value *v,
			uint32_t n)
{
	struct kvm_vp *kv = vp->priv;
	struct regstate st;
	int ret;

	memset(&st, 0, sizeof(st));
	for (uint32_t i = 0; i < n; i++) {
		if (kv->io.active && kv->io.is_mmio && names[i] == HvX64RegisterRax) {
			v[i].reg64 = 0;
			if (kv->io.write)
				memcpy(&v[i].reg64, io_data(kv), kv->io.size);
			continue;
		}
		ret = reg_access(vp, &st, names[i], &v[i], false);
		if (ret)
			return ret;
	}
	return 0;
}

static int kvm_set_regs(struct winhv_vp *vp, const uint32_t *names,
			const union hv_register_value *v, uint32_t n)
{
	struct kvm_vp *kv = vp->priv;
	struct regstate st;
	int ret;

	if (kv->io.active && n >= 1 && names[0] == HvX64RegisterRip) {
		/* The completion of the exit: KVM moves RIP, we only pass the data. */
		for (uint32_t i = 1; i < n; i++)
			if (names[i] == HvX64RegisterRax && !kv->io.write)
				memcpy(io_data(kv), &v[i].reg64, kv->io.size);
		kv->io.active = false;
		kv->io.index++;
		return 0;
	}
	memset(&st, 0, sizeof(st));
	for (uint32_t i = 0; i < n; i++) {
		ret = reg_access(vp, &st, names[i], (union hv_register_value *)&v[i], true);
		if (ret)
			return ret;
	}
	return flush(vp, &st);
}

/* ---- Running ---- */

static void fill_header(struct winhv_vp *vp, struct hv_x64_intercept_message_header *h,
			uint8_t access)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(h, 0, sizeof(*h));
	h->vp_index = vp->index;
	h->intercept_access_type = access;
	if (ioctl(vp_fd(vp), KVM_GET_REGS, &r) == 0) {
		h->rip = r.rip;
		h->rflags = r.rflags;
	}
	if (ioctl(vp_fd(vp), KVM_GET_SREGS, &s) == 0) {
		h->cs.base = s.cs.base;
		h->cs.limit = s.cs.limit;
		h->cs.selector = s.cs.selector;
		h->cs.attributes = seg_to_hv(&s.cs);
		h->execution_state = (uint16_t)(s.cs.dpl & 3);
		if (s.cr0 & 1)
			h->execution_state |= HV_X64_EXEC_STATE_CR0_PE;
		if (s.efer & (1u << 10))
			h->execution_state |= HV_X64_EXEC_STATE_EFER_LMA;
	}
}

/* One element of a KVM I/O exit as a plain IN/OUT intercept. */
static void io_message(struct winhv_vp *vp, struct hv_message *msg)
{
	struct kvm_vp *kv = vp->priv;
	struct hv_x64_io_port_intercept_message *m = (void *)msg->payload;

	memset(msg, 0, sizeof(*msg));
	msg->header.message_type = HvMessageTypeX64IoPortIntercept;
	msg->header.payload_size = sizeof(*m);
	fill_header(vp, &m->header,
		    kv->io.write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ);
	m->port_number = kv->run->io.port;
	m->access_info = kv->io.size;
	if (kv->io.write)
		memcpy(&m->rax, io_data(kv), kv->io.size);
	kv->io.active = true;
}

static void mmio_message(struct winhv_vp *vp, struct hv_message *msg)
{
	struct kvm_vp *kv = vp->priv;
	struct hv_x64_memory_intercept_message *m = (void *)msg->payload;
	uint8_t *b = m->instruction_bytes;
	uint8_t len = 0, size = kv->io.size;
	bool lm, d32;

	memset(msg, 0, sizeof(*msg));
	msg->header.message_type = HvMessageTypeUnmappedGpa;
	msg->header.payload_size = sizeof(*m);
	fill_header(vp, &m->header,
		    kv->io.write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ);
	lm = (m->header.execution_state & HV_X64_EXEC_STATE_EFER_LMA) &&
	     (m->header.cs.attributes & 0x2000);
	if (size == 8 && !lm) {
		/* Only REX.W names an 8-byte mov: describe the access in 64-bit terms. */
		m->header.execution_state |= HV_X64_EXEC_STATE_EFER_LMA;
		m->header.cs.attributes |= 0x2000;
		lm = true;
	}
	d32 = lm || (m->header.cs.attributes & 0x4000);
	if ((size == 2 && d32) || (size == 4 && !d32))
		b[len++] = 0x66;
	if (size == 8)
		b[len++] = 0x48;
	b[len++] = size == 1 ? (kv->io.write ? 0x88 : 0x8a) : (kv->io.write ? 0x89 : 0x8b);
	b[len++] = 0x00; /* [rAX]: the operand register is rAX */
	m->instruction_byte_count = len;
	m->header.instruction_length = len;
	m->guest_physical_address = kv->run->mmio.phys_addr;
	kv->io.active = true;
}

static void simple_message(struct winhv_vp *vp, struct hv_message *msg, uint32_t type,
			   uint32_t exit_code)
{
	struct hv_x64_unrecoverable_exception_message *m = (void *)msg->payload;

	memset(msg, 0, sizeof(*msg));
	msg->header.message_type = type;
	msg->header.payload_size = sizeof(*m);
	fill_header(vp, &m->header, 0);
	m->exit_code = exit_code;
}

static int kvm_run(struct winhv_vp *vp, struct hv_message *msg)
{
	struct kvm_vp *kv = vp->priv;
	struct kvm_run *run = kv->run;

	/* The rest of a string or rep I/O exit, one element per message. */
	kv->io.active = false;
	if (!kv->io.is_mmio && kv->io.index < kv->io.count) {
		io_message(vp, msg);
		return 0;
	}
	kv->thread = pthread_self();
	__atomic_store_n(&kv->running, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
			int err = errno;

			if (err == EINTR || err == EAGAIN) {
				__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				__atomic_store_n(&kv->running, 0, __ATOMIC_SEQ_CST);
				memset(msg, 0, sizeof(*msg));
				msg->header.message_type = HvMessageTypeLinhvCanceled;
				return 0;
			}
			__atomic_store_n(&kv->running, 0, __ATOMIC_SEQ_CST);
			return winhv_set_error(-err, "KVM_RUN: %s", strerror(err));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			kv->io = (struct kvm_pending_io){
			    .count = run->io.count,
			    .size = run->io.size,
			    .write = run->io.direction == KVM_EXIT_IO_OUT,
			};
			if (kv->io.count == 0 ||
			    (kv->io.size != 1 && kv->io.size != 2 && kv->io.size != 4) ||
			    run->io.data_offset + (uint64_t)kv->io.count * kv->io.size >
				kv->run_size) {
				kv->io.count = 0;
				continue;
			}
			io_message(vp, msg);
			goto out;
		case KVM_EXIT_MMIO:
			kv->io = (struct kvm_pending_io){
			    .is_mmio = true,
			    .count = 1,
			    .size = (uint8_t)run->mmio.len,
			    .write = run->mmio.is_write,
			};
			if (kv->io.size != 1 && kv->io.size != 2 && kv->io.size != 4 &&
			    kv->io.size != 8) {
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
				continue;
			}
			mmio_message(vp, msg);
			goto out;
		case KVM_EXIT_HYPERV:
			if (run->hyperv.type == KVM_EXIT_HYPERV_HCALL)
				run->hyperv.u.hcall.result = kvm_synic_hypercall(
				    vp, run->hyperv.u.hcall.input, run->hyperv.u.hcall.params[0],
				    run->hyperv.u.hcall.params[1]);
			else
				kvm_synic_exit(vp, &run->hyperv);
			continue;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_IOAPIC_EOI:
			continue;
		case KVM_EXIT_INTR:
			__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			memset(msg, 0, sizeof(*msg));
			msg->header.message_type = HvMessageTypeLinhvCanceled;
			goto out;
		case KVM_EXIT_HLT:
			simple_message(vp, msg, HvMessageTypeX64Halt, KVM_EXIT_HLT);
			goto out;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH)
				simple_message(vp, msg, HvMessageTypeUnrecoverableException,
					       0x10000 | KVM_SYSTEM_EVENT_CRASH);
			else
				simple_message(vp, msg, HvMessageTypeLinhvShutdown,
					       run->system_event.type);
			goto out;
		default:
			/* KVM_EXIT_SHUTDOWN (triple fault), entry failures, internal errors. */
			simple_message(vp, msg, HvMessageTypeUnrecoverableException,
				       run->exit_reason);
			goto out;
		}
	}
out:
	__atomic_store_n(&kv->running, 0, __ATOMIC_SEQ_CST);
	return 0;
}

static int kvm_cancel(struct winhv_vp *vp)
{
	struct kvm_vp *kv = vp->priv;

	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&kv->running, __ATOMIC_SEQ_CST))
		pthread_kill(kv->thread, SIGUSR1);
	return 0;
}

/* The worker's interrupts are MSIs to the in-kernel local APIC (APIC ID = VP index). */
static int kvm_assert_interrupt(struct winhv_partition *p, uint32_t type, uint32_t vector,
				uint32_t target_vp)
{
	struct kvm_msi msi = {0};
	uint32_t mode;

	switch (type) {
	case HV_X64_INTERRUPT_TYPE_FIXED:
		mode = 0;
		if (vector < 16 || vector > 255)
			return winhv_set_error(HV_STATUS_INVALID_PARAMETER, "vector %u", vector);
		break;
	case HV_X64_INTERRUPT_TYPE_NMI:
		mode = 4;
		vector = 0;
		break;
	case HV_X64_INTERRUPT_TYPE_INIT:
		mode = 5;
		vector = 0;
		break;
	default:
		return winhv_set_error(HV_STATUS_INVALID_PARAMETER, "interrupt type %u", type);
	}
	msi.address_lo = 0xfee00000u | ((target_vp & 0xff) << 12);
	msi.address_hi = 0;
	msi.data = vector | mode << 8;
	if (ioctl(kvm_part(p)->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return winhv_set_error(-errno, "KVM_SIGNAL_MSI: %s", strerror(errno));
	return 0;
}

const struct winhv_backend_ops winhv_kvm_ops = {
    .name = "kvm",
    .get_caps = kvm_get_caps,
    .create_partition = kvm_create_partition,
    .delete_partition = kvm_delete_partition,
    .set_cpuid = kvm_set_cpuid,
    .map = kvm_map,
    .unmap = kvm_unmap,
    .create_vp = kvm_create_vp,
    .delete_vp = kvm_delete_vp,
    .get_regs = kvm_get_regs,
    .set_regs = kvm_set_regs,
    .run = kvm_run,
    .cancel = kvm_cancel,
    .assert_interrupt = kvm_assert_interrupt,
    .post_message = kvm_post_message,
    .signal_event = kvm_signal_event,
    .register_event_fd = kvm_register_event_fd,
    .register_msg_connection = kvm_register_msg_connection,
    .posted_message_fd = kvm_posted_message_fd,
    .read_posted_message = kvm_read_posted_message,
    .reference_time = kvm_reference_time,
};
