/* tycho.metrics — Prometheus counters, gauges and histograms from Lua:
 *
 *   local metrics = require "tycho.metrics"
 *   local visits = metrics.counter("app_visits_total", "Visits by action.", { "action" })
 *   visits:inc { action = "visit" }                 -- labels first (a table), then the amount
 *   visits:inc({ action = "visit" }, 2)
 *   local depth = metrics.gauge("app_queue_depth", "Items waiting.")
 *   depth:set(12)  depth:add(-1)  depth:inc()  depth:dec(2)
 *   local work = metrics.histogram("app_work_seconds", "Work time.", { "kind" }, { 0.01, 0.1, 1 })
 *   work:observe({ kind = "fast" }, 0.012)
 *
 * Registry: the process registry, reached through the calling thread's worker
 * observer (tycho_obs_current()); updates go to that worker's shard. A
 * worker makes its observer before its app, so every load on a worker (the
 * first one included) registers in the process registry. Where a state has
 * no observer — `tycho check`, the reload pre-check (its own thread) — a
 * definition is registered in a scratch registry owned by the state, so
 * names, labels, buckets and conflicts are still checked at load time; a
 * metric made there binds to the process registry at its first update on a
 * thread that has an observer.
 * The scratch registry also holds tycho's own metrics whose names lack the
 * tycho_ prefix (process_*, aws_*), so taking one fails at load time too.
 * A reload that redefines a metric (other labels, type or buckets) replaces
 * it: each definition carries the number of the load that made it (the same
 * on every worker), and the newer load wins (tycho_metrics_register); within
 * one load it is a conflict, on every worker alike. What a reload's
 * definitions change shows on /metrics only once that reload succeeded on
 * every worker, together with the drop of every metric no file of it
 * defined while loading (serve.c: tycho_metrics_begin_load, then
 * tycho_metrics_commit_load or, if a worker failed, _rollback_load).
 *
 * Resolved series are cached per metric (nested tables keyed by label value,
 * at most CACHE_MAX entries: past that, updates take the registry's keyed
 * path, so 100k distinct label values cost the state no memory). Label sets
 * folded into the overflow series are never cached, so that the registry
 * counts every folded update. */
#include "lua/lib_metrics.h"

#include "aws/services.h"
#include "core/buf.h"
#include "core/request_obs.h"
#include "core/utf8.h"
#include "lua/gen.h"
#include "lua/table_list.h"
#include "telemetry/metrics.h"
#include "telemetry/process_metrics.h"
#include "telemetry/prometheus_text.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_MT "tycho.metrics.scratch"
#define STATE_KEY "tycho.metrics.state" /* registry: { byname = {...}, scratch = ud } */
#define CACHE_MAX 1024
#define RESERVED_PREFIX "tycho_"

typedef struct lmetric {
    /* the definition, owned: registered again when the metric binds */
    char *name, *help;
    tycho_metric_type_t type;
    tycho_gauge_merge_t merge;
    char **labels;
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    /* where updates go now */
    tycho_metric_t *fam;
    unsigned shard;
    int bound;          /* fam is in the process registry */
    tycho_series_t *s0; /* unlabelled: the resolved series */
    size_t ncached;     /* leaves in the cache table (the userdata's environment) */
} lmetric_t;

/* Registry keys of the metatables, by tycho_metric_type_t. */
static const char *const METRIC_MT[] = {"tycho.metrics.counter", "tycho.metrics.gauge",
                                        "tycho.metrics.histogram"};

typedef struct scratch {
    tycho_metrics_t *reg;
} scratch_t;

/* --- per-state data ------------------------------------------------------------ */

static void push_state(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    if (lua_istable(L, -1)) return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_setfield(L, -2, "byname");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
}

static int scratch_gc(lua_State *L)
{
    scratch_t *s = luaL_checkudata(L, 1, SCRATCH_MT);
    tycho_metrics_free(s->reg);
    s->reg = NULL;
    return 0;
}

