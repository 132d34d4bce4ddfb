/* conn — one client connection: reads into a per-connection buffer, frames
 * requests with the parser, dispatches one exchange at a time (pipelined
 * requests wait in the buffer, so responses go out in order), writes each
 * response with one uv_write of two iovecs, and enforces the timeouts. An
 * exchange ends when its response is written whole (or cut): only then does
 * the observer hear of it and the next request start. */
#include "core/log.h"
#include "http/request_id.h"
#include "http/response_head.h"
#include "http/server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum state {
    IDLE,    /* between requests (keep-alive timeout runs) */
    READING, /* part of a request received (header or body timeout runs) */
    ACTIVE,  /* a request is with the handler */
    WRITING, /* its response is being written (send timeout runs); the next request waits */
    LINGER,  /* final response sent, FIN sent, draining what the client still sends */
};

/* Room wanted for each read; a read buffer starts at two of them. */
#define READ_CHUNK (TYCHO_CONN_READ_BUFFER / 2)
#define LINGER_MS 1000
/* A response being written is checked for progress this many times per
 * send_timeout: a write stalled since just after a check is cut at most a
 * quarter of the timeout late. */
#define SEND_CHECKS 4
/* On a drain, an idle keep-alive connection stays open this long: a request
 * already on its way is answered (with Connection: close) rather than meeting
 * a closed socket; a client that keeps sending never sees the race. */
#define DRAIN_IDLE_GRACE_S 0.5

typedef struct write_req {
    uv_write_t req;
    tycho_conn_t *conn;
    tycho_buf_t head;
    tycho_buf_t body;
    int response; /* the exchange's response, not a 100 Continue */
} write_req_t;

struct tycho_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    tycho_http_server_t *srv;
    tycho_conn_t *prev, *next;
    tycho_http_parser_t parser;
    char *rbuf;
    size_t rlen, rcap, rpos;
    tycho_exchange_t x;
    enum state state;
    int closing, handles_open, in_process, read_paused, close_after_response, writes_pending;
    int peer_eof;     /* the client half-closed: answer what it sent, then close */
    int reads_over;   /* a drain ended its reading: bytes read now are dropped */
    int body_phase;   /* the body timeout is armed for the current request */
    int keep_alive;   /* the response being written leaves the connection open */
    int write_failed; /* its write failed (its unsent bytes are unknown) */
    size_t bytes_in;
    size_t bytes_out;       /* the response being written: head and body */
    size_t send_left;       /* bytes of it still queued at the last progress check */
    uint64_t send_progress; /* loop time (ms) the write last made progress */
    uint64_t first_byte_ns; /* uv_hrtime when the request being read started */
    uint64_t accepted_ms;   /* loop time (ms) of the accept */
    int started_one;        /* a request has started on this connection */
    write_req_t *spare;
    char request_id[TYCHO_REQUEST_ID_MAX + 1];
    char peer_ip[46], local_ip[46];
    int peer_port, local_port;
};

static void process(tycho_conn_t *c);
static void start_reading(tycho_conn_t *c);
static size_t read_cap(const tycho_conn_t *c);
static void end_exchange(tycho_conn_t *c, size_t bytes_out, const char *cut);

