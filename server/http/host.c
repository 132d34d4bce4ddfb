#include "http/host.h"

#include <string.h>

int tycho_host_split(const tycho_slice_t *host, tycho_slice_t *name, tycho_slice_t *rest,
                     int *bracketed)
{
    const char *p = host->p, *end = p + host->n, *after;
    *bracketed = host->n && p[0] == '[';
    if (*bracketed) {
        const char *close = memchr(p, ']', host->n);
        if (!close) return -1;
        *name = (tycho_slice_t){p + 1, (size_t)(close - p - 1)};
        after = close + 1;
    } else {
        after = memchr(p, ':', host->n);
        if (!after) after = end;
        *name = (tycho_slice_t){p, (size_t)(after - p)};
    }
    *rest = (tycho_slice_t){after, (size_t)(end - after)};
    return 0;
}