/* The state's scratch registry (one shard), created on first use. */
static tycho_metrics_t *scratch_registry(lua_State *L)
{
    push_state(L);
    lua_getfield(L, -1, "scratch");
    scratch_t *s = lua_touserdata(L, -1);
    if (s) {
        lua_pop(L, 2);
        return s->reg;
    }
    lua_pop(L, 1);
    s = lua_newuserdata(L, sizeof *s);
    s->reg = NULL;
    if (luaL_newmetatable(L, SCRATCH_MT)) {
        lua_pushcfunction(L, scratch_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if (!(s->reg = tycho_metrics_new(1, 0))) luaL_error(L, "tycho.metrics: out of memory");
    /* tycho's own names that lack the tycho_ prefix, as a worker's process
     * registry holds them, so a definition taking one fails here too */
    char err[256];
    tycho_metric_t *aws[3];
    if (tycho_process_metrics_register(s->reg, err, sizeof err) != 0 ||
        tycho_aws_metric_families(s->reg, aws, err, sizeof err) != 0)
        luaL_error(L, "tycho.metrics: %s", err);
    lua_setfield(L, -2, "scratch");
    lua_pop(L, 1);
    return s->reg;
}

/* The registry and shard this thread updates: the worker's, else the scratch. */
static tycho_metrics_t *target_registry(lua_State *L, unsigned *shard, int *bound)
{
    tycho_obs_t *o = tycho_obs_current();
    if (o) {
        *shard = tycho_obs_shard(o);
        *bound = 1;
        return tycho_obs_registry(o);
    }
    *shard = 0;
    *bound = 0;
    return scratch_registry(L);
}

/* --- definitions ------------------------------------------------------------------- */

/* Which load of the routes defines a metric — the same number on every
 * worker — so a newer load may redefine it (tycho_metrics_register) and two
 * definitions from one load conflict wherever they run. Never 0 (the stamp
 * of tycho's own metrics) in a generation, and every state is one's. */
static uint64_t definition_stamp(lua_State *L)
{
    tycho_lua_gen_t *g = tycho_lua_gen_of(L);
    return g ? g->load : 0;
}

/* The family of m's definition in reg; with a claim on it (taken under the
 * registry's lock) when bound: reg is the process registry. */
static tycho_metric_t *register_def(lua_State *L, tycho_metrics_t *reg, const lmetric_t *m,
                                    int bound)
{
    tycho_metric_opts_t o = {.name = m->name,
                             .help = m->help,
                             .type = m->type,
                             .label_names = (const char *const *)m->labels,
                             .nlabels = m->nlabels,
                             .buckets = m->buckets,
                             .nbuckets = m->nbuckets,
                             .merge = m->merge,
                             .stamp = definition_stamp(L),
                             .hold = bound};
    tycho_metric_t *fam = NULL;
    char err[600];
    if (tycho_metrics_register(reg, &o, &fam, err, sizeof err) != 0) luaL_error(L, "%s", err);
    return fam;
}

static void free_def(lmetric_t *m)
{
    for (size_t i = 0; m->labels && i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->buckets);
    free(m->name);
    free(m->help);
    memset(m, 0, sizeof *m);
}

/* Lets go of m's family: the claim on a family of the process registry (a
 * retired one is freed with its last claim); the state's scratch registry
 * frees its own. */
static void detach(lmetric_t *m)
{
    if (m->fam && m->bound) tycho_metric_release(m->fam);
    m->fam = NULL;
}

static int metric_gc(lua_State *L)
{
    lmetric_t *m = lua_touserdata(L, 1);
    detach(m);
    free_def(m);
    return 0;
}

/* Points m at fam (taking over register_def's claim on it) and forgets what
 * was resolved before. m's userdata at idx. */
static void attach(lua_State *L, int idx, lmetric_t *m, tycho_metric_t *fam, unsigned shard,
                   int bound)
{
    detach(m);
    m->fam = fam;
    m->shard = shard;
    m->bound = bound;
    m->s0 = NULL;
    m->ncached = 0;
    lua_newtable(L);
    lua_setfenv(L, idx);
}

/* Raises on `job` or `instance`: whoever collects the metrics sets them, and
 * the two collectors would disagree — a Prometheus scrape (honor_labels
 * false) renames the metric's own to exported_job, the remote write would
 * send it in place of TYCHO_REMOTE_WRITE_JOB. */
static void check_label_name(lua_State *L, const char *metric, const char *label)
{
    if (strcmp(label, "job") == 0 || strcmp(label, "instance") == 0)
        luaL_error(L,
                   "metric \"%s\": label \"%s\" is reserved: job and instance are set by the "
                   "Prometheus scrape config, and by TYCHO_REMOTE_WRITE_JOB / "
                   "TYCHO_REMOTE_WRITE_INSTANCE for the remote write",
                   metric, label);
}

/* Raises "<what>, got a table with key <k>" unless the table at idx is a
 * list (keys 1..#t only): a table keyed by name ({ action = "visit" } for
 * label names, { buckets = {...} } for buckets) would read as an empty list,
 * and a stray key beside the items would be skipped unseen. */
static void check_list(lua_State *L, const char *metric, int idx, const char *what)
{
    if (!tycho_lua_list_stray_key(L, idx)) return;
    int str = lua_type(L, -1) == LUA_TSTRING;
    const char *key = lua_isstring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1);
    luaL_error(L, "metric \"%s\": %s, got a table with key %s%s%s", metric, what, str ? "\"" : "",
               key, str ? "\"" : "");
}

/* Raises "metric "<metric>": <type> options: unknown option ..." when the
 * table at idx has a key not in known (NULL-terminated), as tycho.options
 * words it for every API. */
static void check_options(lua_State *L, const char *metric, tycho_metric_type_t type, int idx,
                          const char *const *known)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "tycho.options");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "problem");
    lua_pushvalue(L, idx);
    lua_newtable(L);
    for (int i = 0; known[i]; i++) {
        lua_pushstring(L, known[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_call(L, 2, 1);
    if (!lua_isnil(L, -1))
        luaL_error(L, "metric \"%s\": %s options: %s", metric, tycho_metric_type_name(type),
                   lua_tostring(L, -1));
    lua_pop(L, 2);
}

/* Raises unless the text (n bytes) is valid UTF-8 without a NUL byte: the
 * registry keeps C strings, so a NUL would cut the text unseen, and the
 * exposition would show invalid bytes as U+FFFD. */
static void check_text(lua_State *L, const char *metric, const char *what, const char *text,
                       size_t n)
{
    if (strlen(text) != n) luaL_error(L, "metric \"%s\": %s holds a NUL byte", metric, what);
    if (!tycho_utf8_valid(text, n, 0))
        luaL_error(L, "metric \"%s\": %s is not valid UTF-8", metric, what);
}

/* The definition's strings and arrays, copied out of the arguments. Raises on
 * a bad argument; m is freed by __gc either way. */
static void read_def(lua_State *L, lmetric_t *m, tycho_metric_type_t type)
{
    m->type = type;
    size_t name_len, help_len;
    const char *name = luaL_checklstring(L, 1, &name_len);
    const char *help = luaL_optlstring(L, 2, "", &help_len);
    if (strlen(name) != name_len) luaL_error(L, "metric \"%s\": the name holds a NUL byte", name);
    check_text(L, name, "the help text", help, help_len);
    if (strncmp(name, RESERVED_PREFIX, sizeof RESERVED_PREFIX - 1) == 0)
        luaL_error(L,
                   "metric \"%s\": names starting with \"" RESERVED_PREFIX
                   "\" are reserved for tycho's own metrics",
                   name);
    /* a histogram's samples are <name>_bucket, _sum and _count */
    if (type == TYCHO_METRIC_HISTOGRAM && strcmp(name, "tycho") == 0)
        luaL_error(L, "metric \"tycho\": a histogram's samples would be tycho_bucket, tycho_sum "
                      "and tycho_count, names reserved for tycho's own metrics");
    if (!(m->name = strdup(name)) || !(m->help = strdup(help)))
        luaL_error(L, "tycho.metrics: out of memory");
    if (!lua_isnoneornil(L, 3)) {
        if (!lua_istable(L, 3))
            luaL_error(L, "metric \"%s\": label names must be an array of strings", name);
        check_list(L, name, 3, "label names must be a list of strings ({ \"a\", \"b\" })");
        size_t n = lua_objlen(L, 3);
        if (n > TYCHO_METRICS_MAX_LABELS)
            luaL_error(L, "metric \"%s\": at most %d labels", name, TYCHO_METRICS_MAX_LABELS);
        if (n && !(m->labels = calloc(n, sizeof *m->labels)))
            luaL_error(L, "tycho.metrics: out of memory");
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, 3, (int)i + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "metric \"%s\": label names must be strings (#%d is a %s)", name,
                           (int)i + 1, luaL_typename(L, -1));
            if (strlen(lua_tostring(L, -1)) != lua_objlen(L, -1))
                luaL_error(L, "metric \"%s\": label name #%d holds a NUL byte", name, (int)i + 1);
            check_label_name(L, name, lua_tostring(L, -1));
            if (!(m->labels[i] = strdup(lua_tostring(L, -1))))
                luaL_error(L, "tycho.metrics: out of memory");
            m->nlabels = i + 1;
            lua_pop(L, 1);
        }
    }
    if (type == TYCHO_METRIC_HISTOGRAM && !lua_isnoneornil(L, 4)) {
        if (!lua_istable(L, 4))
            luaL_error(L, "metric \"%s\": buckets must be an array of numbers", name);
        check_list(L, name, 4, "buckets must be a list of numbers ({ 0.1, 0.5, 1 })");
        size_t n = lua_objlen(L, 4);
        /* a trailing +Inf is no bound of its own (the registry drops it):
         * 64 bounds and +Inf are 64 buckets */
        lua_rawgeti(L, 4, (int)n);
        size_t inf = lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == HUGE_VAL;
        lua_pop(L, 1);
        if (n == inf || n - inf > TYCHO_METRICS_MAX_BUCKETS)
            luaL_error(L, "metric \"%s\": 1 to %d buckets", name, TYCHO_METRICS_MAX_BUCKETS);
        if (!(m->buckets = calloc(n, sizeof *m->buckets)))
            luaL_error(L, "tycho.metrics: out of memory");
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, 4, (int)i + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "metric \"%s\": buckets must be numbers (#%d is a %s)", name,
                           (int)i + 1, luaL_typename(L, -1));
            m->buckets[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        m->nbuckets = n;
    }
    if (type == TYCHO_METRIC_COUNTER && !lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        check_options(L, name, type, 4, (const char *const[]){NULL});
    }
    if (type == TYCHO_METRIC_GAUGE && !lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        check_options(L, name, type, 4, (const char *const[]){"merge", NULL});
        lua_getfield(L, 4, "merge");
        const char *merge = lua_isnil(L, -1) ? "sum" : lua_tostring(L, -1);
        if (merge && strcmp(merge, "sum") == 0)
            m->merge = TYCHO_GAUGE_MERGE_SUM;
        else if (merge && strcmp(merge, "last") == 0)
            m->merge = TYCHO_GAUGE_MERGE_LAST;
        else
            luaL_error(L, "metric \"%s\": merge must be \"sum\" or \"last\"", name);
        lua_pop(L, 1);
    }
}

