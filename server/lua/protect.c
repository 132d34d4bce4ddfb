#include "lua/protect.h"

#include "lua/alloc.h"

#include <lauxlib.h>

int tycho_lua_rethrow(lua_State *L, int status)
{
    if (status == LUA_ERRMEM) return tycho_lua_alloc_raise_nomem(L);
    return lua_error(L);
}

static int l_raise_nomem(lua_State *L)
{
    return tycho_lua_alloc_raise_nomem(L);
}

int luaopen_tycho_protect_c(lua_State *L)
{
    static const luaL_Reg fns[] = {{"raise_nomem", l_raise_nomem}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
