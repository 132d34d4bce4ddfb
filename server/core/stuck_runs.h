/* stuck_runs — what the admin port tells about Lua runs the watchdog could
 * not interrupt (a loop the JIT compiled, lua/watchdog.h): each blocks its
 * thread, a worker then answers nothing. The gauge tycho_lua_stuck_runs
 * (read at scrape and remote-write time) and /-/status's "stuck_runs" list
 * (thread, seconds past the deadline). Any thread. */
#ifndef TYCHO_CORE_STUCK_RUNS_H
#define TYCHO_CORE_STUCK_RUNS_H

#include "core/buf.h"
#include "telemetry/metrics.h"

#include <stddef.h>

/* Registers the gauge in reg. 0, or -errno with err. */
int tycho_stuck_runs_register(tycho_metrics_t *reg, char *err, size_t errlen);
/* Appends ,"stuck_runs":[{"thread":"tycho-w0","late_seconds":12.5},...]
 * (at most 64 listed; every one counted in the gauge). */
void tycho_stuck_runs_json(tycho_buf_t *out);

#endif
