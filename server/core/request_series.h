/* request_series — the series of the built-in per-request metrics (requests
 * by method, route and status; duration, request and response size by method
 * and route) for one (method, route, status), resolved by label lookup once
 * and then kept in a small direct-mapped cache, so a request costs a few
 * compares instead of four hashed lookups. One cache per worker observer,
 * used only on that worker's thread (the series belong to its shard). Series
 * live as long as the registry, which outlives the workers; an entry is
 * matched on the route's text, never on its pointer alone, so a route freed
 * by a reload cannot alias a new one. */
#ifndef TYCHO_REQUEST_SERIES_H
#define TYCHO_REQUEST_SERIES_H

#include "core/telemetry_hub.h"

#include <stddef.h>

#define TYCHO_REQUEST_SERIES_SLOTS 64
#define TYCHO_REQUEST_SERIES_METHOD_MAX 15 /* longer methods are cut, as labels */
#define TYCHO_REQUEST_SERIES_ROUTE_MAX 63  /* longer routes resolve every time */

typedef struct tycho_request_series {
    tycho_series_t *requests, *duration, *request_size, *response_size; /* NULL: ENOMEM */
} tycho_request_series_t;

typedef struct tycho_request_series_slot {
    int status;
    unsigned char mlen;
    unsigned char used;
    char method[TYCHO_REQUEST_SERIES_METHOD_MAX + 1];
    char route[TYCHO_REQUEST_SERIES_ROUTE_MAX + 1];
    tycho_request_series_t series;
} tycho_request_series_slot_t;

typedef struct tycho_request_series_cache {
    const tycho_hub_families_t *fam;
    unsigned shard;
    tycho_request_series_slot_t slot[TYCHO_REQUEST_SERIES_SLOTS];
} tycho_request_series_cache_t;

void tycho_request_series_init(tycho_request_series_cache_t *c, const tycho_hub_families_t *fam,
                               unsigned shard);
/* The series for a request: method is a slice (NULL = ""), route NULL = "".
 * A series that could not be created is NULL in *out (skip that update).
 * Series folded into a metric's overflow series are not cached: resolving
 * them again counts each fold, as a keyed update does. */
void tycho_request_series_get(tycho_request_series_cache_t *c, const char *method, size_t mlen,
                              const char *route, int status, tycho_request_series_t *out);

#endif
