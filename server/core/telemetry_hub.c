#include "core/telemetry_hub.h"

#include "core/config.h"
#include "core/log.h"
#include "core/units.h"
#include "core/wakeup.h"
#include "exporters/export_config.h"
#include "core/ratelog.h"
#include "exporters/exporters.h"
#include "http/exchange.h"
#include "telemetry/logsink.h"
#include "telemetry/process_metrics.h"
#include "telemetry/prometheus_text.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPAN_RING_CAPACITY 4096 /* 16 wake-ups' worth (TYCHO_HUB_WAKE_EVERY) */
#define DRAIN_INTERVAL_MS 50    /* the longest a span waits in its ring */
#define LOG_FLUSH_MAX_MS 2000u  /* the log sink's final flush, at most */
/* Span blocks a worker's pool keeps: two default export batches
 * (OTEL_BSP_MAX_EXPORT_BATCH_SIZE 512), which come back all at once. */
#define SPAN_POOL_MAX 1024

struct tycho_hub {
    tycho_metrics_t *reg;
    unsigned nshards;
    int nworkers;
    tycho_hub_families_t fam;
    tycho_dropcount_t *drops;
    tycho_sampler_t sampler;
    tycho_span_limits_t limits;
    tycho_ring_t **rings;
    tycho_span_pool_t **pools; /* one per worker; freed last, in tycho_hub_free */
    tycho_logsink_t *logsink;
    tycho_log_sink_t log_sink; /* logsink as the logger's sink (set while started) */
    int access_log, traces_stdout;
    char listen_port[8];     /* the public listener's, for the exporters (export_env) */
    atomic_int spans_wanted; /* 0 once start found no consumer for spans */
    /* telemetry thread */
    uv_loop_t *loop;
    tycho_wakeup_t wake; /* the workers': spans to drain (signalled from new to free) */
    uv_timer_t timer;
    int started;
    tycho_exporters_t *exporters; /* telemetry thread; NULL when none could start */
    uint64_t spans_handled;
    uint64_t ring_drops_seen; /* the workers' queue_full span drops at the last look */
    tycho_ratelog_t ring_drop_log;
    tycho_buf_t scratch;
    uint64_t stop_by_ms; /* tycho_hub_stop: when the telemetry's flush ends (uv_hrtime, ms) */
    /* tycho_hub_cut: asked from another thread, done on the telemetry
     * thread (cut_state under cut_lock: 0 none, 1 asked, 2 done) */
    atomic_int cut_asked;
    atomic_int cut_open; /* the telemetry loop still runs the cut (start to stop_logs) */
    pthread_mutex_t cut_lock;
    pthread_cond_t cut_cond;
    int cut_state;
};

static int reg(tycho_hub_t *h, tycho_metric_t **out, const char *name, const char *help,
               tycho_metric_type_t type, const char *const *labels, size_t nlabels,
               const double *buckets, size_t nbuckets, tycho_gauge_merge_t merge, char *err,
               size_t errlen)
{
    tycho_metric_opts_t o = {.name = name,
                             .help = help,
                             .type = type,
                             .label_names = labels,
                             .nlabels = nlabels,
                             .buckets = buckets,
                             .nbuckets = nbuckets,
                             .merge = merge};
    return tycho_metrics_register(h->reg, &o, out, err, errlen);
}

