/* Unit tests of the exporters' configuration (exporters/export_config):
 * the OTLP endpoint rules, percent-decoded k=v lists, URLs, AWS host
 * recognition, and whole configurations read through a fake environment
 * (defaults, disabling, precedence, one-line errors). Durations and sizes:
 * test_units.c. */
#include "exporters/export_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* --- a fake environment: NULL-terminated name/value pairs ---------------- */

static const char *fake_env(const char *name, void *ud)
{
    const char *const *kv = ud;
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], name) == 0) return kv[i + 1];
    return NULL;
}

static char warned[512];
static void on_warn(const char *msg, void *ud)
{
    (void)ud;
    snprintf(warned, sizeof warned, "%s", msg);
}

static int load(tycho_export_config_t *c, const char *const *env, char *err, size_t n)
{
    warned[0] = 0;
    return tycho_export_config_load(c, fake_env, (void *)env, on_warn, err, n);
}

/* Expects a load error whose message starts with prefix. */
static void expect_error(const char *const *env, const char *prefix)
{
    tycho_export_config_t c;
    char err[512];
    int rc = load(&c, env, err, sizeof err);
    if (rc == 0) {
        tycho_export_config_free(&c);
        fail_msg("accepted; expected an error starting with \"%s\"", prefix);
    }
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    assert_null(strchr(err, '\n'));
}

/* A header value is a credential: no message about a bad one shows it. */
static void test_header_errors_hide_values(void **state)
{
    (void)state;
    const char *bad[] = {
        "authorization=Bearer%2sk-SECRET123", /* bad percent-encoding */
        "x=1,Bearer sk-SECRET123",            /* no '=' */
        "=sk-SECRET123",                      /* empty key */
        "x-key=sk-SECRET123%0A",              /* a control character */
    };
    const char *vars[] = {"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"};
    for (size_t v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", vars[v], bad[i],
                                 NULL};
            tycho_export_config_t c;
            char err[512];
            if (load(&c, env, err, sizeof err) == 0) {
                tycho_export_config_free(&c);
                fail_msg("%s=%s accepted", vars[v], bad[i]);
            }
            if (strstr(err, "SECRET"))
                fail_msg("%s=%s: the error shows it: %s", vars[v], bad[i], err);
            if (strncmp(err, vars[v], strlen(vars[v])) != 0) fail_msg("error \"%s\"", err);
        }
}

/* A URL in an error is shown as status shows it: no userinfo, no query. */
static void test_url_errors_hide_credentials(void **state)
{
    (void)state;
    static const char *const envs[][3] = {
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://collector:4317?api_key=TOPSECRET", NULL},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://u:TOPSECRET@collector:4317/", NULL},
        {"TYCHO_REMOTE_WRITE_URL", "htps://user:TOPSECRET@prom/api/v1/write", NULL},
        {"TYCHO_LOKI_URL", "http:/user:TOPSECRET@loki/push", NULL},
        {"TYCHO_LOKI_URL", "loki:3100/push?token=TOPSECRET", NULL},
    };
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        tycho_export_config_t c;
        char err[512];
        if (load(&c, envs[i], err, sizeof err) == 0) {
            tycho_export_config_free(&c);
            fail_msg("%s=%s accepted", envs[i][0], envs[i][1]);
        }
        if (strstr(err, "TOPSECRET")) fail_msg("the error shows the secret: %s", err);
        if (strncmp(err, envs[i][0], strlen(envs[i][0])) != 0) fail_msg("error \"%s\"", err);
    }
    const char *ecs[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318",
                         "ECS_CONTAINER_METADATA_URI_V4", "file://u:TOPSECRET@x/?k=TOPSECRET",
                         NULL};
    expect_error(
        ecs, "ECS_CONTAINER_METADATA_URI_V4: not an http:// or https:// URL: file://***@x/?...");
    const char *shown[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://collector:4317?api_key=TOPSECRET",
                           NULL};
    expect_error(shown, "OTEL_EXPORTER_OTLP_ENDPOINT: not an http:// or https:// URL: "
                        "grpc://collector:4317/v1/traces?...");
}

