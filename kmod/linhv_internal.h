/* SPDX-License-Identifier: GPL-2.0 */
/*
 * linhv.ko internal interfaces shared between the module's files.
 */
#ifndef LINHV_INTERNAL_H
#define LINHV_INTERNAL_H

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/mutex.h>
#include <asm/io.h>
#include <linux/rwsem.h>
#include <linux/wait.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/eventfd.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/cpumask.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <linhv/linhv.h>

#include "vendor.h"

#define LINHV_MAX_PARTITIONS 64
#define LINHV_MAX_VPS 16
#define LINHV_MAX_REGIONS 64
/* Guest physical addresses are limited to 48 bits (4-level NPT). */
#define LINHV_GPA_BITS 48
#define LINHV_MAX_GFN (1ULL << (LINHV_GPA_BITS - PAGE_SHIFT))
/* One mapping call pins at most 64 GiB. */
#define LINHV_MAX_MAP_PAGES (64ULL << (30 - PAGE_SHIFT))

/* caps.c: what the CPU offers, filled once at load time. */
extern struct linhv_caps linhv_host_caps;
int linhv_caps_probe(void);
extern u64 linhv_host_xcr0;
extern u64 linhv_host_cr4; /* the CR4 bits a guest may set on this host (vendor.c) */

/*
 * A range of the root's address space mapped into a partition's GPA space.
 * Not pinned: faulted in on demand, kept coherent by the notifier (memory.c).
 */
struct linhv_region {
	struct mmu_interval_notifier notifier;
	struct linhv_partition *part;
	unsigned long uaddr;
	u64 gfn;
	u64 npages;
	u32 flags; /* HV_MAP_GPA_* */
	bool mmio; /* device memory (VM_IO|VM_PFNMAP): mapped by PFN, never pinned */
	struct page **pinned; /* while a device is attached (iommu.c) */
	u64 npinned;
};

#define LINHV_NPT_LEVELS 4

/*
 * The entry format of a second-level table (the vendor's: AMD NPT, Intel
 * EPT). Entries are 8 bytes with the address in bits 12-51 in every format;
 * these masks say what else they hold.
 */
struct linhv_npt_format {
	u64 present; /* any of these bits set: the entry is present */
	u64 table; /* a non-leaf entry's bits */
	u64 leaf; /* every leaf's bits (accessed too, where the format has it) */
	u64 large; /* a 2 MiB leaf at level 2 */
	u64 write; /* a writable leaf (dirty too, where the format has it) */
	u64 exec; /* an executable leaf */
	u64 noexec; /* a leaf that may not be executed */
	/*
	 * A leaf on device memory (an assigned device's BAR, mapped by the root
	 * with VM_IO|VM_PFNMAP): these bits instead of leaf, uncached, with a
	 * software bit (noref) saying that it holds no page reference.
	 */
	u64 leaf_mmio;
	u64 noref;
};

/* linhv_npt_map_locked() flag: hpa is device memory (leaf_mmio, no reference). */
#define LINHV_NPT_MAP_MMIO BIT(31)

/* Why a leaf went (the root's mmu_notifier_event, or one of these). */
#define LINHV_ZAP_UNMAP 0x100 /* HvCallUnmapGpaPages */
#define LINHV_ZAP_REPLACED 0x101 /* a leaf replaced by a new one or by a table */

/* One removed leaf, for the triple-fault log (dump.c). */
struct linhv_zap_rec {
	u64 gpa; /* the leaf's first address */
	u64 pte; /* the leaf as it was */
	u64 ns; /* ktime_get_ns() */
	u32 size; /* 4 KiB or 2 MiB */
	u32 why;
};

#define LINHV_ZAP_HIST 64

