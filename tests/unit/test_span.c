/* span model: attributes, limits, events, links, status, JSON encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/span.h"
#include "telemetry/trace_context.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t TID[16] = {0x57, 0x59, 0xe9, 0x88, 0xbd, 0x86, 0x2e, 0x3f,
                                0xe1, 0xbe, 0x46, 0xa9, 0x94, 0x27, 0x27, 0x93};
static const uint8_t SID[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};
static const uint8_t PID[8] = {0, 0, 0, 0, 0, 0, 0, 1};

static cJSON *encode(const tycho_span_t *s)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_span_to_json(s, &b), 0);
    assert_true(b.len > 2);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_null(memchr(b.data, '\n', b.len - 1)); /* exactly one line */
    cJSON *j = cJSON_Parse(b.data);
    if (!j) fail_msg("not JSON: %s", b.data);
    tycho_buf_free(&b);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_server_span_json(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("GET /users/:id", TYCHO_SPAN_KIND_SERVER, NULL);
    assert_non_null(s);
    tycho_span_set_ids(s, TID, SID, PID, 1, TYCHO_TRACE_FLAG_SAMPLED);
    tycho_span_set_trace_state(s, "congo=t61rcWkgMzE");
    s->start_ns = 1700000000000000000ull;
    assert_int_equal(tycho_span_set_attr(s, "http.request.method", TYCHO_AV_STR("GET")), 0);
    assert_int_equal(tycho_span_set_attr(s, "http.response.status_code", TYCHO_AV_INT(500)), 0);
    assert_int_equal(tycho_span_set_attr(s, "ratio", TYCHO_AV_DBL(0.25)), 0);
    assert_int_equal(tycho_span_set_attr(s, "nan", TYCHO_AV_DBL(NAN)), 0);
    assert_int_equal(tycho_span_set_attr(s, "inf", TYCHO_AV_DBL(-INFINITY)), 0);
    assert_int_equal(tycho_span_set_attr(s, "cached", TYCHO_AV_BOOL(0)), 0);
    assert_int_equal(tycho_span_set_attr(s, "esc", TYCHO_AV_STR("q\"b\\n\nt\t\x01\xff")), 0);
    assert_int_equal(tycho_span_set_attr(s, "bin", TYCHO_AV_STRN("a\0b", 3)), 0);
    assert_int_equal(tycho_span_get_attr(&s->attrs, "bin")->v.s.n, 3); /* length, not strlen */
    assert_int_equal(tycho_span_set_attr(s, "", TYCHO_AV_INT(1)), -EINVAL);
    /* Setting a key again replaces its value in place. */
    assert_int_equal(tycho_span_set_attr(s, "http.response.status_code", TYCHO_AV_INT(503)), 0);
    assert_int_equal(s->attrs.n, 8);
    assert_int_equal(tycho_span_record_exception(s, "error", "boom \"x\"", "stack:1\nstack:2", 0),
                     0);
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, "handler failed");
    uint8_t ltid[16], lsid[8];
    tycho_trace_new_trace_id(ltid);
    tycho_trace_new_span_id(lsid);
    tycho_span_link_t *l = tycho_span_add_link(s, ltid, lsid, 1, 1, "");
    assert_non_null(l);
    assert_int_equal(tycho_span_link_set_attr(s, l, "messaging.system", TYCHO_AV_STR("aws_sqs")),
                     0);
    tycho_span_end(s, s->start_ns + 1500000);

    cJSON *j = encode(s);
    assert_string_equal(jstr(j, "name"), "GET /users/:id");
    assert_string_equal(jstr(j, "kind"), "SERVER");
    assert_string_equal(jstr(j, "trace_id"), "5759e988bd862e3fe1be46a994272793");
    assert_string_equal(jstr(j, "span_id"), "53995c3f42cd8ad8");
    assert_string_equal(jstr(j, "parent_span_id"), "0000000000000001");
    assert_string_equal(jstr(j, "trace_state"), "congo=t61rcWkgMzE");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "sampled")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "parent_is_remote")));
    assert_true(cJSON_GetObjectItem(j, "duration_ms")->valuedouble == 1.5);
    assert_true(cJSON_GetObjectItem(j, "end_time_unix_nano")->valuedouble ==
                (double)(1700000000000000000ull + 1500000));
    cJSON *st = cJSON_GetObjectItem(j, "status");
    assert_string_equal(jstr(st, "code"), "ERROR");
    assert_string_equal(jstr(st, "message"), "handler failed");
    cJSON *a = cJSON_GetObjectItem(j, "attributes");
    assert_string_equal(jstr(a, "http.request.method"), "GET");
    assert_int_equal(cJSON_GetObjectItem(a, "http.response.status_code")->valueint, 503);
    assert_true(cJSON_GetObjectItem(a, "ratio")->valuedouble == 0.25);
    assert_string_equal(jstr(a, "nan"), "NaN");
    assert_string_equal(jstr(a, "inf"), "-Infinity");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(a, "cached")));
    assert_string_equal(jstr(a, "esc"), "q\"b\\n\nt\t\x01\xef\xbf\xbd");
    assert_int_equal(strlen(jstr(a, "bin")), 1); /* "a\u0000b": cJSON stops at the NUL */
    cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0);
    assert_string_equal(jstr(ev, "name"), "exception");
    cJSON *ea = cJSON_GetObjectItem(ev, "attributes");
    assert_string_equal(jstr(ea, "exception.type"), "error");
    assert_string_equal(jstr(ea, "exception.message"), "boom \"x\"");
    assert_string_equal(jstr(ea, "exception.stacktrace"), "stack:1\nstack:2");
    cJSON *lk = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "links"), 0);
    char hex[33];
    tycho_hex_encode(ltid, 16, hex);
    assert_string_equal(jstr(lk, "trace_id"), hex);
    assert_string_equal(jstr(cJSON_GetObjectItem(lk, "attributes"), "messaging.system"), "aws_sqs");
    cJSON_Delete(j);
    tycho_span_free(s);
}

