#include "core/admin.h"

#include "core/admin_request.h"
#include "core/lifecycle.h"
#include "core/log.h"
#include "core/thread_name.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RELOAD_WAITERS 64

struct reload_result {
    struct reload_result *next;
    uint64_t covers, generation;
    int ok;
    char err[]; /* "" for none */
};

struct tycho_admin {
    const tycho_config_t *cfg;
    tycho_admin_hooks_t hooks;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_sem_t started;
    int start_rc;
    tycho_http_server_t http;
    int fd;
    /* cross-thread: guarded by lock */
    uv_mutex_t lock;
    int stop;
    int wake_closed; /* under lock: stopped, nothing more to post */
    /* reload results not yet answered, oldest first: two can come before
     * the admin thread wakes (a reload ends, the next one is refused at
     * once), and each answers its own POSTs */
    struct reload_result *results, **results_tail;
    /* POST /-/reload received: written by the admin thread, read by main */
    _Atomic uint64_t reload_requests;
    /* admin thread only: each waiting POST with its number among them */
    struct waiter {
        tycho_exchange_t *x;
        uint64_t ticket;
    } waiters[MAX_RELOAD_WAITERS];
    int nwaiters;
};

static void reply_json(tycho_exchange_t *x, int status, const char *body)
{
    x->res.status = status;
    tycho_response_add_header(&x->res, "Content-Type", 12, "application/json", 16, NULL);
    tycho_response_set_body(&x->res, body, strlen(body));
    tycho_exchange_finish(x);
}

static void reply_error(tycho_exchange_t *x, int status, const char *msg)
{
    tycho_response_set_error(&x->res, status, msg, x->req.request_id);
    tycho_exchange_finish(x);
}

static void status_page(tycho_admin_t *a, tycho_exchange_t *x)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_printf(&b, "{\"version\":\"%s\",\"workers\":%d,\"routes_dir\":", TYCHO_VERSION,
                     a->cfg->workers);
    tycho_buf_append_json_string(&b, a->cfg->routes_dir, strlen(a->cfg->routes_dir));
    tycho_buf_puts(&b, ",");
    tycho_lifecycle_status_json(&b);
    if (a->hooks.status) a->hooks.status(a->hooks.ud, &b);
    tycho_buf_puts(&b, "}");
    reply_json(x, 200, b.data);
    tycho_buf_free(&b);
}

static void metrics_page(tycho_admin_t *a, tycho_exchange_t *x)
{
    static const char ctype[] = "text/plain; version=0.0.4; charset=utf-8";
    if (a->hooks.metrics(a->hooks.ud, &x->res.body) != 0)
        return reply_error(x, 500, "cannot render metrics");
    x->res.status = 200;
    tycho_response_add_header(&x->res, "Content-Type", 12, ctype, sizeof ctype - 1, NULL);
    tycho_exchange_finish(x);
}

static void dispatch(void *ctx, tycho_exchange_t *x)
{
    tycho_admin_t *a = ctx;
    tycho_admin_route_t r;
    tycho_admin_route(&x->req, a->hooks.metrics != NULL, &r);
    switch (r.page) {
    case TYCHO_ADMIN_HEALTHY:
        return reply_json(x, 200, "{\"status\":\"ok\"}");
    case TYCHO_ADMIN_READY:
        return tycho_lifecycle_draining()   ? reply_json(x, 503, "{\"status\":\"draining\"}")
               : !tycho_lifecycle_serving() ? reply_json(x, 503, "{\"status\":\"starting\"}")
                                            : reply_json(x, 200, "{\"status\":\"ready\"}");
    case TYCHO_ADMIN_STATUS:
        return status_page(a, x);
    case TYCHO_ADMIN_METRICS:
        return metrics_page(a, x);
    case TYCHO_ADMIN_RELOAD: {
        if (a->nwaiters == MAX_RELOAD_WAITERS)
            return reply_json(x, 429, "{\"error\":\"too many reloads waiting\"}");
        /* as SIGHUP and the watcher say theirs: a reload's log shows who asked */
        if (!tycho_lifecycle_draining())
            tycho_log_info("POST /-/reload: reloading routes", LF_STR("client_ip", x->req.peer_ip),
                           LF_STR("request_id", x->req.request_id));
        uint64_t ticket = atomic_fetch_add(&a->reload_requests, 1) + 1;
        a->waiters[a->nwaiters++] = (struct waiter){x, ticket};
        a->hooks.request_reload(a->hooks.ud);
        return;
    }
    case TYCHO_ADMIN_REFUSED:
        tycho_response_set_error(&x->res, r.status, r.message, x->req.request_id);
        if (r.allow) tycho_response_add_header(&x->res, "Allow", 5, r.allow, strlen(r.allow), NULL);
        return tycho_exchange_finish(x);
    }
}

static void cancel(void *ctx, tycho_exchange_t *x)
{
    tycho_admin_t *a = ctx;
    for (int i = 0; i < a->nwaiters; i++)
        if (a->waiters[i].x == x) a->waiters[i] = a->waiters[--a->nwaiters];
}

/* Answers the waiters whose POST came before the reload that finished
 * started (ticket <= covers); the others stay for the next one. */
