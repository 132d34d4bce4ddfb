#include "core/request_obs.h"

#include "core/request_series.h"
#include "core/server_span.h"
#include "http/client_ip.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FREE_TRACES_MAX 256

struct tycho_obs {
    tycho_hub_t *hub;
    const tycho_config_t *cfg;
    int worker_id;
    unsigned shard;
    const tycho_hub_families_t *fam;
    tycho_series_t *in_flight, *conns_open, *conns_accepted, *conns_closed, *send_timeouts;
    tycho_series_t *lua_memory;
    uint64_t last_accepted, last_closed, last_send_timeouts;
    tycho_handler_t inner;
    tycho_req_trace_t *free_traces[FREE_TRACES_MAX]; /* reused: requests cost no malloc here */
    size_t nfree;
    tycho_request_series_cache_t series;
};

static _Thread_local tycho_obs_t *t_current;

tycho_obs_t *tycho_obs_current(void)
{
    return t_current;
}

tycho_req_trace_t *tycho_obs_trace(const tycho_exchange_t *x)
{
    return x ? x->telemetry : NULL;
}

unsigned tycho_obs_shard(const tycho_obs_t *o)
{
    return o->shard;
}

tycho_metrics_t *tycho_obs_registry(const tycho_obs_t *o)
{
    return tycho_hub_registry(o->hub);
}

tycho_hub_t *tycho_obs_hub(const tycho_obs_t *o)
{
    return o->hub;
}

tycho_obs_t *tycho_obs_new(tycho_hub_t *hub, const tycho_config_t *cfg, int worker_id)
{
    tycho_obs_t *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->hub = hub;
    o->cfg = cfg;
    o->worker_id = worker_id;
    o->shard = (unsigned)worker_id;
    o->fam = tycho_hub_families(hub);
    tycho_request_series_init(&o->series, o->fam, o->shard);
    char w[16];
    snprintf(w, sizeof w, "%d", worker_id);
    o->in_flight = tycho_metric_series(o->fam->in_flight, o->shard, NULL, NULL);
    o->conns_open = tycho_metric_series(o->fam->conns_open, o->shard, NULL, NULL);
    o->conns_accepted = tycho_metric_series(o->fam->conns_accepted, o->shard, NULL, NULL);
    o->conns_closed = tycho_metric_series(o->fam->conns_closed, o->shard, NULL, NULL);
    o->send_timeouts = tycho_metric_series(o->fam->send_timeouts, o->shard, NULL, NULL);
    o->lua_memory = tycho_metric_series(o->fam->lua_memory, o->shard, (const char *[]){w}, NULL);
    if (!o->in_flight || !o->conns_open || !o->conns_accepted || !o->conns_closed ||
        !o->send_timeouts || !o->lua_memory) {
        free(o);
        return NULL;
    }
    t_current = o;
    return o;
}

void tycho_obs_free(tycho_obs_t *o)
{
    if (!o) return;
    if (t_current == o) t_current = NULL;
    for (size_t i = 0; i < o->nfree; i++)
        free(o->free_traces[i]);
    free(o);
}

static tycho_req_trace_t *take_trace(tycho_obs_t *o)
{
    if (o->nfree) return o->free_traces[--o->nfree];
    return malloc(sizeof(tycho_req_trace_t));
}

static void give_trace(tycho_obs_t *o, tycho_req_trace_t *t)
{
    if (o->nfree < FREE_TRACES_MAX)
        o->free_traces[o->nfree++] = t;
    else
        free(t);
}

static const char *header(const tycho_request_t *r, const char *name, size_t *n)
{
    const tycho_slice_t *v = tycho_request_header(r, name);
    *n = v ? v->n : 0;
    return v ? v->p : NULL;
}

static tycho_parent_state_t parent_state(const tycho_trace_incoming_t *in)
{
    if (in->source == TYCHO_TRACE_SRC_NONE || in->source == TYCHO_TRACE_SRC_XRAY_ROOT)
        return in->source == TYCHO_TRACE_SRC_NONE ? TYCHO_PARENT_NONE : TYCHO_PARENT_UNDECIDED;
    if (!in->sampling_decided) return TYCHO_PARENT_UNDECIDED;
    return (in->flags & TYCHO_TRACE_FLAG_SAMPLED) ? TYCHO_PARENT_SAMPLED : TYCHO_PARENT_NOT_SAMPLED;
}

