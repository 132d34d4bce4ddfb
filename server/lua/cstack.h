/* cstack — the C stack left to the calling thread, checked where Lua code
 * can call back into Lua through a function written in C: string.gsub's
 * replacement function, table.sort's comparator, coroutine.resume and the
 * functions of coroutine.wrap, print, tycho.all (and tycho.log's and
 * tycho.trace's reading of a message, by __tostring).
 * Each such nesting takes C stack (LuaJIT checks only the Lua stack), so a
 * recursion through one that never ends ran the worker's thread out of stack
 * and the whole process died of SIGSEGV. Past the limit the call raises a
 * Lua error instead. Any thread; the bounds are read once per thread. */
#ifndef TYCHO_LUA_CSTACK_H
#define TYCHO_LUA_CSTACK_H

#include <lua.h>

/* Raises "<what>: C stack overflow ..." at the line of the Lua function
 * `level` levels up (as luaL_where counts: 1 is the caller of the running C
 * function) when the calling thread has less than its reserve of C stack
 * left (a quarter of its stack, at most 1 MiB, kept for the error's
 * unwinding and message handler); returns 0 otherwise (also when the bounds
 * cannot be read). */
int tycho_lua_cstack_check(lua_State *L, int level, const char *what);

/* Whether the calling thread is down to its reserve: for code that has a
 * way out other than an error (a message it cannot read). */
int tycho_lua_cstack_low(void);

/* Wraps string.gsub, table.sort, coroutine.resume and coroutine.wrap of L
 * (after luaL_openlibs) so that each checks first. Raises only on out of
 * memory. */
void tycho_lua_cstack_install(lua_State *L);

#endif
