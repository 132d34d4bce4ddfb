#include "lua/consumer.h"

#include "lua/drain_notice.h"
#include "lua/task_traceback.h"
#include "aws/services.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/own_metrics.h"
#include "core/prng.h"
#include "core/ratelog.h"
#include "core/request_obs.h"
#include "core/work_trace.h"
#include "core/telemetry_hub.h"
#include "core/units.h"
#include "telemetry/trace_context.h"

#include <cJSON.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_DECLS "tycho.consumers"     /* registry: queue -> declaration table */
#define REG_RUNNER "tycho.consumer.run" /* registry: the task function */
#define MAX_PENDING_DELETES 1000
/* What becomes of a message left on the queue. The consumer does not know
 * the queue's maxReceiveCount (only worker 0's depth poll reads the
 * RedrivePolicy), so a failure at that count, which SQS follows with the
 * redrive rather than a delivery, must read true as well. */
#define REDELIVERED                                                                                \
    "the message will be delivered again, or moved to the dead-letter queue by the queue's "       \
    "redrive policy"

/* --- declarations (loader side) ----------------------------------------------- */

typedef struct num_opt {
    const char *name;
    double lo, hi, dflt;
    int integer;
} num_opt_t;

static const num_opt_t NUM_OPTS[] = {
    {"batch", 1, 10, 10, 1},           {"concurrency", 1, 10000, 0, 1}, /* 0: = batch */
    {"visibility", 1, 43200, 30, 1},   {"wait", 0, 20, 20, 1},
    {"timeout", 0, 43200, 0, 0},       /* 0: TYCHO_HANDLER_TIMEOUT */
    {"retry_delay", -1, 43200, -1, 1}, /* -1: leave the visibility timeout as it is */
};
#define NNUM (sizeof NUM_OPTS / sizeof NUM_OPTS[0])

static int known_key(const char *k)
{
    if (strcmp(k, "queue") == 0 || strcmp(k, "handler") == 0) return 1;
    for (size_t i = 0; i < NNUM; i++)
        if (strcmp(k, NUM_OPTS[i].name) == 0) return 1;
    return 0;
}

/* Pushes where the consumer entry at e is declared, for its errors and
 * `tycho check`: "file:line" of its handler when that is a function defined
 * in this file, else "file" (a table has no line of its own; a handler from
 * a module has none here), as for route entries. */
static void push_where(lua_State *L, int e, const char *file)
{
    lua_getfield(L, e, "handler");
    int line = lua_isfunction(L, -1) ? tycho_lua_line_in_file(L, -1, file) : 0;
    lua_pop(L, 1);
    if (line > 0)
        lua_pushfstring(L, "%s:%d", file, line);
    else
        lua_pushstring(L, file);
}

int tycho_lua_consumers_read(tycho_lua_gen_t *g, const char *file, int idx, char **err)
{
    lua_State *L = g->L;
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    char bad[80];
    if (!lua_istable(L, idx) || !tycho_lua_is_list(L, idx, bad, sizeof bad)) {
        *err = tycho_lua_strdupf(
            "%s: consumers must be a list of { queue = ..., handler = ... }%s%s", file,
            lua_istable(L, idx) ? ": unexpected key " : "", lua_istable(L, idx) ? bad : "");
        return -1;
    }
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    }
    int decls = lua_gettop(L);
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        int e = lua_gettop(L);
        if (!lua_istable(L, e)) {
            *err = tycho_lua_strdupf("%s: consumers[%zu]: expected { queue = ..., handler = ... }",
                                     file, i);
            goto fail;
        }
        push_where(L, e, file);
        int where = lua_gettop(L);
        const char *at = lua_tostring(L, where);
        lua_pushnil(L);
        while (lua_next(L, e)) {
            if (lua_type(L, -2) != LUA_TSTRING || !known_key(lua_tostring(L, -2))) {
                *err = tycho_lua_strdupf(
                    "%s: consumers[%zu]: unknown option '%s' (queue, handler, "
                    "batch, concurrency, visibility, wait, timeout, retry_delay)",
                    at, i, lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
                goto fail;
            }
            lua_pop(L, 1);
        }
        lua_getfield(L, e, "queue");
        if (lua_type(L, -1) != LUA_TSTRING || lua_objlen(L, -1) == 0) {
            *err = tycho_lua_strdupf("%s: consumers[%zu]: queue is required (a queue URL or name; "
                                     "an unset environment variable?)",
                                     at, i);
            goto fail;
        }
        const char *queue = lua_tostring(L, -1);
        lua_getfield(L, e, "handler");
        int handler = lua_gettop(L);
        if (lua_type(L, handler) != LUA_TFUNCTION) {
            *err = tycho_lua_strdupf("%s: consumers[%zu] (%s): handler must be a function", at, i,
                                     queue);
            goto fail;
        }
        lua_getfield(L, decls, queue);
        if (!lua_isnil(L, -1)) {
            lua_getfield(L, -1, "where");
            *err = tycho_lua_strdupf("%s: consumer of queue %s is already declared at %s",
                                     lua_tostring(L, where), queue, lua_tostring(L, -1));
            goto fail;
        }
        lua_pop(L, 1);
        lua_createtable(L, 0, 10);
        int d = lua_gettop(L);
        lua_pushvalue(L, handler);
        lua_setfield(L, d, "handler");
        lua_pushvalue(L, where);
        lua_setfield(L, d, "where");
        for (size_t k = 0; k < NNUM; k++) {
            const num_opt_t *o = &NUM_OPTS[k];
            lua_getfield(L, e, o->name);
            double v = o->dflt;
            if (!lua_isnil(L, -1)) {
                v = lua_tonumber(L, -1);
                if (lua_type(L, -1) != LUA_TNUMBER || !(v >= o->lo && v <= o->hi) ||
                    (o->integer && v != (double)(long)v) || (o->lo == -1 && v < 0)) {
                    *err = tycho_lua_strdupf("%s: consumers[%zu] (%s): %s must be %s from %g to %g",
                                             at, i, queue, o->name,
                                             o->integer ? "an integer" : "a number",
                                             o->lo < 0 ? 0 : o->lo, o->hi);
                    goto fail;
                }
            }
            lua_pop(L, 1);
            lua_pushnumber(L, v);
            lua_setfield(L, d, o->name);
        }
        lua_setfield(L, decls, queue);
        lua_settop(L, decls);
    }
    lua_settop(L, top);
    return 0;
fail:
    lua_settop(L, top);
    return -1;
}

void tycho_lua_consumers_each(tycho_lua_gen_t *g,
                              void (*fn)(void *ud, const char *queue, const char *where), void *ud)
{
    lua_State *L = g->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* the strings stay referenced by the registry */
            lua_getfield(L, -1, "where");
            fn(ud, lua_tostring(L, -3), lua_tostring(L, -1));
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);
}

int tycho_lua_consumers_count(tycho_lua_gen_t *g)
{
    lua_State *L = g->L;
    int n = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            n++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return n;
}