/* The trace headers of a request in one pass over its fields. W3C Trace
 * Context: tracestate sent as several field lines is one list (joined with
 * ',' here; lines past the buffer are left out, as a vendor may truncate),
 * and a traceparent sent twice is invalid (the trace starts anew, as if
 * there were none). X-Amzn-Trace-Id: the first. */
typedef struct trace_headers {
    const char *tp, *ts, *xa;
    size_t tpn, tsn, xan;
    int tp_twice;
    char ts_joined[1024];
} trace_headers_t;

static void add_tracestate(trace_headers_t *h, const tycho_slice_t *v)
{
    if (!h->ts) {
        h->ts = v->p, h->tsn = v->n;
        return;
    }
    if (h->ts != h->ts_joined) { /* the second line: the first moves into the buffer */
        if (h->tsn >= sizeof h->ts_joined) return;
        memcpy(h->ts_joined, h->ts, h->tsn);
        h->ts = h->ts_joined;
    }
    if (h->tsn + 1 + v->n > sizeof h->ts_joined) return;
    h->ts_joined[h->tsn++] = ',';
    memcpy(h->ts_joined + h->tsn, v->p, v->n);
    h->tsn += v->n;
}

static void find_trace_headers(const tycho_request_t *r, trace_headers_t *h)
{
    h->tp = h->ts = h->xa = NULL;
    h->tpn = h->tsn = h->xan = 0;
    h->tp_twice = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const tycho_slice_t *n = &r->headers[i].name, *v = &r->headers[i].value;
        if (n->n == 11 && strncasecmp(n->p, "traceparent", 11) == 0) {
            h->tp_twice |= h->tp != NULL;
            h->tp = v->p, h->tpn = v->n;
        } else if (n->n == 10 && strncasecmp(n->p, "tracestate", 10) == 0) {
            add_tracestate(h, v);
        } else if (n->n == 15 && !h->xa && strncasecmp(n->p, "x-amzn-trace-id", 15) == 0) {
            h->xa = v->p, h->xan = v->n;
        }
    }
    if (h->tp_twice) h->tp = NULL, h->tpn = 0;
}

/* Continues the incoming context (or starts a trace) and opens the server
 * span. Without traceparent or X-Amzn-Trace-Id (the common case) there is
 * nothing to extract: a new trace, as tycho_trace_extract would decide. */
