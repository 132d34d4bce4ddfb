/* exchange — one HTTP request and its response, and the dispatch interface
 * between the HTTP engine and an application (the Lua runtime, or a built-in
 * handler). Threading: an exchange lives on one worker thread; every call
 * below is made on that thread.
 *
 * Lifecycle: the owner (a connection, or the in-process test harness) fills
 * x->req and calls handler->dispatch(ctx, x). The handler fills x->res and
 * calls tycho_exchange_finish(x) exactly once, at once or later from the loop.
 * If the owner has to drop the exchange before that (client gone, shutdown
 * deadline), it fills x->cancel and calls handler->cancel(ctx, x); after
 * cancel the handler must
 * never touch x again and must not call finish. All request slices stay
 * valid until finish or cancel. */
#ifndef TYCHO_EXCHANGE_H
#define TYCHO_EXCHANGE_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tycho_slice {
    const char *p;
    size_t n;
} tycho_slice_t;

typedef struct tycho_header {
    tycho_slice_t name;
    tycho_slice_t value;
} tycho_header_t;

typedef struct tycho_request {
    tycho_slice_t method; /* upper case token, e.g. "GET" */
    tycho_slice_t target; /* raw request-target as received */
    tycho_slice_t path;   /* percent-encoded path, starts with '/', no query */
    tycho_slice_t query;  /* after '?', without it; n == 0 when absent */
    int http_minor;       /* HTTP/1.<minor>: 0 or 1 */
    const tycho_header_t *headers;
    size_t nheaders;
    tycho_slice_t body;     /* complete body (chunked bodies are de-chunked) */
    const char *request_id; /* NUL-terminated; incoming X-Request-Id or generated */
    const char *peer_ip;    /* NUL-terminated socket peer address ("" in-process) */
    int peer_port;
    const char *local_ip; /* NUL-terminated address the request arrived on */
    int local_port;
    uint64_t start_ns; /* monotonic clock (uv_hrtime) when the request was complete */
} tycho_request_t;

/* The Content-Length a response announces. Only a HEAD route's answer has a
 * choice (RFC 9110 8.6, 9.3.2: announce what a GET would, or nothing): the
 * length its handler stated, or none when it gave neither that nor a body. */
typedef enum {
    TYCHO_LENGTH_BODY = 0, /* the body's (the default) */
    TYCHO_LENGTH_NONE,     /* no Content-Length */
    TYCHO_LENGTH_STATED    /* stated_length */
} tycho_length_t;

typedef struct tycho_response {
    int status;         /* 100..599; only 200..599 can end a request (conn.c) */
    tycho_buf_t header; /* "Name: value\r\n" lines, added through tycho_response_add_header */
    tycho_buf_t body;
    tycho_length_t length;
    uint64_t stated_length; /* with TYCHO_LENGTH_STATED */
    unsigned has_content_type : 1;
} tycho_response_t;

/* Why a connection's owner cuts a request before its whole answer went out,
 * while the server serves: the client closed or reset the connection (or a
 * write to it failed), its response made no write progress for
 * TYCHO_SEND_TIMEOUT, the shutdown's drain timeout closed it. (A server
 * that stops without a drain says "shutdown".) */
#define TYCHO_HTTP_CUT_NREASONS 3
extern const char *const tycho_http_cut_reasons[TYCHO_HTTP_CUT_NREASONS];

typedef struct tycho_exchange tycho_exchange_t;
typedef void (*tycho_exchange_finish_fn)(tycho_exchange_t *x);

struct tycho_exchange {
    tycho_request_t req;
    tycho_response_t res;
    const char *route;  /* matched route pattern (for metrics/spans); NULL when none */
    void *handler_data; /* the handler's, for the exchange's lifetime */
    void *telemetry;    /* per-request telemetry state (span), owned by the telemetry module */
    tycho_exchange_finish_fn on_finish; /* the owner's: called by tycho_exchange_finish */
    void *owner;                        /* the owner's */
    /* set by the owner before handler->cancel: why it dropped the exchange
     * (tycho_http_cut_reasons, a span's error.type) and the bytes of the
     * request it had received */
    struct {
        const char *reason;
        size_t bytes_in;
    } cancel;
    unsigned finished : 1;
};

typedef struct tycho_handler {
    void (*dispatch)(void *ctx, tycho_exchange_t *x);
    void (*cancel)(void *ctx,
                   tycho_exchange_t *x); /* may be NULL if dispatch always finishes at once */
    void *ctx;
    /* The final status dispatch would answer req with from its head alone,
     * running no handler and reading no body (no route: 404, 405), else 0.
     * An Expect: 100-continue request then gets that answer instead of
     * 100 Continue. req has no body yet. May be NULL (always 0). */
    int (*final_status)(void *ctx, const tycho_request_t *req);
} tycho_handler_t;

/* First header with this name (case-insensitive), or NULL. */
const tycho_slice_t *tycho_request_header(const tycho_request_t *req, const char *name);

/* Adds a response header after validating it (http/field.h): the name must
 * be an RFC 9110 token, the value must hold no control character but tab
 * (CR, LF, NUL, 0x7F...). Framing and
 * hop-by-hop headers (Content-Length, Transfer-Encoding, Connection,
 * Keep-Alive, Upgrade, TE, Trailer, Proxy-Connection) and the others the
 * engine writes (Date, Server, X-Request-Id) are refused.
 * Returns 0, -EINVAL (bad name/value; *why says which) or -ENOMEM. */
int tycho_response_add_header(tycho_response_t *res, const char *name, size_t nlen,
                              const char *value, size_t vlen, const char **why);
/* Adds "Content-Type: <value>" without the validation pass, for a value the
 * server itself chose (a literal such as "application/json"), never one from
 * a handler: the per-request default of every Lua answer. 0 or -ENOMEM. */
int tycho_response_add_own_content_type(tycho_response_t *res, const char *value, size_t vlen);
int tycho_response_set_body(tycho_response_t *res, const void *p, size_t n);
/* A JSON error body {"error": msg, "request_id": id} with the given status. */
int tycho_response_set_error(tycho_response_t *res, int status, const char *msg,
                             const char *request_id);
/* The same with msg of len bytes, NUL bytes included (written \u0000). */
int tycho_response_set_error_n(tycho_response_t *res, int status, const char *msg, size_t len,
                               const char *request_id);
void tycho_response_reset(tycho_response_t *res);
void tycho_response_free(tycho_response_t *res);

/* Marks the exchange done and hands it back to its owner. Once only. */
void tycho_exchange_finish(tycho_exchange_t *x);

#endif