/* --- runtime side ------------------------------------------------------------------ */

typedef struct cqueue cqueue_t;
typedef struct cmsg cmsg_t;
typedef struct aux_call aux_call_t;

typedef struct pending_del {
    char *handle;
    int tries;
} pending_del_t;

struct cqueue {
    tycho_consumers_t *c;
    cqueue_t *next;
    char *key; /* as declared: URL or name */
    char *url; /* resolved */
    char name[128];
    int batch, share, visibility, wait, retry_delay;
    double timeout;
    int active, resolving, dead, dispatching;
    tycho_aws_svc_call_t *recv; /* GetQueueUrl or ReceiveMessage in flight */
    int recv_is_poll;
    cmsg_t *msgs;
    int inflight;
    pending_del_t *dels;
    int ndels, capdels;
    tycho_aws_svc_call_t *del_call;
    pending_del_t *del_batch; /* the entries of del_call */
    int ndel_batch;
    uv_timer_t *del_pause;       /* no DeleteMessageBatch before it fires */
    int del_errors;              /* consecutive DeleteMessageBatch failures */
    tycho_ratelog_t del_log;     /* their warnings and refused entries */
    long long del_unlogged_lost; /* messages left undeleted since the last warning */
    int aux;                     /* fire-and-forget calls in flight */
    aux_call_t *aux_calls;
    uv_timer_t *backoff;
    int errors;                /* consecutive GetQueueUrl / ReceiveMessage failures */
    tycho_ratelog_t poll_log;  /* their warnings */
    tycho_ratelog_t depth_log; /* the depth polls' failures */
    /* depth (worker 0) */
    uv_timer_t *depth_timer;
    tycho_aws_svc_call_t *depth_call;
    char *dlq_name, *dlq_url;
    int depth_step;
};

struct cmsg {
    cqueue_t *q;
    cmsg_t *prev, *next;
    char *id, *handle, *raw;
    int receive_count;
    tycho_lua_task_t *task;
    uv_timer_t *vis_timer;
    tycho_aws_svc_call_t *vis_call;
    uint64_t start_ns;
    tycho_req_trace_t trace; /* its CONSUMER span in trace.span (core/work_trace.h) */
    tycho_log_context_t logctx;
};

enum { M_RECEIVED, M_PROCESSED, M_FAILED, M_NOT_DELETED, M_DURATION, M_DEPTH, M_COUNT };

struct tycho_consumers {
    uv_loop_t *loop;
    tycho_lua_sched_t *sched;
    const tycho_config_t *cfg;
    int worker_id;
    tycho_aws_services_t *svc;
    tycho_lua_gen_t *(*current_gen)(void *ud);
    void *gen_ud;
    cqueue_t *queues;
    int draining;
    tycho_drain_notice_t drained;
    double depth_interval;
    tycho_metric_t *fams[M_COUNT];
    tycho_own_metrics_t metrics; /* fams, in the worker's registry */
    unsigned long long received, processed, failed, deleted, not_deleted;
};

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static uv_timer_t *timer_new(tycho_consumers_t *c, void *data)
{
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) return NULL;
    uv_timer_init(c->loop, t);
    t->data = data;
    return t;
}

static void timer_free(uv_timer_t **t)
{
    if (!*t) return;
    uv_close((uv_handle_t *)*t, free_handle);
    *t = NULL;
}

/* --- metrics ------------------------------------------------------------------------- */

static const char *const queue_label[] = {"queue"};
#define QUEUE_METRIC(nm, hp, ty)                                                                   \
    {                                                                                              \
        .name = nm, .help = hp, .type = ty, .label_names = queue_label, .nlabels = 1               \
    }
static const tycho_metric_opts_t metric_defs[M_COUNT] = {
    [M_RECEIVED] = QUEUE_METRIC("tycho_sqs_consumer_received_total",
                                "SQS messages received by consumers", TYCHO_METRIC_COUNTER),
    [M_PROCESSED] =
        QUEUE_METRIC("tycho_sqs_consumer_processed_total",
                     "SQS messages whose handler succeeded (then deleted)", TYCHO_METRIC_COUNTER),
    [M_FAILED] = QUEUE_METRIC("tycho_sqs_consumer_failed_total",
                              "SQS messages whose handler failed (left for redelivery)",
                              TYCHO_METRIC_COUNTER),
    [M_NOT_DELETED] = QUEUE_METRIC("tycho_sqs_consumer_not_deleted_total",
                                   "SQS messages whose handler succeeded but that could not be "
                                   "deleted (delivered again after their visibility timeout)",
                                   TYCHO_METRIC_COUNTER),
    [M_DURATION] = QUEUE_METRIC("tycho_sqs_consumer_handler_duration_seconds",
                                "SQS consumer handler duration", TYCHO_METRIC_HISTOGRAM),
    [M_DEPTH] = {.name = "tycho_sqs_queue_depth",
                 .help = "ApproximateNumberOfMessages of consumed queues and their dead-letter "
                         "queues",
                 .type = TYCHO_METRIC_GAUGE,
                 .label_names = queue_label,
                 .nlabels = 1,
                 .merge = TYCHO_GAUGE_MERGE_LAST},
};
#undef QUEUE_METRIC

static void count(tycho_consumers_t *c, int m, const char *queue, double v)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&c->metrics, &shard)) return;
    const char *lv[] = {queue};
    if (m == M_DURATION)
        tycho_metric_observe(c->fams[m], shard, lv, v);
    else if (m == M_DEPTH)
        tycho_metric_set(c->fams[m], shard, lv, v);
    else
        tycho_metric_inc(c->fams[m], shard, lv, v);
}

/* A queue this worker starts consuming has its counters at 0 from the start:
 * a series born at its first message has no earlier sample, so rate() and
 * increase() (and TychoSqsConsumerFailing) would miss that message. */
static void counters_at_zero(cqueue_t *q)
{
    count(q->c, M_RECEIVED, q->name, 0);
    count(q->c, M_PROCESSED, q->name, 0);
    count(q->c, M_FAILED, q->name, 0);
    count(q->c, M_NOT_DELETED, q->name, 0);
    tycho_aws_services_count_md5_mismatch(q->c->svc, q->name, 0);
}

/* --- calls ----------------------------------------------------------------------------- */

static int sqs_call(cqueue_t *q, const char *op, const char *body, size_t len, long timeout_ms,
                    tycho_aws_done_fn cb, void *ud, tycho_aws_svc_call_t **out)
{
    char target[64];
    snprintf(target, sizeof target, "AmazonSQS.%s", op);
    tycho_aws_svc_request_t req = {.service = "sqs",
                                   .target = target,
                                   .body = body,
                                   .body_len = len,
                                   .timeout_ms = timeout_ms,
                                   .queue_url = q->url};
    return tycho_aws_services_call(q->c->svc, &req, cb, ud, out);
}

