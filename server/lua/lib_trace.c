/* tycho._trace — the C half of tycho.trace (lua/tycho/trace.lua wraps it):
 *
 *   current()            -> handle on the innermost active span of the running
 *                           request (a child span, else the server span), or nil
 *   start(name, attrs)   -> a child span (INTERNAL) of the innermost active one,
 *                           made current for the task; nil outside a request
 *   finish(s, failed, message, traceback)
 *                        -> ends it (ERROR + exception event when failed) and
 *                           makes its parent current again
 *   headers()            -> traceparent / tracestate / X-Amzn-Trace-Id for a call
 *   describe(err)        -> the exception message of an error value (the one
 *                           reading for record_error and trace.span)
 *
 * "Current" is per request task, never per thread: the registry table
 * STACKS_KEY maps each task (by its coroutine, with the task's serial since
 * coroutines are pooled) to the array of its open child spans. A task
 * sleeping inside a span keeps it; other requests running meanwhile have
 * their own. Within a task, a span belongs to the coroutine that started it
 * (a handler may make its own with coroutine.wrap): it is current only while
 * that coroutine runs, or one it resumed; once it yields, the flow that
 * resumed it sees its own spans again, and so a coroutine left suspended
 * inside a span parents nothing after it. While a child span is current the
 * task's log context carries its span id, so tycho.log lines name it.
 * When the task ends, spans still open (a coroutine never resumed again)
 * are ended and exported by tycho_lua_trace_end_task, marked
 * tycho.span.closed_by_server.
 *
 * Handles stay safe when kept past their request: a server-span handle checks
 * that its task still runs the same request (else its methods do nothing), a
 * child handle whose span has ended does nothing. */
#include "lua/lib_trace.h"

#include "core/buf.h"
#include "lua/cstack.h"
#include "lua/gen.h"
#include "lua/protect.h"
#include "lua/scheduler.h"
#include "lua/trace_api.h"
#include "telemetry/trace_context.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SPAN_MT "tycho.trace.span"
#define STACKS_KEY "tycho.trace.stacks"
/* on a span still open when its request ended: the code never ended it */
#define CLOSED_BY_SERVER "tycho.span.closed_by_server"

typedef struct lspan {
    tycho_span_t *span;     /* a child span being recorded; NULL: unsampled, ended, or server */
    lua_State *co;          /* the coroutine that started it (its stack's "threads" holds it) */
    tycho_lua_task_t *task; /* the request task it belongs to */
    uint64_t serial;        /* task->serial when it was made */
    int server;             /* a handle on the request's server span */
    int ended;
    int sampled;
    uint8_t span_id[8];
    char trace_hex[33], span_hex[17];
} lspan_t;

/* A task's trace context: its request's, or (tasks without an exchange: SQS
 * consumer handlers, timer runs) the one it was given (core/work_trace.h). */
static tycho_req_trace_t *task_trace(const tycho_lua_task_t *t)
{
    return t->rq.x ? tycho_obs_trace(t->rq.x) : t->rq.trace;
}

/* The running request's trace context and task, or NULL outside a request. */
static tycho_req_trace_t *request_trace(tycho_lua_task_t **task)
{
    tycho_lua_task_t *t = tycho_lua_task_current();
    *task = t;
    return t ? task_trace(t) : NULL;
}

/* The trace context s was made in, while that request still runs. */
static tycho_req_trace_t *live_trace(const lspan_t *s)
{
    const tycho_lua_task_t *t = s->task;
    if (!t || !t->live || t->serial != s->serial) return NULL;
    return task_trace(t);
}

/* --- the per-task stack of open child spans ----------------------------------- */

/* Pushes the task's stack table, or nil when it has none (create: makes one).
 * Keyed by the task's coroutine in a weak-keyed table: a task dropped inside
 * a span (client gone, timeout) abandons its coroutine, and the entry goes
 * with it; the serial tells a pooled coroutine's next task from the last. */
