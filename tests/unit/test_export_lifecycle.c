/* Unit tests of the exporters' life cycle on a libuv loop (exporters/
 * exporters.h): nothing configured (nothing runs, shutdown still completes
 * asynchronously), a bad setting (NULL, one line, nothing left behind),
 * ownership of spans and lines when disabled, the status JSON, the metric
 * families, and the ECS resource mapping. Loopback exports are covered by
 * tests/exporters/. */
#include "exporters/ecs_resource.h"
#include "exporters/otlp_encode.h"
#include "exporters/exporters.h"

#include <cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static const char *fake_env(const char *name, void *ud)
{
    const char *const *kv = ud;
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], name) == 0) return kv[i + 1];
    return NULL;
}

static int done_calls;
static void on_done(void *ud)
{
    (void)ud;
    done_calls++;
}

static void test_nothing_configured(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tycho_metrics_t *reg = tycho_metrics_new(2, 0);
    const char *env[] = {NULL};
    char err[256] = "";
    tycho_exporters_t *e =
        tycho_exporters_new_env(&loop, reg, 1, fake_env, (void *)env, err, sizeof err);
    assert_non_null(e);
    assert_false(tycho_exporters_wants_spans(e));
    assert_false(tycho_exporters_wants_logs(e));
    /* ownership: the span is freed at once (ASan would see a leak otherwise) */
    tycho_exporters_add_span(e, tycho_span_new("x", TYCHO_SPAN_KIND_INTERNAL, NULL));
    tycho_exporters_add_log(e, "{}", 2);
    assert_int_equal(tycho_exporters_pending(e, "traces"), 0);

    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    tycho_exporters_status_json(e, &b);
    tycho_buf_puts(&b, "}");
    cJSON *doc = cJSON_Parse(b.data);
    assert_non_null(doc);
    cJSON *ex = cJSON_GetObjectItem(doc, "exporters");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "traces"), "enabled")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "metrics"), "enabled")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "logs"), "enabled")));
    assert_int_equal(cJSON_GetObjectItem(ex, "max_bytes")->valuedouble, 64 << 20);
    cJSON_Delete(doc);
    tycho_buf_free(&b);

    /* the families exist from the start, with every drop reason */
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(reg);
    const tycho_snapshot_family_t *f =
        tycho_metrics_snapshot_find(snap, "tycho_telemetry_dropped_total");
    assert_non_null(f);
    assert_int_equal(f->nlabels, 2);
    assert_true(f->nseries >= 18); /* 3 signals x 6 reasons */
    assert_non_null(tycho_metrics_snapshot_find(snap, "tycho_telemetry_exported_total"));
    assert_non_null(tycho_metrics_snapshot_find(snap, "tycho_telemetry_queue_depth"));
    tycho_metrics_snapshot_free(snap);

    done_calls = 0;
    tycho_exporters_shutdown(e, 1000, on_done, NULL);
    assert_int_equal(done_calls, 0); /* never synchronously */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(done_calls, 1);
    tycho_exporters_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
    tycho_metrics_free(reg);
}

static void test_bad_config(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tycho_metrics_t *reg = tycho_metrics_new(2, 0);
    const char *env[] = {"TYCHO_REMOTE_WRITE_URL",
                         "http://p:9090/api/v1/write",
                         "TYCHO_LOKI_URL",
                         "http://l:3100/loki/api/v1/push",
                         "TYCHO_LOKI_LABELS",
                         "level=x",
                         NULL};
    char err[256] = "";
    assert_null(tycho_exporters_new_env(&loop, reg, 1, fake_env, (void *)env, err, sizeof err));
    assert_string_equal(err, "TYCHO_LOKI_LABELS: \"level\" is set from each log line");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    tycho_metrics_free(reg);
}

