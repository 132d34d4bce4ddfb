/* tycho.log — structured log lines through the core's JSON logger:
 *   log.info("order placed", { order = id, total = 12.5 })
 * debug/info/warn/error; fields: strings, numbers, booleans, tables (as
 * JSON), json.null (as null). A message that is not a string (an error
 * object) is read as tycho.trace reads an error (tycho_lua_trace_describe).
 * Inside a request the route and the request's ids are attached:
 * request_id, trace_id, and span_id (the innermost tycho.trace.span's, else
 * the server span's) come from the task's log context (runtime.c, lib_trace.c).
 * Numbers are written as tycho.json.encode writes them, NaN and infinities as
 * the strings "NaN", "Infinity", "-Infinity". */
#include "core/log.h"
#include "lua/cstack.h"
#include "lua/gen.h"
#include "lua/lib_trace.h"
#include "lua/libs.h"
#include "lua/scheduler.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

/* The caller's fields a line keeps; the others (past it in pairs() order,
 * and those of a key that is not a string) are counted in "fields_dropped". */
#define MAX_FIELDS 32

/* The field of the value on top of the stack, named key. */
static tycho_log_field_t to_field(lua_State *L, const char *key, size_t klen, tycho_buf_t *json)
{
    uint32_t kl = (uint32_t)klen; /* a LuaJIT string is below 2 GiB */
    size_t len;
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        return tycho_lf_named(LF_DBL("", lua_tonumber(L, -1)), key, kl);
    case LUA_TBOOLEAN:
        return tycho_lf_named(LF_BOOL("", lua_toboolean(L, -1)), key, kl);
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, -1, &len);
        return tycho_lf_named(LF_STRN("", s, len), key, kl);
    }
    case LUA_TTABLE: {
        char err[120];
        if (tycho_json_encode(L, -1, json, err, sizeof err) == 0 && json->data)
            return tycho_lf_named(LF_JSON("", json->data), key, kl);
        /* the line says why, in json (freed with the line's other buffers) */
        tycho_buf_reset(json);
        if (tycho_buf_printf(json, "(unencodable table: %s)", err) != 0) {
            tycho_buf_free(json);
            return tycho_lf_named(LF_STR("", "(unencodable table)"), key, kl);
        }
        return tycho_lf_named(LF_STRN("", json->data, json->len), key, kl);
    }
    case LUA_TLIGHTUSERDATA: /* json.null; another one is written as its type */
        if (tycho_json_is_null(L, -1)) return tycho_lf_named(LF_JSON("", "null"), key, kl);
        /* fall through */
    default:
        return tycho_lf_named(LF_STR("", luaL_typename(L, -1)), key, kl);
    }
}

static int do_log(lua_State *L, tycho_log_level_t level)
{
    if (!tycho_log_enabled(level)) return 0;
    lua_settop(L, 2);
    /* an error value passed whole (log.error(err)) is written as the span's
     * exception message reads it: the line goes out, rather than a second
     * error raised where the first was being handled (but a memory error
     * met there, which is passed on) */
    if (lua_type(L, 1) != LUA_TSTRING) {
        tycho_lua_trace_describe(L, 1);
        lua_replace(L, 1);
    }
    size_t msglen;
    const char *msg = lua_tolstring(L, 1, &msglen);
    /* f[0] is fields_dropped (passed only when some were), then route:
     * tycho's own members come before the caller's fields, so that a field
     * of the same name is renamed (core/log.h TYCHO_LOG_FIELD_PREFIX) */
    tycho_log_field_t f[MAX_FIELDS + 2];
    tycho_buf_t json[MAX_FIELDS];
    size_t n = 1, nj = 0;
    long long dropped = 0;
    tycho_lua_task_t *t = tycho_lua_task_current();
    if (t && t->spans) tycho_lua_trace_sync_log(L, t); /* a coroutine's span, or not */
    if (t && t->rq.route) f[n++] = LF_STR("route", t->rq.route->pattern);
    const size_t mine = n;
    /* fields that are not a table (log.info("failed", err)) are lost: said
     * so, as a dropped field, rather than silently */
    if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2)) dropped = 1;
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING || n - mine == MAX_FIELDS) {
                dropped++;
                lua_pop(L, 1);
                continue;
            }
            size_t klen;
            const char *k = lua_tolstring(L, -2, &klen);
            json[nj] = (tycho_buf_t)TYCHO_BUF_INIT;
            f[n++] = to_field(L, k, klen, &json[nj]);
            if (json[nj].data) nj++;
            lua_pop(L, 1); /* the strings stay alive: the table (arg 2) holds them */
        }
    }
    size_t first = 1;
    if (dropped) f[first = 0] = LF_INT("fields_dropped", dropped);
    tycho_log_writen(level, msg, msglen, f + first, n - first);
    for (size_t i = 0; i < nj; i++)
        tycho_buf_free(&json[i]);
    return 0;
}

