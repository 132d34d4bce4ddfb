/* gen — one generation of a worker's Lua application: its own lua_State
 * (framework modules, route modules, module state), the route table built
 * from the route files, and a pool of idle coroutines. A reload builds a new
 * generation next to the serving one; the old one is freed once its last
 * in-flight request finishes, which closes its state and so releases
 * everything it created. Worker thread only (or the main thread for
 * `tycho check` / `tycho spec`). */
#ifndef TYCHO_LUA_GEN_H
#define TYCHO_LUA_GEN_H

#include "core/config.h"
#include "lua/alloc.h"
#include "router/router.h"

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

struct tycho_lua_sched;
struct tycho_watchdog_slot;

typedef struct tycho_lua_route {
    int ref; /* handler function, registry ref in the generation's state */
    char method[TYCHO_ROUTER_MAX_METHOD + 1];
    char *pattern;
    char *where;       /* "routes/users.lua:12", the handler's definition */
    const char *label; /* interned pattern (runtime lifetime): x->route */
} tycho_lua_route_t;

typedef struct tycho_lua_gen {
    lua_State *L;
    uint64_t id;
    /* which load of the routes made it (tycho_lua_gen_opts_t.load): orders
     * the generations of all workers (a metric redefined by a newer load
     * replaces the old family) */
    uint64_t load;
    tycho_router_t *router;
    tycho_lua_route_t **routes;
    size_t nroutes, caproutes;
    size_t inflight; /* tasks running on this generation */
    int retired;
    int *pool; /* registry refs of idle coroutines */
    size_t npool, cappool;
    const tycho_config_t *cfg;
    struct tycho_lua_sched *sched; /* NULL when the generation only loads (tycho check) */
    void *runtime;                 /* owning tycho_lua_runtime_t, or NULL */
    const char *(*intern)(void *runtime, const char *s);
    char *routes_dir;
    char *lua_dir;
    int req_mt_ref; /* registry ref of the req metatable */
} tycho_lua_gen_t;

typedef struct tycho_lua_gen_opts {
    const tycho_config_t *cfg;
    const char *routes_dir; /* NULL: no routes loaded (specs without routes) */
    int routes_optional;    /* a missing routes_dir is not an error */
    const char *lua_dir;    /* resolved framework dir */
    tycho_lua_alloc_t *alloc;
    struct tycho_lua_sched *sched;
    void *runtime;
    const char *(*intern)(void *runtime, const char *s);
    uint64_t id;
    /* the calling thread's watchdog slot: loading the route files fails past
     * cfg->load_timeout (NULL: no deadline) */
    struct tycho_watchdog_slot *watchdog;
    /* the JIT off for the whole state: every loop stays interruptible by the
     * watchdog (a scratch state that only loads: tycho check, the pre-check) */
    int jit_off;
    /* print and writes to stdout are info log lines (tycho_lua_stdout_to_log):
     * a state that serves, whose stdout is the JSON log (not specs: busted
     * prints; not tycho check: its stdout is the list) */
    int stdout_to_log;
    /* calls that reach past the running task raise inside tasks: os.execute
     * and io.popen (blocking_calls.h), io.input and io.output with a file
     * (default_files.h). The workers' states under tycho serve (not specs,
     * whose blocks run as tasks and whose own code uses them) */
    int task_guards;
    /* the runtime's count of loads, this one included (1: the first, and
     * the one load of `tycho check`; never 0, the stamp of tycho's own
     * metrics: tycho_metric_opts_t.stamp). Every worker's runtime counts
     * the same loads — its first, then one per reload the process asks for,
     * whether or not it succeeds — so one load has the same number on every
     * worker, which a per-worker clock would not give. */
    uint64_t load;
} tycho_lua_gen_opts_t;

/* Creates the state and loads every route file. NULL + *err (malloc'd,
 * "routes/x.lua:12: ...") on failure. */
tycho_lua_gen_t *tycho_lua_gen_new(const tycho_lua_gen_opts_t *o, char **err);
void tycho_lua_gen_free(tycho_lua_gen_t *g);
/* The generation that owns a state (any of its coroutines), or NULL. */
tycho_lua_gen_t *tycho_lua_gen_of(lua_State *L);

/* Resolves the framework Lua dir: cfg->lua_dir, else the source tree's lua/,
 * else the install dir, else <exe dir>/../share/tycho/lua. */
void tycho_lua_resolve_lua_dir(const tycho_config_t *cfg, char *out, size_t outlen);

/* Loads the route files under dir into g (loader.c), within cfg->load_timeout
 * when wd (the calling thread's watchdog slot) is not NULL. 0 or -1 + *err
 * ("routes/x.lua: loading took longer than 10 s (TYCHO_LOAD_TIMEOUT)"). */
int tycho_lua_load_routes(tycho_lua_gen_t *g, const char *dir, struct tycho_watchdog_slot *wd,
                          char **err);

/* Error values are read raw: their metamethods (__index, __tostring) are the
 * handler's code, and running them here, outside a protected call and the
 * watchdog, could raise (a Lua panic: the process aborts) or never return. */
/* Pushes t[key] of the table at idx without metamethods; returns its type. */
int tycho_lua_rawfield(lua_State *L, int idx, const char *key);
/* The table at idx's own string `message` field, else its `error` field, or
 * NULL; its length (NUL bytes included) in *len unless len is NULL. Valid
 * while that table is on the stack and unchanged. */
const char *tycho_lua_error_message(lua_State *L, int idx, size_t *len);
/* The message of the error value on top of L's stack, for log lines: a string
 * or a number as is, a table's tycho_lua_error_message, else "(error object is
 * a <type> value)" (in buf). Valid while the error value stays on the stack. */
const char *tycho_lua_error_text(lua_State *L, char *buf, size_t n);

/* A table key (at idx) as an error message shows it: 'name', [2], (a
 * boolean). Does not convert the key (safe while lua_next holds it). */
void tycho_lua_describe_key(lua_State *L, int idx, char *out, size_t n);

/* Whether the table at idx is a list: its keys are exactly 1..#t (an empty
 * table is one). Otherwise *bad_key (a buffer of n bytes) names the first
 * other key found (tycho_lua_describe_key) — a declaration table
 * written without its inner braces, or with a hole. */
int tycho_lua_is_list(lua_State *L, int idx, char *bad_key, size_t n);

/* The line where the Lua function at idx is defined when it is defined in the
 * file `file` (its chunk, as luaL_loadfile named it), else 0: a handler a
 * route file takes from a module is defined in the module, and its line
 * there is not a line of the route file. */
int tycho_lua_line_in_file(lua_State *L, int idx, const char *file);

/* malloc'd printf, for error strings handed to callers. */
char *tycho_lua_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Raises the lua_pushfstring message fmt with, before it, the "file:line: "
 * of the Lua function `level` levels up (luaL_where's count: 1 is the
 * caller of the running C function; 2 its caller, for a binding that only
 * its Lua module calls). Does not return. */
int tycho_lua_error_at(lua_State *L, int level, const char *fmt, ...);

#endif
