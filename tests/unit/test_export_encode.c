#define _DEFAULT_SOURCE /* timegm */
/* Unit tests of the exporters' encoders: OTLP traces (and the response
 * reader), remote write (labels, histograms, splitting, snappy block), Loki
 * (line reading, streams, order, metadata, protobuf and JSON bodies) and the
 * UTF-8 clean-up they share. The bodies are decoded back with protobuf-c
 * and snappy here; the independent decoders live in tests/exporters/. */
#include "aws/client.h"
#include "exporters/export_arena.h"
#include "core/utf8.h"
#include "exporters/export_gzip.h"
#include "exporters/export_snappy.h"
#include "exporters/loki_encode.h"
#include "exporters/otlp_encode.h"
#include "exporters/remote_write.h"

#include <cJSON.h>
#include <errno.h>
#include <libdeflate.h>
#include <setjmp.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "loki_push.pb-c.h"
#include "otlp_trace.pb-c.h"
#include "prw.pb-c.h"

/* --- helpers --------------------------------------------------------------- */

static tycho_buf_t unsnappy(const tycho_buf_t *in)
{
    tycho_buf_t out = TYCHO_BUF_INIT;
    size_t n;
    assert_int_equal(snappy_uncompressed_length(in->data, in->len, &n), SNAPPY_OK);
    assert_int_equal(tycho_buf_reserve(&out, n + 1), 0);
    assert_int_equal(snappy_uncompress(in->data, in->len, out.data, &n), SNAPPY_OK);
    out.len = n;
    return out;
}

/* n bytes of c, NUL-terminated (free it). */
static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static const Tycho__Otlp__AnyValue *attr(Tycho__Otlp__KeyValue **kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i]->key, key) == 0) return kv[i]->value;
    return NULL;
}

/* --- UTF-8 --------------------------------------------------------------- */

static void test_utf8(void **state)
{
    (void)state;
    tycho_export_arena_t a = TYCHO_EXPORT_ARENA_INIT;
    const char *ok = "h\xC3\xA9llo \xF0\x9F\x98\x80";
    assert_ptr_equal(tycho_export_arena_utf8(&a, ok, strlen(ok)), ok); /* no copy */
    assert_string_equal(tycho_export_arena_utf8(&a,
                                                "a\xFF"
                                                "b",
                                                3),
                        "a\xEF\xBF\xBD"
                        "b");
    assert_string_equal(tycho_export_arena_utf8(&a, "\xC0\xAF", 2), "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(tycho_export_arena_utf8(&a, "\xED\xA0\x80", 3), /* surrogate */
                        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(tycho_export_arena_utf8(&a, "x\xE2\x82", 3), "x\xEF\xBF\xBD\xEF\xBF\xBD");
    const char nul[] = {'a', 0, 'b', 0};
    assert_string_equal(tycho_export_arena_utf8(&a, nul, 3), "a\xEF\xBF\xBD"
                                                             "b");
    assert_false(tycho_utf8_valid("\xF4\x90\x80\x80", 4, 1)); /* > U+10FFFF */
    assert_true(tycho_utf8_valid("\xF4\x8F\xBF\xBF", 4, 1));
    /* the eight-bytes-at-a-time path: a NUL or a bad byte at every position
     * of a longer ASCII text is found */
    char text[40];
    for (size_t at = 0; at < 39; at++) {
        memset(text, 'x', 39);
        text[39] = 0;
        assert_ptr_equal(tycho_export_arena_utf8(&a, text, 39), text);
        text[at] = 0;
        assert_true(tycho_utf8_valid(text, 39, 1));
        const char *c = tycho_export_arena_utf8(&a, text, 39);
        assert_ptr_not_equal(c, text);
        assert_int_equal(strlen(c), 41); /* the NUL became U+FFFD */
        text[at] = (char)0xFF;
        assert_false(tycho_utf8_valid(text, 39, 1));
        text[at] = (char)0xC3; /* a sequence cut by the next ASCII byte */
        assert_int_equal(tycho_utf8_valid(text, 39, 1), 0);
        if (at < 38) {
            text[at + 1] = (char)0xA9;
            assert_true(tycho_utf8_valid(text, 39, 1));
        }
    }
    tycho_export_arena_free(&a);
}

static void test_snappy_block(void **state)
{
    (void)state;
    char raw[3000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (char)('a' + i % 7);
    tycho_buf_t z = TYCHO_BUF_INIT;
    assert_int_equal(tycho_export_snappy(raw, sizeof raw, &z), 0);
    /* block format: a varint of the raw length first (3000 = 0xB8 0x17), no stream header */
    assert_int_equal((unsigned char)z.data[0], 0xB8);
    assert_int_equal((unsigned char)z.data[1], 0x17);
    assert_true(z.len < sizeof raw);
    tycho_buf_t back = unsnappy(&z);
    assert_int_equal(back.len, sizeof raw);
    assert_memory_equal(back.data, raw, sizeof raw);
    tycho_buf_free(&z);
    tycho_buf_free(&back);
}

/* --- OTLP --------------------------------------------------------------- */

/* A hand-written body is byte for byte what protobuf-c packs for the
 * message it decodes to (the OTLP request, the Loki push). */
static void assert_canonical(const ProtobufCMessage *m, const tycho_buf_t *body)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    assert_int_equal(n, body->len);
    uint8_t *again = malloc(n + 1);
    assert_non_null(again);
    protobuf_c_message_pack(m, again);
    assert_memory_equal(again, body->data, n);
    free(again);
}

/* Every field the writer knows, and its edge cases, against protobuf-c. */
static void test_otlp_wire(void **state)
{
    (void)state;
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_attrs = 6;
    tycho_span_t *s = tycho_span_new("bad \xff name", TYCHO_SPAN_KIND_CONSUMER, &lim);
    uint8_t tid[16] = {1}, sid[8] = {2}, pid[8] = {3};
    tycho_span_set_ids(s, tid, sid, pid, 1, 0x01);
    tycho_span_set_trace_state(s, "k=v");
    s->start_ns = 1;
    tycho_span_set_attr(s, "empty", TYCHO_AV_STR(""));
    tycho_span_set_attr(s, "bad", TYCHO_AV_STRN("a\xc3", 2));
    tycho_span_set_attr(s, "zero", TYCHO_AV_INT(0));
    tycho_span_set_attr(s, "dzero", TYCHO_AV_DBL(0.0));
    tycho_span_set_attr(s, "big", TYCHO_AV_INT(INT64_MIN));
    tycho_span_set_attr(s, "t", TYCHO_AV_BOOL(1));
    tycho_span_set_attr(s, "over", TYCHO_AV_INT(1)); /* dropped: counted */
    tycho_span_event_t *ev = tycho_span_add_event(s, "", 0);
    tycho_span_event_set_attr(s, ev, "k", TYCHO_AV_STR("v"));
    tycho_span_link_t *ln = tycho_span_add_link(s, tid, pid, 0x01, 1, "a=b");
    if (ln) tycho_span_link_set_attr(s, ln, "l", TYCHO_AV_DBL(-2.5));
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, "it \xe2\x82 broke");
    tycho_span_end(s, UINT64_MAX);
    tycho_span_t *bare = tycho_span_new(NULL, TYCHO_SPAN_KIND_INTERNAL, NULL);

    tycho_export_kvs_t res = {0};
    tycho_export_kvs_set(&res, "aws.log.group.names", "/a,,/b,");
    tycho_export_kvs_set(&res, "x", "");
    tycho_span_t *spans[] = {s, bare};
    for (size_t n = 0; n <= 2; n++) {
        tycho_buf_t out = TYCHO_BUF_INIT;
        assert_int_equal(tycho_otlp_encode_traces(n ? &res : NULL, spans, n, &out), 0);
        Tycho__Otlp__ExportTraceServiceRequest *r =
            tycho__otlp__export_trace_service_request__unpack(NULL, out.len, (uint8_t *)out.data);
        assert_non_null(r);
        assert_int_equal(r->resource_spans[0]->scope_spans[0]->n_spans, n);
        assert_canonical(&r->base, &out);
        if (n) {
            Tycho__Otlp__Span *m = r->resource_spans[0]->scope_spans[0]->spans[0];
            assert_string_equal(m->name, "bad \xEF\xBF\xBD name");
            assert_int_equal(m->n_attributes, 6);
            assert_int_equal(m->dropped_attributes_count, 1);
            assert_string_equal(m->attributes[1]->value->string_value, "a\xEF\xBF\xBD");
            assert_int_equal(m->attributes[4]->value->int_value, INT64_MIN);
            assert_string_equal(m->status->message, "it \xEF\xBF\xBD\xEF\xBF\xBD broke");
            Tycho__Otlp__KeyValue *g = r->resource_spans[0]->resource->attributes[0];
            assert_int_equal(g->value->array_value->n_values, 4);
        }
        tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
        tycho_buf_free(&out);
    }
    tycho_export_kvs_free(&res);
    tycho_span_free(s);
    tycho_span_free(bare);
}