/* Nested page table of one partition (4-level, 4 KiB and 2 MiB leaves). */
struct linhv_npt {
	spinlock_t lock; /* the tables and the cache; taken by the mm notifier */
	const struct linhv_npt_format *fmt;
	u64 *root;
	u64 root_pa;
	unsigned long nr_tables;
	struct page *cache[2 * (LINHV_NPT_LEVELS - 1)]; /* preallocated tables */
	unsigned int nr_cache;
	/*
	 * A 2 MiB leaf was replaced by a table: CPUs may still cache its
	 * translations although no leaf shows them, so the next zap flushes.
	 */
	bool stale_2m;
	/* The last leaves removed, newest at hist_pos - 1 (under the lock). */
	struct linhv_zap_rec hist[LINHV_ZAP_HIST];
	unsigned int hist_pos;
};

struct linhv_cpuid_policy {
	u32 count;
	struct linhv_cpuid_entry entries[LINHV_MAX_CPUID_ENTRIES];
};

struct linhv_partition {
	u64 id;
	struct file *file;
	struct mutex lock; /* VP creation, policy */
	u32 max_vps;
	bool initialized;
	bool started; /* a VP has run: the CPUID policy and MSR list are fixed */
	u64 tsc_offset; /* shared by all VPs so their TSCs agree */
	struct linhv_vp *vps[LINHV_MAX_VPS];

	struct rw_semaphore mem_lock; /* regions, mm */
	struct linhv_region *regions[LINHV_MAX_REGIONS];
	u32 nr_regions;
	struct mm_struct *mm; /* the root's mm holding every region (grabbed) */
	struct linhv_npt npt;
	/* TLB shootdown (memory.c): bumped on every zap; CPUs now in the guest. */
	atomic64_t tlb_gen;
	cpumask_t in_guest_cpus;

	/* Hyper-V interface (hyperv.c, synic.c) */
	bool hyperv;
	u64 hv_guest_os_id, hv_hypercall, hv_ref_tsc;
	spinlock_t evt_lock; /* the two tables below */
	u32 nr_evt;
	struct {
		u32 conn;
		struct eventfd_ctx *ctx;
	} evt[64];
	u32 nr_msg_conn;
	u32 msg_conn[16];
	spinlock_t posted_lock;
	struct linhv_out_posted_message *posted; /* ring of LINHV_POSTED_QUEUE_DEPTH */
	u32 posted_head, posted_count;
	struct eventfd_ctx *posted_fd;

	struct linhv_cpuid_policy *cpuid;
	u32 nr_msr_forward;
	u32 msr_forward[LINHV_MAX_MSR_FORWARD];
	/* Ports the root emulates (bit set); NULL: every port goes to the root. */
	unsigned long *io_claimed;

	/* Device domain (iommu.c), under mem_lock. */
	struct {
		struct iommu_domain *domain; /* while a device is attached */
		struct list_head devs;
	} iommu;
	/* Assigned devices' interrupts (devirq.c): the list and the routes. */
	struct {
		spinlock_t lock; /* taken with interrupts off (the host IRQ handler) */
		struct list_head devs;
	} devirq;
};

/* x2APIC state of one VP (lapic.c). */
struct linhv_lapic {
	u32 tpr, svr, esr, dcr, timer_icr;
	u32 lvt[7]; /* timer, thermal, perf, LINT0, LINT1, error, CMCI */
	unsigned long irr[256 / BITS_PER_LONG]; /* set from any context */
	unsigned long isr[256 / BITS_PER_LONG]; /* VP thread only */
	spinlock_t timer_lock;
	struct hrtimer timer;
	u64 timer_period_ns; /* periodic mode */
	ktime_t timer_expires;
	u64 tsc_deadline;
	bool lazy_eoi; /* we set the guest's "no EOI required" bit (VP assist page) */
};

enum linhv_mp_state {
	LINHV_MP_RUNNABLE = 0,
	LINHV_MP_WAIT_SIPI = 1,
};

/* Host-to-guest messages waiting behind a busy SIMP slot. */
struct linhv_queued_msg {
	struct list_head link;
	struct hv_message msg;
};

