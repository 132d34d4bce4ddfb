#include "core/request_series.h"

#include <stdint.h>
#include <string.h>

void tycho_request_series_init(tycho_request_series_cache_t *c, const tycho_hub_families_t *fam,
                               unsigned shard)
{
    memset(c, 0, sizeof *c);
    c->fam = fam;
    c->shard = shard;
}

/* Decimal text of v into out (12 bytes hold any int); returns out. */
static const char *int_text(int v, char out[12])
{
    char tmp[12];
    size_t n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0) out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = 0;
    return out;
}

static void resolve(const tycho_request_series_cache_t *c, const char *method, const char *route,
                    int status, tycho_request_series_t *out)
{
    char code[12];
    const char *mrs[] = {method, route, int_text(status, code)}, *mr[] = {method, route};
    out->requests = tycho_metric_series(c->fam->requests, c->shard, mrs, NULL);
    out->duration = tycho_metric_series(c->fam->duration, c->shard, mr, NULL);
    out->request_size = tycho_metric_series(c->fam->request_size, c->shard, mr, NULL);
    out->response_size = tycho_metric_series(c->fam->response_size, c->shard, mr, NULL);
}

static int cacheable(const tycho_request_series_t *s)
{
    const tycho_series_t *all[] = {s->requests, s->duration, s->request_size, s->response_size};
    for (size_t i = 0; i < 4; i++)
        if (!all[i] || tycho_series_is_overflow(all[i])) return 0;
    return 1;
}

void tycho_request_series_get(tycho_request_series_cache_t *c, const char *method, size_t mlen,
                              const char *route, int status, tycho_request_series_t *out)
{
    if (!method) method = "", mlen = 0; /* an engine error's request has no method */
    if (mlen > TYCHO_REQUEST_SERIES_METHOD_MAX) mlen = TYCHO_REQUEST_SERIES_METHOD_MAX;
    if (!route) route = "";
    /* The interned route pointer spreads entries well; the match below is on
     * the text. */
    uintptr_t h = (uintptr_t)route >> 3;
    h ^= (uintptr_t)status * 0x9e3779b1u;
    h ^= mlen ? (uintptr_t)(unsigned char)method[0] * 31u + mlen : 0;
    tycho_request_series_slot_t *s = &c->slot[(h ^ (h >> 7)) % TYCHO_REQUEST_SERIES_SLOTS];
    if (s->used && s->status == status && s->mlen == mlen && memcmp(s->method, method, mlen) == 0 &&
        strcmp(s->route, route) == 0) {
        *out = s->series;
        return;
    }
    char m[TYCHO_REQUEST_SERIES_METHOD_MAX + 1];
    if (mlen) memcpy(m, method, mlen);
    m[mlen] = 0;
    resolve(c, m, route, status, out);
    size_t rlen = strlen(route);
    if (rlen > TYCHO_REQUEST_SERIES_ROUTE_MAX || !cacheable(out)) return;
    s->used = 1;
    s->status = status;
    s->mlen = (unsigned char)mlen;
    memcpy(s->method, m, mlen + 1);
    memcpy(s->route, route, rlen + 1);
    s->series = *out;
}
