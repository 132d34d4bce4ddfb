/* libFuzzer target for the OTLP trace encoder (exporters/otlp_encode.c) over
 * spans built from the input with the span API (server/telemetry/span.c):
 * names, kinds, ids, attributes of every type (string arrays too) set by
 * string key and by well-known key, values vouched for as UTF-8 only when
 * they are, events, links, status, small limits so that drops happen.
 * Checked (abort):
 *  - the body decodes as an ExportTraceServiceRequest (protobuf-c);
 *  - it is byte for byte what protobuf-c packs for the decoded message
 *    (unless a string held a NUL, which protobuf-c's C strings cut);
 *  - every span comes back with its name, kind, ids, times, status, and its
 *    attributes in order: same keys, same types, same numbers, same strings
 *    where the input was valid UTF-8 without NUL, valid UTF-8 everywhere.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh otlp_encode. */
#define FUZZ_TARGET "otlp_encode"
#include "tests/fuzz/fuzz_check.h"
#include "exporters/export_arena.h"
#include "core/utf8.h"
#include "exporters/otlp_encode.h"
#include "otlp_trace.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SPANS = 3, MAX_STR = 48, MAX_ITEMS = 4 };

/* The input, read front to back; past its end every read gives zeros. */
typedef struct input {
    const uint8_t *p;
    size_t n;
    int nul; /* a string taken held a NUL byte */
} input_t;

static uint8_t byte(input_t *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static void bytes(input_t *in, void *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)out)[i] = byte(in);
}

/* A string of up to MAX_STR bytes (its length from the input), copied to
 * out (NUL-terminated); its length. */
static size_t str(input_t *in, char out[MAX_STR + 1])
{
    size_t n = byte(in) % (MAX_STR + 1);
    bytes(in, out, n);
    out[n] = 0;
    if (memchr(out, 0, n)) in->nul = 1;
    return n;
}

/* A C string (no NUL inside, maybe empty). */
static const char *cstr(input_t *in, char out[MAX_STR + 1])
{
    size_t n = str(in, out);
    for (size_t i = 0; i < n; i++)
        if (!out[i]) out[i] = '?';
    return out;
}

static int clean_utf8(const char *s, size_t n)
{
    return tycho_utf8_valid(s, n, 0);
}

/* A string array of up to MAX_ITEMS strings cut from one input string,
 * vouched for only when every one is valid UTF-8 without NUL; items holds
 * them (pointing into buf). */
static tycho_attr_value_t strings(input_t *in, uint8_t t, char buf[MAX_STR + 1],
                                  tycho_attr_str_t items[MAX_ITEMS])
{
    size_t n = str(in, buf), count = byte(in) % (MAX_ITEMS + 1), at = 0;
    int clean = 1;
    for (size_t i = 0; i < count; i++) {
        size_t len = i + 1 < count ? byte(in) % (n - at + 1) : n - at;
        items[i] = (tycho_attr_str_t){buf + at, len};
        clean &= clean_utf8(buf + at, len);
        at += len;
    }
    tycho_attr_value_t v = TYCHO_AV_STRV(items, count);
    v.utf8 = (t & 0x80) && clean;
    return v;
}

/* One attribute value of any type; strings vouched for (TYCHO_AV_UTF8N)
 * only when they are valid UTF-8 without NUL. buf holds a string value,
 * items a string array's strings. */
static tycho_attr_value_t value(input_t *in, char buf[MAX_STR + 1],
                                tycho_attr_str_t items[MAX_ITEMS])
{
    uint8_t t = byte(in);
    switch (t % 6) {
    case 0: {
        size_t n = str(in, buf);
        return (t & 0x80) && clean_utf8(buf, n) ? TYCHO_AV_UTF8N(buf, n) : TYCHO_AV_STRN(buf, n);
    }
    case 1: {
        int64_t v;
        bytes(in, &v, sizeof v);
        return TYCHO_AV_INT(v);
    }
    case 2: {
        double d;
        bytes(in, &d, sizeof d);
        return TYCHO_AV_DBL(d);
    }
    case 3:
        return TYCHO_AV_BOOL(byte(in) & 1);
    case 4:
        return strings(in, t, buf, items);
    default:
        return TYCHO_AV_STR(cstr(in, buf));
    }
}

/* Sets one attribute on the span, an event or a link (target), by string key
 * or (span only) by well-known key. */
