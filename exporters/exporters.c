#include "exporters/exporters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "exporters/ecs_resource.h"
#include "exporters/exporters_internal.h"
#include "exporters/loki_encode.h"
#include "exporters/otlp_encode.h"
#include "exporters/remote_write.h"

uint64_t export_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- shared pipeline machinery ---------------------------------------------- */

int export_mem_reserve(tycho_exporters_t *e, size_t n)
{
    if (n > e->cfg.max_bytes || e->mem_used > e->cfg.max_bytes - n) return -1;
    e->mem_used += n;
    return 0;
}

void export_mem_release(tycho_exporters_t *e, size_t n)
{
    e->mem_used = n > e->mem_used ? 0 : e->mem_used - n;
}

/* The drops of a reason no other line reports: the sender logs failed and
 * rejected batches, the shutdown its one "unsent" line. n: drops to count
 * now, 0 to report what the minute held back; every_ms: TYCHO_LOG_EVERY_MS,
 * or 0 at shutdown, when no later minute will come. A line about dropped
 * log lines reaches the Loki queue too, and is dropped there if it is full:
 * counted and held back like the rest, it never makes another line. */
static void log_drops(export_pipe_t *p, tycho_drop_reason_t reason, uint64_t n, uint64_t every_ms)
{
    if (reason != TYCHO_DROP_QUEUE_FULL && reason != TYCHO_DROP_TOO_LARGE) return;
    uint64_t count;
    if (!tycho_ratelog_due(&p->drop_logs[reason], uv_now(p->e->loop), every_ms, n, &count)) return;
    tycho_log_warn("exporter dropping telemetry", LF_STR("exporter", p->name),
                   LF_STR("signal", tycho_signal_name(p->signal)),
                   LF_STR("reason", tycho_drop_reason_name(reason)), LF_INT("dropped", count),
                   LF_INT("dropped_total", p->drops[reason]));
}

void export_pipe_drop(export_pipe_t *p, tycho_drop_reason_t reason, uint64_t n)
{
    if (!n) return;
    p->dropped += n;
    p->drops[reason] += n;
    if (p->e->shutting_down) p->e->unsent[p->signal] += n;
    if (p->drop_series[reason]) tycho_series_inc(p->drop_series[reason], (double)n);
    log_drops(p, reason, n, TYCHO_LOG_EVERY_MS);
}

void export_pipe_depth(export_pipe_t *p)
{
    if (p->depth_series)
        tycho_series_set(p->depth_series, (double)(p->ops->queued(p) + p->inflight_items));
}

static void check_finish(tycho_exporters_t *e);

void export_pipe_kick(export_pipe_t *p, int force)
{
    tycho_exporters_t *e = p->e;
    if (!p->enabled || e->finishing || e->aborting) return;
    if (tycho_export_sender_busy(p->sender)) return;
    if (e->shutting_down) force = 1;
    tycho_buf_t *body = &p->body; /* the memory of an earlier batch, reused */
    tycho_buf_reset(body);
    size_t items = 0;
    uint64_t give_up_at = 0;
    int rc = p->ops->produce(p, force, body, &items, &give_up_at);
    if (rc <= 0) {
        tycho_export_buf_recycle(body);
        export_pipe_depth(p);
        return;
    }
    /* The encoded body replaces the items it holds in the budget; it is
     * counted even past the cap (the items it came from were freed, and
     * an encoded batch is smaller than they were). Only its length counts:
     * the spare capacity kept for reuse is bounded by TYCHO_EXPORT_BUF_KEEP
     * per buffer, two per exporter. */
    p->inflight_items = items;
    p->inflight_mem = body->len + 1;
    e->mem_used += p->inflight_mem;
    export_pipe_depth(p);
    tycho_export_sender_send(p->sender, body, give_up_at); /* body: the previous one back */
}

void export_pipe_added(export_pipe_t *p, int batch_full)
{
    if (batch_full || p->e->shutting_down)
        export_pipe_kick(p, 0);
    else
        export_pipe_depth(p);
}

