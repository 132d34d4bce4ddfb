#include "lua/blocking_calls.h"

#include "lua/task_guard.h"

#include <lauxlib.h>

static void guard(lua_State *L, const char *lib, const char *fn)
{
    lua_pushfstring(L,
                    "%s.%s cannot run in a handler, timer or consumer: it blocks the worker "
                    "(every request it serves waits, and no timeout can stop it); call "
                    "another service over tycho.http instead, or run it once at a route "
                    "file's top level",
                    lib, fn);
    tycho_lua_task_guard(L, lib, fn, 0, lua_tostring(L, -1));
    lua_pop(L, 1);
}

void tycho_lua_blocking_calls_install(lua_State *L)
{
    guard(L, "os", "execute");
    guard(L, "io", "popen");
}
