/* task_guard — a library function refused inside the tasks of a state that
 * serves (a request's handler, a timer's, a consumer's), with a message
 * that says why and what to do instead; elsewhere (a route file's top
 * level, tycho spec, tycho check) it runs as it is. blocking_calls and
 * default_files say which functions and why. Owner thread of the state. */
#ifndef TYCHO_LUA_TASK_GUARD_H
#define TYCHO_LUA_TASK_GUARD_H

#include <lua.h>

/* Replaces lib.fn of L (after luaL_openlibs) with a wrapper that raises
 * message at the caller's line when called inside a task — only when its
 * first argument is given (not nil), if only_with_arg — and else calls the
 * original. Raises only on out of memory. */
void tycho_lua_task_guard(lua_State *L, const char *lib, const char *fn, int only_with_arg,
                          const char *message);

#endif