static int register_builtins(tycho_hub_t *h, char *err, size_t errlen)
{
    static const char *const mrs[] = {"method", "route", "status"}, *const mr[] = {"method",
                                                                                   "route"};
    static const char *const worker[] = {"worker"}, *const result[] = {"result"};
    static const char *const route_reason[] = {"route", "reason"};
    static const double sizes[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
    tycho_hub_families_t *f = &h->fam;
    const size_t ns = sizeof sizes / sizeof *sizes;
    int rc = 0;
    rc |= reg(h, &f->requests, "tycho_http_requests_total",
              "HTTP requests served, by method, route pattern and status.", TYCHO_METRIC_COUNTER,
              mrs, 3, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->duration, "tycho_http_request_duration_seconds",
              "Time from a complete request to its response being written.", TYCHO_METRIC_HISTOGRAM,
              mr, 2, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->request_size, "tycho_http_request_size_bytes",
              "Request sizes as received (head and body).", TYCHO_METRIC_HISTOGRAM, mr, 2, sizes,
              ns, 0, err, errlen);
    rc |= reg(h, &f->response_size, "tycho_http_response_size_bytes",
              "Response sizes as sent (head and body).", TYCHO_METRIC_HISTOGRAM, mr, 2, sizes, ns,
              0, err, errlen);
    rc |= reg(h, &f->requests_cut, "tycho_http_requests_cut_total",
              "HTTP requests that got no complete answer: the connection closed while the "
              "request arrived, its handler ran or its response was being written, by route "
              "pattern and reason.",
              TYCHO_METRIC_COUNTER, route_reason, 2, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->in_flight, "tycho_http_requests_in_flight", "Requests being handled now.",
              TYCHO_METRIC_GAUGE, NULL, 0, NULL, 0, TYCHO_GAUGE_MERGE_SUM, err, errlen);
    rc |= reg(h, &f->conns_open, "tycho_http_connections_open", "Open client connections.",
              TYCHO_METRIC_GAUGE, NULL, 0, NULL, 0, TYCHO_GAUGE_MERGE_SUM, err, errlen);
    rc |=
        reg(h, &f->conns_accepted, "tycho_http_connections_accepted_total",
            "Client connections accepted.", TYCHO_METRIC_COUNTER, NULL, 0, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->conns_closed, "tycho_http_connections_closed_total",
              "Client connections closed.", TYCHO_METRIC_COUNTER, NULL, 0, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->send_timeouts, "tycho_http_send_timeouts_total",
              "Client connections closed because a response made no write progress for "
              "TYCHO_SEND_TIMEOUT.",
              TYCHO_METRIC_COUNTER, NULL, 0, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->lua_memory, "tycho_lua_memory_bytes", "Lua heap in use, per worker.",
              TYCHO_METRIC_GAUGE, worker, 1, NULL, 0, TYCHO_GAUGE_MERGE_LAST, err, errlen);
    rc |= reg(h, &f->reloads, "tycho_reloads_total", "Route reloads, by result.",
              TYCHO_METRIC_COUNTER, result, 1, NULL, 0, 0, err, errlen);
    rc |= reg(h, &f->generation, "tycho_reload_generation", "The route generation being served.",
              TYCHO_METRIC_GAUGE, NULL, 0, NULL, 0, TYCHO_GAUGE_MERGE_LAST, err, errlen);
    /* the counter's failures fall out of an increase() window while the
     * files stay broken; these two say it for as long as it lasts */
    rc |= reg(h, &f->reload_ok, "tycho_reload_last_successful",
              "1 when the last load of the routes (start-up or reload) succeeded, 0 when it "
              "failed and the previous routes keep serving.",
              TYCHO_METRIC_GAUGE, NULL, 0, NULL, 0, TYCHO_GAUGE_MERGE_LAST, err, errlen);
    rc |= reg(h, &f->reload_ok_time, "tycho_reload_last_success_timestamp_seconds",
              "Unix time of the last successful load of the routes (start-up or reload).",
              TYCHO_METRIC_GAUGE, NULL, 0, NULL, 0, TYCHO_GAUGE_MERGE_LAST, err, errlen);
    return rc ? -1 : 0;
}

static double span_queue_depth(void *ud)
{
    tycho_hub_t *h = ud;
    size_t n = 0;
    for (int i = 0; i < h->nworkers; i++)
        n += tycho_ring_depth(h->rings[i]);
    return (double)n;
}

/* The exporters' settings: the environment, except that TYCHO_LISTEN (whose
 * port the default remote-write instance label takes) is the public
 * listener as configured, by --listen or the variable. */
static const char *export_env(const char *name, void *ud)
{
    const tycho_hub_t *h = ud;
    return strcmp(name, "TYCHO_LISTEN") == 0 ? h->listen_port : getenv(name);
}

/* The exporters start on the telemetry thread; their settings are checked
 * here first so a bad one stops start-up with its one-line message. The
 * service name they resolve (export_config.h) is every log line's from now
 * on, as it is the Loki streams' and the trace resource's. */
static int check_export_config(tycho_hub_t *h, char *err, size_t errlen)
{
    tycho_export_config_t c;
    if (tycho_export_config_load(&c, export_env, h, NULL, err, errlen) != 0) return -1;
    tycho_log_set_service(c.service);
    tycho_export_config_free(&c);
    return 0;
}

tycho_hub_t *tycho_hub_new(const tycho_config_t *cfg, int nworkers, char *err, size_t errlen)
{
    tycho_hub_t *h = calloc(1, sizeof *h);
    if (!h) return snprintf(err, errlen, "out of memory"), NULL;
    h->wake.fd = -1;
    pthread_mutex_init(&h->cut_lock, NULL);
    pthread_cond_init(&h->cut_cond, NULL);
    h->nworkers = nworkers;
    h->nshards = (unsigned)nworkers + 1;
    h->access_log = cfg->access_log;
    atomic_store(&h->spans_wanted, 1); /* until start knows better (specs read the rings) */
    tycho_hub_set_listen_port(h, cfg->listen.port);
    if (check_export_config(h, err, errlen) != 0) { /* first: later lines name the service */
        free(h);
        return NULL;
    }
    char ts[16];
    int set = tycho_config_env_trimmed("TYCHO_TRACES_STDOUT", ts, sizeof ts, err, errlen);
    if (set > 0 && tycho_parse_bool(ts, &h->traces_stdout) != 0) {
        snprintf(err, errlen, "TYCHO_TRACES_STDOUT: expected on or off, got \"%s\"", ts);
        set = -1;
    }
    if (set < 0) {
        free(h);
        return NULL;
    }
    char msg[1024] = "";
    int src = tycho_sampler_from_env(&h->sampler, msg, sizeof msg);
    if (src < 0) {
        snprintf(err, errlen, "%s", msg); /* names the variable already */
        free(h);
        return NULL;
    }
    if (src > 0) tycho_log_warn("OTEL_TRACES_SAMPLER_ARG ignored", LF_STR("reason", msg));
    h->limits = (tycho_span_limits_t)TYCHO_SPAN_LIMITS_DEFAULT;
    if (tycho_span_limits_from_env(&h->limits, msg, sizeof msg) > 0)
        tycho_log_warn("OTEL span limits ignored", LF_STR("reason", msg));
    int rc = tycho_wakeup_init(&h->wake);
    if (rc) {
        snprintf(err, errlen, "telemetry wake-up eventfd: %s", strerror(-rc));
        free(h);
        return NULL;
    }
    h->reg = tycho_metrics_new(h->nshards, 0);
    h->rings = calloc((size_t)nworkers, sizeof *h->rings);
    h->pools = calloc((size_t)nworkers, sizeof *h->pools);
    h->logsink = tycho_logsink_new(NULL);
    if (!h->reg || !h->rings || !h->pools || !h->logsink) goto oom;
    for (int i = 0; i < nworkers; i++)
        if (!(h->rings[i] = tycho_ring_new(SPAN_RING_CAPACITY)) ||
            !(h->pools[i] = tycho_span_pool_new(TYCHO_SPAN_BLOCK_SIZE, SPAN_POOL_MAX)))
            goto oom;
    if (register_builtins(h, err, errlen) != 0 ||
        tycho_process_metrics_register(h->reg, err, errlen) != 0 ||
        !(h->drops = tycho_dropcount_register(h->reg, err, errlen)) ||
        tycho_logsink_register_metrics(h->logsink, h->drops) != 0) {
        tycho_hub_free(h);
        return NULL;
    }
    tycho_dropcount_set_depth_source(h->drops, TYCHO_SIGNAL_SPANS, span_queue_depth, h);
    /* Both outcomes exist from the first scrape, at 0, and so does every
     * reason a request is cut for (with no route: rate() sees the first). */
    tycho_metric_inc(h->fam.reloads, h->nshards - 1, (const char *[]){"success"}, 0);
    tycho_metric_inc(h->fam.reloads, h->nshards - 1, (const char *[]){"failure"}, 0);
    for (size_t i = 0; i < TYCHO_HTTP_CUT_NREASONS; i++)
        tycho_metric_inc(h->fam.requests_cut, h->nshards - 1,
                         (const char *[]){"", tycho_http_cut_reasons[i]}, 0);
    return h;
oom:
    snprintf(err, errlen, "out of memory");
    tycho_hub_free(h);
    return NULL;
}

void tycho_hub_free(tycho_hub_t *h)
{
    if (!h) return;
    for (int i = 0; h->rings && i < h->nworkers; i++) {
        if (!h->rings[i]) continue;
        for (void *p; (p = tycho_ring_pop(h->rings[i]));)
            tycho_span_free(p);
        tycho_ring_free(h->rings[i]);
    }
    free(h->rings);
    /* after the rings: the spans left there go back to these pools */
    for (int i = 0; h->pools && i < h->nworkers; i++)
        tycho_span_pool_free(h->pools[i]);
    free(h->pools);
    if (h->logsink) tycho_logsink_free(h->logsink);
    tycho_dropcount_free(h->drops);
    tycho_metrics_free(h->reg);
    tycho_buf_free(&h->scratch);
    tycho_wakeup_free(&h->wake);
    pthread_mutex_destroy(&h->cut_lock);
    pthread_cond_destroy(&h->cut_cond);
    free(h);
}

tycho_metrics_t *tycho_hub_registry(tycho_hub_t *h)
{
    return h->reg;
}
const tycho_hub_families_t *tycho_hub_families(tycho_hub_t *h)
{
    return &h->fam;
}
tycho_dropcount_t *tycho_hub_drops(tycho_hub_t *h)
{
    return h->drops;
}
const tycho_sampler_t *tycho_hub_sampler(tycho_hub_t *h)
{
    return &h->sampler;
}
const tycho_span_limits_t *tycho_hub_span_limits(tycho_hub_t *h)
{
    return &h->limits;
}
tycho_ring_t *tycho_hub_span_ring(tycho_hub_t *h, int worker_id)
{
    return h->rings[worker_id];
}
tycho_span_pool_t *tycho_hub_span_pool(tycho_hub_t *h, int worker_id)
{
    return h->pools[worker_id];
}
unsigned tycho_hub_telemetry_shard(tycho_hub_t *h)
{
    return h->nshards - 1;
}
int tycho_hub_spans_wanted(tycho_hub_t *h)
{
    return atomic_load_explicit(&h->spans_wanted, memory_order_relaxed);
}

int tycho_hub_access_log(const tycho_hub_t *h)
{
    return h->access_log;
}

void tycho_hub_span_pushed(tycho_hub_t *h, int worker_id)
{
    if (h->started && tycho_ring_pushed(h->rings[worker_id]) % TYCHO_HUB_WAKE_EVERY == 0)
        tycho_wakeup_signal(&h->wake);
}

/* Spans go to the OTLP exporter when one is configured; the debug stdout
 * sink (TYCHO_TRACES_STDOUT=1) also writes one JSON line per span. */
static void handle_span(tycho_hub_t *h, tycho_span_t *span)
{
    h->spans_handled++;
    if (h->traces_stdout) {
        tycho_buf_reset(&h->scratch);
        if (tycho_span_to_json(span, &h->scratch) == 0)
            tycho_logsink_write(h->scratch.data, h->scratch.len, NULL, h->logsink);
    }
    if (h->exporters && tycho_exporters_wants_spans(h->exporters))
        tycho_exporters_add_span(h->exporters, span);
    else
        tycho_span_free(span);
}

static void drain_spans(tycho_hub_t *h)
{
    for (int i = 0; i < h->nworkers; i++)
        for (void *p; (p = tycho_ring_pop(h->rings[i]));)
            handle_span(h, p);
}

static void cut_now(tycho_hub_t *h);

static void on_wake(void *ud)
{
    tycho_hub_t *h = ud;
    drain_spans(h);
    if (atomic_exchange(&h->cut_asked, 0)) cut_now(h);
}

/* Spans the workers dropped because their ring was full (counted on their
 * shards, request_obs.c): logged as the exporters log their drops, at the
 * first and then at most once a minute with the count since the last line. */
static void log_ring_drops(tycho_hub_t *h, uint64_t now_ms, uint64_t every_ms)
{
    uint64_t total = 0, n;
    for (int i = 0; i < h->nworkers; i++)
        total += tycho_dropcount_counted(h->drops, (unsigned)i, TYCHO_SIGNAL_SPANS,
                                         TYCHO_DROP_QUEUE_FULL);
    uint64_t fresh = total - h->ring_drops_seen;
    h->ring_drops_seen = total;
    if (!tycho_ratelog_due(&h->ring_drop_log, now_ms, every_ms, fresh, &n)) return;
    tycho_log_warn("span ring full: dropping spans", LF_STR("signal", "spans"),
                   LF_STR("reason", "queue_full"), LF_INT("dropped", n),
                   LF_INT("dropped_total", total));
}

void tycho_hub_log_ring_drops(tycho_hub_t *h, uint64_t now_ms)
{
    log_ring_drops(h, now_ms, TYCHO_LOG_EVERY_MS);
}

static void on_timer(uv_timer_t *t)
{
    drain_spans(t->data);
    tycho_hub_log_ring_drops(t->data, uv_now(t->loop));
}

static void tap_log(void *ud, const char *line, size_t len, const tycho_log_meta_t *meta)
{
    tycho_hub_t *h = ud;
    if (h->exporters && tycho_exporters_wants_logs(h->exporters)) /* logsink.h: valid UTF-8 */
        tycho_exporters_add_log_utf8(h->exporters, line, len, meta);
}

static void start_exporters(tycho_hub_t *h)
{
    char err[512];
    h->exporters =
        tycho_exporters_new_env(h->loop, h->reg, h->nshards - 1, export_env, h, err, sizeof err);
    if (!h->exporters) {
        tycho_log_error("telemetry exporters disabled", LF_STR("error", err));
        return;
    }
    tycho_logsink_set_tap(h->logsink, tap_log, h);
}

int tycho_hub_start(tycho_hub_t *h, uv_loop_t *loop)
{
    h->loop = loop;
    int rc = tycho_wakeup_start(&h->wake, loop, on_wake, h);
    if (rc) return rc;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_timer, DRAIN_INTERVAL_MS, DRAIN_INTERVAL_MS);
    uv_unref((uv_handle_t *)&h->timer);
    if ((rc = tycho_logsink_start(h->logsink, loop)) != 0) return rc;
    h->log_sink = (tycho_log_sink_t){tycho_logsink_write, h->logsink};
    tycho_log_set_sink(&h->log_sink);
    h->started = 1;
    atomic_store(&h->cut_open, 1);
    start_exporters(h);
    int wanted = h->traces_stdout || (h->exporters && tycho_exporters_wants_spans(h->exporters));
    atomic_store(&h->spans_wanted, wanted);
    return 0;
}

