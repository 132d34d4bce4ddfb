#include "lua/default_files.h"

#include "lua/task_guard.h"

#include <lauxlib.h>

/* refused with a file (a name or a file handle); without one it returns
 * the current file, as ever */
static void guard(lua_State *L, const char *fn, const char *instead)
{
    lua_pushfstring(L,
                    "io.%s(file) cannot run in a handler, timer or consumer: it changes "
                    "the default file of every request this worker serves; %s",
                    fn, instead);
    tycho_lua_task_guard(L, "io", fn, 1, lua_tostring(L, -1));
    lua_pop(L, 1);
}

void tycho_lua_default_files_install(lua_State *L)
{
    guard(L, "input",
          "read a file of your own: local f = assert(io.open(path)) ... f:read(...) ... "
          "f:close()");
    guard(L, "output",
          "write to a file of your own: local f = assert(io.open(path, \"a\")) ... "
          "f:write(...) ... f:close(), or log with tycho.log");
}
