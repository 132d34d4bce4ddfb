/* task_traceback — the traceback of a task's coroutine after its error, for
 * the failure's log line and span: luaL_traceback's (level 0), but a Lua
 * function on top gets its line back. A coroutine a runtime error ended
 * ("attempt to index a nil value") no longer knows its top frame's position
 * in LuaJIT (it went with the unwound C frame), so that frame read
 * "src: in function ..." where every other one reads "src:line: ..."; the
 * error's own "src:line:" prefix is that position. Owner thread of the
 * state. */
#ifndef TYCHO_LUA_TASK_TRACEBACK_H
#define TYCHO_LUA_TASK_TRACEBACK_H

#include <lua.h>

/* Pushes onto L the message msg (not NULL) and co's traceback; returns the
 * string pushed (valid while it stays on L's stack). */
const char *tycho_lua_task_traceback(lua_State *L, lua_State *co, const char *msg);

#endif
