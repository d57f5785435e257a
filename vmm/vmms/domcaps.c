/* domcaps.c: see domcaps.h. The document follows libvirt's domaincaps
 * schema (libvirt 9.0), which has no element for interface types or memory
 * limits: those two are said in a comment, which the schema allows. */
#include "domcaps.h"

#include <stdio.h>
#include <string.h>

#include "domxml.h"

#define KIB_PER_MIB 1024

static int refuse(struct vmms_err *err, const char *what, const char *got, const char *want)
{
	return vmms_err_set(err, VIR_ERR_INVALID_ARG, "%s '%s' is not supported by linhv (only %s)",
			    what, got, want);
}

char *domcaps_xml(const char *worker, const char *emulator, const char *arch, const char *machine,
		  const char *virttype, struct vmms_err *err)
{
	const char *path = worker && *worker ? worker : "/usr/libexec/linhv/vmwp";
	if (emulator && *emulator && strcmp(emulator, path)) {
		refuse(err, "emulator", emulator, path);
		return NULL;
	}
	if (arch && *arch && strcmp(arch, "x86_64")) {
		refuse(err, "architecture", arch, "x86_64");
		return NULL;
	}
	if (machine && *machine && strcmp(machine, "linhv")) {
		refuse(err, "machine type", machine, "linhv");
		return NULL;
	}
	if (virttype && *virttype && strcmp(virttype, "linhv")) {
		refuse(err, "virtualization type", virttype, "linhv");
		return NULL;
	}
	char *out = NULL;
	/* Every "no" below is something domxml refuses: a definition that uses
	 * it fails with "unsupported configuration". */
	int rc = asprintf(
	    &out,
	    "<domainCapabilities>\n"
	    "  <path>%s</path>\n"
	    "  <domain>linhv</domain>\n"
	    "  <machine>linhv</machine>\n"
	    "  <arch>x86_64</arch>\n"
	    "  <vcpu max='%d'/>\n"
	    "  <iothreads supported='no'/>\n"
	    "  <!-- linhv boots the guest's kernel directly: <os> takes <kernel>, <initrd>\n"
	    "       and <cmdline>; there is no firmware and no loader. -->\n"
	    "  <os supported='yes'>\n"
	    "    <enum name='firmware'/>\n"
	    "    <loader supported='no'/>\n"
	    "  </os>\n"
	    "  <cpu>\n"
	    "    <mode name='host-passthrough' supported='no'/>\n"
	    "    <mode name='maximum' supported='no'/>\n"
	    "    <mode name='host-model' supported='no'/>\n"
	    "    <mode name='custom' supported='no'/>\n"
	    "  </cpu>\n"
	    "  <memoryBacking supported='no'/>\n"
	    "  <!-- memory: <memory> of at least %d MiB, <currentMemory> equal to it (no\n"
	    "       ballooning).\n"
	    "       interfaces: <interface type='bridge'> (<source bridge>) and\n"
	    "       <interface type='ethernet'> (<target dev> = an existing TAP), model\n"
	    "       netvsc, at most %d; disks: at most %d, raw images or block devices,\n"
	    "       cache default, none or writeback. -->\n"
	    "  <devices>\n"
	    "    <disk supported='yes'>\n"
	    "      <enum name='diskDevice'>\n"
	    "        <value>disk</value>\n"
	    "      </enum>\n"
	    "      <enum name='bus'>\n"
	    "        <value>scsi</value>\n"
	    "      </enum>\n"
	    "      <enum name='model'/>\n"
	    "    </disk>\n"
	    "    <graphics supported='no'/>\n"
	    "    <video supported='no'/>\n"
	    "    <hostdev supported='no'/>\n"
	    "    <rng supported='no'/>\n"
	    "    <filesystem supported='no'/>\n"
	    "    <tpm supported='no'/>\n"
	    "    <redirdev supported='no'/>\n"
	    "    <channel supported='no'/>\n"
	    "  </devices>\n"
	    "  <!-- The guest always sees linhv's Hyper-V interface; it is not\n"
	    "       configured through <features><hyperv>. -->\n"
	    "  <features>\n"
	    "    <gic supported='no'/>\n"
	    "    <vmcoreinfo supported='no'/>\n"
	    "    <genid supported='no'/>\n"
	    "    <backingStoreInput supported='no'/>\n"
	    "    <backup supported='no'/>\n"
	    "    <sev supported='no'/>\n"
	    "    <sgx supported='no'/>\n"
	    "    <hyperv supported='no'/>\n"
	    "  </features>\n"
	    "</domainCapabilities>\n",
	    path, DOM_MAX_VCPUS, DOM_MIN_MEMORY_KIB / KIB_PER_MIB, DOM_MAX_NICS, DOM_MAX_DISKS);
	if (rc < 0) {
		vmms_err_set(err, VIR_ERR_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	return out;
}