static void start(tycho_obs_t *o, tycho_exchange_t *x)
{
    tycho_req_trace_t *t = take_trace(o);
    x->telemetry = t;
    if (!t) return;
    const tycho_request_t *r = &x->req;
    trace_headers_t h;
    find_trace_headers(r, &h);
    tycho_trace_incoming_t in;
    tycho_parent_state_t ps = TYCHO_PARENT_NONE;
    const uint8_t *parent_span_id = NULL;
    if (h.tp || h.xa) {
        tycho_trace_extract(h.tp, h.tpn, h.ts, h.tsn, h.xa, h.xan, &in);
        ps = parent_state(&in);
        if (in.has_parent) parent_span_id = in.parent_span_id;
    } else {
        in.source = TYCHO_TRACE_SRC_NONE;
    }
    if (in.source == TYCHO_TRACE_SRC_NONE) {
        tycho_trace_new_trace_id(t->trace_id);
        t->flags = TYCHO_TRACE_FLAG_RANDOM;
    } else {
        memcpy(t->trace_id, in.trace_id, 16);
        t->flags = in.flags & TYCHO_TRACE_FLAG_RANDOM;
    }
    if (h.tp || h.xa) {
        t->tracestate = in.tracestate;
        t->xray = in.xray;
    } else {
        tycho_tracestate_init(&t->tracestate);
        tycho_xray_header_init(&t->xray);
    }
    t->span = NULL;
    t->error = 0;
    tycho_trace_new_span_id(t->span_id);
    t->sampled = tycho_sampler_should_sample(tycho_hub_sampler(o->hub), t->trace_id, ps);
    if (t->sampled) t->flags |= TYCHO_TRACE_FLAG_SAMPLED;
    tycho_hex_encode(t->trace_id, 16, t->trace_hex);
    tycho_hex_encode(t->span_id, 8, t->span_hex);
    /* all three plain: hex made here, and an id request_id.c gave */
    t->logctx = (tycho_log_context_t){r->request_id, t->trace_hex, t->span_hex,
                                      TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_REQUEST_ID) |
                                          TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_TRACE_ID) |
                                          TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_SPAN_ID)};
    if (!t->sampled || !tycho_hub_spans_wanted(o->hub)) return;
    char name[24];
    tycho_server_span_name(name, sizeof name, r, NULL);
    t->span = tycho_obs_span_new(o, name, TYCHO_SPAN_KIND_SERVER);
    if (!t->span) return;
    tycho_span_set_ids(t->span, t->trace_id, t->span_id, parent_span_id, 1, t->flags);
    /* the handler's attributes leave room for the HTTP ones finish_span sets */
    tycho_span_reserve_known(t->span, TYCHO_KEY_COUNT);
    if (t->tracestate.str[0]) tycho_span_set_trace_state(t->span, t->tracestate.str);
}

static void dispatch(void *ctx, tycho_exchange_t *x)
{
    tycho_obs_t *o = ctx;
    start(o, x);
    tycho_series_inc(o->in_flight, 1);
    tycho_req_trace_t *t = x->telemetry;
    const tycho_log_context_t *prev = tycho_log_get_context();
    if (t) tycho_log_set_context(&t->logctx);
    o->inner.dispatch(o->inner.ctx, x);
    tycho_log_set_context(prev);
}

/* Ends the request's span: its attributes (server_span.h), its status
 * (ERROR for a 5xx, keeping the message of an error the handler recorded),
 * then off to the telemetry thread. status 0: no response, for the reason
 * error_type (the caller sets the status). */
static void finish_span(tycho_obs_t *o, tycho_req_trace_t *t, const tycho_exchange_t *x, int status,
                        const char *client_ip, const char *error_type)
{
    tycho_span_t *s = t->span;
    tycho_server_span_request(s, o->cfg, &x->req, x->route, client_ip);
    tycho_server_span_response(s, status, error_type);
    if ((status >= 500 || t->error) && s->status != TYCHO_SPAN_STATUS_ERROR)
        tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, NULL);
    t->span = NULL;
    tycho_obs_span_finish(o, s);
}

/* seconds as milliseconds to the microsecond ("12.345"), the access log's
 * duration_ms, written without printf (a %g cost as much as the rest of the
 * line). Returns a pointer into out. */
static const char *duration_ms_text(char out[32], double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9) seconds = 0; /* NaN, a clock step */
    unsigned long long us = (unsigned long long)(seconds * 1e6 + 0.5);
    char *p = out + 31;
    *p = '\0';
    for (int i = 0; i < 3; i++, us /= 10)
        *--p = (char)('0' + us % 10);
    *--p = '.';
    do {
        *--p = (char)('0' + us % 10);
        us /= 10;
    } while (us);
    return p;
}

static void access_log(const tycho_exchange_t *x, int status, double seconds, size_t in, size_t out,
                       const char *client_ip)
{
    char ms[32];
    const tycho_request_t *r = &x->req;
    size_t uan = 0;
    const char *ua = header(r, "User-Agent", &uan);
    tycho_log_info("access", LF_STRN("method", r->method.p, r->method.n),
                   LF_STR("route", x->route ? x->route : ""), LF_STRN("path", r->path.p, r->path.n),
                   LF_INT("status", status), LF_JSON("duration_ms", duration_ms_text(ms, seconds)),
                   LF_INT("bytes_in", in), LF_INT("bytes_out", out), LF_STR("client_ip", client_ip),
                   LF_STRN("user_agent", ua, uan)); /* null without one */
}

