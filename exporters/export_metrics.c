/* The metrics pipeline: a registry snapshot every TYCHO_REMOTE_WRITE_INTERVAL
 * becomes remote-write requests, queued in order and sent one at a time
 * (a receiver refuses samples older than what it has, so order matters);
 * stale markers end the series of a family a reload redefined, and at
 * shutdown every series, after the final values.
 * When the queue or the byte budget is full the oldest requests go first:
 * the newest values matter most. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exporters/exporters_internal.h"
#include "exporters/remote_write.h"

static size_t queued(const export_pipe_t *p)
{
    return ((const metrics_pipe_t *)p)->queued_samples;
}

static metrics_batch_t pop(metrics_pipe_t *m)
{
    metrics_batch_t b = m->q[m->head];
    m->q[m->head] = (metrics_batch_t){TYCHO_BUF_INIT, 0};
    m->head = (m->head + 1) % m->cap;
    m->n--;
    m->queued_samples -= b.samples;
    export_mem_release(m->base.e, b.body.cap);
    return b;
}

static void drop_oldest(metrics_pipe_t *m, tycho_drop_reason_t reason)
{
    metrics_batch_t b = pop(m);
    tycho_buf_free(&b.body);
    export_pipe_drop(&m->base, reason, b.samples);
}

static int emit(tycho_buf_t *body, size_t nsamples, void *ud)
{
    metrics_pipe_t *m = ud;
    tycho_exporters_t *e = m->base.e;
    size_t need = body->len + 1;
    /* make room: the queue bound, then the byte budget */
    while (m->n && (m->n == m->cap || export_mem_reserve(e, need) != 0)) {
        drop_oldest(m, TYCHO_DROP_QUEUE_FULL);
    }
    if (m->n == m->cap) return 0; /* cap of 0 cannot happen; defensive */
    if (!m->n && export_mem_reserve(e, need) != 0) {
        export_pipe_drop(&m->base, TYCHO_DROP_QUEUE_FULL, nsamples);
        return 0;
    }
    /* keep an exact-size copy: the encoder reuses its buffer */
    metrics_batch_t b = {TYCHO_BUF_INIT, nsamples};
    if (tycho_buf_reserve(&b.body, need) != 0 || tycho_buf_append(&b.body, body->data, body->len)) {
        export_mem_release(e, need);
        tycho_buf_free(&b.body);
        export_pipe_drop(&m->base, TYCHO_DROP_EXPORT_FAILED, nsamples);
        return 0;
    }
    /* account what the buffer really holds */
    export_mem_release(e, need);
    e->mem_used += b.body.cap;
    m->q[(m->head + m->n) % m->cap] = b;
    m->n++;
    m->queued_samples += nsamples;
    return 0;
}

/* Queues snap's requests (stale: its series' stale markers) one
 * millisecond or more after the last ones. */
static void queue_snapshot(metrics_pipe_t *m, tycho_metrics_snapshot_t *snap, int stale)
{
    tycho_exporters_t *e = m->base.e;
    /* A series' timestamps must grow from one request to the next: receivers
     * refuse a second sample at the same millisecond (the final snapshot at
     * shutdown can come in the same millisecond as the last periodic one) or
     * an older one (the wall clock stepped back). */
    if (snap->timestamp_ms <= m->last_ts_ms) snap->timestamp_ms = m->last_ts_ms + 1;
    m->last_ts_ms = snap->timestamp_ms;
    tycho_rw_options_t o = {e->cfg.metrics.job, e->cfg.metrics.instance, e->cfg.metrics.max_samples,
                            stale};
    int rc = tycho_rw_encode(snap, &o, emit, m);
    if (rc != 0) tycho_log_warn("exporter metrics: cannot encode a snapshot", LF_INT("rc", rc));
}

/* a and b write the same series names and label names (name, type, label
 * names, bounds): a family redefined back to the same shape between two
 * snapshots continues its series, so it is compared by these, not by which
 * registry family it is. */
static int same_family(const tycho_snapshot_family_t *a, const tycho_snapshot_family_t *b)
{
    if (strcmp(a->name, b->name) != 0 || a->type != b->type || a->nlabels != b->nlabels ||
        a->nbounds != b->nbounds)
        return 0;
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->label_names[i], b->label_names[i]) != 0) return 0;
    for (size_t i = 0; i < a->nbounds; i++)
        if (a->bounds[i] != b->bounds[i]) return 0;
    return 1;
}