/* s encoded alone into out, decoded by protobuf-c, in the bytes protobuf-c
 * packs (free with tycho__otlp__export_trace_service_request__free_unpacked). */
static Tycho__Otlp__ExportTraceServiceRequest *encode_one(tycho_span_t *s, tycho_buf_t *out)
{
    assert_int_equal(tycho_otlp_encode_traces(NULL, &s, 1, out), 0);
    Tycho__Otlp__ExportTraceServiceRequest *r =
        tycho__otlp__export_trace_service_request__unpack(NULL, out->len, (uint8_t *)out->data);
    assert_non_null(r);
    assert_canonical(&r->base, out);
    return r;
}

/* Well-known keys and values set as UTF-8 go out unchecked, the others
 * cleaned up, in the same bytes protobuf-c packs. */
static void test_otlp_known_keys(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("GET /k", TYCHO_SPAN_KIND_SERVER, NULL);
    tycho_span_set_key(s, TYCHO_KEY_HTTP_REQUEST_METHOD, TYCHO_AV_UTF8N("GET", 3));
    tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STRN("/\xff\0", 3));
    tycho_span_set_key(s, TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE, TYCHO_AV_INT(200));
    tycho_span_set_key(s, TYCHO_KEY_USER_AGENT_ORIGINAL, TYCHO_AV_STRN("", 0));
    tycho_span_set_attr(s, "lua.\xc3", TYCHO_AV_BOOL(1));
    tycho_span_set_key(s, TYCHO_KEY_SERVER_PORT, TYCHO_AV_INT(-1));
    tycho_span_end(s, 0);
    tycho_buf_t out = TYCHO_BUF_INIT;
    Tycho__Otlp__ExportTraceServiceRequest *r = encode_one(s, &out);
    Tycho__Otlp__Span *m = r->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(m->n_attributes, 6);
    assert_string_equal(m->attributes[0]->key, "http.request.method");
    assert_string_equal(m->attributes[0]->value->string_value, "GET");
    assert_string_equal(m->attributes[1]->value->string_value, "/\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_int_equal(m->attributes[2]->value->int_value, 200);
    assert_string_equal(m->attributes[3]->value->string_value, "");
    assert_string_equal(m->attributes[4]->key, "lua.\xEF\xBF\xBD");
    assert_string_equal(m->attributes[5]->key, "server.port");
    assert_int_equal(m->attributes[5]->value->int_value, -1);
    tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
    tycho_buf_free(&out);
    tycho_span_free(s);
}

/* A string array attribute: AnyValue.array_value of string_values (empty
 * strings and the empty array included, bad UTF-8 cleaned up per string),
 * on the span, an event and a link, in the bytes protobuf-c packs. */
static void test_otlp_string_array(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("DynamoDB.GetItem", TYCHO_SPAN_KIND_CLIENT, NULL);
    tycho_attr_str_t v[] = {{"Users", 5}, {"", 0}, {"b\xff", 2}};
    tycho_attr_str_t big[200];
    char text[300];
    memset(text, 'x', sizeof text);
    for (size_t i = 0; i < 200; i++)
        big[i] = (tycho_attr_str_t){text, i + 1}; /* lengths past one-byte varints */
    assert_int_equal(tycho_span_set_attr(s, "aws.dynamodb.table_names", TYCHO_AV_STRV(v, 1)), 0);
    assert_int_equal(tycho_span_set_attr(s, "mixed", TYCHO_AV_STRV(v, 3)), 0);
    assert_int_equal(tycho_span_set_attr(s, "none", TYCHO_AV_STRV(v, 0)), 0);
    assert_int_equal(tycho_span_set_attr(s, "big", TYCHO_AV_STRV(big, 200)), 0);
    tycho_span_event_t *ev = tycho_span_add_event(s, "e", 0);
    assert_int_equal(tycho_span_event_set_attr(s, ev, "k", TYCHO_AV_STRV(v, 2)), 0);
    tycho_span_link_t *ln = tycho_span_add_link(s, (uint8_t[16]){1}, (uint8_t[8]){2}, 0, 0, "");
    assert_int_equal(tycho_span_link_set_attr(s, ln, "l", TYCHO_AV_STRV(v, 1)), 0);
    tycho_span_end(s, 0);
    tycho_buf_t out = TYCHO_BUF_INIT;
    Tycho__Otlp__ExportTraceServiceRequest *r = encode_one(s, &out);
    Tycho__Otlp__Span *m = r->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(m->n_attributes, 4);
    const Tycho__Otlp__AnyValue *a = attr(m->attributes, 4, "aws.dynamodb.table_names");
    assert_int_equal(a->value_case, TYCHO__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE);
    assert_int_equal(a->array_value->n_values, 1);
    assert_int_equal(a->array_value->values[0]->value_case,
                     TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE);
    assert_string_equal(a->array_value->values[0]->string_value, "Users");
    a = attr(m->attributes, 4, "mixed");
    assert_int_equal(a->array_value->n_values, 3);
    assert_int_equal(a->array_value->values[1]->value_case,
                     TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE); /* "" is sent */
    assert_string_equal(a->array_value->values[1]->string_value, "");
    assert_string_equal(a->array_value->values[2]->string_value, "b\xEF\xBF\xBD");
    a = attr(m->attributes, 4, "none");
    assert_int_equal(a->value_case, TYCHO__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE);
    assert_int_equal(a->array_value->n_values, 0);
    a = attr(m->attributes, 4, "big");
    assert_int_equal(a->array_value->n_values, 200);
    assert_int_equal(strlen(a->array_value->values[199]->string_value), 200);
    a = attr(m->events[0]->attributes, m->events[0]->n_attributes, "k");
    assert_int_equal(a->array_value->n_values, 2);
    a = attr(m->links[0]->attributes, m->links[0]->n_attributes, "l");
    assert_string_equal(a->array_value->values[0]->string_value, "Users");
    tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
    tycho_buf_free(&out);
    tycho_span_free(s);
}