static void json_kv(tycho_buf_t *b, const char *k, const char *v, int first)
{
    if (!first) tycho_buf_puts(b, ",");
    tycho_buf_append_json_string(b, k, strlen(k));
    tycho_buf_puts(b, ":");
    tycho_buf_append_json_string(b, v, strlen(v));
}

static void maybe_drained(tycho_consumers_t *c);
static void poll_queue(cqueue_t *q);
static void queue_maybe_free(cqueue_t *q);

/* A call nobody waits for: the ChangeMessageVisibility that applies
 * retry_delay to a failed message. */
struct aux_call {
    cqueue_t *q;
    aux_call_t *next;
    tycho_aws_svc_call_t *call;
    char message_id[128];
};

static void aux_unlink(aux_call_t *a)
{
    for (aux_call_t **p = &a->q->aux_calls; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    a->q->aux--;
}

static void on_aux_done(const tycho_aws_result_t *r, void *ud)
{
    aux_call_t *a = ud;
    cqueue_t *q = a->q;
    tycho_consumers_t *c = q->c;
    if (!r->ok && strcmp(r->error_type, "Cancelled") != 0)
        tycho_log_warn("sqs consumer: could not apply retry_delay to a failed message "
                       "(ChangeMessageVisibility); it comes back when its visibility timeout "
                       "ends instead",
                       LF_STR("queue", q->name), LF_STR("message_id", a->message_id),
                       LF_INT("retry_delay", q->retry_delay), LF_STR("error", r->message));
    aux_unlink(a);
    free(a);
    queue_maybe_free(q);
    maybe_drained(c);
}

static void retry_later(cqueue_t *q, const char *message_id, const char *handle)
{
    aux_call_t *a = calloc(1, sizeof *a);
    if (!a) return;
    a->q = q;
    snprintf(a->message_id, sizeof a->message_id, "%s", message_id ? message_id : "");
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    json_kv(&b, "QueueUrl", q->url, 1);
    json_kv(&b, "ReceiptHandle", handle, 0);
    tycho_buf_printf(&b, ",\"VisibilityTimeout\":%d}", q->retry_delay);
    int rc = sqs_call(q, "ChangeMessageVisibility", b.data, b.len, 0, on_aux_done, a, &a->call);
    tycho_buf_free(&b);
    if (rc != 0) {
        free(a);
        return;
    }
    a->next = q->aux_calls;
    q->aux_calls = a;
    q->aux++;
}

/* --- pauses after failures ---------------------------------------------------------------- */

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
/* Receipt handles are good for a visibility timeout only: a longer pause
 * would mostly retry handles already expired. */
#define DELETE_PAUSE_MAX_MS 5000

/* The pause before calling again after the errors-th consecutive failure:
 * 1 s doubling up to max_ms (30 s for polls, 5 s for deletes), the upper
 * half of it random ("equal jitter"), so that the workers and processes
 * calling one queue do not retry in step, while a pause is never shorter
 * than half its step (no spinning). */
static uint64_t backoff_ms(int errors, uint64_t max_ms)
{
    uint64_t ms = BACKOFF_FIRST_MS;
    for (int i = 1; i < errors && ms < max_ms; i++)
        ms *= 2;
    if (ms > max_ms) ms = max_ms;
    return ms / 2 + (uint64_t)(tycho_prng_unit() * (double)(ms / 2));
}

/* What tells one failed call's error from another's for core/ratelog: the
 * call (what), the code, the transport error and the status. */
static void failure_reason(char *out, size_t n, const char *what, const tycho_aws_result_t *r)
{
    snprintf(out, n, "%.200s|%.60s|%d|%ld", what,
             r->ok ? "answer without its field" : r->error_type, r->transport_error, r->status);
}

/* --- deletes -------------------------------------------------------------------------- */

static void flush_deletes(cqueue_t *q);

/* Handled messages this worker gives up deleting (an entry SQS refused, a
 * batch that failed its last try, a full list of pending deletes): SQS
 * delivers them again after their visibility timeout, so they are counted
 * (tycho_sqs_consumer_not_deleted_total) and said in the next warning. */
static void lost_deletes(cqueue_t *q, int n)
{
    if (n <= 0) return;
    q->c->not_deleted += (unsigned long long)n;
    count(q->c, M_NOT_DELETED, q->name, n);
    q->del_unlogged_lost += n;
}

/* One failed DeleteMessageBatch or refused entry (reason: what tells it from
 * another, for core/ratelog), logged by core/ratelog's policy: the first,
 * then at most one line a minute, a different error at once. retry_ms: the
 * pause before the batch is sent again, -1 when nothing is retried. */
static void delete_failed(cqueue_t *q, const char *reason, const char *error, int retrying,
                          long long retry_ms)
{
    uint64_t n;
    if (!tycho_ratelog_due_reason(&q->del_log, uv_now(q->c->loop), TYCHO_LOG_EVERY_MS, reason, &n))
        return;
    tycho_log_warn("sqs consumer: handled messages could not be deleted; a message not deleted "
                   "comes back after its visibility timeout: " REDELIVERED,
                   LF_STR("queue", q->name), LF_STR("error", error), LF_INT("retrying", retrying),
                   LF_INT("retry_in_ms", retry_ms), LF_INT("not_deleted", q->del_unlogged_lost),
                   LF_INT("failures_not_logged", (long long)n - 1));
    q->del_unlogged_lost = 0;
}

static int dels_push(cqueue_t *q, pending_del_t d)
{
    if (q->ndels >= MAX_PENDING_DELETES) return -1;
    if (q->ndels == q->capdels) {
        int cap = q->capdels ? q->capdels * 2 : 16;
        pending_del_t *v = realloc(q->dels, (size_t)cap * sizeof *v);
        if (!v) return -1;
        q->dels = v;
        q->capdels = cap;
    }
    q->dels[q->ndels++] = d;
    return 0;
}

static void on_del_pause(uv_timer_t *t)
{
    cqueue_t *q = t->data;
    tycho_consumers_t *c = q->c;
    flush_deletes(q);
    queue_maybe_free(q);
    maybe_drained(c);
}

/* A failed batch goes back to the list for another try (3 in all), and the
 * next DeleteMessageBatch waits: a throttled or refused delete (no
 * sqs:DeleteMessage) is not hammered. Returns the pause. */
static long long deletes_retry(cqueue_t *q, pending_del_t *batch, int n, int *kept)
{
    int lost = 0;
    *kept = 0;
    for (int i = 0; i < n; i++) {
        if (++batch[i].tries < 3 && dels_push(q, batch[i]) == 0) {
            (*kept)++;
        } else {
            free(batch[i].handle);
            lost++;
        }
    }
    lost_deletes(q, lost);
    q->del_errors++;
    if (!q->del_pause) q->del_pause = timer_new(q->c, q);
    if (!q->del_pause) return 0;
    uint64_t ms = backoff_ms(q->del_errors, DELETE_PAUSE_MAX_MS);
    uv_timer_start(q->del_pause, on_del_pause, ms, 0);
    return (long long)ms;
}

/* The Failed entries of a DeleteMessageBatch answer j for batch (n entries,
 * Id = index): *nfailed of them, *code the first one's Code. Those SQS
 * failed on its side (SenderFault false: InternalError and the like) move
 * to again (their handles taken out of batch), to be sent again; the
 * others (a receipt handle SQS refuses) are not worth another try. Returns
 * how many moved. */
static int refused_entries(const cJSON *j, pending_del_t *batch, int n, pending_del_t *again,
                           int *nfailed, const char **code)
{
    const cJSON *f;
    int nagain = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "Failed"))
    {
        const cJSON *jc = cJSON_GetObjectItemCaseSensitive(f, "Code");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "Id");
        if ((*nfailed)++ == 0 && cJSON_IsString(jc)) *code = jc->valuestring;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "SenderFault")) || !cJSON_IsString(id))
            continue;
        char *end;
        long i = strtol(id->valuestring, &end, 10);
        if (*end || end == id->valuestring || i < 0 || i >= n || !batch[i].handle) continue;
        again[nagain++] = batch[i];
        batch[i].handle = NULL;
    }
    return nagain;
}

