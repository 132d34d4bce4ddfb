/* durable_dir — directories whose entries survive a power cut. A new
 * directory, or a new file in one, is an entry in its parent directory's
 * data, which only an fsync of that directory writes out: without it the
 * entry (and everything committed inside) can vanish although the files
 * themselves were fsynced. Plain system calls; any thread. */
#ifndef TYCHO_CORE_DURABLE_DIR_H
#define TYCHO_CORE_DURABLE_DIR_H

#include <stddef.h>

/* mkdir -p dir (mode 0700 for the directories it creates), fsyncing the
 * parent of each one it creates; one that exists is left as it is. 0, or -1
 * with err: "cannot create it: <reason>", or tycho_durable_dir_sync's. */
int tycho_durable_dir_create(const char *dir, char *err, size_t errlen);

/* fsyncs directory dir (opened O_RDONLY|O_DIRECTORY), so the entries created
 * in it are durable. 0 (also when its file system cannot sync a directory:
 * EINVAL, ENOTSUP), or -1 with err "cannot sync directory <dir>: <reason>". */
int tycho_durable_dir_sync(const char *dir, char *err, size_t errlen);

#endif
