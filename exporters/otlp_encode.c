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
 * out; a oneof member and a set sub-message always written), in one pass:
 * each sub-message keeps a guess of its length's size before its body and
 * gets its length when it ends (pb_write's tycho_pb_out_begin/end). */
typedef struct pbw {
    tycho_pb_out_t o;
    tycho_export_arena_t *a; /* UTF-8 clean-ups */
} pbw_t;

/* Guessed sizes of lengths: a span (with its attributes) takes 128 B to
 * 16 KiB; a batch of them, more than 16 KiB; the rest, less than 128 B. */
enum { GUESS_SMALL = 1, GUESS_SPAN = 2, GUESS_BATCH = 3 };

/* The bytes to write for a string: s itself when utf8 (the caller knows it
 * is valid UTF-8 without NUL), else its UTF-8 clean-up. s[n] must be
 * readable. */
typedef struct pbw_str {
    const char *p;
    size_t n;
} pbw_str_t;

/* Out of line: the rare case, kept from the callers' register use. */
static __attribute__((noinline)) pbw_str_t str_clean(pbw_t *w, const char *s, size_t n)
{
    const char *p = tycho_export_arena_utf8_n(w->a, s, &n, 0);
    if (p) return (pbw_str_t){p, n};
    w->o.failed = 1;
    return (pbw_str_t){"", 0};
}

static inline pbw_str_t str_take(pbw_t *w, const char *s, size_t n, int utf8)
{
    if (utf8) return (pbw_str_t){s, n}; /* as tycho_export_arena_utf8_n would, without a call */
    return str_clean(w, s, n);
}

/* A string field, valid UTF-8 on the wire; always: written even when empty
 * (a oneof member). */
static void f_string(pbw_t *w, unsigned field, const char *s, size_t n, int always)
{
    pbw_str_t str = str_take(w, s, n, 0);
    if (str.n || always) tycho_pb_out_bytes(&w->o, field, str.p, str.n);
}

/* AnyValue {string_value = 1, bool_value = 2, int_value = 3, double_value =
 * 4}: its body's size (str: a string attribute's bytes), then the body. */
static size_t any_value_size(const tycho_attr_t *at, pbw_str_t str)
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
    default: /* STRING_ARRAY, which kv_strings writes (a case label: GCC's jump table) */
        break;
    }
    return 0;
}

static uint8_t *any_value(uint8_t *p, const tycho_attr_t *at, pbw_str_t str)
{
    switch (at->type) {
    case TYCHO_ATTR_STRING:
        return tycho_pb_put_bytes(p, 1, str.p, str.n);
    case TYCHO_ATTR_BOOL:
        *p++ = 2 << 3 | TYCHO_PB_VARINT;
        *p++ = at->v.b ? 1 : 0;
        return p;
    case TYCHO_ATTR_INT:
        *p++ = 3 << 3 | TYCHO_PB_VARINT;
        return tycho_pb_put_varint(p, (uint64_t)at->v.i);
    case TYCHO_ATTR_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &at->v.d, 8);
        *p++ = 4 << 3 | TYCHO_PB_I64;
        return tycho_pb_put_fixed64(p, bits);
    }
    default: /* STRING_ARRAY, which kv_strings writes (a case label: GCC's jump table) */
        break;
    }
    return p;
}

/* KeyValue.key = 1. A well-known key (span.h: shorter than
 * TYCHO_SPAN_KEY_PAD, readable that far) is one fixed-size copy, its tail
 * then overwritten by what follows: the room check allowed for it. */
static uint8_t *put_key(uint8_t *p, const tycho_attr_t *at, pbw_str_t key)
{
    if (!at->known) return tycho_pb_put_bytes(p, 1, key.p, key.n);
    p[0] = 1 << 3 | TYCHO_PB_LEN;
    p[1] = (uint8_t)key.n; /* a one-byte varint */
    memcpy(p + 2, key.p, TYCHO_SPAN_KEY_PAD);
    return p + 2 + key.n;
}

/* ArrayValue.values = 1: AnyValue {string_value = 1}, written even when
 * the string is empty (a oneof member). */
static void array_string(pbw_t *w, const char *s, size_t n, int utf8)
{
    tycho_pb_mark_t item = tycho_pb_out_begin(&w->o, 1, GUESS_SMALL);
    pbw_str_t str = str_take(w, s, n, utf8);
    tycho_pb_out_bytes(&w->o, 1, str.p, str.n);
    tycho_pb_out_end(&w->o, item);
}

