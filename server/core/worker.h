/* worker — one serving thread: its own uv loop, its public listener socket
 * (SO_REUSEPORT), its app (Lua runtime) and its connections. The main thread
 * starts it and talks to it only through tycho_worker_* calls below, which
 * post to the worker's loop through a uv_async (safe from any thread). */
#ifndef TYCHO_WORKER_H
#define TYCHO_WORKER_H

#include "core/app.h"
#include "core/config.h"
#include "core/request_obs.h"
#include "core/telemetry_hub.h"
#include "http/server.h"

#include <stdatomic.h>
#include <uv.h>

typedef struct tycho_worker tycho_worker_t;

/* Called on the worker's thread; the main thread's handler re-posts to its loop. */
typedef void (*tycho_worker_event_fn)(void *ud, tycho_worker_t *w);

struct tycho_worker {
    int id;
    const tycho_config_t *cfg;
    const tycho_app_ops_t *ops;
    int fd;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_mutex_t wake_lock; /* guards wake_closed: posts never race the close */
    int wake_closed;
    atomic_ullong generation; /* the app's, after start and each reload */
    atomic_ullong load;       /* the app's load (app.h), set with generation */
    atomic_int want_drain, want_abort, want_prepare, want_end_reload;
    atomic_int reload_commit; /* the second phase: 1 commit, 0 discard */
    tycho_http_server_t http;
    void *app;
    tycho_hub_t *hub; /* set by the main thread before start; NULL = no telemetry */
    /* set by the main thread before start: the embedded AWS backend
     * (TYCHO_AWS_BACKEND=local), NULL for aws */
    struct tycho_local_backend *aws_local;
    struct tycho_aws_services *services; /* worker thread: outbound HTTP and AWS */
    int http_empty, app_drained;         /* worker thread: drain progress */
    tycho_obs_t *obs;                    /* worker thread */
    uv_timer_t sync_timer;
    uv_sem_t started;
    int start_rc;
    char *start_err;
    /* results the main thread reads after an event */
    atomic_int reload_rc;
    char *reload_err; /* the failed prepare's error (worker thread writes, before the event) */
    tycho_worker_event_fn on_reloaded; /* a reload phase finished (prepare: reload_rc) */
    tycho_worker_event_fn on_exit; /* done: loop, app and observer ended (its spans handed over) */
    void *ud;
};

/* Starts the thread and waits until it serves (0) or failed (-1, *err set). */
int tycho_worker_start(tycho_worker_t *w, char **err);
void tycho_worker_drain(tycho_worker_t *w);
void tycho_worker_abort(tycho_worker_t *w);
/* A reload's two phases (app.h): prepare, then once every worker has
 * reported (on_reloaded), end_reload with commit 1 (all prepared) or 0; each
 * phase reports through on_reloaded, the second after w->generation is set. */
void tycho_worker_prepare(tycho_worker_t *w);
void tycho_worker_end_reload(tycho_worker_t *w, int commit);
void tycho_worker_join(tycho_worker_t *w);

#endif
