// SPDX-License-Identifier: MIT
/*
 * Root-side completion of I/O port and MMIO intercepts. Everything here
 * reads guest-controlled state (registers, instruction bytes, guest page
 * tables), so every address goes through WinHvGpaToHva() bounds checks and
 * every loop is bounded.
 */
#include <errno.h>
#include <string.h>

#include <linhv/winhv_emulate.h>

#include "winhv_backend.h"

#define MAX_REP 65536 /* string I/O iterations done per exit */

static const uint32_t gpr_names[16] = {
	HvX64RegisterRax, HvX64RegisterRcx, HvX64RegisterRdx, HvX64RegisterRbx,
	HvX64RegisterRsp, HvX64RegisterRbp, HvX64RegisterRsi, HvX64RegisterRdi,
	HvX64RegisterR8,  HvX64RegisterR9,  HvX64RegisterR10, HvX64RegisterR11,
	HvX64RegisterR12, HvX64RegisterR13, HvX64RegisterR14, HvX64RegisterR15,
};

static int read_pte(struct winhv_vp *vp, uint64_t gpa, uint64_t *pte, int size)
{
	void *p = WinHvGpaToHva(vp->partition, gpa, size);
	uint32_t v32;

	if (!p)
		return -EFAULT;
	if (size == 4) {
		memcpy(&v32, p, 4);
		*pte = v32;
	} else {
		memcpy(pte, p, 8);
	}
	return 0;
}

