#include "lua/libs.h"

#include "lua/lib_metrics.h"
#include "lua/lib_trace.h"
#include "lua/protect.h"

#include <lauxlib.h>

void tycho_lua_open_libs(lua_State *L)
{
    static const luaL_Reg mods[] = {
        {"tycho.json", luaopen_tycho_json},
        {"tycho.time", luaopen_tycho_time},
        {"tycho.log", luaopen_tycho_log},
        {"tycho.uuid", luaopen_tycho_uuid},
        {"tycho._test", luaopen_tycho_test},
        {"tycho.server", luaopen_tycho_server},
        {"tycho.net", luaopen_tycho_net},
        {"tycho.metrics", luaopen_tycho_metrics},
        {"tycho._trace", luaopen_tycho_trace_c},
        {"tycho._http", luaopen_tycho_http_core},
        {"tycho._aws", luaopen_tycho_aws_core},
        {"tycho._protect", luaopen_tycho_protect_c},
        {"tycho._all", luaopen_tycho_all_c},
        {NULL, NULL},
    };
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    for (const luaL_Reg *m = mods; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 2);
}