/* Bytes of the response being written that are still queued. */
static size_t queued(tycho_conn_t *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

tycho_conn_t *tycho_conn_next(tycho_conn_t *c)
{
    return c->next;
}

static uint64_t ms(double seconds)
{
    return (uint64_t)(seconds * 1000.0 + 0.5);
}

/* A read buffer of the pool's size goes back to it; one grown past that
 * (a large header section) is freed. */
static void give_read_buffer(tycho_conn_t *c)
{
    if (c->rcap == TYCHO_CONN_READ_BUFFER)
        tycho_block_pool_give(&c->srv->read_buffers, c->rbuf);
    else
        free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = c->rlen = c->rpos = 0;
}

static void write_req_free(write_req_t *w)
{
    if (!w) return;
    tycho_buf_free(&w->head);
    tycho_buf_free(&w->body);
    free(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    tycho_conn_t *c = h->data;
    if (--c->handles_open > 0) return;
    tycho_http_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    srv->stats.open--;
    srv->stats.closed++;
    tycho_http_parser_free(&c->parser);
    tycho_response_free(&c->x.res);
    write_req_free(c->spare);
    give_read_buffer(c);
    free(c);
    tycho_http_server_conn_closed(srv);
    if (srv->draining && !srv->conns && !srv->listening && srv->on_empty) srv->on_empty(srv);
}

/* A request has started arriving and is not yet with the handler: its
 * first bytes are in (READING), or a pipelined one was cut short by the
 * client's EOF (IDLE, some of it parsed). */
static int receiving(const tycho_conn_t *c)
{
    return (c->state == READING || c->state == IDLE) && c->bytes_in > 0;
}

static void engine_request(tycho_conn_t *c, uint64_t start_ns);

int tycho_conn_abort(tycho_conn_t *c, const char *reason)
{
    if (c->closing) return 0;
    c->closing = 1;
    int cut = (c->state == ACTIVE && !c->x.finished) || c->state == WRITING || receiving(c);
    if (receiving(c)) {
        /* no answer, not even the engine's: the observer hears of it as of
         * any request cut (a 408 or a 413 would have been an answer) */
        engine_request(c, c->state == READING ? c->first_byte_ns : uv_hrtime());
        end_exchange(c, 0, reason);
    } else if (c->state == ACTIVE && !c->x.finished) {
        c->x.finished = 1;
        c->srv->stats.in_flight--;
        c->x.cancel.reason = reason;
        c->x.cancel.bytes_in = c->bytes_in;
        if (c->srv->handler.cancel) c->srv->handler.cancel(c->srv->handler.ctx, &c->x);
    } else if (c->state == WRITING) {
        size_t left = queued(c); /* a 100 Continue still queued counts as unsent */
        /* A write that failed (the client reset) has left libuv's queue
         * (before its callback runs): what it still held is unknown, so the
         * count of the last progress check (start_send_timer, on_send_check)
         * stands, the bytes known to have gone. */
        if (left == 0 && (c->writes_pending || c->write_failed)) left = c->send_left;
        end_exchange(c, left < c->bytes_out ? c->bytes_out - left : 0, reason);
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    return cut ? 2 : 1;
}

void tycho_conn_close(tycho_conn_t *c)
{
    /* the client went away (a reset, a write error, responses left unread)
     * while the handler ran */
    tycho_conn_abort(c, "client_closed");
}

static void on_timeout(uv_timer_t *t);

static void arm_timer(tycho_conn_t *c, double seconds)
{
    uv_timer_start(&c->timer, on_timeout, ms(seconds), 0);
}

/* --- writing ------------------------------------------------------------ */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    tycho_conn_t *c = req->data;
    free(req);
    if (status < 0 || c->closing) {
        tycho_conn_close(c);
        return;
    }
    /* Lingering close: read and drop what the client still sends, so the
     * kernel does not answer it with a RST that could destroy our response. */
    c->state = LINGER;
    uv_timer_start(&c->timer, on_timeout, LINGER_MS, 0);
    start_reading(c);
}

static void finish_close(tycho_conn_t *c)
{
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(req);
        tycho_conn_close(c);
        return;
    }
    req->data = c;
}

/* The exchange's response is written whole: the exchange ends, and the
 * connection closes or waits for the next request (the keep-alive timeout
 * counts from now, not from when the response was queued). */
static void response_written(tycho_conn_t *c)
{
    end_exchange(c, c->bytes_out, NULL);
    if (!c->keep_alive || (c->peer_eof && c->rpos == c->rlen)) {
        c->state = LINGER;
        finish_close(c);
        return;
    }
    c->state = IDLE;
    arm_timer(c, c->srv->cfg->keepalive_timeout);
    if (c->srv->draining) tycho_conn_drain(c);
    if (!c->in_process) process(c);
}

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    tycho_conn_t *c = w->conn;
    int response = w->response;
    c->writes_pending--;
    if (!c->spare && !c->closing) {
        tycho_buf_reset(&w->head);
        tycho_buf_reset(&w->body);
        c->spare = w;
    } else {
        write_req_free(w);
    }
    if (c->closing) return;
    if (status < 0) {
        c->write_failed = response;
        tycho_conn_close(c);
        return;
    }
    if (response) response_written(c);
}

/* The send timeout (TYCHO_SEND_TIMEOUT): a response whose write made no
 * progress for that long (a client that stopped reading) is cut, so a client
 * cannot pin a response's memory for as long as it keeps the connection
 * open. Progress is what libuv's write queue lost since the last check; a
 * slow reader that keeps reading is never cut. */