static void test_otlp(void **state)
{
    (void)state;
    tycho_span_t *s = tycho_span_new("op", TYCHO_SPAN_KIND_CLIENT, NULL);
    uint8_t tid[16], sid[8], pid[8];
    for (int i = 0; i < 16; i++)
        tid[i] = (uint8_t)(i + 1);
    for (int i = 0; i < 8; i++)
        sid[i] = (uint8_t)(0xA0 + i), pid[i] = (uint8_t)(0xB0 + i);
    tycho_span_set_ids(s, tid, sid, pid, 0, 0x01);
    s->start_ns = 1000;
    tycho_span_set_attr(s, "s", TYCHO_AV_STR("v"));
    tycho_span_set_attr(s, "i", TYCHO_AV_INT(-7));
    tycho_span_set_attr(s, "d", TYCHO_AV_DBL(1.5));
    tycho_span_set_attr(s, "b", TYCHO_AV_BOOL(0));
    tycho_span_add_event(s, "ev", 1500);
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_OK, "ignored for OK");
    tycho_span_end(s, 2000);
    tycho_span_t *root = tycho_span_new("root", TYCHO_SPAN_KIND_SERVER, NULL);
    tycho_span_set_ids(root, tid, pid, NULL, 0, 0x00);
    root->start_ns = 3000;
    root->end_ns = 1; /* an end before the start is clamped */

    tycho_export_kvs_t res = {0};
    tycho_export_kvs_set(&res, "service.name", "svc");
    tycho_export_kvs_set(&res, "aws.log.group.names", "/a,/b");
    tycho_span_t *spans[] = {s, root};
    tycho_buf_t out = TYCHO_BUF_INIT;
    assert_int_equal(tycho_otlp_encode_traces(&res, spans, 2, &out), 0);
    Tycho__Otlp__ExportTraceServiceRequest *r =
        tycho__otlp__export_trace_service_request__unpack(NULL, out.len, (uint8_t *)out.data);
    assert_non_null(r);
    assert_int_equal(r->n_resource_spans, 1);
    Tycho__Otlp__ResourceSpans *rs = r->resource_spans[0];
    const Tycho__Otlp__AnyValue *v =
        attr(rs->resource->attributes, rs->resource->n_attributes, "service.name");
    assert_string_equal(v->string_value, "svc");
    v = attr(rs->resource->attributes, rs->resource->n_attributes, "aws.log.group.names");
    assert_int_equal(v->value_case, TYCHO__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE);
    assert_int_equal(v->array_value->n_values, 2);
    assert_string_equal(v->array_value->values[1]->string_value, "/b");
    assert_int_equal(rs->n_scope_spans, 1);
    assert_string_equal(rs->scope_spans[0]->scope->name, "tycho");
    assert_string_equal(rs->scope_spans[0]->scope->version, TYCHO_VERSION);
    assert_int_equal(rs->scope_spans[0]->n_spans, 2);
    Tycho__Otlp__Span *m = rs->scope_spans[0]->spans[0];
    assert_int_equal(m->trace_id.len, 16);
    assert_memory_equal(m->trace_id.data, tid, 16);
    assert_memory_equal(m->span_id.data, sid, 8);
    assert_memory_equal(m->parent_span_id.data, pid, 8);
    assert_int_equal(m->flags, 0x101); /* sampled, has-is-remote, local parent */
    assert_int_equal(m->kind, TYCHO__OTLP__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    assert_int_equal(m->start_time_unix_nano, 1000);
    assert_int_equal(m->end_time_unix_nano, 2000);
    assert_int_equal(m->n_attributes, 4);
    assert_int_equal(attr(m->attributes, 4, "i")->int_value, -7);
    assert_true(attr(m->attributes, 4, "d")->double_value == 1.5);
    v = attr(m->attributes, 4, "b");
    assert_int_equal(v->value_case, TYCHO__OTLP__ANY_VALUE__VALUE_BOOL_VALUE); /* false is sent */
    assert_int_equal(m->n_events, 1);
    assert_int_equal(m->events[0]->time_unix_nano, 1500);
    assert_int_equal(m->status->code, TYCHO__OTLP__STATUS__STATUS_CODE__STATUS_CODE_OK);
    assert_string_equal(m->status->message, "");
    Tycho__Otlp__Span *m2 = rs->scope_spans[0]->spans[1];
    assert_int_equal(m2->parent_span_id.len, 0);
    assert_int_equal(m2->flags, 0x100);
    assert_null(m2->status); /* UNSET is not sent */
    assert_int_equal(m2->end_time_unix_nano, 3000);
    assert_canonical(&r->base, &out);
    tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
    tycho_buf_free(&out);
    tycho_export_kvs_free(&res);
    tycho_span_free(s);
    tycho_span_free(root);
}

/* Encodes spans after what out already holds and checks the new bytes
 * against protobuf-c's packing of what they decode to; the caller frees the
 * returned request. */
static Tycho__Otlp__ExportTraceServiceRequest *encode_canonical(const tycho_export_kvs_t *res,
                                                                tycho_span_t *const *spans,
                                                                size_t n, tycho_buf_t *out)
{
    size_t before = out->len;
    assert_int_equal(tycho_otlp_encode_traces(res, spans, n, out), 0);
    assert_int_equal(out->data[out->len], 0);
    tycho_buf_t body = {out->data + before, out->len - before, 0};
    Tycho__Otlp__ExportTraceServiceRequest *r =
        tycho__otlp__export_trace_service_request__unpack(NULL, body.len, (uint8_t *)body.data);
    assert_non_null(r);
    assert_canonical(&r->base, &body);
    return r;
}

/* A span with one part holding a string of len bytes: 0 its attributes (of
 * every type), 1 an event's, 2 a link's, 3 its status message, 4 the
 * resource's value. */
static tycho_span_t *span_growing(int part, const char *text, size_t len, tycho_export_kvs_t *res)
{
    tycho_span_t *s = tycho_span_new("op", TYCHO_SPAN_KIND_SERVER, NULL);
    uint8_t id[16] = {7};
    tycho_span_set_ids(s, id, id, NULL, 0, 0x01);
    tycho_span_end(s, 2);
    if (part == 0) {
        tycho_span_set_attr(s, "v", TYCHO_AV_STRN(text, len));
        tycho_span_set_attr(s, "i", TYCHO_AV_INT(-(int64_t)len));
        tycho_span_set_attr(s, "d", TYCHO_AV_DBL(0.5));
        tycho_span_set_attr(s, "b", TYCHO_AV_BOOL(len & 1));
    } else if (part == 1) {
        tycho_span_event_t *ev = tycho_span_add_event(s, "e", 1);
        tycho_span_event_set_attr(s, ev, "bad\xff", TYCHO_AV_STRN(text, len));
        tycho_span_event_set_attr(s, ev, "n", TYCHO_AV_INT(len));
    } else if (part == 2) {
        tycho_span_link_t *ln = tycho_span_add_link(s, id, id, 0, 0, NULL);
        tycho_span_link_set_attr(s, ln, "l", TYCHO_AV_STRN(text, len));
        tycho_span_link_set_attr(s, ln, "t", TYCHO_AV_BOOL(1));
    } else if (part == 3) {
        char *msg = strndup(text, len + 1);
        tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, msg);
        free(msg);
    } else {
        char *value = strndup(text, len);
        tycho_export_kvs_set(res, "service.name", value);
        free(value);
    }
    return s;
}

/* Each sub-message's length (span, event, link, status, attribute,
 * resource) crosses 127 and 16383 bytes a byte at a time, so its prefix
 * takes 1, 2 or 3 bytes; the body follows text already in the buffer,
 * which it keeps. */
static void test_otlp_lengths(void **state)
{
    (void)state;
    static char text[16500];
    memset(text, 'x', sizeof text - 1);
    size_t ranges[][2] = {{0, 200}, {16200, sizeof text - 2}};
    for (int part = 0; part < 5; part++) {
        for (size_t k = 0; k < 2; k++) {
            for (size_t len = ranges[k][0]; len <= ranges[k][1]; len++) {
                tycho_export_kvs_t res = {0};
                tycho_span_t *s = span_growing(part, text, len, &res);
                tycho_buf_t out = TYCHO_BUF_INIT;
                assert_int_equal(tycho_buf_puts(&out, "kept"), 0);
                Tycho__Otlp__ExportTraceServiceRequest *r = encode_canonical(&res, &s, 1, &out);
                assert_memory_equal(out.data, "kept", 4);
                tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
                tycho_buf_free(&out);
                tycho_export_kvs_free(&res);
                tycho_span_free(s);
            }
        }
    }
}

/* Batches whose ScopeSpans and ResourceSpans lengths take 2, 3 and 4 bytes,
 * and spans of 3 and 4: the buffer grows from empty through all of them. */
