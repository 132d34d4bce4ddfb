/* telemetry_hub: a worker's span ring to the telemetry thread, full. Spans
 * past its capacity are dropped and counted (tycho_telemetry_dropped_total
 * {signal="spans",reason="queue_full"}), and the warning about them comes at
 * the first drop, then at most once a minute with the count since the last
 * line. The hub is not started: nothing drains the ring, so it fills at
 * exactly its capacity, and the drain timer's check is called with a clock
 * of the test's choosing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/ratelog.h"
#include "core/request_obs.h"
#include "core/telemetry_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_lines[8][1024];
static int g_nlines;

static void capture(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta;
    (void)ud;
    if (g_nlines < 8) snprintf(g_lines[g_nlines], sizeof g_lines[0], "%.*s", (int)len, line);
    g_nlines++;
}
static const tycho_log_sink_t capture_sink = {capture, NULL};

/* Finishes n spans on worker 0 (into its ring, or dropped). */
static void finish_spans(tycho_obs_t *obs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tycho_span_t *s = tycho_obs_span_new(obs, "s", TYCHO_SPAN_KIND_INTERNAL);
        assert_non_null(s);
        tycho_obs_span_finish(obs, s);
    }
}

/* The number after "name": in line, or -1. */
static long long field(const char *line, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(line, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* The exposition's sample of the spans' queue_full drops, or -1. */
static long long exposed_drops(tycho_hub_t *hub)
{
    tycho_buf_t out = TYCHO_BUF_INIT;
    assert_int_equal(tycho_hub_render_metrics(hub, &out), 0);
    assert_int_equal(tycho_buf_append(&out, "", 1), 0);
    const char *key = "tycho_telemetry_dropped_total{signal=\"spans\",reason=\"queue_full\"} ";
    const char *p = strstr(out.data, key);
    long long v = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    tycho_buf_free(&out);
    return v;
}

static void test_full_ring_drops_counted_and_logged(void **state)
{
    (void)state;
    tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    char err[256];
    tycho_hub_t *hub = tycho_hub_new(&cfg, 1, err, sizeof err);
    assert_non_null(hub);
    tycho_obs_t *obs = tycho_obs_new(hub, &cfg, 0);
    assert_non_null(obs);
    tycho_log_set_sink(&capture_sink);
    tycho_dropcount_t *drops = tycho_hub_drops(hub);
    size_t cap = tycho_ring_capacity(tycho_hub_span_ring(hub, 0));
    assert_int_equal(cap, 4096);

    /* a full ring, nothing dropped, nothing logged */
    finish_spans(obs, cap);
    assert_int_equal(tycho_ring_depth(tycho_hub_span_ring(hub, 0)), cap);
    assert_int_equal(tycho_dropcount_counted(drops, 0, TYCHO_SIGNAL_SPANS, TYCHO_DROP_QUEUE_FULL),
                     0);
    tycho_hub_log_ring_drops(hub, 1000);
    assert_int_equal(g_nlines, 0);

    /* 5 more: dropped and counted; the first look logs them at once */
    finish_spans(obs, 5);
    assert_int_equal(tycho_ring_depth(tycho_hub_span_ring(hub, 0)), cap);
    assert_int_equal(tycho_dropcount_counted(drops, 0, TYCHO_SIGNAL_SPANS, TYCHO_DROP_QUEUE_FULL),
                     5);
    assert_int_equal(exposed_drops(hub), 5);
    tycho_hub_log_ring_drops(hub, 2000);
    assert_int_equal(g_nlines, 1);
    assert_non_null(strstr(g_lines[0], "\"level\":\"warn\""));
    assert_non_null(strstr(g_lines[0], "\"msg\":\"span ring full: dropping spans\""));
    assert_non_null(strstr(g_lines[0], "\"signal\":\"spans\",\"reason\":\"queue_full\""));
    assert_int_equal(field(g_lines[0], "dropped"), 5);
    assert_int_equal(field(g_lines[0], "dropped_total"), 5);

    /* 3 more within the minute: counted, held back (each look of the drain
     * timer), then logged once the minute has passed, with the 3 */
    finish_spans(obs, 3);
    for (uint64_t t = 2050; t < 2000 + TYCHO_LOG_EVERY_MS; t += 5000)
        tycho_hub_log_ring_drops(hub, t);
    assert_int_equal(g_nlines, 1);
    assert_int_equal(exposed_drops(hub), 8);
    tycho_hub_log_ring_drops(hub, 2000 + TYCHO_LOG_EVERY_MS);
    assert_int_equal(g_nlines, 2);
    assert_int_equal(field(g_lines[1], "dropped"), 3);
    assert_int_equal(field(g_lines[1], "dropped_total"), 8);

    /* no drops since: no line, however long */
    tycho_hub_log_ring_drops(hub, 2000 + 10 * TYCHO_LOG_EVERY_MS);
    assert_int_equal(g_nlines, 2);

    /* a drop after a quiet spell longer than the interval: logged at once */
    finish_spans(obs, 1);
    tycho_hub_log_ring_drops(hub, 2000 + 10 * TYCHO_LOG_EVERY_MS + 50);
    assert_int_equal(g_nlines, 3);
    assert_int_equal(field(g_lines[2], "dropped"), 1);
    assert_int_equal(field(g_lines[2], "dropped_total"), 9);

    tycho_log_set_sink(NULL);
    tycho_obs_free(obs);
    tycho_hub_free(hub); /* frees the spans still in the ring */
}

/* The drops the minute held back when the server stops are logged by the
 * stop: no later look of the drain timer would tell them. The hub runs on a
 * loop of its own; the loop does not run until the stop, so the ring fills
 * (the wake-ups wait in it). */
static void test_held_back_ring_drops_logged_at_stop(void **state)
{
    (void)state;
    tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    char err[256];
    tycho_hub_t *hub = tycho_hub_new(&cfg, 1, err, sizeof err);
    assert_non_null(hub);
    tycho_obs_t *obs = tycho_obs_new(hub, &cfg, 0);
    assert_non_null(obs);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(tycho_hub_start(hub, &loop), 0);
    tycho_log_set_sink(&capture_sink); /* instead of the hub's log sink */
    g_nlines = 0;

    finish_spans(obs, tycho_ring_capacity(tycho_hub_span_ring(hub, 0)) + 2);
    tycho_hub_log_ring_drops(hub, uv_now(&loop));
    assert_int_equal(g_nlines, 1);
    assert_int_equal(field(g_lines[0], "dropped"), 2);
    finish_spans(obs, 7); /* the ring is still full: held back for a minute */
    tycho_hub_log_ring_drops(hub, uv_now(&loop));
    assert_int_equal(g_nlines, 1);

    tycho_hub_stop(hub, 0);
    assert_int_equal(g_nlines, 2);
    assert_non_null(strstr(g_lines[1], "\"msg\":\"span ring full: dropping spans\""));
    assert_int_equal(field(g_lines[1], "dropped"), 7);
    assert_int_equal(field(g_lines[1], "dropped_total"), 9);

    uv_run(&loop, UV_RUN_DEFAULT); /* the exporters' (empty) flush, the handles' closing */
    tycho_log_set_sink(NULL);
    assert_int_equal(uv_loop_close(&loop), 0);
    tycho_obs_free(obs);
    tycho_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_ring_drops_counted_and_logged),
        cmocka_unit_test(test_held_back_ring_drops_logged_at_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