/* Seconds since the request was complete. */
static double elapsed(const tycho_request_t *r)
{
    return r->start_ns ? (double)(uv_hrtime() - r->start_ns) / 1e9 : 0;
}

/* The access line, in the request's log context (a request the engine
 * rejected has none: its id alone). */
static void log_access(tycho_obs_t *o, const tycho_exchange_t *x, int status, double seconds,
                       size_t in, size_t out, const char *client_ip)
{
    const tycho_request_t *r = &x->req;
    if (!tycho_hub_access_log(o->hub)) return;
    tycho_req_trace_t *t = x->telemetry;
    const tycho_log_context_t *prev = tycho_log_get_context();
    /* a request the engine rejected has no trace, but its id went out in
     * X-Request-Id and on the "request rejected" line */
    const tycho_log_context_t rejected = {r->request_id, NULL, NULL,
                                          TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_REQUEST_ID)};
    tycho_log_set_context(t ? &t->logctx : &rejected);
    access_log(x, status, seconds, in, out, client_ip);
    tycho_log_set_context(prev);
}

static void record_cut(tycho_obs_t *o, tycho_exchange_t *x, const char *reason, size_t bytes_in,
                       size_t bytes_out);

void tycho_obs_on_response(void *ud, const tycho_exchange_t *x, size_t bytes_in, size_t bytes_out,
                           const char *cut)
{
    tycho_obs_t *o = ud;
    if (cut) {
        record_cut(o, (tycho_exchange_t *)x, cut, bytes_in, bytes_out);
        return;
    }
    const tycho_request_t *r = &x->req;
    int status = x->res.status;
    double seconds = elapsed(r);
    char client_ip[TYCHO_CLIENT_IP_MAX];
    tycho_request_series_t s;
    tycho_request_series_get(&o->series, r->method.p, r->method.n, x->route, status, &s);
    if (s.requests) tycho_series_inc(s.requests, 1);
    if (s.duration) tycho_series_observe(s.duration, seconds);
    if (s.request_size) tycho_series_observe(s.request_size, (double)bytes_in);
    if (s.response_size) tycho_series_observe(s.response_size, (double)bytes_out);
    tycho_client_ip(o->cfg, r, client_ip);
    log_access(o, x, status, seconds, bytes_in, bytes_out, client_ip);
    tycho_req_trace_t *t = x->telemetry;
    if (!t) return; /* an engine error (400, 408...): no handler ran */
    tycho_series_inc(o->in_flight, -1);
    if (t->span) finish_span(o, t, x, status, client_ip, NULL);
    ((tycho_exchange_t *)x)->telemetry = NULL;
    give_trace(o, t);
}

/* The span status message of a request cut for reason (x->cancel). */
static const char *cut_message(const char *reason)
{
    if (strcmp(reason, "drain_timeout") == 0)
        return "shutdown: the drain timeout closed the connection";
    if (strcmp(reason, "shutdown") == 0) return "shutdown closed the connection";
    if (strcmp(reason, "send_timeout") == 0)
        return "the client read nothing of the response for TYCHO_SEND_TIMEOUT";
    return "client closed the connection";
}

/* A request cut before its whole answer went out (still arriving, the
 * handler still running, or the response partly written): counted in
 * tycho_http_requests_cut_total (never in the answered requests' series),
 * an access line with status 0 and the bytes written, a span ending in
 * ERROR with error.type the reason. */
static void record_cut(tycho_obs_t *o, tycho_exchange_t *x, const char *reason, size_t bytes_in,
                       size_t bytes_out)
{
    tycho_series_t *cut = tycho_metric_series(
        o->fam->requests_cut, o->shard, (const char *[]){x->route ? x->route : "", reason}, NULL);
    if (cut) tycho_series_inc(cut, 1);
    char client_ip[TYCHO_CLIENT_IP_MAX];
    tycho_client_ip(o->cfg, &x->req, client_ip);
    log_access(o, x, 0, elapsed(&x->req), bytes_in, bytes_out, client_ip);
    tycho_req_trace_t *t = x->telemetry;
    if (!t) return; /* no handler ran (cut while arriving), or no memory for a trace */
    tycho_series_inc(o->in_flight, -1);
    if (t->span) {
        tycho_span_set_status(t->span, TYCHO_SPAN_STATUS_ERROR, cut_message(reason));
        finish_span(o, t, x, 0, client_ip, reason);
    }
    x->telemetry = NULL;
    give_trace(o, t);
}