static int l_debug(lua_State *L)
{
    return do_log(L, TYCHO_LOG_DEBUG);
}
static int l_info(lua_State *L)
{
    return do_log(L, TYCHO_LOG_INFO);
}
static int l_warn(lua_State *L)
{
    return do_log(L, TYCHO_LOG_WARN);
}
static int l_error(lua_State *L)
{
    return do_log(L, TYCHO_LOG_ERROR);
}

static int l_enabled(lua_State *L)
{
    tycho_log_level_t lv;
    if (tycho_log_parse_level(luaL_checkstring(L, 1), &lv) != 0)
        return luaL_argerror(L, 1, "expected debug, info, warn or error");
    lua_pushboolean(L, tycho_log_enabled(lv));
    return 1;
}

/* print(...) as a log line: what Lua's print would write (each argument
 * through the global tostring, tab-separated) is the message of an info line.
 * Lua's own print wrote through stdio's buffer to the stdout that holds the
 * JSON log lines: its text landed late, in blocks cut anywhere, inside them. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    tycho_lua_cstack_check(L, 1, "print"); /* a __tostring that prints */
    lua_getglobal(L, "tostring");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, n + 1);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "'tostring' must return a string to 'print'");
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_replace(L, 1);
    lua_settop(L, 1);
    return do_log(L, TYCHO_LOG_INFO);
}

/* The text of io.write's arguments from `first` on (strings and numbers, as
 * io.write takes them), one trailing newline dropped, as one info line; an
 * empty text writes nothing. Each call is a line of its own: nothing is held
 * back for a later call, so a write without a newline is never lost. */
static void write_line(lua_State *L, int first)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = first; i <= n; i++) {
        size_t len;
        const char *s = luaL_checklstring(L, i, &len);
        luaL_addlstring(&b, s, len);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    if (len == 0) return;
    lua_pushcfunction(L, l_info);
    lua_pushlstring(L, text, text[len - 1] == '\n' ? len - 1 : len);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
}

/* Whether the value at idx is an io file on the C stdout (LuaJIT's file
 * userdata starts with its FILE *, as Lua 5.1's does). */
static int is_stdout(lua_State *L, int idx)
{
    FILE **f = lua_touserdata(L, idx);
    if (!f || !lua_getmetatable(L, idx)) return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_FILEHANDLE);
    int file = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return file && *f == stdout;
}

/* file:write(...) with upvalue 1 the original method: on stdout a log line
 * (true returned, as LuaJIT's write does), on any other file the original. */
static int l_file_write(lua_State *L)
{
    if (is_stdout(L, 1)) {
        write_line(L, 2);
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* io.write(...) with upvalue 1 the original, 2 the original io.output: the
 * same for the default output file (stdout unless io.output changed it). */
static int l_io_write(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_call(L, 0, 1);
    if (is_stdout(L, -1)) {
        lua_insert(L, 1);
        write_line(L, 2);
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

void tycho_lua_stdout_to_log(lua_State *L)
{
    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
    lua_getglobal(L, "io");
    lua_getfield(L, -1, "write");
    lua_getfield(L, -2, "output");
    lua_pushcclosure(L, l_io_write, 2);
    lua_setfield(L, -2, "write");
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_FILEHANDLE); /* the files' methods (its __index) */
    lua_getfield(L, -1, "write");
    lua_pushcclosure(L, l_file_write, 1);
    lua_setfield(L, -2, "write");
    lua_pop(L, 1);
}

int luaopen_tycho_log(lua_State *L)
{
    static const luaL_Reg fns[] = {{"debug", l_debug}, {"info", l_info},       {"warn", l_warn},
                                   {"error", l_error}, {"enabled", l_enabled}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
