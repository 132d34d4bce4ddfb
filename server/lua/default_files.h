/* default_files — io.input(file) and io.output(file) refused inside the
 * tasks of a state that serves (a request's handler, a timer's, a
 * consumer's). The default input and output files belong to the Lua state,
 * which every request of the worker shares: one handler's
 * io.output("x.log") would send every later io.write of that worker to
 * x.log — the log lines io.write makes under tycho serve included, and
 * those of requests running meanwhile, so putting it back when the handler
 * ends would not do. Without a file (io.output(), io.input()) they still
 * return the current one. A route file's top level (no task runs) keeps
 * them, and so do states that do not serve (tycho spec, tycho check).
 * Owner thread of the state. */
#ifndef TYCHO_LUA_DEFAULT_FILES_H
#define TYCHO_LUA_DEFAULT_FILES_H

#include <lua.h>

/* Wraps io.input and io.output of L (after luaL_openlibs, and after
 * tycho_lua_stdout_to_log, which keeps the original io.output). Raises only
 * on out of memory. */
void tycho_lua_default_files_install(lua_State *L);

#endif