struct linhv_synic {
	struct mutex lock;
	u64 scontrol, simp, siefp, sint[HV_SYNIC_SINT_COUNT];
	u64 vp_assist;
	struct list_head queue[HV_SYNIC_SINT_COUNT];
	u32 queued;
};
#define LINHV_SYNIC_QUEUE_MAX 64

#define LINHV_EXIT_HIST 16

/* stats.c: exit counters by class (the vendor code classifies its exits). */
enum linhv_exit_class {
	LINHV_EXIT_NPF,
	LINHV_EXIT_IO,
	LINHV_EXIT_MSR,
	LINHV_EXIT_CPUID,
	LINHV_EXIT_HLT,
	LINHV_EXIT_HOST_INTR, /* an interrupt, NMI or SMI of the host */
	LINHV_EXIT_VINTR,
	LINHV_EXIT_HYPERCALL,
	LINHV_EXIT_EXCEPTION,
	LINHV_EXIT_CR_DR,
	LINHV_EXIT_SHUTDOWN,
	LINHV_EXIT_OTHER,
	LINHV_EXIT_TO_ROOT, /* not an exit class: a message to the root's worker */
	LINHV_EXIT_NR_CLASSES
};
void linhv_count_exit(enum linhv_exit_class c);

enum linhv_vp_mode {
	LINHV_OUTSIDE_GUEST = 0,
	LINHV_IN_GUEST = 1,
};

struct linhv_vp {
	struct linhv_partition *part;
	struct file *file; /* the VP fd's file: a reference keeps the VP alive */
	u32 index;
	u64 uid; /* unique among all VPs ever created, for TLB tracking */
	struct mutex mutex; /* held while running or accessing state */
	struct linhv_vp_run *run; /* mmap-able page shared with the root */

	void *vendor; /* the vendor's own state (svm.c): common code never looks inside */
	int last_cpu;
	bool need_flush;
	s64 tlb_gen; /* the partition's tlb_gen at the last flush */

	struct fpu_guest guest_fpu;
	u64 xcr0;
	u32 pkru; /* live only while the guest can change it (CR4.PKE or XCR0.PKRU) */
	u64 db[4]; /* DR0-3: guest accesses are intercepted, loaded only while DR7 enables them */

	/* MSR shadows */
	u64 apic_base;
	u64 tsc_aux;
	u64 mtrr_def_type;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];

	/* Interrupts asserted by the root (no virtual APIC yet). */
	unsigned long irr[256 / BITS_PER_LONG];
	bool nmi_pending;
	/* An exception queued by the root or by emulation. */
	bool exc_pending;
	u8 exc_vector;
	bool exc_has_error;
	u32 exc_error;

	/* Full-guest partitions only */
	struct linhv_lapic lapic;
	struct linhv_synic synic;
	int mp_state; /* enum linhv_mp_state */
	bool init_pending;
	int sipi_vector; /* -1: none pending */

	bool halted;
	bool dead; /* shutdown / triple fault: stays stopped */
	u32 dead_exit_code;

	int mode; /* enum linhv_vp_mode, read by kickers */
	int kick_req; /* set by every kick, cleared before each injection decision */
	wait_queue_head_t wq;

	/* The last exits (vendor codes), printed when the guest triple-faults (dump.c). */
	struct linhv_exit_rec {
		u64 code, info1, info2, int_info, inj, rip, cr3;
	} hist[LINHV_EXIT_HIST];
	u32 hist_pos;
	u32 audit_exits; /* audit.c */
};

/* vendor.c: choose the vendor, turn virtualization on for every CPU, and off again. */
int linhv_arch_init(void);
void linhv_arch_exit(void);