static void on_send_check(uv_timer_t *t)
{
    tycho_conn_t *c = t->data;
    uint64_t now = uv_now(c->srv->loop);
    size_t left = queued(c);
    if (left < c->send_left) {
        c->send_left = left;
        c->send_progress = now;
        return;
    }
    if (now - c->send_progress < ms(c->srv->cfg->send_timeout)) return;
    tycho_log_info("send timeout: response cut", LF_STR("client_ip", c->peer_ip),
                   LF_STR("request_id", c->request_id), LF_INT("bytes_unsent", left),
                   LF_DBL("send_timeout_s", c->srv->cfg->send_timeout));
    c->srv->stats.send_timeouts++;
    tycho_conn_abort(c, "send_timeout");
}

static void start_send_timer(tycho_conn_t *c)
{
    uint64_t check = ms(c->srv->cfg->send_timeout) / SEND_CHECKS;
    if (check == 0) check = 1;
    c->send_left = queued(c);
    c->send_progress = uv_now(c->srv->loop);
    uv_timer_start(&c->timer, on_send_check, check, check);
}

static write_req_t *take_write_req(tycho_conn_t *c)
{
    write_req_t *w = c->spare;
    if (w) {
        c->spare = NULL;
        return w;
    }
    w = calloc(1, sizeof *w);
    if (w) w->conn = c;
    return w;
}

/* Queues raw bytes (100 Continue). Returns 0 or -1 (connection closed). */
static int write_raw(tycho_conn_t *c, const char *s, size_t n)
{
    write_req_t *w = take_write_req(c);
    if (!w || tycho_buf_append(&w->head, s, n) != 0) goto fail;
    uv_buf_t b = uv_buf_init(w->head.data, (unsigned)w->head.len);
    w->response = 0;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) goto fail;
    c->writes_pending++;
    return 0;
fail:
    write_req_free(w);
    tycho_conn_close(c);
    return -1;
}

/* Serialises x->res and writes it. With nothing queued, the response goes
 * out through uv_try_write: the socket usually takes it whole, with no write
 * request and no callback, and the exchange ends at once. Otherwise (or for
 * the rest of a partial write) it is queued, the body buffer moves to the
 * write request, and the connection is WRITING until its callback. */
static void send_response(tycho_conn_t *c, int keep_alive)
{
    tycho_exchange_t *x = &c->x;
    write_req_t *w = take_write_req(c);
    int send_body = 0;
    c->state = WRITING; /* a failure below cuts the exchange: tycho_conn_abort */
    c->keep_alive = keep_alive;
    c->bytes_out = 0;
    if (!w || tycho_response_head(&w->head, &x->res, &x->req, keep_alive, &send_body) != 0)
        goto fail;
    uv_buf_t bufs[2] = {uv_buf_init(w->head.data, (unsigned)w->head.len),
                        uv_buf_init(x->res.body.data, (unsigned)x->res.body.len)};
    unsigned nbufs = send_body && x->res.body.len ? 2 : 1;
    size_t out = w->head.len + (nbufs == 2 ? x->res.body.len : 0), done = 0;
    if (!c->writes_pending) {
        int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
        if (n < 0 && n != UV_EAGAIN) goto fail;
        if (n > 0) done = (size_t)n;
    }
    c->bytes_out = out;
    if (done == out) {
        tycho_buf_reset(&w->head);
        c->spare = w; /* take_write_req left it empty */
        response_written(c);
        return;
    }
    tycho_buf_t tmp = w->body; /* swap: the exchange keeps an empty buffer with capacity */
    w->body = x->res.body;
    x->res.body = tmp;
    tycho_buf_reset(&x->res.body);
    uv_buf_t rest[2];
    unsigned nrest = 0;
    for (unsigned i = 0, skip = (unsigned)done; i < nbufs; i++) {
        if (skip >= bufs[i].len) {
            skip -= bufs[i].len;
            continue;
        }
        rest[nrest++] = uv_buf_init(bufs[i].base + skip, bufs[i].len - skip);
        skip = 0;
    }
    w->response = 1;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, rest, nrest, on_write) != 0) {
        c->bytes_out = done; /* what the try took */
        goto fail;
    }
    c->writes_pending++;
    start_send_timer(c);
    return;
fail:
    write_req_free(w);
    tycho_conn_close(c);
}

