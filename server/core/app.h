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
    /* A reload, in two phases so that every worker switches or none does:
     * prepare loads the new generation next to the serving one (0, or -1 +
     * *err: nothing kept); once every worker has prepared, the main thread has
     * each one commit (swap it in), or discard it when one failed. commit and
     * discard may be NULL (nothing to swap). */
    int (*prepare)(void *app, char **err);
    void (*commit)(void *app);
    void (*discard)(void *app);
    uint64_t (*generation)(void *app);
    /* Which load of the app's code serves: the stamp of the metrics it
     * defines (tycho_metric_opts_t.stamp). NULL: it defines none. */
    uint64_t (*load)(void *app);
    size_t (*memory)(void *app); /* bytes (Lua heap) */
    /* Pre-check of a reload, without serving, on a thread of its own (any
     * thread but a worker's: core/precheck.h). NULL = always ok. */
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