/* The cut's own lines (the exporters' "unsent" one) get this long to reach
 * stdout before the caller exits. */
#define CUT_LOG_FLUSH_MS 200u

/* Telemetry thread: what the workers' rings still hold goes to the
 * exporters (so it is counted with their queues), the exporters give up
 * and report what they drop, and the log lines queued reach stdout while
 * it takes them. Then the asking thread is told. */
static void cut_now(tycho_hub_t *h)
{
    drain_spans(h);
    if (h->exporters) tycho_exporters_cut(h->exporters);
    tycho_logsink_flush(h->logsink, CUT_LOG_FLUSH_MS);
    pthread_mutex_lock(&h->cut_lock);
    h->cut_state = 2;
    pthread_cond_broadcast(&h->cut_cond);
    pthread_mutex_unlock(&h->cut_lock);
}

void tycho_hub_cut(tycho_hub_t *h, unsigned wait_ms)
{
    pthread_mutex_lock(&h->cut_lock);
    if (!atomic_load(&h->cut_open) || h->cut_state) {
        pthread_mutex_unlock(&h->cut_lock);
        return;
    }
    h->cut_state = 1;
    atomic_store(&h->cut_asked, 1);
    tycho_wakeup_signal(&h->wake);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    while (h->cut_state != 2)
        if (pthread_cond_timedwait(&h->cut_cond, &h->cut_lock, &until) != 0) break;
    pthread_mutex_unlock(&h->cut_lock);
}