static void attribute(input_t *in, tycho_span_t *s, tycho_span_event_t *ev, tycho_span_link_t *link)
{
    char key[MAX_STR + 1], buf[MAX_STR + 1];
    tycho_attr_str_t items[MAX_ITEMS];
    uint8_t how = byte(in);
    if (!ev && !link && (how & 1)) {
        tycho_span_key_t k = (tycho_span_key_t)(byte(in) % TYCHO_KEY_COUNT);
        tycho_span_set_key(s, k, value(in, buf, items));
        return;
    }
    cstr(in, key);
    tycho_attr_value_t v = value(in, buf, items);
    if (ev)
        tycho_span_event_set_attr(s, ev, key, v);
    else if (link)
        tycho_span_link_set_attr(s, link, key, v);
    else
        tycho_span_set_attr(s, key, v);
}

static tycho_span_t *build_span(input_t *in)
{
    char name[MAX_STR + 1];
    tycho_span_limits_t lim = TYCHO_SPAN_LIMITS_DEFAULT;
    if (byte(in) & 1) { /* small limits: drops */
        lim.max_attrs = byte(in) % 16;
        lim.max_events = lim.max_links = byte(in) % 3;
        lim.max_value_len = byte(in) % 24;
        lim.max_bytes = 256 + (size_t)byte(in) * 16;
    }
    tycho_span_t *s = tycho_span_new(cstr(in, name), (tycho_span_kind_t)(byte(in) % 6), &lim);
    CHECK(s != NULL, "tycho_span_new failed");
    uint8_t trace[16], span[8], parent[8];
    bytes(in, trace, sizeof trace);
    bytes(in, span, sizeof span);
    bytes(in, parent, sizeof parent);
    uint8_t flags = byte(in);
    tycho_span_set_ids(s, trace, span, (flags & 2) ? parent : NULL, flags & 4, flags);
    if (flags & 8) tycho_span_set_trace_state(s, cstr(in, name));
    for (int i = byte(in) % 24; i > 0; i--)
        attribute(in, s, NULL, NULL);
    for (int i = byte(in) % 3; i > 0; i--) {
        uint64_t at = s->start_ns + byte(in);
        tycho_span_event_t *ev = tycho_span_add_event(s, cstr(in, name), at);
        for (int j = ev ? byte(in) % 4 : 0; j > 0; j--)
            attribute(in, s, ev, NULL);
    }
    for (int i = byte(in) % 3; i > 0; i--) {
        uint8_t lflags = byte(in);
        tycho_span_link_t *l =
            tycho_span_add_link(s, trace, span, lflags, lflags & 1, cstr(in, name));
        for (int j = l ? byte(in) % 4 : 0; j > 0; j--)
            attribute(in, s, NULL, l);
    }
    tycho_span_set_status(s, (tycho_span_status_t)(byte(in) % 3), cstr(in, name));
    tycho_span_end(s, s->start_ns + byte(in));
    return s;
}

static void same_string(const char *what, const char *want, size_t n, const char *got)
{
    CHECK(got && tycho_utf8_valid(got, strlen(got), 1), "%s: not valid UTF-8", what);
    if (clean_utf8(want, n))
        CHECK(strlen(got) == n && memcmp(got, want, n) == 0, "%s differs", what);
}

static void same_attrs(const char *what, const tycho_attrs_t *want, Tycho__Otlp__KeyValue **got,
                       size_t ngot, uint32_t dropped)
{
    CHECK(ngot == want->n && dropped == want->dropped, "%s: %zu attributes, want %u", what, ngot,
          want->n);
    for (size_t i = 0; i < ngot; i++) {
        const tycho_attr_t *a = &want->items[i];
        const Tycho__Otlp__AnyValue *v = got[i]->value;
        same_string(what, a->key, strlen(a->key), got[i]->key);
        CHECK(v != NULL, "%s: attribute without a value", what);
        switch (a->type) {
        case TYCHO_ATTR_STRING:
            CHECK(v->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE, "%s: not a string",
                  what);
            same_string(what, a->v.s.p, a->v.s.n, v->string_value);
            break;
        case TYCHO_ATTR_INT:
            CHECK(v->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_INT_VALUE &&
                      v->int_value == a->v.i,
                  "%s: int differs", what);
            break;
        case TYCHO_ATTR_DOUBLE:
            CHECK(v->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE &&
                      memcmp(&v->double_value, &a->v.d, sizeof a->v.d) == 0,
                  "%s: double differs", what);
            break;
        case TYCHO_ATTR_BOOL:
            CHECK(v->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_BOOL_VALUE &&
                      v->bool_value == (a->v.b != 0),
                  "%s: bool differs", what);
            break;
        case TYCHO_ATTR_STRING_ARRAY: {
            CHECK(v->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE, "%s: not an array",
                  what);
            const Tycho__Otlp__ArrayValue *arr = v->array_value;
            CHECK(arr->n_values == a->v.sv.n, "%s: %zu strings, want %zu", what, arr->n_values,
                  a->v.sv.n);
            for (size_t j = 0; j < arr->n_values; j++) {
                CHECK(arr->values[j]->value_case == TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE,
                      "%s: array item not a string", what);
                same_string(what, a->v.sv.items[j].p, a->v.sv.items[j].n,
                            arr->values[j]->string_value);
            }
            break;
        }
        }
    }
}

