// SPDX-License-Identifier: MIT
/*
 * TEMPORARY stub, drop at merge: stands in for vpci_func.c (being written in
 * parallel) so that vmwp links. Every function is refused: --assign-pci
 * fails at the guest's start with "cannot be virtualized (Function not
 * implemented)".
 */
#include <errno.h>
#include <stddef.h>

#include "vpci_func.h"

int vpci_func_create(const struct vpci_bar bars[VPCI_NUM_BARS], const struct vpci_func_ops *ops,
		     void *ctx, struct vpci_func **out)
{
	(void)bars;
	(void)ops;
	(void)ctx;
	*out = NULL;
	return -ENOSYS;
}

void vpci_func_destroy(struct vpci_func *f)
{
	(void)f;
}

uint32_t vpci_func_cfg_read(struct vpci_func *f, uint32_t off, uint32_t size)
{
	(void)f;
	(void)off;
	(void)size;
	return 0xffffffffu;
}

void vpci_func_cfg_write(struct vpci_func *f, uint32_t off, uint32_t size, uint32_t val)
{
	(void)f;
	(void)off;
	(void)size;
	(void)val;
}

bool vpci_func_mmio(struct vpci_func *f, uint64_t gpa, bool write, uint32_t size, uint64_t *val)
{
	(void)f;
	(void)gpa;
	(void)write;
	(void)size;
	(void)val;
	return false;
}

void vpci_func_reset(struct vpci_func *f)
{
	(void)f;
}