static void test_root_span_and_status(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("work", TYCHO_SPAN_KIND_INTERNAL, NULL);
    tycho_span_set_ids(s, TID, SID, NULL, 1, 0);
    assert_false(s->has_parent);
    assert_false(s->parent_is_remote);
    assert_false(tycho_span_sampled(s));
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_UNSET, "ignored");
    assert_int_equal(s->status, TYCHO_SPAN_STATUS_UNSET);
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_OK, "ignored too");
    assert_string_equal(s->status_message, "");
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, "too late: OK is final");
    assert_int_equal(s->status, TYCHO_SPAN_STATUS_OK);
    tycho_span_end(s, 1); /* before start: clamped so end >= start */
    assert_true(s->end_ns == s->start_ns);
    cJSON *j = encode(s);
    assert_null(cJSON_GetObjectItem(j, "parent_span_id"));
    assert_null(cJSON_GetObjectItem(j, "trace_state"));
    assert_null(cJSON_GetObjectItem(j, "events"));
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "status"), "code"), "OK");
    assert_string_equal(jstr(j, "kind"), "INTERNAL");
    cJSON_Delete(j);
    assert_int_equal(tycho_span_set_name(s, "renamed"), 0);
    assert_string_equal(s->name, "renamed");
    tycho_span_free(s);
    tycho_span_free(NULL);
}

