// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VT-x with EPT, the vendor layer's implementation (vendor.h): VMXON
 * per CPU, a VMCS per VP, one world switch and the VM exits. Exits the
 * hypervisor owns (CPUID, known MSRs, XSETBV, CR and DR accesses) are
 * completed here; HLT, EPT violations and the TLFS intercept messages for
 * the root go through the common code in run.c, as for SVM.
 *
 * The VP's guest state lives in struct vmx_vp, not in the VMCS: it is
 * written into the VMCS before each entry and read back after the exit,
 * with the VMCS current on that CPU and interrupts off. So the register
 * accessors the common code calls from any CPU never touch the VMCS, and
 * the VMCS is only ever used where it is loaded. A VMCS is current on at
 * most one CPU: when the VP's thread moves, the old CPU VMCLEARs it first.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/apic.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "linhv_internal.h"
#include "vmx.h"

/* What this CPU model allows, chosen once at load (vmx_setup_config). */
static struct vmx_config {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;
	bool vpid;
	int invept_type, invvpid_type;
	u32 preempt_timer; /* VMX-preemption timer start value, 0: not used */
} vcfg;

static DEFINE_PER_CPU(struct page *, vmxon_page);
static DEFINE_PER_CPU(struct vmx_vp *, current_vmcs); /* the VMCS VMPTRLD last made current */
static DEFINE_PER_CPU(struct list_head, loaded_vmcss); /* VMCSs active (not VMCLEARed) here */
static DEFINE_PER_CPU(bool, vmx_on);
static enum cpuhp_state vmx_hp_state;
static struct page *msr_bitmap;
static DEFINE_IDA(vpid_ida);

/* A segment as VMX keeps it (access rights in the VMCS format). */
struct vmx_seg {
	u64 base;
	u32 limit;
	u32 ar;
	u16 sel;
};

#define NR_SEGS (LINHV_SEG_IDTR + 1)

/* The VMX half of a VP (linhv_vp.vendor). */
struct vmx_vp {
	void *vmcs;
	u64 vmcs_pa;
	int cpu; /* where the VMCS is active, or -1 */
	bool launched;
	bool host_cpu_fields; /* the per-CPU host fields are written for cpu */
	bool controls_written;
	struct list_head cpu_link;
	u16 vpid;

	struct vmx_gprs gprs; /* RSP in slot 4 */
	u64 rip, rflags;
	u64 cr0, cr2, cr3, cr4; /* as the guest sees them */
	u64 efer, dr6, dr7, pat;
	u64 kernel_gs_base, star, lstar, cstar, sfmask;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 pdptr[4];
	bool pdptr_stale; /* the root changed the paging state: reload them from memory */
	struct vmx_seg seg[NR_SEGS];
	u32 interruptibility;
	u32 entry_intr; /* VM-entry interruption information */
	u32 entry_err;
	u32 proc; /* primary processor-based controls now */
	u64 tsc_offset;
	u8 tpr;

	/* The last exit. */
	u32 exit_reason;
	u64 exit_qual;
	u32 exit_intr, exit_intr_err, idt_info, idt_err, exit_insn_len;
	u64 exit_gpa;
	bool vmfail;
	u32 insn_error;
};

static inline struct vmx_vp *vmx(struct linhv_vp *vp)
{
	return vp->vendor;
}

/* ---- VMX instructions ---- */

static __always_inline void vmcs_write(unsigned long field, u64 val)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "rm"(val) : "cc");
}

static __always_inline u64 vmcs_read(unsigned long field)
{
	u64 val;

	asm volatile("vmread %1, %0" : "=rm"(val) : "r"(field) : "cc");
	return val;
}

/* These return true on failure (CF or ZF set). */
static bool vmxon(u64 pa)
{
	bool fail;

	asm volatile("vmxon %1\n\tsetna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail;
}

static void vmxoff(void)
{
	asm volatile("vmxoff" : : : "cc", "memory");
}

static bool vmclear(u64 pa)
{
	bool fail;

	asm volatile("vmclear %1\n\tsetna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail;
}

static bool vmptrld(u64 pa)
{
	bool fail;

	asm volatile("vmptrld %1\n\tsetna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail;
}

static void invept(int type, u64 eptp)
{
	struct {
		u64 eptp, zero;
	} desc = {eptp, 0};

	asm volatile("invept %0, %1" : : "m"(desc), "r"((u64)type) : "cc", "memory");
}

static void invvpid(int type, u16 vpid)
{
	struct {
		u64 vpid, gla;
	} desc = {vpid, 0};

	asm volatile("invvpid %0, %1" : : "m"(desc), "r"((u64)type) : "cc", "memory");
}

/* ---- capabilities ---- */

struct ctl_need {
	u32 bit;
	const char *name;
};

/*
 * The controls wanted, adjusted to the capability MSR (allowed 0-settings
 * in the low half, allowed 1-settings in the high half). Returns the name
 * of the first required control the CPU cannot set, or NULL.
 */
static const char *adjust(u32 msr, const struct ctl_need *req, int nreq, u32 opt, u32 *out)
{
	u32 lo, hi, want = opt;
	int i;

	rdmsr(msr, lo, hi);
	for (i = 0; i < nreq; i++) {
		if (!(hi & req[i].bit))
			return req[i].name;
		want |= req[i].bit;
	}
	*out = (want & hi) | lo;
	return NULL;
}

static int vmx_setup_config(void)
{
	static const struct ctl_need pin_req[] = {
		{PIN_BASED_EXT_INTR_MASK, "external-interrupt exiting"},
		{PIN_BASED_NMI_EXITING, "NMI exiting"},
		{PIN_BASED_VIRTUAL_NMIS, "virtual NMIs"},
	};
	static const struct ctl_need proc_req[] = {
		{CPU_BASED_HLT_EXITING, "HLT exiting"},
		{CPU_BASED_USE_TSC_OFFSETTING, "TSC offsetting"},
		{CPU_BASED_CR8_LOAD_EXITING, "CR8-load exiting"},
		{CPU_BASED_CR8_STORE_EXITING, "CR8-store exiting"},
		{CPU_BASED_MOV_DR_EXITING, "MOV-DR exiting"},
		{CPU_BASED_UNCOND_IO_EXITING, "unconditional I/O exiting"},
		{CPU_BASED_USE_MSR_BITMAPS, "MSR bitmaps"},
		{CPU_BASED_RDPMC_EXITING, "RDPMC exiting"},
		{CPU_BASED_MWAIT_EXITING, "MWAIT exiting"},
		{CPU_BASED_MONITOR_EXITING, "MONITOR exiting"},
		{CPU_BASED_INTR_WINDOW_EXITING, "interrupt-window exiting"},
		{CPU_BASED_NMI_WINDOW_EXITING, "NMI-window exiting"},
		{CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, "secondary controls"},
	};
	static const struct ctl_need proc2_req[] = {
		{SECONDARY_EXEC_ENABLE_EPT, "EPT"},
		{SECONDARY_EXEC_UNRESTRICTED_GUEST, "unrestricted guest"},
	};
	static const struct ctl_need exit_req[] = {
		{VM_EXIT_HOST_ADDR_SPACE_SIZE, "64-bit host"},
		{VM_EXIT_SAVE_IA32_PAT, "save PAT"},
		{VM_EXIT_LOAD_IA32_PAT, "load PAT at exit"},
		{VM_EXIT_SAVE_IA32_EFER, "save EFER"},
		{VM_EXIT_LOAD_IA32_EFER, "load EFER at exit"},
		{VM_EXIT_SAVE_DEBUG_CONTROLS, "save debug controls"},
	};
	static const struct ctl_need entry_req[] = {
		{VM_ENTRY_LOAD_IA32_PAT, "load PAT at entry"},
		{VM_ENTRY_LOAD_IA32_EFER, "load EFER at entry"},
		{VM_ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls"},
		{VM_ENTRY_IA32E_MODE, "IA-32e mode guest"},
	};
	u64 basic, cap;
	bool true_ctls;
	u32 opt2 = 0;
	const char *miss;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	vcfg.revision = basic & 0x7fffffff;
	if (((basic >> VMX_BASIC_VMCS_SIZE_SHIFT) & 0x1fff) > PAGE_SIZE) {
		pr_err("linhv: VT-x: a VMCS larger than a page is not supported\n");
		return -ENODEV;
	}
	if (boot_cpu_has(X86_FEATURE_RDTSCP))
		opt2 |= SECONDARY_EXEC_ENABLE_RDTSCP;
	if (boot_cpu_has(X86_FEATURE_INVPCID))
		opt2 |= SECONDARY_EXEC_ENABLE_INVPCID;
	if (boot_cpu_has(X86_FEATURE_XSAVES))
		opt2 |= SECONDARY_EXEC_XSAVES;
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, cap);
	vcfg.ept_vpid_cap = cap;
	if ((cap & VMX_VPID_INVVPID_BIT << 32) &&
	    (cap & (VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT | VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT) << 32))
		opt2 |= SECONDARY_EXEC_ENABLE_VPID;

	miss = adjust(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
		      pin_req, ARRAY_SIZE(pin_req), PIN_BASED_VMX_PREEMPTION_TIMER, &vcfg.pin);
	if (!miss)
		miss = adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					  MSR_IA32_VMX_PROCBASED_CTLS,
			      proc_req, ARRAY_SIZE(proc_req), 0, &vcfg.proc);
	if (!miss)
		miss = adjust(MSR_IA32_VMX_PROCBASED_CTLS2, proc2_req, ARRAY_SIZE(proc2_req), opt2,
			      &vcfg.proc2);
	if (!miss)
		miss = adjust(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
			      exit_req, ARRAY_SIZE(exit_req), 0, &vcfg.exit);
	if (!miss)
		miss = adjust(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
			      entry_req, ARRAY_SIZE(entry_req), 0, &vcfg.entry);
	if (!miss && !(cap & VMX_EPT_PAGE_WALK_4_BIT))
		miss = "4-level EPT";
	if (!miss && !(cap & VMX_EPTP_WB_BIT))
		miss = "write-back EPT tables";
	if (!miss && !(cap & VMX_EPT_2MB_PAGE_BIT))
		miss = "2 MiB EPT pages";
	if (!miss && !(cap & VMX_EPT_INVEPT_BIT))
		miss = "INVEPT";
	if (!miss && !(cap & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT)))
		miss = "INVEPT single-context or global";
	if (miss) {
		pr_err("linhv: VT-x lacks %s, which linhv needs; cannot load\n", miss);
		return -ENODEV;
	}
	/* Set only while a window is wanted; IA-32e mode follows the guest's EFER.LMA. */
	vcfg.proc &= ~(CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING);
	vcfg.entry &= ~VM_ENTRY_IA32E_MODE;
	vcfg.vpid = vcfg.proc2 & SECONDARY_EXEC_ENABLE_VPID;
	vcfg.invept_type = (cap & VMX_EPT_EXTENT_CONTEXT_BIT) ? VMX_EPT_EXTENT_CONTEXT :
								  VMX_EPT_EXTENT_GLOBAL;
	vcfg.invvpid_type = (cap & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32) ?
				    VMX_VPID_EXTENT_SINGLE_CONTEXT :
				    VMX_VPID_EXTENT_ALL_CONTEXT;
	/*
	 * A guest running with interrupts off must still exit now and then,
	 * so that the host's interrupts (its scheduler tick) are taken: Bochs
	 * leaves a pending host interrupt masked in that case although
	 * external-interrupt exiting is on. The preemption timer forces an
	 * exit every ~4 ms of guest time; on hardware it costs next to nothing.
	 */
	if (vcfg.pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		u64 misc, ticks = (u64)(tsc_khz ? tsc_khz : 1000000) * 4;

		rdmsrl(MSR_IA32_VMX_MISC, misc);
		vcfg.preempt_timer = min_t(u64, ticks >> (misc & 0x1f), U32_MAX) ?: 1;
	}
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vcfg.cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vcfg.cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vcfg.cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vcfg.cr4_fixed1);
	/* Unrestricted guest: PE and PG are the guest's. */
	vcfg.cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	return 0;
}

