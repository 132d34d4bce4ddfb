/* Unit tests of what tycho_log_write tells its sink about each line
 * (tycho_log_meta_t, server/core/log.c): the time and level it wrote, where
 * the service and id values are in the line and whether their text is the
 * value itself; and that the Loki entry built from it
 * (tycho_loki_entry_from_log) is the one the general scan builds. */
#include "tests/lib/log_capture.h"

static int setup(void **state)
{
    (void)state;
    tycho_log_set_sink(&capture_sink);
    tycho_log_set_level(TYCHO_LOG_DEBUG);
    tycho_log_set_service("tycho");
    tycho_log_set_context(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tycho_log_set_sink(NULL);
    tycho_log_set_level(TYCHO_LOG_INFO);
    tycho_log_set_service("tycho");
    tycho_log_set_context(NULL);
    log_capture_free();
    return 0;
}

/* An allocator over its budget (the exporters' byte cap): nothing. */
static void *none(void *ud, size_t n)
{
    *(size_t *)ud = n;
    return NULL;
}

static void test_logger_line(void **state)
{
    (void)state;
    tycho_log_context_t ctx = {"0d90d3b3efbe4f856c5bc7fd9c104b21",
                               "6b079da6e386930b385d0f6cdeda9922", "eaa34964029869fc", 0};
    tycho_log_set_context(&ctx);
    tycho_log_info("hello", LF_STR("route", "/hello"), LF_STR("q", "1"));
    int64_t ns;
    assert_int_equal(tycho_loki_parse_time(got.line + 9, 30, &ns), 0); /* {"time":"... */
    assert_true(ns == got.meta.ts_ns);
    assert_int_equal(got.meta.level, TYCHO_LOG_INFO);
    check_key(TYCHO_LOG_KEY_SERVICE, "tycho", 1);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, ctx.request_id, 1);
    check_key(TYCHO_LOG_KEY_TRACE_ID, ctx.trace_id, 1);
    check_key(TYCHO_LOG_KEY_SPAN_ID, ctx.span_id, 1);
    check_entry();
    /* values written as they are are not copied: the entry's line holds them */
    tycho_loki_entry_t *en = tycho_loki_entry_from_log(got.line, got.len, &got.meta, heap, NULL);
    assert_ptr_equal(en->trace_id, en->line + got.meta.at[TYCHO_LOG_KEY_TRACE_ID].off);
    assert_int_equal(en->mem, sizeof *en + got.len); /* the line (newline out, NUL in) */
    free(en);
    /* the memory asked for is what the entry says it holds; refused: no entry */
    size_t asked = 0;
    assert_null(tycho_loki_entry_from_log(got.line, got.len, &got.meta, none, &asked));
    assert_int_equal(asked, sizeof *en + got.len);
}

/* Ids the context says are plain are copied without the escaper: the same
 * line (but for its time) and the same meta as when they are scanned. */
static void test_plain_ids(void **state)
{
    (void)state;
    tycho_log_context_t ctx = {"0d90d3b3efbe4f856c5bc7fd9c104b21",
                               "6b079da6e386930b385d0f6cdeda9922", "eaa34964029869fc", 0};
    const size_t after_time = strlen("{\"time\":\"2026-11-25T16:22:32.123456789Z\"");
    tycho_log_set_context(&ctx);
    tycho_log_info("hello", LF_STR("route", "/hello"));
    char scanned[4096];
    assert_true(got.len < sizeof scanned);
    memcpy(scanned, got.line, got.len + 1);
    size_t scanned_len = got.len;
    tycho_log_meta_t scanned_meta = got.meta;
    ctx.plain = TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_REQUEST_ID) |
                TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_TRACE_ID) | TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_SPAN_ID);
    tycho_log_info("hello", LF_STR("route", "/hello"));
    assert_int_equal(got.len, scanned_len);
    assert_string_equal(got.line + after_time, scanned + after_time);
    assert_true(got.has_meta);
    assert_int_equal(got.meta.escaped, scanned_meta.escaped);
    assert_memory_equal(got.meta.at, scanned_meta.at, sizeof got.meta.at);
    check_key(TYCHO_LOG_KEY_TRACE_ID, ctx.trace_id, 1);
    check_key(TYCHO_LOG_KEY_SPAN_ID, ctx.span_id, 1);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, ctx.request_id, 1);
    check_entry();
}

/* Escapes before the values move them; escapes in them are flagged. */
static void test_escapes(void **state)
{
    (void)state;
    tycho_log_set_service("svc \"q\"");
    tycho_log_context_t ctx = {"r\x01", "t\xff", "s/1", 0}; /* a control byte, invalid UTF-8 */
    tycho_log_set_context(&ctx);
    tycho_log_warn("a \"quoted\"\n\tmsg \\ \xe2\x82", LF_STR("k\"", "v\n"));
    assert_int_equal(got.meta.level, TYCHO_LOG_WARN);
    check_key(TYCHO_LOG_KEY_SERVICE, "svc \\\"q\\\"", 0);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, "r\\u0001", 0);
    check_key(TYCHO_LOG_KEY_TRACE_ID, "t\xef\xbf\xbd", 0); /* U+FFFD, no backslash */
    check_key(TYCHO_LOG_KEY_SPAN_ID, "s/1", 1);
    check_entry();
}