static void push_stack(lua_State *L, tycho_lua_task_t *task, int create)
{
    lua_getfield(L, LUA_REGISTRYINDEX, STACKS_KEY);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, STACKS_KEY);
    }
    int stacks = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, task->co_ref); /* the key: the task's coroutine */
    lua_pushvalue(L, -1);
    lua_rawget(L, stacks);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "serial");
        int same = (uint64_t)lua_tonumber(L, -1) == task->serial;
        lua_pop(L, 1);
        if (same) {
            lua_replace(L, stacks);
            lua_settop(L, stacks);
            return;
        }
    }
    lua_pop(L, 1); /* nil, or what an earlier task on this coroutine left */
    if (!create) {
        lua_pushnil(L);
        lua_rawset(L, stacks);
        lua_pushnil(L);
        lua_replace(L, stacks);
        return;
    }
    lua_createtable(L, 4, 2);
    lua_pushnumber(L, (double)task->serial);
    lua_setfield(L, -2, "serial");
    lua_newtable(L); /* span userdata -> the coroutine it was started in, but the task's */
    lua_setfield(L, -2, "threads");
    lua_pushvalue(L, -1);
    lua_insert(L, stacks + 1); /* stacks, stack, key, stack */
    lua_rawset(L, stacks);
    lua_replace(L, stacks);
}

/* A coroutine on the resume chain of the running one: it resumed another
 * and waits for it (coroutine.status "normal"). */
static int resuming(lua_State *co)
{
    lua_Debug ar;
    return lua_status(co) == 0 && lua_getstack(co, 0, &ar) > 0;
}

/* Pushes the span current for the running coroutine L (its userdata) and
 * returns it, or returns NULL with nothing pushed: the innermost open span L
 * started, else the innermost one a coroutine resuming L started. Spans of
 * a suspended coroutine (yielded, maybe for good) are skipped. */
/* Pushes the span a task without an open span of its own works under, and
 * returns it: a tycho.all function's caller's (trace_base_ref), else NULL
 * with nothing pushed (the request's span). */
static lspan_t *push_base(lua_State *L, const tycho_lua_task_t *task)
{
    if (!task->trace_base_ref) return NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, task->trace_base_ref);
    lua_rawgeti(L, -1, 0);
    lua_remove(L, -2);
    lspan_t *s = lua_touserdata(L, -1);
    if (!s) lua_pop(L, 1);
    return s;
}

static lspan_t *push_top(lua_State *L, tycho_lua_task_t *task)
{
    if (!task->spans) return push_base(L, task);
    push_stack(L, task, 0);
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0;
    int at = 0;
    for (int i = n; i > 0; i--) {
        lua_rawgeti(L, -1, i);
        lspan_t *s = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (s->co == L) {
            at = i;
            break;
        }
        if (!at && resuming(s->co)) at = i; /* unless L has one of its own, further down */
    }
    if (!at) {
        lua_pop(L, 1);
        return push_base(L, task);
    }
    lua_rawgeti(L, -1, at);
    lua_remove(L, -2);
    return lua_touserdata(L, -1);
}

const char *tycho_lua_trace_push_current(lua_State *L, tycho_lua_task_t *task)
{
    lspan_t *top = push_top(L, task);
    return top ? top->span_hex : NULL;
}

/* The task's log context follows the span current for L. */
static void sync_log_context(lua_State *L, tycho_lua_task_t *task, tycho_req_trace_t *t)
{
    lspan_t *top = push_top(L, task);
    task->logctx.span_id = top ? top->span_hex : t->span_hex;
    if (top) lua_pop(L, 1);
}

void tycho_lua_trace_sync_log(lua_State *L, tycho_lua_task_t *task)
{
    tycho_req_trace_t *t = task->spans ? task_trace(task) : NULL;
    if (t) sync_log_context(L, task, t);
}