static void on_deleted(const tycho_aws_result_t *r, void *ud)
{
    cqueue_t *q = ud;
    q->del_call = NULL;
    int n = q->ndel_batch;
    pending_del_t *batch = q->del_batch;
    q->del_batch = NULL;
    q->ndel_batch = 0;
    char reason[300];
    if (r->ok) {
        q->del_errors = 0;
        cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
        int nfailed = 0, kept = 0;
        long long ms = -1;
        const char *code = "?";
        pending_del_t again[10]; /* entries SQS failed on its side: sent again */
        int nagain = refused_entries(j, batch, n, again, &nfailed, &code);
        if (nagain) ms = deletes_retry(q, again, nagain, &kept);
        q->c->deleted += (unsigned long long)(n - nfailed);
        lost_deletes(q, nfailed - nagain);
        if (nfailed) {
            snprintf(reason, sizeof reason, "entry|%.200s", code);
            delete_failed(q, reason, code, kept, kept ? ms : -1);
        }
        cJSON_Delete(j);
        for (int i = 0; i < n; i++)
            free(batch[i].handle);
    } else if (strcmp(r->error_type, "Cancelled") != 0) {
        int kept;
        long long ms = deletes_retry(q, batch, n, &kept);
        failure_reason(reason, sizeof reason, "DeleteMessageBatch", r);
        delete_failed(q, reason, r->message, kept, kept ? ms : -1);
    } else {
        for (int i = 0; i < n; i++)
            free(batch[i].handle);
    }
    free(batch);
    tycho_consumers_t *c = q->c;
    if (!c->draining || q->ndels) flush_deletes(q);
    queue_maybe_free(q);
    maybe_drained(c);
}

static void flush_deletes(cqueue_t *q)
{
    if (q->del_call || q->ndels == 0 || !q->url) return;
    if (q->del_pause && uv_is_active((uv_handle_t *)q->del_pause)) return;
    int n = q->ndels < 10 ? q->ndels : 10;
    pending_del_t *batch = malloc((size_t)n * sizeof *batch);
    if (!batch) return;
    memcpy(batch, q->dels, (size_t)n * sizeof *batch);
    memmove(q->dels, q->dels + n, (size_t)(q->ndels - n) * sizeof *q->dels);
    q->ndels -= n;
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    json_kv(&b, "QueueUrl", q->url, 1);
    tycho_buf_puts(&b, ",\"Entries\":[");
    for (int i = 0; i < n; i++) {
        tycho_buf_printf(&b, "%s{\"Id\":\"%d\",", i ? "," : "", i);
        json_kv(&b, "ReceiptHandle", batch[i].handle, 1);
        tycho_buf_puts(&b, "}");
    }
    tycho_buf_puts(&b, "]}");
    q->del_batch = batch;
    q->ndel_batch = n;
    if (sqs_call(q, "DeleteMessageBatch", b.data, b.len, 0, on_deleted, q, &q->del_call) != 0) {
        for (int i = 0; i < n; i++)
            free(batch[i].handle);
        free(batch);
        q->del_batch = NULL;
        q->ndel_batch = 0;
        lost_deletes(q, n);
    }
    tycho_buf_free(&b);
}

static void add_delete(cqueue_t *q, char *handle)
{
    if (dels_push(q, (pending_del_t){handle, 0}) != 0) {
        free(handle);
        lost_deletes(q, 1);
        delete_failed(q, "full", "too many deletes pending (SQS slow or failing)", 0, -1);
        return;
    }
    flush_deletes(q);
}

/* --- messages ------------------------------------------------------------------------- */

static void msg_unlink(cmsg_t *m)
{
    cqueue_t *q = m->q;
    if (m->prev)
        m->prev->next = m->next;
    else
        q->msgs = m->next;
    if (m->next) m->next->prev = m->prev;
    q->inflight--;
}

static void msg_free(cmsg_t *m)
{
    timer_free(&m->vis_timer);
    if (m->vis_call) tycho_aws_services_cancel(m->vis_call);
    if (m->trace.span) tycho_span_free(m->trace.span);
    free(m->id);
    free(m->handle);
    free(m->raw);
    free(m);
}

/* An extension SQS refused for good (a 4xx that is not throttling: the
 * handler deleted its message, the handle is no longer valid, no
 * permission) stops that message's extensions: every later one would fail
 * the same way, a warning each time. Others (throttling, 5xx, transport)
 * are tried again at the next tick. */
static void on_vis_done(const tycho_aws_result_t *r, void *ud)
{
    cmsg_t *m = ud;
    m->vis_call = NULL;
    if (r->ok) {
        if (m->trace.span) tycho_span_add_event(m->trace.span, "visibility_extended", 0);
        return;
    }
    int refused = r->status >= 400 && r->status < 500 && r->status != 429 &&
                  !tycho_aws_is_throttling_code(r->error_type);
    tycho_log_warn("sqs consumer: could not extend a message's visibility",
                   LF_STR("queue", m->q->name), LF_STR("message_id", m->id),
                   LF_STR("error", r->message), LF_BOOL("extensions_stopped", refused));
    if (refused) timer_free(&m->vis_timer);
}

static void on_vis_timer(uv_timer_t *t)
{
    cmsg_t *m = t->data;
    cqueue_t *q = m->q;
    if (m->vis_call || !q->url) return;
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    json_kv(&b, "QueueUrl", q->url, 1);
    json_kv(&b, "ReceiptHandle", m->handle, 0);
    tycho_buf_printf(&b, ",\"VisibilityTimeout\":%d}", q->visibility);
    sqs_call(q, "ChangeMessageVisibility", b.data, b.len, 0, on_vis_done, m, &m->vis_call);
    tycho_buf_free(&b);
}