/* counter/gauge/histogram(name, help, label_names, buckets | {merge=...}) */
static int define(lua_State *L, tycho_metric_type_t type)
{
    for (int i = lua_gettop(L); i > 4; i--) /* would be dropped unseen */
        if (!lua_isnil(L, i))
            luaL_error(L, "metric \"%s\": too many arguments (name, help, label_names, %s)",
                       luaL_checkstring(L, 1),
                       type == TYCHO_METRIC_HISTOGRAM ? "buckets" : "options");
    lua_settop(L, 4);
    lmetric_t *m = lua_newuserdata(L, sizeof *m); /* index 5 */
    memset(m, 0, sizeof *m);
    lua_getfield(L, LUA_REGISTRYINDEX, METRIC_MT[type]);
    lua_setmetatable(L, -2);
    read_def(L, m, type);

    unsigned shard;
    int bound;
    tycho_metrics_t *reg = target_registry(L, &shard, &bound);
    tycho_metric_t *fam = register_def(L, reg, m, bound); /* raises the registry's message */

    /* Registering again in the same state (a module required twice) returns
     * the object made the first time. */
    push_state(L);
    lua_getfield(L, -1, "byname");
    lua_getfield(L, -1, m->name);
    lmetric_t *old = lua_touserdata(L, -1);
    if (old && old->fam == fam) {
        if (bound) tycho_metric_release(fam); /* old has its own claim */
        return 1;
    }
    if (old && !old->bound && bound) { /* made before this thread had an observer */
        attach(L, lua_gettop(L), old, fam, shard, bound);
        return 1;
    }
    lua_pop(L, 1);
    attach(L, 5, m, fam, shard, bound);
    lua_pushvalue(L, 5);
    lua_setfield(L, -2, m->name);
    lua_pushvalue(L, 5);
    return 1;
}

