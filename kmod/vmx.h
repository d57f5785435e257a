/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel VT-x definitions linhv needs beyond the kernel's <asm/vmx.h> (VMCS
 * field encodings, control bits, exit reasons): exit qualification layouts
 * and the world switch's interface. Intel SDM vol. 3, chapters 24-28.
 */
#ifndef LINHV_VMX_H
#define LINHV_VMX_H

#include <linux/types.h>
#include <asm/vmx.h>

/* Exit qualification of a control-register access (SDM table 28-3). */
#define VMX_CR_QUAL_CR(q) ((q) & 15)
#define VMX_CR_QUAL_TYPE(q) (((q) >> 4) & 3)
#define VMX_CR_QUAL_GPR(q) (((q) >> 8) & 15)
#define VMX_CR_QUAL_LMSW_SRC(q) (((q) >> 16) & 0xffff)
#define VMX_CR_TYPE_MOV_TO 0
#define VMX_CR_TYPE_MOV_FROM 1
#define VMX_CR_TYPE_CLTS 2
#define VMX_CR_TYPE_LMSW 3

/* MOV DR (table 28-4). */
#define VMX_DR_QUAL_DR(q) ((q) & 7)
#define VMX_DR_QUAL_READ BIT(4)
#define VMX_DR_QUAL_GPR(q) (((q) >> 8) & 15)

/* I/O instruction (table 28-5). */
#define VMX_IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define VMX_IO_QUAL_IN BIT(3)
#define VMX_IO_QUAL_STRING BIT(4)
#define VMX_IO_QUAL_REP BIT(5)
#define VMX_IO_QUAL_PORT(q) (((q) >> 16) & 0xffff)

/* EPT violation (table 28-7). */
#define VMX_EPT_QUAL_READ BIT(0)
#define VMX_EPT_QUAL_WRITE BIT(1)
#define VMX_EPT_QUAL_FETCH BIT(2)
#define VMX_EPT_QUAL_NMI_UNBLOCK BIT(12)

/* Debug exception: the DR6 bits it would have set (table 28-1). */
#define VMX_DB_QUAL_DR6_BITS 0x600f

/* Exit reasons <asm/vmx.h> does not name. */
#define EXIT_REASON_GETSEC 11

/* Guest activity state. */
#define VMX_ACTIVITY_ACTIVE 0

/* EPT entries (SDM 29.3.2). */
#define VMX_EPTE_R BIT_ULL(0)
#define VMX_EPTE_W BIT_ULL(1)
#define VMX_EPTE_X BIT_ULL(2)
#define VMX_EPTE_MT_WB (6ULL << 3)
#define VMX_EPTE_IPAT BIT_ULL(6)
#define VMX_EPTE_LARGE BIT_ULL(7)
#define VMX_EPTE_MT_UC (0ULL << 3)
#define VMX_EPTE_NOREF BIT_ULL(11) /* ignored by the CPU: no page reference (device memory) */

/*
 * Guest GPRs in ModRM order (RAX = 0 ... R15 = 15). The world switch moves
 * all but RSP (slot 4), which lives in the VMCS.
 */
struct vmx_gprs {
	u64 r[16];
};

/* 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed (nothing ran). */
int __linhv_vmx_vmenter(struct vmx_gprs *regs, bool launched);
/* Where a VM exit lands (HOST_RIP); inside __linhv_vmx_vmenter. */
extern const u8 linhv_vmx_vmexit[];

#endif /* LINHV_VMX_H */