static void on_batch_done(tycho_export_sender_t *s, const tycho_export_result_t *r, void *ud)
{
    (void)s;
    export_pipe_t *p = ud;
    tycho_exporters_t *e = p->e;
    size_t items = p->inflight_items;
    export_mem_release(e, p->inflight_mem);
    p->inflight_items = 0;
    p->inflight_mem = 0;
    switch (r->outcome) {
    case TYCHO_EXPORT_SENT: {
        uint64_t rejected = r->rejected > 0 ? (uint64_t)r->rejected : 0;
        if (rejected > items) rejected = items;
        p->sent += items - rejected;
        if (p->exported_series && items > rejected)
            tycho_series_inc(p->exported_series, (double)(items - rejected));
        export_pipe_drop(p, TYCHO_DROP_REJECTED, rejected);
        break;
    }
    case TYCHO_EXPORT_REJECTED:
        export_pipe_drop(p, TYCHO_DROP_REJECTED, items);
        break;
    case TYCHO_EXPORT_FAILED:
        export_pipe_drop(p, e->shutting_down ? TYCHO_DROP_SHUTDOWN : TYCHO_DROP_EXPORT_FAILED,
                         items);
        break;
    case TYCHO_EXPORT_ABORTED:
        export_pipe_drop(p, TYCHO_DROP_SHUTDOWN, items);
        break;
    }
    export_pipe_depth(p);
    if (e->aborting || e->finishing) return;
    /* A full batch may be waiting already; during shutdown, everything. */
    export_pipe_kick(p, 0);
    check_finish(e);
}

static void on_pipe_timer(uv_timer_t *t)
{
    export_pipe_t *p = t->data;
    for (int r = 0; r < TYCHO_DROP_COUNT_; r++)
        log_drops(p, (tycho_drop_reason_t)r, 0, TYCHO_LOG_EVERY_MS);
    if (p->ops->tick)
        p->ops->tick(p);
    else
        export_pipe_kick(p, 1);
}

/* --- life cycle ---------------------------------------------------------- */

static void warn_cb(const char *msg, void *ud)
{
    (void)ud;
    tycho_log_warn(msg);
}

static int register_metrics(tycho_exporters_t *e, char *err, size_t errlen)
{
    static const char *const signal_label[] = {"signal"};
    /* dropped and queue depth: dropcount's families (registered by the hub
     * first: the same family; our cells add to the rings'). Only this
     * thread's shard is touched. */
    if (tycho_dropcount_families(e->registry, &e->dropped_metric, &e->depth_metric, err, errlen) !=
        0)
        return -1;
    tycho_metric_opts_t o = {
        .name = "tycho_telemetry_exported_total",
        .help = "Telemetry items (spans, samples, log lines) the receivers acknowledged, by "
                "signal.",
        .type = TYCHO_METRIC_COUNTER,
        .label_names = signal_label,
        .nlabels = 1,
    };
    if (tycho_metrics_register(e->registry, &o, &e->exported_metric, err, errlen) != 0) return -1;
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        const char *v[] = {tycho_signal_name(p->signal)};
        p->exported_series = tycho_metric_series(e->exported_metric, e->shard, v, NULL);
        p->depth_series = tycho_metric_series(e->depth_metric, e->shard, v, NULL);
        for (int r = 0; r < TYCHO_DROP_COUNT_; r++) {
            const char *dv[] = {tycho_signal_name(p->signal),
                                tycho_drop_reason_name((tycho_drop_reason_t)r)};
            if (!(p->drop_series[r] = tycho_metric_series(e->dropped_metric, e->shard, dv, NULL)))
                p->exported_series = NULL;
        }
        if (!p->exported_series || !p->depth_series) {
            snprintf(err, errlen, "exporters: cannot create metric series (bad shard %u?)",
                     e->shard);
            return -1;
        }
    }
    return 0;
}

static void really_free(tycho_exporters_t *e);

static int start_pipe(tycho_exporters_t *e, export_pipe_t *p, tycho_export_proto_t proto,
                      const char *ctype, const char *cenc, char *err, size_t errlen)
{
    tycho_export_sender_opts_t so = {
        .name = p->name,
        .proto = proto,
        .target = p->target,
        .retry = &e->cfg.retry,
        .content_type = ctype,
        .content_encoding = cenc,
        .loop = e->loop,
        .http = e->http,
        .creds = e->creds,
        .done = on_batch_done,
        .ud = p,
    };
    if (!(p->sender = tycho_export_sender_new(&so))) {
        snprintf(err, errlen, "exporters: out of memory");
        return -1;
    }
    uv_timer_init(e->loop, &p->timer);
    p->timer.data = p;
    p->timer_started = 1;
    e->open_handles++;
    uv_timer_start(&p->timer, on_pipe_timer, p->interval_ms, p->interval_ms);
    return 0;
}