static int l_counter(lua_State *L)
{
    return define(L, TYCHO_METRIC_COUNTER);
}
static int l_gauge(lua_State *L)
{
    return define(L, TYCHO_METRIC_GAUGE);
}
static int l_histogram(lua_State *L)
{
    return define(L, TYCHO_METRIC_HISTOGRAM);
}

/* --- label resolution -------------------------------------------------------------- */

/* Raises fmt with the metric's name, what, and its label names ("a, b"). */
static int label_error(lua_State *L, const lmetric_t *m, const char *fmt, const char *what)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < m->nlabels; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, m->labels[i]);
    }
    luaL_pushresult(&b);
    return luaL_error(L, fmt, m->name, what, lua_tostring(L, -1));
}

/* Turns the number on top of L into its label text, in place: the shortest
 * form that reads back as it, as tycho.json writes numbers (123456789012345,
 * 0.1), except -0, which is "0": two numbers are one series only when they
 * are equal, and -0 == 0. 0, or -1 (the number left) for NaN and infinities. */
static int number_to_label(lua_State *L)
{
    double d = lua_tonumber(L, -1);
    if (!isfinite(d)) return -1;
    if (d == 0) d = 0; /* -0 and 0: one series */
    char text[TYCHO_BUF_NUMBER_MAX];
    size_t n = tycho_buf_number_text(text, d);
    lua_pop(L, 1);
    lua_pushlstring(L, text, n);
    return 0;
}

/* Pushes the values of m's labels from the table at idx (nlabels strings) and
 * points vals at them. Raises on a missing, unknown or badly typed label. */