/* Without a context the first string member of an id's name is it, as the
 * general scan takes it; other values are skipped, as there. */
static void test_no_context(void **state)
{
    (void)state;
    tycho_log_set_service("api");
    tycho_log_error("m", LF_INT("trace_id", 7), LF_STR("span_id", NULL), LF_STR("x", "y"),
                    LF_STR("trace_id", "late"), LF_STR("trace_id", "later"),
                    LF_BOOL("request_id", 1));
    assert_int_equal(got.meta.level, TYCHO_LOG_ERROR);
    check_key(TYCHO_LOG_KEY_SERVICE, "api", 1);
    check_key(TYCHO_LOG_KEY_TRACE_ID, "late", 1);
    check_key(TYCHO_LOG_KEY_SPAN_ID, NULL, 0);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, NULL, 0);
    check_entry();

    /* empty context ids are not written: a field may give them */
    tycho_log_context_t ctx = {"", "t", NULL, 0};
    tycho_log_set_context(&ctx);
    tycho_log_debug("m", LF_STR("request_id", "r"), LF_STR("span_id", ""));
    assert_int_equal(got.meta.level, TYCHO_LOG_DEBUG);
    check_key(TYCHO_LOG_KEY_REQUEST_ID, "r", 1);
    check_key(TYCHO_LOG_KEY_TRACE_ID, "t", 1);
    check_key(TYCHO_LOG_KEY_SPAN_ID, "", 1); /* found, empty: no id (and no later one) */
    check_entry();
}

/* Lines the meta cannot vouch for, or whose values the general scan would
 * pass over, still give the general scan's entry. */
static void test_odd_lines(void **state)
{
    (void)state;
    /* raw JSON named like a missing id: no meta */
    tycho_log_info("m", LF_JSON("trace_id", "\"t\""));
    assert_false(got.has_meta);
    /* raw JSON after the id was given is only a field */
    tycho_log_info("m", LF_STR("trace_id", "t"), LF_JSON("trace_id", "\"u\""));
    check_key(TYCHO_LOG_KEY_TRACE_ID, "t", 1);
    check_entry();
    /* too long to be an id: a later member is, as the general scan takes it */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tycho_log_info("m", LF_STR("trace_id", big), LF_STR("trace_id", "t2"));
    check_key(TYCHO_LOG_KEY_TRACE_ID, "t2", 1);
    check_entry();
    big[TYCHO_LOG_META_MAX_TEXT] = 0; /* the longest that is */
    tycho_log_info("m", LF_STR("trace_id", big), LF_STR("trace_id", "t2"));
    check_key(TYCHO_LOG_KEY_TRACE_ID, big, 1);
    check_entry();
    /* a context id too long: the same */
    big[TYCHO_LOG_META_MAX_TEXT] = 'x';
    tycho_log_context_t ctx = {big, NULL, NULL, 0};
    tycho_log_set_context(&ctx);
    tycho_log_info("m", LF_STR("request_id", "r2"));
    check_key(TYCHO_LOG_KEY_REQUEST_ID, "r2", 1);
    check_entry();
    tycho_log_set_context(NULL);
    /* long, but a field: not an id (over 128 bytes) */
    big[200] = 0;
    tycho_log_info("m", LF_STR("span_id", big));
    check_entry();
}

/* Push bodies (protobuf and JSON) of entries from metas are byte for byte
 * those of the general scan's entries. */
static void test_same_bodies(void **state)
{
    (void)state;
    enum { N = 6 };
    char lines[N][4096];
    size_t lens[N];
    tycho_log_meta_t metas[N];
    tycho_log_context_t ctx = {"r1", "t1", "s1", 0};
    for (int i = 0; i < N; i++) {
        tycho_log_set_context(i % 2 ? &ctx : NULL);
        tycho_log_set_service(i % 3 ? "tycho" : "other \"svc\"");
        tycho_log_write((tycho_log_level_t)(i % 4), "msg \"x\"",
                        (tycho_log_field_t[]){LF_INT("i", i)}, 1);
        assert_true(got.has_meta);
        memcpy(lines[i], got.line, got.len + 1);
        lens[i] = got.len;
        metas[i] = got.meta;
    }
    tycho_loki_entry_t *a[N], *b[N];
    for (int i = 0; i < N; i++) {
        a[i] = tycho_loki_entry_new(lines[i], lens[i], TYCHO_LOKI_LINE_UTF8);
        b[i] = tycho_loki_entry_from_log(lines[i], lens[i], &metas[i], heap, NULL);
    }
    for (int json = 0; json <= 1; json++) {
        tycho_loki_options_t o = {NULL, "tycho", json, NULL, 0};
        tycho_buf_t x = TYCHO_BUF_INIT, y = TYCHO_BUF_INIT;
        assert_int_equal(tycho_loki_encode(a, N, &o, &x), 0);
        assert_int_equal(tycho_loki_encode(b, N, &o, &y), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        tycho_buf_free(&x);
        tycho_buf_free(&y);
    }
    for (int i = 0; i < N; i++) {
        free(a[i]);
        free(b[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logger_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_bodies, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
