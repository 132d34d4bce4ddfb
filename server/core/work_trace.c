#include "core/work_trace.h"

#include <string.h>

tycho_span_t *tycho_work_trace_start(tycho_req_trace_t *t, const tycho_xray_header_t *xray,
                                     const char *name, tycho_span_kind_t kind, const char *log_id)
{
    memset(t, 0, sizeof *t);
    tycho_parent_state_t ps = TYCHO_PARENT_NONE;
    if (xray) {
        memcpy(t->trace_id, xray->root, 16);
        t->xray = *xray; /* Lineage and extras carry on to the calls it makes */
        ps = xray->sampled == TYCHO_XRAY_SAMPLED_YES  ? TYCHO_PARENT_SAMPLED
             : xray->sampled == TYCHO_XRAY_SAMPLED_NO ? TYCHO_PARENT_NOT_SAMPLED
                                                      : TYCHO_PARENT_UNDECIDED;
    } else {
        tycho_trace_new_trace_id(t->trace_id);
        t->flags = TYCHO_TRACE_FLAG_RANDOM;
        tycho_xray_header_init(&t->xray);
    }
    tycho_tracestate_init(&t->tracestate);
    tycho_trace_new_span_id(t->span_id);
    tycho_obs_t *o = tycho_obs_current();
    tycho_hub_t *hub = o ? tycho_obs_hub(o) : NULL;
    t->sampled = hub ? tycho_sampler_should_sample(tycho_hub_sampler(hub), t->trace_id, ps) : 0;
    if (t->sampled) t->flags |= TYCHO_TRACE_FLAG_SAMPLED;
    tycho_hex_encode(t->trace_id, 16, t->trace_hex);
    tycho_hex_encode(t->span_id, 8, t->span_hex);
    /* the ids are hex made here; log_id comes from elsewhere (an SQS
     * message id) and is escaped as any value */
    t->logctx = (tycho_log_context_t){log_id, t->trace_hex, t->span_hex,
                                      TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_TRACE_ID) |
                                          TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_SPAN_ID)};
    if (!t->sampled || !tycho_hub_spans_wanted(hub)) return NULL; /* context only */
    tycho_span_t *s = tycho_obs_span_new(o, name, kind);
    if (!s) return NULL;
    int has_parent = xray && xray->has_parent;
    tycho_span_set_ids(s, t->trace_id, t->span_id, has_parent ? xray->parent : NULL, 1, t->flags);
    t->span = s;
    return s;
}

void tycho_work_trace_fail(tycho_req_trace_t *t, const char *error_type, const char *message,
                           const char *traceback)
{
    t->error = 1;
    if (!t->span) return;
    if (traceback) tycho_span_record_exception(t->span, "LuaError", message, traceback, 0);
    tycho_span_set_attr(t->span, "error.type", TYCHO_AV_STR(error_type));
    tycho_span_set_status(t->span, TYCHO_SPAN_STATUS_ERROR, message);
}

void tycho_work_trace_finish(tycho_req_trace_t *t)
{
    tycho_span_t *s = t->span;
    if (!s) return;
    t->span = NULL;
    tycho_obs_t *o = tycho_obs_current();
    if (o)
        tycho_obs_span_finish(o, s);
    else
        tycho_span_free(s);
}
