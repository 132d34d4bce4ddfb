#include "lua/global_guard.h"

#include "core/log.h"
#include "lua/scheduler.h"

#include <lauxlib.h>
#include <stdio.h>

/* registry key: the names already reported, one warning each per state */
static const char REPORTED_KEY[] = "tycho.globals_reported";

/* __newindex(_G, name, value): a new global. Reports it when the code runs
 * for a request, a timer or a consumer (tasks with a config), then stores. */
static int new_global(lua_State *L)
{
    tycho_lua_task_t *t = tycho_lua_task_current();
    if (t && t->rq.cfg && lua_type(L, 2) == LUA_TSTRING) {
        lua_getfield(L, LUA_REGISTRYINDEX, REPORTED_KEY);
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        int seen = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!seen) {
            lua_pushvalue(L, 2);
            lua_pushboolean(L, 1);
            lua_rawset(L, -3);
            char where[256] = "?";
            lua_Debug ar; /* level 1: the code assigning (level 0 is this function) */
            if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
                snprintf(where, sizeof where, "%s:%d",
                         ar.source[0] == '@' ? ar.source + 1 : ar.short_src, ar.currentline);
            static const char msg[] = "a handler assigned a global variable: every request "
                                      "of the worker shares it; declare it local";
            const tycho_lua_route_t *route = t->rq.route;
            tycho_log_field_t f[] = {LF_STR("global", lua_tostring(L, 2)), LF_STR("at", where),
                                     LF_STR("route", route ? route->pattern : ""),
                                     LF_STR("handler", route ? route->where : "")};
            tycho_log_writen(TYCHO_LOG_WARN, msg, sizeof msg - 1, f, route ? 4 : 2);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

void tycho_lua_global_guard_install(lua_State *L)
{
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REPORTED_KEY);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, new_global);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}