static void same_span(const tycho_span_t *s, const Tycho__Otlp__Span *m)
{
    CHECK(m->trace_id.len == 16 && memcmp(m->trace_id.data, s->trace_id, 16) == 0, "trace id");
    CHECK(m->span_id.len == 8 && memcmp(m->span_id.data, s->span_id, 8) == 0, "span id");
    CHECK(m->parent_span_id.len == (s->has_parent ? 8u : 0u), "parent span id");
    CHECK(m->kind == (Tycho__Otlp__Span__SpanKind)s->kind, "kind");
    CHECK(m->start_time_unix_nano == s->start_ns && m->end_time_unix_nano == s->end_ns, "times");
    same_string("name", s->name, strlen(s->name), m->name);
    same_attrs("span", &s->attrs, m->attributes, m->n_attributes, m->dropped_attributes_count);
    CHECK(m->n_events == s->nevents && m->dropped_events_count == s->dropped_events, "events");
    for (size_t i = 0; i < m->n_events; i++) {
        same_string("event name", s->events[i].name, strlen(s->events[i].name), m->events[i]->name);
        same_attrs("event", &s->events[i].attrs, m->events[i]->attributes,
                   m->events[i]->n_attributes, m->events[i]->dropped_attributes_count);
    }
    CHECK(m->n_links == s->nlinks && m->dropped_links_count == s->dropped_links, "links");
    for (size_t i = 0; i < m->n_links; i++)
        same_attrs("link", &s->links[i].attrs, m->links[i]->attributes, m->links[i]->n_attributes,
                   m->links[i]->dropped_attributes_count);
    int status = m->status ? (int)m->status->code : 0;
    CHECK(status == (int)s->status, "status %d, want %d", status, (int)s->status);
}

static void check_canonical(const Tycho__Otlp__ExportTraceServiceRequest *req,
                            const tycho_buf_t *body)
{
    size_t n = tycho__otlp__export_trace_service_request__get_packed_size(req);
    CHECK(n == body->len, "packed size %zu, body %zu", n, body->len);
    uint8_t *again = malloc(n + 1);
    CHECK(again != NULL, "out of memory");
    tycho__otlp__export_trace_service_request__pack(req, again);
    CHECK(memcmp(again, body->data, n) == 0, "body is not what protobuf-c packs");
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    tycho_span_t *spans[MAX_SPANS];
    size_t n = 1 + byte(&in) % MAX_SPANS;
    for (size_t i = 0; i < n; i++)
        spans[i] = build_span(&in);
    char service[] = "service.name", x[] = "x", rk[MAX_STR + 1], rv[MAX_STR + 1];
    cstr(&in, rv);
    cstr(&in, rk);
    tycho_export_kv_t kvs[2] = {{service, rv}, {rk, x}};
    tycho_export_kvs_t resource = {kvs, *rk ? 2 : 1};

    tycho_buf_t body = {0};
    CHECK(tycho_otlp_encode_traces(&resource, spans, n, &body) == 0, "encode failed");
    Tycho__Otlp__ExportTraceServiceRequest *req = tycho__otlp__export_trace_service_request__unpack(
        NULL, body.len, (const uint8_t *)body.data);
    CHECK(req != NULL, "the body does not decode");
    CHECK(req->n_resource_spans == 1 && req->resource_spans[0]->n_scope_spans == 1,
          "one resource and one scope");
    const Tycho__Otlp__ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
    CHECK(ss->n_spans == n, "%zu spans, want %zu", ss->n_spans, n);
    for (size_t i = 0; i < n; i++)
        same_span(spans[i], ss->spans[i]);
    if (!in.nul) check_canonical(req, &body);

    tycho__otlp__export_trace_service_request__free_unpacked(req, NULL);
    tycho_buf_free(&body);
    for (size_t i = 0; i < n; i++)
        tycho_span_free(spans[i]);
    return 0;
}