/* Queues stale markers for the series of the families of prev that now is
 * without (a reload redefined them, so those series end). */
static void queue_gone(metrics_pipe_t *m, const tycho_metrics_snapshot_t *prev,
                       const tycho_metrics_snapshot_t *now)
{
    tycho_metrics_snapshot_t gone = {.timestamp_ms = now->timestamp_ms};
    for (size_t i = 0; i < prev->nfamilies; i++) {
        const tycho_snapshot_family_t *f = &prev->families[i];
        size_t j = 0;
        while (j < now->nfamilies && !same_family(f, &now->families[j]))
            j++;
        if (j < now->nfamilies || !f->nseries) continue;
        if (!gone.families && !(gone.families = calloc(prev->nfamilies, sizeof *gone.families))) {
            tycho_log_warn("exporter metrics: out of memory for stale markers");
            return;
        }
        gone.families[gone.nfamilies++] = *f; /* borrowed from prev */
    }
    if (gone.nfamilies) queue_snapshot(m, &gone, 1);
    free(gone.families);
}

/* The registry's values now, and stale markers for the series that ended
 * since the last time; when final, the end of every series too. Ended
 * series then leave queries at once instead of after the receiver's
 * lookback (five minutes by default). */
static void take_snapshot(metrics_pipe_t *m, int final)
{
    tycho_exporters_t *e = m->base.e;
    if (!e->registry) return;
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(e->registry);
    if (!snap) return;
    queue_snapshot(m, snap, 0);
    if (m->prev) queue_gone(m, m->prev, snap);
    if (final) queue_snapshot(m, snap, 1);
    tycho_metrics_snapshot_free(m->prev);
    m->prev = final ? NULL : snap;
    if (final) tycho_metrics_snapshot_free(snap);
    export_pipe_depth(&m->base);
}

static void tick(export_pipe_t *p)
{
    take_snapshot((metrics_pipe_t *)p, 0);
    export_pipe_kick(p, 1);
}

static void shutdown_(export_pipe_t *p)
{
    take_snapshot((metrics_pipe_t *)p, 1); /* the final values, then the series' end */
}

static int produce(export_pipe_t *p, int force, tycho_buf_t *body, size_t *items,
                   uint64_t *give_up_at)
{
    (void)force;
    metrics_pipe_t *m = (metrics_pipe_t *)p;
    if (!m->n) return 0;
    metrics_batch_t b = pop(m);
    tycho_buf_free(body); /* the queued body is sent as it is */
    *body = b.body;
    *items = b.samples;
    *give_up_at = 0;
    return 1;
}

static void drop_all(export_pipe_t *p, tycho_drop_reason_t reason)
{
    metrics_pipe_t *m = (metrics_pipe_t *)p;
    while (m->n)
        drop_oldest(m, reason);
}

static void destroy(export_pipe_t *p)
{
    metrics_pipe_t *m = (metrics_pipe_t *)p;
    tycho_metrics_snapshot_free(m->prev);
    m->prev = NULL;
    while (m->n) {
        metrics_batch_t b = pop(m);
        tycho_buf_free(&b.body);
    }
    free(m->q);
    m->q = NULL;
}

static const export_pipe_ops_t ops = {
    .produce = produce,
    .queued = queued,
    .drop_all = drop_all,
    .tick = tick,
    .shutdown = shutdown_,
    .destroy = destroy,
};

int export_metrics_init(tycho_exporters_t *e, char *err, size_t errlen)
{
    metrics_pipe_t *m = &e->metrics;
    m->base.e = e;
    m->base.ops = &ops;
    m->base.signal = TYCHO_SIGNAL_METRICS;
    m->base.name = "metrics";
    m->base.target = &e->cfg.metrics.target;
    if (!e->cfg.metrics.enabled) return 0;
    if (!e->registry) {
        snprintf(err, errlen, "TYCHO_REMOTE_WRITE_URL: no metrics registry to export");
        return -1;
    }
    m->cap = e->cfg.metrics.max_pending;
    if (!(m->q = calloc(m->cap, sizeof *m->q))) {
        snprintf(err, errlen, "exporters: out of memory");
        return -1;
    }
    m->base.interval_ms = e->cfg.metrics.interval_ms;
    m->base.enabled = 1;
    return 0;
}