tycho_exporters_t *tycho_exporters_new_env(uv_loop_t *loop, tycho_metrics_t *registry,
                                           unsigned shard, tycho_export_env_fn env, void *env_ud,
                                           char *err, size_t errlen)
{
    tycho_exporters_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "exporters: out of memory");
        return NULL;
    }
    e->loop = loop;
    e->registry = registry;
    e->shard = shard;
    e->pipes[0] = &e->traces.base;
    e->pipes[1] = &e->metrics.base;
    e->pipes[2] = &e->logs.base;

    /* Memory-only steps first: a bad setting fails before any handle exists. */
    if (tycho_export_config_load(&e->cfg, env, env_ud, warn_cb, err, errlen) != 0) goto fail;
    if (export_traces_init(e, err, errlen) || export_metrics_init(e, err, errlen) ||
        export_logs_init(e, err, errlen))
        goto fail;
    if (registry && register_metrics(e, err, errlen) != 0) goto fail;

    int any = 0, signed_ = 0;
    for (int i = 0; i < 3; i++) {
        any |= e->pipes[i]->enabled;
        signed_ |= e->pipes[i]->enabled && e->pipes[i]->target->sigv4_service[0];
    }
    if (any) {
        tycho_http_client_options_t ho = {.max_host_connections = 4, .max_idle_connections = 8};
        if (!(e->http = tycho_http_client_new(loop, &ho))) {
            snprintf(err, errlen, "exporters: cannot create the HTTP client");
            goto fail;
        }
    }
    if (signed_) {
        char why[256] = "";
        if (!(e->creds = tycho_aws_creds_chain_new(loop, e->http, NULL, why, sizeof why))) {
            const char *var = e->metrics.base.enabled && e->cfg.metrics.target.sigv4_service[0]
                                  ? "TYCHO_REMOTE_WRITE_URL"
                                  : "OTEL_EXPORTER_OTLP_ENDPOINT";
            snprintf(err, errlen, "%s: SigV4 signing needs AWS credentials: %s", var, why);
            goto fail;
        }
    }

    uv_timer_init(loop, &e->deadline_timer);
    e->deadline_timer.data = e;
    e->open_handles = 1;
    if (e->traces.base.enabled &&
        start_pipe(e, &e->traces.base, TYCHO_EXPORT_PROTO_OTLP, TYCHO_OTLP_CONTENT_TYPE,
                   e->cfg.traces.gzip ? "gzip" : NULL, err, errlen))
        goto fail;
    if (e->metrics.base.enabled && start_pipe(e, &e->metrics.base, TYCHO_EXPORT_PROTO_PRW,
                                              TYCHO_RW_CONTENT_TYPE, "snappy", err, errlen))
        goto fail;
    if (e->logs.base.enabled && start_pipe(e, &e->logs.base, TYCHO_EXPORT_PROTO_LOKI,
                                           e->cfg.logs.json ? TYCHO_LOKI_CONTENT_TYPE_JSON
                                                            : TYCHO_LOKI_CONTENT_TYPE_PROTOBUF,
                                           e->cfg.logs.json ? NULL : "snappy", err, errlen))
        goto fail;
    if (e->traces.base.enabled) export_traces_start(e);
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        if (!p->enabled) continue;
        char sig[128];
        if (p->target->sigv4_service[0]) {
            snprintf(sig, sizeof sig, "%s/%s", p->target->sigv4_service, p->target->sigv4_region);
            tycho_log_info("exporter enabled", LF_STR("exporter", p->name),
                           LF_STR("endpoint", p->target->display), LF_STR("sigv4", sig));
        } else {
            tycho_log_info("exporter enabled", LF_STR("exporter", p->name),
                           LF_STR("endpoint", p->target->display));
        }
    }
    return e;
