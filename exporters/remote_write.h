/* remote_write — Prometheus remote write 1.0 bodies from a metrics snapshot
 * (PROTOCOLS.md section 1): every series with its complete label set sorted
 * by byte order (__name__, the family's labels, job and instance from the
 * config, le for histogram buckets), empty-valued labels left out, one
 * sample at the snapshot's millisecond timestamp (or a stale marker, which
 * ends the series); histograms as cumulative
 * _bucket{le} series (with +Inf), _sum and _count. Bodies are snappy-block
 * compressed WriteRequests, split so none holds more than max_samples
 * samples. Pure functions over the snapshot, any thread. */
#ifndef TYCHO_EXPORTERS_REMOTE_WRITE_H
#define TYCHO_EXPORTERS_REMOTE_WRITE_H

#include <stddef.h>

#include "core/buf.h"
#include "telemetry/metrics.h"

#define TYCHO_RW_CONTENT_TYPE "application/x-protobuf"
#define TYCHO_RW_VERSION "0.1.0"

typedef struct tycho_rw_options {
    const char *job;      /* "job" label unless the series has its own; NULL/"" = none */
    const char *instance; /* "instance" label likewise */
    size_t max_samples;   /* per request; 0 = 2000 */
    /* 1: every sample is a stale marker (TYCHO_RW_STALE_NAN) instead of its
     * value: the series end at the snapshot's timestamp (sent at shutdown) */
    int stale;
} tycho_rw_options_t;

/* Prometheus's stale marker: a NaN of exactly these bits (PROTOCOLS.md). */
#define TYCHO_RW_STALE_NAN_BITS 0x7ff0000000000002ull

/* Receives each request body (compressed) with its sample count. It may
 * take body's memory (tycho_buf_steal); otherwise it is reused. Nonzero
 * stops the encoding and is returned. */
typedef int (*tycho_rw_emit_fn)(tycho_buf_t *body, size_t nsamples, void *ud);

/* Encodes snap. 0, -ENOMEM, -EIO (compression), or emit's nonzero value. A
 * snapshot without series emits nothing. */
int tycho_rw_encode(const tycho_metrics_snapshot_t *snap, const tycho_rw_options_t *o,
                    tycho_rw_emit_fn emit, void *ud);

/* The uncompressed WriteRequest for the whole snapshot in one piece (tests
 * and debugging). 0 or -ENOMEM. */
int tycho_rw_encode_raw(const tycho_metrics_snapshot_t *snap, const tycho_rw_options_t *o,
                        tycho_buf_t *out);

#endif