/* error.type of a failed handler run (OTel: low cardinality). */
static const char *failure_type(int status)
{
    switch (status) {
    case TYCHO_TASK_OK:
        return "handler_returned_false";
    case TYCHO_TASK_TIMEOUT:
    case TYCHO_TASK_CPU_TIMEOUT:
        return "timeout";
    default:
        return "LuaError";
    }
}

/* The task returned false, "rejected" (lua/tycho/sqs_consumer.lua): the
 * message's digests do not match, so the handler did not run; tycho.sqs
 * already logged and counted it (tycho_sqs_md5_mismatch_total). */
static int rejected(lua_State *co, int status, int nres)
{
    if (status != TYCHO_TASK_OK || nres < 2) return 0;
    const char *s = lua_tostring(co, lua_gettop(co) - nres + 2);
    return s && strcmp(s, "rejected") == 0;
}

static void on_task_done(tycho_lua_task_t *t, int status, int nres)
{
    cmsg_t *m = t->ud;
    cqueue_t *q = m->q;
    tycho_consumers_t *c = q->c;
    m->task = NULL;
    double secs = (double)(uv_hrtime() - m->start_ns) / 1e9;
    count(c, M_DURATION, q->name, secs);
    int ok = status == TYCHO_TASK_OK &&
             (nres == 0 || lua_toboolean(t->co, lua_gettop(t->co) - nres + 1));
    if (ok) {
        c->processed++;
        count(c, M_PROCESSED, q->name, 1);
        add_delete(q, m->handle);
        m->handle = NULL;
    } else if (rejected(t->co, status, nres)) {
        tycho_work_trace_fail(&m->trace, "md5_mismatch", "the message's MD5 digest does not match",
                              NULL);
        if (q->retry_delay >= 0 && q->url) retry_later(q, m->id, m->handle);
    } else {
        c->failed++;
        count(c, M_FAILED, q->name, 1);
        char buf[512];
        const char *msg = status == TYCHO_TASK_TIMEOUT ? "handler timeout"
                          : status == TYCHO_TASK_OK    ? "the handler returned false"
                                                    : tycho_lua_error_text(t->co, buf, sizeof buf);
        const char *tb = "";
        lua_State *L = t->gen->L;
        int pushed = 0;
        /* a waiting timeout's: where it waits (the call that never answered) */
        if (status == TYCHO_TASK_ERROR || status == TYCHO_TASK_CPU_TIMEOUT ||
            status == TYCHO_TASK_TIMEOUT) {
            tb = tycho_lua_task_traceback(L, t->co, msg);
            pushed = 1;
        }
        const tycho_log_context_t *prev = tycho_log_get_context();
        tycho_log_set_context(&m->logctx);
        tycho_log_error("sqs consumer: handler failed; " REDELIVERED, LF_STR("queue", q->name),
                        LF_STR("message_id", m->id), LF_INT("receive_count", m->receive_count),
                        LF_STR("error", msg), LF_STR("traceback", tb ? tb : ""));
        tycho_log_set_context(prev);
        tycho_work_trace_fail(&m->trace, failure_type(status), msg, tb ? tb : "");
        if (pushed) lua_pop(L, 1);
        if (q->retry_delay >= 0 && q->url) retry_later(q, m->id, m->handle);
    }
    tycho_work_trace_finish(&m->trace);
    msg_unlink(m);
    msg_free(m);
    poll_queue(q);
    queue_maybe_free(q);
    maybe_drained(c);
}

/* The trace of a message: continued from AWSTraceHeader when it has one
 * (its parent also linked, as X-Ray's SQS traces are), a CONSUMER span. */
static void start_trace(cmsg_t *m, const char *xamzn)
{
    cqueue_t *q = m->q;
    tycho_xray_header_t xh;
    tycho_xray_header_init(&xh);
    int has_root = xamzn && tycho_xray_parse(xamzn, strlen(xamzn), &xh) == 0;
    char name[200];
    snprintf(name, sizeof name, "process %s", q->name);
    tycho_span_t *s = tycho_work_trace_start(&m->trace, has_root ? &xh : NULL, name,
                                             TYCHO_SPAN_KIND_CONSUMER, m->id);
    m->logctx = m->trace.logctx;
    if (!s) return; /* context only */
    if (has_root && xh.has_parent)
        tycho_span_add_link(s, xh.root, xh.parent,
                            xh.sampled == TYCHO_XRAY_SAMPLED_YES ? TYCHO_TRACE_FLAG_SAMPLED : 0, 1,
                            "");
    tycho_span_set_attr(s, "messaging.system", TYCHO_AV_STR("aws_sqs"));
    tycho_span_set_attr(s, "messaging.operation.type", TYCHO_AV_STR("process"));
    tycho_span_set_attr(s, "messaging.operation.name", TYCHO_AV_STR("process"));
    tycho_span_set_attr(s, "messaging.destination.name", TYCHO_AV_STR(q->name));
    tycho_span_set_attr(s, "messaging.message.id", TYCHO_AV_STR(m->id));
    tycho_span_set_attr(s, "aws.sqs.receive_count", TYCHO_AV_INT(m->receive_count));
    if (q->url) tycho_span_set_attr(s, "aws.sqs.queue.url", TYCHO_AV_STR(q->url));
}

/* Pushes the task function of generation g (compiled once per state). */
static int push_runner(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_RUNNER);
    if (lua_isfunction(L, -1)) return 0;
    lua_pop(L, 1);
    static const char src[] = "local handler, raw, url, name = ...\n"
                              "return require('tycho.sqs_consumer').run(handler, raw, url, name)\n";
    if (luaL_loadbuffer(L, src, sizeof src - 1, "=tycho.consumer") != 0) {
        lua_pop(L, 1);
        return -1;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_RUNNER);
    return 0;
}