static void test_limits(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_attrs = 3;
    lim.max_events = 2;
    lim.max_links = 1;
    lim.max_event_attrs = 1;
    lim.max_value_len = 4;
    tycho_span_t *s = tycho_span_new("x", TYCHO_SPAN_KIND_CLIENT, &lim);
    assert_int_equal(tycho_span_set_attr(s, "a", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_set_attr(s, "b", TYCHO_AV_STR("abcdefgh")), 0);
    assert_int_equal(tycho_span_set_attr(s, "c", TYCHO_AV_STR("\xc3\xa9\xc3\xa9\xc3\xa9")), 0);
    assert_int_equal(tycho_span_set_attr(s, "d", TYCHO_AV_INT(4)), -ENOSPC);
    assert_int_equal(tycho_span_set_attr(s, "a", TYCHO_AV_INT(5)), 0); /* replacing is fine */
    assert_int_equal(s->attrs.dropped, 1);
    assert_string_equal(tycho_span_get_attr(&s->attrs, "b")->v.s.p, "abcd");
    assert_int_equal(tycho_span_get_attr(&s->attrs, "b")->v.s.n, 4);
    /* Truncation never splits a UTF-8 sequence. */
    assert_string_equal(tycho_span_get_attr(&s->attrs, "c")->v.s.p, "\xc3\xa9\xc3\xa9");
    tycho_span_event_t *e = tycho_span_add_event(s, "e1", 5);
    assert_non_null(e);
    assert_int_equal(tycho_span_event_set_attr(s, e, "k", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_event_set_attr(s, e, "k2", TYCHO_AV_INT(1)), -ENOSPC);
    assert_non_null(tycho_span_add_event(s, "e2", 0));
    assert_null(tycho_span_add_event(s, "e3", 0));
    assert_int_equal(s->dropped_events, 1);
    assert_non_null(tycho_span_add_link(s, TID, SID, 0, 0, NULL));
    assert_null(tycho_span_add_link(s, TID, SID, 0, 0, NULL));
    assert_int_equal(s->dropped_links, 1);
    tycho_span_end(s, 0);
    cJSON *j = encode(s);
    assert_int_equal(cJSON_GetObjectItem(j, "dropped_attributes_count")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "dropped_events_count")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "dropped_links_count")->valueint, 1);
    cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0);
    assert_int_equal(cJSON_GetObjectItem(ev, "dropped_attributes_count")->valueint, 1);
    cJSON_Delete(j);
    tycho_span_free(s);

    /* The byte budget bounds a span's memory whatever is thrown at it. */
    tycho_span_limits_t small = TYCHO_SPAN_LIMITS_DEFAULT;
    small.max_bytes = 8192;
    s = tycho_span_new("big", TYCHO_SPAN_KIND_SERVER, &small);
    char *huge = malloc(100000);
    memset(huge, 'h', 99999);
    huge[99999] = 0;
    assert_int_equal(tycho_span_set_attr(s, "huge", TYCHO_AV_STR(huge)), -ENOSPC);
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        if (tycho_span_set_attr(s, k, TYCHO_AV_STR("0123456789")) == 0) ok++;
    }
    assert_true(ok > 10 && ok < 128);
    assert_true(s->used <= small.max_bytes);
    assert_int_equal(s->attrs.dropped, 1 + 1000 - ok);
    free(huge);
    tycho_span_free(s);
}

