#include "core/worker.h"

#include "aws/services.h"
#include "core/log.h"
#include "core/thread_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void finish(tycho_worker_t *w)
{
    uv_mutex_lock(&w->wake_lock);
    if (!w->wake_closed) uv_close((uv_handle_t *)&w->wake, NULL);
    w->wake_closed = 1;
    uv_mutex_unlock(&w->wake_lock);
    if (w->obs && !uv_is_closing((uv_handle_t *)&w->sync_timer))
        uv_close((uv_handle_t *)&w->sync_timer, NULL);
    /* The app may keep timers of its own (watchdogs): end the loop here and
     * let destroy close them. */
    uv_stop(&w->loop);
}

static void post(tycho_worker_t *w, atomic_int *flag)
{
    atomic_store(flag, 1);
    uv_mutex_lock(&w->wake_lock);
    if (!w->wake_closed) uv_async_send(&w->wake);
    uv_mutex_unlock(&w->wake_lock);
}

/* A drain ends when the connections are gone and the app's background work
 * (SQS consumers) has finished. */
static void maybe_finish(tycho_worker_t *w)
{
    if (w->http_empty && w->app_drained) finish(w);
}

static void on_http_empty(tycho_http_server_t *srv)
{
    tycho_worker_t *w = srv->loop->data;
    w->http_empty = 1;
    maybe_finish(w);
}

static void on_app_drained(void *ud)
{
    tycho_worker_t *w = ud;
    w->app_drained = 1;
    maybe_finish(w);
}

/* The app's generation and load, for the main thread (after start and
 * each reload). */
static void publish_generation(tycho_worker_t *w)
{
    atomic_store(&w->load, w->ops->load ? w->ops->load(w->app) : 0);
    atomic_store(&w->generation, w->ops->generation(w->app));
}

/* A reload's first phase: the new generation loads next to the serving one
 * (on this loop: the worker's requests wait for it). */
static void prepare_reload(tycho_worker_t *w)
{
    char *err = NULL;
    int rc = w->ops->prepare(w->app, &err);
    if (rc != 0)
        tycho_log_error("reload failed on worker", LF_INT("worker", w->id),
                        LF_STR("error", err ? err : "?"));
    free(w->reload_err);
    w->reload_err = err;
    atomic_store(&w->reload_rc, rc);
    if (w->on_reloaded) w->on_reloaded(w->ud, w);
}

/* The second: every worker prepared (commit) or one failed (discard). */
static void end_reload(tycho_worker_t *w)
{
    void (*end)(void *) = atomic_load(&w->reload_commit) ? w->ops->commit : w->ops->discard;
    if (end) end(w->app);
    publish_generation(w);
    if (w->on_reloaded) w->on_reloaded(w->ud, w);
}

/* A draining worker is aborted at the drain timeout (serve.c); otherwise
 * another worker failed to start. */
static void abort_connections(tycho_worker_t *w)
{
    int draining = w->http.draining;
    tycho_http_cut_t cut =
        tycho_http_server_abort(&w->http, draining ? "drain_timeout" : "shutdown");
    if (draining)
        tycho_log_warn("drain timeout reached; closing remaining connections",
                       LF_INT("worker", w->id), LF_INT("connections_closed", cut.connections),
                       LF_INT("requests_cut", cut.requests),
                       LF_DBL("drain_timeout_s", w->cfg->drain_timeout));
}

static void on_wake(uv_async_t *a)
{
    tycho_worker_t *w = a->data;
    if (atomic_exchange(&w->want_prepare, 0)) prepare_reload(w);
    if (atomic_exchange(&w->want_end_reload, 0)) end_reload(w);
    if (atomic_exchange(&w->want_abort, 0)) {
        abort_connections(w);
        finish(w);
        return;
    }
    if (atomic_exchange(&w->want_drain, 0)) {
        if (w->ops->drain)
            w->ops->drain(w->app, on_app_drained, w);
        else
            w->app_drained = 1;
        tycho_http_server_drain(&w->http);
    }
}

/* Publishes per-worker stats (connections, Lua memory) as metrics. */
static void on_sync(uv_timer_t *t)
{
    tycho_worker_t *w = t->data;
    tycho_obs_sync(w->obs, &w->http.stats, w->ops->memory ? w->ops->memory(w->app) : 0);
}