static void dispatch(cqueue_t *q, const cJSON *jm)
{
    tycho_consumers_t *c = q->c;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(jm, "MessageId");
    const cJSON *rh = cJSON_GetObjectItemCaseSensitive(jm, "ReceiptHandle");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(jm, "Attributes");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(attrs, "AWSTraceHeader");
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(attrs, "ApproximateReceiveCount");
    if (!cJSON_IsString(rh)) return;
    c->received++;
    count(c, M_RECEIVED, q->name, 1);
    cmsg_t *m = calloc(1, sizeof *m);
    if (!m) return;
    m->q = q;
    m->id = strdup(cJSON_IsString(id) ? id->valuestring : "");
    m->handle = strdup(rh->valuestring);
    m->raw = cJSON_PrintUnformatted(jm);
    m->receive_count = cJSON_IsString(rc) ? atoi(rc->valuestring) : 0;
    m->start_ns = uv_hrtime();
    if (!m->id || !m->handle || !m->raw) {
        msg_free(m);
        return;
    }
    m->next = q->msgs;
    if (q->msgs) q->msgs->prev = m;
    q->msgs = m;
    q->inflight++;
    start_trace(m, cJSON_IsString(th) ? th->valuestring : NULL);

    tycho_lua_gen_t *g = c->current_gen(c->gen_ud);
    lua_State *L = g->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    lua_getfield(L, -1, q->key);
    lua_getfield(L, -1, "handler");
    int have = lua_isfunction(L, -1);
    lua_pop(L, 3);
    if (have && push_runner(L) == 0)
        lua_pop(L, 1);
    else
        have = 0;
    tycho_lua_task_t *t = have ? tycho_lua_task_new(c->sched, g, on_task_done, m) : NULL;
    if (!t) {
        tycho_log_error("sqs consumer: cannot run the handler (no handler in the current routes, "
                        "or out of memory); " REDELIVERED,
                        LF_STR("queue", q->name), LF_STR("message_id", m->id));
        msg_unlink(m);
        msg_free(m);
        return;
    }
    m->task = t;
    double timeout = q->timeout > 0 ? q->timeout : c->cfg->handler_timeout;
    t->deadline_ns = timeout > 0 ? t->start_ns + (uint64_t)(timeout * 1e9) : 0;
    t->rq.trace = &m->trace;
    t->rq.cfg = c->cfg;
    t->logctx = m->logctx;
    uint64_t every = (uint64_t)q->visibility * 1000 / 2;
    if (every < 500) every = 500;
    m->vis_timer = timer_new(c, m);
    if (m->vis_timer) uv_timer_start(m->vis_timer, on_vis_timer, every, every);
    lua_State *co = t->co;
    push_runner(co);
    lua_getfield(co, LUA_REGISTRYINDEX, REG_DECLS);
    lua_getfield(co, -1, q->key);
    lua_getfield(co, -1, "handler");
    lua_replace(co, -3);
    lua_pop(co, 1);
    lua_pushstring(co, m->raw);
    lua_pushstring(co, q->url);
    lua_pushstring(co, q->name);
    tycho_lua_task_run(t, 4); /* may finish (and free m) right here */
}

/* --- polling ------------------------------------------------------------------------------ */

static void on_backoff(uv_timer_t *t)
{
    cqueue_t *q = t->data;
    poll_queue(q);
}

static void backoff(cqueue_t *q)
{
    q->errors++;
    if (!q->backoff) q->backoff = timer_new(q->c, q);
    if (q->backoff)
        uv_timer_start(q->backoff, on_backoff, backoff_ms(q->errors, BACKOFF_MAX_MS), 0);
}

/* A poll (what: its warning) failed with r's error (r->ok: a GetQueueUrl
 * answer without a QueueUrl): logged by core/ratelog's policy (the first
 * failure, then at most one line a minute with the failures not logged; a
 * different error at once), then the next poll waits (backoff). Errors are
 * told apart by call, code, transport error and status, not by the message:
 * curl's names the milliseconds a connect or a timeout took. */
static void poll_failed(cqueue_t *q, const char *what, const tycho_aws_result_t *r)
{
    const char *error = r->ok ? "no QueueUrl in the answer" : r->message;
    char reason[300];
    failure_reason(reason, sizeof reason, what, r);
    uint64_t n;
    if (tycho_ratelog_due_reason(&q->poll_log, uv_now(q->c->loop), TYCHO_LOG_EVERY_MS, reason, &n))
        tycho_log_warn(what, LF_STR("queue", q->name), LF_STR("error", error),
                       LF_INT("consecutive_errors", q->errors + 1),
                       LF_INT("failures_not_logged", (long long)n - 1));
    backoff(q);
}

/* A poll succeeded: after failures, say so once; the next failure is
 * logged at once and backs off from the first step again. */
static void poll_succeeded(cqueue_t *q)
{
    if (q->errors)
        tycho_log_info("sqs consumer: polling again after failures", LF_STR("queue", q->name),
                       LF_INT("consecutive_errors", q->errors));
    q->errors = 0;
    q->poll_log = (tycho_ratelog_t){0};
}

static void on_received(const tycho_aws_result_t *r, void *ud)
{
    cqueue_t *q = ud;
    tycho_consumers_t *c = q->c;
    q->recv = NULL;
    if (!r->ok) {
        if (strcmp(r->error_type, "Cancelled") != 0)
            poll_failed(q, "sqs consumer: ReceiveMessage failed; retrying", r);
        queue_maybe_free(q);
        maybe_drained(c);
        return;
    }
    poll_succeeded(q);
    cJSON *j = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "Messages");
    const cJSON *jm;
    q->dispatching = 1; /* a handler finishing at once must not free q meanwhile */
    cJSON_ArrayForEach(jm, msgs) dispatch(q, jm);
    q->dispatching = 0;
    cJSON_Delete(j);
    poll_queue(q);
    queue_maybe_free(q);
    maybe_drained(c);
}

static void on_resolved(const tycho_aws_result_t *r, void *ud)
{
    cqueue_t *q = ud;
    tycho_consumers_t *c = q->c;
    q->recv = NULL;
    q->resolving = 0;
    cJSON *j = r->ok ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "QueueUrl");
    if (cJSON_IsString(u)) {
        free(q->url);
        q->url = strdup(u->valuestring);
    } else if (strcmp(r->error_type, "Cancelled") != 0) {
        poll_failed(q, "sqs consumer: cannot resolve the queue URL; retrying", r);
    }
    cJSON_Delete(j);
    poll_queue(q);
    queue_maybe_free(q);
    maybe_drained(c);
}

static void poll_queue(cqueue_t *q)
{
    tycho_consumers_t *c = q->c;
    if (!q->active || c->draining || q->recv || q->dead) return;
    if (q->backoff && uv_is_active((uv_handle_t *)q->backoff)) return;
    if (!q->url) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        tycho_buf_puts(&b, "{");
        json_kv(&b, "QueueName", q->key, 1);
        tycho_buf_puts(&b, "}");
        q->resolving = 1;
        if (sqs_call(q, "GetQueueUrl", b.data, b.len, 0, on_resolved, q, &q->recv) != 0) {
            q->resolving = 0;
            backoff(q);
        }
        tycho_buf_free(&b);
        return;
    }
    int room = q->share - q->inflight;
    if (room <= 0) return;
    int max = room < q->batch ? room : q->batch;
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "{");
    json_kv(&b, "QueueUrl", q->url, 1);
    tycho_buf_printf(&b,
                     ",\"MaxNumberOfMessages\":%d,\"WaitTimeSeconds\":%d,\"VisibilityTimeout\":%d,"
                     "\"AttributeNames\":[\"All\"],\"MessageAttributeNames\":[\"All\"]}",
                     max, q->wait, q->visibility);
    if (sqs_call(q, "ReceiveMessage", b.data, b.len, (long)(q->wait + 10) * 1000, on_received, q,
                 &q->recv) != 0)
        backoff(q);
    tycho_buf_free(&b);
}

