/* err.c: build error messages the way libvirt words them. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *prefix_for(int code)
{
	switch (code) {
	case VIR_ERR_INTERNAL_ERROR:
		return "internal error";
	case VIR_ERR_NO_SUPPORT:
		return "this function is not supported by the connection driver";
	case VIR_ERR_INVALID_ARG:
		return "invalid argument";
	case VIR_ERR_OPERATION_FAILED:
		return "operation failed";
	case VIR_ERR_XML_ERROR:
		return "XML error";
	case VIR_ERR_OPERATION_DENIED:
		return "operation forbidden";
	case VIR_ERR_RPC:
		return "RPC error";
	case VIR_ERR_NO_DOMAIN:
		return "Domain not found";
	case VIR_ERR_NO_STORAGE_POOL:
		return "Storage pool not found";
	case VIR_ERR_NO_STORAGE_VOL:
		return "Storage volume not found";
	case VIR_ERR_OPERATION_INVALID:
		return "Requested operation is not valid";
	case VIR_ERR_CONFIG_UNSUPPORTED:
		return "unsupported configuration";
	case VIR_ERR_OPERATION_TIMEOUT:
		return "Timed out during operation";
	case VIR_ERR_OPERATION_UNSUPPORTED:
		return "Operation not supported";
	case VIR_ERR_ACCESS_DENIED:
		return "access denied";
	case VIR_ERR_SYSTEM_ERROR:
		return "system error";
	default:
		return "error";
	}
}

static int domain_for(int code)
{
	switch (code) {
	case VIR_ERR_XML_ERROR:
	case VIR_ERR_CONFIG_UNSUPPORTED:
		return VIR_FROM_DOMAIN;
	case VIR_ERR_RPC:
		return VIR_FROM_RPC;
	case VIR_ERR_NO_DOMAIN:
		return VIR_FROM_DOM;
	case VIR_ERR_NO_STORAGE_POOL:
	case VIR_ERR_NO_STORAGE_VOL:
		return VIR_FROM_STORAGE;
	default:
		return VIR_FROM_NONE;
	}
}

int vmms_err_set(struct vmms_err *err, int code, const char *fmt, ...)
{
	if (!err || err->code)
		return -1; /* keep the first, most specific error */
	err->code = code;
	err->domain = domain_for(code);
	int n = snprintf(err->msg, sizeof(err->msg), "%s: ", prefix_for(code));
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

void vmms_err_clear(struct vmms_err *err)
{
	memset(err, 0, sizeof(*err));
}
