// SPDX-License-Identifier: MIT
/* Shutdown IC (ic_shutdown.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic_shutdown.h"

static const uint32_t sd_versions[] = {IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
				       IC_VERSION(1, 0)};

struct ic_shutdown {
	struct ic_shutdown_params p;
	struct ic_service *svc;
};

static void on_response(struct ic_service *svc, uint32_t status, const uint8_t *body, uint32_t len,
			void *ctx)
{
	struct ic_shutdown *sd = ctx;

	(void)svc, (void)body, (void)len;
	if (sd->p.on_result)
		sd->p.on_result(sd->p.ctx, status);
}

int ic_shutdown_create(const struct ic_shutdown_params *p, struct ic_shutdown **out)
{
	struct ic_shutdown *sd = calloc(1, sizeof(*sd));
	struct ic_service_params sp = {
	    .server = p->server,
	    .loop = p->loop,
	    .if_type = IC_GUID_SHUTDOWN,
	    .if_instance = p->instance,
	    .msgtype = IC_MSGTYPE_SHUTDOWN,
	    .versions = sd_versions,
	    .nversions = 4,
	    .on_response = on_response,
	    .ctx = sd,
	};
	int ret;

	*out = NULL;
	if (!sd)
		return -ENOMEM;
	sd->p = *p;
	ret = ic_service_create(&sp, &sd->svc);
	if (ret) {
		free(sd);
		return ret;
	}
	*out = sd;
	return 0;
}

void ic_shutdown_destroy(struct ic_shutdown *sd)
{
	if (!sd)
		return;
	ic_service_destroy(sd->svc);
	free(sd);
}

bool ic_shutdown_ready(const struct ic_shutdown *sd)
{
	return ic_service_ready(sd->svc);
}

int ic_shutdown_request(struct ic_shutdown *sd, uint32_t flags, uint32_t reason,
			const char *message)
{
	struct ic_shutdown_msg m;

	if (flags > (IC_SHUTDOWN_FLAG_HIBERNATE | IC_SHUTDOWN_FLAG_FORCE))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.reason_code = reason;
	m.timeout_seconds = 0;
	m.flags = flags;
	if (message)
		ic_utf8_to_utf16(message, m.display_message, sizeof(m.display_message));
	return ic_service_request(sd->svc, &m, sizeof(m));
}
