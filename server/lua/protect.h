/* protect — an error caught in a protected call, passed on as what it was:
 * a memory error (LUA_ERRMEM) stays a memory error, which the scheduler
 * counts and collects after (TYCHO_TASK_NOMEM). lua_error, and Lua's
 * error(), would raise it again as an ordinary error. The C half here; Lua
 * code uses tycho.protect (lua/tycho/protect.lua), over tycho._protect.
 * Owner thread of the state. */
#ifndef TYCHO_LUA_PROTECT_H
#define TYCHO_LUA_PROTECT_H

#include <lua.h>

/* Raises the error value on top of L that a lua_pcall returned with status:
 * a memory error as a memory error (tycho_lua_alloc_raise_nomem), any other
 * as it is. Does not return. */
int tycho_lua_rethrow(lua_State *L, int status);

/* tycho._protect: { raise_nomem = f } — f() raises a memory error, for
 * tycho.protect, which catches errors with xpcall (a C protected call
 * could not be yielded across). */
int luaopen_tycho_protect_c(lua_State *L);

#endif
