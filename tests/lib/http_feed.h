/* http_feed — drives tycho_http_parser the way http/conn.c does (one growing
 * read buffer, execute from the unparsed position, compaction that keeps a
 * partly received header or trailer section in place), with no socket and no
 * loop, and writes what happened as a text log: one line per event. Shared
 * by the unit tests (tests/unit/test_http_parser.c) and the fuzzer
 * (tests/fuzz/fuzz_http_request.c): the same bytes split at different points
 * must give the same log.
 *
 * Log lines:
 *   REQ <method> <target> path=<path> query=<query> 1.<minor> ka=<0|1>
 *   H <name>: <value>          (one per header, in order)
 *   B <json string of the body>
 *   CONTINUE                   (a 100 Continue would be sent)
 *   ERR <status>               (the connection answers and closes)
 *   CLOSE                      (the response closes the connection)
 * Each REQ is also answered through tycho_response_head, whose invariants are
 * checked with FEED_CHECK (abort() unless the includer defines it). */
#ifndef TYCHO_TEST_HTTP_FEED_H
#define TYCHO_TEST_HTTP_FEED_H

#include "core/buf.h"
#include "http/parser.h"
#include "http/request_id.h"
#include "http/response_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FEED_CHECK
#define FEED_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FEED_CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
#endif

typedef struct http_feed {
    tycho_http_parser_t parser;
    tycho_http_limits_t limits;
    char *buf;
    size_t len, cap, pos;
    tycho_buf_t log;
    int done; /* error or Connection: close: the connection reads no more */
    int nreq;
    unsigned answer; /* rotates the status used to answer requests */
} http_feed_t;

static inline void feed_init(http_feed_t *f, const tycho_http_limits_t *limits)
{
    memset(f, 0, sizeof *f);
    f->limits = *limits;
    tycho_http_parser_init(&f->parser, limits);
}

static inline void feed_free(http_feed_t *f)
{
    tycho_http_parser_free(&f->parser);
    free(f->buf);
    tycho_buf_free(&f->log);
}

static inline void feed_slice(http_feed_t *f, const char *tag, const tycho_slice_t *s)
{
    tycho_buf_puts(&f->log, tag);
    tycho_buf_append(&f->log, s->p, s->n);
}

static inline int feed_inside(const tycho_slice_t *s, const tycho_buf_t *b)
{
    if (s->n == 0) return 1;
    return b->data && s->p >= b->data && s->p + s->n <= b->data + b->len;
}

/* Checks what the engine relies on, then answers like conn.c would. */
static inline void feed_request(http_feed_t *f)
{
    tycho_http_parser_t *p = &f->parser;
    const tycho_request_t *r = &p->req;
    FEED_CHECK(r->method.n > 0);
    for (size_t i = 0; i < r->method.n; i++)
        FEED_CHECK(r->method.p[i] >= 'A' && r->method.p[i] <= 'Z');
    FEED_CHECK(r->target.n > 0 && r->target.n <= f->limits.max_uri_bytes);
    FEED_CHECK(r->path.n > 0);
    FEED_CHECK(r->path.p[0] == '/' || (r->path.n == 1 && r->path.p[0] == '*'));
    FEED_CHECK(!memchr(r->path.p, '?', r->path.n));
    FEED_CHECK(r->http_minor == 0 || r->http_minor == 1);
    FEED_CHECK(r->body.n <= f->limits.max_body_bytes);
    /* one more than were sent: the Host an absolute-form target adds */
    FEED_CHECK(r->nheaders <= p->nheaders + (p->authority.n > 0) &&
               p->nheaders <= TYCHO_MAX_HEADERS);
    FEED_CHECK(feed_inside(&r->method, &p->head) && feed_inside(&r->target, &p->head));
    FEED_CHECK(r->body.n == 0 || feed_inside(&r->body, &p->body));
    FEED_CHECK(p->head.len <= f->limits.max_header_bytes);
    int hosts = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const tycho_header_t *h = &r->headers[i];
        int added = i == p->nheaders; /* its name is the parser's, not the request's */
        FEED_CHECK(h->name.n > 0 && (feed_inside(&h->name, &p->head) || added));
        FEED_CHECK(feed_inside(&h->value, &p->head) || h->value.n == 0);
        for (size_t k = 0; k < h->value.n; k++) {
            unsigned char c = (unsigned char)h->value.p[k];
            FEED_CHECK(c != '\r' && c != '\n' && c != '\0');
        }
        hosts += h->name.n == 4 && strncasecmp(h->name.p, "host", 4) == 0;
    }
    FEED_CHECK(hosts <= 1 && (hosts == 1 || r->http_minor == 0));

    tycho_buf_printf(&f->log, "REQ ");
    feed_slice(f, "", &r->method);
    feed_slice(f, " ", &r->target);
    feed_slice(f, " path=", &r->path);
    feed_slice(f, " query=", &r->query);
    tycho_buf_printf(&f->log, " 1.%d ka=%d\n", r->http_minor, p->keep_alive);
    for (size_t i = 0; i < r->nheaders; i++) {
        feed_slice(f, "H ", &r->headers[i].name);
        feed_slice(f, ": ", &r->headers[i].value);
        tycho_buf_puts(&f->log, "\n");
    }
    if (r->body.n) {
        tycho_buf_puts(&f->log, "B ");
        tycho_buf_append_json_string(&f->log, r->body.p, r->body.n);
        tycho_buf_puts(&f->log, "\n");
    }

    /* The answer: request id, then the head for a rotating status. */
    static const int statuses[] = {200, 204, 304, 404, 500, 101, 201};
    tycho_request_t req = *r;
    char id[TYCHO_REQUEST_ID_MAX + 1];
    tycho_request_id_assign(&req, id);
    size_t idlen = strlen(id);
    tycho_slice_t ids = {id, idlen};
    FEED_CHECK(tycho_request_id_valid(&ids));
    const tycho_slice_t *in = tycho_request_header(&req, "x-request-id");
    if (in && tycho_request_id_valid(in)) FEED_CHECK(in->n == idlen && !memcmp(in->p, id, idlen));
    req.request_id = id;
    tycho_response_t res = {0};
    tycho_response_reset(&res);
    res.status = statuses[f->answer++ % (sizeof statuses / sizeof *statuses)];
    tycho_response_set_body(&res, r->body.p, r->body.n);
    tycho_buf_t head = TYCHO_BUF_INIT;
    int send_body = -1;
    FEED_CHECK(tycho_response_head(&head, &res, &req, p->keep_alive, &send_body) == 0);
    FEED_CHECK(head.len >= 4 && memcmp(head.data + head.len - 4, "\r\n\r\n", 4) == 0);
    FEED_CHECK(memcmp(head.data, "HTTP/1.1 ", 9) == 0);
    int bodyless = res.status < 200 || res.status == 204 || res.status == 304;
    int is_head = r->method.n == 4 && memcmp(r->method.p, "HEAD", 4) == 0;
    FEED_CHECK(send_body == (!bodyless && !is_head));
    FEED_CHECK((strstr(head.data, "\r\nContent-Length: ") != NULL) == !bodyless);
    FEED_CHECK((strstr(head.data, "\r\nConnection: close\r\n") != NULL) == !p->keep_alive);
    /* exactly one blank line: no header value may smuggle a CRLF */
    FEED_CHECK(strstr(head.data, "\r\n\r\n") == head.data + head.len - 4);
    tycho_buf_free(&head);
    tycho_response_free(&res);
}