/* A string array attribute: KeyValue {key = 1, value = 2} with AnyValue
 * {array_value = 5}: ArrayValue {values = 1} (PROTOCOLS.md section 3).
 * Lengths patched as each part ends: rare, not worth kv_attr's one room
 * check. */
static __attribute__((noinline)) void kv_strings(pbw_t *w, unsigned field, const tycho_attr_t *at,
                                                 pbw_str_t key)
{
    tycho_pb_mark_t kv = tycho_pb_out_begin(&w->o, field, GUESS_SMALL);
    tycho_pb_out_bytes(&w->o, 1, key.p, key.n);
    tycho_pb_mark_t v = tycho_pb_out_begin(&w->o, 2, GUESS_SMALL);
    tycho_pb_mark_t arr = tycho_pb_out_begin(&w->o, 5, GUESS_SMALL);
    for (size_t i = 0; i < at->v.sv.n; i++)
        array_string(w, at->v.sv.items[i].p, at->v.sv.items[i].n, at->utf8 & TYCHO_ATTR_VALUE_UTF8);
    tycho_pb_out_end(&w->o, arr);
    tycho_pb_out_end(&w->o, v);
    tycho_pb_out_end(&w->o, kv);
}

/* KeyValue {key = 1, value = 2}, field < 16. Its lengths follow from the
 * strings' (a key is never empty), so it is written whole after one room
 * check, its lengths first. */
static void kv_attr(pbw_t *w, unsigned field, const tycho_attr_t *at)
{
    pbw_str_t key = str_take(w, at->key, at->klen, at->utf8 & TYCHO_ATTR_KEY_UTF8);
    pbw_str_t val = {"", 0};
    if (at->type == TYCHO_ATTR_STRING) {
        val = str_take(w, at->v.s.p, at->v.s.n, at->utf8 & TYCHO_ATTR_VALUE_UTF8);
    } else if (at->type == TYCHO_ATTR_STRING_ARRAY) {
        kv_strings(w, field, at, key);
        return;
    }
    size_t vlen = any_value_size(at, val),
           kvlen = tycho_pb_len_size(key.n) + tycho_pb_len_size(vlen);
    if (!tycho_pb_out_room(&w->o, tycho_pb_len_size(kvlen) + TYCHO_SPAN_KEY_PAD)) return;
    uint8_t *p = tycho_pb_put_len(tycho_pb_out_at(&w->o), field, kvlen);
    p = put_key(p, at, key);
    p = tycho_pb_put_len(p, 2, vlen);
    tycho_pb_out_advance(&w->o, any_value(p, at, val));
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
    tycho_pb_mark_t m = tycho_pb_out_begin(&w->o, 1, GUESS_SMALL);
    f_string(w, 1, kv->key, strlen(kv->key), 0);
    tycho_pb_mark_t v = tycho_pb_out_begin(&w->o, 2, GUESS_SMALL);
    if (!tycho_otlp_is_array_key(kv->key)) {
        f_string(w, 1, kv->value, strlen(kv->value), 1);
    } else {
        tycho_pb_mark_t arr = tycho_pb_out_begin(&w->o, 5, GUESS_SMALL);
        for (const char *p = kv->value;;) {
            size_t len = strcspn(p, ",");
            array_string(w, p, len, 0); /* p[len]: ',' or the NUL */
            if (!p[len]) break;
            p += len + 1;
        }
        tycho_pb_out_end(&w->o, arr);
    }
    tycho_pb_out_end(&w->o, v);
    tycho_pb_out_end(&w->o, m);
}

/* Span.events = 11: Event {time_unix_nano = 1, name = 2, attributes = 3,
 * dropped_attributes_count = 4}. */
static void span_event(pbw_t *w, const tycho_span_event_t *ev)
{
    tycho_pb_mark_t m = tycho_pb_out_begin(&w->o, 11, GUESS_SMALL);
    tycho_pb_out_fixed64(&w->o, 1, ev->time_ns);
    f_string(w, 2, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0, 0);
    attrs(w, 3, &ev->attrs);
    tycho_pb_out_varint(&w->o, 4, ev->attrs.dropped);
    tycho_pb_out_end(&w->o, m);
}

/* Span.links = 13: Link {trace_id = 1, span_id = 2, trace_state = 3,
 * attributes = 4, dropped_attributes_count = 5, flags = 6}. */
