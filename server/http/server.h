/* server — one HTTP/1.1 server on one libuv loop: a listening socket, its
 * connections, and the handler requests are dispatched to. A worker's public
 * listener and the admin listener are each one of these. Everything here runs
 * on the loop's thread; nothing is shared with another server. */
#ifndef TYCHO_HTTP_SERVER_H
#define TYCHO_HTTP_SERVER_H

#include "core/config.h"
#include "http/block_pool.h"
#include "http/exchange.h"
#include "http/parser.h"

#include <stdint.h>
#include <uv.h>

typedef struct tycho_conn tycho_conn_t;
typedef struct tycho_http_server tycho_http_server_t;

/* Called once per request when its response is written whole (cut NULL;
 * bytes_out: head and body), or when the connection closed before that:
 * while the request was still arriving (x has no route, and its request
 * line and headers only once they were read), while its handler ran, or
 * while its response was being written (bytes_out: what was written). cut
 * says why: one of tycho_http_cut_reasons (http/exchange.h), or "shutdown" (the server
 * stopped without a drain: another worker failed to start). An answer the
 * engine writes itself (400, 408, 413, 431...) is a response, not a cut.
 * For the access log and metrics; x is valid only during the call. */
typedef void (*tycho_http_observer_fn)(void *ud, const tycho_exchange_t *x, size_t bytes_in,
                                       size_t bytes_out, const char *cut);

typedef struct tycho_http_stats {
    uint64_t accepted, closed, requests;
    uint64_t send_timeouts; /* connections closed by TYCHO_SEND_TIMEOUT */
    int64_t open, in_flight;
} tycho_http_stats_t;

struct tycho_http_server {
    uv_loop_t *loop;
    /* Accepting is done here, not by uv_listen (server.c says why): a poll on
     * the listening socket and a timer that resumes it after a backoff. */
    uv_poll_t listener;
    uv_timer_t accept_timer;
    uv_os_fd_t listen_fd;
    int listener_handles;        /* listener + accept_timer not yet closed */
    uint64_t accept_paused_at;   /* loop time (ms) accepting stopped on an error, 0 = accepting */
    unsigned long accept_errors; /* failed accepts since then */
    const tycho_config_t *cfg;
    tycho_http_limits_t limits;
    tycho_http_body_budget_t body_budget; /* TYCHO_MAX_BODY_MEMORY, over its connections */
    tycho_handler_t handler;
    tycho_http_observer_fn observer;
    void *observer_ud;
    int worker_id;
    int max_conns;
    int accept_pending; /* connections wait in the backlog while at max_conns */
    int64_t open_peak;  /* most connections open since memory was last trimmed */
    int listening;
    int draining;
    tycho_conn_t *conns; /* all open connections */
    tycho_http_stats_t stats;
    /* Blocks requests borrow from their connection's start of reading until
     * it goes idle (http/block_pool.h): read buffers of
     * TYCHO_CONN_READ_BUFFER bytes and parser header arrays. Emptied when the
     * last connection of a draining server closes. */
    tycho_block_pool_t read_buffers, header_arrays;
    void (*on_empty)(tycho_http_server_t *srv); /* draining and the last connection closed */
};

/* The request limits cfg sets (what each connection's parser enforces). */
tycho_http_limits_t tycho_http_limits_of(const tycho_config_t *cfg);

/* Starts serving on an already bound listening socket fd (ownership moves to
 * the server). Returns 0 or a negative libuv error. */
int tycho_http_server_start(tycho_http_server_t *srv, uv_loop_t *loop, const tycho_config_t *cfg,
                            int fd, tycho_handler_t handler, int worker_id);
/* Stops accepting (connections already queued in the backlog are still
 * served), drains each connection (tycho_conn_drain) and fires on_empty when
 * none remain. */
void tycho_http_server_drain(tycho_http_server_t *srv);
/* What an abort closed: connections, and requests among them still being
 * received, whose handler was still running (cancelled) or whose response
 * was still being written. */
typedef struct tycho_http_cut {
    size_t connections, requests;
} tycho_http_cut_t;
/* Closes every connection now, cancelling in-flight requests with reason
 * (their error.type, "drain_timeout"...). */
tycho_http_cut_t tycho_http_server_abort(tycho_http_server_t *srv, const char *reason);

/* A connection is gone (called by http/conn.c once its memory is freed):
 * resumes accepting if max_conns had paused it, hands memory back to the
 * system after a burst of connections ended, and frees the block pools once
 * a drain has closed the last connection. */
void tycho_http_server_conn_closed(tycho_http_server_t *srv);

/* Connection side (http/conn.c), called by the server. */
/* A connection's first read buffer (it may grow past it for a large head). */
#define TYCHO_CONN_READ_BUFFER (16 * 1024)
/* Serves an already accepted socket (ownership moves; closed on failure). */
void tycho_conn_accept_fd(tycho_http_server_t *srv, int fd);
/* Drains c, so that no request a client already sent and the server took is
 * lost (RFC 9112 9.3.2: a client cannot safely resend a POST it pipelined).
 * A connection takes no more bytes once a request is with its handler (at
 * once if one is; what it reads then is dropped, the socket is still read
 * for the client's reset or EOF). Every request already whole in what it
 * took is then answered in order (one the parser refuses, with its error),
 * and the response to the last of them carries Connection: close (then the
 * lingering close). Bytes that came later, and a partial request at the end
 * of what it took, get no answer: the client sees the close after that
 * response, and that nothing behind it was processed. A request being
 * received is read to its end; an idle connection (or one whose keep-alive
 * response is being written) waits up to 0.5 s (at most the keep-alive
 * timeout) for a request already on its way. The usual Connection: close
 * cases hold (HTTP/1.0 without keep-alive, a request's Connection: close, a
 * body left unread, the client's EOF): nothing is answered after them. The
 * drain timeout (tycho_http_server_abort) bounds it all. Called again by the
 * connection when a response ends while draining. */
void tycho_conn_drain(tycho_conn_t *c);
/* Closes c: the client went away (a request being handled is cancelled,
 * reason "client_closed"). */
void tycho_conn_close(tycho_conn_t *c);
/* Closes c, cutting a request being received, cancelling one being
 * handled, or cutting a response being written, with reason. 0: c was
 * closing already; 1: closed; 2: closed and a request cut. */
int tycho_conn_abort(tycho_conn_t *c, const char *reason);
tycho_conn_t *tycho_conn_next(tycho_conn_t *c);

#endif
