#define _GNU_SOURCE /* accept4 */
#include "http/server.h"

#include "core/log.h"

#include <errno.h>
#include <linux/filter.h>
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
    if (srv->listen_fd >= 0) close(srv->listen_fd); /* a drain closed it already */
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

tycho_http_limits_t tycho_http_limits_of(const tycho_config_t *cfg)
{
    return (tycho_http_limits_t){cfg->max_header_bytes, cfg->max_uri_bytes, cfg->max_body_bytes};
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
    srv->limits = tycho_http_limits_of(cfg);
    srv->body_budget.max = cfg->max_body_memory;
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

/* A socket filter on a listener that drops SYNs (the TCP header starts the
 * packet the filter sees; byte 13 holds the flags: SYN set, ACK clear). No new
 * handshake starts; the ones under way still complete, since their ACKs pass.
 * A client whose SYN was dropped sends it again a second later and then meets
 * a closed port (refused) or another worker's listener. Best effort: without
 * the filter the race below is only likelier. */
static void refuse_new_handshakes(int fd)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),          /* a SYN: dropped */
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff), /* anything else: whole */
    };
    struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
        tycho_log_warn("listener SYN filter not attached; draining without it",
                       LF_STR("error", strerror(errno)));
}

/* Closing a listening socket resets the connections in its backlog, and the
 * half-open ones: a client sees connect() succeed once the SYN-ACK arrives,
 * sends its request, and gets a reset. So a drain refuses new handshakes,
 * takes what is queued (answered with Connection: close), waits
 * HANDSHAKE_GRACE_MS for the handshakes under way to land in the backlog,
 * takes those, and only then closes the socket. */
#define HANDSHAKE_GRACE_MS 100

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

static void close_listener(tycho_http_server_t *srv)
{
    if (!srv->listening || uv_is_closing((uv_handle_t *)&srv->listener)) return;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    uv_close((uv_handle_t *)&srv->accept_timer, on_listener_closed);
    close(srv->listen_fd); /* now: the close callbacks come later in the loop turn */
    srv->listen_fd = -1;
}

static void on_handshake_grace(uv_timer_t *t)
{
    tycho_http_server_t *srv = t->data;
    accept_backlog(srv);
    close_listener(srv);
}

void tycho_http_server_drain(tycho_http_server_t *srv)
{
    if (srv->draining) return;
    srv->draining = 1;
    if (srv->listening && !uv_is_closing((uv_handle_t *)&srv->listener)) {
        uv_poll_stop(&srv->listener);
        refuse_new_handshakes(srv->listen_fd);
        accept_backlog(srv);
        uv_timer_start(&srv->accept_timer, on_handshake_grace, HANDSHAKE_GRACE_MS, 0);
    }
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        tycho_conn_drain(c);
    }
    free_pools_if_done(srv);
}

tycho_http_cut_t tycho_http_server_abort(tycho_http_server_t *srv, const char *reason)
{
    tycho_http_cut_t cut = {0, 0};
    tycho_http_server_drain(srv);
    close_listener(srv);
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        int r = tycho_conn_abort(c, reason);
        cut.connections += r > 0;
        cut.requests += r == 2;
    }
    return cut;
}
