/* Unit tests of how tycho_log_write writes fields (server/core/log.c): a
 * field named like a member tycho writes itself is renamed, never repeated;
 * numbers are exact and NaN or infinities stay JSON; NUL bytes are escaped,
 * not cut at; a line over TYCHO_LOG_MAX_LINE is written with its strings cut
 * to fit, and the meta still describes it. */
#include "tests/lib/log_capture.h"

#include <math.h>
#include <stdio.h>

static const tycho_log_context_t CTX = {"0d90d3b3efbe4f856c5bc7fd9c104b21",
                                        "6b079da6e386930b385d0f6cdeda9922", "eaa34964029869fc", 0};

static int setup(void **state)
{
    (void)state;
    tycho_log_set_sink(&capture_sink);
    tycho_log_set_level(TYCHO_LOG_DEBUG);
    tycho_log_set_service("tycho");
    tycho_log_set_context(&CTX);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tycho_log_set_sink(NULL);
    tycho_log_set_level(TYCHO_LOG_INFO);
    tycho_log_set_context(NULL);
    log_capture_free();
    return 0;
}

/* How many members named key the line has. */
static int members(const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%.60s\":", key);
    int n = 0;
    for (const char *p = got.line; (p = strstr(p, pat)); p++)
        n++;
    return n;
}

static void assert_has(const char *text)
{
    if (!strstr(got.line, text)) fail_msg("want %s in %s", text, got.line);
}

static const char *const RESERVED[] = {"time",    "level",      "msg",
                                       "service", "request_id", "trace_id",
                                       "span_id", "route",      "fields_dropped"};
#define NRESERVED (sizeof RESERVED / sizeof RESERVED[0])

/* Fields with run-time keys (tycho.log's) named like tycho's own members
 * are renamed: every key once, the ids the context's. */
static void test_reserved_keys_renamed(void **state)
{
    (void)state;
    tycho_log_field_t f[NRESERVED + 2];
    f[0] = LF_STR("route", "/real"); /* as tycho.log writes them first */
    f[1] = LF_INT("fields_dropped", 1);
    for (size_t i = 0; i < NRESERVED; i++)
        f[i + 2] = tycho_lf_named(LF_STR("", "forged"), RESERVED[i], (uint32_t)strlen(RESERVED[i]));
    tycho_log_write(TYCHO_LOG_INFO, "real", f, NRESERVED + 2);
    for (size_t i = 0; i < NRESERVED; i++) {
        char renamed[64];
        snprintf(renamed, sizeof renamed, "field.%s", RESERVED[i]);
        if (members(RESERVED[i]) != 1 || members(renamed) != 1)
            fail_msg("%s: once, and once renamed, in %s", RESERVED[i], got.line);
    }
    assert_has("\"level\":\"info\",\"msg\":\"real\",\"service\":\"tycho\"");
    assert_has("\"route\":\"/real\"");
    assert_has("\"field.trace_id\":\"forged\"");
    check_key(TYCHO_LOG_KEY_SERVICE, "tycho", 1);
    check_key(TYCHO_LOG_KEY_TRACE_ID, CTX.trace_id, 1);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, CTX.request_id, 1);
    check_key(TYCHO_LOG_KEY_SPAN_ID, CTX.span_id, 1);
    check_entry();

    /* a key that only starts like one is no namesake */
    tycho_log_field_t g[] = {tycho_lf_named(LF_STR("", "a"), "times", 5),
                             tycho_lf_named(LF_STR("", "b"), "rout", 4)};
    tycho_log_write(TYCHO_LOG_INFO, "m", g, 2);
    assert_has(",\"times\":\"a\",\"rout\":\"b\"}");
}

/* A caller's own "field.level" beside its "level": the renamed one takes
 * one more prefix, so that no key appears twice (a JSON reader would keep
 * one of the two values). */
static void test_renamed_key_taken_too(void **state)
{
    (void)state;
    tycho_log_field_t f[] = {tycho_lf_named(LF_STR("", "a"), "field.level", 11),
                             tycho_lf_named(LF_STR("", "b"), "level", 5),
                             tycho_lf_named(LF_STR("", "c"), "field.field.time", 16),
                             tycho_lf_named(LF_STR("", "d"), "time", 4),
                             tycho_lf_named(LF_STR("", "e"), "field.time", 10)};
    tycho_log_write(TYCHO_LOG_INFO, "m", f, 5);
    assert_has(",\"field.level\":\"a\",\"field.field.level\":\"b\",");
    assert_has(",\"field.field.time\":\"c\",\"field.field.field.time\":\"d\",");
    assert_has(",\"field.time\":\"e\"}");
    const char *keys[] = {"level",      "field.level",      "field.field.level",     "time",
                          "field.time", "field.field.time", "field.field.field.time"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (members(keys[i]) != 1) fail_msg("%s: want once in %s", keys[i], got.line);
    check_entry();
}

/* Without a context, the first field named like an id gives it (from a
 * literal or a run-time key); a later run-time namesake is renamed. */
static void test_ids_from_fields(void **state)
{
    (void)state;
    tycho_log_set_context(NULL);
    tycho_log_field_t f[] = {tycho_lf_named(LF_STR("", "t"), "trace_id", 8),
                             tycho_lf_named(LF_STR("", "u"), "trace_id", 8),
                             LF_STR("request_id", "r"),
                             tycho_lf_named(LF_STR("", "x"), "request_id", 10)};
    tycho_log_write(TYCHO_LOG_INFO, "m", f, 4);
    assert_has(",\"trace_id\":\"t\",\"field.trace_id\":\"u\",\"request_id\":\"r\","
               "\"field.request_id\":\"x\"}");
    check_key(TYCHO_LOG_KEY_TRACE_ID, "t", 1);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, "r", 1);
    check_entry();
}

