#include "exporters/otlp_encode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/export_arena.h"
#include "exporters/pb_write.h"
#include "otlp_trace.pb-c.h"

#ifndef TYCHO_VERSION
#define TYCHO_VERSION "0.0.0"
#endif

/* The request is written by hand from proto/otlp_trace.proto's field numbers,
 * with protobuf-c's proto3 rules (zero scalars, empty strings and bytes left
 * out; a oneof member and a set sub-message always written). One traversal
 * runs twice: the sizing pass (out == NULL) counts bytes, records each
 * sub-message's length in pre-order and each string after its UTF-8
 * clean-up; the writing pass replays both in the same order. */
typedef struct pbw {
    tycho_export_arena_t *a;
    uint8_t *out; /* NULL: the sizing pass */
    size_t len;   /* bytes counted or written so far */
    size_t *sizes, nsizes, cap_sizes, isize;
    struct pbw_str {
        const char *p;
        size_t n;
    } * strs;
    size_t nstrs, cap_strs, istr;
    int failed;
} pbw_t;

typedef struct pbw_msg {
    size_t slot, start;
} pbw_msg_t;

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    void *p = realloc(*v, nc * elem);
    if (!p) return -1;
    *v = p;
    *cap = nc;
    return 0;
}

static void put_varint(pbw_t *w, uint64_t v)
{
    if (w->out)
        w->len = (size_t)(tycho_pb_put_varint(w->out + w->len, v) - w->out);
    else
        w->len += tycho_pb_varint_size(v);
}

static void put_tag(pbw_t *w, unsigned field, unsigned wire_type)
{
    put_varint(w, (uint64_t)field << 3 | wire_type);
}

static void put_fixed(pbw_t *w, uint64_t v, int nbytes)
{
    if (w->out)
        for (int i = 0; i < nbytes; i++)
            w->out[w->len + (size_t)i] = (uint8_t)(v >> (8 * i));
    w->len += (size_t)nbytes;
}

static void put_raw(pbw_t *w, const void *p, size_t n)
{
    if (w->out && n) memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void f_varint(pbw_t *w, unsigned field, uint64_t v)
{
    if (!v) return;
    put_tag(w, field, 0);
    put_varint(w, v);
}

static void f_fixed64(pbw_t *w, unsigned field, uint64_t v)
{
    if (!v) return;
    put_tag(w, field, 1);
    put_fixed(w, v, 8);
}

static void f_fixed32(pbw_t *w, unsigned field, uint32_t v)
{
    if (!v) return;
    put_tag(w, field, 5);
    put_fixed(w, v, 4);
}

static void f_bytes(pbw_t *w, unsigned field, const void *p, size_t n)
{
    if (!n) return;
    put_tag(w, field, 2);
    put_varint(w, n);
    put_raw(w, p, n);
}

/* The bytes to write for a string: s itself when utf8 (the caller knows it
 * is valid UTF-8 without NUL), else its UTF-8 clean-up, made and recorded in
 * the sizing pass and replayed in the writing pass. */
static struct pbw_str str_take(pbw_t *w, const char *s, size_t n, int utf8)
{
    struct pbw_str str = {s, n};
    if (utf8) return str;
    if (w->out) return w->strs[w->istr++];
    const char *c = tycho_export_arena_utf8(w->a, s, n);
    if (!c || grow((void **)&w->strs, &w->cap_strs, w->nstrs, sizeof *w->strs)) {
        w->failed = 1;
        return (struct pbw_str){"", 0};
    }
    str.p = c;
    str.n = c == s ? n : strlen(c);
    w->strs[w->nstrs++] = str;
    return str;
}

/* always: written even when empty (a oneof member). */
static void put_string(pbw_t *w, unsigned field, struct pbw_str str, int always)
{
    if (!str.n && !always) return;
    put_tag(w, field, 2);
    put_varint(w, str.n);
    put_raw(w, str.p, str.n);
}

/* A string field, valid UTF-8 on the wire. */
static void f_string(pbw_t *w, unsigned field, const char *s, size_t n, int always)
{
    put_string(w, field, str_take(w, s, n, 0), always);
}

static pbw_msg_t msg_begin(pbw_t *w, unsigned field)
{
    pbw_msg_t m = {0, w->len};
    if (!w->out) {
        if (grow((void **)&w->sizes, &w->cap_sizes, w->nsizes, sizeof *w->sizes)) {
            w->failed = 1;
            return m;
        }
        m.slot = w->nsizes++;
        return m;
    }
    put_tag(w, field, 2);
    put_varint(w, w->sizes[w->isize++]);
    return m;
}

static void msg_end(pbw_t *w, unsigned field, pbw_msg_t m)
{
    if (w->out || w->failed) return;
    size_t body = w->len - m.start;
    w->sizes[m.slot] = body;
    w->len += tycho_pb_varint_size((uint64_t)field << 3 | 2) + tycho_pb_varint_size(body);
}

/* AnyValue {string_value = 1, bool_value = 2, int_value = 3, double_value =
 * 4}: its body's size (str: a string attribute's bytes), then the body. */
static size_t any_value_size(const tycho_attr_t *at, struct pbw_str str)
{
    switch (at->type) {
    case TYCHO_ATTR_STRING:
        return tycho_pb_len_size(str.n);
    case TYCHO_ATTR_BOOL:
        return 2;
    case TYCHO_ATTR_INT:
        return 1 + tycho_pb_varint_size((uint64_t)at->v.i);
    case TYCHO_ATTR_DOUBLE:
        return 9;
    }
    return 0;
}

static void any_value(pbw_t *w, const tycho_attr_t *at, struct pbw_str str)
{
    switch (at->type) {
    case TYCHO_ATTR_STRING:
        put_string(w, 1, str, 1);
        break;
    case TYCHO_ATTR_BOOL:
        put_tag(w, 2, 0);
        put_varint(w, at->v.b ? 1 : 0);
        break;
    case TYCHO_ATTR_INT:
        put_tag(w, 3, 0);
        put_varint(w, (uint64_t)at->v.i);
        break;
    case TYCHO_ATTR_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &at->v.d, 8);
        put_tag(w, 4, 1);
        put_fixed(w, bits, 8);
        break;
    }
    }
}