/* iommu.c: assigned devices, under mem_lock */
void linhv_iommu_init(struct linhv_partition *part);
void linhv_iommu_destroy(struct linhv_partition *part);
u16 linhv_iommu_attach(struct linhv_partition *part, const void *in, u32 in_size);
u16 linhv_iommu_detach(struct linhv_partition *part, const void *in, u32 in_size);
bool linhv_iommu_attached(struct linhv_partition *part, struct pci_dev *pdev);
int linhv_iommu_region_added(struct linhv_partition *part, struct linhv_region *r);
void linhv_iommu_region_removed(struct linhv_partition *part, struct linhv_region *r);
void linhv_iommu_frames(struct linhv_partition *part, u64 gpa, u64 *pinned, u64 *dma);

/* devirq.c: assigned devices' MSI-X/MSI routed to VPs */
struct pci_dev;
void linhv_devirq_init(struct linhv_partition *part);
u16 linhv_devirq_call(struct linhv_partition *part, bool map, const void *in, u32 in_size);
void linhv_devirq_detach(struct linhv_partition *part, struct pci_dev *pdev); /* mem_lock held */
void linhv_devirq_vp_gone(struct linhv_partition *part);
u16 linhv_devirq_guest_retarget(struct linhv_vp *vp, u64 in_gpa, u32 var_size);

/* partition.c */
long linhv_partition_create(struct linhv_hvcall *hc);
void linhv_partition_kick_all(struct linhv_partition *part, bool flush);

/* memory.c */
int linhv_map_gpa(struct linhv_partition *part, const struct linhv_in_map_gpa_pages *in);

/* True when the root asked for no intercepts on this port (LinhvCallSetIoPortPolicy). */
static inline bool linhv_io_port_unclaimed(const struct linhv_partition *part, u16 port)
{
	return part->io_claimed && !test_bit(port, part->io_claimed);
}
int linhv_unmap_gpa(struct linhv_partition *part, const struct linhv_in_unmap_gpa_pages *in);
void linhv_memory_destroy(struct linhv_partition *part);
/* The region holding gfn, or NULL; caller holds mem_lock. */
struct linhv_region *linhv_find_region(struct linhv_partition *part, u64 gfn);
/* gpa lies in a mapped region (flags: its HV_MAP_GPA_*). */
bool linhv_gpa_is_mapped(struct linhv_partition *part, u64 gpa, u32 *flags);
/* Nested page fault: 0 mapped or retry, 1 not mappable (intercept), <0 error. */
int linhv_memory_fault(struct linhv_partition *part, u64 gpa, u8 access);
/* A referenced (not pinned) guest page for a short kernel access; put_page() it. */
struct page *linhv_guest_page_get(struct linhv_partition *part, u64 gpa, bool write);
void linhv_memory_flush_tlb(struct linhv_partition *part);
int linhv_read_guest(struct linhv_partition *part, u64 gpa, void *buf, size_t len);
int linhv_write_guest(struct linhv_partition *part, u64 gpa, const void *buf, size_t len);

/* npt.c */
int linhv_npt_init(struct linhv_npt *npt);
void linhv_npt_destroy(struct linhv_npt *npt);
int linhv_npt_topup(struct linhv_npt *npt);
int linhv_npt_map_locked(struct linhv_npt *npt, u64 gpa, u64 hpa, u32 flags, int leaf_level);
void linhv_npt_unmap_range_locked(struct linhv_npt *npt, u64 gpa, u64 size, u32 why);
u64 linhv_npt_lookup_locked(struct linhv_npt *npt, u64 gpa);
u64 linhv_npt_lookup_level_locked(struct linhv_npt *npt, u64 gpa, int *leaf_level);
unsigned long linhv_npt_leaf_pfn(u64 leaf);
bool linhv_npt_leaf_writable(u64 leaf);
bool linhv_npt_leaf_noref(u64 leaf); /* device memory: no page behind it */
int linhv_npt_walk_leaves_locked(struct linhv_npt *npt,
				 int (*fn)(void *ctx, u64 gpa, u64 leaf, int level), void *ctx);

