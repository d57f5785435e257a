// SPDX-License-Identifier: MIT
/*
 * linhv-info: print what the hypervisor offers on this host.
 */
#include <stdio.h>
#include <string.h>

#include <linhv/winhv.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: linhv-info [--backend auto|linhv|kvm]\n"
		   "Print the hypervisor's vendor (SVM or VMX) and the virtualization features\n"
		   "it found. Exits 1 when the backend is not usable (e.g. linhv.ko not loaded).\n");
}

int main(int argc, char **argv)
{
	enum winhv_backend backend = WINHV_BACKEND_LINHV;
	struct winhv_caps caps;
	char feats[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
			if (WinHvParseBackend(argv[++i], &backend)) {
				fprintf(stderr, "linhv-info: unknown backend '%s'\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "linhv-info: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

	if (WinHvGetCapabilities(backend, &caps)) {
		fprintf(stderr, "linhv-info: %s\n", WinHvLastError());
		return 1;
	}
	WinHvFeatureNames(caps.hv.features, feats, sizeof(feats));
	printf("backend:   %s\n", WinHvBackendName(caps.backend));
	printf("api:       %u\n", caps.hv.api_version);
	printf("cpu:       %s\n", caps.hv.cpu_vendor);
	printf("vendor:    %s\n", WinHvVendorName(caps.hv.vendor));
	printf("features:  %s\n", feats);
	printf("asids:     %u\n", caps.hv.nr_asids);
	printf("max vps:   %u per partition\n", caps.hv.max_vps_per_partition);
	return 0;
}
