#include "lua/os_exit.h"

#include <lauxlib.h>

/* os.exit([code]): "routes/a.lua:3: os.exit(1) called: ..." at the caller's
 * line, so a load names the route file and a handler's log line its code. */
static int refuse_exit(lua_State *L)
{
    int type = lua_type(L, 1);
    const char *code = type == LUA_TNONE || type == LUA_TNIL ? ""
                       : type == LUA_TBOOLEAN ? (lua_toboolean(L, 1) ? "true" : "false")
                       : type == LUA_TNUMBER  ? lua_tostring(L, 1)
                                              : lua_typename(L, type);
    return luaL_error(L,
                      "os.exit(%s) called: route files and handlers cannot end the process (it "
                      "would stop every worker without draining); raise an error instead",
                      code);
}

void tycho_lua_os_exit_install(lua_State *L)
{
    lua_getglobal(L, "os");
    lua_pushcfunction(L, refuse_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
}
