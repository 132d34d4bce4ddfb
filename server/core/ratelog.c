#include "core/ratelog.h"

#include "core/fnv.h"

#include <string.h>

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

/* The length of a UTC date-time at s ("2026-01-01T00:00:00Z", as tycho
 * writes one in a message: an expired set's Expiration and local time),
 * 0 otherwise. */
static size_t datetime_at(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return 0;
    return sizeof shape - 1;
}

/* The length of what at s changes at every event of one error, 0 for none:
 * a date-time, or a number counting milliseconds or bytes (curl's "after
 * 1001 ms", "after 200 milliseconds with 0 out of 10 bytes received"). */
static size_t measure_at(const char *s)
{
    static const char *const units[] = {" ms", " milliseconds", " bytes", " out of "};
    size_t n = datetime_at(s);
    if (n) return n;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (!n) return 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strncmp(s + n, units[i], strlen(units[i])) == 0) return n;
    return 0;
}

/* FNV-1a over the text, a measure counting as '#': a collision (2^-64)
 * only holds one line back as before */
static uint64_t text_hash(const char *s)
{
    uint64_t h = TYCHO_FNV_OFFSET;
    while (*s) {
        size_t m = measure_at(s);
        h = tycho_fnv_byte(h, m ? '#' : (unsigned char)*s);
        s += m ? m : 1;
    }
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
