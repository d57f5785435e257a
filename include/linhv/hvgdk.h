/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V TLFS constants and wire structures shared by linhv.ko, libwinhv,
 * vmwp and the guest-side library. Names follow the TLFS where it has them.
 * Usable from the kernel and from userspace.
 */
#ifndef LINHV_HVGDK_H
#define LINHV_HVGDK_H

#include <linux/types.h>

/* HV_STATUS codes (TLFS "Hypercall Status Codes"). */
#define HV_STATUS_SUCCESS 0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE 0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003
#define HV_STATUS_INVALID_ALIGNMENT 0x0004
#define HV_STATUS_INVALID_PARAMETER 0x0005
#define HV_STATUS_ACCESS_DENIED 0x0006
#define HV_STATUS_INVALID_PARTITION_STATE 0x0007
#define HV_STATUS_OPERATION_DENIED 0x0008
#define HV_STATUS_UNKNOWN_PROPERTY 0x0009
#define HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE 0x000A
#define HV_STATUS_INSUFFICIENT_MEMORY 0x000B
#define HV_STATUS_PARTITION_TOO_DEEP 0x000C
#define HV_STATUS_INVALID_PARTITION_ID 0x000D
#define HV_STATUS_INVALID_VP_INDEX 0x000E
#define HV_STATUS_NOT_FOUND 0x0010
#define HV_STATUS_INVALID_PORT_ID 0x0011
#define HV_STATUS_INVALID_CONNECTION_ID 0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013
#define HV_STATUS_NOT_ACKNOWLEDGED 0x0014
#define HV_STATUS_INVALID_VP_STATE 0x0015
#define HV_STATUS_ACKNOWLEDGED 0x0016
#define HV_STATUS_INVALID_SAVE_RESTORE_STATE 0x0017
#define HV_STATUS_INVALID_SYNIC_STATE 0x0018
#define HV_STATUS_OBJECT_IN_USE 0x0019
#define HV_STATUS_INVALID_PROXIMITY_DOMAIN_INFO 0x001A
#define HV_STATUS_NO_DATA 0x001B
#define HV_STATUS_INACTIVE 0x001C
#define HV_STATUS_NO_RESOURCES 0x001D
#define HV_STATUS_FEATURE_UNAVAILABLE 0x001E
#define HV_STATUS_TIME_OUT 0x0078

/* Hypercall codes (TLFS). Root-only calls are reached through the ioctl. */
#define HvCallCreatePartition 0x0040
#define HvCallInitializePartition 0x0041
#define HvCallFinalizePartition 0x0042
#define HvCallDeletePartition 0x0043
#define HvCallGetPartitionProperty 0x0044
#define HvCallSetPartitionProperty 0x0045
#define HvCallGetPartitionId 0x0046
#define HvCallMapGpaPages 0x004B
#define HvCallUnmapGpaPages 0x004C
#define HvCallInstallIntercept 0x004D
#define HvCallCreateVp 0x004E
#define HvCallDeleteVp 0x004F
#define HvCallGetVpRegisters 0x0050
#define HvCallSetVpRegisters 0x0051
#define HvCallPostMessage 0x005C
#define HvCallSignalEvent 0x005D
#define HvCallMapDeviceInterrupt 0x007C
#define HvCallUnmapDeviceInterrupt 0x007D
#define HvCallRetargetDeviceInterrupt 0x007E
#define HvCallAssertVirtualInterrupt 0x0094
#define HvCallSignalEventDirect 0x00C0
#define HvCallPostMessageDirect 0x00C1
#define HvCallAttachDeviceDomain 0x00B2
#define HvCallDetachDeviceDomain 0x00C4

/* Partition property codes (TLFS HV_PARTITION_PROPERTY_CODE subset). */
#define HvPartitionPropertyProcessorCount 0x00060002 /* linhv: max VPs */

/* HvCallMapGpaPages flags (TLFS HV_MAP_GPA_FLAGS). */
#define HV_MAP_GPA_READABLE 0x0001
#define HV_MAP_GPA_WRITABLE 0x0002
#define HV_MAP_GPA_KERNEL_EXECUTABLE 0x0004
#define HV_MAP_GPA_USER_EXECUTABLE 0x0008
#define HV_MAP_GPA_EXECUTABLE (HV_MAP_GPA_KERNEL_EXECUTABLE | HV_MAP_GPA_USER_EXECUTABLE)
#define HV_MAP_GPA_PERMISSIONS_MASK 0x000F