/* CR0 bits the host owns: the guest reads its own value from the read shadow. */
static inline u64 cr0_host_mask(void)
{
	return vcfg.cr0_fixed0 | ~vcfg.cr0_fixed1;
}

/* ---- per-CPU enable/disable ---- */

static void vmcs_clear_local(struct vmx_vp *vx)
{
	vmclear(vx->vmcs_pa);
	if (__this_cpu_read(current_vmcs) == vx)
		__this_cpu_write(current_vmcs, NULL);
	list_del(&vx->cpu_link);
	vx->launched = false;
	vx->host_cpu_fields = false;
	/* Pairs with the READ_ONCE in vmcs_migrate(): cleared after the VMCLEAR. */
	smp_wmb();
	WRITE_ONCE(vx->cpu, -1);
}

static void vmcs_clear_ipi(void *arg)
{
	struct vmx_vp *vx = arg;

	if (READ_ONCE(vx->cpu) == smp_processor_id())
		vmcs_clear_local(vx);
}

static int vmx_cpu_online(unsigned int cpu)
{
	struct page *pg = per_cpu(vmxon_page, cpu);
	unsigned long flags;
	u64 fc;
	int ret = 0;

	if (!pg) {
		pg = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!pg)
			return -ENOMEM;
		per_cpu(vmxon_page, cpu) = pg;
	}
	*(u32 *)page_address(pg) = vcfg.revision;
	INIT_LIST_HEAD(&per_cpu(loaded_vmcss, cpu));
	per_cpu(current_vmcs, cpu) = NULL;

	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & FEAT_CTL_LOCKED)) {
		/* Firmware left it open (the kernel normally locks it at boot). */
		fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsrl(MSR_IA32_FEAT_CTL, fc);
	}
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("linhv: CPU %u: VT-x is disabled by the firmware (IA32_FEATURE_CONTROL)\n", cpu);
		return -ENODEV;
	}
	local_irq_save(flags);
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("linhv: CPU %u already has CR4.VMXE set: another hypervisor is active\n", cpu);
		ret = -EBUSY;
		goto out;
	}
	cr4_set_bits(X86_CR4_VMXE);
	if (vmxon(page_to_phys(pg))) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_err("linhv: CPU %u: VMXON failed\n", cpu);
		ret = -EIO;
		goto out;
	}
	/* Nothing of an earlier owner of this CPU's EPT and VPID tags may survive. */
	invept(VMX_EPT_EXTENT_GLOBAL, 0);
	__this_cpu_write(vmx_on, true);
	linhv_cpu_virt_on();
out:
	local_irq_restore(flags);
	return ret;
}

static int vmx_cpu_offline(unsigned int cpu)
{
	struct vmx_vp *vx, *tmp;
	unsigned long flags;

	local_irq_save(flags);
	list_for_each_entry_safe(vx, tmp, this_cpu_ptr(&loaded_vmcss), cpu_link)
		vmcs_clear_local(vx);
	if (__this_cpu_read(vmx_on)) {
		vmxoff();
		cr4_clear_bits(X86_CR4_VMXE);
		__this_cpu_write(vmx_on, false);
	}
	local_irq_restore(flags);
	return 0;
}

/* Two bitmaps of 1024 bytes each for reads and writes: low MSRs, then 0xc0000000-0xc0001fff. */
static void msr_bitmap_allow(u8 *bm, u32 msr)
{
	u32 base = msr >= 0xc0000000 ? 0x400 : 0;
	u32 off = msr & 0x1fff;

	bm[base + off / 8] &= ~BIT(off % 8);
	bm[0x800 + base + off / 8] &= ~BIT(off % 8);
}

static void free_percpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(vmxon_page, cpu))
			__free_page(per_cpu(vmxon_page, cpu));
		per_cpu(vmxon_page, cpu) = NULL;
	}
}

