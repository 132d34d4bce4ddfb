/* tycho._aws — the C half of tycho.aws (lua/tycho/aws.lua), which tycho.sqs
 * and tycho.dynamodb are built on.
 *   call(service, target, params, opts) yields until the signed AWS JSON 1.0
 *     call (or the local backend's answer) is done; returns
 *     true, body (the response JSON text) or false, body, err where err is a
 *     table { type, message, status, retryable, request_id, attempts,
 *     quota_exhausted, transport_error }. params: a table (encoded as JSON)
 *     or a JSON string. opts: { endpoint = url, timeout = seconds per
 *     attempt, max_attempts = 1..50 (1: no retry), producer = true (a PRODUCER span, and the
 * AWSTraceHeader system attribute set on params and on each of params.Entries), table = name,
 * queue_url = url (span attributes) }. Its only caller, aws.call, checks the arguments first.
 *   md5(s) (hex), b64encode(s), b64decode(s) (nil, "bad base64: <why>" for
 *   anything but padded standard base64: tycho_b64_decode), backend(),
 *   is_server_fault(type) (tycho_aws_is_server_fault_code), is_throttling(type)
 *   (tycho_aws_is_throttling_code: the codes the client retries as
 *   throttling), random() (a number in [0, 1) from core/prng, seeded per
 *   thread: retry jitter that differs between workers and processes),
 *   md5_mismatch(queue) (counts a received SQS message refused for its
 *   digests: tycho_sqs_md5_mismatch_total{queue}). */
#include "aws/client.h"
#include "aws/error_text.h"
#include "aws/local_av.h"
#include "core/buf.h"
#include "core/prng.h"
#include "lua/async.h"
#include "lua/libs.h"
#include "lua/outbound.h"
#include "telemetry/trace_context.h"

#include <errno.h>
#include <lauxlib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct aws_op {
    tycho_lua_op_t op;
    tycho_aws_services_t *svc;
    tycho_aws_svc_call_t *call;
    tycho_aws_svc_request_t req;
    tycho_aws_trace_parent_t parent;
    int has_parent;
    uint8_t span_id[8];
    char *service, *target, *body, *endpoint, *table, *queue_url;
    size_t body_len;
} aws_op_t;

static void op_free(aws_op_t *a)
{
    free(a->service);
    free(a->target);
    free(a->body);
    free(a->endpoint);
    free(a->table);
    free(a->queue_url);
    free(a);
}

#define SETSTR(k, v) (lua_pushstring(co, (v) ? (v) : ""), lua_setfield(co, -2, k))
#define SETNUM(k, v) (lua_pushnumber(co, (double)(v)), lua_setfield(co, -2, k))
#define SETBOOL(k, v) (lua_pushboolean(co, (v)), lua_setfield(co, -2, k))

/* The response body; an error answer's scrubbed (err.details): AWS may echo
 * the session token in it. Scrubbing never grows a body by more than 2 bytes
 * per redacted value, each behind a key of 9 or more. */
static void push_body(lua_State *co, const tycho_aws_result_t *r)
{
    size_t n = r->body ? r->body_len : 0;
    if (r->ok || !n) {
        lua_pushlstring(co, n ? r->body : "", n);
        return;
    }
    char *clean = malloc(n + n / 4 + 1);
    n = clean ? tycho_aws_scrub(r->body, n, clean, n + n / 4 + 1) : 0;
    lua_pushlstring(co, clean ? clean : "", n);
    free(clean);
}

static void on_done(const tycho_aws_result_t *r, void *ud)
{
    aws_op_t *a = ud;
    a->call = NULL;
    lua_State *co = tycho_lua_op_thread(&a->op);
    lua_pushboolean(co, r->ok);
    push_body(co, r);
    lua_createtable(co, 0, 10);
    SETSTR("type", r->error_type);
    SETSTR("message", r->message);
    SETNUM("status", r->status);
    SETBOOL("retryable", r->retryable);
    SETSTR("request_id", r->request_id);
    SETNUM("attempts", r->attempts);
    SETBOOL("quota_exhausted", r->quota_exhausted);
    SETNUM("transport_error", r->transport_error);
    SETNUM("duration", r->duration);
    tycho_lua_op_resume(&a->op, 3);
    op_free(a);
}

