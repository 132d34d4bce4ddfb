/* The traces pipeline: OTEL_BSP_* batching of spans into OTLP requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exporters/ecs_resource.h"
#include "exporters/export_gzip.h"
#include "exporters/exporters_internal.h"
#include "exporters/otlp_encode.h"

#define ECS_TIMEOUT_MS 2000

static size_t span_mem(const tycho_span_t *s)
{
    return sizeof *s + s->used + 256;
}

static tycho_span_t *pop(traces_pipe_t *t)
{
    tycho_span_t *s = t->q[t->head];
    t->head = (t->head + 1) % t->cap;
    t->n--;
    return s;
}

static size_t queued(const export_pipe_t *p)
{
    return ((const traces_pipe_t *)p)->n;
}

/* The request for spans into body (empty): OTLP protobuf, gzipped when
 * OTEL_EXPORTER_OTLP_COMPRESSION=gzip (encoded into t->gz first; it and the
 * compressor, made at the first such batch, are kept for the next). */
static int encode(traces_pipe_t *t, tycho_span_t *const *spans, size_t n, tycho_buf_t *body)
{
    if (!t->base.e->cfg.traces.gzip) return tycho_otlp_encode_traces(&t->resource, spans, n, body);
    if (!t->gzip && !(t->gzip = tycho_export_gzip_new())) return -ENOMEM;
    tycho_buf_reset(&t->gz);
    int rc = tycho_otlp_encode_traces(&t->resource, spans, n, &t->gz);
    if (rc == 0) rc = tycho_export_gzip(t->gzip, t->gz.data, t->gz.len, body);
    return rc;
}

static int produce(export_pipe_t *p, int force, tycho_buf_t *body, size_t *items,
                   uint64_t *give_up_at)
{
    traces_pipe_t *t = (traces_pipe_t *)p;
    tycho_exporters_t *e = p->e;
    if (!t->resource_ready && !e->shutting_down) return 0; /* ECS attributes on their way */
    size_t k = t->n < e->cfg.traces.max_batch ? t->n : e->cfg.traces.max_batch;
    if (!k || (!force && k < e->cfg.traces.max_batch)) return 0;
    tycho_span_t **batch = malloc(k * sizeof *batch);
    if (!batch) return 0; /* stays queued; the next tick tries again */
    size_t mem = 0;
    for (size_t i = 0; i < k; i++) {
        batch[i] = pop(t);
        mem += span_mem(batch[i]);
    }
    int rc = encode(t, batch, k, body);
    for (size_t i = 0; i < k; i++)
        tycho_span_free(batch[i]);
    free(batch);
    export_mem_release(e, mem);
    if (rc != 0) {
        export_pipe_drop(p, TYCHO_DROP_EXPORT_FAILED, k);
        return 0;
    }
    *items = k;
    *give_up_at = uv_now(e->loop) + e->cfg.traces.export_timeout_ms;
    return 1;
}

static void drop_all(export_pipe_t *p, tycho_drop_reason_t reason)
{
    traces_pipe_t *t = (traces_pipe_t *)p;
    size_t n = t->n, mem = 0;
    while (t->n) {
        tycho_span_t *s = pop(t);
        mem += span_mem(s);
        tycho_span_free(s);
    }
    export_mem_release(p->e, mem);
    export_pipe_drop(p, reason, n);
}

static void shutdown_(export_pipe_t *p)
{
    traces_pipe_t *t = (traces_pipe_t *)p;
    if (t->ecs) {
        tycho_ecs_fetch_free(t->ecs);
        t->ecs = NULL;
    }
    t->resource_ready = 1;
}

static void destroy(export_pipe_t *p)
{
    traces_pipe_t *t = (traces_pipe_t *)p;
    while (t->n)
        tycho_span_free(pop(t));
    tycho_buf_free(&t->gz);
    tycho_export_gzip_free(t->gzip);
    t->gzip = NULL;
    free(t->q);
    t->q = NULL;
    if (t->ecs) tycho_ecs_fetch_free(t->ecs);
    t->ecs = NULL;
    tycho_export_kvs_free(&t->resource);
}

static const export_pipe_ops_t ops = {
    .produce = produce,
    .queued = queued,
    .drop_all = drop_all,
    .tick = NULL,
    .shutdown = shutdown_,
    .destroy = destroy,
};

int export_traces_init(tycho_exporters_t *e, char *err, size_t errlen)
{
    traces_pipe_t *t = &e->traces;
    t->base.e = e;
    t->base.ops = &ops;
    t->base.signal = TYCHO_SIGNAL_SPANS;
    t->base.name = "traces";
    t->base.target = &e->cfg.traces.target;
    if (!e->cfg.traces.enabled) return 0;
    t->cap = e->cfg.traces.max_queue;
    t->q = calloc(t->cap, sizeof *t->q);
    if (!t->q) goto nomem;
    for (size_t i = 0; i < e->cfg.resource.n; i++)
        if (tycho_export_kvs_set(&t->resource, e->cfg.resource.items[i].key,
                                 e->cfg.resource.items[i].value))
            goto nomem;
    t->resource_ready = !e->cfg.traces.ecs_metadata_uri;
    t->base.interval_ms = e->cfg.traces.schedule_delay_ms;
    t->base.enabled = 1;
    return 0;
nomem:
    snprintf(err, errlen, "exporters: out of memory");
    return -1;
}

static void on_ecs(const tycho_export_kvs_t *kvs, const char *error, void *ud)
{
    tycho_exporters_t *e = ud;
    traces_pipe_t *t = &e->traces;
    if (kvs) {
        /* the environment wins over the detector */
        for (size_t i = 0; i < kvs->n; i++)
            if (!tycho_export_kvs_get(&t->resource, kvs->items[i].key))
                tycho_export_kvs_set(&t->resource, kvs->items[i].key, kvs->items[i].value);
    } else {
        tycho_log_warn("exporter traces: no ECS task metadata", LF_STR("error", error));
    }
    tycho_ecs_fetch_t *f = t->ecs;
    t->ecs = NULL;
    t->resource_ready = 1;
    tycho_ecs_fetch_free(f); /* kvs belongs to it: copied above */
    export_pipe_kick(&t->base, 0);
}

void export_traces_start(tycho_exporters_t *e)
{
    traces_pipe_t *t = &e->traces;
    if (t->resource_ready) return;
    t->ecs =
        tycho_ecs_fetch_start(e->http, e->cfg.traces.ecs_metadata_uri, ECS_TIMEOUT_MS, on_ecs, e);
    if (!t->ecs) {
        tycho_log_warn("exporter traces: cannot fetch ECS task metadata");
        t->resource_ready = 1;
    }
}

void export_traces_add(tycho_exporters_t *e, tycho_span_t *span)
{
    traces_pipe_t *t = &e->traces;
    export_pipe_t *p = &t->base;
    if (e->finishing) {
        tycho_span_free(span);
        export_pipe_drop(p, TYCHO_DROP_SHUTDOWN, 1);
        return;
    }
    /* OTEL_BSP_MAX_QUEUE_SIZE, then the shared byte budget */
    if (t->n == t->cap || export_mem_reserve(e, span_mem(span)) != 0) {
        tycho_span_free(span);
        export_pipe_drop(p, TYCHO_DROP_QUEUE_FULL, 1);
        export_pipe_depth(p);
        return;
    }
    t->q[(t->head + t->n) % t->cap] = span;
    t->n++;
    export_pipe_added(p, t->n >= e->cfg.traces.max_batch);
}