int linhv_vmx_hw_init(void)
{
	/* The guest's own copies: FS/GS/SYSENTER are in the VMCS, the others switched around it. */
	static const u32 passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP,
	};
	int i, ret;

	ret = vmx_setup_config();
	if (ret)
		return ret;
	msr_bitmap = alloc_page(GFP_KERNEL);
	if (!msr_bitmap)
		return -ENOMEM;
	memset(page_address(msr_bitmap), 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough); i++)
		msr_bitmap_allow(page_address(msr_bitmap), passthrough[i]);

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "linhv/vmx:online", vmx_cpu_online,
				vmx_cpu_offline);
	if (ret < 0) {
		pr_err("linhv: could not enable VT-x on every CPU (%d)\n", ret);
		__free_page(msr_bitmap);
		free_percpu_pages();
		return ret;
	}
	vmx_hp_state = ret;
	return 0;
}

void linhv_vmx_hw_exit(void)
{
	if (!vmx_hp_state)
		return;
	cpuhp_remove_state(vmx_hp_state);
	vmx_hp_state = 0;
	__free_page(msr_bitmap);
	free_percpu_pages();
}

/* ---- VMCS ---- */

static int vmx_vp_init(struct linhv_vp *vp)
{
	struct vmx_vp *vx = kzalloc(sizeof(*vx), GFP_KERNEL_ACCOUNT);
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	int vpid = 0;

	if (vcfg.vpid)
		vpid = ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL);
	if (!vx || !pg || vpid < 0) {
		kfree(vx);
		if (pg)
			__free_page(pg);
		if (vpid > 0)
			ida_free(&vpid_ida, vpid);
		return -ENOMEM;
	}
	vx->vmcs = page_address(pg);
	vx->vmcs_pa = page_to_phys(pg);
	*(u32 *)vx->vmcs = vcfg.revision;
	vx->cpu = -1;
	INIT_LIST_HEAD(&vx->cpu_link);
	vx->vpid = vpid;
	vx->proc = vcfg.proc;
	vx->tsc_offset = vp->part->tsc_offset;
	vp->vendor = vx;
	return 0;
}

/* Every register zero and no event: run.c sets the reset values on top. */
static void vmx_vp_clear(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	memset(&vx->gprs, 0, sizeof(vx->gprs));
	vx->rip = vx->rflags = 0;
	vx->cr0 = vx->cr2 = vx->cr3 = vx->cr4 = 0;
	vx->efer = vx->dr6 = vx->dr7 = vx->pat = 0;
	vx->kernel_gs_base = vx->star = vx->lstar = vx->cstar = vx->sfmask = 0;
	vx->sysenter_cs = vx->sysenter_esp = vx->sysenter_eip = 0;
	memset(vx->pdptr, 0, sizeof(vx->pdptr));
	vx->pdptr_stale = false;
	memset(vx->seg, 0, sizeof(vx->seg));
	vx->interruptibility = 0;
	vx->entry_intr = 0;
	vx->tpr = 0;
	vx->proc &= ~(CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING);
}

static void vmx_vp_free(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	int cpu;

	if (!vx)
		return;
	/* Inactive everywhere before the page goes back. */
	cpus_read_lock();
	cpu = READ_ONCE(vx->cpu);
	if (cpu >= 0)
		smp_call_function_single(cpu, vmcs_clear_ipi, vx, 1);
	cpus_read_unlock();
	WARN_ON_ONCE(READ_ONCE(vx->cpu) >= 0);
	free_page((unsigned long)vx->vmcs);
	if (vx->vpid)
		ida_free(&vpid_ida, vx->vpid);
	kfree(vx);
	vp->vendor = NULL;
}

/* ---- helpers ---- */

static bool long_mode_cs(struct vmx_vp *vx)
{
	return (vx->efer & EFER_LMA) && (vx->seg[LINHV_SEG_CS].ar & VMX_AR_L_MASK);
}

static u8 cpl(struct vmx_vp *vx)
{
	return VMX_AR_DPL(vx->seg[LINHV_SEG_SS].ar);
}

/* Paging with PAE tables but not long mode: the CPU uses the four PDPTEs of the VMCS. */
static bool pae_paging(struct vmx_vp *vx)
{
	return (vx->cr0 & X86_CR0_PG) && (vx->cr4 & X86_CR4_PAE) && !(vx->efer & EFER_LMA);
}

static void skip(struct linhv_vp *vp, int len)
{
	struct vmx_vp *vx = vmx(vp);

	vx->rip += len;
	if (!long_mode_cs(vx))
		vx->rip = (u32)vx->rip;
	vx->interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	/* The single-step trap the CPU would have raised after the instruction. */
	if (vx->rflags & X86_EFLAGS_TF) {
		vx->dr6 |= DR_STEP;
		linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
	}
}

/* ---- events ---- */

static bool vmx_event_pending(struct linhv_vp *vp)
{
	return vmx(vp)->entry_intr & INTR_INFO_VALID_MASK;
}

static void vmx_cancel_event(struct linhv_vp *vp)
{
	vmx(vp)->entry_intr = 0;
}

static void vmx_inject_exception(struct linhv_vp *vp, u8 vector, bool has_err, u32 err)
{
	struct vmx_vp *vx = vmx(vp);

	/* Real mode pushes no error code (and VM entry refuses one there). */
	if (!(vx->cr0 & X86_CR0_PE))
		has_err = false;
	vx->entry_intr = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK |
			 (has_err ? INTR_INFO_DELIVER_CODE_MASK : 0);
	vx->entry_err = err;
}

static void vmx_inject_nmi(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	/* VM entry may refuse an NMI in an interrupt shadow or while NMIs block: wait for the window. */
	if (vx->interruptibility &
	    (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_STI)) {
		WRITE_ONCE(vp->nmi_pending, true);
		vx->proc |= CPU_BASED_NMI_WINDOW_EXITING;
		return;
	}
	vx->entry_intr = NMI_VECTOR | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK;
}

static bool vmx_irq_allowed(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	return (vx->rflags & X86_EFLAGS_IF) &&
	       !(vx->interruptibility & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

static void vmx_inject_irq(struct linhv_vp *vp, u8 vector)
{
	struct vmx_vp *vx = vmx(vp);

	vx->entry_intr = vector | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK;
	vx->proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
}

static void vmx_enable_irq_window(struct linhv_vp *vp)
{
	vmx(vp)->proc |= CPU_BASED_INTR_WINDOW_EXITING;
}

/* ---- the VMCS around one entry ---- */

/* The controls that never change for a VMCS. */
static void write_controls(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vcfg.pin);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vcfg.proc2);
	vmcs_write(VM_EXIT_CONTROLS, vcfg.exit);
	/*
	 * #DB and #AC always exit: a guest can make their delivery raise the
	 * same exception again, which loops inside the CPU with no interrupt
	 * window (CVE-2015-8104, CVE-2015-5307).
	 */
	vmcs_write(EXCEPTION_BITMAP, BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(MSR_BITMAP, page_to_phys(msr_bitmap));
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(EPT_POINTER, vp->part->npt.root_pa | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
	if (vcfg.vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vx->vpid);
	if (vcfg.proc2 & SECONDARY_EXEC_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, 0);
	/* The host owns the fixed CR0 bits and every CR4 bit: CR4 writes are checked (cpuid.c). */
	vmcs_write(CR0_GUEST_HOST_MASK, cr0_host_mask());
	vmcs_write(CR4_GUEST_HOST_MASK, ~0UL);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_RIP, (unsigned long)linhv_vmx_vmexit);
}

/* Host state that belongs to this CPU: written when the VMCS arrives here. */
static void write_host_cpu_fields(int cpu)
{
	struct desc_ptr dt;
	u64 v;

	vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	native_store_gdt(&dt);
	vmcs_write(HOST_GDTR_BASE, dt.address);
	store_idt(&dt);
	vmcs_write(HOST_IDTR_BASE, dt.address);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(HOST_IA32_PAT, v);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
}

static void write_seg(int i, const struct vmx_seg *s)
{
	if (i == LINHV_SEG_GDTR) {
		vmcs_write(GUEST_GDTR_BASE, s->base);
		vmcs_write(GUEST_GDTR_LIMIT, s->limit);
		return;
	}
	if (i == LINHV_SEG_IDTR) {
		vmcs_write(GUEST_IDTR_BASE, s->base);
		vmcs_write(GUEST_IDTR_LIMIT, s->limit);
		return;
	}
	/* ES, CS, SS, DS, FS, GS, LDTR, TR: the VMCS orders them as enum linhv_seg does. */
	vmcs_write(GUEST_ES_SELECTOR + 2 * i, s->sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, s->base);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, s->limit);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, s->ar);
}

