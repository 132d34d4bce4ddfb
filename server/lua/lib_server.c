/* tycho.server — the serving state a route may report: draining() (true
 * after SIGTERM, so a health route can answer 503 while the load balancer
 * deregisters the task), generation() (the route generation the calling code
 * belongs to), handler_timeout() (what a handler may take before its 504),
 * stuck_runs() (runs the watchdog cannot interrupt, each blocking its
 * worker: a health route reports the process unhealthy), version. Reads
 * core/lifecycle and the watchdog's count, which any thread may read, and
 * the calling state's configuration. */
#include "core/lifecycle.h"
#include "lua/gen.h"
#include "lua/libs.h"
#include "lua/watchdog.h"

#include <lauxlib.h>

static int l_draining(lua_State *L)
{
    lua_pushboolean(L, tycho_lifecycle_draining());
    return 1;
}

/* The calling state's own generation: a request still running on the
 * previous routes after a reload is told their number, and a generation
 * loading the number it will be served as. A state outside a runtime (the
 * reload's pre-check, tycho check) has none: the one being served. */
static int l_generation(lua_State *L)
{
    const tycho_lua_gen_t *g = tycho_lua_gen_of(L);
    lua_pushnumber(L, (lua_Number)(g && g->id ? g->id : tycho_lifecycle_generation()));
    return 1;
}

/* TYCHO_HANDLER_TIMEOUT of the configuration the calling state serves or
 * loads for, in seconds (0: none); nil for a state of no generation. */
static int l_handler_timeout(lua_State *L)
{
    const tycho_lua_gen_t *g = tycho_lua_gen_of(L);
    if (g && g->cfg)
        lua_pushnumber(L, g->cfg->handler_timeout);
    else
        lua_pushnil(L);
    return 1;
}

/* Lua runs of the whole process (any worker) past their deadline in a loop
 * the JIT compiled: each blocks its worker for good (lua/watchdog.h). */
static int l_stuck_runs(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)tycho_watchdog_stuck_count());
    return 1;
}

int luaopen_tycho_server(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"draining", l_draining},
        {"generation", l_generation},
        {"handler_timeout", l_handler_timeout},
        {"stuck_runs", l_stuck_runs},
        {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    lua_pushstring(L, TYCHO_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
