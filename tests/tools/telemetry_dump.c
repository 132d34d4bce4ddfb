/* telemetry_dump — fills a metrics registry with every kind of metric (from
 * several writer threads, one shard each) and prints its Prometheus text
 * exposition on stdout. tests/telemetry/test_promtool.sh feeds it to
 * `promtool check metrics` and to a real Prometheus scrape. Log lines (the
 * capped metric's warning) go to stderr: stdout is the exposition alone.
 * Known values the script checks:
 *   tycho_demo_requests_total{method="GET",route="/users/:id",status="200"} 42
 *   tycho_demo_request_duration_seconds_count{route="/users/:id"} 30 */
#include "core/log.h"
#include "telemetry/dropcount.h"
#include "telemetry/metrics.h"
#include "telemetry/process_metrics.h"
#include "telemetry/prometheus_text.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WORKERS 3

static tycho_metric_t *requests, *duration, *size, *inflight, *generation;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "telemetry_dump: %s: %s\n", what, err);
    exit(1);
}

static void log_to_stderr(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta, (void)ud;
    fwrite(line, 1, len, stderr);
}

static tycho_metric_t *reg(tycho_metrics_t *r, tycho_metric_opts_t o)
{
    tycho_metric_t *m;
    char err[256];
    if (tycho_metrics_register(r, &o, &m, err, sizeof err) != 0) die(o.name, err);
    return m;
}

static void *worker(void *p)
{
    unsigned shard = (unsigned)(uintptr_t)p;
    /* 14 of the 42 GET /users/:id 200 requests come from each worker. */
    for (int i = 0; i < 14; i++)
        tycho_metric_inc(requests, shard, (const char *[]){"GET", "/users/:id", "200"}, 1);
    for (int i = 0; i < 10; i++)
        tycho_metric_observe(duration, shard, (const char *[]){"/users/:id"},
                             0.003 * (i + 1) * (shard + 1));
    tycho_metric_inc(requests, shard, (const char *[]){"POST", "/messages", "201"}, 2);
    tycho_metric_observe(size, shard, NULL, 512.0 * (shard + 1));
    tycho_metric_set(inflight, shard, NULL, shard + 1);
    tycho_metric_set(generation, shard, NULL, 7);
    return NULL;
}

int main(void)
{
    static const tycho_log_sink_t to_stderr = {log_to_stderr, NULL};
    tycho_log_set_sink(&to_stderr);
    tycho_metrics_t *r = tycho_metrics_new(WORKERS + 1, 0);
    if (!r) die("registry", "out of memory");
    char err[256];
    if (tycho_process_metrics_register(r, err, sizeof err) != 0) die("process metrics", err);
    tycho_dropcount_t *d = tycho_dropcount_register(r, err, sizeof err);
    if (!d) die("dropcount", err);

    const char *rl[] = {"method", "route", "status"};
    requests = reg(r, (tycho_metric_opts_t){
                          .name = "tycho_demo_requests_total",
                          .help = "HTTP requests served, by method, route pattern and status.",
                          .type = TYCHO_METRIC_COUNTER,
                          .label_names = rl,
                          .nlabels = 3});
    duration = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_request_duration_seconds",
                                            .help = "Request latency in seconds (default buckets).",
                                            .type = TYCHO_METRIC_HISTOGRAM,
                                            .label_names = (const char *[]){"route"},
                                            .nlabels = 1});
    size = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_response_size_bytes",
                                        .help = "Response body sizes in bytes.",
                                        .type = TYCHO_METRIC_HISTOGRAM,
                                        .buckets = (double[]){100, 1000, 10000},
                                        .nbuckets = 3});
    inflight = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_inflight_requests",
                                            .help = "Requests in flight, all workers.",
                                            .type = TYCHO_METRIC_GAUGE});
    generation = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_route_generation",
                                              .help = "Route table generation (last write wins).",
                                              .type = TYCHO_METRIC_GAUGE,
                                              .merge = TYCHO_GAUGE_MERGE_LAST});
    tycho_metric_t *temp = reg(
        r, (tycho_metric_opts_t){.name = "tycho_demo_temperature_celsius",
                                 .help = "A gauge with \"quotes\", a backslash \\ and\na newline "
                                         "in its help.",
                                 .type = TYCHO_METRIC_GAUGE});
    tycho_metric_t *ratio = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_cache_hit_ratio",
                                                         .help = "Not a number yet.",
                                                         .type = TYCHO_METRIC_GAUGE});
    tycho_metric_t *big = reg(r, (tycho_metric_opts_t){.name = "tycho_demo_bytes_total",
                                                       .help = "A large counter.",
                                                       .type = TYCHO_METRIC_COUNTER});
    tycho_metric_t *capped =
        reg(r, (tycho_metric_opts_t){.name = "tycho_demo_by_user_total",
                                     .help = "A metric whose cardinality runs into its cap.",
                                     .type = TYCHO_METRIC_COUNTER,
                                     .label_names = (const char *[]){"user"},
                                     .nlabels = 1,
                                     .max_series = 5});

    pthread_t th[WORKERS];
    for (uintptr_t i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);

    /* The last shard belongs to this (main) thread. */
    unsigned me = WORKERS;
    tycho_metric_inc(requests, me,
                     (const char *[]){"GET", "/odd \"label\" \\ value\nhere é", "500"}, 1);
    tycho_metric_set(temp, me, NULL, -12.25);
    tycho_metric_set(ratio, me, NULL, NAN);
    tycho_metric_inc(big, me, NULL, 1e20);
    char user[16];
    for (int i = 0; i < 20; i++) {
        snprintf(user, sizeof user, "u%d", i);
        tycho_metric_inc(capped, me, (const char *[]){user}, 1);
    }
    tycho_dropcount_add(d, me, TYCHO_SIGNAL_SPANS, TYCHO_DROP_QUEUE_FULL, 3);

    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    tycho_buf_t out = TYCHO_BUF_INIT;
    if (!s || tycho_prom_render(s, &out) != 0) die("render", "out of memory");
    fwrite(out.data, 1, out.len, stdout);
    tycho_buf_free(&out);
    tycho_metrics_snapshot_free(s);
    tycho_dropcount_free(d);
    tycho_metrics_free(r);
    return 0;
}