int tycho_lua_trace_current(lua_State *L, const tycho_req_trace_t **out, uint8_t parent[8])
{
    tycho_lua_task_t *task;
    tycho_req_trace_t *t = request_trace(&task);
    *out = t;
    if (!t) return -1;
    lspan_t *top = push_top(L, task);
    memcpy(parent, top ? top->span_id : t->span_id, 8);
    if (top) lua_pop(L, 1);
    return 0;
}

/* --- attributes ---------------------------------------------------------------------- */

/* Raises the error for a value attribute key cannot take: what it is. */
static void bad_value(lua_State *L, const char *key, const char *what)
{
    luaL_error(L,
               "tycho.trace: attribute \"%s\" must be a string, number, boolean or array of "
               "strings, not %s",
               key, what);
}

/* The array of strings at idx (keys 1..n and no others; {} is the empty
 * array) as a string array value. Its items go in a userdata pushed on the
 * stack, and its strings stay in the table: both must stay on the stack
 * until the value is set. Raises naming key for anything else. */
static tycho_attr_value_t strings_value(lua_State *L, int idx, const char *key)
{
    static const char *not_array = "a table that is not an array (keys 1..n)";
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    size_t n = lua_objlen(L, idx), seen = 0;
    tycho_attr_str_t *items = lua_newuserdata(L, n ? n * sizeof *items : 1);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        double i = lua_type(L, -2) == LUA_TNUMBER ? lua_tonumber(L, -2) : 0;
        if (i != floor(i) || i < 1 || i > (double)n) bad_value(L, key, not_array);
        if (lua_type(L, -1) != LUA_TSTRING)
            bad_value(L, key,
                      lua_pushfstring(L, "an array holding a %s (item %d)", luaL_typename(L, -1),
                                      (int)i));
        tycho_attr_str_t *it = &items[(size_t)i - 1];
        it->p = lua_tolstring(L, -1, &it->n);
        seen++;
        lua_pop(L, 1);
    }
    if (seen != n) bad_value(L, key, not_array); /* holes: objlen found a border past one */
    return TYCHO_AV_STRV(items, n);
}

/* The value at idx as an attribute; raises for types OTel has no place for.
 * A table may push a value (strings_value): the caller restores the stack
 * after setting the attribute. */
static tycho_attr_value_t attr_value(lua_State *L, int idx, const char *key)
{
    size_t n;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &n);
        return TYCHO_AV_STRN(s, n);
    }
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (d == floor(d) && fabs(d) < TYCHO_BUF_EXACT_INT_LIMIT) return TYCHO_AV_INT((int64_t)d);
        return TYCHO_AV_DBL(d);
    }
    case LUA_TBOOLEAN:
        return TYCHO_AV_BOOL(lua_toboolean(L, idx));
    case LUA_TTABLE:
        return strings_value(L, idx, key);
    default:
        bad_value(L, key,
                  lua_isnil(L, idx) ? "nil" : lua_pushfstring(L, "a %s", luaL_typename(L, idx)));
        return TYCHO_AV_BOOL(0);
    }
}

/* The attribute name at idx: a non-empty string. Raises for anything else
 * (a number key is not turned into its text), as tycho.metrics does for
 * label names: naming the argument of method (set_attribute's key), else
 * as a key of an attributes table (never nil there). */
static const char *attr_key(lua_State *L, int idx, const char *method)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        if (method)
            luaL_error(L, "tycho.trace: %s: key must be a string, got %s", method,
                       luaL_typename(L, idx));
        luaL_error(L, "tycho.trace: attribute names are strings, not a %s", luaL_typename(L, idx));
    }
    const char *k = lua_tostring(L, idx);
    if (!*k) luaL_error(L, "tycho.trace: empty attribute name");
    return k;
}

/* Checks every key/value of the attributes table at idx; sets them on span
 * (and ev, when an event's) unless span is NULL. */
