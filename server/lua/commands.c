/* `tycho check` and `tycho spec`: the Lua runtime driven from the main thread
 * without the HTTP server. */
#include "lua/commands.h"

#include "aws/local_backend.h"
#include "aws/services.h"
#include "core/config.h"
#include "core/log.h"
#include "core/units.h"
#include "lua/gen.h"
#include "lua/libs.h"
#include "lua/runtime.h"
#include "lua/scheduler.h"
#include "lua/spec_block.h"
#include "lua/spec_interrupt.h"
#include "lua/spec_telemetry.h"
#include "lua/watchdog.h"

#include <lauxlib.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* Defaults + TYCHO_* environment, then this command's own flags; other
 * arguments are collected in rest. Returns 0, 1 (--help printed) or -1. */
static int load_config(const char *cmd, int argc, char **argv, tycho_config_t *cfg, char **rest,
                       int *nrest, int positional_routes)
{
    char err[512];
    char *argv0[] = {(char *)cmd, NULL};
    if (tycho_config_load(cfg, 1, argv0, err, sizeof err) != 0) {
        fprintf(stderr, "tycho %s: %s\n", cmd, err);
        return -1;
    }
    *nrest = 0;
    /* the folder a ROUTES_DIR argument named: a second one (or --routes
     * with one) would check one folder and pass over the other unseen */
    const char *positional = NULL, *routes_flag = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char *field = NULL;
        size_t flen = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 1;
        if (strncmp(a, "--routes", 8) == 0 && (a[8] == 0 || a[8] == '=')) {
            field = cfg->routes_dir, flen = sizeof cfg->routes_dir;
            val = routes_flag = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
        } else if (strncmp(a, "--lua-dir", 9) == 0 && (a[9] == 0 || a[9] == '=')) {
            field = cfg->lua_dir, flen = sizeof cfg->lua_dir;
            val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
        } else if (positional_routes && a[0] != '-') {
            if (positional) {
                fprintf(stderr,
                        "tycho %s: one routes folder at a time: given %s and %s (run it once "
                        "for each)\n",
                        cmd, positional, a);
                return -1;
            }
            field = cfg->routes_dir, flen = sizeof cfg->routes_dir;
            val = positional = a;
        } else {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (!val || !*val) {
            fprintf(stderr, "tycho %s: %s: missing value\n", cmd, a);
            return -1;
        }
        if (strlen(val) >= flen) {
            fprintf(stderr, "tycho %s: %s: path too long\n", cmd, a);
            return -1;
        }
        if (positional && routes_flag) {
            fprintf(stderr, "tycho %s: one routes folder at a time: given %s and --routes %s\n",
                    cmd, positional, routes_flag);
            return -1;
        }
        strcpy(field, val);
        if (field == cfg->lua_dir &&
            tycho_config_check_lua_dir(cfg->lua_dir, "--lua-dir", err, sizeof err) != 0) {
            fprintf(stderr, "tycho %s: %s\n", cmd, err);
            return -1;
        }
    }
    return 0;
}

/* tycho check's listing: routes as the load declared them, then timers and
 * consumers (handed over in no set order) sorted by where they are declared. */
typedef struct check_list {
    size_t routes, timers, consumers;
    char **later; /* "where\tline": the timers' and consumers' lines */
    size_t nlater, caplater;
    int nomem;
} check_list_t;

static void print_route(void *ud, const char *method, const char *pattern, const char *where)
{
    ++((check_list_t *)ud)->routes;
    printf("  %-7s %-40s %s\n", method, pattern, where);
}

static void keep_line(check_list_t *l, const char *where, const char *kind, const char *what)
{
    if (l->nlater == l->caplater) {
        size_t cap = l->caplater ? l->caplater * 2 : 8;
        char **v = realloc(l->later, cap * sizeof *v);
        if (!v) {
            l->nomem = 1;
            return;
        }
        l->later = v;
        l->caplater = cap;
    }
    char *line = tycho_lua_strdupf("%s\t  %-7s %-40s %s", where, kind, what, where);
    if (line)
        l->later[l->nlater++] = line;
    else
        l->nomem = 1;
}

