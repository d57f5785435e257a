/* err.h: libvirt-style errors carried from a handler to the wire. */
#ifndef VMMS_ERR_H
#define VMMS_ERR_H

/* Constants only (VIR_ERR_* and VIR_FROM_* codes): vmms never links libvirt. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct vmms_err {
	int code;   /* virErrorNumber, 0 = no error */
	int domain; /* virErrorDomain */
	char msg[1024];
};

/* Sets err (if not already set) to CODE with libvirt's usual prefix for that
 * code ("Domain not found: ...") so virsh prints what users expect. Returns -1
 * so handlers can write "return vmms_err_set(...)". */
int vmms_err_set(struct vmms_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vmms_err_clear(struct vmms_err *err);

#endif