/* --- depth (worker 0) ------------------------------------------------------------------- */

static void depth_next(cqueue_t *q);

/* A depth poll's call (step: depth_step) failed. It comes back every
 * TYCHO_SQS_DEPTH_INTERVAL, so it is logged by core/ratelog's policy, a
 * different error at once; the line names the call and the queue it asked
 * about, which is the dead-letter queue in steps 1 and 2. */
static void depth_failed(cqueue_t *q, int step, const tycho_aws_result_t *r)
{
    const char *call = step == 1 ? "GetQueueUrl" : "GetQueueAttributes";
    const char *of = step == 0 ? q->name : q->dlq_name ? q->dlq_name : "";
    char reason[300], what[200];
    snprintf(what, sizeof what, "%s %s", call, of);
    failure_reason(reason, sizeof reason, what, r);
    uint64_t n;
    if (tycho_ratelog_due_reason(&q->depth_log, uv_now(q->c->loop), TYCHO_LOG_EVERY_MS, reason, &n))
        tycho_log_warn("sqs consumer: queue depth poll failed", LF_STR("queue", q->name),
                       LF_STR("call", call), LF_STR("of_queue", of), LF_STR("error", r->message),
                       LF_INT("failures_not_logged", (long long)n - 1));
}

static void on_depth(const tycho_aws_result_t *r, void *ud)
{
    cqueue_t *q = ud;
    q->depth_call = NULL;
    cJSON *j = r->ok ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    int step = q->depth_step;
    if (!r->ok) {
        if (strcmp(r->error_type, "Cancelled") != 0) depth_failed(q, step, r);
        cJSON_Delete(j);
        return;
    }
    if (step == 0 || step == 2) { /* GetQueueAttributes of the queue / of the DLQ */
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "Attributes");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "ApproximateNumberOfMessages");
        if (cJSON_IsString(n))
            count(q->c, M_DEPTH, step == 0 ? q->name : q->dlq_name, atof(n->valuestring));
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(a, "RedrivePolicy");
        if (step == 0 && cJSON_IsString(rp)) {
            cJSON *p = cJSON_Parse(rp->valuestring);
            const cJSON *arn = cJSON_GetObjectItemCaseSensitive(p, "deadLetterTargetArn");
            if (cJSON_IsString(arn)) {
                const char *colon = strrchr(arn->valuestring, ':');
                const char *dn = colon ? colon + 1 : arn->valuestring;
                if (!q->dlq_name || strcmp(q->dlq_name, dn) != 0) {
                    free(q->dlq_name);
                    free(q->dlq_url);
                    q->dlq_name = strdup(dn);
                    q->dlq_url = NULL;
                }
            }
            cJSON_Delete(p);
        }
        q->depth_step = step == 0 && q->dlq_name ? (q->dlq_url ? 2 : 1) : 0;
    } else if (step == 1) { /* GetQueueUrl of the DLQ */
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "QueueUrl");
        if (cJSON_IsString(u)) {
            free(q->dlq_url);
            q->dlq_url = strdup(u->valuestring);
        }
        q->depth_step = q->dlq_url ? 2 : 0;
    }
    cJSON_Delete(j);
    if (q->depth_step) depth_next(q);
}

static void depth_next(cqueue_t *q)
{
    if (q->depth_call || !q->url || q->c->draining) return;
    tycho_buf_t b = TYCHO_BUF_INIT;
    const char *op = "GetQueueAttributes";
    tycho_buf_puts(&b, "{");
    if (q->depth_step == 1) {
        op = "GetQueueUrl";
        json_kv(&b, "QueueName", q->dlq_name, 1);
        tycho_buf_puts(&b, "}");
    } else {
        json_kv(&b, "QueueUrl", q->depth_step == 2 ? q->dlq_url : q->url, 1);
        tycho_buf_puts(&b,
                       ",\"AttributeNames\":[\"ApproximateNumberOfMessages\",\"RedrivePolicy\"]}");
    }
    sqs_call(q, op, b.data, b.len, 0, on_depth, q, &q->depth_call);
    tycho_buf_free(&b);
}

/* One round at a time: depth_step is the step of the call in flight, which
 * on_depth reads to know what answered. A tick while a round's call is still
 * out (calls slower than TYCHO_SQS_DEPTH_INTERVAL) is skipped; resetting the
 * step under it made on_depth take the dead-letter queue's answer for the
 * queue's own (its depth reported as the queue's, its failure logged as
 * GetQueueAttributes of the queue). */
static void on_depth_timer(uv_timer_t *t)
{
    cqueue_t *q = t->data;
    if (!q->active || q->depth_call) return;
    q->depth_step = 0;
    depth_next(q);
}

/* --- queues --------------------------------------------------------------------------------- */

static int queue_idle(const cqueue_t *q)
{
    return !q->recv && !q->msgs && !q->ndels && !q->del_call && !q->aux && !q->depth_call &&
           !q->dispatching;
}