static void list_timer(void *ud, const char *name, double every, const char *where)
{
    check_list_t *l = ud;
    char what[300];
    snprintf(what, sizeof what, "%s (every %g s)", name, every);
    l->timers++;
    keep_line(l, where, "TIMER", what);
}

static void list_consumer(void *ud, const char *queue, const char *where)
{
    check_list_t *l = ud;
    l->consumers++;
    keep_line(l, where, "SQS", queue);
}

/* "routes/a.lua:9" before "routes/a.lua:10": the file, then the line's number */
static int cmp_where(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const char *cx = strrchr(x, ':'), *cy = strrchr(y, ':');
    size_t fx = cx ? (size_t)(cx - x) : strlen(x), fy = cy ? (size_t)(cy - y) : strlen(y);
    int c = strncmp(x, y, fx < fy ? fx : fy);
    if (c || fx != fy) return c ? c : (fx < fy ? -1 : 1);
    long lx = cx ? atol(cx + 1) : 0, ly = cy ? atol(cy + 1) : 0;
    return lx < ly ? -1 : lx > ly ? 1 : strcmp(x, y);
}

static void print_later(check_list_t *l)
{
    if (l->nlater) /* later is NULL while empty, and qsort takes no NULL */
        qsort(l->later, l->nlater, sizeof *l->later, cmp_where);
    for (size_t i = 0; i < l->nlater; i++) {
        printf("%s\n", strchr(l->later[i], '\t') + 1);
        free(l->later[i]);
    }
    free(l->later);
}

/* `tycho check routes/users.lua` is the likely slip: a file where the routes
 * folder goes. Says so (rather than "not found") with the folder holding it;
 * 1 when the path is a file. */
static int refuse_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISDIR(st.st_mode)) return 0;
    char folder[sizeof((tycho_config_t *)0)->routes_dir];
    snprintf(folder, sizeof folder, "%s", path);
    fprintf(stderr,
            "tycho check: %s is a file, not a directory: tycho check takes the routes folder "
            "(tycho check %s)\n",
            path, dirname(folder));
    return 1;
}

/* No folder there: `tycho check` run from another directory than the app's
 * (./routes) or a misspelt folder. Says how the folder is given; 1 when the
 * path does not exist. */
static int refuse_missing(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) return 0;
    fprintf(stderr,
            "tycho check: %s: routes directory not found (name the routes folder: tycho check "
            "DIR, --routes DIR or TYCHO_ROUTES; ./routes when none is given)\n",
            path);
    return 1;
}

int tycho_cmd_check(int argc, char **argv)
{
    tycho_config_t cfg;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    int rc = rest ? load_config("check", argc, argv, &cfg, rest, &nrest, 1) : -1;
    if (rc == 0 && nrest > 0) {
        fprintf(stderr, "tycho check: unknown option: %s (see tycho check --help)\n", rest[0]);
        rc = -1;
    }
    free(rest);
    if (rc == 1) {
        printf("usage: tycho check [ROUTES_DIR | --routes DIR] [--lua-dir DIR]\n\n"
               "Loads every route file (and the modules they require) the way `tycho serve`\n"
               "does, builds the route table, and exits non-zero with file:line on the first\n"
               "error; on success lists the routes, timers and SQS consumers declared, each\n"
               "with its file:line. One routes folder a run: ROUTES_DIR defaults to\n"
               "$TYCHO_ROUTES or ./routes.\n");
        return 0;
    }
    if (rc != 0) return 2;
    if (refuse_file(cfg.routes_dir) || refuse_missing(cfg.routes_dir)) return 1;
    tycho_log_set_level(cfg.log_level);
    char *err = NULL;
    check_list_t l = {0};
    tycho_lua_listing_t list = {print_route, list_timer, list_consumer, &l};
    int failed = tycho_lua_check_routes(&cfg, &list, &err) != 0;
    print_later(&l);
    if (failed || l.nomem) {
        fprintf(stderr, "%s\n", err ? err : "tycho check: out of memory");
        free(err);
        return 1;
    }
    printf("tycho check: %s: ok, %zu route%s", cfg.routes_dir, l.routes, l.routes == 1 ? "" : "s");
    if (l.timers) printf(", %zu timer%s", l.timers, l.timers == 1 ? "" : "s");
    if (l.consumers) printf(", %zu SQS consumer%s", l.consumers, l.consumers == 1 ? "" : "s");
    printf("\n");
    return 0;
}

