#define _GNU_SOURCE /* accept4 */
#include "http/server.h"

#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static void on_listener_closed(uv_handle_t *h)
{
    tycho_http_server_t *srv = h->data;
    srv->listening = 0;
    if (srv->draining && !srv->conns && srv->on_empty) srv->on_empty(srv);
}

static void on_connection(uv_stream_t *listener, int status)
{
    tycho_http_server_t *srv = listener->data;
    if (status < 0) {
        /* EMFILE/ENFILE: libuv's reserve-fd trick already shed the connection;
         * say so and keep listening. */
        tycho_log_warn("accept failed", LF_STR("error", uv_strerror(status)),
                       LF_INT("worker", srv->worker_id));
        return;
    }
    if (srv->stats.open >= srv->max_conns) {
        /* Leave it in the backlog: libuv stops polling the listener until we
         * accept, so there is no busy loop. A closing connection accepts it. */
        srv->accept_pending = 1;
        return;
    }
    tycho_conn_accept(srv);
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
    int rc = uv_tcp_init(loop, &srv->listener);
    if (rc) return rc;
    srv->listener.data = srv;
    if ((rc = uv_tcp_open(&srv->listener, fd)) == 0 &&
        (rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_connection)) == 0) {
        srv->listening = 1;
        return 0;
    }
    uv_close((uv_handle_t *)&srv->listener, NULL);
    return rc;
}

/* Closing a listening socket resets the connections still queued in its
 * backlog: clients whose handshake completed and who sent a request would see
 * a reset. Take them first, so they are answered (with Connection: close). */
static void accept_backlog(tycho_http_server_t *srv)
{
    uv_os_fd_t lfd;
    if (uv_fileno((uv_handle_t *)&srv->listener, &lfd) != 0) return;
    while (srv->stats.open < srv->max_conns) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
    }
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        tycho_conn_drain(c);
    }
}

void tycho_http_server_abort(tycho_http_server_t *srv)
{
    tycho_http_server_drain(srv);
    for (tycho_conn_t *c = srv->conns, *next; c; c = next) {
        next = tycho_conn_next(c);
        tycho_conn_close(c);
    }
}