static void test_otlp_batch_lengths(void **state)
{
    (void)state;
    size_t big = 3u << 20;
    char *text = filled(big, 'y');
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    lim.max_bytes = big + 4096;
    tycho_span_t *spans[600];
    for (size_t i = 0; i < 600; i++) {
        spans[i] = tycho_span_new("GET /hello", TYCHO_SPAN_KIND_SERVER, &lim);
        tycho_span_set_key(spans[i], TYCHO_KEY_HTTP_REQUEST_METHOD, TYCHO_AV_UTF8N("GET", 3));
        tycho_span_set_key(spans[i], TYCHO_KEY_URL_PATH, TYCHO_AV_STRN("/hello", 6));
        tycho_span_set_key(spans[i], TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE, TYCHO_AV_INT(200));
        tycho_span_end(spans[i], 5);
    }
    size_t sizes[] = {20, 600}; /* ~2 KiB, ~60 KiB */
    for (size_t k = 0; k < 2; k++) {
        tycho_buf_t out = TYCHO_BUF_INIT;
        Tycho__Otlp__ExportTraceServiceRequest *r = encode_canonical(NULL, spans, sizes[k], &out);
        assert_int_equal(r->resource_spans[0]->scope_spans[0]->n_spans, sizes[k]);
        tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
        tycho_buf_free(&out);
    }
    /* 1 MiB (a 3-byte length) and 3 MiB (4 bytes) in one attribute */
    tycho_span_set_attr(spans[0], "large", TYCHO_AV_STRN(text, 1u << 20));
    tycho_span_set_attr(spans[1], "huge", TYCHO_AV_STRN(text, big));
    tycho_buf_t out = TYCHO_BUF_INIT;
    Tycho__Otlp__ExportTraceServiceRequest *r = encode_canonical(NULL, spans, 3, &out);
    Tycho__Otlp__Span **m = r->resource_spans[0]->scope_spans[0]->spans;
    assert_int_equal(strlen(attr(m[1]->attributes, m[1]->n_attributes, "huge")->string_value), big);
    tycho__otlp__export_trace_service_request__free_unpacked(r, NULL);
    tycho_buf_free(&out);
    for (size_t i = 0; i < 600; i++)
        tycho_span_free(spans[i]);
    free(text);
}

static void test_otlp_response(void **state)
{
    (void)state;
    int64_t rejected;
    char msg[100];
    assert_int_equal(tycho_otlp_parse_response("", 0, &rejected, msg, sizeof msg), 0);
    assert_int_equal(rejected, 0);
    Tycho__Otlp__ExportTracePartialSuccess ps = TYCHO__OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = 3;
    ps.error_message = "too old";
    Tycho__Otlp__ExportTraceServiceResponse resp = TYCHO__OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    resp.partial_success = &ps;
    uint8_t buf[64];
    size_t n = tycho__otlp__export_trace_service_response__pack(&resp, buf);
    assert_int_equal(tycho_otlp_parse_response(buf, n, &rejected, msg, sizeof msg), 0);
    assert_int_equal(rejected, 3);
    assert_string_equal(msg, "too old");
    /* only the start of a body is kept: what it holds counts */
    char long_msg[300];
    memset(long_msg, 'm', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = 0;
    ps.error_message = long_msg;
    uint8_t big[400];
    n = tycho__otlp__export_trace_service_response__pack(&resp, big);
    assert_true(n > 300);
    assert_int_equal(tycho_otlp_parse_response(big, 50, &rejected, msg, sizeof msg), 0);
    assert_int_equal(rejected, 3);
    assert_int_equal(strlen(msg), 50 - 8); /* tags, lengths, the count: 3 + 2 + 3 bytes */
    assert_int_equal(tycho_otlp_parse_response(big, 5, &rejected, msg, sizeof msg), 0);
    assert_int_equal(rejected, 3);
    assert_string_equal(msg, "");
    /* not a response: wire type 7, field 0 */
    assert_int_equal(tycho_otlp_parse_response("\x0f", 1, &rejected, msg, sizeof msg), -EINVAL);
    assert_int_equal(tycho_otlp_parse_response("\x00\x01", 2, &rejected, msg, sizeof msg), -EINVAL);
    /* Found by fuzz_otlp_response's review: field 2^32 + 1 (a 6-byte tag)
     * was cut to an unsigned and read as partial_success {rejected_spans: 5};
     * protobuf refuses a field number past 2^29 - 1 */
    assert_int_equal(tycho_otlp_parse_response("\x8a\x80\x80\x80\x80\x01\x02\x08\x05", 9,
                                               &rejected, msg, sizeof msg),
                     -EINVAL);
    /* the largest field number is an unknown field, skipped */
    assert_int_equal(tycho_otlp_parse_response("\xfa\xff\xff\xff\x0f\x02\x08\x05", 8,
                                               &rejected, msg, sizeof msg),
                     0);
    assert_int_equal(rejected, 0);
}

/* --- remote write ------------------------------------------------------- */

static tycho_metrics_t *sample_registry(void)
{
    tycho_metrics_t *r = tycho_metrics_new(1, 0);
    char err[200];
    static const char *const lab2[] = {"route", "method"};
    static const char *const lab_inst[] = {"Alpha", "instance"};
    static const char *const lab1[] = {"route"};
    static const double b[] = {0.1, 1, 2.5};
    tycho_metric_t *c, *g, *h, *ci;
    tycho_metric_opts_t o = {.name = "http_requests_total",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = lab2,
                             .nlabels = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &c, err, sizeof err), 0);
    o = (tycho_metric_opts_t){.name = "up_gauge", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &o, &g, err, sizeof err), 0);
    o = (tycho_metric_opts_t){.name = "Zeta_counter_total",
                              .type = TYCHO_METRIC_COUNTER,
                              .label_names = lab_inst,
                              .nlabels = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &ci, err, sizeof err), 0);
    o = (tycho_metric_opts_t){.name = "latency_seconds",
                              .type = TYCHO_METRIC_HISTOGRAM,
                              .label_names = lab1,
                              .nlabels = 1,
                              .buckets = b,
                              .nbuckets = 3};
    assert_int_equal(tycho_metrics_register(r, &o, &h, err, sizeof err), 0);
    const char *v1[] = {"/a", "GET"}, *v2[] = {"/a", ""}, *vi[] = {"A", "own:1"}, *vh[] = {"/b"};
    tycho_metric_inc(c, 0, v1, 5);
    tycho_metric_inc(c, 0, v2, 2); /* method "" is left out */
    tycho_metric_set(g, 0, NULL, 1);
    tycho_metric_inc(ci, 0, vi, 1);
    tycho_metric_observe(h, 0, vh, 0.05);
    tycho_metric_observe(h, 0, vh, 2);
    tycho_metric_observe(h, 0, vh, 7);
    return r;
}

static Tycho__Prw__TimeSeries *find_series(Tycho__Prw__WriteRequest *w, const char *name,
                                           const char *lname, const char *lvalue)
{
    for (size_t i = 0; i < w->n_timeseries; i++) {
        Tycho__Prw__TimeSeries *t = w->timeseries[i];
        int name_ok = 0, label_ok = !lname;
        for (size_t j = 0; j < t->n_labels; j++) {
            if (!strcmp(t->labels[j]->name, "__name__") && !strcmp(t->labels[j]->value, name))
                name_ok = 1;
            if (lname && !strcmp(t->labels[j]->name, lname) && !strcmp(t->labels[j]->value, lvalue))
                label_ok = 1;
        }
        if (name_ok && label_ok) return t;
    }
    return NULL;
}

static const char *label(const Tycho__Prw__TimeSeries *t, const char *name)
{
    for (size_t j = 0; j < t->n_labels; j++)
        if (!strcmp(t->labels[j]->name, name)) return t->labels[j]->value;
    return NULL;
}

typedef struct emitted {
    size_t bodies, samples;
} emitted_t;

static int emit(tycho_buf_t *body, size_t n, void *ud)
{
    emitted_t *acc = ud;
    assert_true(n <= 3);
    tycho_buf_t raw = unsnappy(body);
    Tycho__Prw__WriteRequest *w =
        tycho__prw__write_request__unpack(NULL, raw.len, (uint8_t *)raw.data);
    assert_non_null(w);
    assert_int_equal(w->n_timeseries, n);
    tycho__prw__write_request__free_unpacked(w, NULL);
    tycho_buf_free(&raw);
    acc->bodies++;
    acc->samples += n;
    return 0;
}

