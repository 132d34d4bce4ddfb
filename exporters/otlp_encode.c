#include "exporters/otlp_encode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exporters/ecs_resource.h"
#include "exporters/export_arena.h"
#include "otlp_trace.pb-c.h"

#ifndef TYCHO_VERSION
#define TYCHO_VERSION "0.0.0"
#endif

typedef Tycho__Otlp__KeyValue kv_t;
typedef Tycho__Otlp__AnyValue any_t;

static kv_t *kv_string(tycho_export_arena_t *a, const char *key, const char *value, size_t vlen)
{
    kv_t *kv = tycho_export_arena_alloc(a, sizeof *kv);
    any_t *v = tycho_export_arena_alloc(a, sizeof *v);
    if (!kv || !v) return NULL;
    *kv = (kv_t)TYCHO__OTLP__KEY_VALUE__INIT;
    *v = (any_t)TYCHO__OTLP__ANY_VALUE__INIT;
    kv->key = tycho_export_arena_utf8(a, key, strlen(key));
    v->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = tycho_export_arena_utf8(a, value, vlen);
    if (!kv->key || !v->string_value) return NULL;
    kv->value = v;
    return kv;
}

/* A string-array attribute from a comma-separated value. */
static kv_t *kv_string_array(tycho_export_arena_t *a, const char *key, const char *value)
{
    kv_t *kv = tycho_export_arena_alloc(a, sizeof *kv);
    any_t *v = tycho_export_arena_alloc(a, sizeof *v);
    Tycho__Otlp__ArrayValue *arr = tycho_export_arena_alloc(a, sizeof *arr);
    if (!kv || !v || !arr) return NULL;
    *kv = (kv_t)TYCHO__OTLP__KEY_VALUE__INIT;
    *v = (any_t)TYCHO__OTLP__ANY_VALUE__INIT;
    *arr = (Tycho__Otlp__ArrayValue)TYCHO__OTLP__ARRAY_VALUE__INIT;
    size_t n = 1;
    for (const char *c = value; *c; c++)
        n += *c == ',';
    arr->values = tycho_export_arena_array(a, n, sizeof *arr->values);
    if (!arr->values || !(kv->key = tycho_export_arena_utf8(a, key, strlen(key)))) return NULL;
    const char *p = value;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        any_t *item = tycho_export_arena_alloc(a, sizeof *item);
        char *sv = tycho_export_arena_alloc(a, len + 1);
        if (!item || !sv) return NULL;
        memcpy(sv, p, len);
        sv[len] = 0;
        *item = (any_t)TYCHO__OTLP__ANY_VALUE__INIT;
        item->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
        if (!(item->string_value = tycho_export_arena_utf8(a, sv, len))) return NULL;
        arr->values[i] = item;
        p += len + (p[len] == ',');
    }
    arr->n_values = n;
    v->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = arr;
    kv->value = v;
    return kv;
}

static kv_t *kv_attr(tycho_export_arena_t *a, const tycho_attr_t *at)
{
    if (at->type == TYCHO_ATTR_STRING) return kv_string(a, at->key, at->v.s.p, at->v.s.n);
    kv_t *kv = tycho_export_arena_alloc(a, sizeof *kv);
    any_t *v = tycho_export_arena_alloc(a, sizeof *v);
    if (!kv || !v) return NULL;
    *kv = (kv_t)TYCHO__OTLP__KEY_VALUE__INIT;
    *v = (any_t)TYCHO__OTLP__ANY_VALUE__INIT;
    if (!(kv->key = tycho_export_arena_utf8(a, at->key, strlen(at->key)))) return NULL;
    switch (at->type) {
    case TYCHO_ATTR_INT:
        v->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = at->v.i;
        break;
    case TYCHO_ATTR_DOUBLE:
        v->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
        v->double_value = at->v.d;
        break;
    case TYCHO_ATTR_BOOL:
        v->value_case = TYCHO__OTLP__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = at->v.b ? 1 : 0;
        break;
    default:
        break;
    }
    kv->value = v;
    return kv;
}

static kv_t **attrs(tycho_export_arena_t *a, const tycho_attrs_t *in, size_t *n)
{
    *n = 0;
    if (!in->n) return NULL;
    kv_t **out = tycho_export_arena_array(a, in->n, sizeof *out);
    if (!out) return NULL;
    for (uint32_t i = 0; i < in->n; i++)
        if (!(out[i] = kv_attr(a, &in->items[i]))) return NULL;
    *n = in->n;
    return out;
}

static ProtobufCBinaryData bytes(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)p};
    return b;
}

