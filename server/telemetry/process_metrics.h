/* process_metrics — the standard process_* metrics (as client_golang names
 * them), read from /proc and getrusage at scrape time through callback
 * series. Register from any thread, into as many registries as wanted (each
 * Lua state's scratch registry holds them too): nothing is shared between
 * them. The callbacks run on whichever thread takes the snapshot. Linux
 * only. */
#ifndef TYCHO_TELEMETRY_PROCESS_METRICS_H
#define TYCHO_TELEMETRY_PROCESS_METRICS_H

#include "telemetry/metrics.h"

#include <stddef.h>

/* Registers process_cpu_seconds_total (counter), process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds (gauges). Idempotent. 0 or -errno with err. */
int tycho_process_metrics_register(tycho_metrics_t *reg, char *err, size_t errlen);

/* The individual readings (also used by /-/status); -1 when unavailable. */
double tycho_process_cpu_seconds(void);
double tycho_process_resident_bytes(void);
double tycho_process_virtual_bytes(void);
double tycho_process_open_fds(void);
double tycho_process_max_fds(void);
double tycho_process_start_time(void); /* unix seconds */

#endif