/* Drops parsed bytes from the front of the buffer, as conn.c's compact(). */
static inline void feed_compact(http_feed_t *f)
{
    size_t keep_from = f->pos;
    if (tycho_http_parser_mid_section(&f->parser)) {
        size_t start = tycho_http_parser_section_start(&f->parser);
        if (start < keep_from) keep_from = start;
        if (keep_from) tycho_http_parser_shift(&f->parser, keep_from);
    }
    if (keep_from == 0) return;
    memmove(f->buf, f->buf + keep_from, f->len - keep_from);
    f->len -= keep_from;
    f->pos -= keep_from;
}

/* Appends n bytes as one read and parses as far as possible. */
static inline void feed_bytes(http_feed_t *f, const char *data, size_t n)
{
    if (f->done || n == 0) return;
    if (f->cap - f->len < n) {
        size_t cap = f->cap ? f->cap : 64;
        while (cap - f->len < n)
            cap *= 2;
        char *nb = realloc(f->buf, cap);
        FEED_CHECK(nb != NULL);
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    int stalls = 0;
    while (!f->done && f->pos < f->len) {
        size_t used = 0;
        tycho_parse_result_t r =
            tycho_http_parser_execute(&f->parser, f->buf, f->pos, f->len, &used);
        FEED_CHECK(used <= f->len - f->pos);
        f->pos += used;
        /* a result that consumes nothing twice in a row would spin conn.c's loop */
        stalls = used ? 0 : stalls + 1;
        FEED_CHECK(stalls < 2 || r == TYCHO_PARSE_ERROR);
        if (r == TYCHO_PARSE_MORE) {
            FEED_CHECK(f->pos == f->len);
            break;
        }
        if (r == TYCHO_PARSE_HEADERS_CONTINUE) {
            tycho_buf_puts(&f->log, "CONTINUE\n");
            continue;
        }
        if (r == TYCHO_PARSE_ERROR) {
            FEED_CHECK(f->parser.error_status >= 400 && f->parser.error_status <= 599);
            FEED_CHECK(f->parser.error_reason != NULL);
            tycho_buf_printf(&f->log, "ERR %d\n", f->parser.error_status);
            f->done = 1;
            break;
        }
        feed_request(f);
        f->nreq++;
        int ka = f->parser.keep_alive;
        tycho_http_parser_next(&f->parser);
        if (!ka) {
            tycho_buf_puts(&f->log, "CLOSE\n");
            f->done = 1;
        }
    }
    if (!f->done) feed_compact(f);
    /* conn.c bounds what it holds for a partial header or trailer section */
    if (!f->done && tycho_http_parser_mid_section(&f->parser))
        FEED_CHECK(f->len - tycho_http_parser_section_start(&f->parser) <=
                   f->limits.max_header_bytes);
}

/* Feeds data cut at the given increasing offsets; returns the log (owned by f). */
static inline const char *feed_split(http_feed_t *f, const char *data, size_t n, const size_t *cuts,
                                     size_t ncuts)
{
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (end > n) end = n;
        if (end > at) feed_bytes(f, data + at, end - at);
        if (end > at) at = end;
    }
    if (!f->log.data) tycho_buf_puts(&f->log, "");
    return f->log.data;
}

#endif
