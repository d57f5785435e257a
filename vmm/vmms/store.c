/* store.c: see store.h. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int store_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int store_init(const char *state_dir)
{
	char p[PATH_MAX];
	if (store_mkdir_p(state_dir, 0700) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/domains", state_dir);
	if (store_mkdir_p(p, 0700) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/autostart", state_dir);
	return store_mkdir_p(p, 0700);
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int store_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	const char *base = strrchr(path, '/');
	size_t dirlen = base ? (size_t)(base - path + 1) : 0;
	/* The temp name starts with '.' so store_load_all never reads it. */
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp", (int)dirlen, path, base ? base + 1 : path) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return fsync_dir_of(path);
fail : {
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
}

int store_save_def(const char *state_dir, const char *name, const char *xml)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/domains/%s.xml", state_dir, name);
	return store_write_atomic(p, xml, strlen(xml));
}

int store_remove_def(const char *state_dir, const char *name)
{
	char p[PATH_MAX];
	store_set_autostart(state_dir, name, false);
	snprintf(p, sizeof(p), "%s/domains/%s.xml", state_dir, name);
	if (unlink(p) < 0 && errno != ENOENT)
		return -1;
	return fsync_dir_of(p);
}

int store_set_autostart(const char *state_dir, const char *name, bool on)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/autostart/%s", state_dir, name);
	if (on)
		return store_write_atomic(p, "", 0);
	if (unlink(p) < 0 && errno != ENOENT)
		return -1;
	return fsync_dir_of(p);
}

bool store_get_autostart(const char *state_dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/autostart/%s", state_dir, name);
	return access(p, F_OK) == 0;
}

char *read_file(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			buf[len] = 0;
			break;
		}
		len += (size_t)n;
	}
	int e = errno;
	close(fd);
	errno = e;
	return buf;
}

int store_load_all(const char *state_dir,
		   void (*fn)(const char *name, const char *xml, void *opaque), void *opaque)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/domains", state_dir);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		size_t n = strlen(e->d_name);
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		if (e->d_name[0] == '.') {
			/* A temp file left by a crash mid-write: the rename never happened,
			 * so the old definition (if any) is still whole. */
			if (n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) {
				log_warn("removing interrupted write %s", p);
				unlink(p);
			}
			continue;
		}
		if (n <= 4 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		char *xml = read_file(p, 1 << 20);
		if (!xml) {
			log_err("cannot read %s: %s", p, strerror(errno));
			continue;
		}
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		fn(name, xml, opaque);
		free(xml);
		count++;
	}
	closedir(d);
	return count;
}