static void read_seg(int i, struct vmx_seg *s)
{
	if (i == LINHV_SEG_GDTR) {
		s->base = vmcs_read(GUEST_GDTR_BASE);
		s->limit = vmcs_read(GUEST_GDTR_LIMIT);
		return;
	}
	if (i == LINHV_SEG_IDTR) {
		s->base = vmcs_read(GUEST_IDTR_BASE);
		s->limit = vmcs_read(GUEST_IDTR_LIMIT);
		return;
	}
	s->sel = vmcs_read(GUEST_ES_SELECTOR + 2 * i);
	s->base = vmcs_read(GUEST_ES_BASE + 2 * i);
	s->limit = vmcs_read(GUEST_ES_LIMIT + 2 * i);
	s->ar = vmcs_read(GUEST_ES_AR_BYTES + 2 * i);
}

static void write_guest_state(struct vmx_vp *vx)
{
	u32 intr = vx->interruptibility;
	u64 pending_dbg = 0;
	int i;

	for (i = 0; i < NR_SEGS; i++)
		write_seg(i, &vx->seg[i]);
	vmcs_write(GUEST_RIP, vx->rip);
	vmcs_write(GUEST_RSP, vx->gprs.r[LINHV_REG_RSP]);
	vmcs_write(GUEST_RFLAGS, vx->rflags);
	vmcs_write(GUEST_CR0, vx->cr0 | vcfg.cr0_fixed0);
	vmcs_write(CR0_READ_SHADOW, vx->cr0);
	vmcs_write(GUEST_CR3, vx->cr3);
	vmcs_write(GUEST_CR4, vx->cr4 | vcfg.cr4_fixed0);
	vmcs_write(CR4_READ_SHADOW, vx->cr4);
	vmcs_write(GUEST_DR7, vx->dr7);
	vmcs_write(GUEST_IA32_EFER, vx->efer);
	vmcs_write(GUEST_IA32_PAT, vx->pat);
	vmcs_write(GUEST_SYSENTER_CS, vx->sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, vx->sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, vx->sysenter_eip);
	if (pae_paging(vx)) {
		vmcs_write(GUEST_PDPTR0, vx->pdptr[0]);
		vmcs_write(GUEST_PDPTR1, vx->pdptr[1]);
		vmcs_write(GUEST_PDPTR2, vx->pdptr[2]);
		vmcs_write(GUEST_PDPTR3, vx->pdptr[3]);
	}
	/* VM entry wants MOV-SS blocking, not STI blocking, while IF is clear. */
	if ((intr & GUEST_INTR_STATE_STI) && !(vx->rflags & X86_EFLAGS_IF))
		intr = (intr & ~GUEST_INTR_STATE_STI) | GUEST_INTR_STATE_MOV_SS;
	/* Single-stepping out of an interrupt shadow: the trap stays pending (SDM 26.3.1.5). */
	if ((vx->rflags & X86_EFLAGS_TF) && (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)))
		pending_dbg = DR_STEP;
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, pending_dbg);
	vmcs_write(GUEST_ACTIVITY_STATE, VMX_ACTIVITY_ACTIVE);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vx->entry_intr);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vx->entry_err);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, 0);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vx->proc);
	vmcs_write(VM_ENTRY_CONTROLS,
		   vcfg.entry | ((vx->efer & EFER_LMA) ? VM_ENTRY_IA32E_MODE : 0));
	vmcs_write(TSC_OFFSET, vx->tsc_offset);
	if (vcfg.preempt_timer)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vcfg.preempt_timer);
}

static void read_guest_state(struct vmx_vp *vx)
{
	u64 mask = cr0_host_mask();
	int i;

	for (i = 0; i < NR_SEGS; i++)
		read_seg(i, &vx->seg[i]);
	vx->rip = vmcs_read(GUEST_RIP);
	vx->gprs.r[LINHV_REG_RSP] = vmcs_read(GUEST_RSP);
	vx->rflags = vmcs_read(GUEST_RFLAGS);
	vx->cr0 = (vmcs_read(GUEST_CR0) & ~mask) | (vx->cr0 & mask);
	vx->cr3 = vmcs_read(GUEST_CR3);
	vx->efer = vmcs_read(GUEST_IA32_EFER);
	vx->sysenter_cs = vmcs_read(GUEST_SYSENTER_CS);
	vx->sysenter_esp = vmcs_read(GUEST_SYSENTER_ESP);
	vx->sysenter_eip = vmcs_read(GUEST_SYSENTER_EIP);
	if (pae_paging(vx)) {
		vx->pdptr[0] = vmcs_read(GUEST_PDPTR0);
		vx->pdptr[1] = vmcs_read(GUEST_PDPTR1);
		vx->pdptr[2] = vmcs_read(GUEST_PDPTR2);
		vx->pdptr[3] = vmcs_read(GUEST_PDPTR3);
	}
	vx->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vx->proc = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);

	vx->exit_reason = vmcs_read(VM_EXIT_REASON);
	vx->exit_qual = vmcs_read(EXIT_QUALIFICATION);
	vx->exit_intr = vmcs_read(VM_EXIT_INTR_INFO);
	vx->exit_intr_err = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	vx->idt_info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	vx->idt_err = vmcs_read(IDT_VECTORING_ERROR_CODE);
	vx->exit_insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	vx->exit_gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
}

/*
 * Make the VMCS active on this CPU (preemption off, interrupts on): VMCLEAR
 * it on the CPU it was active on first, so that its data is in memory.
 */
static void vmcs_migrate(struct vmx_vp *vx, int cpu)
{
	int old = READ_ONCE(vx->cpu);

	if (old == cpu || old < 0)
		return;
	smp_call_function_single(old, vmcs_clear_ipi, vx, 1);
	/* An offlined CPU cleared it in its teardown callback. */
	smp_rmb();
	WARN_ON_ONCE(READ_ONCE(vx->cpu) >= 0);
}