static void read_labels(lua_State *L, const lmetric_t *m, int idx, const char **vals)
{
    luaL_checkstack(L, (int)m->nlabels + 4, "too many labels");
    for (size_t i = 0; i < m->nlabels; i++) {
        lua_getfield(L, idx, m->labels[i]);
        int t = lua_type(L, -1);
        if (t == LUA_TNIL)
            label_error(L, m, "metric \"%s\": missing label \"%s\" (labels: %s)", m->labels[i]);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            luaL_error(L, "metric \"%s\": label \"%s\" must be a string or a number, not a %s",
                       m->name, m->labels[i], lua_typename(L, t));
        if (t == LUA_TNUMBER && number_to_label(L) != 0)
            luaL_error(L, "metric \"%s\": label \"%s\" must be a finite number, not %s", m->name,
                       m->labels[i], isnan(lua_tonumber(L, -1)) ? "NaN" : "an infinity");
        size_t n;
        vals[i] = lua_tolstring(L, -1, &n);
        /* the exposition would show any invalid bytes as U+FFFD, so two
         * values differing only there would be two identical series */
        if (!tycho_utf8_valid(vals[i], n, 0))
            luaL_error(L, "metric \"%s\": label \"%s\" %s", m->name, m->labels[i],
                       strlen(vals[i]) != n ? "holds a NUL byte" : "is not valid UTF-8");
    }
    /* every label was found, so more keys than labels means an unknown one */
    size_t nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        nkeys++;
    }
    if (nkeys == m->nlabels) return;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "metric \"%s\": label names are strings, not a %s", m->name,
                       luaL_typename(L, -1));
        size_t klen;
        const char *k = lua_tolstring(L, -1, &klen);
        size_t i = 0; /* "a\0b" is not label "a" */
        while (i < m->nlabels && (strcmp(k, m->labels[i]) != 0 || strlen(k) != klen))
            i++;
        if (i == m->nlabels)
            label_error(L, m,
                        m->nlabels ? "metric \"%s\": unknown label \"%s\" (labels: %s)"
                                   : "metric \"%s\": unknown label \"%s\" (it has no labels%s)",
                        k);
    }
}

static tycho_series_t *series_or_raise(lua_State *L, lmetric_t *m, const char *const *vals)
{
    int rc = 0;
    tycho_series_t *s = tycho_metric_series(m->fam, m->shard, vals, &rc);
    if (!s && rc == -E2BIG) {
        size_t i = 0; /* the value the registry refused: name its label */
        while (i + 1 < m->nlabels && strlen(vals[i]) <= TYCHO_METRICS_MAX_LABEL_VALUE)
            i++;
        luaL_error(L, "metric \"%s\": label \"%s\" is longer than %d bytes (%d)", m->name,
                   m->nlabels ? m->labels[i] : "?", TYCHO_METRICS_MAX_LABEL_VALUE,
                   m->nlabels ? (int)strlen(vals[i]) : 0);
    }
    if (!s) luaL_error(L, "metric \"%s\": cannot update (%s)", m->name, strerror(-rc));
    return s;
}

/* Binds m (its userdata at idx) to the worker's registry once this thread has
 * an observer. */
static void bind_if_possible(lua_State *L, int idx, lmetric_t *m)
{
    if (m->bound) return;
    tycho_obs_t *o = tycho_obs_current();
    if (!o) return;
    tycho_metric_t *fam = register_def(L, tycho_obs_registry(o), m, 1);
    attach(L, idx, m, fam, tycho_obs_shard(o), 1);
}

/* The series of m (userdata at 1) for the labels table at idx (0: none
 * given). The cache (the userdata's environment) is a tree of tables keyed
 * by label value, one level per label, lightuserdata leaves. */
static tycho_series_t *resolve(lua_State *L, lmetric_t *m, int idx, const char *method)
{
    bind_if_possible(L, 1, m);
    if (m->nlabels == 0) {
        if (idx) read_labels(L, m, idx, NULL); /* only checks for unknown keys */
        if (!m->s0) m->s0 = series_or_raise(L, m, NULL);
        return m->s0;
    }
    if (!idx)
        label_error(L, m, "metric \"%s\": %s needs its labels as a table first (labels: %s)",
                    method);
    const int n = (int)m->nlabels, top = lua_gettop(L), node = top + n + 1;
    const char *vals[TYCHO_METRICS_MAX_LABELS];
    read_labels(L, m, idx, vals); /* values at top+1 .. top+n */
    lua_getfenv(L, 1);            /* node */
    int i = 0;
    for (; i < n; i++) {
        lua_pushvalue(L, top + 1 + i);
        lua_rawget(L, node);
        if (lua_isnil(L, -1)) break;
        lua_replace(L, node);
    }
    if (i == n) {
        tycho_series_t *s = lua_touserdata(L, node);
        lua_settop(L, top);
        return s;
    }
    tycho_series_t *s = series_or_raise(L, m, vals);
    /* A label set folded into the overflow series is resolved again on each
     * update: the registry counts each fold (tycho_metrics_overflow_total). */
    if (m->ncached < CACHE_MAX && !tycho_series_is_overflow(s)) {
        /* node is the deepest table found; build the rest */
        lua_settop(L, node);
        for (; i + 1 < n; i++) {
            lua_newtable(L);
            lua_pushvalue(L, top + 1 + i);
            lua_pushvalue(L, -2);
            lua_rawset(L, node);
            lua_replace(L, node);
        }
        lua_pushvalue(L, top + n);
        lua_pushlightuserdata(L, s);
        lua_rawset(L, node);
        m->ncached++;
    }
    lua_settop(L, top);
    return s;
}

