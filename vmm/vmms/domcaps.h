/* domcaps.h: the domain capabilities document (virsh domcapabilities,
 * virConnectGetDomainCapabilities): what a linhv domain XML may contain. */
#ifndef VMMS_DOMCAPS_H
#define VMMS_DOMCAPS_H

#include "err.h"

/* Checks the caller's emulator / arch / machine / virttype (each may be
 * NULL = the default) against what linhv runs, then returns the document
 * (malloc'd); NULL with ERR set otherwise. WORKER is the vmwp path. */
char *domcaps_xml(const char *worker, const char *emulator, const char *arch, const char *machine,
		  const char *virttype, struct vmms_err *err);

#endif