/* The log sink's final flush: 2 s at most, and never past the stop's
 * deadline (a stdout nobody reads must not hold the exit longer). The lines
 * it could not write, and those whose loss no line on stdout reported, are
 * left for the stderr line at exit (serve.c). */
static void stop_logs(tycho_hub_t *h)
{
    pthread_mutex_lock(&h->cut_lock); /* no cut to ask once the loop ends */
    atomic_store(&h->cut_open, 0);
    pthread_mutex_unlock(&h->cut_lock);
    tycho_logsink_set_tap(h->logsink, NULL, NULL);
    uint64_t now = uv_hrtime() / 1000000;
    uint64_t left = h->stop_by_ms > now ? h->stop_by_ms - now : 0;
    tycho_logsink_flush(h->logsink, left < LOG_FLUSH_MAX_MS ? (unsigned)left : LOG_FLUSH_MAX_MS);
    tycho_log_add_lost(tycho_logsink_unreported(h->logsink));
    tycho_logsink_stop(h->logsink);
    tycho_log_set_sink(NULL);
    tycho_wakeup_stop(&h->wake);
    uv_close((uv_handle_t *)&h->timer, NULL);
}

static void on_exporters_flushed(void *ud)
{
    tycho_hub_t *h = ud;
    tycho_exporters_free(h->exporters);
    h->exporters = NULL;
    stop_logs(h);
}

