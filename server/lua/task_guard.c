#include "lua/task_guard.h"

#include "lua/scheduler.h"

#include <lauxlib.h>

/* upvalue 1 the original function, 2 the message, 3 only_with_arg */
static int guarded(lua_State *L)
{
    int refused = tycho_lua_task_current() != NULL;
    if (refused && lua_toboolean(L, lua_upvalueindex(3))) refused = !lua_isnoneornil(L, 1);
    if (refused) return luaL_error(L, "%s", lua_tostring(L, lua_upvalueindex(2)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void tycho_lua_task_guard(lua_State *L, const char *lib, const char *fn, int only_with_arg,
                          const char *message)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, fn);
    lua_pushstring(L, message);
    lua_pushboolean(L, only_with_arg);
    lua_pushcclosure(L, guarded, 3);
    lua_setfield(L, -2, fn);
    lua_pop(L, 1);
}
