/* vmms.h: the daemon-wide context shared by every vmms piece. */
#ifndef VMMS_VMMS_H
#define VMMS_VMMS_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct client;
struct pool;

/* One epoll registration: CB runs when FD is ready. */
struct watch {
	int fd;
	void (*cb)(struct watch *w, uint32_t events);
};

struct vmms {
	const char *state_dir;
	const char *run_dir;
	const char *socket_dir;
	char worker_path[4096]; /* resolved vmwp, "" if none found */
	const char *backend;	/* --backend passed on to every worker, or NULL */
	int start_timeout_ms;	/* how long a starting worker may take to come up */
	int epfd;
	bool quit;
	struct domain *domains;
	struct pool *pools; /* storage pools (storage.h) */
	int next_id;
	struct client *clients;
	unsigned nclients;
	unsigned max_clients;	 /* on the read-write socket (--max-clients) */
	unsigned max_ro_clients; /* on the read-only socket (--max-ro-clients) */
};

extern struct vmms *vmms_ctx; /* the one daemon instance */

int loop_add(struct watch *w, uint32_t events);
int loop_mod(struct watch *w, uint32_t events);
void loop_del(struct watch *w);

/* Frees P after the current batch of events has been handled. */
void defer_free(void *p);
void loop_free_deferred(void);

/* Monotonic milliseconds. */
int64_t now_ms(void);

#endif