/* audit.c: debug-only NPT audit (module parameter npt_audit). */
void linhv_audit_fault(struct linhv_vp *vp, u64 gpa);
void linhv_audit_exit(struct linhv_vp *vp);

/* gva.c: guest virtual to guest physical, using the VP's paging mode. */
int linhv_gva_to_gpa(struct linhv_vp *vp, u64 gva, bool write, u64 *gpa);
int linhv_fetch_insn(struct linhv_vp *vp, u8 *bytes, int max);

/* vp.c */
/*
 * Returns a reserved fd and sets *filep: the caller fd_install()s it once the
 * root has been told the number, or put_unused_fd()s and fput()s it.
 */
long linhv_vp_create(struct linhv_partition *part, struct linhv_hvcall *hc, const void *in,
		     struct file **filep);
int linhv_vp_get_registers(struct linhv_vp *vp, const u32 *names, union hv_register_value *vals,
			   u32 count);
int linhv_vp_set_registers(struct linhv_vp *vp, const struct hv_register_assoc *regs, u32 count);
void linhv_vp_kick(struct linhv_vp *vp, bool wait);
int linhv_vp_assert_interrupt(struct linhv_vp *vp, u32 type, u32 vector);

/* The registers linhv_arch_state_valid() checks, as the vendor holds them. */
struct linhv_arch_state {
	u64 cr0, cr3, cr4, efer, dr6, dr7, rflags;
	bool cs_l, cs_d;
};
bool linhv_arch_state_valid(const struct linhv_arch_state *st);

/*
 * run.c: the run loop and what every vendor's exit handlers share. The
 * int-returning calls give the vendor's ->run its result (enum
 * linhv_run_result).
 */
int linhv_vp_run(struct linhv_vp *vp);
void linhv_vp_reset_regs(struct linhv_vp *vp);
void linhv_queue_exception(struct linhv_vp *vp, u8 vector, bool has_err, u32 err);
void *linhv_msg_begin(struct linhv_vp *vp, u32 type, size_t size, u8 insn_len, u8 access);
void linhv_msg_simple(struct linhv_vp *vp, u32 type, u32 exit_code);
int linhv_msg_io(struct linhv_vp *vp, u16 port, u8 size, bool in, bool string, bool rep,
		 u8 insn_len);
int linhv_msg_cpuid(struct linhv_vp *vp, const u32 def[4], u8 insn_len);
int linhv_msg_msr(struct linhv_vp *vp, u32 msr, bool write, u8 insn_len);
int linhv_vp_die(struct linhv_vp *vp, u32 type, u64 exit_code);
int linhv_gpa_fault(struct linhv_vp *vp, u64 gpa, u8 access, u32 exit_code);
int linhv_vp_halt(struct linhv_vp *vp, bool irq_enabled);
/* Around the vendor's world switch, with interrupts off (run.c). */
bool linhv_vp_enter_begin(struct linhv_vp *vp, int cpu);
void linhv_vp_enter_end(struct linhv_vp *vp, int cpu);
void linhv_cpu_virt_on(void);
/* The host state a guest uses without exits, swapped around the entry. */
struct linhv_guest_switch {
	bool xcr0, tsc_aux, pkru, guest_dr, host_dr;
	u32 host_pkru;
};
void linhv_guest_switch_in(struct linhv_vp *vp, u64 cr4, u64 dr7, struct linhv_guest_switch *sw);
void linhv_guest_switch_out(struct linhv_vp *vp, const struct linhv_guest_switch *sw);

/* dump.c: log a VP's state after a triple fault. */
void linhv_dump_triple_fault(struct linhv_vp *vp);

/* cpuid.c, msr.c: emulation done in the kernel. */
void linhv_cpuid(struct linhv_vp *vp, u32 fn, u32 idx, u32 out[4], bool *forward);
u64 linhv_guest_xcr0_mask(struct linhv_vp *vp);
bool linhv_xcr0_valid(u64 xcr0, u64 allowed);
u64 linhv_guest_cr4_mask(struct linhv_vp *vp);
/* Returns 0 handled, 1 forward to the root, -1 inject #GP. */
int linhv_msr_read(struct linhv_vp *vp, u32 msr, u64 *val);
int linhv_msr_write(struct linhv_vp *vp, u32 msr, u64 val);