/* --- updates: m:method(labels?, value?) ---------------------------------------------- */

static const char sentinel = 0; /* a key every metric metatable holds */

static lmetric_t *check_metric(lua_State *L)
{
    lmetric_t *m = lua_touserdata(L, 1);
    if (m && lua_getmetatable(L, 1)) {
        lua_pushlightuserdata(L, (void *)&sentinel);
        lua_rawget(L, -2);
        int ok = lua_toboolean(L, -1);
        lua_pop(L, 2);
        if (ok) return m;
    }
    luaL_typerror(L, 1, "tycho.metrics metric (call it as m:method(...))");
    return NULL;
}

/* How m's methods are called: "{ labels }, value" or "value". */
static const char *usage(const lmetric_t *m)
{
    return m->nlabels ? "{ labels }, value" : "value";
}

/* The value argument at vi (dflt when absent; a NAN dflt means required). */
static double value_at(lua_State *L, lmetric_t *m, const char *method, int vi, int labels,
                       double dflt)
{
    int t = lua_type(L, vi);
    if (t == LUA_TNUMBER) {
        if (!labels && lua_istable(L, 3))
            luaL_error(L, "metric \"%s\": labels come first: m:%s({ ... }, %s)", m->name, method,
                       lua_tostring(L, 2));
        return lua_tonumber(L, vi);
    }
    if (t == LUA_TNONE || t == LUA_TNIL) {
        if (!isnan(dflt)) return dflt;
        luaL_error(L, "metric \"%s\": %s needs a number: m:%s(%s)", m->name, method, method,
                   usage(m));
    }
    /* c:inc("visit") for c:inc({ action = "visit" }): the labels were meant */
    return luaL_error(L, "metric \"%s\": %s: expected a number, got a %s: m:%s(%s)%s", m->name,
                      method, lua_typename(L, t), method, usage(m),
                      m->nlabels && !labels ? " (the labels are a table, given first)" : "");
}

/* Labels (a table, or nil: none) come first when given; the value follows.
 * Returns the value (dflt when absent; a NAN dflt means required). Raises on
 * an argument past the value, which would otherwise be dropped unseen
 * (m:inc(nil, 2) is +2, never a silent +1). */
static double args(lua_State *L, lmetric_t *m, const char *method, int *labels, double dflt)
{
    int top = lua_gettop(L);
    *labels = lua_istable(L, 2) ? 2 : 0;
    int vi = *labels || (lua_isnil(L, 2) && top >= 3) ? 3 : 2;
    double v = value_at(L, m, method, vi, *labels, dflt);
    if (top > vi)
        luaL_error(L, "metric \"%s\": %s: too many arguments: m:%s(%s)", m->name, method, method,
                   usage(m));
    return v;
}

/* Raises when m is a gauge merged by "last": each worker would add to its
 * own value, and a scrape would show that worker's sum, not the last value
 * set plus the amount. */
static void check_addable(lua_State *L, const lmetric_t *m, const char *method)
{
    if (m->type == TYCHO_METRIC_GAUGE && m->merge == TYCHO_GAUGE_MERGE_LAST)
        luaL_error(L,
                   "metric \"%s\": a gauge with merge = \"last\" takes only set, not %s (each "
                   "worker would add to its own value, not to the last one set)",
                   m->name, method);
}

/* Raises unless v is finite: "metric "x": set: the value must be finite,
 * got NaN" (NaN, +Inf, -Inf as Prometheus writes them). */
static void check_finite(lua_State *L, const lmetric_t *m, const char *method, double v)
{
    char num[TYCHO_BUF_NUMBER_MAX];
    if (isfinite(v)) return;
    tycho_prom_format_double(v, num);
    luaL_error(L, "metric \"%s\": %s: the value must be finite, got %s", m->name, method, num);
}

/* Raises for an update the registry refused (rc < 0, v the amount the
 * caller gave). -ERANGE: the worker's value (a histogram's sum) would have
 * gone past the largest double, to delta's infinity, and is unchanged. */
static void check_updated(lua_State *L, const lmetric_t *m, const char *method, double v,
                          double delta, int rc)
{
    char num[TYCHO_BUF_NUMBER_MAX];
    if (rc == 0) return;
    tycho_prom_format_double(v, num);
    if (rc == -ERANGE)
        luaL_error(L,
                   "metric \"%s\": %s(%s) would make the %s %s: refused, the metric is unchanged",
                   m->name, method, num, m->type == TYCHO_METRIC_HISTOGRAM ? "sum" : "value",
                   delta > 0 ? "+Inf" : "-Inf");
    luaL_error(L, "metric \"%s\": cannot %s %s (%s)", m->name, method, num, strerror(-rc));
}