static void test_limits_from_env(void **state)
{
    (void)state;
    tycho_span_limits_t l = TYCHO_SPAN_LIMITS_DEFAULT;
    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "10", 1);
    setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "7", 1);
    setenv("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "bogus", 1);
    setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64", 1);
    char msg[512];
    assert_int_equal(tycho_span_limits_from_env(&l, msg, sizeof msg), 1);
    assert_string_equal(msg, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: not a whole number in [0, "
                             "4294967295]: bogus (using 10)");
    assert_int_equal(l.max_attrs, 10);
    assert_int_equal(l.max_event_attrs, 10);
    assert_int_equal(l.max_link_attrs, 10); /* invalid value ignored */
    assert_int_equal(l.max_events, 7);
    assert_int_equal(l.max_links, 128);
    assert_int_equal(l.max_value_len, 64);
    unsetenv("OTEL_ATTRIBUTE_COUNT_LIMIT");
    unsetenv("OTEL_SPAN_EVENT_COUNT_LIMIT");
    unsetenv("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT");
    unsetenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT");

    /* every invalid value is named, with the value kept instead */
    l = (tycho_span_limits_t)TYCHO_SPAN_LIMITS_DEFAULT;
    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "abc", 1);
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1", 1);
    setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "99999999999", 1);
    setenv("OTEL_SPAN_LINK_COUNT_LIMIT", " 5", 1);
    assert_int_equal(tycho_span_limits_from_env(&l, msg, sizeof msg), 4);
    assert_non_null(strstr(msg,
                           "OTEL_ATTRIBUTE_COUNT_LIMIT: not a whole number in [0, 4294967295]: "
                           "abc (using 128)"));
    assert_non_null(strstr(msg, "; OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: not a whole number in [0, "
                                "4294967295]: -1 (using 128)"));
    assert_non_null(strstr(msg, "OTEL_SPAN_EVENT_COUNT_LIMIT: not a whole number in [0, "
                                "4294967295]: 99999999999 (using 128)"));
    assert_non_null(strstr(msg, "OTEL_SPAN_LINK_COUNT_LIMIT"));
    assert_int_equal(l.max_attrs, 128);
    assert_int_equal(l.max_events, 128);
    unsetenv("OTEL_ATTRIBUTE_COUNT_LIMIT");
    unsetenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT");
    unsetenv("OTEL_SPAN_EVENT_COUNT_LIMIT");
    unsetenv("OTEL_SPAN_LINK_COUNT_LIMIT");
}

static void test_many_events_arena_growth(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("grow", TYCHO_SPAN_KIND_CONSUMER, NULL);
    for (int i = 0; i < 100; i++) {
        tycho_span_event_t *e = tycho_span_add_event(s, "tick", (uint64_t)i + 1);
        assert_non_null(e);
        tycho_span_event_set_attr(s, e, "i", TYCHO_AV_INT(i));
        tycho_span_set_attr(s, "last", TYCHO_AV_INT(i));
    }
    assert_int_equal(s->nevents, 100);
    assert_int_equal(s->events[99].attrs.items[0].v.i, 99);
    assert_int_equal(s->events[0].time_ns, 1);
    cJSON *j = encode(s);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "events")), 100);
    assert_string_equal(jstr(j, "kind"), "CONSUMER");
    cJSON_Delete(j);
    tycho_span_free(s);
}

/* A well-known key is found by pointer, or by name once a key was set by
 * string, and costs the byte budget what a copied key would. */
static void test_well_known_keys(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("k", TYCHO_SPAN_KIND_SERVER, NULL);
    tycho_span_t *t = tycho_span_new("k", TYCHO_SPAN_KIND_SERVER, NULL);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STR("/a")), 0);
    assert_int_equal(tycho_span_set_attr(t, "url.path", TYCHO_AV_STR("/a")), 0);
    assert_int_equal(s->used, t->used);
    /* ASCII, found so while copied */
    assert_int_equal(s->attrs.items[0].utf8, TYCHO_ATTR_KEY_UTF8 | TYCHO_ATTR_VALUE_UTF8);
    assert_int_equal(t->attrs.items[0].utf8, TYCHO_ATTR_KEY_UTF8 | TYCHO_ATTR_VALUE_UTF8);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_SERVER_PORT, TYCHO_AV_INT(80)), 0);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_UTF8N("/b", 2)), 0);
    assert_int_equal(s->attrs.n, 2);
    assert_string_equal(s->attrs.items[0].v.s.p, "/b");
    assert_int_equal(s->attrs.items[0].utf8, TYCHO_ATTR_KEY_UTF8 | TYCHO_ATTR_VALUE_UTF8);
    /* by string, then by key: the same attribute either way */
    assert_int_equal(tycho_span_set_attr(s, "http.route", TYCHO_AV_STR("/r")), 0);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_HTTP_ROUTE, TYCHO_AV_STR("/s")), 0);
    assert_int_equal(tycho_span_set_attr(s, "server.port", TYCHO_AV_INT(81)), 0);
    assert_int_equal(s->attrs.n, 3);
    assert_string_equal(tycho_span_get_attr(&s->attrs, "http.route")->v.s.p, "/s");
    assert_int_equal(tycho_span_get_attr(&s->attrs, "server.port")->v.i, 81);
    assert_string_equal(tycho_span_key_name(TYCHO_KEY_HTTP_ROUTE), "http.route");
    tycho_span_free(s);
    tycho_span_free(t);
}