static void answer_waiters(tycho_admin_t *a, uint64_t covers, int ok, uint64_t generation,
                           const char *err)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    if (ok == 1) {
        tycho_buf_printf(&b, "{\"status\":\"reloaded\",\"generation\":%llu}",
                         (unsigned long long)generation);
    } else {
        tycho_buf_printf(&b, "{\"status\":\"%s\",\"error\":",
                         ok == TYCHO_ADMIN_RELOAD_REFUSED ? "refused" : "failed");
        tycho_buf_append_json_string(&b, err ? err : "reload failed",
                                     strlen(err ? err : "reload failed"));
        tycho_buf_puts(&b, "}");
    }
    int n = a->nwaiters;
    a->nwaiters = 0;
    for (int i = 0; i < n; i++) {
        if (a->waiters[i].ticket <= covers)
            reply_json(a->waiters[i].x,
                       ok == 1                            ? 200
                       : ok == TYCHO_ADMIN_RELOAD_REFUSED ? 503
                                                          : 422,
                       b.data);
        else
            a->waiters[a->nwaiters++] = a->waiters[i];
    }
    tycho_buf_free(&b);
}

static void on_wake(uv_async_t *h)
{
    tycho_admin_t *a = h->data;
    uv_mutex_lock(&a->lock);
    int stop = a->stop;
    a->wake_closed = stop;
    struct reload_result *r = a->results;
    a->results = NULL;
    a->results_tail = &a->results;
    uv_mutex_unlock(&a->lock);
    while (r) {
        struct reload_result *next = r->next;
        answer_waiters(a, r->covers, r->ok, r->generation, r->err[0] ? r->err : NULL);
        free(r);
        r = next;
    }
    if (stop) {
        if (a->hooks.on_stop) a->hooks.on_stop(a->hooks.ud);
        tycho_http_server_abort(&a->http, "shutdown");
        uv_close((uv_handle_t *)&a->wake, NULL);
    }
}

static void run(void *arg)
{
    tycho_admin_t *a = arg;
    tycho_thread_name("tycho-admin"); /* the admin port and the telemetry hub */
    tycho_handler_t h = {dispatch, cancel, a, NULL};
    a->start_rc = tycho_http_server_start(&a->http, &a->loop, a->cfg, a->fd, h, -1);
    if (a->start_rc == 0 && a->hooks.on_start) a->hooks.on_start(a->hooks.ud, &a->loop);
    uv_sem_post(&a->started);
    if (a->start_rc != 0) return;
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (a->hooks.on_exit) a->hooks.on_exit(a->hooks.ud);
}

tycho_admin_t *tycho_admin_start(const tycho_config_t *cfg, int fd, tycho_admin_hooks_t hooks,
                                 char **err)
{
    tycho_admin_t *a = calloc(1, sizeof *a);
    if (!a) return *err = strdup("out of memory"), NULL;
    a->cfg = cfg;
    a->hooks = hooks;
    a->fd = fd;
    uv_loop_init(&a->loop);
    uv_async_init(&a->loop, &a->wake, on_wake);
    a->wake.data = a;
    uv_mutex_init(&a->lock);
    a->results_tail = &a->results;
    uv_sem_init(&a->started, 0);
    if (uv_thread_create(&a->thread, run, a) != 0) {
        *err = strdup("cannot create the admin thread");
        return NULL;
    }
    uv_sem_wait(&a->started);
    if (a->start_rc != 0) {
        *err = strdup(uv_strerror(a->start_rc));
        uv_thread_join(&a->thread);
        return NULL;
    }
    return a;
}

uint64_t tycho_admin_reload_requests(tycho_admin_t *a)
{
    return atomic_load(&a->reload_requests);
}

void tycho_admin_reload_done(tycho_admin_t *a, uint64_t covers, int ok, uint64_t generation,
                             const char *err)
{
    size_t n = err ? strlen(err) : 0;
    struct reload_result *r = malloc(sizeof *r + n + 1);
    if (!r) {
        tycho_log_error("cannot answer POST /-/reload: out of memory");
        return;
    }
    *r = (struct reload_result){NULL, covers, generation, ok};
    memcpy(r->err, err ? err : "", n + 1);
    uv_mutex_lock(&a->lock);
    if (a->wake_closed) { /* its waiters were closed with the listener */
        uv_mutex_unlock(&a->lock);
        free(r);
        return;
    }
    *a->results_tail = r;
    a->results_tail = &r->next;
    uv_async_send(&a->wake);
    uv_mutex_unlock(&a->lock);
}

void tycho_admin_stop_begin(tycho_admin_t *a)
{
    uv_mutex_lock(&a->lock);
    if (!a->stop) uv_async_send(&a->wake); /* once: on_wake then closes it */
    a->stop = 1;
    uv_mutex_unlock(&a->lock);
}

void tycho_admin_stop(tycho_admin_t *a)
{
    if (!a) return;
    tycho_admin_stop_begin(a);
    uv_thread_join(&a->thread);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    uv_loop_close(&a->loop);
    uv_mutex_destroy(&a->lock);
    uv_sem_destroy(&a->started);
    while (a->results) {
        struct reload_result *next = a->results->next;
        free(a->results);
        a->results = next;
    }
    free(a);
}