int WinHvTranslateGva(struct winhv_vp *vp, uint64_t gva, bool write, uint64_t *gpa)
{
	static const uint32_t names[4] = {HvX64RegisterCr0, HvX64RegisterCr3, HvX64RegisterCr4,
					  HvX64RegisterEfer};
	union hv_register_value v[4];
	uint64_t cr0, cr3, cr4, efer, pte, table;
	const uint64_t addr = 0x000ffffffffff000ULL;
	int ret, level, shift;

	ret = WinHvGetVpRegisters(vp, names, v, 4);
	if (ret)
		return ret;
	cr0 = v[0].reg64;
	cr3 = v[1].reg64;
	cr4 = v[2].reg64;
	efer = v[3].reg64;

	if (!(cr0 & (1u << 31))) {
		*gpa = (efer & (1u << 10)) ? gva : (uint32_t)gva;
		return 0;
	}
	if (efer & (1u << 10)) {
		table = cr3 & addr;
		for (level = 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (read_pte(vp, table + ((gva >> shift) & 511) * 8, &pte, 8))
				return -EFAULT;
			if (!(pte & 1) || (write && !(pte & 2)))
				return -EFAULT;
			if (level > 1 && level < 4 && (pte & 0x80)) {
				uint64_t mask = (1ULL << shift) - 1;

				*gpa = ((pte & addr) & ~mask) | (gva & mask);
				return 0;
			}
			table = pte & addr;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}
	gva = (uint32_t)gva;
	if (cr4 & (1u << 5)) { /* PAE */
		if (read_pte(vp, (cr3 & 0xffffffe0) + ((gva >> 30) & 3) * 8, &pte, 8) || !(pte & 1))
			return -EFAULT;
		table = pte & addr;
		for (level = 2; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (read_pte(vp, table + ((gva >> shift) & 511) * 8, &pte, 8))
				return -EFAULT;
			if (!(pte & 1) || (write && !(pte & 2)))
				return -EFAULT;
			if (level == 2 && (pte & 0x80)) {
				*gpa = (pte & addr & ~0x1fffffULL) | (gva & 0x1fffff);
				return 0;
			}
			table = pte & addr;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}
	if (read_pte(vp, (cr3 & 0xfffff000) + ((gva >> 22) & 1023) * 4, &pte, 4))
		return -EFAULT;
	if (!(pte & 1) || (write && !(pte & 2)))
		return -EFAULT;
	if ((pte & 0x80) && (cr4 & (1u << 4))) {
		*gpa = (pte & 0xffc00000) | (gva & 0x3fffff);
		return 0;
	}
	if (read_pte(vp, (pte & 0xfffff000) + ((gva >> 12) & 1023) * 4, &pte, 4))
		return -EFAULT;
	if (!(pte & 1) || (write && !(pte & 2)))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
	return 0;
}

static bool is_prefix(uint8_t b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf2: case 0xf3: case 0xf0:
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
		return true;
	}
	return false;
}

static uint64_t size_mask(int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static int emulate_io_string(struct winhv_vp *vp, const struct hv_x64_io_port_intercept_message *m,
			     winhv_io_fn fn, void *ctx)
{
	const struct hv_x64_intercept_message_header *h = &m->header;
	bool write = h->intercept_access_type == HV_INTERCEPT_ACCESS_WRITE;
	bool rep = m->access_info & HV_X64_IO_ACCESS_REP;
	int size = m->access_info & HV_X64_IO_ACCESS_SIZE_MASK;
	bool lm = (h->execution_state & HV_X64_EXEC_STATE_EFER_LMA) && (h->cs.attributes & 0x2000);
	bool d32 = h->cs.attributes & 0x4000;
	int addr_size = lm ? 8 : d32 ? 4 : 2;
	struct hv_x64_segment_register seg = write ? m->ds : m->es;
	uint64_t idx = write ? m->rsi : m->rdi;
	uint64_t count, amask, done = 0;
	int64_t step = (h->rflags & (1u << 10)) ? -size : size;
	bool fsgs = false;
	uint32_t names[3];
	union hv_register_value vals[3];
	int i;

	/* Prefixes: address size and (for OUTS) a segment override. */
	for (i = 0; i < m->instruction_byte_count && is_prefix(m->instruction_bytes[i]); i++) {
		uint8_t b = m->instruction_bytes[i];

		if (b == 0x67)
			addr_size = lm ? 4 : (addr_size == 4 ? 2 : 4);
		else if (write && b != 0x66 && b != 0xf2 && b != 0xf3 && b != 0xf0) {
			static const uint32_t segname[8] = {
				[0] = HvX64RegisterEs, [1] = HvX64RegisterCs, [2] = HvX64RegisterSs,
				[3] = HvX64RegisterDs, [4] = HvX64RegisterFs, [5] = HvX64RegisterGs};
			int s = b == 0x26 ? 0 : b == 0x2e ? 1 : b == 0x36 ? 2 : b == 0x3e ? 3 :
				b == 0x64 ? 4 : 5;
			union hv_register_value sv;

			if (WinHvGetVpRegisters(vp, &segname[s], &sv, 1))
				return -EFAULT;
			seg = sv.segment;
			fsgs = s >= 4;
		}
	}
	amask = size_mask(addr_size);
	count = rep ? (m->rcx & amask) : 1;

	while (done < count && done < MAX_REP) {
		/* In 64-bit mode only FS and GS bases apply. */
		uint64_t lin = lm ? (fsgs ? seg.base : 0) + (idx & amask) :
				    (uint32_t)(seg.base + (idx & amask));
		uint64_t gpa;
		uint32_t val = 0;
		void *p;

		if (WinHvTranslateGva(vp, lin, !write, &gpa))
			return -EFAULT;
		p = WinHvGpaToHva(vp->partition, gpa, size);
		if (!p)
			return -EFAULT;
		if (write) {
			memcpy(&val, p, size);
			if (fn(ctx, m->port_number, true, size, &val) < 0)
				return -EIO;
		} else {
			if (fn(ctx, m->port_number, false, size, &val) < 0)
				return -EIO;
			memcpy(p, &val, size);
		}
		idx = (idx & ~amask) | ((idx + step) & amask);
		done++;
	}

	names[0] = write ? HvX64RegisterRsi : HvX64RegisterRdi;
	vals[0].reg64 = idx;
	names[1] = HvX64RegisterRcx;
	vals[1].reg64 = rep ? ((m->rcx & ~amask) | ((m->rcx - done) & amask)) : m->rcx;
	names[2] = HvX64RegisterRip;
	/* A long rep continues on the next exit: leave RIP on the instruction. */
	vals[2].reg64 = (done < count) ? h->rip : h->rip + (h->instruction_length & 0xf);
	return WinHvSetVpRegisters(vp, names, vals, 3);
}

int WinHvEmulateIoPort(struct winhv_vp *vp, const struct hv_message *msg, winhv_io_fn fn,
		       void *ctx)
{
	const struct hv_x64_io_port_intercept_message *m = (const void *)msg->payload;
	const struct hv_x64_intercept_message_header *h = &m->header;
	bool write = h->intercept_access_type == HV_INTERCEPT_ACCESS_WRITE;
	int size = m->access_info & HV_X64_IO_ACCESS_SIZE_MASK;
	uint32_t names[2] = {HvX64RegisterRip, HvX64RegisterRax};
	union hv_register_value vals[2];
	uint32_t val;

	if (msg->header.message_type != HvMessageTypeX64IoPortIntercept ||
	    (size != 1 && size != 2 && size != 4))
		return -EINVAL;
	if (m->access_info & HV_X64_IO_ACCESS_STRING)
		return emulate_io_string(vp, m, fn, ctx);

	vals[0].reg64 = h->rip + (h->instruction_length & 0xf);
	if (write) {
		val = (uint32_t)(m->rax & size_mask(size));
		if (fn(ctx, m->port_number, true, size, &val) < 0)
			return -EIO;
		return WinHvSetVpRegisters(vp, names, vals, 1);
	}
	val = 0;
	if (fn(ctx, m->port_number, false, size, &val) < 0)
		return -EIO;
	/* IN to EAX zero-extends in 64-bit mode; AL and AX merge. */
	vals[1].reg64 = size == 4 ? (uint64_t)val : (m->rax & ~size_mask(size)) |
							     (val & size_mask(size));
	return WinHvSetVpRegisters(vp, names, vals, 2);
}

/* ---- MMIO ---- */

/* Bytes of ModRM + SIB + displacement starting at b (b[0] = ModRM). */
static int modrm_length(const uint8_t *b, int n, int addr_size)
{
	int mod, rm, len = 1;

	if (n < 1)
		return -1;
	mod = b[0] >> 6;
	rm = b[0] & 7;
	if (mod == 3)
		return -1; /* register operand: not a memory access */
	if (addr_size == 2) {
		if (mod == 0 && rm == 6)
			return 3;
		return 1 + (mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4) {
		if (n < 2)
			return -1;
		len++;
		if (mod == 0 && (b[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* disp32 or RIP-relative */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

int WinHvDecodeMmio(const uint8_t *b, int n, bool long_mode, bool default32,
		    struct winhv_mmio_insn *out)
{
	int i = 0, opsize = default32 || long_mode ? 4 : 2, addr_size;
	uint8_t rex = 0, op;
	int ml, imm_len = 0;

	memset(out, 0, sizeof(*out));
	addr_size = long_mode ? 8 : default32 ? 4 : 2;
	if (n > 15)
		n = 15;
	while (i < n && is_prefix(b[i])) {
		if (b[i] == 0x66)
			opsize = (default32 || long_mode) ? 2 : 4;
		else if (b[i] == 0x67)
			addr_size = long_mode ? 4 : (addr_size == 4 ? 2 : 4);
		i++;
	}
	if (long_mode && i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (rex & 8)
		opsize = 8;
	if (i >= n)
		return -EINVAL;
	op = b[i++];
	out->kind = WINHV_MMIO_MOV;
	switch (op) {
	case 0x88: case 0x8a: case 0xc6:
		out->size = 1;
		break;
	case 0x89: case 0x8b: case 0xc7:
		out->size = opsize;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
		/* mov between AL/eAX and a direct address of address-size bytes */
		out->size = (op & 1) ? opsize : 1;
		out->write = op >= 0xa2;
		out->reg = 0;
		if (i + addr_size > n)
			return -EINVAL;
		out->length = i + addr_size;
		return 0;
	}
	case 0x0f:
		if (i >= n)
			return -EINVAL;
		op = b[i++];
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return -ENOTSUP;
		out->kind = (op == 0xb6 || op == 0xb7) ? WINHV_MMIO_MOVZX : WINHV_MMIO_MOVSX;
		out->size = (op == 0xb6 || op == 0xbe) ? 1 : 2;
		op = 0x100 | op;
		break;
	default:
		return -ENOTSUP;
	}
	ml = modrm_length(b + i, n - i, addr_size);
	if (ml < 0 || i + ml > n)
		return -EINVAL;
	out->reg = ((b[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	if (op == 0xc6 || op == 0xc7) {
		if (((b[i] >> 3) & 7) != 0)
			return -ENOTSUP;
		imm_len = op == 0xc6 ? 1 : (opsize == 2 ? 2 : 4);
		if (i + ml + imm_len > n)
			return -EINVAL;
		out->has_imm = true;
		out->imm = 0;
		memcpy(&out->imm, b + i + ml, imm_len);
		if (opsize == 8 && (out->imm & 0x80000000))
			out->imm |= 0xffffffff00000000ULL; /* imm32 sign-extends */
		out->write = true;
	} else {
		out->write = op == 0x88 || op == 0x89;
	}
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	if (out->size == 1 && !rex && out->reg >= 4 && out->reg < 8 && !out->has_imm &&
	    out->kind == WINHV_MMIO_MOV)
		out->reg += 12;
	out->length = i + ml + imm_len;
	/* The destination of movzx/movsx is a register of opsize. */
	if (out->kind != WINHV_MMIO_MOV)
		out->imm = opsize;
	else if (!out->has_imm)
		out->imm = 0;
	return 0;
}

int WinHvEmulateMmio(struct winhv_vp *vp, const struct hv_message *msg, winhv_mmio_fn fn,
		     void *ctx)
{
	const struct hv_x64_memory_intercept_message *m = (const void *)msg->payload;
	const struct hv_x64_intercept_message_header *h = &m->header;
	bool lm = (h->execution_state & HV_X64_EXEC_STATE_EFER_LMA) && (h->cs.attributes & 0x2000);
	struct winhv_mmio_insn in;
	uint32_t names[2];
	union hv_register_value vals[2];
	uint64_t val = 0;
	int reg, ret, nregs = 1;

	if (msg->header.message_type != HvMessageTypeUnmappedGpa &&
	    msg->header.message_type != HvMessageTypeGpaIntercept)
		return -EINVAL;
	ret = WinHvDecodeMmio(m->instruction_bytes, m->instruction_byte_count, lm,
			      h->cs.attributes & 0x4000, &in);
	if (ret)
		return ret;
	reg = in.reg >= 16 ? in.reg - 16 : in.reg;

	if (in.write) {
		if (in.has_imm) {
			val = in.imm;
		} else {
			union hv_register_value rv;

			ret = WinHvGetVpRegisters(vp, &gpr_names[reg], &rv, 1);
			if (ret)
				return ret;
			val = in.reg >= 16 ? (rv.reg64 >> 8) : rv.reg64;
		}
		val &= size_mask(in.size);
		if (fn(ctx, m->guest_physical_address, true, in.size, &val) < 0)
			return -EIO;
	} else {
		union hv_register_value rv;
		uint64_t dst;

		if (fn(ctx, m->guest_physical_address, false, in.size, &val) < 0)
			return -EIO;
		val &= size_mask(in.size);
		ret = WinHvGetVpRegisters(vp, &gpr_names[reg], &rv, 1);
		if (ret)
			return ret;
		dst = rv.reg64;
		if (in.kind == WINHV_MMIO_MOV) {
			if (in.reg >= 16)
				dst = (dst & ~0xff00ULL) | (val << 8);
			else if (in.size == 4)
				dst = val; /* 32-bit writes zero-extend */
			else
				dst = (dst & ~size_mask(in.size)) | val;
		} else {
			uint64_t ext = val;
			int osz = (int)in.imm;

			if (in.kind == WINHV_MMIO_MOVSX && (val & (1ULL << (in.size * 8 - 1))))
				ext |= ~size_mask(in.size);
			if (osz == 4)
				dst = ext & 0xffffffffULL;
			else
				dst = (dst & ~size_mask(osz)) | (ext & size_mask(osz));
		}
		names[1] = gpr_names[reg];
		vals[1].reg64 = dst;
		nregs = 2;
	}
	names[0] = HvX64RegisterRip;
	vals[0].reg64 = h->rip + in.length;
	if (!lm)
		vals[0].reg64 = (uint32_t)vals[0].reg64;
	return WinHvSetVpRegisters(vp, names, vals, nregs);
}
