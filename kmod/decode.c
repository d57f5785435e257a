// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction length for the intercepts the kernel completes itself (CPUID,
 * RDMSR/WRMSR, HLT, INVD, VMMCALL, XSETBV), on CPUs without nrip_save, and
 * the operands of MOV to/from CR and DR. These instructions have fixed
 * opcodes (for the 0F 01 group the ModRM byte is part of the opcode); only
 * prefixes vary.
 */
#include "linhv_internal.h"

#define MAX_INSN_LEN 15

static bool is_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf2: case 0xf3: case 0xf0:
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
		return true;
	}
	return false;
}

/* Index of the opcode's first byte in b[0..n), or -1; *rex gets the REX byte or 0. */
static int skip_prefixes(const u8 *b, int n, bool long_mode, u8 *rex)
{
	int i = 0;

	*rex = 0;
	while (i < n && i < MAX_INSN_LEN && is_legacy_prefix(b[i]))
		i++;
	if (long_mode && i < n && (b[i] & 0xf0) == 0x40)
		*rex = b[i++];
	return i < n && i < MAX_INSN_LEN ? i : -1;
}

/*
 * Length of the instruction in b[0..n) whose opcode bytes (with the ModRM
 * byte for the 0F 01 group) are op[0..op_len), or -1 if the bytes differ.
 */
int linhv_insn_length(const u8 *b, int n, bool long_mode, const u8 *op, int op_len)
{
	u8 rex;
	int i = skip_prefixes(b, n, long_mode, &rex);

	if (i < 0 || i + op_len > n || i + op_len > MAX_INSN_LEN || memcmp(b + i, op, op_len))
		return -1;
	return i + op_len;
}

/*
 * MOV to/from a control or debug register: 0F op2 /r, where the ModRM reg
 * field (with REX.R) names the CR/DR and r/m (with REX.B) the GPR. The
 * ModRM mod field is ignored: the operand is always a register.
 */
int linhv_decode_mov_crdr(const u8 *b, int n, bool long_mode, u8 op2, struct linhv_mov_crdr *out)
{
	u8 rex, modrm;
	int i = skip_prefixes(b, n, long_mode, &rex);

	if (i < 0 || i + 3 > n || i + 3 > MAX_INSN_LEN || b[i] != 0x0f || b[i + 1] != op2)
		return -1;
	modrm = b[i + 2];
	out->ctl = ((modrm >> 3) & 7) | ((rex & 4) << 1);
	out->gpr = (modrm & 7) | ((rex & 1) << 3);
	out->len = i + 3;
	return 0;
}
