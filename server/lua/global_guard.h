/* global_guard — says when a handler creates a global variable. A state's
 * globals are shared by every request, timer and consumer run of a worker's
 * generation, so `count = count + 1` or `user = req.params.id` without
 * `local` in a handler is one variable that concurrent requests overwrite
 * (request A waits, request B sets it, A reads B's value). The first such
 * assignment of each name logs a warning with the name and its file:line;
 * the assignment still happens. Route files' top levels (the load) and
 * specs' own code are not requests: their globals are not reported. Owner
 * thread of the state. */
#ifndef TYCHO_LUA_GLOBAL_GUARD_H
#define TYCHO_LUA_GLOBAL_GUARD_H

#include <lua.h>

/* Gives L's globals table a metatable whose __newindex reports (above). Call
 * once, before the route files load. Raises only on out of memory. */
void tycho_lua_global_guard_install(lua_State *L);

#endif
