/* tycho.log — structured log lines through the core's JSON logger:
 *   log.info("order placed", { order = id, total = 12.5 })
 * debug/info/warn/error; fields: strings, numbers, booleans, tables (as
 * JSON). Inside a request the route and the request's ids are attached:
 * request_id, trace_id, and span_id (the innermost tycho.trace.span's, else
 * the server span's) come from the task's log context (runtime.c, lib_trace.c). */
#include "core/log.h"
#include "lua/gen.h"
#include "lua/libs.h"
#include "lua/scheduler.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>

#define MAX_FIELDS 32

static int do_log(lua_State *L, tycho_log_level_t level)
{
    if (!tycho_log_enabled(level)) return 0;
    const char *msg = luaL_checkstring(L, 1);
    tycho_log_field_t f[MAX_FIELDS + 1];
    tycho_buf_t json[MAX_FIELDS];
    size_t n = 0, nj = 0;
    tycho_lua_task_t *t = tycho_lua_task_current();
    if (t && t->rq.route) f[n++] = LF_STR("route", t->rq.route->pattern);
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (n < MAX_FIELDS && lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                lua_pop(L, 1);
                continue;
            }
            const char *k = lua_tostring(L, -2);
            size_t len;
            switch (lua_type(L, -1)) {
            case LUA_TNUMBER: {
                double d = lua_tonumber(L, -1);
                if (d == floor(d) && fabs(d) < 9e15)
                    f[n++] = tycho_lf_named(LF_INT("", (long long)d), k);
                else
                    f[n++] = tycho_lf_named(LF_DBL("", d), k);
                break;
            }
            case LUA_TBOOLEAN:
                f[n++] = tycho_lf_named(LF_BOOL("", lua_toboolean(L, -1)), k);
                break;
            case LUA_TSTRING: {
                const char *s = lua_tolstring(L, -1, &len);
                f[n++] = tycho_lf_named(LF_STRN("", s, len), k);
                break;
            }
            case LUA_TTABLE: {
                tycho_buf_t *b = &json[nj];
                *b = (tycho_buf_t)TYCHO_BUF_INIT;
                char err[120];
                if (tycho_json_encode(L, -1, b, err, sizeof err) == 0 && b->data) {
                    nj++;
                    f[n++] = tycho_lf_named(LF_JSON("", b->data), k);
                } else {
                    tycho_buf_free(b);
                    f[n++] = tycho_lf_named(LF_STR("", "(unencodable table)"), k);
                }
                break;
            }
            default:
                f[n++] = tycho_lf_named(LF_STR("", luaL_typename(L, -1)), k);
                break;
            }
            lua_pop(L, 1); /* the strings stay alive: the table (arg 2) holds them */
        }
        if (n == MAX_FIELDS) lua_settop(L, 2);
    }
    tycho_log_write(level, msg, f, n);
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

int luaopen_tycho_log(lua_State *L)
{
    static const luaL_Reg fns[] = {{"debug", l_debug}, {"info", l_info},       {"warn", l_warn},
                                   {"error", l_error}, {"enabled", l_enabled}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