/* Register names (TLFS HV_REGISTER_NAME, x64). */
#define HvRegisterPendingInterruption 0x00010002
#define HvRegisterInterruptState 0x00010003
#define HvRegisterPendingEvent0 0x00010004
#define HvX64RegisterRax 0x00020000
#define HvX64RegisterRcx 0x00020001
#define HvX64RegisterRdx 0x00020002
#define HvX64RegisterRbx 0x00020003
#define HvX64RegisterRsp 0x00020004
#define HvX64RegisterRbp 0x00020005
#define HvX64RegisterRsi 0x00020006
#define HvX64RegisterRdi 0x00020007
#define HvX64RegisterR8 0x00020008
#define HvX64RegisterR9 0x00020009
#define HvX64RegisterR10 0x0002000A
#define HvX64RegisterR11 0x0002000B
#define HvX64RegisterR12 0x0002000C
#define HvX64RegisterR13 0x0002000D
#define HvX64RegisterR14 0x0002000E
#define HvX64RegisterR15 0x0002000F
#define HvX64RegisterRip 0x00020010
#define HvX64RegisterRflags 0x00020011
#define HvX64RegisterCr0 0x00040000
#define HvX64RegisterCr2 0x00040001
#define HvX64RegisterCr3 0x00040002
#define HvX64RegisterCr4 0x00040003
#define HvX64RegisterCr8 0x00040004
#define HvX64RegisterXfem 0x00040005
#define HvX64RegisterDr7 0x00050005
#define HvX64RegisterEs 0x00060000
#define HvX64RegisterCs 0x00060001
#define HvX64RegisterSs 0x00060002
#define HvX64RegisterDs 0x00060003
#define HvX64RegisterFs 0x00060004
#define HvX64RegisterGs 0x00060005
#define HvX64RegisterLdtr 0x00060006
#define HvX64RegisterTr 0x00060007
#define HvX64RegisterIdtr 0x00070000
#define HvX64RegisterGdtr 0x00070001
#define HvX64RegisterTsc 0x00080000
#define HvX64RegisterEfer 0x00080001
#define HvX64RegisterKernelGsBase 0x00080002
#define HvX64RegisterApicBase 0x00080003
#define HvX64RegisterPat 0x00080004
#define HvX64RegisterSysenterCs 0x00080005
#define HvX64RegisterSysenterEip 0x00080006
#define HvX64RegisterSysenterEsp 0x00080007
#define HvX64RegisterStar 0x00080008
#define HvX64RegisterLstar 0x00080009
#define HvX64RegisterCstar 0x0008000A
#define HvX64RegisterSfmask 0x0008000B
#define HvX64RegisterTscAux 0x0008007B

struct hv_x64_segment_register {
	__u64 base;
	__u32 limit;
	__u16 selector;
	/*
	 * TLFS attribute layout: type:4 s:1 dpl:2 p:1 rsvd:4 avl:1 l:1 db:1 g:1
	 * (the same bit order as VMX access rights and SVM attrib packed).
	 */
	__u16 attributes;
};

struct hv_x64_table_register {
	__u16 pad[3];
	__u16 limit;
	__u64 base;
};

union hv_register_value {
	__u64 reg64;
	__u32 reg32;
	__u16 reg16;
	__u8 reg8;
	__u64 reg128[2];
	struct hv_x64_segment_register segment;
	struct hv_x64_table_register table;
	/* HvRegisterPendingInterruption */
	struct {
		__u32 interruption_pending : 1;
		__u32 interruption_type : 3; /* HV_X64_PENDING_* */
		__u32 deliver_error_code : 1;
		__u32 instruction_length : 4;
		__u32 nested_event : 1;
		__u32 reserved : 6;
		__u32 interruption_vector : 16;
		__u32 error_code;
	} pending_interruption;
	/* HvRegisterInterruptState */
	struct {
		__u64 interrupt_shadow : 1;
		__u64 nmi_masked : 1;
		__u64 reserved : 62;
	} interrupt_state;
};

