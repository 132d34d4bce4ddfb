#include "core/ratelog.h"

int tycho_ratelog_due(tycho_ratelog_t *r, uint64_t now_ms, uint64_t every_ms, uint64_t n,
                      uint64_t *count)
{
    r->pending += n;
    if (!r->pending) return 0;
    if (r->logged && now_ms - r->last_ms < every_ms) return 0;
    *count = r->pending;
    r->pending = 0;
    r->last_ms = now_ms;
    r->logged = 1;
    return 1;
}
