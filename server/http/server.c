#define _GNU_SOURCE /* accept4 */
#include "http/server.h"

#include "core/log.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Accepting is ours rather than uv_listen's. Out of descriptors
 * (EMFILE/ENFILE), libuv sheds the whole backlog with its reserve-fd trick,
 * silently; and once another thread (a second worker, curl) has taken the
 * reserve's slot, it retries accept() in a loop that never returns to the
 * event loop: the worker spins at 100% CPU and, unable to run its timers, may
 * never close a connection to get out (tests/abuse/test_fd_flood.sh, two
 * workers under `ulimit -n 256`). Here a failed accept stops polling the
 * listener for ACCEPT_BACKOFF_MS, as nginx does: clients wait in the kernel
 * backlog and are served once descriptors free up; one warning per episode. */
#define ACCEPT_BACKOFF_MS 100

static void on_listener_closed(uv_handle_t *h)
{
    tycho_http_server_t *srv = h->data;
    if (--srv->listener_handles > 0) return;
    close(srv->listen_fd);
    srv->listening = 0;
    if (srv->draining && !srv->conns && srv->on_empty) srv->on_empty(srv);
}

/* Connections freed after a burst stay with glibc: free chunks in the middle
 * of a heap are not returned, and the next burst lands partly elsewhere, so
 * RSS climbs to about twice a burst's need and stays there (10k idle
 * keep-alive connections: 130 MB kept after they all closed, 200 MB after a
 * second wave, while malloc reported 2 MB in use; tests/abuse/
 * test_idle_10k.sh). Once at least TRIM_AFTER_CLOSED connections have gone
 * and at most half the peak is left, malloc_trim hands the free pages back
 * (a few ms, a handful of times per burst; never in steady traffic). */
#define TRIM_AFTER_CLOSED 1000

static void server_accept(tycho_http_server_t *srv);

static void on_accept_timer(uv_timer_t *t)
{
    server_accept(t->data);
}

/* Once a draining server has no connection left, none will borrow a block
 * again (only the drain itself accepts, from the backlog): the pools go. */
static void free_pools_if_done(tycho_http_server_t *srv)
{
    if (!srv->draining || srv->conns) return;
    tycho_block_pool_clear(&srv->read_buffers);
    tycho_block_pool_clear(&srv->header_arrays);
}

void tycho_http_server_conn_closed(tycho_http_server_t *srv)
{
    free_pools_if_done(srv);
    if (srv->accept_pending && !srv->draining && srv->stats.open < srv->max_conns) {
        srv->accept_pending = 0;
        server_accept(srv);
    }
#ifdef M_TRIM_THRESHOLD
    if (srv->open_peak - srv->stats.open >= TRIM_AFTER_CLOSED &&
        srv->stats.open <= srv->open_peak / 2) {
        malloc_trim(0);
        srv->open_peak = srv->stats.open;
    }
#endif
}

static void accepting_again(tycho_http_server_t *srv)
{
    if (!srv->accept_paused_at) return;
    tycho_log_info("accepting again", LF_INT("worker", srv->worker_id),
                   LF_INT("paused_ms", (int64_t)(uv_now(srv->loop) - srv->accept_paused_at)),
                   LF_INT("failed_accepts", (int64_t)srv->accept_errors));
    srv->accept_paused_at = 0;
}

static void accept_all(tycho_http_server_t *srv)
{
    while (!srv->draining) {
        if (srv->stats.open >= srv->max_conns) {
            /* Leave the rest in the backlog; a closing connection resumes. */
            uv_poll_stop(&srv->listener);
            srv->accept_pending = 1;
            return;
        }
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            accepting_again(srv);
            return;
        }
        if (fd < 0) {
            int err = errno;
            if (!srv->accept_paused_at) {
                srv->accept_paused_at = uv_now(srv->loop);
                srv->accept_errors = 0;
                tycho_log_warn(err == EMFILE || err == ENFILE
                                   ? "out of file descriptors: accepting paused"
                                   : "accept failed: accepting paused",
                               LF_STR("error", strerror(err)), LF_INT("worker", srv->worker_id),
                               LF_INT("open_connections", srv->stats.open));
            }
            srv->accept_errors++;
            uv_poll_stop(&srv->listener);
            uv_timer_start(&srv->accept_timer, on_accept_timer, ACCEPT_BACKOFF_MS, 0);
            return;
        }
        accepting_again(srv);
        tycho_conn_accept_fd(srv, fd);
        if (srv->stats.open > srv->open_peak) srv->open_peak = srv->stats.open;
    }
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    tycho_http_server_t *srv = p->data;
    if (status < 0) {
        tycho_log_warn("listener poll failed", LF_STR("error", uv_strerror(status)),
                       LF_INT("worker", srv->worker_id));
        uv_timer_start(&srv->accept_timer, on_accept_timer, ACCEPT_BACKOFF_MS, 0); /* retry */
        return;
    }
    accept_all(srv);
}

static void server_accept(tycho_http_server_t *srv)
{
    if (srv->draining || !srv->listening) return;
    if (uv_poll_start(&srv->listener, UV_READABLE, on_readable) != 0) return;
    accept_all(srv);
}

int tycho_http_server_start(tycho_http_server_t *srv, uv_loop_t *loop, const tycho_config_t *cfg,
                            int fd, tycho_handler_t handler, int worker_id)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->cfg = cfg;
    srv->handler = handler;
    srv->worker_id = worker_id;
    srv->max_conns = cfg->max_connections;
    srv->limits =
        (tycho_http_limits_t){cfg->max_header_bytes, cfg->max_uri_bytes, cfg->max_body_bytes};
    srv->listen_fd = fd;
    tycho_block_pool_init(&srv->read_buffers, TYCHO_CONN_READ_BUFFER);
    tycho_block_pool_init(&srv->header_arrays, sizeof(tycho_http_fields_t));
    /* listening already (listen_socket.c); uv_poll_init makes it non-blocking */
    int rc = uv_poll_init(loop, &srv->listener, fd);
    if (rc) {
        close(fd);
        return rc;
    }
    uv_timer_init(loop, &srv->accept_timer);
    srv->listener.data = srv->accept_timer.data = srv;
    srv->listener_handles = 2;
    srv->listening = 1;
    if ((rc = uv_poll_start(&srv->listener, UV_READABLE, on_readable)) == 0) return 0;
    srv->draining = 1; /* no on_empty: nobody waits for this server */
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    uv_close((uv_handle_t *)&srv->accept_timer, on_listener_closed);
    return rc;
}

/* Closing a listening socket resets the connections still queued in its
 * backlog: clients whose handshake completed and who sent a request would see
 * a reset. Take them first, so they are answered (with Connection: close). */
static void accept_backlog(tycho_http_server_t *srv)
{
    while (srv->stats.open < srv->max_conns) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return; /* EAGAIN: empty; anything else: leave it to the close */
        }
        tycho_conn_accept_fd(srv, fd);
    }
}

void tycho_http_server_drain(tycho_http_server_t *srv)
{
    if (srv->draining) return;
    srv->draining = 1;
    if (srv->listening && !uv_is_closing((uv_handle_t *)&srv->listener)) {
        accept_backlog(srv);
        uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
        uv_close((uv_handle_t *)&srv->accept_timer, on_listener_closed);
    }
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        tycho_conn_drain(c);
    }
    free_pools_if_done(srv);
}

void tycho_http_server_abort(tycho_http_server_t *srv)
{
    tycho_http_server_drain(srv);
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        tycho_conn_close(c);
    }
}
