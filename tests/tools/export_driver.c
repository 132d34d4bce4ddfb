/* export_driver — runs tycho's exporters on a libuv loop, configured from
 * the environment exactly as `tycho serve` is, and feeds them from a script
 * given on the command line (steps run in order):
 *
 *   counter N        increments tycho_driver_requests_total{route="/items/:id"} N times
 *   gauge V          sets tycho_driver_temperature{room="lab"} to V
 *   regauge V        redefines tycho_driver_temperature with labels room and
 *                    floor, as a reload would, and sets {room="lab",floor="3"} to V
 *   hist V,V,...     observes into tycho_driver_latency_seconds{route="/items/:id"}
 *                    (buckets 0.1, 0.5, 1)
 *   span             queues the known span (every OTLP field set; see known_span)
 *   spans N          queues N small spans named "op-<i>" (attribute seq=i; i counts on
 *                    across steps, so ids never repeat)
 *   logs N           queues N JSON log lines (seq, level info/warn/error in turn,
 *                    request_id req-<seq>, trace_id, span_id, the current service)
 *   service SVC      the "service" of the lines queued next (default "driver")
 *   logfile PATH     queues each line of PATH
 *   sleep MS         runs the loop MS milliseconds
 *   idle MS          runs the loop until nothing is queued or in flight (at most MS)
 *   status           prints "STATUS <json>" (tycho_exporters_status_json)
 *   mark TEXT        prints "MARK TEXT" (lets a test sync with its receiver)
 *   shutdown MS      final flush with a deadline of MS; prints "SHUTDOWN <ms taken>"
 *
 * Exits 2 with the config error on stderr when tycho_exporters_new refuses
 * the environment; 0 otherwise. Used by tests/exporters/test_*.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/buf.h"
#include "exporters/exporters.h"
#include "net/http_client.h"
#include "telemetry/metrics.h"
#include "telemetry/span.h"

static uv_loop_t loop;
static tycho_exporters_t *ex;
static tycho_metrics_t *reg;
static tycho_metric_t *m_counter, *m_gauge, *m_hist;
static uint64_t log_seq;
static const char *log_service = "driver";

#define WORKER_SHARD 0
#define TELEMETRY_SHARD 1

static void on_timer(uv_timer_t *t)
{
    (void)t;
    uv_stop(&loop);
}

static void run_for(uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, on_timer, ms, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_timer_stop(&t);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static size_t pending(void)
{
    return tycho_exporters_pending(ex, "traces") + tycho_exporters_pending(ex, "metrics") +
           tycho_exporters_pending(ex, "logs");
}

static void print_status(void)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    tycho_exporters_status_json(ex, &b);
    tycho_buf_puts(&b, "}");
    printf("STATUS %s\n", b.data);
    fflush(stdout);
    tycho_buf_free(&b);
}

static void hex_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* The span tests/exporters/otlp_check.js expects, field for field. */
static void known_span(void)
{
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_attrs = 6;
    tycho_span_t *s = tycho_span_new("GET /items/:id", TYCHO_SPAN_KIND_SERVER, &lim);
    if (!s) abort();
    uint8_t tid[16], sid[8], pid[8], ltid[16], lsid[8];
    hex_bytes("0102030405060708090a0b0c0d0e0f10", tid, 16);
    hex_bytes("a1a2a3a4a5a6a7a8", sid, 8);
    hex_bytes("b1b2b3b4b5b6b7b8", pid, 8);
    hex_bytes("11111111111111112222222222222222", ltid, 16);
    hex_bytes("3333333333333333", lsid, 8);
    tycho_span_set_ids(s, tid, sid, pid, 1, 0x01);
    tycho_span_set_trace_state(s, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    s->start_ns = 1700000000123456789ull;
    tycho_span_set_attr(s, "http.request.method", TYCHO_AV_STR("GET"));
    tycho_span_set_attr(s, "http.response.status_code", TYCHO_AV_INT(200));
    tycho_span_set_attr(s, "tycho.ratio", TYCHO_AV_DBL(0.25));
    tycho_span_set_attr(s, "tycho.cached", TYCHO_AV_BOOL(1));
    tycho_span_set_attr(s, "tycho.bytes",
                        TYCHO_AV_STRN("a\xff"
                                      "b",
                                      3)); /* invalid UTF-8 */
    tycho_span_set_attr(s, "server.port", TYCHO_AV_INT(-8080));
    tycho_span_set_attr(s, "over.limit.1", TYCHO_AV_STR("x")); /* dropped: max_attrs 6 */
    tycho_span_set_attr(s, "over.limit.2", TYCHO_AV_STR("y"));
    tycho_span_record_exception(s, "ValueError", "boom", "at handler (routes/x.lua:3)",
                                1700000000123457789ull);
    tycho_span_event_t *ev = tycho_span_add_event(s, "cache.miss", 1700000000123458789ull);
    if (ev) tycho_span_event_set_attr(s, ev, "cache.key", TYCHO_AV_STR("item:42"));
    tycho_span_link_t *ln = tycho_span_add_link(s, ltid, lsid, 0x01, 1, "a=b");
    if (ln) tycho_span_link_set_attr(s, ln, "link.kind", TYCHO_AV_STR("follows"));
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, "boom");
    tycho_span_end(s, 1700000000125956789ull); /* 2.5 ms */
    tycho_exporters_add_span(ex, s);
}

