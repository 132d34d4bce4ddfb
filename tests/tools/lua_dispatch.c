/* lua_dispatch — drives the Lua runtime without sockets, for benchmarks and
 * profiling of the request path (router + coroutine + handler + response):
 *   lua_dispatch ROUTES_DIR PATH [N] [METHOD]
 * dispatches N requests (default 100000) one after another and prints the
 * time per request. Under `valgrind --tool=callgrind` it gives instructions
 * per request without the network's noise. */
#include "core/config.h"
#include "http/exchange.h"
#include "lua/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static int finished;

static void on_finish(tycho_exchange_t *x)
{
    (void)x;
    finished++;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lua_dispatch ROUTES_DIR PATH [N] [METHOD]\n");
        return 2;
    }
    long n = argc > 3 ? atol(argv[3]) : 100000;
    const char *method = argc > 4 ? argv[4] : "GET";
    tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    cfg.access_log = 0;
    snprintf(cfg.routes_dir, sizeof cfg.routes_dir, "%s", argv[1]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *err = NULL;
    tycho_lua_runtime_t *rt = tycho_lua_runtime_new(&loop, &cfg, 0, &err);
    if (!rt) {
        fprintf(stderr, "lua_dispatch: %s\n", err);
        return 1;
    }
    tycho_handler_t h = tycho_lua_runtime_handler(rt);
    const char *target = argv[2];
    const char *q = strchr(target, '?');
    tycho_exchange_t x;
    memset(&x, 0, sizeof x);
    int status = 0;
    uint64_t start = uv_hrtime();
    for (long i = 0; i < n; i++) {
        tycho_response_reset(&x.res);
        x.finished = 0;
        x.req.method = (tycho_slice_t){method, strlen(method)};
        x.req.target = (tycho_slice_t){target, strlen(target)};
        x.req.path = (tycho_slice_t){target, q ? (size_t)(q - target) : strlen(target)};
        x.req.query = q ? (tycho_slice_t){q + 1, strlen(q + 1)} : (tycho_slice_t){NULL, 0};
        x.req.request_id = "bench";
        x.req.peer_ip = "127.0.0.1";
        x.on_finish = on_finish;
        h.dispatch(h.ctx, &x);
        while (!x.finished)
            uv_run(&loop, UV_RUN_ONCE);
        status = x.res.status;
    }
    uint64_t ns = uv_hrtime() - start;
    printf("%ld requests, last status %d, %.0f ns/request, Lua memory %zu bytes\n", n, status,
           (double)ns / (double)n, tycho_lua_runtime_memory(rt));
    tycho_response_free(&x.res);
    tycho_lua_runtime_free(rt);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
