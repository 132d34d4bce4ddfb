/* exporters_internal — what exporters.c shares with the three pipelines
 * (export_traces.c, export_metrics.c, export_logs.c). A pipeline owns its
 * queue and turns it into request bodies (produce); exporters.c owns the
 * sender, the timer, the byte budget, the counters and the shutdown.
 * Telemetry loop thread only. Not part of the public API. */
#ifndef TYCHO_EXPORTERS_EXPORTERS_INTERNAL_H
#define TYCHO_EXPORTERS_EXPORTERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws/credentials.h"
#include "exporters/export_config.h"
#include "exporters/export_fifo.h"
#include "exporters/export_gzip.h"
#include "core/ratelog.h"
#include "exporters/export_sender.h"
#include "exporters/exporters.h"
#include "net/http_client.h"
#include "telemetry/dropcount.h"
#include "telemetry/metrics.h"

typedef struct export_pipe export_pipe_t;

typedef struct export_pipe_ops {
    /* Encodes the next batch into body (empty on entry). force: send even a
     * batch below the size threshold (timer, shutdown). Returns 1 with
     * *items and *give_up_at (0 = none) set, 0 when there is nothing to
     * send now. Items it cannot encode it drops itself. */
    int (*produce)(export_pipe_t *p, int force, tycho_buf_t *body, size_t *items,
                   uint64_t *give_up_at);
    size_t (*queued)(const export_pipe_t *p); /* items waiting (not in flight) */
    void (*drop_all)(export_pipe_t *p, tycho_drop_reason_t reason);
    void (*tick)(export_pipe_t *p);     /* the pipeline's timer fired */
    void (*shutdown)(export_pipe_t *p); /* the final flush starts */
    void (*destroy)(export_pipe_t *p);  /* frees what is left (memory only) */
} export_pipe_ops_t;

struct export_pipe {
    tycho_exporters_t *e;
    const export_pipe_ops_t *ops;
    tycho_signal_t signal;
    const char *name; /* "traces", "metrics", "logs" */
    int enabled;
    const tycho_export_target_t *target;
    tycho_export_sender_t *sender;
    uv_timer_t timer;
    int timer_started;
    uint64_t interval_ms;
    size_t inflight_items, inflight_mem;
    tycho_buf_t body; /* encoded into, then swapped with the sender's spent one */
    uint64_t sent, dropped, drops[TYCHO_DROP_COUNT_];
    /* the drops no other line reports (queue_full, too_large) */
    tycho_ratelog_t drop_logs[TYCHO_DROP_COUNT_];
    tycho_series_t *exported_series, *depth_series;
    tycho_series_t *drop_series[TYCHO_DROP_COUNT_];
};

typedef struct traces_pipe {
    export_pipe_t base;
    tycho_span_t **q;
    size_t cap, head, n;
    tycho_buf_t gz;            /* the body before gzip, when OTLP compression is on */
    tycho_export_gzip_t *gzip; /* its compressor (NULL until the first) */
    tycho_export_kvs_t resource;
    int resource_ready;
    struct tycho_ecs_fetch *ecs;
} traces_pipe_t;

typedef struct metrics_batch {
    tycho_buf_t body;
    size_t samples;
} metrics_batch_t;

typedef struct metrics_pipe {
    export_pipe_t base;
    metrics_batch_t *q;
    size_t cap, head, n;
    size_t queued_samples;
    int64_t last_ts_ms; /* timestamp of the last snapshot encoded */
    /* the last snapshot encoded: a family in it and not in the next one (a
     * reload redefined it) gets stale markers then */
    struct tycho_metrics_snapshot *prev;
} metrics_pipe_t;

typedef struct logs_pipe {
    export_pipe_t base;
    struct tycho_loki_entry **q;
    size_t cap, head, n;
    size_t queued_line_bytes;
    tycho_export_fifo_t mem; /* the queued entries, released in queue order */
    tycho_buf_t scratch;     /* the packed push before snappy, reused */
} logs_pipe_t;

struct tycho_exporters {
    uv_loop_t *loop;
    tycho_metrics_t *registry;
    unsigned shard;
    tycho_export_config_t cfg;
    tycho_http_client_t *http;
    tycho_aws_creds_provider_t *creds;
    tycho_metric_t *dropped_metric, *exported_metric, *depth_metric;

    size_t mem_used;

    traces_pipe_t traces;
    metrics_pipe_t metrics;
    logs_pipe_t logs;
    export_pipe_t *pipes[3];

    uv_timer_t deadline_timer;
    int shutting_down, aborting, finishing, closed, free_requested;
    int open_handles;
    uint64_t unsent[TYCHO_SIGNAL_COUNT_];
    void (*done)(void *ud);
    void *done_ud;
};

/* The byte budget: 0 when n more bytes fit (and are now counted), -1 when
 * not. */
int export_mem_reserve(tycho_exporters_t *e, size_t n);
void export_mem_release(tycho_exporters_t *e, size_t n);
/* Counts n dropped items of p's signal; a full queue and lines too large
 * are also logged (core/ratelog's policy: the first drop, then at most a
 * line a minute with the count since the last). */
void export_pipe_drop(export_pipe_t *p, tycho_drop_reason_t reason, uint64_t n);
/* Sends the next batch if the sender is idle and produce has one. */
void export_pipe_kick(export_pipe_t *p, int force);
/* An item was queued: sends a full batch, or during shutdown whatever is
 * queued (the pipelines' timers are stopped then: a line logged during the
 * final flush goes too); else refreshes the queue-depth gauge. */
void export_pipe_added(export_pipe_t *p, int batch_full);
/* Refreshes the queue-depth gauge. */
void export_pipe_depth(export_pipe_t *p);
uint64_t export_wall_ns(void);

/* Pipeline set-up (0 or -1 with err); each fills base.ops and its queue. */
int export_traces_init(tycho_exporters_t *e, char *err, size_t errlen);
int export_metrics_init(tycho_exporters_t *e, char *err, size_t errlen);
int export_logs_init(tycho_exporters_t *e, char *err, size_t errlen);
/* After the HTTP client exists: starts the ECS metadata fetch, if any. */
void export_traces_start(tycho_exporters_t *e);
void export_traces_add(tycho_exporters_t *e, tycho_span_t *span);
/* flags: TYCHO_LOKI_LINE_*; meta: the logger's description of the line, or
 * NULL (loki_encode.h) */
void export_logs_add(tycho_exporters_t *e, const char *line, size_t len, unsigned flags,
                     const tycho_log_meta_t *meta);

#endif
