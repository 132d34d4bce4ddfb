/* The logs pipeline: JSON log lines batched by size (TYCHO_LOKI_BATCH_BYTES)
 * and time (TYCHO_LOKI_FLUSH_INTERVAL) into Loki pushes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/exporters_internal.h"
#include "exporters/loki_encode.h"

/* The queue slot k places after the oldest (k <= cap): a compare, not the
 * division of a modulo, once or twice per line. */
static size_t slot(const logs_pipe_t *l, size_t k)
{
    size_t i = l->head + k;
    return i < l->cap ? i : i - l->cap;
}

static size_t queued(const export_pipe_t *p)
{
    return ((const logs_pipe_t *)p)->n;
}

/* The oldest entry leaves the queue; its memory stays until release. */
static tycho_loki_entry_t *pop(logs_pipe_t *l)
{
    tycho_loki_entry_t *en = l->q[l->head];
    l->head = slot(l, 1);
    l->n--;
    l->queued_line_bytes -= en->line_len;
    export_mem_release(l->base.e, en->mem);
    return en;
}

/* Frees the oldest popped entry not released yet. */
static void release(logs_pipe_t *l)
{
    tycho_export_fifo_release(&l->mem);
}

static void discard_queue(logs_pipe_t *l)
{
    while (l->n) {
        pop(l);
        release(l);
    }
}

static int produce(export_pipe_t *p, int force, tycho_buf_t *body, size_t *items,
                   uint64_t *give_up_at)
{
    logs_pipe_t *l = (logs_pipe_t *)p;
    tycho_exporters_t *e = p->e;
    size_t limit = e->cfg.logs.batch_bytes;
    if (!l->n || (!force && l->queued_line_bytes < limit)) return 0;
    /* up to batch_bytes of lines, at least one */
    size_t k = 0, bytes = 0;
    while (k < l->n) {
        size_t len = l->q[slot(l, k)]->line_len;
        if (k && bytes + len > limit) break;
        bytes += len;
        k++;
    }
    tycho_loki_entry_t **batch = malloc(k * sizeof *batch);
    if (!batch) return 0;
    for (size_t i = 0; i < k; i++)
        batch[i] = pop(l);
    tycho_loki_options_t o = {&e->cfg.logs.labels, e->cfg.service, e->cfg.logs.json, &l->scratch,
                              !e->cfg.logs.structured_metadata};
    int rc = tycho_loki_encode(batch, k, &o, body);
    tycho_export_buf_recycle(&l->scratch);
    for (size_t i = 0; i < k; i++)
        release(l);
    free(batch);
    if (rc != 0) {
        export_pipe_drop(p, TYCHO_DROP_EXPORT_FAILED, k);
        return 0;
    }
    *items = k;
    *give_up_at = 0;
    return 1;
}

static void drop_all(export_pipe_t *p, tycho_drop_reason_t reason)
{
    logs_pipe_t *l = (logs_pipe_t *)p;
    size_t n = l->n;
    discard_queue(l);
    export_pipe_drop(p, reason, n);
}

static void destroy(export_pipe_t *p)
{
    logs_pipe_t *l = (logs_pipe_t *)p;
    discard_queue(l);
    tycho_export_fifo_free(&l->mem);
    free(l->q);
    l->q = NULL;
    tycho_buf_free(&l->scratch);
}

static const export_pipe_ops_t ops = {
    .produce = produce,
    .queued = queued,
    .drop_all = drop_all,
    .tick = NULL,
    .shutdown = NULL,
    .destroy = destroy,
};

int export_logs_init(tycho_exporters_t *e, char *err, size_t errlen)
{
    logs_pipe_t *l = &e->logs;
    l->base.e = e;
    l->base.ops = &ops;
    l->base.signal = TYCHO_SIGNAL_LOGS;
    l->base.name = "logs";
    l->base.target = &e->cfg.logs.target;
    if (!e->cfg.logs.enabled) return 0;
    l->cap = e->cfg.logs.max_queue;
    if (!(l->q = calloc(l->cap, sizeof *l->q))) {
        snprintf(err, errlen, "exporters: out of memory");
        return -1;
    }
    l->base.interval_ms = e->cfg.logs.flush_interval_ms;
    l->base.enabled = 1;
    return 0;
}

/* An entry's memory: counted against the exporters' byte budget first (a
 * tycho_loki_alloc_fn). */
static void *entry_mem(void *ud, size_t n)
{
    logs_pipe_t *l = ud;
    if (export_mem_reserve(l->base.e, n) != 0) return NULL;
    void *m = tycho_export_fifo_alloc(&l->mem, n);
    if (!m) export_mem_release(l->base.e, n);
    return m;
}

void export_logs_add(tycho_exporters_t *e, const char *line, size_t len, unsigned flags,
                     const tycho_log_meta_t *meta)
{
    logs_pipe_t *l = &e->logs;
    export_pipe_t *p = &l->base;
    if (e->finishing) {
        export_pipe_drop(p, TYCHO_DROP_SHUTDOWN, 1);
        return;
    }
    if (len > e->cfg.logs.max_line) {
        export_pipe_drop(p, TYCHO_DROP_TOO_LARGE, 1);
        return;
    }
    if (l->n == l->cap) {
        export_pipe_drop(p, TYCHO_DROP_QUEUE_FULL, 1);
        return;
    }
    tycho_loki_entry_t *en = meta ? tycho_loki_entry_from_log(line, len, meta, entry_mem, l)
                                  : tycho_loki_entry_make(line, len, flags, entry_mem, l);
    if (!en) {
        export_pipe_drop(p, TYCHO_DROP_QUEUE_FULL, 1);
        export_pipe_depth(p);
        return;
    }
    if (!en->has_time) en->ts_ns = (int64_t)export_wall_ns();
    l->q[slot(l, l->n)] = en;
    l->n++;
    l->queued_line_bytes += en->line_len;
    export_pipe_added(p, l->queued_line_bytes >= e->cfg.logs.batch_bytes);
}
