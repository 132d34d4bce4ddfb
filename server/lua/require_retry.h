/* require_retry — `require` as Lua 5.2+ has it: a module whose load raised is
 * left unloaded, so the next require of it runs its loader again and raises
 * its own error. LuaJIT's (Lua 5.1's) require leaves its loop sentinel in
 * package.loaded instead, and every later require of the module says only
 * "loop or previous error loading module". A require inside the module's own
 * load (a real loop) still says that. Any thread that owns a state, for it. */
#ifndef TYCHO_LUA_REQUIRE_RETRY_H
#define TYCHO_LUA_REQUIRE_RETRY_H

#include <lua.h>

/* Replaces the global `require` of L (call after luaL_openlibs, before any
 * code captured it) with one wrapping LuaJIT's. Raises only on out of memory. */
void tycho_lua_require_retry_install(lua_State *L);

#endif