/* lapic.c */
void linhv_lapic_init(struct linhv_vp *vp);
void linhv_lapic_destroy(struct linhv_vp *vp);
void linhv_lapic_accept(struct linhv_vp *vp, u8 vector);
int linhv_lapic_pending(struct linhv_vp *vp); /* deliverable vector or -1 */
void linhv_lapic_ack(struct linhv_vp *vp, u8 vector);
bool linhv_is_lapic_msr(u32 msr);
int linhv_lapic_msr_read(struct linhv_vp *vp, u32 msr, u64 *val);
int linhv_lapic_msr_write(struct linhv_vp *vp, u32 msr, u64 val);
void linhv_lapic_sync_tpr(struct linhv_vp *vp);
void linhv_lapic_lazy_eoi_arm(struct linhv_vp *vp); /* just before an entry */
void linhv_lapic_lazy_eoi_sync(struct linhv_vp *vp); /* after an exit, before its handler */
enum { LINHV_LAPIC_HV_EOI, LINHV_LAPIC_HV_ICR, LINHV_LAPIC_HV_TPR };
int linhv_lapic_hv_msr_read(struct linhv_vp *vp, u32 reg, u64 *val);
int linhv_lapic_hv_msr_write(struct linhv_vp *vp, u32 reg, u64 val);

/* hyperv.c */
bool linhv_hv_cpuid(struct linhv_vp *vp, u32 fn, u32 r[4]);
bool linhv_is_hv_msr(u32 msr);
int linhv_hv_msr_read(struct linhv_vp *vp, u32 msr, u64 *val);
int linhv_hv_msr_write(struct linhv_vp *vp, u32 msr, u64 val);
void linhv_hv_hypercall(struct linhv_vp *vp);
u64 linhv_hv_ref_time(struct linhv_partition *part);

/* synic.c */
void linhv_synic_init(struct linhv_vp *vp);
void linhv_synic_destroy(struct linhv_vp *vp);
void linhv_synic_eom(struct linhv_vp *vp);
bool linhv_synic_auto_eoi(struct linhv_vp *vp, u8 vector);
u16 linhv_synic_post_direct(struct linhv_partition *part, const void *in, u32 in_size);
u16 linhv_synic_signal_direct(struct linhv_partition *part, const void *in, u32 in_size,
			      void *out, u32 out_size);
u16 linhv_synic_set_event_fd(struct linhv_partition *part, const void *in, u32 in_size);
u16 linhv_synic_set_msg_conn(struct linhv_partition *part, const void *in, u32 in_size);
u16 linhv_synic_set_posted_fd(struct linhv_partition *part, const void *in, u32 in_size);
u16 linhv_synic_read_posted(struct linhv_partition *part, void *out, u32 out_size);
u16 linhv_synic_guest_post(struct linhv_vp *vp, u64 in_gpa);
u16 linhv_synic_guest_signal(struct linhv_vp *vp, u32 conn_id);
int linhv_partition_hv_init(struct linhv_partition *part);
void linhv_partition_hv_destroy(struct linhv_partition *part);

/* decode.c */
int linhv_insn_length(const u8 *b, int n, bool long_mode, const u8 *op, int op_len);
struct linhv_mov_crdr {
	u8 len; /* instruction length */
	u8 ctl; /* CR or DR number, 0-15 */
	u8 gpr; /* general register number, 0 (RAX) - 15 (R15) */
};
int linhv_decode_mov_crdr(const u8 *b, int n, bool long_mode, u8 op2, struct linhv_mov_crdr *out);

#endif /* LINHV_INTERNAL_H */
