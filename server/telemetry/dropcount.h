/* dropcount — what the telemetry pipelines lose, as metrics:
 * tycho_telemetry_dropped_total{signal,reason} (counter) and
 * tycho_telemetry_queue_depth{signal} (gauge). Registered once on the main
 * thread before workers start (it pre-resolves one series per shard, signal
 * and reason, so every combination shows from the first scrape and counting
 * costs no lookup). tycho_dropcount_add runs on the thread owning `shard`. */
#ifndef TYCHO_TELEMETRY_DROPCOUNT_H
#define TYCHO_TELEMETRY_DROPCOUNT_H

#include "telemetry/metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TYCHO_SIGNAL_SPANS,
    TYCHO_SIGNAL_LOGS,
    TYCHO_SIGNAL_METRICS,
    TYCHO_SIGNAL_COUNT_,
} tycho_signal_t;

typedef enum {
    TYCHO_DROP_QUEUE_FULL,    /* a bounded ring/buffer was full */
    TYCHO_DROP_TOO_LARGE,     /* one item over the size limit */
    TYCHO_DROP_EXPORT_FAILED, /* the backend failed past the retries */
    TYCHO_DROP_REJECTED,      /* the backend refused it (4xx, partial success) */
    TYCHO_DROP_WRITE_ERROR,   /* a local write failed (stdout closed) */
    TYCHO_DROP_SHUTDOWN,      /* still queued when the flush deadline passed */
    TYCHO_DROP_COUNT_,
} tycho_drop_reason_t;

const char *tycho_signal_name(tycho_signal_t s);           /* "spans", "logs", "metrics" */
const char *tycho_drop_reason_name(tycho_drop_reason_t r); /* "queue_full", ... */

typedef struct tycho_dropcount tycho_dropcount_t;

/* The two families, registered in reg (or found there: the exporters count
 * into them too, on their own shard). 0, or -1 with err. */
int tycho_dropcount_families(tycho_metrics_t *reg, tycho_metric_t **dropped, tycho_metric_t **depth,
                             char *err, size_t errlen);

/* Registers both families in reg and resolves the series. NULL with err on
 * failure. Freed with tycho_dropcount_free (before the registry). */
tycho_dropcount_t *tycho_dropcount_register(tycho_metrics_t *reg, char *err, size_t errlen);
void tycho_dropcount_free(tycho_dropcount_t *d);

/* Counts n drops on the calling thread's shard (no lock, no lookup). */
void tycho_dropcount_add(tycho_dropcount_t *d, unsigned shard, tycho_signal_t sig,
                         tycho_drop_reason_t reason, uint64_t n);

/* What tycho_dropcount_add counted on shard so far (approximate from
 * another thread). */
uint64_t tycho_dropcount_counted(const tycho_dropcount_t *d, unsigned shard, tycho_signal_t sig,
                                 tycho_drop_reason_t reason);

/* For drops counted by someone else (the log sink counts its own): fn(ud)
 * is read at scrape and added to that pair's counter. Any thread. */
int tycho_dropcount_set_source(tycho_dropcount_t *d, tycho_signal_t sig, tycho_drop_reason_t reason,
                               tycho_metric_value_fn fn, void *ud);
/* The queue depth of a signal, read at scrape (e.g. the sum of the workers'
 * ring depths). Any thread. */
int tycho_dropcount_set_depth_source(tycho_dropcount_t *d, tycho_signal_t sig,
                                     tycho_metric_value_fn fn, void *ud);

#endif
