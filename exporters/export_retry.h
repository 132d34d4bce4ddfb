/* export_retry — what each export protocol says about a failed request
 * (PROTOCOLS.md sections 1-3): retry or drop, Retry-After, and the capped
 * exponential backoff with jitter used between attempts. Pure functions,
 * any thread. */
#ifndef TYCHO_EXPORTERS_EXPORT_RETRY_H
#define TYCHO_EXPORTERS_EXPORT_RETRY_H

#include <stdint.h>

#include "exporters/export_config.h"

typedef enum {
    TYCHO_EXPORT_PROTO_OTLP, /* OTLP/HTTP */
    TYCHO_EXPORT_PROTO_PRW,  /* Prometheus remote write 1.0 */
    TYCHO_EXPORT_PROTO_LOKI, /* Loki push */
} tycho_export_proto_t;

typedef enum {
    TYCHO_EXPORT_DONE,   /* 2xx: the receiver has it */
    TYCHO_EXPORT_RETRY,  /* transient: try again after a backoff */
    TYCHO_EXPORT_REJECT, /* permanent: drop the batch, never resend it */
} tycho_export_verdict_t;

/* transport_error: the request got no HTTP response (refused, reset,
 * timeout); status is ignored then.
 *  OTLP: 2xx done; 429, 502, 503, 504 and no response retry; the rest drop.
 *  PRW:  2xx done; 5xx, 429 and no response retry; other statuses drop.
 *  Loki: 2xx done; 429, 5xx and no response retry; other statuses drop. */
tycho_export_verdict_t tycho_export_classify(tycho_export_proto_t proto, int transport_error,
                                             long status);

/* Retry-After: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 or
 * asctime form), relative to now_s (unix seconds). 0 and *ms, or -1 when
 * the value is neither. A date in the past gives 0. */
int tycho_export_parse_retry_after(const char *value, int64_t now_s, uint64_t *ms);

/* Delay before retry number `retry` (1 = the first retry): the exponential
 * base min(backoff_max, backoff_min * 2^(retry-1)), jittered into
 * [base/2, base] with rnd (any 64-bit random number). */
uint64_t tycho_export_backoff_ms(const tycho_export_retry_t *r, unsigned retry, uint64_t rnd);

#endif
