/* app — what a worker serves. The ops are called on the worker's thread; one
 * app instance per worker (the Lua runtime, or the built-in fallback). */
#ifndef TYCHO_APP_H
#define TYCHO_APP_H

#include "core/config.h"
#include "http/exchange.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tycho_app_ops {
    const char *name;
    /* Creates the app on the worker's loop and fills *handler.
     * NULL + *err (malloc'd) on failure. */
    void *(*create)(uv_loop_t *loop, const tycho_config_t *cfg, int worker_id,
                    tycho_handler_t *handler, char **err);
    /* Swaps in a new generation; keeps the old one and returns -1 + *err on failure. */
    int (*reload)(void *app, char **err);
    uint64_t (*generation)(void *app);
    size_t (*memory)(void *app); /* bytes (Lua heap) */
    /* Pre-check of a reload on the main thread, without serving. NULL = always ok. */
    int (*check)(const tycho_config_t *cfg, char **err);
    void (*destroy)(void *app); /* after the worker's loop has drained */
    /* Drain (SIGTERM): finish background work (SQS consumers); done(ud) runs
     * on the worker's loop once it has, possibly before drain returns. NULL =
     * nothing to drain. */
    void (*drain)(void *app, void (*done)(void *ud), void *ud);
} tycho_app_ops_t;

/* The Lua runtime (core/lua_app.c): what `tycho serve` runs. */
extern const tycho_app_ops_t tycho_lua_app;
/* Answers 404 JSON to everything (tests of the engine alone). */
extern const tycho_app_ops_t tycho_builtin_app;

#endif