static void set_attrs(lua_State *L, int idx, tycho_span_t *span, tycho_span_event_t *ev)
{
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int value = lua_gettop(L);
        const char *k = attr_key(L, value - 1, NULL);
        tycho_attr_value_t v = attr_value(L, value, k);
        if (span && ev)
            tycho_span_event_set_attr(span, ev, k, v);
        else if (span)
            tycho_span_set_attr(span, k, v);
        lua_settop(L, value - 1); /* the key, for lua_next */
    }
}

/* --- span handles -------------------------------------------------------------------- */

static lspan_t *new_handle(lua_State *L, tycho_lua_task_t *task, const tycho_req_trace_t *t)
{
    lspan_t *s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_getmetatable(L, SPAN_MT);
    lua_setmetatable(L, -2);
    s->task = task;
    s->serial = task->serial;
    s->sampled = t->sampled;
    memcpy(s->trace_hex, t->trace_hex, sizeof s->trace_hex);
    return s;
}

/* The span a handle's methods act on, or NULL when that is a no-op. For the
 * server span, *t is the running request's trace context. */
static tycho_span_t *target(lspan_t *s, tycho_req_trace_t **t)
{
    *t = NULL;
    if (!s->server) return s->ended ? NULL : s->span;
    if (!(*t = live_trace(s))) return NULL;
    return (*t)->span;
}

static int l_set_attribute(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    const char *k = attr_key(L, 2, "set_attribute");
    tycho_attr_value_t v = attr_value(L, 3, k);
    tycho_req_trace_t *t;
    tycho_span_t *span = target(s, &t);
    if (span) tycho_span_set_attr(span, k, v);
    return 0;
}

static int l_add_event(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    const char *name = luaL_checkstring(L, 2);
    tycho_req_trace_t *t;
    tycho_span_t *span = target(s, &t);
    tycho_span_event_t *ev = span ? tycho_span_add_event(span, name, 0) : NULL;
    set_attrs(L, 3, ev ? span : NULL, ev);
    return 0;
}

const char *tycho_lua_trace_describe(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    int type = lua_type(L, idx);
    if (type == LUA_TSTRING) { /* no call: this runs for a memory error too */
        lua_pushvalue(L, idx);
        return lua_tostring(L, -1);
    }
    /* a __tostring that logs its own object would nest without end: read
     * as one that fails (cstack.h) */
    int status = LUA_ERRRUN, called = !tycho_lua_cstack_low();
    if (called) {
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, idx);
        status = lua_pcall(L, 1, 1, 0);
    }
    /* a __tostring that met the memory limit: the memory error goes on,
     * not read as a failing __tostring (the scheduler counts and collects) */
    if (status == LUA_ERRMEM) tycho_lua_rethrow(L, status);
    if (status != 0 || !lua_isstring(L, -1)) {
        if (called) lua_pop(L, 1);
        return lua_pushfstring(L, "(error object is a %s value)", lua_typename(L, type));
    }
    if (type == LUA_TTABLE && strncmp(lua_tostring(L, -1), "table: ", 7) == 0) {
        const char *m = tycho_lua_error_message(L, idx, NULL);
        if (m) {
            lua_pop(L, 1);
            lua_pushstring(L, m);
        }
    }
    return lua_tostring(L, -1);
}

/* describe(err) -> the message trace.span records for an error it sees. */
static int l_describe(lua_State *L)
{
    luaL_checkany(L, 1);
    tycho_lua_trace_describe(L, 1);
    return 1;
}

/* record_error(err, traceback?): the span's status becomes ERROR with an
 * exception event. On the server span the request counts as failed (status
 * ERROR even when the response is not a 5xx). nil is refused: it says
 * nothing about what failed. */