static void test_remote_write(void **state)
{
    (void)state;
    tycho_metrics_t *reg = sample_registry();
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(reg);
    tycho_rw_options_t o = {"tycho", "host:8080", 0, 0};
    tycho_buf_t raw = TYCHO_BUF_INIT;
    assert_int_equal(tycho_rw_encode_raw(snap, &o, &raw), 0);
    Tycho__Prw__WriteRequest *w =
        tycho__prw__write_request__unpack(NULL, raw.len, (uint8_t *)raw.data);
    assert_non_null(w);
    for (size_t i = 0; i < w->n_timeseries; i++) {
        Tycho__Prw__TimeSeries *t = w->timeseries[i];
        assert_int_equal(t->n_samples, 1);
        assert_int_equal(t->samples[0]->timestamp, snap->timestamp_ms);
        for (size_t j = 1; j < t->n_labels; j++) /* sorted by bytes, no duplicates */
            assert_true(strcmp(t->labels[j - 1]->name, t->labels[j]->name) < 0);
        for (size_t j = 0; j < t->n_labels; j++)
            assert_true(t->labels[j]->value[0] != 0);
    }
    Tycho__Prw__TimeSeries *t = find_series(w, "http_requests_total", "method", "GET");
    assert_non_null(t);
    assert_int_equal(t->n_labels, 5);
    assert_string_equal(t->labels[0]->name, "__name__");
    assert_string_equal(label(t, "job"), "tycho");
    assert_string_equal(label(t, "instance"), "host:8080");
    assert_true(t->samples[0]->value == 5);
    t = find_series(w, "http_requests_total", "route", "/a");
    assert_non_null(t);
    int seen_empty = 0;
    for (size_t i = 0; i < w->n_timeseries; i++) {
        Tycho__Prw__TimeSeries *x = w->timeseries[i];
        const char *n = label(x, "__name__");
        if (!strcmp(n, "http_requests_total") && !label(x, "method")) {
            seen_empty = 1;
            assert_true(x->samples[0]->value == 2);
        }
    }
    assert_true(seen_empty);
    /* a label of the series' own wins over the configured one; uppercase sorts first */
    t = find_series(w, "Zeta_counter_total", NULL, NULL);
    assert_string_equal(label(t, "instance"), "own:1");
    assert_int_equal(t->n_labels, 4);
    assert_string_equal(t->labels[0]->name, "Alpha"); /* 'A' < '_' < 'i' < 'j' */
    assert_string_equal(t->labels[1]->name, "__name__");
    assert_string_equal(t->labels[2]->name, "instance");
    assert_string_equal(t->labels[3]->name, "job");
    /* histograms: cumulative buckets with +Inf, _sum, _count */
    struct {
        const char *le;
        double v;
    } want[] = {{"0.1", 1}, {"1", 1}, {"2.5", 2}, {"+Inf", 3}};
    for (size_t i = 0; i < 4; i++) {
        t = find_series(w, "latency_seconds_bucket", "le", want[i].le);
        if (!t) fail_msg("no bucket le=%s", want[i].le);
        assert_true(t->samples[0]->value == want[i].v);
        assert_string_equal(label(t, "route"), "/b");
    }
    t = find_series(w, "latency_seconds_sum", NULL, NULL);
    assert_true(t->samples[0]->value == 9.05);
    assert_null(label(t, "le"));
    t = find_series(w, "latency_seconds_count", NULL, NULL);
    assert_true(t->samples[0]->value == 3);
    assert_null(find_series(w, "latency_seconds", NULL, NULL));
    size_t total = w->n_timeseries;
    tycho__prw__write_request__free_unpacked(w, NULL);
    tycho_buf_free(&raw);

    /* stale markers: the same series, each sample the stale NaN's exact bits */
    o.stale = 1;
    assert_int_equal(tycho_rw_encode_raw(snap, &o, &raw), 0);
    w = tycho__prw__write_request__unpack(NULL, raw.len, (uint8_t *)raw.data);
    assert_non_null(w);
    assert_int_equal(w->n_timeseries, total);
    for (size_t i = 0; i < w->n_timeseries; i++) {
        uint64_t bits;
        memcpy(&bits, &w->timeseries[i]->samples[0]->value, sizeof bits);
        assert_true(bits == TYCHO_RW_STALE_NAN_BITS);
        assert_int_equal(w->timeseries[i]->samples[0]->timestamp, snap->timestamp_ms);
    }
    assert_non_null(find_series(w, "latency_seconds_bucket", "le", "+Inf"));
    assert_non_null(find_series(w, "http_requests_total", "method", "GET"));
    tycho__prw__write_request__free_unpacked(w, NULL);
    tycho_buf_free(&raw);
    o.stale = 0;

    /* split into requests of at most 3 samples, every body snappy block */
    emitted_t acc = {0, 0};
    tycho_rw_options_t o3 = {"tycho", "host:8080", 3, 0};
    assert_int_equal(tycho_rw_encode(snap, &o3, emit, &acc), 0);
    assert_int_equal(acc.samples, total);
    assert_int_equal(acc.bodies, (total + 2) / 3);
    tycho_metrics_snapshot_free(snap);
    tycho_metrics_free(reg);
}

/* --- Loki --------------------------------------------------------------- */

static void test_loki_time(void **state)
{
    (void)state;
    int64_t ns;
    const char *t1 = "2026-11-25T16:22:32.123456789Z";
    assert_int_equal(tycho_loki_parse_time(t1, strlen(t1), &ns), 0);
    assert_int_equal(ns, 1795623752123456789LL);
    /* the same second again (read from the cache), then its rest is still checked */
    const char *t1b = "2026-11-25T16:22:32.000000001Z";
    assert_int_equal(tycho_loki_parse_time(t1b, strlen(t1b), &ns), 0);
    assert_int_equal(ns, 1795623752000000001LL);
    assert_int_equal(tycho_loki_parse_time("2026-11-25T16:22:32x", 20, &ns), -1);
    assert_int_equal(tycho_loki_parse_time(t1, 19, &ns), -1);
    const char *t2 = "2026-11-25T17:22:32.5+01:00";
    assert_int_equal(tycho_loki_parse_time(t2, strlen(t2), &ns), 0);
    assert_int_equal(ns, 1795623752500000000LL);
    const char *t3 = "1970-01-01T00:00:00Z";
    assert_int_equal(tycho_loki_parse_time(t3, strlen(t3), &ns), 0);
    assert_int_equal(ns, 0);
    const char *bad[] = {"2026-11-25",
                         "2026-13-01T00:00:00Z",
                         "2026-11-25T16:22:32",
                         "2026-11-25T16:22:32.Z",
                         "2026-11-25T16:22:32Zjunk",
                         "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tycho_loki_parse_time(bad[i], strlen(bad[i]), &ns), -1);

    /* int64 ns hold years 1677-2262 only: outside, no time */
    const char *far[] = {"0001-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z",
                         "9999-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        assert_int_equal(tycho_loki_parse_time(far[i], strlen(far[i]), &ns), -1);
    const char *edge = "2262-04-11T23:47:16.854775807Z"; /* INT64_MAX ns */
    assert_int_equal(tycho_loki_parse_time(edge, strlen(edge), &ns), 0);
    assert_true(ns == INT64_MAX);

    /* the calendar arithmetic agrees with timegm(3), rolled-over days and
     * leap seconds included, over the years int64 ns can hold */
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int y = 1678 + (int)(seed >> 8) % 584; /* 1678-2261 */
        seed = seed * 1103515245u + 12345u;
        int mo = 1 + (int)(seed >> 8) % 12, d = 1 + (int)(seed >> 12) % 31;
        seed = seed * 1103515245u + 12345u;
        int h = (int)(seed >> 8) % 24, mi = (int)(seed >> 12) % 60, sec = (int)(seed >> 16) % 61;
        if (i < 4) y = (int[]){1904, 1969, 2000, 2100}[i], mo = 2, d = 29 + i % 3;
        char t[40];
        snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, sec);
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = sec};
        int64_t want = (int64_t)timegm(&tm) * 1000000000;
        assert_int_equal(tycho_loki_parse_time(t, strlen(t), &ns), 0);
        assert_int_equal(ns, want);
    }
}