fail:
    if (e->open_handles) {
        tycho_exporters_free(e); /* handles exist: released by their close callbacks */
        return NULL;
    }
    /* Nothing on the loop but what closes itself. */
    if (e->creds) tycho_aws_creds_provider_close(e->creds);
    if (e->http) tycho_http_client_close(e->http);
    really_free(e);
    return NULL;
}

tycho_exporters_t *tycho_exporters_new(uv_loop_t *loop, tycho_metrics_t *registry, unsigned shard,
                                       char *err, size_t errlen)
{
    return tycho_exporters_new_env(loop, registry, shard, NULL, NULL, err, errlen);
}

int tycho_exporters_wants_spans(const tycho_exporters_t *e)
{
    return e && e->traces.base.enabled && !e->finishing;
}

int tycho_exporters_wants_logs(const tycho_exporters_t *e)
{
    return e && e->logs.base.enabled && !e->finishing;
}

void tycho_exporters_add_span(tycho_exporters_t *e, tycho_span_t *span)
{
    if (!span) return;
    if (!e || !e->traces.base.enabled) {
        tycho_span_free(span);
        return;
    }
    export_traces_add(e, span);
}

void tycho_exporters_add_log(tycho_exporters_t *e, const char *line, size_t len)
{
    if (!e || !e->logs.base.enabled || !line) return;
    export_logs_add(e, line, len, 0, NULL);
}

void tycho_exporters_add_log_utf8(tycho_exporters_t *e, const char *line, size_t len,
                                  const tycho_log_meta_t *meta)
{
    if (!e || !e->logs.base.enabled || !line) return;
    export_logs_add(e, line, len, TYCHO_LOKI_LINE_UTF8, meta);
}

size_t tycho_exporters_pending(const tycho_exporters_t *e, const char *exporter)
{
    for (int i = 0; e && i < 3; i++) {
        const export_pipe_t *p = e->pipes[i];
        if (p->enabled && strcmp(p->name, exporter) == 0)
            return p->ops->queued(p) + p->inflight_items;
    }
    return 0;
}

/* --- status --------------------------------------------------------------- */

void tycho_exporters_status_json(tycho_exporters_t *e, tycho_buf_t *out)
{
    tycho_buf_puts(out, "\"exporters\":{");
    if (!e) {
        tycho_buf_puts(out, "}");
        return;
    }
    tycho_buf_printf(out, "\"max_bytes\":%zu,\"queued_bytes\":%zu", e->cfg.max_bytes, e->mem_used);
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        tycho_buf_printf(out, ",\"%s\":{\"enabled\":%s", p->name, p->enabled ? "true" : "false");
        if (p->enabled) {
            tycho_buf_puts(out, ",\"endpoint\":");
            tycho_buf_append_json_string(out, p->target->display, strlen(p->target->display));
            if (p->target->sigv4_service[0])
                tycho_buf_printf(out, ",\"sigv4\":\"%s/%s\"", p->target->sigv4_service,
                                 p->target->sigv4_region);
            else
                tycho_buf_puts(out, ",\"sigv4\":null");
            tycho_buf_printf(out,
                             ",\"queued\":%zu,\"in_flight\":%zu,\"sent\":%llu,\"dropped\":%llu,"
                             "\"dropped_by_reason\":{",
                             p->ops->queued(p), p->inflight_items, (unsigned long long)p->sent,
                             (unsigned long long)p->dropped);
            int first = 1;
            for (int r = 0; r < TYCHO_DROP_COUNT_; r++) {
                if (!p->drops[r]) continue;
                tycho_buf_printf(out, "%s\"%s\":%llu", first ? "" : ",",
                                 tycho_drop_reason_name((tycho_drop_reason_t)r),
                                 (unsigned long long)p->drops[r]);
                first = 0;
            }
            tycho_buf_puts(out, "},");
            tycho_export_sender_status_json(p->sender, out);
        }
        tycho_buf_puts(out, "}");
    }
    tycho_buf_puts(out, "}");
}

/* --- shutdown ----------------------------------------------------------- */

static void really_free(tycho_exporters_t *e)
{
    for (int i = 0; i < 3; i++) {
        if (e->pipes[i]->ops && e->pipes[i]->ops->destroy) e->pipes[i]->ops->destroy(e->pipes[i]);
        tycho_export_sender_free(e->pipes[i]->sender);
        tycho_buf_free(&e->pipes[i]->body);
    }
    tycho_export_config_free(&e->cfg);
    free(e);
}

