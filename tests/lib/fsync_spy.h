/* fsync_spy — records the directories a unit test's code fsyncs. Include it
 * in one file of a test program: its fsync replaces libc's for tycho_core
 * and the libraries the program loads (the tests link with -Wl,-E), records
 * the path of each directory it is given, then does the real fsync — or,
 * when fsync_spy_errno is set, fails with it for a directory (a file system
 * that cannot sync one, a disk error). */
#ifndef TYCHO_TEST_FSYNC_SPY_H
#define TYCHO_TEST_FSYNC_SPY_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char fsync_spy_dirs[32][PATH_MAX];
static int fsync_spy_n;
static int fsync_spy_errno;

int fsync(int fd)
{
    struct stat st;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && fsync_spy_n < 32) {
        path[n] = '\0';
        snprintf(fsync_spy_dirs[fsync_spy_n++], PATH_MAX, "%s", path);
        if (fsync_spy_errno) {
            errno = fsync_spy_errno;
            return -1;
        }
    }
    return (int)syscall(SYS_fsync, fd);
}

/* Forgets the directories recorded so far. */
static inline void fsync_spy_reset(void)
{
    fsync_spy_n = 0;
    fsync_spy_errno = 0;
}

/* 1 when dir was fsynced since the last reset. */
static inline int fsync_spy_synced(const char *dir)
{
    for (int i = 0; i < fsync_spy_n; i++)
        if (strcmp(fsync_spy_dirs[i], dir) == 0) return 1;
    return 0;
}

#endif