#define HV_X64_PENDING_INTERRUPT 0
#define HV_X64_PENDING_NMI 2
#define HV_X64_PENDING_EXCEPTION 3

struct hv_register_assoc {
	__u32 name;
	__u32 reserved1;
	__u64 reserved2;
	union hv_register_value value;
};

/* SynIC message (TLFS HV_MESSAGE): 256 bytes, 240 of payload. */
#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT 240
#define HV_MESSAGE_PAYLOAD_QWORD_COUNT 30
#define HV_SYNIC_SINT_COUNT 16

#define HvMessageTypeNone 0x00000000
#define HvMessageTypeUnmappedGpa 0x80000000
#define HvMessageTypeGpaIntercept 0x80000001
#define HvMessageTimerExpired 0x80000010
#define HvMessageTypeInvalidVpRegisterValue 0x80000020
#define HvMessageTypeUnrecoverableException 0x80000021
#define HvMessageTypeUnsupportedFeature 0x80000022
#define HvMessageTypeHypercallIntercept 0x80000050
#define HvMessageTypeX64IoPortIntercept 0x80010000
#define HvMessageTypeX64MsrIntercept 0x80010001
#define HvMessageTypeX64CpuidIntercept 0x80010002
#define HvMessageTypeX64ExceptionIntercept 0x80010003
#define HvMessageTypeX64ApicEoi 0x80010004
#define HvMessageTypeX64Halt 0x80010007
/* linhv: the VP left run for a reason that is not a guest intercept. */
#define HvMessageTypeLinhvCanceled 0x8F000001 /* a signal or cancel request */
#define HvMessageTypeLinhvShutdown 0x8F000002 /* guest asked for poweroff/reset */

struct hv_message_header {
	__u32 message_type;
	__u8 payload_size;
	__u8 message_flags; /* bit 0: msg_pending */
	__u8 reserved[2];
	__u64 sender; /* port id or partition id */
};

#define HV_MESSAGE_FLAG_PENDING 0x01

