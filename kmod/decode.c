// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction length for the intercepts the kernel completes itself (CPUID,
 * RDMSR/WRMSR, HLT, VMMCALL, XSETBV...), on CPUs without nrip_save. These
 * instructions have fixed opcodes; only prefixes vary.
 */
#include "linhv_internal.h"

static bool is_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf2: case 0xf3: case 0xf0:
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
		return true;
	}
	return false;
}

/*
 * Length of the instruction in b[0..n) whose opcode starts with expect0
 * (and expect1 when non-zero), or -1 if the bytes do not match.
 */
int linhv_insn_length(const u8 *b, int n, bool long_mode, u8 expect0, u8 expect1)
{
	int i = 0;

	while (i < n && i < 14 && is_legacy_prefix(b[i]))
		i++;
	if (long_mode && i < n && (b[i] & 0xf0) == 0x40)
		i++;
	if (i >= n || b[i] != expect0)
		return -1;
	i++;
	if (expect1) {
		if (i >= n || b[i] != expect1)
			return -1;
		i++;
	}
	return i;
}
