// SPDX-License-Identifier: GPL-2.0
/*
 * Probe the CPU's virtualization features once at load time, and refuse to
 * load when there is nothing to use or when another hypervisor already owns
 * the hardware.
 */
#include <linux/kernel.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "linhv_internal.h"

struct linhv_caps linhv_host_caps;

/* SVM: CPUID 0x8000000A EDX feature bits (AMD APM vol. 2, 15.4). */
#define SVM_FEAT_NP BIT(0)
#define SVM_FEAT_LBRV BIT(1)
#define SVM_FEAT_NRIPS BIT(3)
#define SVM_FEAT_TSC_RATE BIT(4)
#define SVM_FEAT_VMCB_CLEAN BIT(5)
#define SVM_FEAT_FLUSH_BY_ASID BIT(6)
#define SVM_FEAT_DECODE_ASSISTS BIT(7)
#define SVM_FEAT_PAUSE_FILTER BIT(10)
#define SVM_FEAT_AVIC BIT(13)
#define SVM_FEAT_VGIF BIT(16)

#define MSR_VM_CR_SVMDIS BIT(4)

/* VMX capability MSRs (Intel SDM vol. 3, appendix A). */
#define VMX_PROCBASED_ACTIVATE_SECONDARY BIT_ULL(63)
#define VMX_SECONDARY_EPT BIT_ULL(33)
#define VMX_SECONDARY_VPID BIT_ULL(37)
#define VMX_SECONDARY_UNRESTRICTED BIT_ULL(39)
#define VMX_SECONDARY_APIC_REG_VIRT BIT_ULL(40)

/*
 * Another hypervisor module owns virtualization if it is loaded: it may
 * turn on EFER.SVME / CR4.VMXE at any moment, and the host save area cannot
 * be shared. Its sysfs directory tells us it is there.
 */
static bool module_present(const char *name)
{
	char buf[64];
	struct path path;

	snprintf(buf, sizeof(buf), "/sys/module/%s", name);
	if (kern_path(buf, LOOKUP_FOLLOW, &path))
		return false;
	path_put(&path);
	return true;
}

static int probe_svm(struct linhv_caps *c)
{
	u32 eax, ebx, ecx, edx;
	u64 vm_cr, efer;

	if (module_present("kvm_amd")) {
		pr_err("linhv: kvm_amd is loaded and owns AMD-V; unload it first (rmmod kvm_amd)\n");
		return -EBUSY;
	}
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & MSR_VM_CR_SVMDIS) {
		pr_err("linhv: AMD-V is disabled by the firmware (VM_CR.SVMDIS); enable SVM in the BIOS\n");
		return -ENODEV;
	}
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("linhv: EFER.SVME is already set: another hypervisor owns AMD-V\n");
		return -EBUSY;
	}

	cpuid(0x8000000a, &eax, &ebx, &ecx, &edx);
	c->vendor = LINHV_VENDOR_SVM;
	c->nr_asids = ebx;
	if (edx & SVM_FEAT_NP)
		c->features |= LINHV_FEAT_NPT;
	if (edx & SVM_FEAT_NRIPS)
		c->features |= LINHV_FEAT_NRIP_SAVE;
	if (edx & SVM_FEAT_DECODE_ASSISTS)
		c->features |= LINHV_FEAT_DECODE_ASSISTS;
	if (edx & SVM_FEAT_FLUSH_BY_ASID)
		c->features |= LINHV_FEAT_FLUSH_BY_ASID;
	if (edx & SVM_FEAT_VMCB_CLEAN)
		c->features |= LINHV_FEAT_VMCB_CLEAN;
	if (edx & SVM_FEAT_PAUSE_FILTER)
		c->features |= LINHV_FEAT_PAUSE_FILTER;
	if (edx & SVM_FEAT_AVIC)
		c->features |= LINHV_FEAT_AVIC;
	if (edx & SVM_FEAT_VGIF)
		c->features |= LINHV_FEAT_VGIF;
	if (edx & SVM_FEAT_LBRV)
		c->features |= LINHV_FEAT_LBRV;
	if (edx & SVM_FEAT_TSC_RATE)
		c->features |= LINHV_FEAT_TSC_SCALING;
	if (!(c->features & LINHV_FEAT_NPT)) {
		pr_err("linhv: AMD-V without nested paging (NPT) is not supported\n");
		return -ENODEV;
	}
	return 0;
}

static int probe_vmx(struct linhv_caps *c)
{
	u64 fc, procbased, secondary = 0;

	if (module_present("kvm_intel")) {
		pr_err("linhv: kvm_intel is loaded and owns VT-x; unload it first (rmmod kvm_intel)\n");
		return -EBUSY;
	}
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("linhv: CR4.VMXE is already set: another hypervisor owns VT-x\n");
		return -EBUSY;
	}
	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if ((fc & FEAT_CTL_LOCKED) && !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("linhv: VT-x is disabled by the firmware (IA32_FEATURE_CONTROL); enable it in the BIOS\n");
		return -ENODEV;
	}

	c->vendor = LINHV_VENDOR_VMX;
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS, procbased);
	if (procbased & VMX_PROCBASED_ACTIVATE_SECONDARY)
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, secondary);
	if (secondary & VMX_SECONDARY_EPT)
		c->features |= LINHV_FEAT_EPT;
	if (secondary & VMX_SECONDARY_VPID) {
		c->features |= LINHV_FEAT_VPID;
		c->nr_asids = 65535;
	}
	if (secondary & VMX_SECONDARY_UNRESTRICTED)
		c->features |= LINHV_FEAT_UNRESTRICTED_GUEST;
	if (secondary & VMX_SECONDARY_APIC_REG_VIRT)
		c->features |= LINHV_FEAT_APICV;
	if (!(c->features & LINHV_FEAT_EPT)) {
		pr_err("linhv: VT-x without EPT is not supported\n");
		return -ENODEV;
	}
	return 0;
}

int linhv_caps_probe(void)
{
	struct linhv_caps *c = &linhv_host_caps;
	u32 eax, ebx, ecx, edx;
	int ret;

	memset(c, 0, sizeof(*c));
	c->api_version = LINHV_API_VERSION;
	c->max_vps_per_partition = LINHV_MAX_VPS;
	c->max_partitions = LINHV_MAX_PARTITIONS;

	cpuid(0, &eax, &ebx, &ecx, &edx);
	memcpy(c->cpu_vendor, &ebx, 4);
	memcpy(c->cpu_vendor + 4, &edx, 4);
	memcpy(c->cpu_vendor + 8, &ecx, 4);

	c->features |= LINHV_FEAT_DEVICE_DOMAIN | LINHV_FEAT_DEVICE_INTERRUPT;
	if (boot_cpu_has(X86_FEATURE_SVM))
		ret = probe_svm(c);
	else if (boot_cpu_has(X86_FEATURE_VMX))
		ret = probe_vmx(c);
	else {
		pr_err("linhv: this CPU has neither AMD-V (SVM) nor VT-x (VMX); cannot load\n");
		ret = -ENODEV;
	}
	return ret;
}