void tycho_hub_stop(tycho_hub_t *h, uint64_t drain_left_ms)
{
    if (!h->started) return;
    h->started = 0;
    uint64_t flush_ms =
        drain_left_ms > TYCHO_HUB_FLUSH_FLOOR_MS ? drain_left_ms : TYCHO_HUB_FLUSH_FLOOR_MS;
    h->stop_by_ms = uv_hrtime() / 1000000 + flush_ms;
    drain_spans(h);
    /* the drops the last minute held back: no later look will tell them */
    log_ring_drops(h, uv_now(h->loop), 0);
    if (!h->exporters) {
        stop_logs(h);
        return;
    }
    /* The exporters flush first (their "unsent" line must still reach
     * stdout), then the log sink, in what the exporters left of the same
     * deadline (the sink keeps writing meanwhile); the loop runs until both
     * are done. */
    tycho_logsink_drain(h->logsink);
    tycho_exporters_shutdown(h->exporters, flush_ms, on_exporters_flushed, h);
}

int tycho_hub_render_metrics(tycho_hub_t *h, tycho_buf_t *out)
{
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(h->reg);
    if (!snap) return -1;
    int rc = tycho_prom_render(snap, out);
    tycho_metrics_snapshot_free(snap);
    return rc;
}

void tycho_hub_status_json(tycho_hub_t *h, tycho_buf_t *out)
{
    if (h->exporters) {
        tycho_buf_puts(out, ",");
        tycho_exporters_status_json(h->exporters, out);
    }
    tycho_buf_printf(
        out,
        ",\"telemetry\":{\"span_queue\":%.0f,\"spans_handled\":%llu,\"log_queue_bytes\":%zu,"
        "\"logs_dropped\":%llu,\"sampler\":\"%s\"}",
        span_queue_depth(h), (unsigned long long)h->spans_handled, tycho_logsink_queued(h->logsink),
        (unsigned long long)tycho_logsink_dropped_total(h->logsink),
        tycho_sampler_name(&h->sampler));
}

void tycho_hub_set_listen_port(tycho_hub_t *h, int port)
{
    snprintf(h->listen_port, sizeof h->listen_port, "%d", port);
}

static void record_load(tycho_hub_t *h, int ok, uint64_t generation)
{
    unsigned shard = h->nshards - 1;
    tycho_metric_set(h->fam.generation, shard, NULL, (double)generation);
    tycho_metric_set(h->fam.reload_ok, shard, NULL, ok ? 1 : 0);
    if (!ok) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tycho_metric_set(h->fam.reload_ok_time, shard, NULL,
                     (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void tycho_hub_routes_started(tycho_hub_t *h, uint64_t generation)
{
    record_load(h, 1, generation);
}

void tycho_hub_record_reload(tycho_hub_t *h, int ok, uint64_t generation)
{
    tycho_metric_inc(h->fam.reloads, h->nshards - 1, (const char *[]){ok ? "success" : "failure"},
                     1);
    record_load(h, ok, generation);
}
