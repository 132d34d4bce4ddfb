/* os_exit — os.exit in a generation's state raises a Lua error instead of
 * ending the process. A route file's top level or a handler calling it would
 * stop the whole server (every worker, in-flight requests cut, no drain), and
 * during a reload's pre-check it turned a load error, which keeps the
 * previous routes serving, into an outage. Owner thread of the state. */
#ifndef TYCHO_LUA_OS_EXIT_H
#define TYCHO_LUA_OS_EXIT_H

#include <lua.h>

/* Replaces os.exit of L (after luaL_openlibs). Raises only on out of memory. */
void tycho_lua_os_exit_install(lua_State *L);

#endif