/* Before the app loads, so metrics its routes register land in the
 * process registry (and conflicts show at load). */
static void start_observing(tycho_worker_t *w)
{
    if (w->hub) w->obs = tycho_obs_new(w->hub, w->cfg, w->id);
}

static void run(void *arg)
{
    tycho_worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof name, "tycho-w%d", w->id);
    tycho_thread_name(name);
    tycho_handler_t handler;
    /* outbound HTTP/AWS for this worker's bindings (before the app: route
     * files may start SQS consumers as they load) */
    char serr[512];
    w->services = tycho_aws_services_new(
        &w->loop, &(tycho_aws_services_options_t){.local = w->aws_local}, serr, sizeof serr);
    if (!w->services) {
        w->start_rc = -1;
        w->start_err = strdup(serr);
        uv_sem_post(&w->started);
        return;
    }
    start_observing(w);
    tycho_aws_services_register_metrics(w->services); /* listed before the first call */
    w->app = w->ops->create(&w->loop, w->cfg, w->id, &handler, &w->start_err);
    if (!w->app) {
        tycho_obs_free(w->obs);
        w->obs = NULL;
        tycho_aws_services_close(w->services); /* its handles close in the main thread's run */
        w->services = NULL;
        w->start_rc = -1;
        uv_sem_post(&w->started);
        return;
    }
    if (w->obs) handler = tycho_obs_wrap(w->obs, handler);
    int rc = tycho_http_server_start(&w->http, &w->loop, w->cfg, w->fd, handler, w->id);
    if (rc != 0) {
        w->start_rc = -1;
        w->start_err = strdup(uv_strerror(rc));
        w->ops->destroy(w->app);
        tycho_aws_services_close(w->services);
        w->services = NULL;
        tycho_obs_free(w->obs);
        uv_sem_post(&w->started);
        return;
    }
    w->http.on_empty = on_http_empty;
    if (w->obs) {
        w->http.observer = tycho_obs_on_response;
        w->http.observer_ud = w->obs;
        uv_timer_init(&w->loop, &w->sync_timer);
        w->sync_timer.data = w;
        uv_timer_start(&w->sync_timer, on_sync, 0, 1000);
    }
    publish_generation(w);
    uv_sem_post(&w->started);

    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* Every connection is closed and the wake handle too: nothing new
     * arrives. The app closes its own handles; anything left is closed here. */
    w->ops->destroy(w->app);
    w->app = NULL;
    tycho_aws_services_close(w->services); /* after the app: its calls are cancelled */
    w->services = NULL;
    tycho_obs_free(w->obs);
    w->obs = NULL;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_walk(&w->loop, close_walk, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* Only now: the telemetry's final flush starts once every worker said
     * so, and the app's end still makes spans and lines (a consumer's
     * handler cut by the drain timeout, its warning and CONSUMER span). */
    if (w->on_exit) w->on_exit(w->ud, w);
}

int tycho_worker_start(tycho_worker_t *w, char **err)
{
    int rc = uv_loop_init(&w->loop);
    if (rc) {
        *err = strdup(uv_strerror(rc));
        return -1;
    }
    w->loop.data = w;
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_sem_init(&w->started, 0);
    uv_mutex_init(&w->wake_lock);
    w->wake_closed = 0;
    if (uv_thread_create(&w->thread, run, w) != 0) {
        *err = strdup("cannot create the worker thread");
        return -1;
    }
    uv_sem_wait(&w->started);
    uv_sem_destroy(&w->started);
    if (w->start_rc != 0) {
        uv_thread_join(&w->thread);
        uv_close((uv_handle_t *)&w->wake, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        *err = w->start_err;
        w->start_err = NULL;
        return -1;
    }
    return 0;
}

void tycho_worker_drain(tycho_worker_t *w)
{
    post(w, &w->want_drain);
}

void tycho_worker_abort(tycho_worker_t *w)
{
    post(w, &w->want_abort);
}

void tycho_worker_prepare(tycho_worker_t *w)
{
    post(w, &w->want_prepare);
}

void tycho_worker_end_reload(tycho_worker_t *w, int commit)
{
    atomic_store(&w->reload_commit, commit);
    post(w, &w->want_end_reload);
}

void tycho_worker_join(tycho_worker_t *w)
{
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    uv_mutex_destroy(&w->wake_lock);
    free(w->reload_err);
    w->reload_err = NULL;
}