static void test_free_without_shutdown(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tycho_metrics_t *reg = tycho_metrics_new(2, 0);
    /* port 9 on loopback: nothing listens; nothing is sent before free anyway */
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                         "http://127.0.0.1:9",
                         "OTEL_BSP_SCHEDULE_DELAY",
                         "60000",
                         "TYCHO_LOKI_URL",
                         "http://127.0.0.1:9/loki/api/v1/push",
                         "TYCHO_LOKI_FLUSH_INTERVAL",
                         "60",
                         "TYCHO_REMOTE_WRITE_URL",
                         "http://127.0.0.1:9/api/v1/write",
                         "TYCHO_REMOTE_WRITE_INTERVAL",
                         "60",
                         NULL};
    char err[256] = "";
    tycho_exporters_t *e =
        tycho_exporters_new_env(&loop, reg, 1, fake_env, (void *)env, err, sizeof err);
    assert_non_null(e);
    assert_true(tycho_exporters_wants_spans(e));
    assert_true(tycho_exporters_wants_logs(e));
    for (int i = 0; i < 10; i++)
        tycho_exporters_add_span(e, tycho_span_new("queued", TYCHO_SPAN_KIND_INTERNAL, NULL));
    tycho_exporters_add_log(e, "{\"level\":\"info\"}\n", 17);
    assert_int_equal(tycho_exporters_pending(e, "traces"), 10);
    assert_int_equal(tycho_exporters_pending(e, "logs"), 1);
    tycho_exporters_free(e); /* drops what is queued; memory goes with the handles */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(reg);
    const tycho_snapshot_family_t *f =
        tycho_metrics_snapshot_find(snap, "tycho_telemetry_dropped_total");
    double spans_shutdown = -1;
    for (size_t i = 0; i < f->nseries; i++)
        if (!strcmp(f->series[i].label_values[0], "spans") &&
            !strcmp(f->series[i].label_values[1], "shutdown"))
            spans_shutdown = f->series[i].value;
    assert_true(spans_shutdown == 10);
    tycho_metrics_snapshot_free(snap);
    tycho_metrics_free(reg);
}

static void test_ecs_resource(void **state)
{
    (void)state;
    const char *container = "{\"DockerId\":\"abc\",\"Name\":\"app\",\"ContainerARN\":\"arn:aws:ecs:"
                            "eu-west-1:123456789012:container/c/1\","
                            "\"LogDriver\":\"awslogs\",\"LogOptions\":{\"awslogs-group\":\"/ecs/"
                            "g\",\"awslogs-stream\":\"s/1\"}}";
    const char *task =
        "{\"Cluster\":\"arn:aws:ecs:eu-west-1:123456789012:cluster/prod\","
        "\"TaskARN\":\"arn:aws:ecs:eu-west-1:123456789012:task/prod/t1\",\"Family\":\"f\","
        "\"Revision\":\"3\",\"AvailabilityZone\":\"eu-west-1b\",\"LaunchType\":\"EC2\"}";
    tycho_export_kvs_t kv = {0};
    tycho_export_kvs_set(&kv, "cloud.region", "from-env"); /* the environment wins */
    int n = tycho_ecs_resource_parse(container, strlen(container), task, strlen(task), &kv);
    assert_true(n > 10);
    assert_string_equal(tycho_export_kvs_get(&kv, "cloud.region"), "from-env");
    assert_string_equal(tycho_export_kvs_get(&kv, "cloud.account.id"), "123456789012");
    assert_string_equal(tycho_export_kvs_get(&kv, "aws.ecs.cluster.arn"),
                        "arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
    assert_string_equal(tycho_export_kvs_get(&kv, "aws.ecs.launchtype"), "ec2");
    assert_string_equal(tycho_export_kvs_get(&kv, "aws.log.group.arns"),
                        "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/g");
    assert_string_equal(tycho_export_kvs_get(&kv, "aws.log.stream.arns"),
                        "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/g:log-stream:s/1");
    assert_string_equal(tycho_export_kvs_get(&kv, "container.id"), "abc");
    tycho_export_kvs_free(&kv);

    /* FireLens: no awslogs attributes; garbage and missing documents add nothing */
    const char *fl = "{\"Name\":\"app\",\"LogDriver\":\"awsfirelens\",\"LogOptions\":{}}";
    n = tycho_ecs_resource_parse(fl, strlen(fl), NULL, 0, &kv);
    assert_true(n > 0);
    assert_null(tycho_export_kvs_get(&kv, "aws.log.group.names"));
    tycho_export_kvs_free(&kv);
    assert_int_equal(tycho_ecs_resource_parse("not json", 8, "[1]", 3, &kv), 0);
    assert_int_equal(kv.n, 0);
    assert_true(tycho_otlp_is_array_key("aws.log.group.names"));
    assert_false(tycho_otlp_is_array_key("aws.ecs.task.arn"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_configured),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_free_without_shutdown),
        cmocka_unit_test(test_ecs_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
