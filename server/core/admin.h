/* admin — the admin listener's thread, which is also the telemetry thread:
 * its own uv loop serving /metrics, /-/healthy, /-/ready, /-/status and
 * POST /-/reload, and hosting what on_start puts on the loop (span and log
 * draining, exporters).
 * Never the public port; answers only a Host that is an IP literal or
 * localhost (421 otherwise: DNS rebinding), and refuses a reload a web page
 * sent (any Origin, a Sec-Fetch-Site other than same-origin or none, or two
 * of them: 403). Started and stopped by the main thread; reload requests are
 * forwarded to the main thread through request_reload. Paths are matched as
 * sent (400 for a percent-escape, an empty or a dot segment). These checks
 * of a request's head are core/admin_request.h's. */
#ifndef TYCHO_ADMIN_H
#define TYCHO_ADMIN_H

#include "core/buf.h"
#include "core/config.h"
#include "http/server.h"

#include <stdint.h>
#include <uv.h>

typedef struct tycho_admin tycho_admin_t;

typedef struct tycho_admin_hooks {
    /* Called on the admin thread; must be thread-safe (posts to main). */
    void (*request_reload)(void *ud);
    /* Appends extra members to /-/status (no braces), on the admin thread. */
    void (*status)(void *ud, tycho_buf_t *out);
    /* The /metrics body (Prometheus text 0.0.4); 0 or -1. Admin thread. */
    int (*metrics)(void *ud, tycho_buf_t *out);
    /* On the admin (telemetry) thread: after its loop starts / before it ends. */
    void (*on_start)(void *ud, uv_loop_t *loop);
    void (*on_stop)(void *ud);
    /* On the admin thread, once its loop has ended (the telemetry flushed):
     * must be thread-safe. May be NULL. */
    void (*on_exit)(void *ud);
    void *ud;
} tycho_admin_hooks_t;

/* Starts the thread serving the bound fd. NULL + *err on failure. */
tycho_admin_t *tycho_admin_start(const tycho_config_t *cfg, int fd, tycho_admin_hooks_t hooks,
                                 char **err);
/* Any thread: how many POST /-/reload have come so far. A reload started
 * after this read answers those requests (it reads the files after them). */
uint64_t tycho_admin_reload_requests(tycho_admin_t *a);
/* What tycho_admin_reload_done passes as ok when no reload ran for the
 * POSTs it covers (the shutdown began): they are answered 503. */
#define TYCHO_ADMIN_RELOAD_REFUSED (-1)

/* Main thread: a reload finished that started when
 * tycho_admin_reload_requests() was `covers`; answers the waiting POSTs it
 * covers with its result: ok 1 (200, generation: the one served after it),
 * 0 (422 with err) or TYCHO_ADMIN_RELOAD_REFUSED (503 with err). A POST that
 * came later, while it ran, waits for the reload it asked for. */
void tycho_admin_reload_done(tycho_admin_t *a, uint64_t covers, int ok, uint64_t generation,
                             const char *err);
/* Asks the thread to stop (on_stop, the listener closed, its loop ended:
 * on_exit tells when) and returns at once. Any thread; more than once is
 * fine. */
void tycho_admin_stop_begin(tycho_admin_t *a);
/* Stops the listener and joins the thread (begins the stop if needed). */
void tycho_admin_stop(tycho_admin_t *a);

#endif