static void span_link(pbw_t *w, const tycho_span_link_t *ln)
{
    tycho_pb_mark_t m = tycho_pb_out_begin(&w->o, 13, GUESS_SMALL);
    tycho_pb_out_bytes(&w->o, 1, ln->trace_id, 16);
    tycho_pb_out_bytes(&w->o, 2, ln->span_id, 8);
    if (ln->trace_state && *ln->trace_state)
        f_string(w, 3, ln->trace_state, strlen(ln->trace_state), 0);
    attrs(w, 4, &ln->attrs);
    tycho_pb_out_varint(&w->o, 5, ln->attrs.dropped);
    tycho_pb_out_fixed32(&w->o, 6,
                         ln->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
                             (ln->is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0));
    tycho_pb_out_end(&w->o, m);
}

/* Span fields 4-8: parent_span_id, name, kind, start and end times, after
 * one room check. */
static void span_head(pbw_t *w, const tycho_span_t *s)
{
    pbw_str_t name = {"", 0};
    if (s->name) /* name_utf8: found ASCII when set */
        name = str_take(w, s->name, strlen(s->name), s->name_utf8);
    if (!tycho_pb_out_room(&w->o, 2 + 8 + tycho_pb_len_size(name.n) + 1 + TYCHO_PB_VARINT_MAX +
                                      2 * (1 + 8)))
        return;
    uint8_t *p = tycho_pb_out_at(&w->o);
    if (s->has_parent) p = tycho_pb_put_bytes(p, 4, s->parent_span_id, 8);
    if (name.n) p = tycho_pb_put_bytes(p, 5, name.p, name.n);
    p = tycho_pb_put_varint_field(p, 6, (uint64_t)s->kind);
    p = tycho_pb_put_fixed64_field(p, 7, s->start_ns);
    p = tycho_pb_put_fixed64_field(p, 8, s->end_ns >= s->start_ns ? s->end_ns : s->start_ns);
    tycho_pb_out_advance(&w->o, p);
}

/* ScopeSpans.spans = 2: Span (fields 1-16). */
static void span(pbw_t *w, const tycho_span_t *s)
{
    tycho_pb_mark_t m = tycho_pb_out_begin(&w->o, 2, GUESS_SPAN);
    if (tycho_pb_out_room(&w->o, 2 * 2 + 16 + 8)) {
        uint8_t *p = tycho_pb_put_bytes(tycho_pb_out_at(&w->o), 1, s->trace_id, 16);
        tycho_pb_out_advance(&w->o, tycho_pb_put_bytes(p, 2, s->span_id, 8));
    }
    if (s->trace_state && *s->trace_state)
        f_string(w, 3, s->trace_state, strlen(s->trace_state), 0);
    span_head(w, s);
    attrs(w, 9, &s->attrs);
    tycho_pb_out_varint(&w->o, 10, s->attrs.dropped);
    for (uint32_t i = 0; i < s->nevents; i++)
        span_event(w, &s->events[i]);
    tycho_pb_out_varint(&w->o, 12, s->dropped_events);
    for (uint32_t i = 0; i < s->nlinks; i++)
        span_link(w, &s->links[i]);
    tycho_pb_out_varint(&w->o, 14, s->dropped_links);
    if (s->status != TYCHO_SPAN_STATUS_UNSET) {
        tycho_pb_mark_t st =
            tycho_pb_out_begin(&w->o, 15, GUESS_SMALL); /* Status {message = 2, code = 3} */
        if (s->status == TYCHO_SPAN_STATUS_ERROR && s->status_message && *s->status_message)
            f_string(w, 2, s->status_message, strlen(s->status_message), 0);
        tycho_pb_out_varint(&w->o, 3, (uint64_t)s->status);
        tycho_pb_out_end(&w->o, st);
    }
    tycho_pb_out_fixed32(
        &w->o, 16,
        s->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
            (s->has_parent && s->parent_is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0));
    tycho_pb_out_end(&w->o, m);
}

/* ExportTraceServiceRequest {resource_spans = 1}: ResourceSpans {resource =
 * 1, scope_spans = 2}, ScopeSpans {scope = 1, spans = 2}. */