/* x->req of a request the engine ends without a handler (an error it
 * answers, or one cut while it was being received). Once the header section
 * was read (a body too large or too slow), the request line and headers are
 * the request's: the access line shows them, and an incoming X-Request-Id
 * is kept, as for any request. start_ns: where its duration counts from. */
static void engine_request(tycho_conn_t *c, uint64_t start_ns)
{
    tycho_exchange_t *x = &c->x;
    if (c->parser.in_message && c->parser.headers_done)
        x->req = c->parser.req;
    else
        memset(&x->req, 0, sizeof x->req);
    x->req.http_minor = 1;
    x->route = NULL;
    x->telemetry = NULL;
    tycho_request_id_assign(&x->req, c->request_id);
    x->req.request_id = c->request_id;
    x->req.peer_ip = c->peer_ip;
    x->req.start_ns = start_ns;
}

/* An error the engine answers itself (malformed request, limits, timeouts):
 * the connection closes after the response. */
static void send_error(tycho_conn_t *c, int status, const char *reason)
{
    tycho_exchange_t *x = &c->x;
    /* its duration counts from its first byte (a 408's is the whole wait) */
    engine_request(c, c->state == READING ? c->first_byte_ns : uv_hrtime());
    tycho_response_set_error(&x->res, status, reason, c->request_id);
    tycho_log_info("request rejected", LF_INT("status", status), LF_STR("reason", reason),
                   LF_STR("client_ip", c->peer_ip), LF_STR("request_id", c->request_id));
    c->close_after_response = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    send_response(c, 0);
}

/* --- exchanges ------------------------------------------------------------ */

/* The exchange's response went out whole (cut NULL) or was cut (cut: why,
 * bytes_out: what was written): the observer hears of it, and the parser
 * and the response are ready for the next request. */
static void end_exchange(tycho_conn_t *c, size_t bytes_out, const char *cut)
{
    tycho_exchange_t *x = &c->x;
    tycho_http_server_t *srv = c->srv;
    srv->stats.requests++;
    if (srv->observer) srv->observer(srv->observer_ud, x, c->bytes_in, bytes_out, cut);
    tycho_response_reset(&x->res);
    tycho_http_parser_next(&c->parser);
    c->bytes_in = 0;
}

/* A draining connection takes no more bytes once a request is with its
 * handler (tycho_conn_drain's rule): the requests whole in what it has read
 * are all it answers. The socket is still read, and what comes is dropped,
 * so that a client's reset still cancels the handler (on_read) and its EOF
 * is still seen. */
static void end_reads_for_drain(tycho_conn_t *c)
{
    c->reads_over = 1;
}

/* During a drain: another request is whole in the read buffer, so the
 * response being sent keeps the connection open for it. */
static int whole_request_next(const tycho_conn_t *c)
{
    return tycho_http_parser_whole_request(&c->srv->limits, c->rbuf, c->rpos, c->rlen);
}

static void on_exchange_finish(tycho_exchange_t *x)
{
    tycho_conn_t *c = x->owner;
    tycho_http_server_t *srv = c->srv;
    srv->stats.in_flight--;
    if (c->closing) return;
    if (x->res.status < 200 || x->res.status > 599) {
        /* A 1xx is interim (RFC 9110 15.2): sent as the answer, it would
         * leave the client waiting for the final response. */
        tycho_log_error("handler returned a status that cannot end a request",
                        LF_INT("status", x->res.status), LF_STR("request_id", x->req.request_id));
        tycho_response_set_error(&x->res, 500, "invalid response status", x->req.request_id);
    }
    int keep_alive = c->parser.keep_alive && !c->close_after_response &&
                     !(c->peer_eof && c->rpos == c->rlen) &&
                     (!srv->draining || whole_request_next(c));
    if (!keep_alive) uv_read_stop((uv_stream_t *)&c->tcp);
    send_response(c, keep_alive);
}

static void dispatch(tycho_conn_t *c)
{
    tycho_exchange_t *x = &c->x;
    tycho_http_server_t *srv = c->srv;
    tycho_request_t saved = c->parser.req;
    x->req = saved;
    tycho_request_id_assign(&x->req, c->request_id);
    x->req.request_id = c->request_id;
    x->req.peer_ip = c->peer_ip;
    x->req.peer_port = c->peer_port;
    x->req.local_ip = c->local_ip;
    x->req.local_port = c->local_port;
    x->req.start_ns = uv_hrtime();
    x->route = NULL;
    x->handler_data = NULL;
    x->telemetry = NULL;
    x->finished = 0;
    x->on_finish = on_exchange_finish;
    x->owner = c;
    tycho_response_reset(&x->res);
    c->state = ACTIVE;
    uv_timer_stop(&c->timer);
    if (srv->draining) end_reads_for_drain(c);
    srv->stats.in_flight++;
    srv->handler.dispatch(srv->handler.ctx, x);
}