/* The bitmask of well-known keys: a key set twice is replaced in place; a
 * string key that spells a well-known name is that key (one attribute, the
 * static key, its bit set) for spans, events and links alike; keys given by
 * string that are not well-known still replace each other. */
static void test_known_bitmask(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("k", TYCHO_SPAN_KIND_SERVER, NULL);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_HTTP_ROUTE, TYCHO_AV_STR("/a")), 0);
    assert_int_equal(tycho_span_set_attr(s, "x", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_HTTP_ROUTE, TYCHO_AV_INT(7)), 0);
    assert_int_equal(s->attrs.n, 2);
    assert_int_equal(s->attrs.items[0].type, TYCHO_ATTR_INT);
    assert_int_equal(s->attrs.items[0].v.i, 7);
    assert_int_equal(s->attrs.known, 1u << TYCHO_KEY_HTTP_ROUTE);
    /* tycho.trace from Lua: a well-known name set by string */
    assert_int_equal(tycho_span_set_attr(s, "url.path", TYCHO_AV_STR("/lua")), 0);
    const tycho_attr_t *at = &s->attrs.items[2];
    assert_ptr_equal(at->key, tycho_span_key_name(TYCHO_KEY_URL_PATH));
    assert_int_equal(at->known, 1 + TYCHO_KEY_URL_PATH);
    assert_int_equal(at->klen, strlen("url.path"));
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STR("/c")), 0);
    assert_int_equal(tycho_span_set_attr(s, "x", TYCHO_AV_INT(2)), 0);
    assert_int_equal(s->attrs.n, 3);
    assert_string_equal(tycho_span_get_attr(&s->attrs, "url.path")->v.s.p, "/c");
    assert_int_equal(tycho_span_get_attr(&s->attrs, "x")->v.i, 2);
    /* a prefix or a longer name is another key */
    assert_int_equal(tycho_span_set_attr(s, "url.pat", TYCHO_AV_INT(3)), 0);
    assert_int_equal(tycho_span_set_attr(s, "url.paths", TYCHO_AV_INT(4)), 0);
    assert_int_equal(s->attrs.n, 5);
    assert_int_equal(s->attrs.items[3].known + s->attrs.items[4].known, 0);
    tycho_span_event_t *ev = tycho_span_add_event(s, "e", 1);
    assert_int_equal(tycho_span_event_set_attr(s, ev, "server.port", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_event_set_attr(s, ev, "server.port", TYCHO_AV_INT(2)), 0);
    assert_int_equal(ev->attrs.n, 1);
    assert_int_equal(ev->attrs.known, 1u << TYCHO_KEY_SERVER_PORT);
    assert_int_equal(ev->attrs.items[0].v.i, 2);
    tycho_span_free(s);
}

/* The count limit holds for well-known keys set by key or by name: past it
 * a new key is dropped and counted, an existing one is still replaced. */
