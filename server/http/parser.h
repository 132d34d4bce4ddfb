/* parser — HTTP/1.1 request framing on llhttp (strict mode), with the limits
 * and the RFC 9112 checks tycho enforces (Host rules, Transfer-Encoding,
 * smuggling vectors, target forms, Expect). Pure: no I/O, no loop; one parser
 * per connection, used on the connection's thread.
 *
 * The caller appends bytes to its own buffer and calls execute() on the
 * unparsed part. When a request is complete, execute() returns
 * TYCHO_PARSE_REQUEST and stops; the request stays valid (it owns copies of
 * the header block and body) until the next execute() or reset. */
#ifndef TYCHO_HTTP_PARSER_H
#define TYCHO_HTTP_PARSER_H

#include "core/buf.h"
#include "http/block_pool.h"
#include "http/exchange.h"

#include <llhttp.h>
#include <stddef.h>

#define TYCHO_MAX_HEADERS 100

typedef struct tycho_http_limits {
    size_t max_header_bytes; /* request line + header section, 431 past it */
    size_t max_uri_bytes;    /* request-target, 414 past it */
    size_t max_body_bytes;   /* body (decoded), 413 past it */
} tycho_http_limits_t;

/* The request-body bytes all the parsers of one server (a worker's
 * connections) hold at once, bodies being received and bodies of requests
 * being handled: a request whose body would take used past max is refused
 * with 503 as its bytes arrive (each connection may take max_body_bytes,
 * but thousands of connections at once must not take the worker's memory). */
typedef struct tycho_http_body_budget {
    size_t used, max;
} tycho_http_body_budget_t;

typedef enum {
    TYCHO_PARSE_MORE,             /* all input consumed, request incomplete */
    TYCHO_PARSE_HEADERS_CONTINUE, /* headers done with Expect: 100-continue; send 100 then call
                                     again */
    TYCHO_PARSE_REQUEST,          /* a complete request is ready */
    TYCHO_PARSE_ERROR,            /* error_status/error_reason set; close after answering */
} tycho_parse_result_t;

typedef struct span_off {
    size_t off, len;
} span_off_t;

typedef struct tycho_http_fields {
    span_off_t name[TYCHO_MAX_HEADERS], value[TYCHO_MAX_HEADERS];
    /* + 1: the Host an absolute-form target gives a request without one */
    tycho_header_t headers[TYCHO_MAX_HEADERS + 1];
} tycho_http_fields_t;

typedef struct tycho_http_parser {
    llhttp_t ll;
    tycho_http_limits_t limits;
    /* request being assembled: offsets into the caller's buffer until the
     * header section completes, then into `head` */
    const char *base;
    span_off_t method, url;
    /* header offsets and the finished header slices: taken when a request
     * starts and released by tycho_http_parser_next, so an idle keep-alive
     * connection does not carry them */
    tycho_http_fields_t *f;
    /* where f comes from and goes back to (blocks of sizeof *f): the
     * server's, set by the caller after init; NULL = malloc and free */
    tycho_block_pool_t *fields_pool;
    /* the server's budget for bodies (set by the caller after init; NULL =
     * none) and what this parser's body holds of it */
    tycho_http_body_budget_t *body_budget;
    size_t body_held;
    size_t nheaders;
    int in_value;     /* last callback was a header value */
    size_t msg_start; /* offset of the first byte of the request in the caller's buffer */
    int in_message;   /* a request line has started */
    int headers_done;
    int expect_continue;
    int host_count;
    size_t header_bytes_at_end;
    /* the last chunk was read (set in on_chunk_header, taken by execute),
     * then the trailer section is being read: where it starts in the
     * caller's buffer, the field line being read (the fields are dropped,
     * each one checked as a header field is) and the section's last two
     * bytes so far */
    int trailer_next, in_trailer;
    size_t trailer_start;
    span_off_t trailer_name, trailer_value;
    char trailer_tail[2];
    size_t fed_end;         /* end of the bytes llhttp was given last, in the caller's buffer */
    size_t chunk_ext_bytes; /* chunk extensions seen (dropped too) */
    tycho_buf_t head;       /* copy of the request line + headers */
    tycho_buf_t body;
    /* the finished request (slices into head/body and f->headers) */
    tycho_request_t req;
    /* its absolute-form target's host[:port] (a slice of req.target, what
     * Host now says), else empty */
    tycho_slice_t authority;
    int keep_alive;
    /* llhttp rejected the method: the rest of its token is being read for the
     * verdict (501 or 400), method_token_len bytes of it so far */
    int judging_method;
    size_t method_token_len;
    int error_status;
    const char *error_reason;
} tycho_http_parser_t;

void tycho_http_parser_init(tycho_http_parser_t *p, const tycho_http_limits_t *limits);
void tycho_http_parser_free(tycho_http_parser_t *p);

/* Parses buf[from, len). base..len is the caller's whole buffer; bytes before
 * `from` of the header or trailer section being read must stay in place until
 * the section is complete (tycho_http_parser_mid_section tells when it is
 * safe to discard them). *consumed = bytes parsed from `from`. */
tycho_parse_result_t tycho_http_parser_execute(tycho_http_parser_t *p, const char *base,
                                               size_t from, size_t len, size_t *consumed);
/* 1 while a request's header section or trailer section is partly received
 * (at most max_header_bytes of it): the caller must keep the bytes from
 * tycho_http_parser_section_start() on. */
int tycho_http_parser_mid_section(const tycho_http_parser_t *p);
size_t tycho_http_parser_section_start(const tycho_http_parser_t *p);
/* Tells the parser the caller moved its buffer's content `shift` bytes left. */
void tycho_http_parser_shift(tycho_http_parser_t *p, size_t shift);
/* After TYCHO_PARSE_REQUEST: ready for the next request on the connection;
 * the request's body memory is freed. */
void tycho_http_parser_next(tycho_http_parser_t *p);

/* Whether base[from, len) starts with a whole request, framed as a
 * connection's parser frames it from a request boundary: 1 when its parser
 * would return TYCHO_PARSE_REQUEST (after a 100 Continue, if asked for) or
 * TYCHO_PARSE_ERROR (an error the connection answers), 0 when the bytes end
 * first (none, or a partial request). A parser of its own reads the bytes;
 * the server's body budget is not consulted (a body it would refuse is
 * answered 503: whole all the same). For a drain (http/conn.c): which
 * pipelined requests already read are answered. */
int tycho_http_parser_whole_request(const tycho_http_limits_t *limits, const char *base,
                                    size_t from, size_t len);

/* A request line as an in-process request (tycho.test) would send it:
 * method and target in. Out: when the server takes the line, the target's
 * path and query (slices of target, or a static "/"), its authority (an
 * absolute-form target's host[:port], a slice of target: the request's Host
 * whatever Host says, RFC 9112 3.2.2; else empty) and status 0; when it
 * refuses it, the status and reason (static) it answers with. */
typedef struct tycho_request_line {
    tycho_slice_t method, target;
    tycho_slice_t path, query, authority;
    int status;
    const char *reason;
} tycho_request_line_t;

/* Applies the server's request-line checks (method token, target bytes and
 * form, limits->max_uri_bytes) by parsing "method SP target SP HTTP/1.1"
 * as a connection's parser does. 0 with the verdict in line; -ENOMEM;
 * -EINVAL when the bytes are not one request line (CR or LF in them). */
int tycho_http_parser_check_request_line(const tycho_http_limits_t *limits,
                                         tycho_request_line_t *line);

#endif
