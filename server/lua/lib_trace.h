/* lib_trace — tycho._trace, the C half of tycho.trace (lua/tycho/trace.lua):
 * the running request's span handles, child spans and the per-task stack of
 * active spans. Worker thread (or the tycho spec thread). */
#ifndef TYCHO_LUA_LIB_TRACE_H
#define TYCHO_LUA_LIB_TRACE_H

#include "lua/scheduler.h"

#include <lua.h>

int luaopen_tycho_trace_c(lua_State *L);
/* The task ends (done, timed out or dropped): its child spans still open
 * (started in a coroutine never resumed again) end now and go to the
 * telemetry thread, with tycho.span.closed_by_server = true. Nothing to do
 * (one flag test) for a task that never started one. L: the task's state. */
void tycho_lua_trace_end_task(lua_State *L, tycho_lua_task_t *task);
/* For tycho.all: pushes the handle of the span current for the running
 * coroutine L of task (one it, or a coroutine resuming it, started) and
 * returns its id's hex (valid while the handle is kept), or returns NULL
 * with nothing pushed when none is open. A task whose trace_base_ref holds
 * it starts its spans and calls under it, and tycho.trace.current() there
 * answers it. */
const char *tycho_lua_trace_push_current(lua_State *L, tycho_lua_task_t *task);
/* Before a log line from Lua: the task's log context names the span current
 * for the running coroutine L (a coroutine's span stops naming lines once
 * it yields). One flag test for a task that never started a span. */
void tycho_lua_trace_sync_log(lua_State *L, tycho_lua_task_t *task);
/* Pushes the value at idx as the message of an error and returns it (valid
 * while it stays on the stack): a string or a number as is; else what
 * tostring makes of it (an error object with __tostring, such as
 * tycho.error's, reads well), except that a table tostring can only name by
 * its address gives its own message (or error) field, as handler errors are
 * read (tycho_lua_error_message). A __tostring that fails gives
 * "(error object is a <type> value)"; one that meets the memory limit
 * raises the memory error, as one (tycho_lua_rethrow), as does running
 * short of memory here: the only errors it raises. The exception message of
 * record_error and trace.span, and tycho.log's message that is no string. */
const char *tycho_lua_trace_describe(lua_State *L, int idx);

#endif