static void cancel(void *ctx, tycho_exchange_t *x)
{
    tycho_obs_t *o = ctx;
    if (o->inner.cancel) o->inner.cancel(o->inner.ctx, x);
    record_cut(o, x, x->cancel.reason ? x->cancel.reason : "client_closed", x->cancel.bytes_in, 0);
}

static int final_status(void *ctx, const tycho_request_t *req)
{
    tycho_obs_t *o = ctx;
    return o->inner.final_status ? o->inner.final_status(o->inner.ctx, req) : 0;
}

tycho_handler_t tycho_obs_wrap(tycho_obs_t *o, tycho_handler_t inner)
{
    o->inner = inner;
    return (tycho_handler_t){dispatch, cancel, o, final_status};
}

void tycho_obs_sync(tycho_obs_t *o, const void *http_stats, size_t lua_memory)
{
    const tycho_http_stats_t *st = http_stats;
    tycho_series_set(o->conns_open, (double)st->open);
    tycho_series_inc(o->conns_accepted, (double)(st->accepted - o->last_accepted));
    tycho_series_inc(o->conns_closed, (double)(st->closed - o->last_closed));
    tycho_series_inc(o->send_timeouts, (double)(st->send_timeouts - o->last_send_timeouts));
    o->last_send_timeouts = st->send_timeouts;
    o->last_accepted = st->accepted;
    o->last_closed = st->closed;
    tycho_series_set(o->lua_memory, (double)lua_memory);
}

void tycho_obs_record_error(tycho_exchange_t *x, const char *message, const char *stacktrace)
{
    tycho_req_trace_t *t = tycho_obs_trace(x);
    if (!t) return;
    t->error = 1;
    if (!t->span) return;
    tycho_span_record_exception(t->span, "LuaError", message, stacktrace, 0);
    tycho_span_set_status(t->span, TYCHO_SPAN_STATUS_ERROR, message);
}

tycho_span_t *tycho_obs_span_new(tycho_obs_t *o, const char *name, tycho_span_kind_t kind)
{
    return tycho_span_new_from(tycho_hub_span_pool(o->hub, o->worker_id), name, kind,
                               tycho_hub_span_limits(o->hub));
}

tycho_span_t *tycho_obs_span_start(tycho_obs_t *o, const tycho_req_trace_t *t,
                                   const uint8_t parent_span_id[8], const char *name,
                                   tycho_span_kind_t kind)
{
    if (!t || !t->sampled || !tycho_hub_spans_wanted(o->hub)) return NULL;
    tycho_span_t *s = tycho_obs_span_new(o, name, kind);
    if (!s) return NULL;
    uint8_t id[8];
    tycho_trace_new_span_id(id);
    tycho_span_set_ids(s, t->trace_id, id, parent_span_id ? parent_span_id : t->span_id, 0,
                       t->flags);
    /* a child's span context inherits its parent's trace state (OTel trace API) */
    if (t->tracestate.str[0]) tycho_span_set_trace_state(s, t->tracestate.str);
    return s;
}

void tycho_obs_span_finish(tycho_obs_t *o, tycho_span_t *span)
{
    tycho_span_end(span, 0);
    if (tycho_ring_try_push(tycho_hub_span_ring(o->hub, o->worker_id), span) != 0) {
        tycho_dropcount_add(tycho_hub_drops(o->hub), o->shard, TYCHO_SIGNAL_SPANS,
                            TYCHO_DROP_QUEUE_FULL, 1);
        tycho_span_free(span);
        return;
    }
    tycho_hub_span_pushed(o->hub, o->worker_id);
}
