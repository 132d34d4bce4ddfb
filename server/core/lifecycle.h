/* lifecycle — the process-wide serving state that several threads read:
 * draining (set once by the main thread on SIGTERM), the route generation and
 * the last reload outcome. Any thread may call these; writes come from the
 * main thread. The admin listener and the Lua health route read them. */
#ifndef TYCHO_LIFECYCLE_H
#define TYCHO_LIFECYCLE_H

#include "core/buf.h"

#include <stdint.h>

/* Every worker serves (before that, /-/ready answers 503 "starting"). */
void tycho_lifecycle_set_serving(void);
int tycho_lifecycle_serving(void);
void tycho_lifecycle_set_draining(void);
int tycho_lifecycle_draining(void);
void tycho_lifecycle_set_generation(uint64_t generation);
uint64_t tycho_lifecycle_generation(void);
/* Records a reload attempt; err NULL means success (clears the last error). */
void tycho_lifecycle_record_reload(int ok, const char *err);
/* Appends "generation", "last_reload" and "last_error" members (no braces). */
void tycho_lifecycle_status_json(tycho_buf_t *out);
void tycho_lifecycle_reload_counts(uint64_t *ok, uint64_t *failed);
double tycho_lifecycle_start_time(void); /* unix seconds */
void tycho_lifecycle_init(void);         /* main thread, before other threads */

#endif