static void test_known_count_limit(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_attrs = 2;
    tycho_span_t *s = tycho_span_new("k", TYCHO_SPAN_KIND_SERVER, &lim);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STR("/a")), 0);
    assert_int_equal(tycho_span_set_attr(s, "http.route", TYCHO_AV_STR("/r")), 0);
    size_t used = s->used;
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_SERVER_PORT, TYCHO_AV_INT(1)), -ENOSPC);
    assert_int_equal(tycho_span_set_attr(s, "client.address", TYCHO_AV_STR("1")), -ENOSPC);
    assert_int_equal(s->used, used); /* a drop at the count limit takes no arena */
    assert_int_equal(s->attrs.dropped, 2);
    assert_int_equal(s->attrs.known, 1u << TYCHO_KEY_URL_PATH | 1u << TYCHO_KEY_HTTP_ROUTE);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_HTTP_ROUTE, TYCHO_AV_STR("/s")), 0);
    assert_int_equal(s->attrs.n, 2);
    assert_string_equal(s->attrs.items[1].v.s.p, "/s");
    tycho_span_free(s);
}

/* span.h's promise to encoders: a well-known key is readable, zero after
 * its name, to TYCHO_SPAN_KEY_PAD bytes. */
static void test_known_key_padding(void **state)
{
    (void)state;
    static const char zeros[TYCHO_SPAN_KEY_PAD];
    for (int k = 0; k < TYCHO_KEY_COUNT; k++) {
        const char *name = tycho_span_key_name((tycho_span_key_t)k);
        size_t n = strlen(name);
        assert_true(n > 0 && n < TYCHO_SPAN_KEY_PAD);
        assert_memory_equal(name + n, zeros, TYCHO_SPAN_KEY_PAD - n);
    }
}

/* An attribute dropped at its key after the array grew: the span keeps the
 * grown array, so the next attribute does not land past the old one. */
static void test_drop_after_grow(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_bytes = 4096;
    tycho_span_t *s = tycho_span_new("x", TYCHO_SPAN_KIND_SERVER, &lim);
    enum { FIRST = 16 }; /* the span's first attribute array */
    char keys[FIRST - 1][8];
    for (int i = 0; i < FIRST - 1; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(tycho_span_set_attr(s, keys[i], TYCHO_AV_INT(i)), 0);
    }
    /* what is left: the array grown to twice FIRST, then 16 bytes */
    size_t fill = lim.max_bytes - s->used - 8 /* key "f" */ - 2 * FIRST * sizeof(tycho_attr_t) - 16;
    char *v = malloc(fill);
    memset(v, 'v', fill - 1);
    v[fill - 1] = 0;
    assert_int_equal(tycho_span_set_attr(s, "f", TYCHO_AV_STR(v)), 0);
    assert_int_equal(tycho_span_set_attr(s, "a-key-of-24-bytes-long", TYCHO_AV_INT(4)), -ENOSPC);
    assert_int_equal(tycho_span_set_attr(s, "z", TYCHO_AV_INT(5)), 0);
    for (int i = 0; i < FIRST - 1; i++)
        assert_string_equal(s->attrs.items[i].key, keys[i]);
    assert_string_equal(s->attrs.items[FIRST - 1].v.s.p, v);
    assert_int_equal(s->attrs.items[FIRST].v.i, 5);
    free(v);
    tycho_span_free(s);
}

/* A string found all ASCII (no NUL) while it was copied is marked valid
 * UTF-8; one byte >= 0x80 or a NUL anywhere, in the 8-byte words or the
 * tail, leaves it for the encoder to check. */