struct hv_message {
	struct hv_message_header header;
	union {
		__u64 payload[HV_MESSAGE_PAYLOAD_QWORD_COUNT];
		__u8 payload_bytes[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	};
};

/* Intercept access types (TLFS HV_INTERCEPT_ACCESS_TYPE). */
#define HV_INTERCEPT_ACCESS_READ 0
#define HV_INTERCEPT_ACCESS_WRITE 1
#define HV_INTERCEPT_ACCESS_EXECUTE 2

/*
 * The Hyper-V interface every linhv partition shows its guest (CPUID
 * 0x40000000-0x40000005), whichever hypervisor runs it: linhv.ko builds its
 * leaves from these, and the kvm backend cuts KVM's leaves down to them, so
 * a guest takes the same code paths on both (no PV TLB flush, PV IPIs or
 * synthetic timers, which linhv.ko does not offer).
 */
#define HV_CPUID_MAX_LEAF_LINHV 0x40000005u
/* 0x40000003 EAX: partition privileges */
#define HV_PRIV_TIME_REF_COUNT (1u << 1)
#define HV_PRIV_SYNIC (1u << 2)
#define HV_PRIV_APIC_MSRS (1u << 4)
#define HV_PRIV_HYPERCALL (1u << 5)
#define HV_PRIV_VP_INDEX (1u << 6)
#define HV_PRIV_REFERENCE_TSC (1u << 9)
#define HV_PRIV_FREQUENCY_MSRS (1u << 11)
#define HV_LINHV_PRIVILEGES_EAX                                                                    \
	(HV_PRIV_TIME_REF_COUNT | HV_PRIV_SYNIC | HV_PRIV_APIC_MSRS | HV_PRIV_HYPERCALL |          \
	 HV_PRIV_VP_INDEX | HV_PRIV_REFERENCE_TSC | HV_PRIV_FREQUENCY_MSRS)
/* 0x40000003 EBX */
#define HV_PRIV_POST_MESSAGES (1u << 4)
#define HV_PRIV_SIGNAL_EVENTS (1u << 5)
#define HV_LINHV_PRIVILEGES_EBX (HV_PRIV_POST_MESSAGES | HV_PRIV_SIGNAL_EVENTS)
/* 0x40000003 EDX */
#define HV_FEAT_FREQUENCY_MSRS_AVAILABLE (1u << 8)
#define HV_FEAT_GUEST_CRASH_MSRS (1u << 10) /* the kvm backend only, so far */
#define HV_LINHV_FEATURES_EDX HV_FEAT_FREQUENCY_MSRS_AVAILABLE
/*
 * 0x40000004 EAX: recommendations. Linux EOIs its VMBus interrupts itself
 * with this hint. Without it (AutoEOI on the SINT) a 2-VP guest's poweroff
 * hung once in CI on linhv.ko (its stop IPI was not taken); kept until that
 * is understood.
 */
#define HV_HINT_DEPRECATING_AEOI (1u << 9)
/*
 * EOI through the synthetic EOI MSR, which Linux then skips when the
 * hypervisor set "no EOI required" in the VP assist page (lazy EOI).
 */
#define HV_HINT_APIC_ACCESS (1u << 3)
#define HV_LINHV_HINTS_EAX (HV_HINT_DEPRECATING_AEOI | HV_HINT_APIC_ACCESS)
/* 0x40000004 EBX: never notify about long spin waits */
#define HV_LINHV_SPIN_RETRIES 0xffffffffu

/* Common header of every x64 intercept message (TLFS). */
struct hv_x64_intercept_message_header {
	__u32 vp_index;
	__u8 instruction_length; /* low 4 bits; cr8 in the high 4 bits */
	__u8 intercept_access_type;
	__u16 execution_state; /* bit0 cpl:2, cr0_pe:1 (bit2), cr0_am, efer_lma (bit4), debug, interruption_pending */
	struct hv_x64_segment_register cs;
	__u64 rip;
	__u64 rflags;
};

#define HV_X64_EXEC_STATE_CPL_MASK 0x0003
#define HV_X64_EXEC_STATE_CR0_PE 0x0004
#define HV_X64_EXEC_STATE_EFER_LMA 0x0010
#define HV_X64_EXEC_STATE_INTERRUPTION_PENDING 0x0040

/* access_info of an I/O port intercept. */
#define HV_X64_IO_ACCESS_SIZE_MASK 0x07 /* 1, 2 or 4 bytes */
#define HV_X64_IO_ACCESS_STRING 0x08
#define HV_X64_IO_ACCESS_REP 0x10

struct hv_x64_io_port_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u16 port_number;
	__u8 access_info;
	__u8 instruction_byte_count;
	__u32 reserved;
	__u8 instruction_bytes[16];
	struct hv_x64_segment_register ds;
	struct hv_x64_segment_register es;
	__u64 rax;
	__u64 rcx;
	__u64 rsi;
	__u64 rdi;
};

struct hv_x64_memory_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u32 cache_type;
	__u8 instruction_byte_count;
	__u8 memory_access_info; /* bit0 gva_valid */
	__u16 reserved;
	__u64 guest_virtual_address;
	__u64 guest_physical_address;
	__u8 instruction_bytes[16];
};

struct hv_x64_cpuid_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u64 rax;
	__u64 rcx;
	__u64 rdx;
	__u64 rbx;
	__u64 default_result_rax;
	__u64 default_result_rcx;
	__u64 default_result_rdx;
	__u64 default_result_rbx;
};

struct hv_x64_msr_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u32 msr_number;
	__u32 reserved;
	__u64 rdx;
	__u64 rax;
};

struct hv_x64_halt_message {
	struct hv_x64_intercept_message_header header;
};

struct hv_x64_exception_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u16 exception_vector;
	__u16 exception_info; /* bit0 error_code_valid */
	__u32 error_code;
	__u64 exception_parameter; /* e.g. #PF CR2 */
};

/* HvMessageTypeUnrecoverableException: triple fault / shutdown. */
struct hv_x64_unrecoverable_exception_message {
	struct hv_x64_intercept_message_header header;
	__u32 exit_code; /* vendor exit reason, for diagnostics */
	__u32 reserved;
};

/* Guest-facing hypercall input of HvCallPostMessage (TLFS). */
struct hv_input_post_message {
	__u32 connection_id;
	__u32 reserved;
	__u32 message_type;
	__u32 payload_size;
	__u64 payload[HV_MESSAGE_PAYLOAD_QWORD_COUNT];
};

#endif /* LINHV_HVGDK_H */
