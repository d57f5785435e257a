/* store.h: persistent domain definitions under the state dir.
 *
 *   STATE/domains/NAME.xml     canonical definition
 *   STATE/autostart/NAME       present when the domain starts with vmms
 *
 * Every write goes to a temp file that is fsynced, renamed over the target
 * and followed by an fsync of the directory, so a crash leaves either the old
 * or the new definition, never half of one. */
#ifndef VMMS_STORE_H
#define VMMS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: PATH and its missing parents. Returns -1 with errno set. */
int store_mkdir_p(const char *path, mode_t mode);

/* Creates the directories. Returns -1 with errno set. */
int store_init(const char *state_dir);

/* Atomically replaces PATH's contents with DATA. Returns -1 with errno set. */
int store_write_atomic(const char *path, const char *data, size_t len);

int store_save_def(const char *state_dir, const char *name, const char *xml);
int store_remove_def(const char *state_dir, const char *name);
int store_set_autostart(const char *state_dir, const char *name, bool on);
bool store_get_autostart(const char *state_dir, const char *name);

/* Calls FN for each stored definition (NAME, XML text); stale temp files are
 * removed. Returns the number of definitions visited, or -1. */
int store_load_all(const char *state_dir,
		   void (*fn)(const char *name, const char *xml, void *opaque), void *opaque);

/* Reads a whole small file; malloc'd, NUL-terminated, or NULL with errno. */
char *read_file(const char *path, size_t max);

#endif
