/* storage.h: libvirt storage pools of type 'dir', the subset virt-install
 * needs to take a disk image by path: a pool is a directory, its volumes are
 * the regular files in it (raw images, read live; vmms creates and deletes
 * none). Pools are stored as STATE/pools/NAME.xml, autostart marks as
 * STATE/pool-autostart/NAME; an autostart pool is active when vmms starts. */
#ifndef VMMS_STORAGE_H
#define VMMS_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct pool {
	struct pool *next;
	char *name;
	unsigned char uuid[16];
	char *path; /* the directory, absolute, no trailing '/' */
	bool active;
	bool autostart;
};

struct pool_space {
	uint64_t capacity, allocation, available;
};

struct vol_info {
	uint64_t capacity;   /* file size */
	uint64_t allocation; /* blocks on disk */
};

/* Loads the stored pools and starts the autostart ones. */
void storage_load_all(const char *state_dir);
/* Frees every pool (daemon exit). */
void storage_free_all(void);

struct pool *pool_by_name(const char *name);
struct pool *pool_by_uuid(const unsigned char uuid[16]);

/* Defines (or redefines an inactive) pool from XML and stores it. */
struct pool *pool_define(const char *state_dir, const char *xml, bool *updated,
			 struct vmms_err *err);
int pool_undefine(const char *state_dir, struct pool *p, struct vmms_err *err);
int pool_start(struct pool *p, struct vmms_err *err);
int pool_stop(struct pool *p, struct vmms_err *err);
int pool_build(struct pool *p, struct vmms_err *err);
int pool_set_autostart(const char *state_dir, struct pool *p, bool on, struct vmms_err *err);
void pool_space(const struct pool *p, struct pool_space *out);
/* The pool's XML (malloc'd); INACTIVE leaves out the space figures. */
char *pool_format(const struct pool *p, bool inactive);

/* Volume names of an active pool, sorted (malloc'd array of malloc'd
 * strings); returns the count or -1 with ERR set. */
int pool_volumes(const struct pool *p, char ***names, struct vmms_err *err);
void pool_volumes_free(char **names, int n);
/* Checks that NAME is a volume of active pool P; fills INFO if given. */
int vol_check(const struct pool *p, const char *name, struct vol_info *info, struct vmms_err *err);
/* The active pool holding the volume at PATH (its name in *NAME, pointing into
 * PATH), or NULL with ERR set. */
struct pool *vol_by_path(const char *path, const char **name, struct vmms_err *err);
/* A volume's path (malloc'd) and XML (malloc'd, NULL with ERR set). */
char *vol_path(const struct pool *p, const char *name);
char *vol_format(const struct pool *p, const char *name, struct vmms_err *err);

#endif
