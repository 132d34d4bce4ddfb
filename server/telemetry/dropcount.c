#include "telemetry/dropcount.h"

#include <errno.h>
#include <stdlib.h>

static const char *const signal_names[TYCHO_SIGNAL_COUNT_] = {"spans", "logs", "metrics"};
static const char *const reason_names[TYCHO_DROP_COUNT_] = {
    "queue_full", "too_large", "export_failed", "rejected", "write_error", "shutdown"};

struct tycho_dropcount {
    tycho_metric_t *dropped;
    tycho_metric_t *depth;
    unsigned nshards;
    tycho_series_t **series; /* [shard][signal][reason] */
};

const char *tycho_signal_name(tycho_signal_t s)
{
    return (unsigned)s < TYCHO_SIGNAL_COUNT_ ? signal_names[s] : "unknown";
}

const char *tycho_drop_reason_name(tycho_drop_reason_t r)
{
    return (unsigned)r < TYCHO_DROP_COUNT_ ? reason_names[r] : "unknown";
}

static size_t slot(const tycho_dropcount_t *d, unsigned shard, tycho_signal_t sig,
                   tycho_drop_reason_t reason)
{
    (void)d;
    return ((size_t)shard * TYCHO_SIGNAL_COUNT_ + (size_t)sig) * TYCHO_DROP_COUNT_ + (size_t)reason;
}

int tycho_dropcount_families(tycho_metrics_t *reg, tycho_metric_t **dropped, tycho_metric_t **depth,
                             char *err, size_t errlen)
{
    static const char *const dropped_labels[] = {"signal", "reason"};
    static const char *const depth_labels[] = {"signal"};
    tycho_metric_opts_t o = {
        .name = "tycho_telemetry_dropped_total",
        .help = "Telemetry items (spans, log lines, metric samples) dropped, by signal and "
                "reason.",
        .type = TYCHO_METRIC_COUNTER,
        .label_names = dropped_labels,
        .nlabels = 2,
    };
    if (tycho_metrics_register(reg, &o, dropped, err, errlen) != 0) return -1;
    o = (tycho_metric_opts_t){
        .name = "tycho_telemetry_queue_depth",
        .help = "Telemetry items waiting to be exported, by signal.",
        .type = TYCHO_METRIC_GAUGE,
        .label_names = depth_labels,
        .nlabels = 1,
    };
    return tycho_metrics_register(reg, &o, depth, err, errlen);
}

tycho_dropcount_t *tycho_dropcount_register(tycho_metrics_t *reg, char *err, size_t errlen)
{
    tycho_dropcount_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (tycho_dropcount_families(reg, &d->dropped, &d->depth, err, errlen) != 0) goto err;

    d->nshards = tycho_metrics_nshards(reg);
    d->series = calloc(slot(d, d->nshards, 0, 0), sizeof *d->series);
    if (!d->series) goto err;
    for (unsigned k = 0; k < d->nshards; k++)
        for (int s = 0; s < TYCHO_SIGNAL_COUNT_; s++)
            for (int r = 0; r < TYCHO_DROP_COUNT_; r++) {
                const char *v[] = {signal_names[s], reason_names[r]};
                tycho_series_t *se = tycho_metric_series(d->dropped, k, v, NULL);
                if (!se) goto err;
                d->series[slot(d, k, (tycho_signal_t)s, (tycho_drop_reason_t)r)] = se;
            }
    return d;
err:
    tycho_dropcount_free(d);
    return NULL;
}

void tycho_dropcount_free(tycho_dropcount_t *d)
{
    if (!d) return;
    free(d->series);
    free(d);
}

void tycho_dropcount_add(tycho_dropcount_t *d, unsigned shard, tycho_signal_t sig,
                         tycho_drop_reason_t reason, uint64_t n)
{
    if (!d || shard >= d->nshards || (unsigned)sig >= TYCHO_SIGNAL_COUNT_ ||
        (unsigned)reason >= TYCHO_DROP_COUNT_)
        return;
    tycho_series_inc(d->series[slot(d, shard, sig, reason)], (double)n);
}

uint64_t tycho_dropcount_counted(const tycho_dropcount_t *d, unsigned shard, tycho_signal_t sig,
                                 tycho_drop_reason_t reason)
{
    if (!d || shard >= d->nshards || (unsigned)sig >= TYCHO_SIGNAL_COUNT_ ||
        (unsigned)reason >= TYCHO_DROP_COUNT_)
        return 0;
    tycho_series_t *se = d->series[slot(d, shard, sig, reason)];
    return se ? (uint64_t)tycho_series_value(se) : 0;
}

int tycho_dropcount_set_source(tycho_dropcount_t *d, tycho_signal_t sig, tycho_drop_reason_t reason,
                               tycho_metric_value_fn fn, void *ud)
{
    if ((unsigned)sig >= TYCHO_SIGNAL_COUNT_ || (unsigned)reason >= TYCHO_DROP_COUNT_)
        return -EINVAL;
    const char *v[] = {signal_names[sig], reason_names[reason]};
    return tycho_metric_set_callback(d->dropped, v, fn, ud);
}

int tycho_dropcount_set_depth_source(tycho_dropcount_t *d, tycho_signal_t sig,
                                     tycho_metric_value_fn fn, void *ud)
{
    if ((unsigned)sig >= TYCHO_SIGNAL_COUNT_) return -EINVAL;
    const char *v[] = {signal_names[sig]};
    return tycho_metric_set_callback(d->depth, v, fn, ud);
}