/* counter:inc(labels?, n=1) (n >= 0); gauge:inc(labels?, n=1) */
static int l_inc(lua_State *L)
{
    lmetric_t *m = check_metric(L);
    check_addable(L, m, "inc");
    int labels;
    double v = args(L, m, "inc", &labels, 1);
    if (m->type == TYCHO_METRIC_COUNTER && !(v >= 0 && isfinite(v))) {
        char num[TYCHO_BUF_NUMBER_MAX];
        tycho_prom_format_double(v, num);
        luaL_error(L, "metric \"%s\": a counter only goes up (inc by a finite amount >= 0, got %s)",
                   m->name, num);
    }
    check_finite(L, m, "inc", v);
    check_updated(L, m, "inc", v, v, tycho_series_inc(resolve(L, m, labels, "inc"), v));
    return 0;
}

static int gauge_add(lua_State *L, const char *method, double sign, double dflt)
{
    lmetric_t *m = check_metric(L);
    check_addable(L, m, method);
    int labels;
    double v = args(L, m, method, &labels, dflt);
    check_finite(L, m, method, v);
    check_updated(L, m, method, v, sign * v,
                  tycho_series_inc(resolve(L, m, labels, method), sign * v));
    return 0;
}

/* gauge:add(labels?, v) (any sign) and gauge:dec(labels?, n=1) */
static int l_add(lua_State *L)
{
    return gauge_add(L, "add", 1, NAN);
}
static int l_dec(lua_State *L)
{
    return gauge_add(L, "dec", -1, 1);
}

/* gauge:set(labels?, v) */
static int l_set(lua_State *L)
{
    lmetric_t *m = check_metric(L);
    int labels;
    double v = args(L, m, "set", &labels, NAN);
    check_finite(L, m, "set", v);
    check_updated(L, m, "set", v, v, tycho_series_set(resolve(L, m, labels, "set"), v));
    return 0;
}

/* histogram:observe(labels?, v) */
static int l_observe(lua_State *L)
{
    lmetric_t *m = check_metric(L);
    int labels;
    double v = args(L, m, "observe", &labels, NAN);
    check_finite(L, m, "observe", v);
    check_updated(L, m, "observe", v, v, tycho_series_observe(resolve(L, m, labels, "observe"), v));
    return 0;
}

static int l_tostring(lua_State *L)
{
    lmetric_t *m = check_metric(L);
    lua_pushfstring(L, "tycho.metrics.%s(\"%s\")", tycho_metric_type_name(m->type), m->name);
    return 1;
}

static const char *const METHODS_OF[] = {"counters have inc", "gauges have set, add, inc, dec",
                                         "histograms have observe"};

/* __index of a methods table: an unknown method is an error naming the right ones. */
static int l_no_method(lua_State *L)
{
    lua_pushliteral(L, "__kind");
    lua_rawget(L, 1);
    int type = (int)lua_tointeger(L, -1);
    return luaL_error(L, "tycho.metrics: a %s has no method \"%s\" (%s)",
                      tycho_metric_type_name((tycho_metric_type_t)type), luaL_checkstring(L, 2),
                      METHODS_OF[type]);
}

/* One metatable per type: __index is that type's methods table. */
static void make_metatable(lua_State *L, tycho_metric_type_t type, const luaL_Reg *methods)
{
    lua_newtable(L); /* the metatable */
    lua_pushlightuserdata(L, (void *)&sentinel);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_newtable(L); /* methods */
    luaL_register(L, NULL, methods);
    lua_pushinteger(L, type);
    lua_setfield(L, -2, "__kind");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_no_method);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, metric_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "tycho.metrics");
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, METRIC_MT[type]);
}

/* --- introspection: value(name, labels) ------------------------------------------ */

static const tycho_snapshot_series_t *find_series(const tycho_snapshot_family_t *f,
                                                  const char *const *vals)
{
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = 0;
        while (j < f->nlabels && strcmp(f->series[i].label_values[j], vals[j]) == 0)
            j++;
        if (j == f->nlabels) return &f->series[i];
    }
    return NULL;
}

/* The first key of the table at 2 (if one) that is none of f's label
 * names, as a string on the stack (a non-string key as its type name), or
 * NULL. */
static const char *unknown_label(lua_State *L, const tycho_snapshot_family_t *f)
{
    if (!lua_istable(L, 2)) return NULL;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            const char *type = luaL_typename(L, -1);
            lua_pop(L, 1);
            lua_pushfstring(L, "(a %s key)", type);
            return lua_tostring(L, -1);
        }
        size_t n;
        const char *k = lua_tolstring(L, -1, &n);
        size_t i = 0;
        while (i < f->nlabels && (strcmp(k, f->label_names[i]) != 0 || strlen(k) != n))
            i++;
        if (i == f->nlabels) return k; /* the key stays on the stack */
    }
    return NULL;
}