/* Drops parsed bytes from the front of the read buffer. */
static void compact(tycho_conn_t *c)
{
    size_t keep_from = c->rpos;
    if (tycho_http_parser_mid_section(&c->parser)) {
        size_t start = tycho_http_parser_section_start(&c->parser);
        if (start < keep_from) keep_from = start;
        if (keep_from) tycho_http_parser_shift(&c->parser, keep_from);
    }
    if (keep_from == 0) return;
    memmove(c->rbuf, c->rbuf + keep_from, c->rlen - keep_from);
    c->rlen -= keep_from;
    c->rpos -= keep_from;
}

/* Between requests or reading one: not ACTIVE, WRITING or LINGER. */
static int takes_requests(const tycho_conn_t *c)
{
    return !c->closing && (c->state == IDLE || c->state == READING);
}

/* A request's first bytes arrived (from IDLE): its read timeouts run. The
 * header timeout counts from the first byte, but a new connection's first
 * request has had it running since the accept: the wait for the first byte
 * counts, or a client that sends its first byte just before the timeout
 * (slowloris) would hold the connection for two header timeouts. */
static void start_request(tycho_conn_t *c)
{
    if (c->state != IDLE) return;
    c->state = READING;
    c->body_phase = 0;
    c->first_byte_ns = uv_hrtime();
    uint64_t limit = ms(c->srv->cfg->header_timeout);
    if (!c->started_one) {
        uint64_t waited = uv_now(c->srv->loop) - c->accepted_ms;
        limit = waited < limit ? limit - waited : 1;
    }
    c->started_one = 1;
    uv_timer_start(&c->timer, on_timeout, limit, 0);
}

/* RFC 9110 10.1.1: to an Expect: 100-continue request whose answer is known
 * from its head (no route: 404, 405), the final status goes at once, without
 * 100 Continue and without reading the body. The connection then closes
 * (RFC 9112 9.3 lets a server close rather than read a body it refused):
 * a client that sends the body anyway has it dropped by the lingering close,
 * never parsed, so no request can be smuggled in a body we did not frame.
 * Returns 1 when the request was dispatched that way. */
static int dispatch_without_body(tycho_conn_t *c)
{
    const tycho_handler_t *h = &c->srv->handler;
    if (!h->final_status || !h->final_status(h->ctx, &c->parser.req)) return 0;
    c->parser.req.body = (tycho_slice_t){"", 0};
    c->close_after_response = 1;
    dispatch(c);
    return 1;
}

static void process(tycho_conn_t *c)
{
    tycho_http_server_t *srv = c->srv;
    c->in_process = 1;
    while (takes_requests(c) && c->rpos < c->rlen) {
        size_t used = 0, before = c->rpos;
        tycho_parse_result_t r =
            tycho_http_parser_execute(&c->parser, c->rbuf, c->rpos, c->rlen, &used);
        c->rpos += used;
        c->bytes_in += c->rpos - before;
        if (r == TYCHO_PARSE_MORE) {
            if (c->peer_eof || c->reads_over) { /* the rest of this request will never come */
                tycho_conn_close(c);
                break;
            }
            start_request(c);
            if (c->parser.headers_done && c->parser.in_message && !c->body_phase) {
                c->body_phase = 1;
                arm_timer(c, srv->cfg->body_timeout);
            }
            break;
        }
        if (r == TYCHO_PARSE_HEADERS_CONTINUE) {
            if (dispatch_without_body(c)) continue;
            if (write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) break;
            /* The head may have come in one read from IDLE: the request is
             * under way, so the timeout answers 408 and a drain waits for it. */
            start_request(c);
            c->body_phase = 1;
            arm_timer(c, srv->cfg->body_timeout);
            continue;
        }
        if (r == TYCHO_PARSE_ERROR) {
            send_error(c, c->parser.error_status, c->parser.error_reason);
            break;
        }
        dispatch(c); /* TYCHO_PARSE_REQUEST; may finish synchronously */
    }
    c->in_process = 0;
    if (!c->closing) compact(c);
    if (!takes_requests(c)) return;
    /* An idle keep-alive connection holds no read buffer: the next read
     * takes one (10k idle connections cost their structs, not 16 KiB each). */
    if (c->state == IDLE && c->rlen == 0) give_read_buffer(c);
    if (c->rlen - c->rpos > read_cap(c)) {
        if (!c->read_paused) uv_read_stop((uv_stream_t *)&c->tcp); /* until responses drain */
        c->read_paused = 1;
    } else if (c->read_paused && !c->peer_eof) {
        start_reading(c);
    }
}

