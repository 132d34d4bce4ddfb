#include "lua/table_list.h"

#include <math.h>

int tycho_lua_list_stray_key(lua_State *L, int idx)
{
    if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
    double n = (double)lua_objlen(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        double k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        if (!(k >= 1 && k <= n && k == floor(k))) return 1;
    }
    return 0;
}