static void test_otlp_url(void **state)
{
    (void)state;
    struct {
        const char *generic, *specific, *want;
    } cases[] = {
        {"http://c:4318", NULL, "http://c:4318/v1/traces"},
        {"http://c:4318/", NULL, "http://c:4318/v1/traces"},
        {"http://c:4318/x/", NULL, "http://c:4318/x/v1/traces"},
        {"http://c:4318/x", NULL, "http://c:4318/x/v1/traces"},
        /* the path gets v1/traces, the query stays after it, a fragment goes */
        {"http://c:4318/otlp?api_key=abc", NULL, "http://c:4318/otlp/v1/traces?api_key=abc"},
        {"http://c:4318/otlp/?k=v#frag", NULL, "http://c:4318/otlp/v1/traces?k=v"},
        {"http://c:4318?k=v", NULL, "http://c:4318/v1/traces?k=v"},
        {"http://c:4318#frag", NULL, "http://c:4318/v1/traces"},
        {"grpc://c:4317?api_key=s", NULL, "grpc://c:4317/v1/traces?api_key=s"},
        {NULL, "http://c:4318?k=v", "http://c:4318/?k=v"},
        {NULL, "http://c:4318/t?k=v", "http://c:4318/t?k=v"},
        {"http://ignored:1", "http://c:4318/custom", "http://c:4318/custom"},
        {NULL, "http://c:4318/v1/traces/", "http://c:4318/v1/traces/"},
        {NULL, "http://c:4318", "http://c:4318/"},
        {NULL, "https://xray.us-east-1.amazonaws.com/v1/traces",
         "https://xray.us-east-1.amazonaws.com/v1/traces"},
        {"", "", NULL},
        {NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = tycho_export_otlp_traces_url(cases[i].generic, cases[i].specific);
        if (!cases[i].want) {
            assert_null(u);
            continue;
        }
        assert_non_null(u);
        assert_string_equal(u, cases[i].want);
        free(u);
    }
}

/* The same rule where another path is appended: the ECS task document. */
static void test_url_join(void **state)
{
    (void)state;
    struct {
        const char *base, *segment, *want;
    } cases[] = {
        {"http://169.254.170.2/v4/abc", "task", "http://169.254.170.2/v4/abc/task"},
        {"http://169.254.170.2/v4/abc/", "task", "http://169.254.170.2/v4/abc/task"},
        {"http://h:1/v4?x=1&y=2#f", "task", "http://h:1/v4/task?x=1&y=2"},
        {"http://u:p@h/a@b?q=/x", "task", "http://u:p@h/a@b/task?q=/x"},
        {"http://h", "", "http://h/"},
        {"http://h?q", "", "http://h/?q"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = tycho_export_url_join(cases[i].base, cases[i].segment);
        assert_non_null(u);
        if (strcmp(u, cases[i].want) != 0)
            fail_msg("%s: %s, want %s", cases[i].base, u, cases[i].want);
        free(u);
    }
}

static void test_kv_list(void **state)
{
    (void)state;
    tycho_export_kvs_t kv = {0};
    char err[200];
    assert_int_equal(
        tycho_export_parse_kv_list(" a = 1 ,b=x%20y%2Cz%3D, ,c=,a=2", &kv, err, sizeof err), 0);
    assert_int_equal(kv.n, 3);
    assert_string_equal(tycho_export_kvs_get(&kv, "a"), "2"); /* the last one wins */
    assert_string_equal(tycho_export_kvs_get(&kv, "b"), "x y,z=");
    assert_string_equal(tycho_export_kvs_get(&kv, "c"), "");
    tycho_export_kvs_free(&kv);

    assert_int_equal(tycho_export_parse_kv_list("k%41y=v+w", &kv, err, sizeof err), 0);
    assert_string_equal(tycho_export_kvs_get(&kv, "kAy"), "v+w"); /* '+' stays */
    tycho_export_kvs_free(&kv);

    /* "%00..." was a key cut to "" and accepted, "a=b%00c" a value cut to
     * "b" (tests/fuzz/corpus/export_config/kv_percent_nul) */
    const char *bad[] = {"novalue", "=v", "a=%zz", "a=%4", "a=b,c", "%00x=1", "a=b%00c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tycho_export_parse_kv_list(bad[i], &kv, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        tycho_export_kvs_free(&kv);
    }
}

static void test_target_url(void **state)
{
    (void)state;
    tycho_export_target_t t = {0};
    char err[200];
    assert_int_equal(
        tycho_export_target_set_url(&t,
                                    "https://user:pw@APS-Workspaces.us-west-2.amazonaws.com:443/"
                                    "workspaces/ws-1/api/v1/remote_write?a=1#frag",
                                    err, sizeof err),
        0);
    assert_string_equal(t.host,
                        "aps-workspaces.us-west-2.amazonaws.com"); /* default port dropped */
    assert_string_equal(t.path, "/workspaces/ws-1/api/v1/remote_write");
    assert_string_equal(t.query, "a=1");
    assert_string_equal(
        t.display,
        "https://APS-Workspaces.us-west-2.amazonaws.com:443/workspaces/ws-1/api/v1/remote_write");
    assert_null(strstr(t.display, "pw")); /* userinfo never shown */
    assert_null(strchr(t.url, '#'));

    assert_int_equal(tycho_export_target_set_url(&t, "http://127.0.0.1:9090", err, sizeof err), 0);
    assert_string_equal(t.host, "127.0.0.1:9090");
    assert_string_equal(t.path, "/");
    assert_null(t.query);
    assert_int_equal(
        tycho_export_target_set_url(&t, "http://[::1]:3100/loki/api/v1/push", err, sizeof err), 0);
    assert_string_equal(t.host, "[::1]:3100");
    assert_string_equal(t.path, "/loki/api/v1/push");

    const char *bad[] = {"ftp://x/",        "http://",      "http://:80/", "http://h:0/",
                         "http://h:99999/", "http://h:8a/", "http://a b/", "localhost:3100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tycho_export_target_set_url(&t, bad[i], err, sizeof err) != -1)
            fail_msg("accepted %s", bad[i]);
    free(t.url);
    free(t.display);
    free(t.host);
    free(t.path);
    free(t.query);
}

static void test_aws_host(void **state)
{
    (void)state;
    char svc[32], reg[64];
    assert_int_equal(tycho_export_aws_host("aps-workspaces.eu-west-1.amazonaws.com", svc,
                                           sizeof svc, reg, sizeof reg),
                     0);
    assert_string_equal(svc, "aps");
    assert_string_equal(reg, "eu-west-1");
    assert_int_equal(
        tycho_export_aws_host("xray.us-east-2.amazonaws.com:443", svc, sizeof svc, reg, sizeof reg),
        0);
    assert_string_equal(svc, "xray");
    assert_string_equal(reg, "us-east-2");
    assert_int_equal(tycho_export_aws_host("aps-workspaces.cn-north-1.amazonaws.com.cn", svc,
                                           sizeof svc, reg, sizeof reg),
                     0);
    assert_string_equal(reg, "cn-north-1");
    assert_int_equal(tycho_export_aws_host("localhost:9090", svc, sizeof svc, reg, sizeof reg), -1);
    assert_int_equal(tycho_export_aws_host("amazonaws.com", svc, sizeof svc, reg, sizeof reg), -1);
    /* an empty service label is no AWS endpoint (it gave service "" and the
     * region: tests/fuzz/corpus/export_config/aws_host_empty_service) */
    assert_int_equal(
        tycho_export_aws_host(".us-east-1.amazonaws.com", svc, sizeof svc, reg, sizeof reg), -1);
    assert_int_equal(tycho_export_aws_host("a.b.c.amazonaws.com", svc, sizeof svc, reg, sizeof reg),
                     -1);
}

static void test_nothing_configured(void **state)
{
    (void)state;
    const char *env[] = {"OTEL_SERVICE_NAME", "x", "TYCHO_LOKI_LABELS", "env=prod", NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_false(c.traces.enabled);
    assert_false(c.metrics.enabled);
    assert_false(c.logs.enabled);
    assert_int_equal(c.max_bytes, 64u << 20);
    tycho_export_config_free(&c);
}

static void test_traces_defaults_and_resource(void **state)
{
    (void)state;
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                         "http://collector:4318",
                         "OTEL_RESOURCE_ATTRIBUTES",
                         "service.name=from-attrs,deployment.environment=prod%20eu",
                         "OTEL_SERVICE_NAME",
                         "api",
                         "OTEL_EXPORTER_OTLP_HEADERS",
                         "a=1",
                         "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                         "b=2",
                         NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_true(c.traces.enabled);
    assert_string_equal(c.traces.target.url, "http://collector:4318/v1/traces");
    assert_int_equal(c.traces.target.timeout_ms, 10000);
    assert_int_equal(c.traces.schedule_delay_ms, 5000);
    assert_int_equal(c.traces.export_timeout_ms, 30000);
    assert_int_equal(c.traces.max_queue, 2048);
    assert_int_equal(c.traces.max_batch, 512);
    assert_string_equal(c.traces.target.sigv4_service, "");
    /* OTEL_SERVICE_NAME wins over the attribute; the signal-specific headers win */
    assert_string_equal(tycho_export_kvs_get(&c.resource, "service.name"), "api");
    assert_string_equal(tycho_export_kvs_get(&c.resource, "deployment.environment"), "prod eu");
    assert_string_equal(tycho_export_kvs_get(&c.resource, "service.version"), TYCHO_VERSION);
    assert_string_equal(tycho_export_kvs_get(&c.resource, "telemetry.sdk.name"), "tycho");
    assert_int_equal(c.traces.target.headers.n, 1);
    assert_string_equal(tycho_export_kvs_get(&c.traces.target.headers, "b"), "2");
    assert_null(c.traces.ecs_metadata_uri);
    assert_false(c.traces.gzip);
    tycho_export_config_free(&c);

    /* a bad OTEL_RESOURCE_ATTRIBUTES is discarded whole (spec), with a warning */
    const char *env2[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                          "http://c/t",
                          "OTEL_RESOURCE_ATTRIBUTES",
                          "a=1,b=%zz",
                          "OTEL_EXPORTER_OTLP_TIMEOUT",
                          "2500",
                          "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                          "1500",
                          "OTEL_BSP_SCHEDULE_DELAY",
                          "250",
                          "ECS_CONTAINER_METADATA_URI_V4",
                          "http://169.254.170.2/v4/abc",
                          NULL};
    assert_int_equal(load(&c, env2, err, sizeof err), 0);
    assert_null(tycho_export_kvs_get(&c.resource, "a"));
    assert_string_equal(tycho_export_kvs_get(&c.resource, "service.name"), "unknown_service:tycho");
    assert_non_null(strstr(warned, "OTEL_RESOURCE_ATTRIBUTES"));
    assert_string_equal(c.traces.target.url, "http://c/t");
    assert_int_equal(c.traces.target.timeout_ms, 1500);
    assert_int_equal(c.traces.schedule_delay_ms, 250);
    assert_string_equal(c.traces.ecs_metadata_uri, "http://169.254.170.2/v4/abc");
    tycho_export_config_free(&c);

    /* OTLP compression: none or gzip, the signal-specific variable first */
    const char *env3[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c",
                          "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", NULL};
    assert_int_equal(load(&c, env3, err, sizeof err), 0);
    assert_true(c.traces.gzip);
    tycho_export_config_free(&c);
    const char *env4[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                          "http://c",
                          "OTEL_EXPORTER_OTLP_COMPRESSION",
                          "gzip",
                          "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                          "none",
                          NULL};
    assert_int_equal(load(&c, env4, err, sizeof err), 0);
    assert_false(c.traces.gzip);
    tycho_export_config_free(&c);
}

static void test_traces_disabled(void **state)
{
    (void)state;
    const char *const envs[][7] = {
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER", "none", NULL},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_SDK_DISABLED", "True", NULL},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER", "otlp,none", NULL},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "", NULL},
    };
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        tycho_export_config_t c;
        char err[256];
        assert_int_equal(load(&c, envs[i], err, sizeof err), 0);
        assert_false(c.traces.enabled);
        tycho_export_config_free(&c);
    }
    /* "false" (or anything but true) does not disable */
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                         "http://c:4318",
                         "OTEL_SDK_DISABLED",
                         "false",
                         "OTEL_TRACES_EXPORTER",
                         "otlp",
                         NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_true(c.traces.enabled);
    tycho_export_config_free(&c);
}

/* OTEL_* enum values in any case (the spec); a value that is none of the
 * words in any case still stops tycho; TYCHO_* values stay exact. */
static void test_otel_enums_any_case(void **state)
{
    (void)state;
    const char *on[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                        "http://c:4318",
                        "OTEL_TRACES_EXPORTER",
                        "OTLP",
                        "OTEL_EXPORTER_OTLP_PROTOCOL",
                        "HTTP/Protobuf",
                        "OTEL_EXPORTER_OTLP_COMPRESSION",
                        "GZIP",
                        NULL};
    tycho_export_config_t c;
    char err[256];
    if (load(&c, on, err, sizeof err) != 0) fail_msg("refused: %s", err);
    assert_true(c.traces.enabled);
    assert_true(c.traces.gzip);
    tycho_export_config_free(&c);
    const char *none[] = {"None", "OTLP, NONE"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER",
                             none[i], NULL};
        if (load(&c, env, err, sizeof err) != 0) fail_msg("%s refused: %s", none[i], err);
        assert_false(c.traces.enabled);
        tycho_export_config_free(&c);
    }
    const char *off[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                         "http://c:4318",
                         "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                         "None",
                         "OTEL_EXPORTER_OTLP_COMPRESSION",
                         "gzip",
                         NULL};
    assert_int_equal(load(&c, off, err, sizeof err), 0);
    assert_false(c.traces.gzip);
    tycho_export_config_free(&c);

    const char *bad[][2] = {{"OTEL_TRACES_EXPORTER", "ZIPKIN"},
                            {"OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC"},
                            {"OTEL_EXPORTER_OTLP_COMPRESSION", "ZSTD"},
                            {"TYCHO_LOKI_FORMAT", "JSON"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                             "http://c:4318",
                             "TYCHO_LOKI_URL",
                             "http://l/push",
                             bad[i][0],
                             bad[i][1],
                             NULL};
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", bad[i][0]);
        expect_error(env, prefix);
    }
}

static void test_sigv4_inference(void **state)
{
    (void)state;
    const char *env[] = {
        "TYCHO_REMOTE_WRITE_URL",
        "https://aps-workspaces.eu-central-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "https://xray.us-east-1.amazonaws.com/v1/traces",
        "AWS_REGION",
        "ap-southeast-2",
        NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_string_equal(c.metrics.target.sigv4_service, "aps");
    assert_string_equal(c.metrics.target.sigv4_region, "eu-central-1"); /* the host wins */
    assert_string_equal(c.traces.target.sigv4_service, "xray");
    assert_string_equal(c.traces.target.sigv4_region, "us-east-1");
    tycho_export_config_free(&c);

    /* explicit service on a non-AWS host: region from AWS_REGION, then AWS_DEFAULT_REGION */
    const char *env2[] = {"TYCHO_REMOTE_WRITE_URL",
                          "http://127.0.0.1:9/w",
                          "TYCHO_REMOTE_WRITE_SIGV4_SERVICE",
                          "aps",
                          "AWS_DEFAULT_REGION",
                          "us-west-1",
                          NULL};
    assert_int_equal(load(&c, env2, err, sizeof err), 0);
    assert_string_equal(c.metrics.target.sigv4_service, "aps");
    assert_string_equal(c.metrics.target.sigv4_region, "us-west-1");
    tycho_export_config_free(&c);

    /* "none" turns signing off even on an AWS host */
    const char *env3[] = {"TYCHO_REMOTE_WRITE_URL",
                          "https://aps-workspaces.eu-central-1.amazonaws.com/x",
                          "TYCHO_REMOTE_WRITE_SIGV4_SERVICE", "none", NULL};
    assert_int_equal(load(&c, env3, err, sizeof err), 0);
    assert_string_equal(c.metrics.target.sigv4_service, "");
    tycho_export_config_free(&c);

    /* a collector in front of X-Ray is not signed unless asked */
    const char *env4[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", NULL};
    assert_int_equal(load(&c, env4, err, sizeof err), 0);
    assert_string_equal(c.traces.target.sigv4_service, "");
    tycho_export_config_free(&c);

    const char *env5[] = {"TYCHO_REMOTE_WRITE_URL", "http://127.0.0.1:9/w",
                          "TYCHO_REMOTE_WRITE_SIGV4_SERVICE", "aps", NULL};
    expect_error(env5,
                 "TYCHO_REMOTE_WRITE_SIGV4_SERVICE: SigV4 signing (service aps) needs a region");
}

/* A TYCHO_LOKI_LABELS of blanks and commas is no label, accepted; its empty
 * list was handed to qsort as (NULL, 0): UBSan's nonnull report in the
 * sanitizer build (tests/fuzz/corpus/export_config/loki_labels_blank). */
static void test_loki_labels_blank(void **state)
{
    (void)state;
    const char *env[] = {"TYCHO_LOKI_URL", "http://loki:3100", "TYCHO_LOKI_LABELS", " , ,", NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_true(c.logs.enabled);
    assert_int_equal(c.logs.labels.n, 0);
    tycho_export_config_free(&c);
}

static void test_metrics_and_logs(void **state)
{
    (void)state;
    const char *env[] = {"TYCHO_REMOTE_WRITE_URL",
                         "http://prom:9090/api/v1/write",
                         "TYCHO_REMOTE_WRITE_INTERVAL",
                         "30",
                         "TYCHO_REMOTE_WRITE_INSTANCE",
                         "i-1:8080",
                         "TYCHO_LOKI_URL",
                         "http://loki:3100/loki/api/v1/push",
                         "TYCHO_LOKI_LABELS",
                         "zone=b,app=tycho,env=prod",
                         "TYCHO_LOKI_TENANT",
                         "team-a",
                         "TYCHO_LOKI_FORMAT",
                         "json",
                         "TYCHO_LOKI_FLUSH_INTERVAL",
                         "250ms",
                         "TYCHO_LOKI_STRUCTURED_METADATA",
                         "off",
                         "TYCHO_TELEMETRY_MAX_BYTES",
                         "8MiB",
                         "TYCHO_EXPORT_MAX_RETRIES",
                         "3",
                         NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_true(c.metrics.enabled);
    assert_int_equal(c.metrics.interval_ms, 30000);
    assert_string_equal(c.metrics.job, "tycho");
    assert_string_equal(c.metrics.instance, "i-1:8080");
    assert_int_equal(c.metrics.target.timeout_ms, 30000);
    assert_true(c.logs.enabled);
    assert_true(c.logs.json);
    assert_false(c.logs.structured_metadata);
    assert_int_equal(c.logs.flush_interval_ms, 250);
    assert_int_equal(c.logs.labels.n, 3); /* sorted by name */
    assert_string_equal(c.logs.labels.items[0].key, "app");
    assert_string_equal(c.logs.labels.items[1].key, "env");
    assert_string_equal(c.logs.labels.items[2].key, "zone");
    assert_string_equal(tycho_export_kvs_get(&c.logs.target.headers, "X-Scope-OrgID"), "team-a");
    assert_int_equal(c.max_bytes, 8u << 20);
    assert_int_equal(c.retry.max_retries, 3);
    tycho_export_config_free(&c);

    const char *env_default[] = {"TYCHO_LOKI_URL", "http://l/push", NULL};
    assert_int_equal(load(&c, env_default, err, sizeof err), 0);
    assert_true(c.logs.structured_metadata); /* the default */
    assert_false(c.logs.json);
    tycho_export_config_free(&c);

    /* the default instance: hostname and the port of TYCHO_LISTEN */
    const char *env2[] = {"TYCHO_REMOTE_WRITE_URL", "http://prom:9090/api/v1/write", "TYCHO_LISTEN",
                          "0.0.0.0:8181", NULL};
    assert_int_equal(load(&c, env2, err, sizeof err), 0);
    size_t n = strlen(c.metrics.instance);
    assert_true(n > 5 && strcmp(c.metrics.instance + n - 5, ":8181") == 0);
    assert_int_equal(c.metrics.interval_ms, 15000);
    tycho_export_config_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
#define BAD(var, val, prefix)                                                                      \
    do {                                                                                           \
        const char *env_[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",                                       \
                              "http://c:4318",                                                     \
                              "TYCHO_REMOTE_WRITE_URL",                                            \
                              "http://p/w",                                                        \
                              "TYCHO_LOKI_URL",                                                    \
                              "http://l/push",                                                     \
                              var,                                                                 \
                              val,                                                                 \
                              NULL};                                                               \
        expect_error(env_, prefix);                                                                \
    } while (0)
    BAD("OTEL_BSP_MAX_QUEUE_SIZE", "0", "OTEL_BSP_MAX_QUEUE_SIZE: ");
    BAD("OTEL_BSP_MAX_QUEUE_SIZE", "12k", "OTEL_BSP_MAX_QUEUE_SIZE: ");
    BAD("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "3000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ");
    BAD("OTEL_BSP_SCHEDULE_DELAY", "soon", "OTEL_BSP_SCHEDULE_DELAY: ");
    BAD("OTEL_BSP_EXPORT_TIMEOUT", "0", "OTEL_BSP_EXPORT_TIMEOUT: ");
    /* numbers are decimal: strtod read these as 16 ms, 1000 ms and 16 s */
    BAD("OTEL_BSP_SCHEDULE_DELAY", "0x10",
        "OTEL_BSP_SCHEDULE_DELAY: not a duration between 1 ms and 3600000 ms: 0x10 (decimal "
        "milliseconds, or with a unit: 500ms, 2s)");
    BAD("OTEL_EXPORTER_OTLP_TIMEOUT", "1e3", "OTEL_EXPORTER_OTLP_TIMEOUT: ");
    BAD("TYCHO_LOKI_FLUSH_INTERVAL", "0x10", "TYCHO_LOKI_FLUSH_INTERVAL: ");
    BAD("TYCHO_EXPORT_BACKOFF_MAX", "inf", "TYCHO_EXPORT_BACKOFF_MAX: ");
    BAD("OTEL_BSP_MAX_QUEUE_SIZE", "0x10",
        "OTEL_BSP_MAX_QUEUE_SIZE: not an integer between 1 and 1000000: 0x10 (decimal digits)");
    BAD("OTEL_EXPORTER_OTLP_TIMEOUT", "0", "OTEL_EXPORTER_OTLP_TIMEOUT: ");
    BAD("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL: ");
    BAD("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ");
    BAD("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "OTEL_EXPORTER_OTLP_COMPRESSION: none or gzip");
    BAD("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP9",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: ");
    BAD("TYCHO_LOKI_STRUCTURED_METADATA", "yes", "TYCHO_LOKI_STRUCTURED_METADATA: off or on");
    BAD("OTEL_EXPORTER_OTLP_HEADERS", "a", "OTEL_EXPORTER_OTLP_HEADERS: entry 1 has no '='");
    BAD("OTEL_EXPORTER_OTLP_HEADERS", "bad name=x",
        "OTEL_EXPORTER_OTLP_HEADERS: not a header name");
    BAD("OTEL_EXPORTER_OTLP_HEADERS", "a=x%0D%0AInjected: 1",
        "OTEL_EXPORTER_OTLP_HEADERS: control");
    BAD("OTEL_EXPORTER_OTLP_HEADERS", "Content-Type=text/plain", "OTEL_EXPORTER_OTLP_HEADERS: ");
    BAD("OTEL_TRACES_EXPORTER", "jaeger", "OTEL_TRACES_EXPORTER: ");
    BAD("TYCHO_OTLP_SIGV4_SERVICE", "X Ray", "TYCHO_OTLP_SIGV4_SERVICE: ");
    BAD("ECS_CONTAINER_METADATA_URI_V4", "file:///etc/passwd", "ECS_CONTAINER_METADATA_URI_V4: ");
    BAD("TYCHO_REMOTE_WRITE_INTERVAL", "0", "TYCHO_REMOTE_WRITE_INTERVAL: ");
    BAD("TYCHO_REMOTE_WRITE_INTERVAL", "fast", "TYCHO_REMOTE_WRITE_INTERVAL: ");
    BAD("TYCHO_REMOTE_WRITE_TIMEOUT", "-1", "TYCHO_REMOTE_WRITE_TIMEOUT: ");
    BAD("TYCHO_LOKI_LABELS", "service=x", "TYCHO_LOKI_LABELS: ");
    BAD("TYCHO_LOKI_LABELS", "__x=1", "TYCHO_LOKI_LABELS: not a label name");
    BAD("TYCHO_LOKI_LABELS", "a=", "TYCHO_LOKI_LABELS: empty value");
    BAD("TYCHO_LOKI_LABELS", "a-b=1", "TYCHO_LOKI_LABELS: not a label name");
    BAD("TYCHO_LOKI_FORMAT", "otlp", "TYCHO_LOKI_FORMAT: ");
    BAD("TYCHO_LOKI_BATCH_BYTES", "10", "TYCHO_LOKI_BATCH_BYTES: ");
    BAD("TYCHO_LOKI_MAX_QUEUE", "0", "TYCHO_LOKI_MAX_QUEUE: ");
    BAD("TYCHO_LOKI_TENANT", "a\nb", "TYCHO_LOKI_TENANT: ");
    BAD("TYCHO_TELEMETRY_MAX_BYTES", "1k", "TYCHO_TELEMETRY_MAX_BYTES: ");
    BAD("TYCHO_TELEMETRY_MAX_BYTES", "lots", "TYCHO_TELEMETRY_MAX_BYTES: ");
    BAD("TYCHO_EXPORT_MAX_RETRIES", "-2", "TYCHO_EXPORT_MAX_RETRIES: ");
    BAD("TYCHO_EXPORT_BACKOFF_MIN", "1h1", "TYCHO_EXPORT_BACKOFF_MIN: ");
    BAD("TYCHO_EXPORT_BACKOFF_MAX", "1ms", "TYCHO_EXPORT_BACKOFF_MAX: ");
#undef BAD
    const char *e0[] = {"TYCHO_REMOTE_WRITE_URL",
                        "http://p/w",
                        "TYCHO_REMOTE_WRITE_SIGV4_SERVICE",
                        "aps",
                        "TYCHO_REMOTE_WRITE_SIGV4_REGION",
                        "Not A Region",
                        NULL};
    expect_error(e0, "TYCHO_REMOTE_WRITE_SIGV4_REGION: not a region name");
    const char *e1[] = {"TYCHO_REMOTE_WRITE_URL", "prom:9090", NULL};
    expect_error(e1, "TYCHO_REMOTE_WRITE_URL: not an http");
    const char *e2[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:99999/x", NULL};
    expect_error(e2, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: bad port");
    const char *e3[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                        "https://xray.us-east-1.amazonaws.com/v1/traces",
                        "OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20x", NULL};
    expect_error(e3, "OTEL_EXPORTER_OTLP_HEADERS: Authorization conflicts with SigV4");
}

/* One service name for every signal: the config's (log lines, Loki
 * streams) is the resource's service.name, configured or not. */
static void test_service_name(void **state)
{
    (void)state;
    static const struct {
        const char *env[5];
        const char *want;
    } cases[] = {
        {{NULL}, "unknown_service:tycho"},
        {{"OTEL_SERVICE_NAME", "checkout", NULL}, "checkout"},
        {{"OTEL_RESOURCE_ATTRIBUTES", "team=a,service.name=pay%20ments", NULL}, "pay ments"},
        {{"OTEL_SERVICE_NAME", "checkout", "OTEL_RESOURCE_ATTRIBUTES", "service.name=x", NULL},
         "checkout"},
        {{"OTEL_RESOURCE_ATTRIBUTES", "service.name=%zz", NULL},
         "unknown_service:tycho"}, /* not decoded */
        {{"OTEL_SERVICE_NAME", "", "OTEL_RESOURCE_ATTRIBUTES", "team=a", NULL},
         "unknown_service:tycho"},
        {{"OTEL_RESOURCE_ATTRIBUTES", "service.name=,env=x", NULL},
         "unknown_service:tycho"}, /* empty: unset */
        {{"OTEL_SERVICE_NAME", "", "OTEL_RESOURCE_ATTRIBUTES", "service.name=b", NULL}, "b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tycho_export_config_t c;
        char err[256];
        assert_int_equal(load(&c, cases[i].env, err, sizeof err), 0);
        if (strcmp(c.service, cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, c.service, cases[i].want);
        assert_string_equal(tycho_export_kvs_get(&c.resource, "service.name"), cases[i].want);
        tycho_export_config_free(&c);
    }
    /* with every exporter on, the same */
    const char *env[] = {"TYCHO_LOKI_URL",
                         "http://127.0.0.1:3100/loki/api/v1/push",
                         "OTEL_EXPORTER_OTLP_ENDPOINT",
                         "http://127.0.0.1:4318",
                         "OTEL_RESOURCE_ATTRIBUTES",
                         "service.name=pay%20ments,env=x",
                         NULL};
    tycho_export_config_t c;
    char err[256];
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_string_equal(c.service, "pay ments");
    assert_string_equal(tycho_export_kvs_get(&c.resource, "service.name"), "pay ments");
    assert_string_equal(tycho_export_kvs_get(&c.resource, "env"), "x");
    tycho_export_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otlp_url),
        cmocka_unit_test(test_url_join),
        cmocka_unit_test(test_kv_list),
        cmocka_unit_test(test_target_url),
        cmocka_unit_test(test_aws_host),
        cmocka_unit_test(test_nothing_configured),
        cmocka_unit_test(test_traces_defaults_and_resource),
        cmocka_unit_test(test_traces_disabled),
        cmocka_unit_test(test_otel_enums_any_case),
        cmocka_unit_test(test_sigv4_inference),
        cmocka_unit_test(test_loki_labels_blank),
        cmocka_unit_test(test_metrics_and_logs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_header_errors_hide_values),
        cmocka_unit_test(test_url_errors_hide_credentials),
        cmocka_unit_test(test_service_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
