/* own_metrics — a module's built-in metric families in the calling worker's
 * registry, registered there the first time they are wanted. The module
 * keeps one tycho_own_metrics_t beside its definitions and asks
 * tycho_own_metrics_ready before each update: 1 and the worker's shard when
 * every family is there, 0 off a worker (spec runs, `tycho check`) or when a
 * definition was refused (said once in the log, with the registry's reason).
 * Worker thread only; the families live as long as the registry. */
#ifndef TYCHO_CORE_OWN_METRICS_H
#define TYCHO_CORE_OWN_METRICS_H

#include "telemetry/metrics.h"

#include <stddef.h>

typedef struct tycho_own_metrics {
    const tycho_metric_opts_t *defs; /* n definitions */
    tycho_metric_t **fams;           /* n slots: fams[i] is defs[i]'s family */
    size_t n;
    tycho_metrics_t *registry; /* where fams were registered; NULL: not yet */
    int ready;
} tycho_own_metrics_t;

int tycho_own_metrics_ready(tycho_own_metrics_t *m, unsigned *shard);

#endif