static Tycho__Otlp__Span *span_msg(tycho_export_arena_t *a, const tycho_span_t *s)
{
    Tycho__Otlp__Span *m = tycho_export_arena_alloc(a, sizeof *m);
    if (!m) return NULL;
    *m = (Tycho__Otlp__Span)TYCHO__OTLP__SPAN__INIT;
    m->trace_id = bytes(s->trace_id, 16);
    m->span_id = bytes(s->span_id, 8);
    if (s->has_parent) m->parent_span_id = bytes(s->parent_span_id, 8);
    if (s->trace_state && *s->trace_state)
        m->trace_state = tycho_export_arena_utf8(a, s->trace_state, strlen(s->trace_state));
    m->flags = s->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
               (s->has_parent && s->parent_is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0);
    m->name = tycho_export_arena_utf8(a, s->name ? s->name : "", s->name ? strlen(s->name) : 0);
    m->kind = (Tycho__Otlp__Span__SpanKind)s->kind;
    m->start_time_unix_nano = s->start_ns;
    m->end_time_unix_nano = s->end_ns >= s->start_ns ? s->end_ns : s->start_ns;
    m->attributes = attrs(a, &s->attrs, &m->n_attributes);
    m->dropped_attributes_count = s->attrs.dropped;
    if (s->nevents) {
        m->events = tycho_export_arena_array(a, s->nevents, sizeof *m->events);
        if (!m->events) return NULL;
        for (uint32_t i = 0; i < s->nevents; i++) {
            const tycho_span_event_t *ev = &s->events[i];
            Tycho__Otlp__Span__Event *e = tycho_export_arena_alloc(a, sizeof *e);
            if (!e) return NULL;
            *e = (Tycho__Otlp__Span__Event)TYCHO__OTLP__SPAN__EVENT__INIT;
            e->time_unix_nano = ev->time_ns;
            e->name = tycho_export_arena_utf8(a, ev->name ? ev->name : "",
                                              ev->name ? strlen(ev->name) : 0);
            e->attributes = attrs(a, &ev->attrs, &e->n_attributes);
            e->dropped_attributes_count = ev->attrs.dropped;
            m->events[i] = e;
        }
        m->n_events = s->nevents;
    }
    m->dropped_events_count = s->dropped_events;
    if (s->nlinks) {
        m->links = tycho_export_arena_array(a, s->nlinks, sizeof *m->links);
        if (!m->links) return NULL;
        for (uint32_t i = 0; i < s->nlinks; i++) {
            const tycho_span_link_t *ln = &s->links[i];
            Tycho__Otlp__Span__Link *l = tycho_export_arena_alloc(a, sizeof *l);
            if (!l) return NULL;
            *l = (Tycho__Otlp__Span__Link)TYCHO__OTLP__SPAN__LINK__INIT;
            l->trace_id = bytes(ln->trace_id, 16);
            l->span_id = bytes(ln->span_id, 8);
            if (ln->trace_state && *ln->trace_state)
                l->trace_state =
                    tycho_export_arena_utf8(a, ln->trace_state, strlen(ln->trace_state));
            l->attributes = attrs(a, &ln->attrs, &l->n_attributes);
            l->dropped_attributes_count = ln->attrs.dropped;
            l->flags = ln->flags | TYCHO_OTLP_FLAG_HAS_IS_REMOTE |
                       (ln->is_remote ? TYCHO_OTLP_FLAG_IS_REMOTE : 0);
            m->links[i] = l;
        }
        m->n_links = s->nlinks;
    }
    m->dropped_links_count = s->dropped_links;
    if (s->status != TYCHO_SPAN_STATUS_UNSET) {
        Tycho__Otlp__Status *st = tycho_export_arena_alloc(a, sizeof *st);
        if (!st) return NULL;
        *st = (Tycho__Otlp__Status)TYCHO__OTLP__STATUS__INIT;
        st->code = (Tycho__Otlp__Status__StatusCode)s->status;
        if (s->status == TYCHO_SPAN_STATUS_ERROR && s->status_message && *s->status_message)
            st->message = tycho_export_arena_utf8(a, s->status_message, strlen(s->status_message));
        m->status = st;
    }
    return a->failed ? NULL : m;
}

int tycho_otlp_encode_traces(const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                             size_t n, tycho_buf_t *out)
{
    tycho_export_arena_t a = TYCHO_EXPORT_ARENA_INIT;
    int rc = -ENOMEM;
    Tycho__Otlp__Resource res = TYCHO__OTLP__RESOURCE__INIT;
    Tycho__Otlp__InstrumentationScope scope = TYCHO__OTLP__INSTRUMENTATION_SCOPE__INIT;
    Tycho__Otlp__ScopeSpans ss = TYCHO__OTLP__SCOPE_SPANS__INIT;
    Tycho__Otlp__ResourceSpans rs = TYCHO__OTLP__RESOURCE_SPANS__INIT;
    Tycho__Otlp__ExportTraceServiceRequest req = TYCHO__OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;

    if (resource && resource->n) {
        res.attributes = tycho_export_arena_array(&a, resource->n, sizeof *res.attributes);
        if (!res.attributes) goto out;
        for (size_t i = 0; i < resource->n; i++) {
            const tycho_export_kv_t *kv = &resource->items[i];
            res.attributes[i] = tycho_ecs_is_array_key(kv->key)
                                    ? kv_string_array(&a, kv->key, kv->value)
                                    : kv_string(&a, kv->key, kv->value, strlen(kv->value));
            if (!res.attributes[i]) goto out;
        }
        res.n_attributes = resource->n;
    }
    scope.name = TYCHO_OTLP_SCOPE_NAME;
    scope.version = TYCHO_VERSION;
    if (n) {
        ss.spans = tycho_export_arena_array(&a, n, sizeof *ss.spans);
        if (!ss.spans) goto out;
        for (size_t i = 0; i < n; i++)
            if (!(ss.spans[i] = span_msg(&a, spans[i]))) goto out;
        ss.n_spans = n;
    }
    ss.scope = &scope;
    Tycho__Otlp__ScopeSpans *ssp = &ss;
    rs.resource = &res;
    rs.scope_spans = &ssp;
    rs.n_scope_spans = 1;
    Tycho__Otlp__ResourceSpans *rsp = &rs;
    req.resource_spans = &rsp;
    req.n_resource_spans = 1;

    size_t size = tycho__otlp__export_trace_service_request__get_packed_size(&req);
    if (tycho_buf_reserve(out, size + 1) != 0) goto out;
    tycho__otlp__export_trace_service_request__pack(&req, (uint8_t *)out->data + out->len);
    out->len += size;
    out->data[out->len] = 0;
    rc = 0;
out:
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
