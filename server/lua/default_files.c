#include "lua/default_files.h"

#include "lua/scheduler.h"

#include <lauxlib.h>

/* io.input / io.output with upvalue 1 the original, 2 its name, 3 what to
 * do instead. With a file (a name or a file handle) inside a task it raises
 * at the caller's line; else it calls the original. */
static int guarded(lua_State *L)
{
    if (!lua_isnoneornil(L, 1) && tycho_lua_task_current())
        return luaL_error(L,
                          "%s(file) cannot run in a handler, timer or consumer: it changes "
                          "the default file of every request this worker serves; %s",
                          lua_tostring(L, lua_upvalueindex(2)),
                          lua_tostring(L, lua_upvalueindex(3)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap(lua_State *L, const char *fn, const char *name, const char *instead)
{
    lua_getglobal(L, "io");
    lua_getfield(L, -1, fn);
    lua_pushstring(L, name);
    lua_pushstring(L, instead);
    lua_pushcclosure(L, guarded, 3);
    lua_setfield(L, -2, fn);
    lua_pop(L, 1);
}

void tycho_lua_default_files_install(lua_State *L)
{
    wrap(L, "input", "io.input",
         "read a file of your own: local f = assert(io.open(path)) ... f:read(...) ... "
         "f:close()");
    wrap(L, "output", "io.output",
         "write to a file of your own: local f = assert(io.open(path, \"a\")) ... "
         "f:write(...) ... f:close(), or log with tycho.log");
}
