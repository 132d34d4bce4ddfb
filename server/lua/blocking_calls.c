#include "lua/blocking_calls.h"

#include "lua/scheduler.h"

#include <lauxlib.h>

/* The wrapper of a blocking function: upvalue 1 the original, upvalue 2 its
 * name. Inside a task it raises at the caller's line; elsewhere (a route
 * file's load) it calls the original. */
static int guarded(lua_State *L)
{
    if (tycho_lua_task_current())
        return luaL_error(L,
                          "%s cannot run in a handler, timer or consumer: it blocks the worker "
                          "(every request it serves waits, and no timeout can stop it); call "
                          "another service over tycho.http instead, or run it once at a route "
                          "file's top level",
                          lua_tostring(L, lua_upvalueindex(2)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap(lua_State *L, const char *lib, const char *fn, const char *name)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, fn);
    lua_pushstring(L, name);
    lua_pushcclosure(L, guarded, 2);
    lua_setfield(L, -2, fn);
    lua_pop(L, 1);
}

void tycho_lua_blocking_calls_install(lua_State *L)
{
    wrap(L, "os", "execute", "os.execute");
    wrap(L, "io", "popen", "io.popen");
}