/* value(name, labels) -> the merged value of one series across every worker
 * (counters, gauges), or { count, sum, buckets = { [bound] = cumulative } }
 * for a histogram; nil when there is no such metric or series. For specs and
 * diagnostics: it snapshots the whole registry, don't call it per request. */
static int l_value(lua_State *L)
{
    size_t name_len;
    const char *name = luaL_checklstring(L, 1, &name_len);
    if (strlen(name) != name_len) { /* no metric's name holds a NUL */
        lua_pushnil(L);
        return 1;
    }
    unsigned shard;
    int bound;
    tycho_metrics_t *reg = target_registry(L, &shard, &bound);
    lua_settop(L, 2);
    /* the family as the snapshot has it (a reload may have redefined it) */
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(reg);
    if (!snap) return luaL_error(L, "tycho.metrics.value: out of memory");
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(snap, name);
    if (!f) {
        tycho_metrics_snapshot_free(snap);
        lua_pushnil(L);
        return 1;
    }
    if (f->nlabels && !lua_istable(L, 2)) {
        tycho_metrics_snapshot_free(snap);
        return luaL_typerror(L, 2, "table");
    }
    /* a key the metric has no label of (a typo) is an error, as in an
     * update: skipped, it would answer for another series than meant */
    const char *unknown = unknown_label(L, f);
    if (unknown) {
        lua_pushfstring(L, "tycho.metrics.value: \"%s\": unknown label \"%s\" (labels: ", name,
                        unknown);
        for (size_t i = 0; i < f->nlabels; i++)
            lua_pushfstring(L, "%s%s", i ? ", " : "", f->label_names[i]);
        lua_pushstring(L, f->nlabels ? ")" : "none)");
        lua_concat(L, (int)f->nlabels + 2);
        tycho_metrics_snapshot_free(snap);
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    const char *vals[TYCHO_METRICS_MAX_LABELS] = {0};
    for (size_t i = 0; i < f->nlabels; i++) {
        lua_getfield(L, 2, f->label_names[i]);
        int t = lua_type(L, -1);
        size_t n = 0;
        if (t == LUA_TNIL || (t != LUA_TSTRING && t != LUA_TNUMBER)) {
            /* the message first: f is the snapshot's */
            if (t == LUA_TNIL)
                lua_pushfstring(L, "tycho.metrics.value: \"%s\" needs label \"%s\"", name,
                                f->label_names[i]);
            else
                lua_pushfstring(L,
                                "tycho.metrics.value: \"%s\": label \"%s\" must be a string or "
                                "a number, not a %s",
                                name, f->label_names[i], lua_typename(L, t));
            tycho_metrics_snapshot_free(snap);
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
            return lua_error(L);
        }
        /* no series has a NaN or infinite label, nor one holding a NUL
         * (the value would read as its text up to the NUL) */
        if ((t == LUA_TNUMBER && number_to_label(L) != 0) ||
            ((vals[i] = lua_tolstring(L, -1, &n)) && strlen(vals[i]) != n)) {
            tycho_metrics_snapshot_free(snap);
            lua_pushnil(L);
            return 1;
        }
    }
    const tycho_snapshot_series_t *s = find_series(f, vals);
    if (!s) {
        lua_pushnil(L);
    } else if (f->type != TYCHO_METRIC_HISTOGRAM) {
        lua_pushnumber(L, s->value);
    } else {
        lua_createtable(L, 0, 3);
        lua_pushnumber(L, (double)s->count);
        lua_setfield(L, -2, "count");
        lua_pushnumber(L, s->sum);
        lua_setfield(L, -2, "sum");
        lua_createtable(L, 0, (int)f->nbounds + 1);
        for (size_t i = 0; i < f->nbounds; i++) {
            lua_pushnumber(L, (double)s->buckets[i]);
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_pushnumber(L, (double)s->buckets[f->nbounds]);
        lua_setfield(L, -2, "inf");
        lua_setfield(L, -2, "buckets");
    }
    tycho_metrics_snapshot_free(snap);
    return 1;
}

int luaopen_tycho_metrics(lua_State *L)
{
    static const luaL_Reg counter[] = {{"inc", l_inc}, {NULL, NULL}};
    static const luaL_Reg gauge[] = {
        {"set", l_set}, {"add", l_add}, {"inc", l_inc}, {"dec", l_dec}, {NULL, NULL}};
    static const luaL_Reg histogram[] = {{"observe", l_observe}, {NULL, NULL}};
    make_metatable(L, TYCHO_METRIC_COUNTER, counter);
    make_metatable(L, TYCHO_METRIC_GAUGE, gauge);
    make_metatable(L, TYCHO_METRIC_HISTOGRAM, histogram);
    static const luaL_Reg fns[] = {{"counter", l_counter},
                                   {"gauge", l_gauge},
                                   {"histogram", l_histogram},
                                   {"value", l_value},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