/* --- tycho spec ------------------------------------------------------------------- */

#define SPEC_TIMEOUT_DEFAULT 60.0

typedef struct spec_result {
    int done;
    int status;
    double passed, failed;
    char *error;
    int summary_to_stderr; /* the output format is a document (junit, json) */
    int early_exit;        /* busted ran no suite (a bad option, --version, --list) */
    int early_code;        /* then: the exit status, with no summary (2: a usage error) */
} spec_result_t;

/* Takes --timeout SECONDS (or --timeout=...) out of the busted arguments.
 * 0, or -1 with the reason printed. */
static int take_timeout(char **rest, int *nrest, double *seconds)
{
    int out = 0;
    for (int i = 0; i < *nrest; i++) {
        const char *a = rest[i];
        if (strncmp(a, "--timeout", 9) != 0 || (a[9] != 0 && a[9] != '=')) {
            rest[out++] = rest[i];
            continue;
        }
        const char *val = a[9] == '=' ? a + 10 : (i + 1 < *nrest ? rest[++i] : NULL);
        uint64_t ms;
        if (!val || tycho_parse_duration_ms(val, 1000, &ms) != 0) {
            fprintf(stderr,
                    "tycho spec: --timeout: not a duration: %s (seconds, or with a unit: "
                    "500ms, 2s, 1m; 0 = none)\n",
                    val ? val : "missing value");
            return -1;
        }
        *seconds = (double)ms / 1000;
    }
    *nrest = out;
    return 0;
}

/* The watchdog thread found a block past its --timeout that it cannot
 * interrupt (a loop the JIT compiled): nothing can end it but the process. */
static void spec_stuck(double late_seconds)
{
    double limit;
    const char *label = tycho_spec_block_running(&limit);
    fflush(stdout); /* the results so far (the spec thread is stuck in Lua, not in stdio) */
    fprintf(stderr,
            "tycho spec: %s: still running %.0f s past its %g s timeout, in a loop the JIT "
            "compiled that cannot be interrupted (docs/routes.md, Limits): stopping the run\n",
            label, late_seconds, limit);
    tycho_spec_interrupt_kill_servers(); /* the runner that would stop them is the one stuck */
    _exit(1);
}

static void spec_done(tycho_lua_task_t *t, int status, int nres)
{
    spec_result_t *r = t->ud;
    lua_State *co = t->co;
    r->done = 1;
    r->status = status;
    uv_stop(t->sched->loop); /* the services keep handles open: end the run here */
    if (status == TYCHO_TASK_OK && nres >= 2) {
        int base = lua_gettop(co) - nres;
        r->passed = lua_tonumber(co, base + 1);
        r->failed = lua_tonumber(co, base + 2);
        if (nres >= 3 && lua_isstring(co, base + 3)) r->error = strdup(lua_tostring(co, base + 3));
        r->summary_to_stderr = nres >= 4 && lua_toboolean(co, base + 4);
        r->early_exit = nres >= 5 && lua_isnumber(co, base + 5);
        if (r->early_exit) r->early_code = (int)lua_tointeger(co, base + 5);
    } else if (status != TYCHO_TASK_OK) {
        const char *m = lua_isstring(co, -1) ? lua_tostring(co, -1) : "spec runner failed";
        r->error = strdup(m);
    }
}