static long span_seq; /* ids stay unique across "spans" steps */

static void small_spans(long n)
{
    for (long k = 0; k < n; k++) {
        long i = span_seq++;
        char name[32];
        snprintf(name, sizeof name, "op-%ld", i);
        tycho_span_t *s = tycho_span_new(name, TYCHO_SPAN_KIND_INTERNAL, NULL);
        if (!s) abort();
        uint8_t tid[16] = {0}, sid[8] = {0};
        tid[0] = 0x42;
        memcpy(tid + 8, &i, sizeof i);
        sid[0] = 0x24;
        memcpy(sid + 1, &i, 7);
        tycho_span_set_ids(s, tid, sid, NULL, 0, 1);
        tycho_span_set_attr(s, "seq", TYCHO_AV_INT(i));
        tycho_span_end(s, 0);
        tycho_exporters_add_span(ex, s);
    }
}

static void log_lines(long n, const char *svc)
{
    static const char *const levels[] = {"info", "warn", "error"};
    for (long i = 0; i < n; i++) {
        uint64_t seq = log_seq++;
        char line[512];
        uint64_t ns = tycho_span_now_ns();
        time_t sec = (time_t)(ns / 1000000000u);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        int len = snprintf(line, sizeof line,
                           "{\"time\":\"%s.%09lluZ\",\"level\":\"%s\",\"msg\":\"line %llu\","
                           "\"service\":\"%s\",\"request_id\":\"req-%llu\","
                           "\"trace_id\":\"%032llx\",\"span_id\":\"%016llx\",\"seq\":%llu}\n",
                           when, (unsigned long long)(ns % 1000000000u), levels[seq % 3],
                           (unsigned long long)seq, svc, (unsigned long long)seq,
                           (unsigned long long)(seq + 1), (unsigned long long)(seq + 1),
                           (unsigned long long)seq);
        tycho_exporters_add_log(ex, line, (size_t)len);
    }
}

static void log_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "export_driver: cannot open %s\n", path);
        exit(1);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0)
        tycho_exporters_add_log(ex, line, (size_t)n);
    free(line);
    fclose(f);
}

static int shut_done;
static void on_shutdown(void *ud)
{
    (void)ud;
    shut_done = 1;
}