/* Doubles in their shortest exact form; NaN and infinities as strings. */
static void test_numbers(void **state)
{
    (void)state;
    tycho_log_info("n", LF_DBL("max_safe", 9007199254740991.0), LF_DBL("sum", 0.1 + 0.2),
                   LF_DBL("tenth", 0.1), LF_DBL("big", 1e21),
                   LF_DBL("two63", 9223372036854775808.0), LF_DBL("tiny", 1e-300),
                   LF_DBL("half", -2.5), LF_DBL("int", 30), LF_INT("i", -9007199254740993LL));
    assert_has(",\"max_safe\":9007199254740991,\"sum\":0.30000000000000004,\"tenth\":0.1,"
               "\"big\":1e+21,\"two63\":9.223372036854776e+18,"
               "\"tiny\":1e-300,\"half\":-2.5,\"int\":30,\"i\":-9007199254740993}");
    tycho_log_info("n", LF_DBL("nan", NAN), LF_DBL("inf", INFINITY), LF_DBL("ninf", -INFINITY));
    assert_has(",\"nan\":\"NaN\",\"inf\":\"Infinity\",\"ninf\":\"-Infinity\"}");
}

/* NUL bytes in msg, keys and values are escaped, not where they end. */
static void test_nul_bytes(void **state)
{
    (void)state;
    tycho_log_field_t f[] = {tycho_lf_named(LF_STRN("", "v\0w", 3), "k\0ey", 4)};
    tycho_log_writen(TYCHO_LOG_INFO, "before\0after", 12, f, 1);
    assert_has("\"msg\":\"before\\u0000after\"");
    assert_has(",\"k\\u0000ey\":\"v\\u0000w\"}");
    /* "time\0" is not "time" */
    tycho_log_field_t t[] = {tycho_lf_named(LF_INT("", 1), "time\0", 5)};
    tycho_log_writen(TYCHO_LOG_INFO, "m", 1, t, 1);
    assert_has(",\"time\\u0000\":1}");
}

/* A line over TYCHO_LOG_MAX_LINE: strings cut, marked, the line whole. */
static void test_too_large_cut(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = 0;
    tycho_log_error("handler error", LF_STR("route", "/r"), LF_STRN("error", big, n),
                    LF_STRN("traceback", big, n), LF_INT("after", 1));
    assert_true(got.len <= TYCHO_LOG_MAX_LINE);
    assert_int_equal(got.line[got.len - 1], '\n');
    assert_has("\"msg\":\"handler error\"");
    assert_has("\"route\":\"/r\"");
    assert_has("\xe2\x80\xa6(truncated, 100000 bytes)\",\"traceback\":\"xxx");
    assert_has("\xe2\x80\xa6(truncated, 100000 bytes)\",\"after\":1}\n");
    assert_true(got.len > TYCHO_LOG_MAX_LINE / 4); /* cut, not emptied */
    check_key(TYCHO_LOG_KEY_TRACE_ID, CTX.trace_id, 1);
    check_entry();

    /* msg and raw JSON (as a string then) are cut too */
    big[0] = '"', big[n - 1] = '"';
    tycho_log_field_t f[] = {LF_JSON("json", big), tycho_lf_named(LF_INT("", 1), big + 1, 1000)};
    tycho_log_write(TYCHO_LOG_INFO, big + 1, f, 2);
    assert_true(got.len <= TYCHO_LOG_MAX_LINE);
    assert_has("\"msg\":\"xxx");
    assert_has("\xe2\x80\xa6(truncated, 99999 bytes)\",\"service\":\"tycho\",\"request_id\"");
    assert_has(",\"json\":\"\\\"xxx");
    assert_has("\xe2\x80\xa6(truncated, 100000 bytes)\",");
    check_entry();

    /* a cut falls between characters, not inside one: no U+FFFD */
    for (size_t i = 0; i + 2 <= n; i += 2)
        big[i] = (char)0xC3, big[i + 1] = (char)0xA9; /* é */
    tycho_log_info("m", LF_STRN("s", big + 1, n - 2), LF_STRN("t", big, n - 2));
    assert_true(got.len <= TYCHO_LOG_MAX_LINE);
    assert_null(strstr(got.line, "\xef\xbf\xbd\xe2\x80\xa6")); /* none before a marker */
    assert_has("\xc3\xa9\xe2\x80\xa6(truncated, 99998 bytes)");

    /* a line that fits is left whole */
    memset(big, 'y', n);
    tycho_log_info("m", LF_STRN("s", big, TYCHO_LOG_MAX_LINE - 300));
    assert_true(got.len > TYCHO_LOG_MAX_LINE - 300);
    assert_null(strstr(got.line, "truncated"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserved_keys_renamed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_key_taken_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_from_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_cut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