static void test_loki_entry(void **state)
{
    (void)state;
    const char *l1 = "{\"time\":\"2026-01-01T00:00:00Z\",\"level\":\"WARNING\",\"msg\":\"m\","
                     "\"service\":\"api\",\"trace_id\":\"t\\u0031\",\"span_id\":\"s1\","
                     "\"request_id\":\"r1\",\"x\":{\"level\":\"debug\"}}\n";
    tycho_loki_entry_t *e = tycho_loki_entry_new(l1, strlen(l1), 0);
    assert_int_equal(e->has_time, 1);
    assert_int_equal(e->ts_ns, 1767225600000000000LL);
    assert_string_equal(e->level, "warn");
    assert_string_equal(e->service, "api");
    assert_string_equal(e->trace_id, "t1");
    assert_string_equal(e->span_id, "s1");
    assert_string_equal(e->request_id, "r1");
    assert_int_equal(e->line_len, strlen(l1) - 1); /* newline dropped */
    free(e);

    e = tycho_loki_entry_new("plain text", 10, 0);
    assert_int_equal(e->has_time, 0); /* the caller stamps it */
    assert_string_equal(e->level, "unknown");
    assert_null(e->service);
    assert_null(e->trace_id);
    free(e);

    /* bounded fields: a huge or control-laden value is not a label or id */
    char big[600];
    int n = snprintf(big, sizeof big,
                     "{\"level\":\"info\",\"service\":\"%0300d\",\"trace_id\":\"a\\nb\"}", 0);
    e = tycho_loki_entry_new(big, (size_t)n, 0);
    assert_null(e->service);
    assert_null(e->trace_id);
    assert_string_equal(e->level, "info");
    free(e);

    /* truncated JSON still gives what came before the damage */
    const char *l3 = "{\"level\":\"error\",\"msg\":\"unterminated";
    e = tycho_loki_entry_new(l3, strlen(l3), 0);
    assert_string_equal(e->level, "error");
    free(e);

    /* a control byte anywhere in an id (raw 0x7F, or \u0001 unescaped) refuses it */
    for (int at = 0; at < 20; at++) {
        char id[32], l8[160];
        memset(id, 'a', 20);
        id[20] = 0;
        snprintf(l8, sizeof l8, "{\"span_id\":\"%s\",\"trace_id\":\"%.*s\\u0001%s\"}", id, at, id,
                 id + at + 1);
        id[at] = 0x7f;
        memcpy(strstr(l8, "aaaa"), id, 20);
        e = tycho_loki_entry_new(l8, strlen(l8), TYCHO_LOKI_LINE_UTF8);
        assert_null(e->span_id);
        assert_null(e->trace_id);
        free(e);
    }

    /* quotes inside strings: escaped ones do not end them, an escaped
     * backslash before a quote does not escape it */
    const char *l7 = "{\"msg\":\"a \\\"level\\\":\\\"error\\\\\",\"x\":\"\\\\\\\"\","
                     "\"level\":\"debug\",\"service\":\"s\\\\\"}";
    e = tycho_loki_entry_new(l7, strlen(l7), 0);
    assert_string_equal(e->level, "debug");
    assert_string_equal(e->service, "s\\");
    free(e);

    /* the scan stops once all six fields are found: later keys (and damage)
     * cannot change them, as the first occurrence of a key wins anyway */
    const char *l4 = "{\"time\":\"2026-01-01T00:00:01Z\",\"level\":\"info\",\"msg\":\"m\","
                     "\"service\":\"api\",\"request_id\":\"r\",\"trace_id\":\"t\","
                     "\"span_id\":\"s\",\"level\":\"error\",\"trace_id\":\"u\",broken";
    e = tycho_loki_entry_new(l4, strlen(l4), TYCHO_LOKI_LINE_UTF8);
    assert_int_equal(e->utf8, 1);
    assert_string_equal(e->level, "info");
    assert_string_equal(e->trace_id, "t");
    assert_string_equal(e->span_id, "s");
    assert_string_equal(e->request_id, "r");
    assert_int_equal(e->ts_ns, 1767225601000000000LL);
    free(e);
    /* a non-string first occurrence does not count: a later string one is taken */
    const char *l5 = "{\"trace_id\":7,\"trace_id\":\"t2\"}";
    e = tycho_loki_entry_new(l5, strlen(l5), TYCHO_LOKI_LINE_UTF8);
    assert_string_equal(e->trace_id, "t2");
    free(e);
    /* on a trusted line an escaped id is still checked: a lone surrogate
     * unescapes to U+FFFD, which is valid, and a control byte is refused */
    const char *l6 = "{\"span_id\":\"a\\u0001\",\"trace_id\":\"\\ud800x\"}";
    e = tycho_loki_entry_new(l6, strlen(l6), TYCHO_LOKI_LINE_UTF8);
    assert_null(e->span_id);
    assert_string_equal(e->trace_id, "\xEF\xBF\xBDx");
    free(e);
}

static void assert_same_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_true(a == b);
    else
        assert_string_equal(a, b);
}

/* The fast path for the logger's lines takes what the general scan takes:
 * each line here is read as its twin, which differs only in ways that keep
 * it off the fast path (whitespace, key order). */
static void test_loki_logger_lines(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        /* as tycho_log_write writes it */
        {"{\"time\":\"2026-11-26T00:25:57.343358669Z\",\"level\":\"info\",\"msg\":\"hello\","
         "\"service\":\"tycho\",\"request_id\":\"r1\",\"trace_id\":\"t1\",\"span_id\":\"s1\","
         "\"route\":\"/hello\"}\n",
         "{ \"time\" : \"2026-11-26T00:25:57.343358669Z\", \"level\": \"info\", \"msg\": \"hello\","
         " \"service\": \"tycho\", \"request_id\": \"r1\", \"trace_id\": \"t1\", \"span_id\": "
         "\"s1\","
         " \"route\": \"/hello\"}"},
        /* no context ids: a later member of the same name is taken */
        {"{\"time\":\"2026-11-26T00:25:57Z\",\"level\":\"warn\",\"msg\":\"m\",\"service\":\"s\","
         "\"x\":1,\"trace_id\":\"late\",\"level\":\"error\"}",
         "{\"level\":\"warn\",\"time\":\"2026-11-26T00:25:57Z\",\"msg\":\"m\",\"service\":\"s\","
         "\"x\":1,\"trace_id\":\"late\",\"level\":\"error\"}"},
        /* escapes in the values, a key repeated out of order */
        {"{\"time\":\"2026-11-26T00:25:57Z\",\"level\":\"\\u0045RROR\",\"msg\":\"a\\\"b\","
         "\"service\":\"s\\\\\",\"level\":\"info\",\"span_id\":\"p\"}",
         "{\"level\":\"\\u0045RROR\",\"time\":\"2026-11-26T00:25:57Z\",\"msg\":\"a\\\"b\","
         "\"service\":\"s\\\\\",\"level\":\"info\",\"span_id\":\"p\"}"},
        /* a value that is not a string, damage inside the start */
        {"{\"time\":\"2026-11-26T00:25:57Z\",\"level\":\"info\",\"msg\":null,\"service\":\"s\"}",
         "{\"level\":\"info\",\"time\":\"2026-11-26T00:25:57Z\",\"msg\":null,\"service\":\"s\"}"},
        {"{\"time\":\"2026-11-26T00:25:57Z\",\"level\":\"debug\",\"msg\":\"cut",
         "{\"level\":\"debug\",\"time\":\"2026-11-26T00:25:57Z\",\"msg\":\"cut"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        tycho_loki_entry_t *a = tycho_loki_entry_new(pairs[i][0], strlen(pairs[i][0]), 0);
        tycho_loki_entry_t *b = tycho_loki_entry_new(pairs[i][1], strlen(pairs[i][1]), 0);
        assert_int_equal(a->has_time, 1);
        assert_int_equal(a->has_time, b->has_time);
        assert_true(a->ts_ns == b->ts_ns);
        assert_string_equal(a->level, b->level);
        assert_same_str(a->service, b->service);
        assert_same_str(a->trace_id, b->trace_id);
        assert_same_str(a->span_id, b->span_id);
        assert_same_str(a->request_id, b->request_id);
        free(a);
        free(b);
    }
    tycho_loki_entry_t *e = tycho_loki_entry_new(pairs[1][0], strlen(pairs[1][0]), 0);
    assert_string_equal(e->level, "warn");
    assert_string_equal(e->trace_id, "late");
    free(e);
    e = tycho_loki_entry_new(pairs[2][0], strlen(pairs[2][0]), 0);
    assert_string_equal(e->level, "error");
    assert_string_equal(e->service, "s\\");
    free(e);
}

