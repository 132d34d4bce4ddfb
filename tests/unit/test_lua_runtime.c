/* The runtime's C interface as the HTTP engine uses it: dispatch, finish,
 * cancel, reload with requests in flight, free with requests in flight; the
 * last words of a Lua panic. */
#include "core/config.h"
#include "core/log.h"
#include "http/exchange.h"
#include "lua/runtime.h"
#include "lua/scheduler.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[64];

static void write_routes(const char *version)
{
    char path[128];
    snprintf(path, sizeof path, "%s/r.lua", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "local time = require 'tycho.time'\n"
            "return {\n"
            "  { 'GET', '/fast/:id', function(req) return { id = req.params.id } end },\n"
            "  { 'GET', '/slow', function() time.sleep(0.05) return '%s' end },\n"
            "  { 'GET', '/boom', function() error('boom') end },\n"
            "}\n",
            version);
    fclose(f);
}

typedef struct test_x {
    tycho_exchange_t x;
    int finished;
} test_x_t;

static void on_finish(tycho_exchange_t *x)
{
    ((test_x_t *)x->owner)->finished++;
}

static test_x_t *make(const char *method, const char *path)
{
    test_x_t *t = calloc(1, sizeof *t);
    t->x.req.method = (tycho_slice_t){method, strlen(method)};
    t->x.req.target = t->x.req.path = (tycho_slice_t){path, strlen(path)};
    t->x.req.request_id = "rid";
    t->x.req.peer_ip = "127.0.0.1";
    t->x.on_finish = on_finish;
    t->x.owner = t;
    return t;
}

static void drop(test_x_t *t)
{
    tycho_response_free(&t->x.res);
    free(t);
}

static void body_is(test_x_t *t, const char *body)
{
    assert_int_equal(t->x.res.body.len, strlen(body));
    assert_memory_equal(t->x.res.body.data, body, strlen(body));
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tycho-rt-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_routes("v1");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static tycho_lua_runtime_t *start(uv_loop_t *loop, tycho_config_t *cfg)
{
    tycho_config_defaults(cfg);
    snprintf(cfg->routes_dir, sizeof cfg->routes_dir, "%s", dir);
    uv_loop_init(loop);
    char *err = NULL;
    tycho_lua_runtime_t *rt = tycho_lua_runtime_new(loop, cfg, 0, &err);
    if (!rt) fail_msg("runtime: %s", err);
    return rt;
}

static void stop(uv_loop_t *loop, tycho_lua_runtime_t *rt)
{
    tycho_lua_runtime_free(rt);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0); /* every handle closed */
}

static void test_dispatch(void **state)
{
    (void)state;
    uv_loop_t loop;
    tycho_config_t cfg;
    tycho_lua_runtime_t *rt = start(&loop, &cfg);
    tycho_handler_t h = tycho_lua_runtime_handler(rt);
    assert_true(tycho_lua_runtime_memory(rt) > 0);

    test_x_t *fast = make("GET", "/fast/7");
    h.dispatch(h.ctx, &fast->x);
    assert_int_equal(fast->finished, 1); /* no wait: finished at once */
    assert_int_equal(fast->x.res.status, 200);
    assert_string_equal(fast->x.route, "/fast/:id");
    body_is(fast, "{\"id\":\"7\"}");
    drop(fast);

    test_x_t *nf = make("GET", "/nope");
    h.dispatch(h.ctx, &nf->x);
    assert_int_equal(nf->x.res.status, 404);
    assert_null(nf->x.route);
    drop(nf);

    test_x_t *boom = make("GET", "/boom");
    h.dispatch(h.ctx, &boom->x);
    assert_int_equal(boom->x.res.status, 500);
    body_is(boom, "{\"error\":\"internal error\",\"request_id\":\"rid\"}");
    drop(boom);

    test_x_t *slow = make("GET", "/slow");
    h.dispatch(h.ctx, &slow->x);
    assert_int_equal(slow->finished, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(slow->finished, 1);
    body_is(slow, "v1");
    drop(slow);
    stop(&loop, rt);
}

static void test_cancel_and_reload(void **state)
{
    (void)state;
    uv_loop_t loop;
    tycho_config_t cfg;
    tycho_lua_runtime_t *rt = start(&loop, &cfg);
    tycho_handler_t h = tycho_lua_runtime_handler(rt);

    /* a client that goes away while its handler waits */
    test_x_t *gone = make("GET", "/slow");
    h.dispatch(h.ctx, &gone->x);
    h.cancel(h.ctx, &gone->x);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(gone->finished, 0);
    drop(gone);

    /* in flight across a reload: finishes on the old handler */
    test_x_t *old = make("GET", "/slow");
    h.dispatch(h.ctx, &old->x);
    write_routes("v2");
    char *err = NULL;
    assert_int_equal(tycho_lua_runtime_reload(rt, &err), 0);
    assert_int_equal(tycho_lua_runtime_generation(rt), 2);
    test_x_t *new = make("GET", "/slow");
    h.dispatch(h.ctx, &new->x);
    uv_run(&loop, UV_RUN_DEFAULT);
    body_is(old, "v1");
    body_is(new, "v2");
    drop(old);
    drop(new);

    /* a failed reload keeps generation 2 */
    char path[128];
    snprintf(path, sizeof path, "%s/bad.lua", dir);
    FILE *f = fopen(path, "w");
    fputs("return {\n  { 'GET' '/x' }\n}\n", f);
    fclose(f);
    assert_int_equal(tycho_lua_runtime_reload(rt, &err), -1);
    assert_non_null(strstr(err, "bad.lua:2:"));
    free(err);
    assert_int_equal(tycho_lua_check(&cfg, &err), -1);
    assert_non_null(strstr(err, "bad.lua:2:"));
    free(err);
    remove(path);
    assert_int_equal(tycho_lua_runtime_generation(rt), 2);
    tycho_lua_runtime_stats_t st;
    tycho_lua_runtime_stats(rt, &st);
    assert_int_equal(st.reload_failures, 1);
    assert_non_null(strstr(st.last_error, "bad.lua:2:"));

    /* freed while a request waits: its timer is cancelled, nothing finishes */
    test_x_t *pending = make("GET", "/slow");
    h.dispatch(h.ctx, &pending->x);
    stop(&loop, rt);
    assert_int_equal(pending->finished, 0);
    drop(pending);
    write_routes("v1");
}

static void drop_line(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)line, (void)len, (void)meta, (void)ud;
}

/* An error outside any protected call aborts the process (nothing can
 * recover): its line must reach stderr first, even when the log sink is
 * asynchronous (here: a sink that never writes). */
static void test_panic_line(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        static const tycho_log_sink_t drop = {drop_line, NULL};
        tycho_log_set_sink(&drop);
        uv_loop_t loop;
        tycho_config_t cfg;
        tycho_lua_runtime_t *rt = start(&loop, &cfg);
        lua_State *L = tycho_lua_runtime_current_gen(rt)->L;
        lua_pushstring(L, "unprotected boom");
        lua_error(L);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_non_null(strstr(out, "\"msg\":\"lua panic (unprotected error): aborting\""));
    assert_non_null(strstr(out, "\"error\":\"unprotected boom\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_cancel_and_reload),
        cmocka_unit_test(test_panic_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
