/* durable_dir — see durable_dir.h. */
#include "core/durable_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file system that cannot fsync a directory (some FUSE and network ones
 * answer EINVAL or ENOTSUP) has no entry to make durable this way: not an
 * error, or tycho could not start there at all (SQLite ignores it too). */
static int sync_unsupported(int e)
{
    return e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP;
}

int tycho_durable_dir_sync(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (fd >= 0 && sync_unsupported(e)) return 0;
        snprintf(err, errlen, "cannot sync directory %s: %s", dir, strerror(e));
        return -1;
    }
    close(fd);
    return 0;
}

/* Creates path (its parent exists) and fsyncs the parent; path is cut at
 * its last '/' for the moment the parent is named. 0 when created or there. */
static int create_one(char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0) {
        if (errno == EEXIST) return 0;
        snprintf(err, errlen, "cannot create it: %s", strerror(errno));
        return -1;
    }
    char *slash = strrchr(path, '/');
    if (!slash) return tycho_durable_dir_sync(".", err, errlen);
    if (slash == path) return tycho_durable_dir_sync("/", err, errlen);
    *slash = '\0';
    int rc = tycho_durable_dir_sync(path, err, errlen);
    *slash = '/';
    return rc;
}

int tycho_durable_dir_create(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "cannot create it: %s", strerror(ENAMETOOLONG));
        return -1;
    }
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') /* "a/b/": b's parent is a */
        path[--n] = '\0';
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/') continue;
        *p = '\0';
        int rc = create_one(path, err, errlen);
        *p = '/';
        if (rc) return -1;
    }
    return create_one(path, err, errlen);
}
