/* precheck — runs the pre-check of a reload (the app's check op: every route
 * file loaded in a scratch state) on a thread of its own, so that the main
 * loop keeps handling signals and admin requests while route files load: a
 * load that takes long, or never ends, cannot hold up a shutdown. One check
 * at a time. Main thread only (the loop's thread); done runs there. */
#ifndef TYCHO_PRECHECK_H
#define TYCHO_PRECHECK_H

#include "core/config.h"

#include <uv.h>

typedef struct tycho_precheck tycho_precheck_t;

typedef int (*tycho_precheck_fn)(const tycho_config_t *cfg, char **err);
/* rc and err as check returned them (err may be NULL; valid during the call). */
typedef void (*tycho_precheck_done_fn)(void *ud, int rc, const char *err);

/* NULL on out of memory. */
tycho_precheck_t *tycho_precheck_new(uv_loop_t *loop, tycho_precheck_done_fn done, void *ud);
/* Starts check(cfg) on a new thread (cfg is copied); done runs on the loop
 * once it returned. 0, or a negative uv error (-EBUSY while one runs; no
 * thread, no memory) and done is not called. */
int tycho_precheck_start(tycho_precheck_t *p, tycho_precheck_fn check, const tycho_config_t *cfg);
/* Closes p (on the loop: run it once more). A check still running is
 * abandoned, not waited for: its thread frees what it owns when check
 * returns, and the process may exit before (the thread touches nothing the
 * main thread frees). */
void tycho_precheck_close(tycho_precheck_t *p);

#endif