/* KeyValue {key = 1, value = 2}. Its lengths follow from the strings' (a
 * key is never empty), so unlike other messages it takes no size slots. */
static void kv_attr(pbw_t *w, unsigned field, const tycho_attr_t *at)
{
    struct pbw_str key = str_take(w, at->key, at->klen, at->utf8 & TYCHO_ATTR_KEY_UTF8);
    struct pbw_str val = {"", 0};
    if (at->type == TYCHO_ATTR_STRING)
        val = str_take(w, at->v.s.p, at->v.s.n, at->utf8 & TYCHO_ATTR_VALUE_UTF8);
    size_t vlen = any_value_size(at, val);
    put_tag(w, field, 2);
    put_varint(w, tycho_pb_len_size(key.n) + tycho_pb_len_size(vlen));
    put_string(w, 1, key, 1);
    put_tag(w, 2, 2);
    put_varint(w, vlen);
    any_value(w, at, val);
}

static void attrs(pbw_t *w, unsigned field, const tycho_attrs_t *in)
{
    for (uint32_t i = 0; i < in->n; i++)
        kv_attr(w, field, &in->items[i]);
}

int tycho_otlp_is_array_key(const char *key)
{
    return strcmp(key, "aws.log.group.names") == 0 || strcmp(key, "aws.log.group.arns") == 0 ||
           strcmp(key, "aws.log.stream.names") == 0 || strcmp(key, "aws.log.stream.arns") == 0;
}

/* A resource attribute: a string, or (the ECS list keys) an ArrayValue
 * {values = 1} of strings from the comma-separated value. */
static void resource_kv(pbw_t *w, const tycho_export_kv_t *kv)
{
    pbw_msg_t m = msg_begin(w, 1);
    f_string(w, 1, kv->key, strlen(kv->key), 0);
    pbw_msg_t v = msg_begin(w, 2);
    if (!tycho_otlp_is_array_key(kv->key)) {
        f_string(w, 1, kv->value, strlen(kv->value), 1);
    } else {
        pbw_msg_t arr = msg_begin(w, 5);
        for (const char *p = kv->value;;) {
            size_t len = strcspn(p, ",");
            pbw_msg_t item = msg_begin(w, 1);
            char *sv = w->out ? NULL : tycho_export_arena_alloc(w->a, len + 1);
            if (sv) { /* a NUL-terminated piece for the UTF-8 clean-up */
                memcpy(sv, p, len);
                sv[len] = 0;
            }
            f_string(w, 1, sv ? sv : "", sv ? len : 0, 1); /* no sv: a->failed is set */
            msg_end(w, 1, item);
            if (!p[len]) break;
            p += len + 1;
        }
        msg_end(w, 5, arr);
    }
    msg_end(w, 2, v);
    msg_end(w, 1, m);
}

