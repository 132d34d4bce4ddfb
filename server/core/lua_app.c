/* lua_app — the Lua runtime as the app a worker serves (core/app.h ops). */
#include "core/app.h"
#include "lua/runtime.h"

static void *create(uv_loop_t *loop, const tycho_config_t *cfg, int worker_id,
                    tycho_handler_t *handler, char **err)
{
    tycho_lua_runtime_t *rt = cfg->routes_optional
                                  ? tycho_lua_runtime_new_for_specs(loop, cfg, err)
                                  : tycho_lua_runtime_new(loop, cfg, worker_id, err);
    if (rt) *handler = tycho_lua_runtime_handler(rt);
    return rt;
}

static int prepare(void *app, char **err)
{
    return tycho_lua_runtime_prepare(app, err);
}

static void commit(void *app)
{
    tycho_lua_runtime_commit(app);
}

static void discard(void *app)
{
    tycho_lua_runtime_discard(app);
}

static uint64_t generation(void *app)
{
    return tycho_lua_runtime_generation(app);
}

static uint64_t load(void *app)
{
    return tycho_lua_runtime_load(app);
}

static size_t memory(void *app)
{
    return tycho_lua_runtime_memory(app);
}

static int check(const tycho_config_t *cfg, char **err)
{
    return cfg->routes_optional ? 0 : tycho_lua_check(cfg, err);
}

static void destroy(void *app)
{
    tycho_lua_runtime_free(app);
}

static void drain(void *app, void (*done)(void *ud), void *ud)
{
    tycho_lua_runtime_drain(app, done, ud);
}

const tycho_app_ops_t tycho_lua_app = {
    .name = "lua",
    .create = create,
    .prepare = prepare,
    .commit = commit,
    .discard = discard,
    .generation = generation,
    .load = load,
    .memory = memory,
    .check = check,
    .destroy = destroy,
    .drain = drain,
};