static void flush_guest_tlb(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	invept(vcfg.invept_type, vp->part->npt.root_pa | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
	if (vcfg.vpid)
		invvpid(vcfg.invvpid_type, vx->vpid);
}

/* Host state the VM exit does not restore, saved before the entry. */
struct vmx_host_save {
	u64 kernel_gs_base, star, lstar, cstar, sfmask, debugctl, fs_base;
	u16 ds, es, fs, gs, ldt;
};

static void switch_msrs_in(struct vmx_vp *vx, struct vmx_host_save *h)
{
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	rdmsrl(MSR_STAR, h->star);
	rdmsrl(MSR_LSTAR, h->lstar);
	rdmsrl(MSR_CSTAR, h->cstar);
	rdmsrl(MSR_SYSCALL_MASK, h->sfmask);
	rdmsrl(MSR_IA32_DEBUGCTLMSR, h->debugctl);
	wrmsrl(MSR_KERNEL_GS_BASE, vx->kernel_gs_base);
	wrmsrl(MSR_STAR, vx->star);
	wrmsrl(MSR_LSTAR, vx->lstar);
	wrmsrl(MSR_CSTAR, vx->cstar);
	wrmsrl(MSR_SYSCALL_MASK, vx->sfmask);
}

static void switch_msrs_out(struct vmx_vp *vx, const struct vmx_host_save *h)
{
	rdmsrl(MSR_KERNEL_GS_BASE, vx->kernel_gs_base);
	rdmsrl(MSR_STAR, vx->star);
	rdmsrl(MSR_LSTAR, vx->lstar);
	rdmsrl(MSR_CSTAR, vx->cstar);
	rdmsrl(MSR_SYSCALL_MASK, vx->sfmask);
	wrmsrl(MSR_STAR, h->star);
	wrmsrl(MSR_LSTAR, h->lstar);
	wrmsrl(MSR_CSTAR, h->cstar);
	wrmsrl(MSR_SYSCALL_MASK, h->sfmask);
	/* The VM exit zeroes DEBUGCTL. */
	if (h->debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, h->debugctl);
}

/* The VM exit loaded null data selectors and LDTR, and limits TR and GDTR: put the host's back. */
static void restore_host_segments(const struct vmx_host_save *h)
{
	if (h->ldt)
		asm volatile("lldt %0" : : "rm"(h->ldt));
	if (h->ds)
		loadsegment(ds, h->ds);
	if (h->es)
		loadsegment(es, h->es);
	if (h->fs) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (h->gs)
		load_gs_index(h->gs);
	/* Last: load_gs_index went through the user's GS base. */
	wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
}

static void enter_guest(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	struct linhv_guest_switch sw;
	struct vmx_host_save h;
	int cpu, fail;

	preempt_disable();
	cpu = smp_processor_id();
	vmcs_migrate(vx, cpu);
	local_irq_disable();
	if (vx->cpu < 0) {
		list_add(&vx->cpu_link, this_cpu_ptr(&loaded_vmcss));
		vx->cpu = cpu;
		vx->launched = false;
		vx->host_cpu_fields = false;
	}
	if (__this_cpu_read(current_vmcs) != vx) {
		if (vmptrld(vx->vmcs_pa))
			pr_err_ratelimited("linhv: VMPTRLD failed on CPU %d\n", cpu);
		__this_cpu_write(current_vmcs, vx);
	}
	if (!vx->controls_written) {
		write_controls(vp);
		vx->controls_written = true;
	}
	if (!vx->host_cpu_fields) {
		write_host_cpu_fields(cpu);
		vx->host_cpu_fields = true;
	}
	if (linhv_vp_enter_begin(vp, cpu))
		flush_guest_tlb(vp);

	/* Host state that can differ between entries on one CPU. */
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, cr4_read_shadow());
	rdmsrl(MSR_FS_BASE, h.fs_base);
	vmcs_write(HOST_FS_BASE, h.fs_base);
	savesegment(ds, h.ds);
	savesegment(es, h.es);
	savesegment(fs, h.fs);
	savesegment(gs, h.gs);
	asm volatile("sldt %0" : "=rm"(h.ldt));
	write_guest_state(vx);

	switch_msrs_in(vx, &h);
	linhv_guest_switch_in(vp, vx->cr4, vx->dr7, &sw);
	if (native_read_cr2() != vx->cr2)
		native_write_cr2(vx->cr2);
	fail = __linhv_vmx_vmenter(&vx->gprs, vx->launched);
	vx->cr2 = native_read_cr2();
	/* The guest's KernelGsBase first: restoring the host's segments rewrites it. */
	switch_msrs_out(vx, &h);
	restore_host_segments(&h);
	linhv_guest_switch_out(vp, &sw);

	vx->vmfail = fail;
	if (fail) {
		vx->insn_error = vmcs_read(VM_INSTRUCTION_ERROR);
	} else {
		read_guest_state(vx);
		/* A VM-entry failure (bit 31) leaves the VMCS not launched. */
		if (!(vx->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
			vx->launched = true;
		vx->entry_intr = 0;
		/* The NMI that caused the exit belongs to the host: raise it again here. */
		if ((vx->exit_reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
		    (vx->exit_intr & (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK)) ==
			    (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR))
			apic->send_IPI(cpu, NMI_VECTOR);
	}
	linhv_vp_enter_end(vp, cpu);
	local_irq_enable();
	preempt_enable();
}

/* ---- exit handlers: 0 resume the guest, 1 message for the root ---- */

static int handle_io(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 q = vx->exit_qual;
	u16 port = VMX_IO_QUAL_PORT(q);
	int size = VMX_IO_QUAL_SIZE(q);
	u64 *rax = &vx->gprs.r[LINHV_REG_RAX];

	if (!(q & VMX_IO_QUAL_STRING) && linhv_io_port_unclaimed(vp->part, port)) {
		/* Nothing behind the port: reads float high, writes vanish. */
		if (q & VMX_IO_QUAL_IN) {
			if (size == 4)
				*rax = 0xffffffffULL; /* a 32-bit write zero-extends */
			else
				*rax |= size == 2 ? 0xffffULL : 0xffULL;
		}
		skip(vp, vx->exit_insn_len);
		return 0;
	}
	return linhv_msg_io(vp, port, size, q & VMX_IO_QUAL_IN, q & VMX_IO_QUAL_STRING,
			    q & VMX_IO_QUAL_REP, vx->exit_insn_len);
}

static int handle_cpuid(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 *g = vx->gprs.r;
	u32 r[4];
	bool forward;

	linhv_cpuid(vp, g[LINHV_REG_RAX], g[LINHV_REG_RCX], r, &forward);
	if (forward)
		return linhv_msg_cpuid(vp, r, vx->exit_insn_len);
	g[LINHV_REG_RAX] = r[0];
	g[LINHV_REG_RBX] = r[1];
	g[LINHV_REG_RCX] = r[2];
	g[LINHV_REG_RDX] = r[3];
	skip(vp, vx->exit_insn_len);
	return 0;
}

static int handle_msr(struct linhv_vp *vp, bool write)
{
	struct vmx_vp *vx = vmx(vp);
	u64 *g = vx->gprs.r;
	u32 msr = g[LINHV_REG_RCX];
	u64 val = 0;
	int ret;

	if (write)
		ret = linhv_msr_write(vp, msr, (g[LINHV_REG_RDX] << 32) | (u32)g[LINHV_REG_RAX]);
	else
		ret = linhv_msr_read(vp, msr, &val);
	if (ret < 0) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (ret > 0)
		return linhv_msg_msr(vp, msr, write, vx->exit_insn_len);
	if (!write) {
		g[LINHV_REG_RAX] = (u32)val;
		g[LINHV_REG_RDX] = val >> 32;
	}
	skip(vp, vx->exit_insn_len);
	return 0;
}

static int handle_hlt(struct linhv_vp *vp)
{
	skip(vp, vmx(vp)->exit_insn_len);
	return linhv_vp_halt(vp, vmx(vp)->rflags & X86_EFLAGS_IF);
}

static int handle_ept_violation(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 q = vx->exit_qual;

	/* The fault hit an IRET that had unblocked NMIs: block them again for the retry. */
	if ((q & VMX_EPT_QUAL_NMI_UNBLOCK) && !(vx->idt_info & VECTORING_INFO_VALID_MASK))
		vx->interruptibility |= GUEST_INTR_STATE_NMI;
	return linhv_gpa_fault(vp, vx->exit_gpa,
			       (q & VMX_EPT_QUAL_FETCH) ? HV_INTERCEPT_ACCESS_EXECUTE :
			       (q & VMX_EPT_QUAL_WRITE) ? HV_INTERCEPT_ACCESS_WRITE :
							  HV_INTERCEPT_ACCESS_READ,
			       EXIT_REASON_EPT_VIOLATION);
}

static int handle_ept_misconfig(struct linhv_vp *vp)
{
	/* An entry linhv wrote is malformed: a bug of ours, never the guest's doing. */
	pr_warn_ratelimited("linhv: partition %llu VP %u: EPT misconfiguration at gpa %llx\n",
			    vp->part->id, vp->index, vmx(vp)->exit_gpa);
	return linhv_vp_die(vp, HvMessageTypeUnrecoverableException, EXIT_REASON_EPT_MISCONFIG);
}

static int handle_xsetbv(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 *g = vx->gprs.r;
	u64 val = (g[LINHV_REG_RDX] << 32) | (u32)g[LINHV_REG_RAX];

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE) || !(vx->cr4 & X86_CR4_OSXSAVE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	/* Validated here: the host's xsetbv at entry has no fault handling. */
	if ((u32)g[LINHV_REG_RCX] != 0 || cpl(vx) != 0 ||
	    !linhv_xcr0_valid(val, linhv_guest_xcr0_mask(vp))) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	vp->xcr0 = val;
	skip(vp, vx->exit_insn_len);
	return 0;
}

#define DR7_GD BIT(13)
#define DR6_BD BIT(13)
#define DR6_FIXED_1 0xffff0ff0ULL
#define DR6_WRITABLE 0xf00fULL /* B0-B3, BD, BS, BT */
#define DR7_RESERVED_0 (BIT(11) | BIT(12) | BIT(14) | BIT(15))
#define DR7_RESERVED_1 BIT(10)

#define CR4_TLB_BITS                                                                               \
	(X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP | \
	 X86_CR4_PKE)

static u64 gpr_read(struct vmx_vp *vx, int n)
{
	u64 v = vx->gprs.r[n & 15];

	return long_mode_cs(vx) ? v : (u32)v;
}

/* MOV to CR4: #GP for what the CPU would refuse or the partition does not offer. */
static int cr4_write(struct linhv_vp *vp, u64 val)
{
	struct vmx_vp *vx = vmx(vp);
	u64 old = vx->cr4;
	bool lma = vx->efer & EFER_LMA;

	if (cpl(vx) || (val & ~linhv_guest_cr4_mask(vp)) || (lma && !(val & X86_CR4_PAE)) ||
	    ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) && (!lma || (vx->cr3 & 0xfff)))) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return -1;
	}
	vx->cr4 = val;
	/* The CPU would flush on these; an emulated write must ask for it. */
	if ((old ^ val) & CR4_TLB_BITS)
		WRITE_ONCE(vp->need_flush, true);
	if ((old ^ val) & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE))
		vx->pdptr_stale = true;
	return 0;
}