static int l_record_error(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    if (lua_isnoneornil(L, 2))
        return luaL_argerror(L, 2,
                             "an error (a string, or a table with a message) expected, got nil");
    lua_settop(L, 3);
    const char *msg = tycho_lua_trace_describe(L, 2);
    const char *tb = lua_isstring(L, 3) ? lua_tostring(L, 3) : NULL;
    tycho_req_trace_t *t;
    tycho_span_t *span = target(s, &t);
    if (t) t->error = 1; /* what tycho_obs_record_error does, exchange or not */
    if (span) {
        tycho_span_record_exception(span, "LuaError", msg, tb, 0);
        tycho_span_set_status(span, TYCHO_SPAN_STATUS_ERROR, msg);
    }
    return 0;
}

static int l_tostring(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    lua_pushfstring(L, "tycho.trace span %s/%s%s", s->trace_hex, s->span_hex,
                    s->server ? " (server)" : "");
    return 1;
}

/* Fields: trace_id, span_id (lowercase hex), sampled; then the methods. */
static int l_index(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "trace_id") == 0) return lua_pushstring(L, s->trace_hex), 1;
    if (strcmp(k, "span_id") == 0) return lua_pushstring(L, s->span_hex), 1;
    if (strcmp(k, "sampled") == 0) return lua_pushboolean(L, s->sampled), 1;
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int l_gc(lua_State *L)
{
    lspan_t *s = lua_touserdata(L, 1);
    /* a span never pushed on its stack (start raised on an attribute) */
    if (s && s->span) tycho_span_free(s->span);
    if (s) s->span = NULL;
    return 0;
}

/* --- module functions ---------------------------------------------------------------- */

static int l_current(lua_State *L)
{
    tycho_lua_task_t *task;
    tycho_req_trace_t *t = request_trace(&task);
    if (!t) return 0;
    if (push_top(L, task)) return 1;
    lspan_t *s = new_handle(L, task, t);
    s->server = 1;
    memcpy(s->span_id, t->span_id, 8);
    memcpy(s->span_hex, t->span_hex, sizeof s->span_hex);
    return 1;
}

