/* lib_metrics — tycho.metrics: counters, gauges and histograms defined from
 * Lua, updated on the calling worker's shard of the process registry
 * (telemetry/metrics.h). See lib_metrics.c and docs/routes.md ("Telemetry").
 * A state's calls run on the thread that owns the state. */
#ifndef TYCHO_LUA_LIB_METRICS_H
#define TYCHO_LUA_LIB_METRICS_H

#include <lua.h>

int luaopen_tycho_metrics(lua_State *L);

#endif