/* Encodes entries (protobuf + snappy) into z and decodes them back: raw is
 * the unsnappied body, checked canonical. */
static Tycho__Loki__PushRequest *loki_round_trip(tycho_loki_entry_t *const *en, size_t n,
                                                 const tycho_loki_options_t *o, tycho_buf_t *z,
                                                 tycho_buf_t *raw)
{
    assert_int_equal(tycho_loki_encode(en, n, o, z), 0);
    *raw = unsnappy(z);
    Tycho__Loki__PushRequest *p =
        tycho__loki__push_request__unpack(NULL, raw->len, (uint8_t *)raw->data);
    assert_non_null(p);
    assert_canonical(&p->base, raw);
    return p;
}

/* Edge cases of the wire format: a time before 1970 (a 10-byte varint), the
 * epoch itself (an empty Timestamp), an empty line (left out), invalid
 * UTF-8 in an untrusted line (replaced). */
static void test_loki_wire_edges(void **state)
{
    (void)state;
    const char *lines[] = {"{\"time\":\"1969-12-31T23:59:59.5Z\",\"msg\":\"old\"}",
                           "{\"time\":\"1970-01-01T00:00:00Z\",\"trace_id\":\"t\"}", "",
                           "{\"msg\":\"bad \xff\"}"};
    tycho_loki_entry_t *en[4];
    for (int i = 0; i < 4; i++) {
        assert_non_null(en[i] = tycho_loki_entry_new(lines[i], strlen(lines[i]), 0));
        if (!en[i]->has_time) en[i]->ts_ns = 3;
    }
    tycho_loki_options_t o = {NULL, NULL, 0, NULL, 0};
    tycho_buf_t z = TYCHO_BUF_INIT;
    tycho_buf_t raw;
    Tycho__Loki__PushRequest *p = loki_round_trip(en, 4, &o, &z, &raw);
    assert_int_equal(p->n_streams, 1);
    Tycho__Loki__StreamAdapter *s = p->streams[0];
    assert_string_equal(s->labels, "{level=\"unknown\", service=\"unknown_service:tycho\"}");
    assert_int_equal(s->n_entries, 4);
    assert_int_equal(s->entries[0]->timestamp->seconds, -1); /* sorted by time */
    assert_int_equal(s->entries[0]->timestamp->nanos, 500000000);
    assert_int_equal(s->entries[1]->timestamp->seconds, 0);
    assert_int_equal(s->entries[1]->timestamp->nanos, 0);
    assert_string_equal(s->entries[1]->structured_metadata[0]->value, "t");
    assert_string_equal(s->entries[2]->line, "");
    assert_string_equal(s->entries[3]->line, "{\"msg\":\"bad \xEF\xBF\xBD\"}");
    tycho__loki__push_request__free_unpacked(p, NULL);
    tycho_buf_free(&raw);
    tycho_buf_free(&z);
    for (int i = 0; i < 4; i++)
        free(en[i]);
}

/* Encodes the one entry of line x^len (structured metadata when meta) and
 * checks it back: its line, and the body against protobuf-c's packing. */
static void loki_one_line(const char *text, size_t len, int meta, tycho_buf_t *scratch)
{
    tycho_loki_entry_t *en = tycho_loki_entry_new(text, len, meta ? 0 : TYCHO_LOKI_LINE_UTF8);
    assert_non_null(en);
    en->ts_ns = 1767225600123456789;
    if (meta) {
        en->request_id = "0123456789abcdef";
        en->request_id_len = 16;
    }
    tycho_loki_options_t o = {NULL, NULL, 0, scratch, 0};
    tycho_buf_t z = TYCHO_BUF_INIT, raw;
    Tycho__Loki__PushRequest *p = loki_round_trip(&en, 1, &o, &z, &raw);
    Tycho__Loki__EntryAdapter *e = p->streams[0]->entries[0];
    assert_int_equal(strlen(e->line), len);
    assert_int_equal(e->n_structured_metadata, meta ? 1 : 0);
    tycho__loki__push_request__free_unpacked(p, NULL);
    tycho_buf_free(&raw);
    tycho_buf_free(&z);
    free(en);
}

/* Entries and streams whose lengths take 1 to 4 bytes, each length across
 * 127 and 16383 (the guesses are 2 bytes for an entry, 3 for a stream), and
 * a stream of many short entries. */
static void test_loki_lengths(void **state)
{
    (void)state;
    size_t big = 3u << 20;
    char *text = filled(big, 'x');
    tycho_buf_t scratch = TYCHO_BUF_INIT;
    size_t ranges[][2] = {{0, 200}, {16200, 16500}};
    for (size_t k = 0; k < 2; k++)
        for (size_t len = ranges[k][0]; len <= ranges[k][1]; len++)
            loki_one_line(text, len, (int)(len & 1), &scratch);
    loki_one_line(text, 1u << 20, 1, NULL); /* 3-byte lengths */
    loki_one_line(text, big, 0, &scratch);  /* 4-byte lengths */
    tycho_buf_free(&scratch);

    tycho_loki_entry_t *en[300];
    for (size_t i = 0; i < 300; i++) {
        assert_non_null(en[i] = tycho_loki_entry_new(text, 90 + i % 40, 0));
        en[i]->ts_ns = (int64_t)i;
    }
    tycho_loki_options_t o = {NULL, NULL, 0, NULL, 0};
    /* entries of 1- and 2-byte lengths in a stream of 2 bytes, then of 3 */
    size_t counts[] = {100, 300};
    for (size_t k = 0; k < 2; k++) {
        tycho_buf_t z = TYCHO_BUF_INIT, raw;
        Tycho__Loki__PushRequest *p = loki_round_trip(en, counts[k], &o, &z, &raw);
        assert_int_equal(p->streams[0]->n_entries, counts[k]);
        tycho__loki__push_request__free_unpacked(p, NULL);
        tycho_buf_free(&raw);
        tycho_buf_free(&z);
    }
    for (size_t i = 0; i < 300; i++)
        free(en[i]);
    free(text);
}