static void op_start(tycho_lua_op_t *op)
{
    aws_op_t *a = (aws_op_t *)op;
    int rc = tycho_aws_services_call(a->svc, &a->req, on_done, a, &a->call);
    if (rc != 0) {
        tycho_aws_result_t r = {.error_type = "ClientError",
                                .message = rc == -ESHUTDOWN ? "shutting down" : "out of memory",
                                .body = "",
                                .request_id = ""};
        on_done(&r, a);
    }
}

static void op_cancel(tycho_lua_op_t *op)
{
    aws_op_t *a = (aws_op_t *)op;
    if (a->call) tycho_aws_services_cancel(a->call);
    op_free(a);
}

/* opts.k as a malloc'd string, NULL when absent (types checked by l_call) */
static char *opt_string(lua_State *L, int t, const char *k)
{
    if (!t) return NULL;
    lua_getfield(L, t, k);
    char *v = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

/* Sets t.MessageSystemAttributes.AWSTraceHeader unless the caller set one. */
static void set_trace_attr(lua_State *L, int t, const char *header)
{
    lua_getfield(L, t, "MessageSystemAttributes");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, t, "MessageSystemAttributes");
    }
    lua_getfield(L, -1, "AWSTraceHeader");
    int present = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!present) {
        lua_createtable(L, 0, 2);
        lua_pushliteral(L, "String");
        lua_setfield(L, -2, "DataType");
        lua_pushstring(L, header);
        lua_setfield(L, -2, "StringValue");
        lua_setfield(L, -2, "AWSTraceHeader");
    }
    lua_pop(L, 1);
}

/* The request's timeout_ms for opts.timeout seconds (0: not given, the
 * client's default). A positive timeout is at least 1 ms: rounded to 0 it
 * would mean the default, 30 s, for a caller who asked for less than 1 ms. */
static long timeout_ms(double seconds)
{
    if (seconds <= 0) return 0;
    long ms = (long)(seconds * 1000 + 0.5);
    return ms > 0 ? ms : 1;
}

static int l_call(lua_State *L)
{
    const char *service = luaL_checkstring(L, 1);
    const char *target = luaL_checkstring(L, 2);
    int opts = lua_istable(L, 4) ? 4 : 0;
    tycho_aws_services_t *svc = tycho_lua_services(L);
    if (!tycho_lua_can_suspend(L)) return tycho_lua_cannot_wait(L, "tycho.aws.call", 1);
    /* the arguments' types, ranges and option names were checked by aws.lua
     * (an InvalidParameterValue aws.Error); what is not a string is ignored */
    aws_op_t *a = calloc(1, sizeof *a);
    if (!a) return luaL_error(L, "out of memory");
    a->svc = svc;
    a->has_parent = tycho_lua_outbound_parent(L, &a->parent);
    int producer = 0;
    double timeout = 0, max_attempts = 0;
    if (opts) {
        lua_getfield(L, opts, "producer");
        producer = lua_toboolean(L, -1);
        lua_getfield(L, opts, "timeout");
        timeout = lua_tonumber(L, -1);
        lua_getfield(L, opts, "max_attempts");
        max_attempts = lua_tonumber(L, -1);
        lua_pop(L, 3);
        /* aws.lua refused values out of range: unreachable */
        if (!(timeout > 0 && timeout <= 3600)) timeout = 0;
        if (!(max_attempts >= 1 && max_attempts <= 50) || max_attempts != (int)max_attempts)
            max_attempts = 0;
    }
    if (a->has_parent) {
        if (a->parent.trace->sampled)
            tycho_trace_new_span_id(a->span_id);
        else
            memcpy(a->span_id, a->parent.parent_span_id, 8);
    }
    if (producer && a->has_parent && lua_istable(L, 3)) {
        tycho_trace_headers_t th;
        tycho_aws_trace_headers(a->parent.trace, a->span_id, &th);
        set_trace_attr(L, 3, th.xamzn);
        lua_getfield(L, 3, "Entries");
        if (lua_istable(L, -1)) {
            int e = lua_gettop(L);
            for (int i = 1;; i++) {
                lua_rawgeti(L, e, i);
                if (!lua_istable(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                set_trace_attr(L, lua_gettop(L), th.xamzn);
                lua_pop(L, 1);
            }
            /* a batch carries the header per entry, not at the top level */
            lua_pushnil(L);
            lua_setfield(L, 3, "MessageSystemAttributes");
        }
        lua_pop(L, 1);
    }
    if (lua_type(L, 3) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, 3, &n);
        a->body = malloc(n + 1);
        if (a->body) memcpy(a->body, s, n + 1);
        a->body_len = n;
    } else if (lua_istable(L, 3) || lua_isnoneornil(L, 3)) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        char err[160] = "";
        if (lua_isnoneornil(L, 3)) {
            tycho_buf_puts(&b, "{}");
        } else if (tycho_json_encode(L, 3, &b, err, sizeof err) != 0) {
            tycho_buf_free(&b);
            free(a);
            return luaL_error(L, "tycho.aws.call: params: %s", err);
        }
        a->body_len = b.len;
        a->body = tycho_buf_steal(&b);
    } else {
        free(a);
        return luaL_error(L, "tycho.aws.call: params must be a table or a JSON string");
    }
    a->service = strdup(service);
    a->target = strdup(target);
    a->endpoint = opt_string(L, opts, "endpoint");
    a->table = opt_string(L, opts, "table");
    a->queue_url = opt_string(L, opts, "queue_url");
    if (!a->body || !a->service || !a->target) {
        op_free(a);
        return luaL_error(L, "out of memory");
    }
    a->req = (tycho_aws_svc_request_t){
        .service = a->service,
        .target = a->target,
        .body = a->body,
        .body_len = a->body_len,
        .endpoint = a->endpoint,
        .timeout_ms = timeout_ms(timeout),
        .max_attempts = (int)max_attempts,
        .parent = a->has_parent ? &a->parent : NULL,
        .kind = producer ? TYCHO_SPAN_KIND_PRODUCER : TYCHO_SPAN_KIND_CLIENT,
        .span_id = a->has_parent ? a->span_id : NULL,
        .table_name = a->table,
        .queue_url = a->queue_url,
    };
    a->op.start = op_start;
    a->op.cancel = op_cancel;
    return tycho_lua_suspend(L, &a->op);
}