int main(int argc, char **argv)
{
    tycho_http_global_init();
    uv_loop_init(&loop);
    reg = tycho_metrics_new(2, 0);
    static const char *const route[] = {"route"};
    static const char *const room[] = {"room"};
    static const double bounds[] = {0.1, 0.5, 1};
    char err[512];
    tycho_metric_opts_t o = {.name = "tycho_driver_requests_total",
                             .help = "Requests the driver counted.",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = route,
                             .nlabels = 1};
    if (tycho_metrics_register(reg, &o, &m_counter, err, sizeof err)) goto bad_metric;
    o = (tycho_metric_opts_t){.name = "tycho_driver_temperature",
                              .type = TYCHO_METRIC_GAUGE,
                              .label_names = room,
                              .nlabels = 1,
                              .stamp = 1}; /* a definition a reload may replace (regauge) */
    if (tycho_metrics_register(reg, &o, &m_gauge, err, sizeof err)) goto bad_metric;
    o = (tycho_metric_opts_t){.name = "tycho_driver_latency_seconds",
                              .help = "Latency the driver observed.",
                              .type = TYCHO_METRIC_HISTOGRAM,
                              .label_names = route,
                              .nlabels = 1,
                              .buckets = bounds,
                              .nbuckets = 3};
    if (tycho_metrics_register(reg, &o, &m_hist, err, sizeof err)) goto bad_metric;

    ex = tycho_exporters_new(&loop, reg, TELEMETRY_SHARD, err, sizeof err);
    if (!ex) {
        fprintf(stderr, "%s\n", err);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        tycho_metrics_free(reg);
        return 2;
    }

    const char *rv[] = {"/items/:id"};
    const char *gv[] = {"lab"};
    for (int i = 1; i < argc; i++) {
        const char *cmd = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(cmd, "counter") == 0 && arg) {
            long n = atol(arg);
            for (long k = 0; k < n; k++)
                tycho_metric_inc(m_counter, WORKER_SHARD, rv, 1);
            i++;
        } else if (strcmp(cmd, "gauge") == 0 && arg) {
            tycho_metric_set(m_gauge, WORKER_SHARD, gv, atof(arg));
            i++;
        } else if (strcmp(cmd, "regauge") == 0 && arg) {
            static const char *const room_floor[] = {"room", "floor"};
            tycho_metric_opts_t ro = {.name = "tycho_driver_temperature",
                                      .type = TYCHO_METRIC_GAUGE,
                                      .label_names = room_floor,
                                      .nlabels = 2,
                                      .stamp = 2};
            if (tycho_metrics_register(reg, &ro, &m_gauge, err, sizeof err)) goto bad_metric;
            tycho_metric_set(m_gauge, WORKER_SHARD, (const char *[]){"lab", "3"}, atof(arg));
            i++;
        } else if (strcmp(cmd, "hist") == 0 && arg) {
            char *copy = strdup(arg), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                tycho_metric_observe(m_hist, WORKER_SHARD, rv, atof(t));
            free(copy);
            i++;
        } else if (strcmp(cmd, "span") == 0) {
            known_span();
        } else if (strcmp(cmd, "spans") == 0 && arg) {
            small_spans(atol(arg));
            i++;
        } else if (strcmp(cmd, "logs") == 0 && arg) {
            log_lines(atol(arg), log_service);
            i++;
        } else if (strcmp(cmd, "service") == 0 && arg) {
            log_service = arg;
            i++;
        } else if (strcmp(cmd, "logfile") == 0 && arg) {
            log_file(arg);
            i++;
        } else if (strcmp(cmd, "sleep") == 0 && arg) {
            run_for((uint64_t)atol(arg));
            i++;
        } else if (strcmp(cmd, "idle") == 0 && arg) {
            uint64_t until = uv_now(&loop) + (uint64_t)atol(arg);
            while (pending() && uv_now(&loop) < until)
                run_for(20);
            i++;
        } else if (strcmp(cmd, "status") == 0) {
            print_status();
        } else if (strcmp(cmd, "mark") == 0 && arg) {
            printf("MARK %s\n", arg);
            fflush(stdout);
            i++;
        } else if (strcmp(cmd, "shutdown") == 0 && arg) {
            uint64_t t0 = uv_hrtime();
            tycho_exporters_shutdown(ex, (uint64_t)atol(arg), on_shutdown, NULL);
            while (!shut_done)
                uv_run(&loop, UV_RUN_ONCE);
            printf("SHUTDOWN %llu\n", (unsigned long long)((uv_hrtime() - t0) / 1000000u));
            print_status();
            i++;
        } else {
            fprintf(stderr, "export_driver: bad step \"%s\"\n", cmd);
            return 1;
        }
    }
    if (!shut_done) {
        tycho_exporters_shutdown(ex, 0, on_shutdown, NULL);
        while (!shut_done)
            uv_run(&loop, UV_RUN_ONCE);
    }
    tycho_exporters_free(ex);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    if (rc) fprintf(stderr, "export_driver: loop not empty at exit: %s\n", uv_strerror(rc));
    tycho_metrics_free(reg);
    return rc ? 1 : 0;
bad_metric:
    fprintf(stderr, "export_driver: %s\n", err);
    return 1;
}
