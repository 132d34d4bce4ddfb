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

/* FNV-1a: a collision (2^-64) only holds one line back as before */
static uint64_t text_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int tycho_ratelog_due_reason(tycho_ratelog_t *r, uint64_t now_ms, uint64_t every_ms,
                             const char *reason, uint64_t *count)
{
    uint64_t h = text_hash(reason);
    if (r->logged && h != r->reason) r->logged = 0;
    r->reason = h;
    return tycho_ratelog_due(r, now_ms, every_ms, 1, count);
}
