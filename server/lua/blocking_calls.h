/* blocking_calls — os.execute and io.popen refused inside the tasks of a
 * state that serves (a request's handler, a timer's, a consumer's). They
 * wait for a child process on the worker's thread: every other request of
 * that worker waits too, and no timeout can stop them (the handler watchdog
 * interrupts Lua code, not a blocked system call). A route file's top level
 * (no task runs) keeps them, and so do states that do not serve (tycho spec,
 * tycho check). Owner thread of the state. */
#ifndef TYCHO_LUA_BLOCKING_CALLS_H
#define TYCHO_LUA_BLOCKING_CALLS_H

#include <lua.h>

/* Wraps os.execute and io.popen of L (after luaL_openlibs). Raises only on
 * out of memory. */
void tycho_lua_blocking_calls_install(lua_State *L);

#endif