static int l_start(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    tycho_lua_task_t *task;
    tycho_req_trace_t *t = request_trace(&task);
    if (!t) {
        set_attrs(L, 2, NULL, NULL); /* same checks in and out of a request */
        return 0;
    }
    lspan_t *parent = push_top(L, task);
    uint8_t pid[8];
    memcpy(pid, parent ? parent->span_id : t->span_id, 8);
    if (parent) lua_pop(L, 1);
    lspan_t *s = new_handle(L, task, t); /* index 3 */
    tycho_obs_t *o = tycho_obs_current();
    s->span = o ? tycho_obs_span_start(o, t, pid, name, TYCHO_SPAN_KIND_INTERNAL) : NULL;
    if (s->span)
        memcpy(s->span_id, s->span->span_id, 8);
    else
        tycho_trace_new_span_id(s->span_id); /* unsampled: an id for logs and propagation */
    tycho_hex_encode(s->span_id, 8, s->span_hex);
    set_attrs(L, 2, s->span, NULL); /* may raise: s is garbage then, __gc frees its span */
    s->co = L;
    push_stack(L, task, 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
    if (L != task->co) { /* kept while the span is open: s->co stays valid */
        lua_getfield(L, -1, "threads");
        lua_pushvalue(L, 3);
        lua_pushthread(L);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    task->spans = 1;
    task->logctx.span_id = s->span_hex;
    return 1;
}

/* Ends span now and hands it to the telemetry thread (freed outside a worker). */
static void export_span(tycho_span_t *span)
{
    tycho_obs_t *o = tycho_obs_current();
    if (o)
        tycho_obs_span_finish(o, span);
    else
        tycho_span_free(span);
}

/* finish(s, failed, message, traceback): exports the span first, then takes
 * s off the stack. After a memory error (trace.span ending its span) memory
 * is still at the limit and the stack's upkeep may raise one again: the span
 * is out by then, and s, ended, is skipped by tycho_lua_trace_end_task. */
static int l_finish(lua_State *L)
{
    lspan_t *s = luaL_checkudata(L, 1, SPAN_MT);
    if (s->server || s->ended) return 0;
    s->ended = 1;
    tycho_span_t *span = s->span;
    s->span = NULL;
    if (span) {
        if (lua_toboolean(L, 2)) {
            const char *msg = lua_isstring(L, 3) ? lua_tostring(L, 3) : "error";
            tycho_span_record_exception(span, "LuaError", msg,
                                        lua_isstring(L, 4) ? lua_tostring(L, 4) : NULL, 0);
            tycho_span_set_status(span, TYCHO_SPAN_STATUS_ERROR, msg);
        }
        export_span(span);
    }
    tycho_req_trace_t *t = live_trace(s);
    if (t) {
        push_stack(L, s->task, 0);
        int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0;
        int i = n;
        while (i > 0) { /* normally the top; anywhere if spans ended out of order */
            lua_rawgeti(L, -1, i);
            int found = lua_touserdata(L, -1) == s;
            lua_pop(L, 1);
            if (found) break;
            i--;
        }
        for (; i > 0 && i < n; i++) {
            lua_rawgeti(L, -1, i + 1);
            lua_rawseti(L, -2, i);
        }
        if (i > 0) {
            lua_pushnil(L);
            lua_rawseti(L, -2, n);
            lua_getfield(L, -1, "threads");
            lua_pushvalue(L, 1);
            lua_pushnil(L);
            lua_rawset(L, -3);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        sync_log_context(L, s->task, t);
    }
    return 0;
}

void tycho_lua_trace_end_task(lua_State *L, tycho_lua_task_t *task)
{
    if (!task->spans) return;
    task->spans = 0;
    int top = lua_gettop(L);
    push_stack(L, task, 0);
    for (int i = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0; i > 0; i--) {
        lua_rawgeti(L, -1, i);
        lspan_t *s = lua_touserdata(L, -1);
        lua_pop(L, 1);
        s->ended = 1;
        if (!s->span) continue;
        tycho_span_set_attr(s->span, CLOSED_BY_SERVER, TYCHO_AV_BOOL(1));
        export_span(s->span);
        s->span = NULL;
    }
    if (lua_istable(L, -1)) { /* forget the stack: the coroutines it kept may go */
        lua_getfield(L, LUA_REGISTRYINDEX, STACKS_KEY);
        lua_rawgeti(L, LUA_REGISTRYINDEX, task->co_ref);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_settop(L, top);
}

/* headers() -> { traceparent = ..., tracestate = ... (when any),
 * ["X-Amzn-Trace-Id"] = ... } naming the innermost active span as the parent;
 * nil outside a request. */
static int l_headers(lua_State *L)
{
    const tycho_req_trace_t *t;
    uint8_t parent[8];
    if (tycho_lua_trace_current(L, &t, parent) != 0) return 0;
    tycho_trace_headers_t h;
    tycho_trace_inject(t->trace_id, parent, t->flags, &t->tracestate, &t->xray, &h);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, h.traceparent);
    lua_setfield(L, -2, "traceparent");
    if (h.tracestate[0]) {
        lua_pushstring(L, h.tracestate);
        lua_setfield(L, -2, "tracestate");
    }
    lua_pushstring(L, h.xamzn);
    lua_setfield(L, -2, "X-Amzn-Trace-Id");
    return 1;
}

int luaopen_tycho_trace_c(lua_State *L)
{
    static const luaL_Reg methods[] = {{"set_attribute", l_set_attribute},
                                       {"add_event", l_add_event},
                                       {"record_error", l_record_error},
                                       {NULL, NULL}};
    if (luaL_newmetatable(L, SPAN_MT)) {
        lua_newtable(L);
        luaL_register(L, NULL, methods);
        lua_pushcclosure(L, l_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "tycho.trace.span");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"current", l_current},   {"start", l_start},
                                   {"finish", l_finish},     {"headers", l_headers},
                                   {"describe", l_describe}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
