/* http_client — outbound HTTP/1.1 on a libcurl multi handle driven by a libuv
 * loop (sockets watched with uv_poll, curl's timeout with a uv_timer). Never
 * blocks: DNS uses curl's threaded resolver, everything else the loop.
 * Threading: one client per loop; every function must be called on the loop's
 * thread and every callback runs there. Idle connections are kept per client
 * and reused (keep-alive); TLS verifies peers against the system CA store.
 * A completion callback always runs asynchronously (never inside
 * tycho_http_request), exactly once, unless the request is cancelled first. */
#ifndef TYCHO_NET_HTTP_CLIENT_H
#define TYCHO_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

typedef struct tycho_http_client tycho_http_client_t;
typedef struct tycho_http_req tycho_http_req_t;

typedef struct tycho_http_header {
    const char *name;
    const char *value;
} tycho_http_header_t;

typedef struct tycho_http_client_options {
    long max_host_connections;  /* per host:port; 0 = unlimited (requests queue past it) */
    long max_total_connections; /* 0 = unlimited */
    long max_idle_connections;  /* connection cache size; 0 = 64 */
    const char *ca_file;        /* PEM bundle; NULL = the system store */
    const char *user_agent;     /* NULL = "tycho/<version>" */
} tycho_http_client_options_t;

typedef struct tycho_http_request {
    const char *method; /* NULL = "GET" */
    const char *url;    /* http:// or https:// only */
    const tycho_http_header_t *headers;
    size_t nheaders;
    const void *body; /* copied, unless body_kept; may be NULL */
    size_t body_len;
    /* 1: not copied; the caller keeps body unchanged until the callback has
     * run or the request was cancelled (an exporter's batch, which it holds
     * for its retries anyway: no second copy of up to megabytes) */
    int body_kept;
    long connect_timeout_ms;   /* 0 = 5000 */
    long timeout_ms;           /* whole exchange; 0 = 30000 */
    size_t max_response_bytes; /* of the body (a HEAD's Content-Length is not
                                  checked: no body follows); 0 = 16 MiB
                                  (headers: 64 KiB) */
    /* 1: a longer body is no error: its first max_response_bytes are kept
     * (the response says body_truncated), the exchange stops there and the
     * connection is closed — for a caller that decides on the status and
     * reads at most the start of the body (the exporters) */
    int truncate_response;
} tycho_http_request_t;

/* Transport errors (negative); an HTTP status, even 5xx, is not an error. */
enum {
    TYCHO_HTTP_OK = 0,
    TYCHO_HTTP_E_CANCELLED = -1,       /* the client was closed with the request pending */
    TYCHO_HTTP_E_INVALID = -2,         /* bad URL or unsupported scheme */
    TYCHO_HTTP_E_RESOLVE = -3,         /* host name did not resolve */
    TYCHO_HTTP_E_CONNECT = -4,         /* connection refused / unreachable */
    TYCHO_HTTP_E_CONNECT_TIMEOUT = -5, /* no connection within connect_timeout_ms */
    TYCHO_HTTP_E_TIMEOUT = -6,         /* connected, but no full response within timeout_ms */
    TYCHO_HTTP_E_CONNECTION = -7,      /* reset or closed by the peer mid-exchange */
    TYCHO_HTTP_E_TOO_LARGE = -8,       /* body past max_response_bytes, or headers past
                                          64 KiB; aborted */
    TYCHO_HTTP_E_TLS = -9,             /* handshake or certificate verification failed */
    TYCHO_HTTP_E_PROTOCOL = -10,       /* malformed HTTP from the peer (a reply that is
                                          not HTTP/1.x, Content-Length values that
                                          differ among them, a Content-Length
                                          that is not a number, whitespace before
                                          a framing field's colon) */
    TYCHO_HTTP_E_OTHER = -11,
};

/* Valid only during the callback (copy what you keep). */
typedef struct tycho_http_response {
    int error;                 /* TYCHO_HTTP_OK or TYCHO_HTTP_E_* */
    const char *error_message; /* "" when error == 0; never contains header values */
    long status;               /* 0 when error != 0 */
    /* of the final response, in arrival order; obs-fold lines joined, trailer
     * fields of a chunked body left out */
    const tycho_http_header_t *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    int body_truncated;   /* truncate_response: the body went on past body_len */
    double elapsed;       /* seconds from tycho_http_request to completion */
    long new_connections; /* connections this request opened (0 = a reused one) */
} tycho_http_response_t;

typedef void (*tycho_http_done_fn)(const tycho_http_response_t *res, void *ud);

/* Idempotent; called by tycho_http_client_new. Call it early from the main
 * thread when other threads may be using curl already. */
int tycho_http_global_init(void);

/* NULL on failure (out of memory, curl init failed). opts may be NULL. */
tycho_http_client_t *tycho_http_client_new(uv_loop_t *loop,
                                           const tycho_http_client_options_t *opts);

/* Starts a request. 0 and *out (may be NULL) set to a handle valid until the
 * callback returns or tycho_http_cancel is called; -EINVAL (no URL or
 * callback, a header that is not a valid field or that frames the message or
 * is hop-by-hop: http/field.h; curl sets Content-Length and manages the
 * connection; Host may be set), -ENOMEM, -ESHUTDOWN (client closing). On a
 * negative return the callback never runs. Everything in req is copied. */
int tycho_http_request(tycho_http_client_t *c, const tycho_http_request_t *req,
                       tycho_http_done_fn cb, void *ud, tycho_http_req_t **out);

/* Abandons a request (its caller went away): the callback will not run. The
 * handle is freed. A no-op when called on the request whose callback is
 * running. */
void tycho_http_cancel(tycho_http_req_t *r);

/* Closes the client: each pending request's callback runs, before this
 * returns, with TYCHO_HTTP_E_CANCELLED; then the loop handles are closed and
 * the client freed once the loop has run their close callbacks. May be
 * called from inside a completion callback. */
void tycho_http_client_close(tycho_http_client_t *c);

/* Case-insensitive lookup in a response; NULL when absent (first match). */
const char *tycho_http_response_header(const tycho_http_response_t *res, const char *name);

const char *tycho_http_strerror(int error); /* short name: "timeout", "connection refused" */

typedef struct tycho_http_client_stats {
    unsigned long started, completed, cancelled, connections_opened;
    unsigned long pending;
} tycho_http_client_stats_t;
void tycho_http_client_stats(const tycho_http_client_t *c, tycho_http_client_stats_t *out);

#endif