static void handle_closed(tycho_exporters_t *e)
{
    if (--e->open_handles > 0) return;
    e->closed = 1;
    void (*done)(void *) = e->done;
    void *ud = e->done_ud;
    e->done = NULL;
    int free_now = e->free_requested;
    if (free_now) really_free(e);
    if (done) done(ud);
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_sender_closed(void *ud)
{
    handle_closed(ud);
}

static void finish(tycho_exporters_t *e)
{
    if (e->finishing) return;
    e->finishing = 1;
    uint64_t lost = e->unsent[0] + e->unsent[1] + e->unsent[2];
    if (lost)
        tycho_log_warn("exporters: telemetry left unsent at shutdown",
                       LF_INT("spans", e->unsent[TYCHO_SIGNAL_SPANS]),
                       LF_INT("samples", e->unsent[TYCHO_SIGNAL_METRICS]),
                       LF_INT("log_lines", e->unsent[TYCHO_SIGNAL_LOGS]));
    if (e->traces.ecs) {
        tycho_ecs_fetch_free(e->traces.ecs);
        e->traces.ecs = NULL;
    }
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        if (p->timer_started) {
            uv_timer_stop(&p->timer);
            uv_close((uv_handle_t *)&p->timer, on_handle_closed);
            p->timer.data = e;
            p->timer_started = 0;
        }
        if (p->sender) {
            e->open_handles++;
            tycho_export_sender_close(p->sender, on_sender_closed, e);
        }
    }
    if (e->creds) {
        tycho_aws_creds_provider_close(e->creds);
        e->creds = NULL;
    }
    if (e->http) {
        tycho_http_client_close(e->http);
        e->http = NULL;
    }
    uv_timer_stop(&e->deadline_timer);
    uv_close((uv_handle_t *)&e->deadline_timer, on_handle_closed);
}

/* Everything still queued is dropped as "shutdown". */
static void abort_all(tycho_exporters_t *e)
{
    e->aborting = 1;
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        if (!p->enabled) continue;
        if (p->sender) tycho_export_sender_abort(p->sender);
        p->ops->drop_all(p, TYCHO_DROP_SHUTDOWN);
        export_pipe_depth(p);
    }
}

static void check_finish(tycho_exporters_t *e)
{
    if (!e->shutting_down || e->finishing) return;
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        if (!p->enabled) continue;
        if (tycho_export_sender_busy(p->sender) || p->ops->queued(p)) return;
    }
    finish(e);
}

void tycho_exporters_cut(tycho_exporters_t *e)
{
    if (e->finishing) return;
    e->shutting_down = 1; /* what is dropped from here on is "unsent" */
    abort_all(e);
    finish(e);
}

static void on_deadline(uv_timer_t *t)
{
    tycho_exporters_cut(t->data);
}

void tycho_exporters_shutdown(tycho_exporters_t *e, uint64_t deadline_ms, void (*done)(void *ud),
                              void *ud)
{
    if (e->shutting_down) return;
    e->shutting_down = 1;
    e->done = done;
    e->done_ud = ud;
    uint64_t deadline = uv_now(e->loop) + deadline_ms;
    for (int i = 0; i < 3; i++) {
        export_pipe_t *p = e->pipes[i];
        if (!p->enabled) continue;
        if (p->timer_started) uv_timer_stop(&p->timer);
        /* the drops the last minute held back: no timer will tell them now
         * (those from here on are in the "unsent" line) */
        for (int r = 0; r < TYCHO_DROP_COUNT_; r++)
            log_drops(p, (tycho_drop_reason_t)r, 0, 0);
        tycho_export_sender_set_deadline(p->sender, deadline);
        if (p->ops->shutdown) p->ops->shutdown(p);
    }
    for (int i = 0; i < 3; i++)
        if (e->pipes[i]->enabled) export_pipe_kick(e->pipes[i], 1);
    uv_timer_start(&e->deadline_timer, on_deadline, deadline_ms, 0);
    check_finish(e);
}

void tycho_exporters_free(tycho_exporters_t *e)
{
    if (!e) return;
    if (e->closed) {
        really_free(e);
        return;
    }
    e->free_requested = 1;
    e->done = NULL;
    tycho_exporters_cut(e);
}