int tycho_cmd_spec(int argc, char **argv)
{
    tycho_config_t cfg;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    int rc = rest ? load_config("spec", argc, argv, &cfg, rest, &nrest, 0) : -1;
    if (rc == 1) {
        printf("usage: tycho spec [--routes DIR] [--lua-dir DIR] [--timeout SECONDS]\n"
               "                  [busted options] [PATHS...]\n\n"
               "Runs busted specs (default path: spec/) inside the tycho runtime: the same\n"
               "LuaJIT, modules and bindings as `tycho serve`, with the routes of DIR\n"
               "($TYCHO_ROUTES or ./routes; optional) loaded. Specs call routes in-process\n"
               "with require('tycho.test').request(...). Ends with 'N passed, N failed'\n"
               "(on stderr for -o junit and -o json, whose stdout is the document);\n"
               "exits 1 when anything failed, 2 on an option busted refuses. -l lists\n"
               "the tests without running them (no summary).\n"
               "SIGINT or SIGTERM stops the run: the waiting test fails, the cleanup hooks\n"
               "run, tycho.test.serve's servers stop, the summary so far; exit 130 (143).\n"
               "Logs go to stderr.\n"
               "--timeout: a test (or a before_each...) running longer fails and the run\n"
               "goes on [60; 0 = none]. TYCHO_HANDLER_TIMEOUT limits the handlers specs\n"
               "call through tycho.test.request.\n"
               "Other options are busted 2's: -o FORMAT (TAP, junit, json, gtest...),\n"
               "--filter/--filter-out PATTERN, -t/--tags and --exclude-tags TAGS, -l,\n"
               "--no-keep-going, --shuffle, --repeat N, -p/--pattern, -v; a .busted file\n"
               "works too. --lua is refused: specs run in tycho's own LuaJIT.\n");
        free(rest);
        return 0;
    }
    double timeout = SPEC_TIMEOUT_DEFAULT;
    if (rc != 0 || take_timeout(rest, &nrest, &timeout) != 0) {
        free(rest);
        return 2;
    }
    tycho_log_set_level(cfg.log_level);
    static const tycho_log_sink_t test_sink = {tycho_lua_test_log_sink, NULL};
    tycho_log_set_sink(&test_sink);
    /* before the runtime: route files register their metrics as they load */
    char terr[512];
    if (tycho_spec_telemetry_start(&cfg, terr, sizeof terr) != 0) {
        fprintf(stderr, "tycho spec: %s\n", terr);
        free(rest);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *err = NULL;
    /* the same outbound services as a serve worker: tycho.http, tycho.aws
     * (TYCHO_AWS_BACKEND=local: the embedded backend under TYCHO_DATA_DIR) */
    char serr[1280]; /* as serve's: a local backend message may be long */
    tycho_local_backend_t *backend = NULL;
    tycho_aws_services_t *svc = NULL;
    /* a data directory that cannot be used (in use by another tycho, not a
     * directory) is a bad setting, as under `tycho serve`: exit 2 */
    int start_rc = 0;
    if (tycho_aws_local_start(&cfg, &backend, serr, sizeof serr) != 0)
        start_rc = 2;
    else if (!(svc = tycho_aws_services_new(
                   &loop, &(tycho_aws_services_options_t){.local = backend}, serr, sizeof serr)))
        start_rc = 1;
    if (start_rc != 0) {
        fprintf(stderr, "tycho spec: %s\n", serr);
        if (backend) tycho_local_backend_stop(backend);
        free(rest);
        uv_loop_close(&loop);
        return start_rc;
    }
    tycho_aws_services_register_metrics(svc); /* as a worker does: before the routes load */
    tycho_lua_runtime_t *rt = tycho_lua_runtime_new_for_specs(&loop, &cfg, &err);
    if (!rt) {
        fprintf(stderr, "tycho spec: %s\n", err ? err : "cannot start the Lua runtime");
        free(err);
        free(rest);
        tycho_aws_services_close(svc);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (backend) tycho_local_backend_stop(backend);
        uv_loop_close(&loop);
        return 1;
    }
    tycho_lua_gen_t *g = tycho_lua_runtime_current_gen(rt);
    spec_result_t result = {0};
    tycho_lua_task_t *t = tycho_lua_task_new(tycho_lua_runtime_sched(rt), g, spec_done, &result);
    /* the whole run is one task, without a deadline: the runner gives each
     * block a task of its own with the --timeout one (spec_block.h). Nor is
     * it held to the memory limit, which is the blocks': busted's own code
     * goes on (and reports) after a block that left the state at its limit */
    tycho_lua_task_set_deadline(t, 0);
    t->unlimited = 1;
    lua_State *co = t->co;
    lua_getglobal(co, "require");
    lua_pushliteral(co, "tycho.spec_runner");
    int exit_code = 1;
    if (lua_pcall(co, 1, 1, 0) != 0) {
        fprintf(stderr, "tycho spec: %s\n", lua_tostring(co, -1));
        tycho_lua_task_cancel(t);
    } else {
        lua_createtable(co, nrest, 0);
        for (int i = 0; i < nrest; i++) {
            lua_pushstring(co, rest[i]);
            lua_rawseti(co, -2, i + 1);
        }
        lua_createtable(co, 0, 1);
        lua_pushnumber(co, timeout);
        lua_setfield(co, -2, "timeout");
        tycho_watchdog_on_stuck(spec_stuck);
        /* without it, SIGINT or SIGTERM would end the process and leave the
         * servers tycho.test.serve started running */
        int irc = tycho_spec_interrupt_start(&loop);
        if (irc != 0)
            fprintf(stderr,
                    "tycho spec: cannot handle SIGINT and SIGTERM (%s): an interrupted run "
                    "leaves the servers its specs started running\n",
                    uv_strerror(irc));
        tycho_lua_task_run(t, 2);
        uv_run(&loop, UV_RUN_DEFAULT);
        tycho_watchdog_on_stuck(NULL);
        if (!result.done) {
            fprintf(stderr, "tycho spec: the spec run stalled (waiting on an operation that "
                            "never completes)\n");
            tycho_lua_task_cancel(t);
        } else if (result.status != TYCHO_TASK_OK) {
            fprintf(stderr, "tycho spec: %s\n", result.error ? result.error : "failed");
        } else if (result.early_exit) {
            exit_code = result.early_code; /* busted said why: nothing ran to sum up */
        } else {
            /* busted itself failed (the process out of memory, say: the Lua
             * memory limit holds only the blocks, spec_block.h): the tests
             * after it did not run, and the run counts as one failure more,
             * so that the summary agrees with the exit status */
            if (result.error)
                fprintf(stderr,
                        "tycho spec: the run stopped: %s (the tests after it did not run)\n",
                        result.error);
            fflush(stdout);
            fprintf(result.summary_to_stderr ? stderr : stdout, "%.0f passed, %.0f failed\n",
                    result.passed, result.failed + (result.error ? 1 : 0));
            exit_code = result.failed > 0 || result.error ? 1 : 0;
        }
        /* the shell's convention for a command a signal stopped: 130 for SIGINT */
        if (tycho_spec_interrupt_signal()) exit_code = 128 + tycho_spec_interrupt_signal();
        tycho_spec_interrupt_stop();
    }
    fflush(stdout);
    free(result.error);
    free(rest);
    tycho_lua_runtime_free(rt);
    tycho_aws_services_close(svc);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (backend) tycho_local_backend_stop(backend);
    uv_loop_close(&loop);
    tycho_spec_telemetry_stop();
    tycho_log_set_sink(NULL);
    return exit_code;
}