/* --- reading ------------------------------------------------------------- */

static size_t read_cap(const tycho_conn_t *c)
{
    /* Unparsed bytes we hold while a request is with its handler. */
    return c->srv->limits.max_header_bytes + 2 * READ_CHUNK;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tycho_conn_t *c = h->data;
    if (!c->rbuf) {
        if (!(c->rbuf = tycho_block_pool_take(&c->srv->read_buffers))) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS: the connection closes */
            return;
        }
        c->rcap = TYCHO_CONN_READ_BUFFER;
    } else if (c->rcap - c->rlen < READ_CHUNK) {
        size_t cap = c->rcap * 2;
        while (cap - c->rlen < READ_CHUNK)
            cap *= 2;
        char *p = realloc(c->rbuf, cap);
        if (!p) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS: the connection closes */
            return;
        }
        c->rbuf = p;
        c->rcap = cap;
    }
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    tycho_conn_t *c = s->data;
    if (n == 0 || c->closing) return;
    if (n < 0) {
        /* A client may shut down its sending side once its requests are out
         * (RFC 9112 9.6): the ones received are still answered. */
        if (n == UV_EOF && (c->state == ACTIVE || c->writes_pending)) {
            c->peer_eof = 1;
            uv_read_stop(s);
            c->read_paused = 0;
            return;
        }
        tycho_conn_close(c);
        return;
    }
    if (c->state == LINGER || c->reads_over) return; /* discard */
    c->rlen += (size_t)n;
    if (c->state == ACTIVE || c->state == WRITING) {
        if (c->rlen - c->rpos > read_cap(c)) {
            uv_read_stop(s); /* back-pressure until the response is out */
            c->read_paused = 1;
        }
        return;
    }
    process(c);
}

static void start_reading(tycho_conn_t *c)
{
    c->read_paused = 0;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) tycho_conn_close(c);
}

static void on_timeout(uv_timer_t *t)
{
    tycho_conn_t *c = t->data;
    if (c->state == READING)
        send_error(c, 408, "request timeout");
    else
        tycho_conn_close(c); /* idle keep-alive, or the end of a lingering close */
}

static void addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, iplen);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, iplen);
        *port = ntohs(a->sin6_port);
        if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.'))
            memmove(ip, ip + 7, strlen(ip + 7) + 1);
    }
}

void tycho_conn_accept_fd(tycho_http_server_t *srv, int fd)
{
    tycho_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        if (fd >= 0) close(fd);
        return;
    }
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->stats.open++;
    srv->stats.accepted++;
    tycho_http_parser_init(&c->parser, &srv->limits);
    c->parser.fields_pool = &srv->header_arrays;
    c->parser.body_budget = &srv->body_budget;
    int rc = uv_tcp_open(&c->tcp, fd);
    if (rc != 0) {
        close(fd);
        tycho_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        addr_text(&ss, c->peer_ip, sizeof c->peer_ip, &c->peer_port);
    len = sizeof ss;
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        addr_text(&ss, c->local_ip, sizeof c->local_ip, &c->local_port);
    c->state = IDLE;
    c->accepted_ms = uv_now(srv->loop);
    arm_timer(c, srv->cfg->header_timeout);
    start_reading(c);
}

void tycho_conn_drain(tycho_conn_t *c)
{
    double grace = c->srv->cfg->keepalive_timeout < DRAIN_IDLE_GRACE_S
                       ? c->srv->cfg->keepalive_timeout
                       : DRAIN_IDLE_GRACE_S;
    if (c->state == IDLE && !c->writes_pending && c->rpos == c->rlen) arm_timer(c, grace);
    if (c->state == ACTIVE) end_reads_for_drain(c);
    /* A request being received is read to its end (dispatch stops reading
     * then); a keep-alive response being written is followed as on an idle
     * connection (response_written calls this again). */
}