static void request(pbw_t *w, const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                    size_t n)
{
    tycho_pb_mark_t rs = tycho_pb_out_begin(&w->o, 1, GUESS_BATCH);
    tycho_pb_mark_t res = tycho_pb_out_begin(&w->o, 1, GUESS_SMALL);
    for (size_t i = 0; resource && i < resource->n; i++)
        resource_kv(w, &resource->items[i]);
    tycho_pb_out_end(&w->o, res);
    tycho_pb_mark_t ss = tycho_pb_out_begin(&w->o, 2, GUESS_BATCH);
    tycho_pb_mark_t scope = tycho_pb_out_begin(&w->o, 1, GUESS_SMALL);
    f_string(w, 1, TYCHO_OTLP_SCOPE_NAME, strlen(TYCHO_OTLP_SCOPE_NAME), 0);
    f_string(w, 2, TYCHO_VERSION, strlen(TYCHO_VERSION), 0);
    tycho_pb_out_end(&w->o, scope);
    for (size_t i = 0; i < n; i++)
        span(w, spans[i]);
    tycho_pb_out_end(&w->o, ss);
    tycho_pb_out_end(&w->o, rs);
}

int tycho_otlp_encode_traces(const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                             size_t n, tycho_buf_t *out)
{
    tycho_export_arena_t a = TYCHO_EXPORT_ARENA_INIT;
    pbw_t w = {.a = &a};
    tycho_pb_out_init(&w.o, out);
    request(&w, resource, spans, n);
    if (a.failed) w.o.failed = 1;
    int rc = tycho_pb_out_finish(&w.o);
    tycho_export_arena_free(&a);
    return rc;
}

/* --- the response --------------------------------------------------------- */

/* Read by hand, not by protobuf-c: the sender keeps only the start of a
 * response body (export_sender.c), and what a cut body holds still counts. */
typedef struct pb_in {
    const uint8_t *p, *end;
} pb_in_t;

typedef struct pb_field {
    unsigned num, type;
    uint64_t value; /* TYCHO_PB_VARINT */
    pb_in_t bytes;  /* TYCHO_PB_LEN: what is there of them */
} pb_field_t;

/* 0 and *v; 1 when the bytes end first; -1 when longer than a uint64_t. */
static int read_varint(pb_in_t *in, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (in->p == in->end) return 1;
        uint8_t b = *in->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field: 0 and *f; 1 at the end of the bytes (a field cut short
 * ends them too, except a length-delimited one: its bytes are cut to what
 * is there); -1 when malformed. */
static int next_field(pb_in_t *in, pb_field_t *f)
{
    uint64_t tag;
    *f = (pb_field_t){0};
    int rc = read_varint(in, &tag);
    if (rc) return rc;
    /* field numbers are 1 to 2^29 - 1 (protobuf's encoding): a larger one,
     * cut to an unsigned, could pass for field 1 */
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff) return -1;
    f->num = (unsigned)(tag >> 3);
    f->type = (unsigned)(tag & 7);
    size_t left = (size_t)(in->end - in->p), n;
    switch (f->type) {
    case TYCHO_PB_VARINT:
        return read_varint(in, &f->value);
    case TYCHO_PB_I64:
    case TYCHO_PB_I32:
        n = f->type == TYCHO_PB_I64 ? 8 : 4;
        if (left < n) return 1;
        in->p += n;
        return 0;
    case TYCHO_PB_LEN:
        if ((rc = read_varint(in, &f->value))) return rc;
        left = (size_t)(in->end - in->p);
        f->bytes = (pb_in_t){in->p, in->p + (f->value < left ? f->value : left)};
        in->p = f->bytes.end;
        return 0;
    }
    return -1;
}

/* ExportTracePartialSuccess: rejected_spans #1, error_message #2. */
static int read_partial_success(pb_in_t in, int64_t *rejected, char *msg, size_t msglen)
{
    pb_field_t f;
    int rc;
    while ((rc = next_field(&in, &f)) == 0) {
        if (f.num == 1 && f.type == TYCHO_PB_VARINT) *rejected = (int64_t)f.value;
        if (f.num == 2 && f.type == TYCHO_PB_LEN && msg && msglen)
            snprintf(msg, msglen, "%.*s", (int)(f.bytes.end - f.bytes.p), (const char *)f.bytes.p);
    }
    return rc;
}

int tycho_otlp_parse_response(const void *body, size_t len, int64_t *rejected, char *msg,
                              size_t msglen)
{
    *rejected = 0;
    if (msg && msglen) msg[0] = 0;
    pb_in_t in = {body, (const uint8_t *)body + len};
    pb_field_t f;
    int rc;
    while ((rc = next_field(&in, &f)) == 0)
        if (f.num == 1 && f.type == TYCHO_PB_LEN && /* partial_success */
            (rc = read_partial_success(f.bytes, rejected, msg, msglen)) < 0)
            break;
    return rc < 0 ? -EINVAL : 0;
}