static void test_loki_encode(void **state)
{
    (void)state;
    const char *lines[] = {
        "{\"time\":\"2026-01-01T00:00:02Z\",\"level\":\"info\",\"service\":\"api\",\"msg\":\"b\","
        "\"trace_id\":\"t2\"}",
        "{\"time\":\"2026-01-01T00:00:01Z\",\"level\":\"info\",\"service\":\"api\",\"msg\":\"a\","
        "\"request_id\":\"r1\"}",
        "{\"time\":\"2026-01-01T00:00:03Z\",\"level\":\"error\",\"service\":\"api\",\"msg\":\"c\"}",
        "{\"time\":\"2026-01-01T00:00:00Z\",\"level\":\"info\",\"service\":\"q\\\"x\",\"msg\":"
        "\"d\"}",
        "no json",
    };
    tycho_loki_entry_t *en[5];
    for (int i = 0; i < 5; i++)
        if (!(en[i] = tycho_loki_entry_new(lines[i], strlen(lines[i]), 0))->has_time)
            en[i]->ts_ns = 7;
    tycho_export_kvs_t labels = {0};
    tycho_export_kvs_set(&labels, "app", "tycho");
    tycho_export_kvs_set(&labels, "zone", "b");
    tycho_loki_options_t o = {&labels, "defsvc", 0, NULL, 0};
    tycho_buf_t z = TYCHO_BUF_INIT;
    tycho_buf_t raw;
    Tycho__Loki__PushRequest *p = loki_round_trip(en, 5, &o, &z, &raw);
    assert_int_equal(p->n_streams, 4);
    /* first-seen order; labels sorted by name; Go-style escapes */
    assert_string_equal(p->streams[0]->labels,
                        "{app=\"tycho\", level=\"info\", service=\"api\", zone=\"b\"}");
    assert_string_equal(p->streams[1]->labels,
                        "{app=\"tycho\", level=\"error\", service=\"api\", zone=\"b\"}");
    assert_string_equal(p->streams[2]->labels,
                        "{app=\"tycho\", level=\"info\", service=\"q\\\"x\", zone=\"b\"}");
    assert_string_equal(p->streams[3]->labels,
                        "{app=\"tycho\", level=\"unknown\", service=\"defsvc\", zone=\"b\"}");
    Tycho__Loki__StreamAdapter *s0 = p->streams[0];
    assert_int_equal(s0->n_entries, 2);
    assert_string_equal(s0->entries[0]->line, lines[1]); /* sorted by time */
    assert_int_equal(s0->entries[0]->timestamp->seconds, 1767225601);
    assert_int_equal(s0->entries[0]->timestamp->nanos, 0);
    assert_int_equal(s0->entries[0]->n_structured_metadata, 1);
    assert_string_equal(s0->entries[0]->structured_metadata[0]->name, "request_id");
    assert_string_equal(s0->entries[0]->structured_metadata[0]->value, "r1");
    assert_string_equal(s0->entries[1]->line, lines[0]);
    assert_string_equal(s0->entries[1]->structured_metadata[0]->name, "trace_id");
    assert_int_equal(p->streams[3]->entries[0]->timestamp->nanos, 7);
    tycho__loki__push_request__free_unpacked(p, NULL);
    tycho_buf_free(&raw);

    /* trusted lines (these are valid UTF-8) and a reused scratch buffer:
     * the same bytes, push after push */
    tycho_buf_t scratch = TYCHO_BUF_INIT, z2 = TYCHO_BUF_INIT;
    o.scratch = &scratch;
    for (int i = 0; i < 5; i++)
        en[i]->utf8 = 1;
    for (int round = 0; round < 2; round++) {
        tycho_buf_reset(&z2);
        assert_int_equal(tycho_loki_encode(en, 5, &o, &z2), 0);
        assert_int_equal(z2.len, z.len);
        assert_memory_equal(z2.data, z.data, z.len);
    }
    o.scratch = NULL;
    tycho_buf_free(&scratch);
    tycho_buf_free(&z2);
    tycho_buf_free(&z);

    /* JSON: timestamps as strings, metadata as the third element */
    o.json = 1;
    tycho_buf_t j = TYCHO_BUF_INIT;
    assert_int_equal(tycho_loki_encode(en, 5, &o, &j), 0);
    cJSON *doc = cJSON_Parse(j.data);
    assert_non_null(doc);
    cJSON *streams = cJSON_GetObjectItem(doc, "streams");
    assert_int_equal(cJSON_GetArraySize(streams), 4);
    cJSON *st0 = cJSON_GetArrayItem(streams, 0);
    cJSON *lab = cJSON_GetObjectItem(st0, "stream");
    assert_string_equal(cJSON_GetObjectItem(lab, "service")->valuestring, "api");
    assert_string_equal(cJSON_GetObjectItem(lab, "zone")->valuestring, "b");
    cJSON *v0 = cJSON_GetArrayItem(cJSON_GetObjectItem(st0, "values"), 0);
    assert_string_equal(cJSON_GetArrayItem(v0, 0)->valuestring, "1767225601000000000");
    assert_string_equal(cJSON_GetArrayItem(v0, 1)->valuestring, lines[1]);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v0, 2), "request_id")->valuestring,
                        "r1");
    cJSON *st2 = cJSON_GetArrayItem(streams, 2);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(st2, "stream"), "service")->valuestring, "q\"x");
    cJSON_Delete(doc);

    /* TYCHO_LOKI_STRUCTURED_METADATA=off: the ids stay in the lines only */
    o.no_metadata = 1;
    tycho_buf_reset(&j);
    assert_int_equal(tycho_loki_encode(en, 5, &o, &j), 0);
    assert_non_null(doc = cJSON_Parse(j.data));
    cJSON *st, *v;
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "streams"))
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(st, "values"))
            assert_int_equal(cJSON_GetArraySize(v), 2);
    v0 = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "streams"), 0), "values"),
        0);
    assert_string_equal(cJSON_GetArrayItem(v0, 1)->valuestring, lines[1]);
    cJSON_Delete(doc);
    o.json = 0;
    tycho_buf_reset(&z);
    p = loki_round_trip(en, 5, &o, &z, &raw);
    for (size_t i = 0; i < p->n_streams; i++)
        for (size_t k = 0; k < p->streams[i]->n_entries; k++)
            assert_int_equal(p->streams[i]->entries[k]->n_structured_metadata, 0);
    assert_string_equal(p->streams[0]->entries[0]->line, lines[1]);
    tycho__loki__push_request__free_unpacked(p, NULL);
    tycho_buf_free(&raw);
    tycho_buf_free(&z);
    tycho_buf_free(&j);
    for (int i = 0; i < 5; i++)
        free(en[i]);
    tycho_export_kvs_free(&labels);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* gzip: an RFC 1952 member (magic, deflate, the CRC-32 and size of the
 * input, checked with tycho's own CRC), appended after what out held; a
 * compressor serves body after body; an empty body is a valid member too. */
static void test_gzip(void **state)
{
    (void)state;
    tycho_export_gzip_t *g = tycho_export_gzip_new();
    assert_non_null(g);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    assert_non_null(d);
    size_t n = 200000;
    char *in = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++) /* spans-like: repeats, with some noise */
        in[i] = (char)("http.request.method GET url.path /hello "[i % 40] ^ (i % 997 == 0));
    for (int round = 0; round < 3; round++) {
        size_t len = round == 2 ? 0 : n >> round;
        tycho_buf_t out = TYCHO_BUF_INIT;
        tycho_buf_puts(&out, "prefix");
        assert_int_equal(tycho_export_gzip(g, in, len, &out), 0);
        const unsigned char *m = (const unsigned char *)out.data + 6;
        size_t mlen = out.len - 6;
        assert_memory_equal(out.data, "prefix", 6);
        assert_true(mlen >= 18 && (len == 0 || mlen < len / 5));
        assert_int_equal(m[0], 0x1f);
        assert_int_equal(m[1], 0x8b);
        assert_int_equal(m[2], 8); /* deflate */
        const unsigned char *tr = m + mlen - 8;
        assert_int_equal(le32(tr), tycho_aws_crc32(in, len)); /* CRC-32, then ISIZE */
        assert_int_equal(le32(tr + 4), len);
        size_t got = 0;
        assert_int_equal(libdeflate_gzip_decompress(d, m, mlen, back, n, &got), LIBDEFLATE_SUCCESS);
        assert_int_equal(got, len);
        assert_memory_equal(back, in, len);
        tycho_buf_free(&out);
    }
    libdeflate_free_decompressor(d);
    tycho_export_gzip_free(g);
    tycho_export_gzip_free(NULL);
    free(in);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_snappy_block),
        cmocka_unit_test(test_otlp),
        cmocka_unit_test(test_otlp_response),
        cmocka_unit_test(test_otlp_wire),
        cmocka_unit_test(test_otlp_known_keys),
        cmocka_unit_test(test_otlp_string_array),
        cmocka_unit_test(test_otlp_lengths),
        cmocka_unit_test(test_otlp_batch_lengths),
        cmocka_unit_test(test_remote_write),
        cmocka_unit_test(test_loki_time),
        cmocka_unit_test(test_loki_entry),
        cmocka_unit_test(test_loki_logger_lines),
        cmocka_unit_test(test_loki_encode),
        cmocka_unit_test(test_loki_wire_edges),
        cmocka_unit_test(test_loki_lengths),
        cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