static void queue_free(cqueue_t *q)
{
    tycho_consumers_t *c = q->c;
    for (cqueue_t **p = &c->queues; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    timer_free(&q->backoff);
    timer_free(&q->depth_timer);
    timer_free(&q->del_pause);
    for (int i = 0; i < q->ndels; i++)
        free(q->dels[i].handle);
    free(q->dels);
    free(q->key);
    free(q->url);
    free(q->dlq_name);
    free(q->dlq_url);
    free(q);
}

/* A queue no longer declared goes once its last message is done. */
static void queue_maybe_free(cqueue_t *q)
{
    if (!q->active && !q->c->draining && queue_idle(q)) queue_free(q);
}

static void stop_polling(cqueue_t *q)
{
    if (q->recv) {
        tycho_aws_services_cancel(q->recv);
        q->recv = NULL;
        q->resolving = 0;
    }
    if (q->backoff) uv_timer_stop(q->backoff);
    if (q->depth_timer) uv_timer_stop(q->depth_timer);
    if (q->depth_call) {
        tycho_aws_services_cancel(q->depth_call);
        q->depth_call = NULL;
    }
}

static cqueue_t *queue_find(tycho_consumers_t *c, const char *key)
{
    for (cqueue_t *q = c->queues; q; q = q->next)
        if (strcmp(q->key, key) == 0) return q;
    return NULL;
}

/* 0, or -1 with err (errlen bytes; 0: none) naming the variable. */
static int depth_interval(double *out, char *err, size_t errlen)
{
    char v[64];
    uint64_t ms;
    *out = 15;
    int set = tycho_config_env_trimmed("TYCHO_SQS_DEPTH_INTERVAL", v, sizeof v, err, errlen);
    if (set <= 0) return set;
    if (tycho_parse_duration_ms(v, 1000, &ms) != 0 || ms == 0 || ms > 86400000) {
        snprintf(
            err, errlen,
            "TYCHO_SQS_DEPTH_INTERVAL: expected a duration from 1ms to 24h (seconds, or with a "
            "unit: 500ms, 2m), got \"%s\"",
            v);
        return -1;
    }
    *out = (double)ms / 1000;
    return 0;
}

int tycho_consumers_check_env(char *err, size_t errlen)
{
    double d;
    return depth_interval(&d, err, errlen);
}

tycho_consumers_t *tycho_consumers_new(uv_loop_t *loop, tycho_lua_sched_t *sched,
                                       const tycho_config_t *cfg, int worker_id,
                                       tycho_lua_gen_t *(*current_gen)(void *ud), void *ud)
{
    tycho_aws_services_t *svc = tycho_aws_services_current();
    if (!svc) return NULL;
    tycho_consumers_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->sched = sched;
    c->cfg = cfg;
    c->worker_id = worker_id;
    c->svc = svc;
    c->current_gen = current_gen;
    c->gen_ud = ud;
    c->metrics = (tycho_own_metrics_t){.defs = metric_defs, .fams = c->fams, .n = M_COUNT};
    depth_interval(&c->depth_interval, NULL, 0); /* checked at start (tycho_consumers_check_env) */
    return c;
}

void tycho_consumers_bind(tycho_consumers_t *c, tycho_lua_gen_t *g)
{
    if (!c || c->draining) return;
    lua_State *L = g->L;
    int nworkers = c->cfg->workers > 0 ? c->cfg->workers : 1;
    for (cqueue_t *q = c->queues; q; q = q->next)
        q->active = 0;
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *key = lua_tostring(L, -2);
            int d = lua_gettop(L);
#define NUM(k) (lua_getfield(L, d, k), lua_tonumber(L, -1))
            int batch = (int)NUM("batch");
            int conc = (int)NUM("concurrency");
            int vis = (int)NUM("visibility");
            int wait = (int)NUM("wait");
            double timeout = NUM("timeout");
            int retry = (int)NUM("retry_delay");
#undef NUM
            lua_settop(L, d);
            if (conc <= 0) conc = batch;
            int share = conc / nworkers + (c->worker_id < conc % nworkers ? 1 : 0);
            if (share > 0) {
                cqueue_t *q = queue_find(c, key);
                if (!q) {
                    q = calloc(1, sizeof *q);
                    if (q) q->key = strdup(key);
                    if (q && !q->key) {
                        free(q);
                        q = NULL;
                    }
                    if (q) {
                        q->c = c;
                        const char *slash = strrchr(key, '/');
                        int is_url =
                            strncmp(key, "http://", 7) == 0 || strncmp(key, "https://", 8) == 0;
                        snprintf(q->name, sizeof q->name, "%s", is_url && slash ? slash + 1 : key);
                        if (is_url) q->url = strdup(key);
                        q->next = c->queues;
                        c->queues = q;
                        counters_at_zero(q);
                    }
                }
                if (q) {
                    q->active = 1;
                    q->batch = batch;
                    q->share = share;
                    q->visibility = vis;
                    q->wait = wait;
                    q->timeout = timeout;
                    q->retry_delay = retry;
                }
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    for (cqueue_t *q = c->queues, *next; q; q = next) {
        next = q->next;
        if (!q->active) {
            stop_polling(q);
            queue_maybe_free(q);
            continue;
        }
        if (c->worker_id == 0 && !q->depth_timer) {
            q->depth_timer = timer_new(c, q);
            if (q->depth_timer) {
                uint64_t ms = (uint64_t)(c->depth_interval * 1000);
                uv_timer_start(q->depth_timer, on_depth_timer, 1000, ms);
            }
        }
        poll_queue(q);
    }
}

static void maybe_drained(tycho_consumers_t *c)
{
    if (!c->draining) return;
    for (cqueue_t *q = c->queues; q; q = q->next) {
        if (q->ndels && !q->del_call) flush_deletes(q);
        if (!queue_idle(q)) return;
    }
    tycho_drain_notice_deliver(&c->drained, c->loop);
}

void tycho_consumers_drain(tycho_consumers_t *c, void (*done)(void *ud), void *ud)
{
    c->draining = 1;
    tycho_drain_notice_arm(&c->drained, done, ud);
    int inflight = 0;
    for (cqueue_t *q = c->queues; q; q = q->next) {
        stop_polling(q);
        inflight += q->inflight;
    }
    if (inflight)
        tycho_log_info("sqs consumers: stopped polling; finishing in-flight messages",
                       LF_INT("in_flight", inflight));
    maybe_drained(c);
}

/* A message whose handler the worker's end cuts (drained: the drain
 * timeout; else a stop without a drain): said in a line of its own, and
 * its CONSUMER span ends in ERROR, error.type the reason, as a cut
 * request's does (the spans the handler opened are ended with the task). */
static void report_cut(cmsg_t *m, int drained)
{
    cqueue_t *q = m->q;
    const char *reason = drained ? "drain_timeout" : "shutdown";
    const tycho_log_context_t *prev = tycho_log_get_context();
    tycho_log_set_context(&m->logctx);
    tycho_log_warn("sqs consumer: handler cut by the shutdown; " REDELIVERED,
                   LF_STR("queue", q->name), LF_STR("message_id", m->id),
                   LF_INT("receive_count", m->receive_count), LF_STR("reason", reason));
    tycho_log_set_context(prev);
    tycho_work_trace_fail(
        &m->trace, reason,
        drained ? "shutdown: the drain timeout cut the handler" : "shutdown cut the handler", NULL);
    tycho_work_trace_finish(&m->trace);
}

void tycho_consumers_free(tycho_consumers_t *c)
{
    if (!c) return;
    int drained = c->draining;
    c->draining = 1;
    tycho_drain_notice_cancel(&c->drained);
    while (c->queues) {
        cqueue_t *q = c->queues;
        stop_polling(q);
        while (q->msgs) {
            cmsg_t *m = q->msgs;
            if (m->task) {
                tycho_lua_task_cancel(m->task);
                report_cut(m, drained);
            }
            m->task = NULL;
            msg_unlink(m);
            msg_free(m);
        }
        if (q->del_call) {
            tycho_aws_services_cancel(q->del_call);
            q->del_call = NULL;
            for (int i = 0; i < q->ndel_batch; i++)
                free(q->del_batch[i].handle);
            free(q->del_batch);
        }
        while (q->aux_calls) {
            aux_call_t *a = q->aux_calls;
            q->aux_calls = a->next;
            tycho_aws_services_cancel(a->call);
            free(a);
        }
        q->aux = 0;
        queue_free(q);
    }
    free(c);
}

void tycho_consumers_stats(const tycho_consumers_t *c, tycho_consumers_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!c) return;
    for (const cqueue_t *q = c->queues; q; q = q->next) {
        out->queues++;
        out->polling += q->recv != NULL;
        out->inflight += q->inflight;
    }
    out->received = c->received;
    out->processed = c->processed;
    out->failed = c->failed;
    out->deleted = c->deleted;
    out->not_deleted = c->not_deleted;
}