static void test_ascii_marked(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("GET /x", TYCHO_SPAN_KIND_SERVER, NULL);
    assert_int_equal(s->name_utf8, 1);
    assert_int_equal(tycho_span_set_name(s, "GET /\xC3\xA9"), 0);
    assert_int_equal(s->name_utf8, 0);
    char text[24];
    for (size_t len = 0; len <= sizeof text; len++) {
        memset(text, 'a', sizeof text);
        assert_int_equal(tycho_span_set_attr(s, "k", TYCHO_AV_STRN(text, len)), 0);
        const tycho_attr_t *at = tycho_span_get_attr(&s->attrs, "k");
        assert_int_equal(at->utf8, TYCHO_ATTR_KEY_UTF8 | TYCHO_ATTR_VALUE_UTF8);
        for (size_t i = 0; i < len; i++) {
            const char bad[] = {'\x80', '\xFF', '\0'};
            for (size_t b = 0; b < sizeof bad; b++) {
                memset(text, 'a', sizeof text);
                text[i] = bad[b];
                assert_int_equal(tycho_span_set_attr(s, "k", TYCHO_AV_STRN(text, len)), 0);
                at = tycho_span_get_attr(&s->attrs, "k");
                assert_int_equal(at->utf8, TYCHO_ATTR_KEY_UTF8);
                assert_memory_equal(at->v.s.p, text, len);
            }
        }
    }
    assert_int_equal(tycho_span_set_attr(s, "cl\xC3\xA9", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_get_attr(&s->attrs, "cl\xC3\xA9")->utf8, 0);
    tycho_span_free(s);
}

/* A string array: each string copied (the caller's buffers may go), cut at
 * the value length limit on its own on a UTF-8 boundary; the empty array
 * is a value; setting the key again replaces it in place, with any type. */
static void test_string_array(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_value_len = 4;
    tycho_span_t *s = tycho_span_new("x", TYCHO_SPAN_KIND_CLIENT, &lim);
    char first[] = "users";
    tycho_attr_str_t v[] = {{first, 5}, {"\xc3\xa9\xc3\xa9\xc3\xa9", 6}, {"ab", 2}, {NULL, 0}};
    assert_int_equal(tycho_span_set_attr(s, "before", TYCHO_AV_INT(1)), 0);
    assert_int_equal(tycho_span_set_attr(s, "aws.dynamodb.table_names", TYCHO_AV_STRV(v, 4)), 0);
    memset(first, 'z', 5);
    const tycho_attr_t *at = tycho_span_get_attr(&s->attrs, "aws.dynamodb.table_names");
    assert_int_equal(at->type, TYCHO_ATTR_STRING_ARRAY);
    assert_int_equal(at->v.sv.n, 4);
    assert_string_equal(at->v.sv.items[0].p, "user"); /* each cut at 4 bytes */
    assert_int_equal(at->v.sv.items[0].n, 4);
    assert_string_equal(at->v.sv.items[1].p, "\xc3\xa9\xc3\xa9"); /* not mid-sequence */
    assert_string_equal(at->v.sv.items[2].p, "ab");
    assert_string_equal(at->v.sv.items[3].p, "");          /* NULL: the empty string */
    assert_int_equal(at->utf8 & TYCHO_ATTR_VALUE_UTF8, 0); /* "é" was not vouched for */

    /* Replacing keeps the position, from string array to string array or any type. */
    tycho_attr_str_t one = {"t", 1};
    assert_int_equal(tycho_span_set_attr(s, "aws.dynamodb.table_names", TYCHO_AV_STRV(&one, 1)), 0);
    assert_int_equal(s->attrs.n, 2);
    at = &s->attrs.items[1];
    assert_int_equal(at->type, TYCHO_ATTR_STRING_ARRAY);
    assert_int_equal(at->v.sv.n, 1);
    assert_string_equal(at->v.sv.items[0].p, "t");
    assert_int_equal(at->utf8, TYCHO_ATTR_KEY_UTF8 | TYCHO_ATTR_VALUE_UTF8); /* all ASCII */
    assert_int_equal(tycho_span_set_attr(s, "before", TYCHO_AV_STRV(v, 0)), 0);
    assert_int_equal(s->attrs.items[0].type, TYCHO_ATTR_STRING_ARRAY);
    assert_int_equal(s->attrs.items[0].v.sv.n, 0);
    assert_int_equal(tycho_span_set_attr(s, "aws.dynamodb.table_names", TYCHO_AV_STR("s")), 0);
    assert_int_equal(s->attrs.items[1].type, TYCHO_ATTR_STRING);
    assert_int_equal(s->attrs.n, 2);

    /* On events and links as well; vouched-for strings stay marked. */
    tycho_span_event_t *e = tycho_span_add_event(s, "e", 0);
    tycho_attr_value_t vouched = TYCHO_AV_STRV(v + 1, 1);
    vouched.utf8 = 1;
    assert_int_equal(tycho_span_event_set_attr(s, e, "k", vouched), 0);
    assert_int_equal(e->attrs.items[0].utf8 & TYCHO_ATTR_VALUE_UTF8, TYCHO_ATTR_VALUE_UTF8);
    tycho_span_free(s);
}

/* A string array counts against the byte budget as a whole (its item table
 * and every string): what does not fit is dropped, counted, and leaves the
 * attribute as it was. */
static void test_string_array_budget(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_bytes = 4096;
    tycho_span_t *s = tycho_span_new("x", TYCHO_SPAN_KIND_CLIENT, &lim);
    char big[1000];
    memset(big, 'b', sizeof big);
    tycho_attr_str_t v[8];
    for (size_t i = 0; i < 8; i++)
        v[i] = (tycho_attr_str_t){big, sizeof big};
    assert_int_equal(tycho_span_set_attr(s, "k", TYCHO_AV_STRV(v, 2)), 0);
    assert_int_equal(tycho_span_set_attr(s, "k", TYCHO_AV_STRV(v, 8)), -ENOSPC); /* 8000 B */
    assert_int_equal(tycho_span_set_attr(s, "new", TYCHO_AV_STRV(v, 8)), -ENOSPC);
    assert_int_equal(s->attrs.dropped, 2);
    const tycho_attr_t *at = tycho_span_get_attr(&s->attrs, "k");
    assert_int_equal(at->v.sv.n, 2); /* the old value stays */
    assert_null(tycho_span_get_attr(&s->attrs, "new"));
    assert_true(s->used <= lim.max_bytes);
    /* A count whose item table alone is over any budget (and would overflow
     * count * 16) is refused before anything is read. */
    assert_int_equal(tycho_span_set_attr(s, "n", TYCHO_AV_STRV(v, SIZE_MAX / 8)), -ENOSPC);
    assert_int_equal(s->attrs.dropped, 3);
    tycho_span_free(s);
}

/* The JSON sink writes a string array as an array of strings. */
static void test_string_array_json(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("DynamoDB.GetItem", TYCHO_SPAN_KIND_CLIENT, NULL);
    tycho_attr_str_t v[] = {{"Users", 5}, {"q\"\xff", 3}};
    assert_int_equal(tycho_span_set_attr(s, "aws.dynamodb.table_names", TYCHO_AV_STRV(v, 2)), 0);
    assert_int_equal(tycho_span_set_attr(s, "none", TYCHO_AV_STRV(v, 0)), 0);
    tycho_span_end(s, 0);
    cJSON *j = encode(s);
    cJSON *a = cJSON_GetObjectItem(j, "attributes");
    cJSON *names = cJSON_GetObjectItem(a, "aws.dynamodb.table_names");
    assert_true(cJSON_IsArray(names));
    assert_int_equal(cJSON_GetArraySize(names), 2);
    assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "Users");
    assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring, "q\"\xef\xbf\xbd");
    cJSON *none = cJSON_GetObjectItem(a, "none");
    assert_true(cJSON_IsArray(none));
    assert_int_equal(cJSON_GetArraySize(none), 0);
    cJSON_Delete(j);
    tycho_span_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_span_json),
        cmocka_unit_test(test_root_span_and_status),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_limits_from_env),
        cmocka_unit_test(test_many_events_arena_growth),
        cmocka_unit_test(test_well_known_keys),
        cmocka_unit_test(test_known_bitmask),
        cmocka_unit_test(test_known_count_limit),
        cmocka_unit_test(test_known_key_padding),
        cmocka_unit_test(test_drop_after_grow),
        cmocka_unit_test(test_ascii_marked),
        cmocka_unit_test(test_string_array),
        cmocka_unit_test(test_string_array_budget),
        cmocka_unit_test(test_string_array_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
