/* thread_name — names the calling thread ("tycho-w0", "tycho-admin"...) so
 * that top -H, ps -L, perf and /proc/<pid>/task/<tid>/comm tell tycho's
 * threads apart. Linux keeps 15 bytes: a longer name is cut. Best effort: a
 * failure changes nothing but the name. */
#ifndef TYCHO_CORE_THREAD_NAME_H
#define TYCHO_CORE_THREAD_NAME_H

#include <sys/prctl.h>

static inline void tycho_thread_name(const char *name)
{
    (void)prctl(PR_SET_NAME, name, 0, 0, 0); /* the kernel cuts it at 15 bytes */
}

#endif