/* MOV to CR0 that touched a host-owned bit: the CPU's checks, then long mode by hand. */
static int cr0_write(struct linhv_vp *vp, u64 val)
{
	struct vmx_vp *vx = vmx(vp);
	u64 old = vx->cr0;

	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    (cpl(vx) && ((old ^ val) & ~(u64)X86_CR0_TS))) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return -1;
	}
	if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (vx->efer & EFER_LME)) {
		if (!(vx->cr4 & X86_CR4_PAE)) {
			linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
			return -1;
		}
		vx->efer |= EFER_LMA;
	}
	if (!(val & X86_CR0_PG) && (old & X86_CR0_PG))
		vx->efer &= ~EFER_LMA;
	vx->cr0 = val | X86_CR0_ET;
	if ((old ^ val) & X86_CR0_PG) {
		vx->pdptr_stale = true;
		WRITE_ONCE(vp->need_flush, true);
	}
	return 0;
}

static int handle_cr(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 q = vx->exit_qual;
	int cr = VMX_CR_QUAL_CR(q), n = VMX_CR_QUAL_GPR(q);
	u64 *r = &vx->gprs.r[n];
	int ret = 0;

	switch (VMX_CR_QUAL_TYPE(q)) {
	case VMX_CR_TYPE_MOV_TO:
		if (cr == 0) {
			ret = cr0_write(vp, gpr_read(vx, n));
		} else if (cr == 4) {
			ret = cr4_write(vp, gpr_read(vx, n));
		} else if (cr == 3) {
			/* Only where the CPU cannot turn CR3-load exiting off. */
			vx->cr3 = gpr_read(vx, n);
			vx->pdptr_stale = true;
		} else if (cr == 8 && !(gpr_read(vx, n) >> 4)) {
			vx->tpr = gpr_read(vx, n);
		} else {
			linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
			ret = -1;
		}
		break;
	case VMX_CR_TYPE_MOV_FROM:
		if (cr == 3)
			*r = vx->cr3;
		else if (cr == 8)
			*r = vx->tpr;
		else
			return linhv_vp_die(vp, HvMessageTypeUnsupportedFeature, EXIT_REASON_CR_ACCESS);
		break;
	case VMX_CR_TYPE_CLTS:
		ret = cr0_write(vp, vx->cr0 & ~(u64)X86_CR0_TS);
		break;
	case VMX_CR_TYPE_LMSW:
		/* LMSW sets PE but never clears it. */
		ret = cr0_write(vp, (vx->cr0 & ~0xeULL) | (VMX_CR_QUAL_LMSW_SRC(q) & 0xf));
		break;
	}
	if (!ret)
		skip(vp, vx->exit_insn_len);
	return 0;
}