static int l_md5(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(s, n, d, &dl, EVP_md5(), NULL)) return luaL_error(L, "md5 failed");
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    tycho_hex_encode(d, dl, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int l_b64encode(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    tycho_buf_t b = TYCHO_BUF_INIT;
    if (tycho_b64_encode(&b, s, n) != 0) {
        tycho_buf_free(&b);
        return luaL_error(L, "tycho.aws.b64encode: out of memory");
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    tycho_buf_free(&b);
    return 1;
}

/* b64decode(s) -> bytes, or nil, "bad base64: <why>" (tycho_b64_decode's
 * rule: RFC 4648 4, padded, canonical, nothing else in it) */
static int l_b64decode(lua_State *L)
{
    size_t n, len;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char *raw;
    const char *why;
    if (tycho_b64_decode(s, n, &raw, &len, &why) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "bad base64: %s", why);
        return 2;
    }
    lua_pushlstring(L, (const char *)raw, len);
    free(raw);
    return 1;
}

static int l_is_server_fault(lua_State *L)
{
    lua_pushboolean(L, tycho_aws_is_server_fault_code(lua_tostring(L, 1)));
    return 1;
}

static int l_is_throttling(lua_State *L)
{
    lua_pushboolean(L, tycho_aws_is_throttling_code(lua_tostring(L, 1)));
    return 1;
}

static int l_md5_mismatch(lua_State *L)
{
    const char *queue = luaL_checkstring(L, 1);
    tycho_aws_services_t *s = tycho_aws_services_current();
    if (s) tycho_aws_services_count_md5_mismatch(s, queue, 1);
    return 0;
}

static int l_random(lua_State *L)
{
    lua_pushnumber(L, tycho_prng_unit());
    return 1;
}

static int l_backend(lua_State *L)
{
    tycho_aws_services_t *s = tycho_aws_services_current();
    lua_pushstring(L, s ? tycho_aws_services_backend(s) : "none");
    return 1;
}

int luaopen_tycho_aws_core(lua_State *L)
{
    static const luaL_Reg fns[] = {{"call", l_call},
                                   {"md5", l_md5},
                                   {"b64encode", l_b64encode},
                                   {"b64decode", l_b64decode},
                                   {"backend", l_backend},
                                   {"is_server_fault", l_is_server_fault},
                                   {"is_throttling", l_is_throttling},
                                   {"random", l_random},
                                   {"md5_mismatch", l_md5_mismatch},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
