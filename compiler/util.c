/* util.c: file helpers that report errors with the path and errno text. */
#define _POSIX_C_SOURCE 200809L
#include "effc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum effc_status effc_read_file(const char *path, void **data, size_t *size, struct effc_diag *d)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return effc_fail(d, EFFC_ERR_IO, "%s: not a regular file", path);
	}
	size_t n = (size_t)st.st_size;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf) {
		fclose(f);
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
	}
	if (n && fread(buf, 1, n, f) != n) {
		free(buf);
		fclose(f);
		return effc_fail(d, EFFC_ERR_IO, "%s: read error", path);
	}
	fclose(f);
	*data = buf;
	*size = n;
	return EFFC_OK;
}

/* Whether the file open as fd lies under the directory dir (a resolved path): the kernel's
 * own name for what was opened (/proc/self/fd), so a path component swapped for a symlink
 * between the caller's realpath check and the open cannot lead out of dir. Without /proc
 * (not Linux) the caller's check before the open is all there is. */
static int fd_within(int fd, const char *dir)
{
	char link[64], real[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, sizeof real - 1);
	if (n < 0)
		return 1;
	real[n] = 0;
	size_t dl = strlen(dir);
	return !strncmp(real, dir, dl) && (real[dl] == '/' || (dl == 1 && dir[0] == '/'));
}

enum effc_status effc_map_file(const char *path, const void **data, size_t *size, struct effc_diag *d)
{
	return effc_map_file_within(path, NULL, data, size, d);
}

enum effc_status effc_map_file_within(const char *path, const char *dir, const void **data, size_t *size,
				      struct effc_diag *d)
{
	/* O_NONBLOCK: a FIFO named as a data file must be refused below, not block the open
	 * waiting for a writer; on a regular file it changes nothing. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (dir && !fd_within(fd, dir)) {
		close(fd);
		return effc_fail(d, EFFC_ERR_INVALID, "%s: the file opened is no longer under '%s' (changed while loading)",
				 path, dir);
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return effc_fail(d, EFFC_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return effc_fail(d, EFFC_ERR_IO, "%s: too large to map (%lld bytes)", path, (long long)st.st_size);
	}
	size_t n = (size_t)st.st_size;
	void *p = NULL;
	/* mmap refuses a zero length; an empty file is a valid, empty mapping for the caller. */
	if (n && (p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		int e = errno;
		close(fd);
		return effc_fail(d, e == ENOMEM ? EFFC_ERR_NOMEM : EFFC_ERR_IO, "%s: cannot map %zu bytes: %s", path, n,
				 strerror(e));
	}
	close(fd); /* the mapping keeps the file open */
	*data = p;
	*size = n;
	return EFFC_OK;
}

void effc_unmap_file(const void *data, size_t size)
{
	if (data && size)
		munmap((void *)data, size);
}

enum effc_status effc_write_file(const char *path, const void *data, size_t size, struct effc_diag *d)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
	int bad = size && fwrite(data, 1, size, f) != size;
	bad |= fclose(f) != 0; /* close even after a short write */
	if (bad)
		return effc_fail(d, EFFC_ERR_IO, "%s: write error: %s", path, strerror(errno));
	return EFFC_OK;
}

enum effc_status effc_mkdir_p(const char *path, struct effc_diag *d)
{
	char buf[4096];
	if (strlen(path) >= sizeof buf)
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", path);
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return effc_fail(d, EFFC_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0777) != 0 && errno != EEXIST)
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
	return EFFC_OK;
}

int effc_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int rc = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *sub = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (!sub) {
			rc = -1;
			break;
		}
		sprintf(sub, "%s/%s", path, e->d_name);
		rc |= effc_rm_rf(sub);
		free(sub);
	}
	closedir(dir);
	return rc | rmdir(path);
}

int effc_c_ident_ok(const char *s)
{
	if (!s || !*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int effc_pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