/* Every MOV DR exits: DR0-3 from vp->db, DR6 and DR7 from the VP's state. */
static int handle_dr(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 q = vx->exit_qual;
	int dr = VMX_DR_QUAL_DR(q);
	bool read = q & VMX_DR_QUAL_READ;
	u64 *r = &vx->gprs.r[VMX_DR_QUAL_GPR(q)];
	u64 val;

	if ((dr == 4 || dr == 5) && (vx->cr4 & X86_CR4_DE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (cpl(vx)) {
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	}
	if (vx->dr7 & DR7_GD) {
		vx->dr7 &= ~DR7_GD;
		vx->dr6 |= DR6_BD;
		linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
		return 0;
	}
	if (dr == 4 || dr == 5)
		dr += 2; /* DR4 and DR5 alias DR6 and DR7 */
	if (read) {
		val = dr < 4 ? vp->db[dr] : dr == 6 ? vx->dr6 : vx->dr7;
		*r = long_mode_cs(vx) ? val : (u32)val;
	} else {
		val = long_mode_cs(vx) ? *r : (u32)*r;
		if (dr < 4) {
			vp->db[dr] = val;
		} else if (val >> 32) {
			linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
			return 0;
		} else if (dr == 6) {
			vx->dr6 = (val & DR6_WRITABLE) | DR6_FIXED_1;
		} else {
			vx->dr7 = (val & ~DR7_RESERVED_0) | DR7_RESERVED_1;
		}
	}
	skip(vp, vx->exit_insn_len);
	return 0;
}

static int handle_vmcall(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	if (cpl(vx) != 0 || !(vx->cr0 & X86_CR0_PE)) {
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	if (vp->part->hyperv)
		linhv_hv_hypercall(vp);
	else
		vx->gprs.r[LINHV_REG_RAX] = HV_STATUS_INVALID_HYPERCALL_CODE;
	skip(vp, vx->exit_insn_len);
	return 0;
}

static int handle_exception(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u32 info = vx->exit_intr;
	u8 vec = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return 0; /* the host's, raised again in enter_guest */
	/* An IRET that unblocked NMIs faulted: the retry runs with them blocked. */
	if ((info & INTR_INFO_UNBLOCK_NMI) && !(vx->idt_info & VECTORING_INFO_VALID_MASK))
		vx->interruptibility |= GUEST_INTR_STATE_NMI;
	if (vec == X86_TRAP_DB) {
		/* The exit leaves DR6 alone: set what the #DB would have. */
		vx->dr6 = (vx->dr6 & ~0xfULL) | (vx->exit_qual & VMX_DB_QUAL_DR6_BITS);
		linhv_queue_exception(vp, X86_TRAP_DB, false, 0);
		return 0;
	}
	if (vec == X86_TRAP_AC) {
		linhv_queue_exception(vp, X86_TRAP_AC, true, 0);
		return 0;
	}
	return linhv_vp_die(vp, HvMessageTypeUnsupportedFeature, EXIT_REASON_EXCEPTION_NMI);
}

static int handle_shutdown(struct linhv_vp *vp)
{
	linhv_dump_triple_fault(vp);
	return linhv_vp_die(vp, HvMessageTypeUnrecoverableException, EXIT_REASON_TRIPLE_FAULT);
}

static enum linhv_exit_class exit_class(u32 reason)
{
	switch (reason) {
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		return LINHV_EXIT_NPF;
	case EXIT_REASON_IO_INSTRUCTION:
		return LINHV_EXIT_IO;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		return LINHV_EXIT_MSR;
	case EXIT_REASON_CPUID:
		return LINHV_EXIT_CPUID;
	case EXIT_REASON_HLT:
		return LINHV_EXIT_HLT;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		return LINHV_EXIT_HOST_INTR;
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
		return LINHV_EXIT_VINTR;
	case EXIT_REASON_VMCALL:
		return LINHV_EXIT_HYPERCALL;
	case EXIT_REASON_CR_ACCESS:
	case EXIT_REASON_DR_ACCESS:
		return LINHV_EXIT_CR_DR;
	case EXIT_REASON_TRIPLE_FAULT:
		return LINHV_EXIT_SHUTDOWN;
	}
	return LINHV_EXIT_OTHER;
}

static void record_exit(struct linhv_vp *vp, u64 injected)
{
	struct vmx_vp *vx = vmx(vp);
	struct linhv_exit_rec *e = &vp->hist[vp->hist_pos];
	u32 reason = vx->exit_reason & 0xffff;

	e->code = vx->exit_reason;
	e->info1 = vx->exit_qual;
	e->info2 = reason == EXIT_REASON_EPT_VIOLATION ? vx->exit_gpa : vx->exit_intr;
	e->int_info = vx->idt_info;
	e->inj = injected;
	e->rip = vx->rip;
	e->cr3 = vx->cr3;
	vp->hist_pos = (vp->hist_pos + 1) % LINHV_EXIT_HIST;
	if (reason == EXIT_REASON_EXCEPTION_NMI)
		linhv_count_exit((vx->exit_intr & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR ?
					 LINHV_EXIT_HOST_INTR :
					 LINHV_EXIT_EXCEPTION);
	else
		linhv_count_exit(exit_class(reason));
}

static int handle_exit(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u32 reason = vx->exit_reason & 0xffff;
	u32 ii = vx->idt_info;

	if (vx->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		pr_warn_ratelimited("linhv: partition %llu VP %u: VM entry failed: reason %u qualification %llx\n",
				    vp->part->id, vp->index, reason, vx->exit_qual);
		return LINHV_RUN_BAD_STATE;
	}

	/*
	 * An event whose delivery the exit interrupted must be delivered again,
	 * except INTn, INT1, INT3 and INTO: RIP still points at the
	 * instruction, so the guest simply executes it again.
	 */
	if (ii & VECTORING_INFO_VALID_MASK) {
		u32 type = ii & VECTORING_INFO_TYPE_MASK;

		if (type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI_INTR ||
		    type == INTR_TYPE_HARD_EXCEPTION) {
			vx->entry_intr = ii & (VECTORING_INFO_VECTOR_MASK | VECTORING_INFO_TYPE_MASK |
					       VECTORING_INFO_DELIVER_CODE_MASK |
					       INTR_INFO_VALID_MASK);
			vx->entry_err = vx->idt_err;
			/* The NMI being delivered had blocked NMIs: it is not delivered yet. */
			if (type == INTR_TYPE_NMI_INTR)
				vx->interruptibility &= ~GUEST_INTR_STATE_NMI;
		}
	}

	switch (reason) {
	case EXIT_REASON_EPT_VIOLATION:
		return handle_ept_violation(vp);
	case EXIT_REASON_IO_INSTRUCTION:
		return handle_io(vp);
	case EXIT_REASON_MSR_READ:
		return handle_msr(vp, false);
	case EXIT_REASON_MSR_WRITE:
		return handle_msr(vp, true);
	case EXIT_REASON_CPUID:
		return handle_cpuid(vp);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
	case EXIT_REASON_INIT_SIGNAL:
		return 0; /* the host takes it once interrupts are on again */
	case EXIT_REASON_EXCEPTION_NMI:
		return handle_exception(vp);
	case EXIT_REASON_HLT:
		return handle_hlt(vp);
	case EXIT_REASON_INTERRUPT_WINDOW:
		vx->proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
		return 0;
	case EXIT_REASON_NMI_WINDOW:
		vx->proc &= ~CPU_BASED_NMI_WINDOW_EXITING;
		return 0;
	case EXIT_REASON_CR_ACCESS:
		return handle_cr(vp);
	case EXIT_REASON_DR_ACCESS:
		return handle_dr(vp);
	case EXIT_REASON_XSETBV:
		return handle_xsetbv(vp);
	case EXIT_REASON_VMCALL:
		return handle_vmcall(vp);
	case EXIT_REASON_EPT_MISCONFIG:
		return handle_ept_misconfig(vp);
	case EXIT_REASON_TRIPLE_FAULT:
		return handle_shutdown(vp);
	case EXIT_REASON_INVD:
		skip(vp, vx->exit_insn_len);
		return 0;
	case EXIT_REASON_INVLPG:
		/* Only where the CPU cannot turn INVLPG exiting off: flush the whole VPID. */
		WRITE_ONCE(vp->need_flush, true);
		skip(vp, vx->exit_insn_len);
		return 0;
	case EXIT_REASON_RDPMC:
		linhv_queue_exception(vp, X86_TRAP_GP, true, 0);
		return 0;
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_ENCLS:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
		linhv_queue_exception(vp, X86_TRAP_UD, false, 0);
		return 0;
	}
	return linhv_vp_die(vp, HvMessageTypeUnsupportedFeature, reason);
}

/*
 * The consistency checks VM entry makes that a root-supplied state could
 * fail (SDM 27.3.1), done first so that such a state never reaches the CPU.
 */
static bool vmx_state_valid(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 ev = vx->entry_intr;
	u32 cs_ar = vx->seg[LINHV_SEG_CS].ar;
	struct linhv_arch_state st = {
		.cr0 = vx->cr0, .cr3 = vx->cr3, .cr4 = vx->cr4, .efer = vx->efer,
		.dr6 = vx->dr6, .dr7 = vx->dr7, .rflags = vx->rflags,
		.cs_l = cs_ar & VMX_AR_L_MASK, .cs_d = cs_ar & VMX_AR_DB_MASK,
	};

	if (!linhv_arch_state_valid(&st))
		return false;
	if ((vx->cr4 | vcfg.cr4_fixed0) & ~vcfg.cr4_fixed1)
		return false;
	if (ev & INTR_INFO_VALID_MASK) {
		u32 type = ev & INTR_INFO_INTR_TYPE_MASK;
		u8 vec = ev & INTR_INFO_VECTOR_MASK;

		if (type != INTR_TYPE_EXT_INTR && type != INTR_TYPE_NMI_INTR &&
		    type != INTR_TYPE_HARD_EXCEPTION)
			return false;
		if (type == INTR_TYPE_HARD_EXCEPTION && (vec == 2 || vec > 31))
			return false;
		/* An interrupt only where the guest takes one. */
		if (type == INTR_TYPE_EXT_INTR && !vmx_irq_allowed(vp))
			return false;
	}
	return true;
}

/* PAE paging: the four PDPTEs the CPU would have loaded from CR3. */
static void load_pdptrs(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);

	vx->pdptr_stale = false;
	if (!pae_paging(vx))
		return;
	if (linhv_read_guest(vp->part, vx->cr3 & 0xffffffe0ULL, vx->pdptr, sizeof(vx->pdptr)))
		memset(vx->pdptr, 0, sizeof(vx->pdptr));
}

/* One entry: 0 resume, 1 message for the root, LINHV_RUN_BAD_STATE not entered. */
static int vmx_run(struct linhv_vp *vp)
{
	struct vmx_vp *vx = vmx(vp);
	u64 injected;

	if (!vmx_state_valid(vp))
		return LINHV_RUN_BAD_STATE;
	if (vx->pdptr_stale)
		load_pdptrs(vp);
	injected = vx->entry_intr;
	enter_guest(vp);
	if (vx->vmfail) {
		pr_warn_ratelimited("linhv: partition %llu VP %u: VM entry failed: VM-instruction error %u\n",
				    vp->part->id, vp->index, vx->insn_error);
		return LINHV_RUN_BAD_STATE;
	}
	record_exit(vp, injected);
	linhv_lapic_lazy_eoi_sync(vp);
	return handle_exit(vp);
}

/* ---- registers ---- */

static u64 *reg_slot(struct vmx_vp *vx, enum linhv_reg reg)
{
	if (reg <= LINHV_REG_R15)
		return &vx->gprs.r[reg];
	switch (reg) {
	case LINHV_REG_RIP: return &vx->rip;
	case LINHV_REG_RFLAGS: return &vx->rflags;
	case LINHV_REG_CR0: return &vx->cr0;
	case LINHV_REG_CR2: return &vx->cr2;
	case LINHV_REG_CR3: return &vx->cr3;
	case LINHV_REG_CR4: return &vx->cr4;
	case LINHV_REG_EFER: return &vx->efer;
	case LINHV_REG_DR6: return &vx->dr6;
	case LINHV_REG_DR7: return &vx->dr7;
	case LINHV_REG_PAT: return &vx->pat;
	case LINHV_REG_KERNEL_GS_BASE: return &vx->kernel_gs_base;
	case LINHV_REG_SYSENTER_CS: return &vx->sysenter_cs;
	case LINHV_REG_SYSENTER_EIP: return &vx->sysenter_eip;
	case LINHV_REG_SYSENTER_ESP: return &vx->sysenter_esp;
	case LINHV_REG_STAR: return &vx->star;
	case LINHV_REG_LSTAR: return &vx->lstar;
	case LINHV_REG_CSTAR: return &vx->cstar;
	case LINHV_REG_SFMASK: return &vx->sfmask;
	default: break;
	}
	WARN_ON_ONCE(1);
	return &vx->gprs.r[0];
}

static u64 vmx_get_reg(struct linhv_vp *vp, enum linhv_reg reg)
{
	return *reg_slot(vmx(vp), reg);
}

static void vmx_set_reg(struct linhv_vp *vp, enum linhv_reg reg, u64 val)
{
	struct vmx_vp *vx = vmx(vp);

	*reg_slot(vx, reg) = val;
	if (reg == LINHV_REG_CR0 || reg == LINHV_REG_CR3 || reg == LINHV_REG_CR4 ||
	    reg == LINHV_REG_EFER)
		vx->pdptr_stale = true;
}

/*
 * The TLFS attributes hold descriptor bits 40-47 and 52-55 as VMX access
 * rights do; VMX adds "unusable" (bit 16) for a null or not-present segment.
 */
static void vmx_get_seg(struct linhv_vp *vp, enum linhv_seg seg, struct hv_x64_segment_register *h)
{
	const struct vmx_seg *s = &vmx(vp)->seg[seg];

	h->base = s->base;
	h->limit = s->limit;
	h->selector = s->sel;
	/* An unusable SS still holds the CPL in its DPL. */
	if (s->ar & VMX_AR_UNUSABLE_MASK)
		h->attributes = seg == LINHV_SEG_SS ? s->ar & (3 << VMX_AR_DPL_SHIFT) : 0;
	else
		h->attributes = s->ar & 0xf0ff;
}

static void vmx_set_seg(struct linhv_vp *vp, enum linhv_seg seg,
			const struct hv_x64_segment_register *h)
{
	struct vmx_seg *s = &vmx(vp)->seg[seg];

	s->base = h->base;
	s->limit = h->limit;
	s->sel = h->selector;
	s->ar = h->attributes & 0xf0ff;
	if (!(s->ar & VMX_AR_P_MASK) && seg != LINHV_SEG_CS && seg != LINHV_SEG_TR &&
	    seg < LINHV_SEG_GDTR)
		s->ar |= VMX_AR_UNUSABLE_MASK;
}

static u8 vmx_get_cpl(struct linhv_vp *vp)
{
	return cpl(vmx(vp));
}

/* CR8 accesses exit, so the guest's TPR is always here. */
static u8 vmx_get_tpr(struct linhv_vp *vp)
{
	return vmx(vp)->tpr;
}

static void vmx_set_tpr(struct linhv_vp *vp, u8 cr8)
{
	vmx(vp)->tpr = cr8 & 0xf;
}

static u64 vmx_get_tsc_offset(struct linhv_vp *vp)
{
	return vmx(vp)->tsc_offset;
}

static void vmx_set_tsc_offset(struct linhv_vp *vp, u64 offset)
{
	vmx(vp)->tsc_offset = offset;
}

static bool vmx_get_interrupt_shadow(struct linhv_vp *vp)
{
	return vmx(vp)->interruptibility & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
}

static void vmx_set_interrupt_shadow(struct linhv_vp *vp, bool shadow)
{
	struct vmx_vp *vx = vmx(vp);

	vx->interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (shadow)
		vx->interruptibility |= GUEST_INTR_STATE_STI;
}

static void vmx_fill_intercept_header(struct linhv_vp *vp,
				      struct hv_x64_intercept_message_header *h)
{
	struct vmx_vp *vx = vmx(vp);

	h->execution_state = cpl(vx) | ((vx->cr0 & X86_CR0_PE) ? HV_X64_EXEC_STATE_CR0_PE : 0) |
			     ((vx->efer & EFER_LMA) ? HV_X64_EXEC_STATE_EFER_LMA : 0) |
			     ((vx->entry_intr & INTR_INFO_VALID_MASK) ?
				      HV_X64_EXEC_STATE_INTERRUPTION_PENDING : 0);
	vmx_get_seg(vp, LINHV_SEG_CS, &h->cs);
	h->rip = vx->rip;
	h->rflags = vx->rflags;
}

/*
 * EPT entries: read/write/execute permissions instead of present/RW/NX.
 * Guest RAM is ordinary host memory, so leaves are write-back with the
 * guest's PAT ignored. Accessed and dirty flags stay off (not enabled in
 * the EPTP), so the CPU never writes the tables.
 */
static const struct linhv_npt_format vmx_ept_format = {
	.present = VMX_EPTE_R | VMX_EPTE_W | VMX_EPTE_X,
	.table = VMX_EPTE_R | VMX_EPTE_W | VMX_EPTE_X,
	.leaf = VMX_EPTE_R | VMX_EPTE_MT_WB | VMX_EPTE_IPAT,
	.leaf_mmio = VMX_EPTE_R | VMX_EPTE_MT_UC | VMX_EPTE_IPAT | VMX_EPTE_NOREF,
	.noref = VMX_EPTE_NOREF,
	.large = VMX_EPTE_LARGE,
	.write = VMX_EPTE_W,
	.exec = VMX_EPTE_X,
	.noexec = 0,
};

const struct linhv_vendor_ops linhv_vmx_ops = {
	.name = "vmx",
	.hypercall_insn = {0x0f, 0x01, 0xc1}, /* VMCALL */
	.npt_format = &vmx_ept_format,
	.vp_init = vmx_vp_init,
	.vp_free = vmx_vp_free,
	.vp_clear = vmx_vp_clear,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.get_seg = vmx_get_seg,
	.set_seg = vmx_set_seg,
	.get_cpl = vmx_get_cpl,
	.get_tpr = vmx_get_tpr,
	.set_tpr = vmx_set_tpr,
	.get_tsc_offset = vmx_get_tsc_offset,
	.set_tsc_offset = vmx_set_tsc_offset,
	.get_interrupt_shadow = vmx_get_interrupt_shadow,
	.set_interrupt_shadow = vmx_set_interrupt_shadow,
	.event_pending = vmx_event_pending,
	.cancel_event = vmx_cancel_event,
	.inject_exception = vmx_inject_exception,
	.inject_nmi = vmx_inject_nmi,
	.inject_irq = vmx_inject_irq,
	.irq_allowed = vmx_irq_allowed,
	.enable_irq_window = vmx_enable_irq_window,
	.fill_intercept_header = vmx_fill_intercept_header,
	.run = vmx_run,
};