/* ScopeSpans.spans = 2: Span (fields 1-16). */
static void span(pbw_t *w, const tycho_span_t *s)
{
    pbw_msg_t m = msg_begin(w, 2);
    f_bytes(w, 1, s->trace_id, 16);
    f_bytes(w, 2, s->span_id, 8);
    if (s->trace_state && *s->trace_state)
        f_string(w, 3, s->trace_state, strlen(s->trace_state), 0);
    if (s->has_parent) f_bytes(w, 4, s->parent_span_id, 8);
    if (s->name) /* name_utf8: found ASCII when set */
        put_string(w, 5, str_take(w, s->name, strlen(s->name), s->name_utf8), 0);
    f_varint(w, 6, (uint64_t)s->kind);
    f_fixed64(w, 7, s->start_ns);
    f_fixed64(w, 8, s->end_ns >= s->start_ns ? s->end_ns : s->start_ns);
    attrs(w, 9, &s->attrs);
    f_varint(w, 10, s->attrs.dropped);
    for (uint32_t i = 0; i < s->nevents; i++) {
        const tycho_span_event_t *ev = &s->events[i];
        pbw_msg_t e = msg_begin(w, 11);
        f_fixed64(w, 1, ev->time_ns);
        f_string(w, 2, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0, 0);
        attrs(w, 3, &ev->attrs);
        f_varint(w, 4, ev->attrs.dropped);
        msg_end(w, 11, e);
    }
    f_varint(w, 12, s->dropped_events);
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const tycho_span_link_t *ln = &s->links[i];
        pbw_msg_t l = msg_begin(w, 13);
        f_bytes(w, 1, ln->trace_id, 16);
        f_bytes(w, 2, ln->span_id, 8);
        if (ln->trace_state && *ln->trace_state)
            f_string(w, 3, ln->trace_state, strlen(ln->trace_state), 0);
        attrs(w, 4, &ln->attrs);
        f_varint(w, 5, ln->attrs.dropped);
        f_fixed32(w, 6,
                  ln->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
                      (ln->is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0));
        msg_end(w, 13, l);
    }
    f_varint(w, 14, s->dropped_links);
    if (s->status != TYCHO_SPAN_STATUS_UNSET) {
        pbw_msg_t st = msg_begin(w, 15); /* Status {message = 2, code = 3} */
        if (s->status == TYCHO_SPAN_STATUS_ERROR && s->status_message && *s->status_message)
            f_string(w, 2, s->status_message, strlen(s->status_message), 0);
        f_varint(w, 3, (uint64_t)s->status);
        msg_end(w, 15, st);
    }
    f_fixed32(w, 16,
              s->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
                  (s->has_parent && s->parent_is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0));
    msg_end(w, 2, m);
}

/* ExportTraceServiceRequest {resource_spans = 1}: ResourceSpans {resource =
 * 1, scope_spans = 2}, ScopeSpans {scope = 1, spans = 2}. */
static void request(pbw_t *w, const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                    size_t n)
{
    pbw_msg_t rs = msg_begin(w, 1);
    pbw_msg_t res = msg_begin(w, 1);
    for (size_t i = 0; resource && i < resource->n; i++)
        resource_kv(w, &resource->items[i]);
    msg_end(w, 1, res);
    pbw_msg_t ss = msg_begin(w, 2);
    pbw_msg_t scope = msg_begin(w, 1);
    f_string(w, 1, TYCHO_OTLP_SCOPE_NAME, strlen(TYCHO_OTLP_SCOPE_NAME), 0);
    f_string(w, 2, TYCHO_VERSION, strlen(TYCHO_VERSION), 0);
    msg_end(w, 1, scope);
    for (size_t i = 0; i < n; i++)
        span(w, spans[i]);
    msg_end(w, 2, ss);
    msg_end(w, 1, rs);
}

int tycho_otlp_encode_traces(const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                             size_t n, tycho_buf_t *out)
{
    tycho_export_arena_t a = TYCHO_EXPORT_ARENA_INIT;
    pbw_t w = {.a = &a};
    int rc = -ENOMEM;
    request(&w, resource, spans, n);
    if (w.failed || a.failed) goto out;
    size_t total = w.len;
    if (tycho_buf_reserve(out, total + 1) != 0) goto out;
    w.out = (uint8_t *)out->data + out->len;
    w.len = 0;
    request(&w, resource, spans, n);
    if (w.len != total) {
        rc = -EIO; /* the passes disagree: a bug, never sent */
        goto out;
    }
    out->len += total;
    out->data[out->len] = 0;
    rc = 0;
out:
    free(w.sizes);
    free(w.strs);
    tycho_export_arena_free(&a);
    return rc;
}

int tycho_otlp_parse_response(const void *body, size_t len, int64_t *rejected, char *msg,
                              size_t msglen)
{
    *rejected = 0;
    if (msg && msglen) msg[0] = 0;
    if (!len) return 0;
    Tycho__Otlp__ExportTraceServiceResponse *r =
        tycho__otlp__export_trace_service_response__unpack(NULL, len, body);
    if (!r) return -EINVAL;
    if (r->partial_success) {
        *rejected = r->partial_success->rejected_spans;
        if (msg && msglen && r->partial_success->error_message)
            snprintf(msg, msglen, "%s", r->partial_success->error_message);
    }
    tycho__otlp__export_trace_service_response__free_unpacked(r, NULL);
    return 0;
}
