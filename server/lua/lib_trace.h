/* lib_trace — tycho._trace, the C half of tycho.trace (lua/tycho/trace.lua):
 * the running request's span handles, child spans and the per-task stack of
 * active spans. Worker thread (or the tycho spec thread). */
#ifndef TYCHO_LUA_LIB_TRACE_H
#define TYCHO_LUA_LIB_TRACE_H

#include <lua.h>

int luaopen_tycho_trace_c(lua_State *L);

#endif
