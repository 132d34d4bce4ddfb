/* libcurl multi + libuv: the "multi_socket" API. curl tells us which sockets
 * to watch (socket_cb) and when to wake it (timer_cb); the loop tells curl
 * what happened (curl_multi_socket_action). User callbacks never run inside a
 * curl callback, so they may start, cancel or close freely. */
#include "net/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "http/field.h"
#include "net/response_fields.h"

#ifndef TYCHO_VERSION
#define TYCHO_VERSION "0"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RESPONSE (16u << 20)
#define DEFAULT_MAX_IDLE 64L

struct tycho_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    tycho_http_req_t *pending; /* doubly linked list of requests in the multi */
    struct sock_ctx *socks;    /* sockets curl asked us to watch */
    char *ca_file;
    char *user_agent;
    int closing;
    int dispatching;  /* > 0 while check_done runs user callbacks */
    int handles_open; /* uv handles not yet closed (timer + polls) */
    tycho_http_client_stats_t stats;
};

struct tycho_http_req {
    tycho_http_client_t *c;
    tycho_http_req_t *prev, *next;
    CURL *easy;
    struct curl_slist *slist;
    char *body;           /* our copy, or NULL */
    const void *body_ref; /* what curl sends: body, or the caller's (body_kept) */
    size_t body_len;
    size_t max_bytes;   /* of the body */
    int truncate;       /* truncate_response */
    size_t body_bytes;  /* received so far */
    int body_too_large; /* past max_bytes */
    tycho_response_fields_t fields;
    int in_callback;
    tycho_http_done_fn cb;
    void *ud;
    uint64_t start_ns;
    tycho_buf_t resp_body;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    tycho_http_client_t *c;
    struct sock_ctx *prev, *next; /* watched sockets of the client */
} sock_ctx_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

int tycho_http_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    return global_rc;
}

const char *tycho_http_strerror(int e)
{
    switch (e) {
    case TYCHO_HTTP_OK:
        return "ok";
    case TYCHO_HTTP_E_CANCELLED:
        return "cancelled";
    case TYCHO_HTTP_E_INVALID:
        return "invalid request";
    case TYCHO_HTTP_E_RESOLVE:
        return "name resolution failed";
    case TYCHO_HTTP_E_CONNECT:
        return "connection refused";
    case TYCHO_HTTP_E_CONNECT_TIMEOUT:
        return "connect timeout";
    case TYCHO_HTTP_E_TIMEOUT:
        return "timeout";
    case TYCHO_HTTP_E_CONNECTION:
        return "connection reset";
    case TYCHO_HTTP_E_TOO_LARGE:
        return "response too large";
    case TYCHO_HTTP_E_TLS:
        return "tls error";
    case TYCHO_HTTP_E_PROTOCOL:
        return "protocol error";
    default:
        return "transport error";
    }
}

/* --- request bookkeeping ------------------------------------------------- */

static void list_remove(tycho_http_req_t *r)
{
    tycho_http_client_t *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else if (c->pending == r)
        c->pending = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->stats.pending--;
}

static void req_free(tycho_http_req_t *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->slist);
    free(r->body);
    tycho_buf_free(&r->resp_body);
    tycho_response_fields_free(&r->fields);
    free(r);
}

static void maybe_free_client(tycho_http_client_t *c);

static int map_error(tycho_http_req_t *r, CURLcode code, const char **what)
{
    switch (code) {
    case CURLE_OK:
        return TYCHO_HTTP_OK;
    case CURLE_UNSUPPORTED_PROTOCOL: {
        /* curl says this of a scheme it does not speak, and also of a reply
         * that is not HTTP/1.x ("Unsupported HTTP version in response",
         * "Received HTTP/0.9 when not allowed"): once the request went out,
         * it is the peer's answer that is wrong, not the request */
        curl_off_t pre = 0;
        curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
        if (pre <= 0) return TYCHO_HTTP_E_INVALID;
        *what = "protocol error: the reply is not HTTP/1.x";
        return TYCHO_HTTP_E_PROTOCOL;
    }
    case CURLE_URL_MALFORMAT:
        return TYCHO_HTTP_E_INVALID;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return TYCHO_HTTP_E_RESOLVE;
    case CURLE_COULDNT_CONNECT:
        return TYCHO_HTTP_E_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: {
        /* a reused keep-alive connection has no connect time: a request
         * that reached the transfer phase timed out after connecting */
        curl_off_t t = 0, pre = 0;
        curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &t);
        curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
        return t > 0 || pre > 0 ? TYCHO_HTTP_E_TIMEOUT : TYCHO_HTTP_E_CONNECT_TIMEOUT;
    }
    case CURLE_FILESIZE_EXCEEDED:
        return TYCHO_HTTP_E_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        if (r->body_too_large || r->fields.too_large) return TYCHO_HTTP_E_TOO_LARGE;
        if (r->fields.conflicting_length || r->fields.invalid_length || r->fields.spaced_framing)
            return TYCHO_HTTP_E_PROTOCOL;
        *what = "write error";
        return TYCHO_HTTP_E_OTHER;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return TYCHO_HTTP_E_TLS;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return TYCHO_HTTP_E_CONNECTION;
    case CURLE_WEIRD_SERVER_REPLY:
        return TYCHO_HTTP_E_PROTOCOL;
    case CURLE_BAD_CONTENT_ENCODING:
        /* no Content-Encoding is decoded (no CURLOPT_ACCEPT_ENCODING): this
         * is a Transfer-Encoding the peer applied unasked (we send no TE)
         * and curl does not know, or data that does not decode */
        *what = "protocol error: the response's Transfer-Encoding cannot be read";
        return TYCHO_HTTP_E_PROTOCOL;
    default:
        return TYCHO_HTTP_E_OTHER;
    }
}

/* Removes r from the multi, runs its callback (unless cancelled) and frees it. */
static void finish(tycho_http_req_t *r, CURLcode code, int cancelled_by_close)
{
    tycho_http_client_t *c = r->c;
    tycho_http_response_t res;
    memset(&res, 0, sizeof res);
    const char *what = NULL;
    if (cancelled_by_close) {
        res.error = TYCHO_HTTP_E_CANCELLED;
    } else {
        res.error = map_error(r, code, &what);
    }
    if (res.error == TYCHO_HTTP_E_TOO_LARGE && r->truncate && r->body_too_large) {
        res.error = TYCHO_HTTP_OK; /* the status and headers came whole */
        res.body_truncated = 1;
    }
    long status = 0, conns = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &conns);
    curl_multi_remove_handle(c->multi, r->easy);
    list_remove(r);
    c->stats.completed++;
    c->stats.connections_opened += (unsigned long)(conns > 0 ? conns : 0);

    tycho_buf_t msg = TYCHO_BUF_INIT;
    if (res.error) {
        const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
        if (res.error == TYCHO_HTTP_E_TOO_LARGE && r->fields.too_large)
            tycho_buf_printf(&msg, "response headers too large: more than %u bytes",
                             TYCHO_RESPONSE_FIELDS_MAX_BYTES);
        else if (res.error == TYCHO_HTTP_E_TOO_LARGE)
            tycho_buf_printf(&msg, "response body too large: more than %zu bytes", r->max_bytes);
        else if (r->fields.conflicting_length)
            tycho_buf_puts(&msg, "protocol error: the response has Content-Length values that "
                                 "differ (RFC 9112 6.3): its framing cannot be trusted");
        else if (r->fields.invalid_length)
            tycho_buf_puts(&msg, "protocol error: the response's Content-Length is not a number "
                                 "(RFC 9112 6.3): its framing cannot be trusted");
        else if (r->fields.spaced_framing)
            tycho_buf_puts(&msg, "protocol error: the response has whitespace between a framing "
                                 "field's name and its colon (RFC 9112 5.1): its framing cannot "
                                 "be trusted");
        else if (res.error == TYCHO_HTTP_E_CANCELLED)
            tycho_buf_puts(&msg, "cancelled: http client closed");
        else
            tycho_buf_printf(&msg, "%s: %s", what ? what : tycho_http_strerror(res.error), detail);
    } else {
        res.status = status;
    }
    res.error_message = msg.data ? msg.data : "";
    res.new_connections = conns;
    res.elapsed = (double)(uv_hrtime() - r->start_ns) / 1e9;

    tycho_http_header_t *hv = NULL;
    if (!res.error && (hv = tycho_response_fields_list(&r->fields))) {
        res.headers = hv;
        res.nheaders = r->fields.n;
    }
    if (!res.error) {
        if (tycho_buf_append(&r->resp_body, "", 0) == 0)
            res.body = r->resp_body.data;
        else
            res.body = "";
        res.body_len = r->resp_body.len;
    }
    r->in_callback = 1;
    c->dispatching++;
    r->cb(&res, r->ud);
    c->dispatching--;
    free(hv);
    tycho_buf_free(&msg);
    req_free(r);
}

static void check_done(tycho_http_client_t *c)
{
    CURLMsg *m;
    int left;
    c->dispatching++;
    /* one message at a time: a callback may cancel another finished request,
     * and curl_multi_remove_handle drops that request's queued message */
    while (!c->closing && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        tycho_http_req_t *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r) finish(r, m->data.result, 0);
    }
    c->dispatching--;
    maybe_free_client(c);
}

/* --- curl <-> libuv glue ------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
    tycho_http_client_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    tycho_http_client_t *c = userp;
    if (c->closing) return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx_t *s = p->data;
    tycho_http_client_t *c = s->c;
    int flags = 0, running;
    /* on a socket error libuv stops the watcher; let curl read and write so
     * it reports the real cause ("Connection reset by peer") */
    if (status < 0) flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    check_done(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    tycho_http_client_t *c;
    if (h->type == UV_POLL) {
        sock_ctx_t *s = h->data;
        c = s->c;
        free(s);
    } else {
        c = h->data;
    }
    c->handles_open--;
    maybe_free_client(c);
}

static void sock_close(tycho_http_client_t *c, sock_ctx_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    tycho_http_client_t *c = userp;
    sock_ctx_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            /* uv_close invalidates the fd in the backend now, before curl
             * closes it and perhaps gets the same number back */
            sock_close(c, s);
            if (!c->closing) curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        s->fd = fd;
        s->c = c;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->next = c->socks;
        if (c->socks) c->socks->prev = s;
        c->socks = s;
        c->handles_open++;
        curl_multi_assign(c->multi, fd, s);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

/* --- per-request curl callbacks ------------------------------------------ */

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    tycho_http_req_t *r = ud;
    size_t len = size * n;
    if (r->body_bytes + len > r->max_bytes) {
        r->body_too_large = 1;
        /* truncate_response: the start is kept, the rest never read */
        if (r->truncate) tycho_buf_append(&r->resp_body, p, r->max_bytes - r->body_bytes);
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    r->body_bytes += len;
    if (tycho_buf_append(&r->resp_body, p, len)) return 0;
    return len;
}

/* One line of a header block, as curl hands them (response_fields.h). */
static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
    tycho_http_req_t *r = ud;
    size_t len = size * n;
    return tycho_response_fields_line(&r->fields, p, len) == 0 ? len : 0;
}

/* --- public API ---------------------------------------------------------- */

tycho_http_client_t *tycho_http_client_new(uv_loop_t *loop, const tycho_http_client_options_t *opts)
{
    if (tycho_http_global_init() != 0) return NULL;
    tycho_http_client_options_t o = {0};
    if (opts) o = *opts;
    tycho_http_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi) goto err;
    if (o.ca_file && !(c->ca_file = strdup(o.ca_file))) goto err;
    c->user_agent = strdup(o.user_agent ? o.user_agent : "tycho/" TYCHO_VERSION);
    if (!c->user_agent) goto err;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
                      o.max_idle_connections > 0 ? o.max_idle_connections : DEFAULT_MAX_IDLE);
    if (o.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o.max_host_connections);
    if (o.max_total_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.max_total_connections);
    return c;
err:
    if (c->multi) curl_multi_cleanup(c->multi);
    free(c->ca_file);
    free(c->user_agent);
    free(c);
    return NULL;
}

static int has_header(const tycho_http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0) return 1;
    return 0;
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    /* "Name;" is curl's way of sending a header with an empty value */
    int rc =
        *value ? tycho_buf_printf(&b, "%s: %s", name, value) : tycho_buf_printf(&b, "%s;", name);
    if (rc) return -ENOMEM;
    struct curl_slist *n = curl_slist_append(*l, b.data);
    tycho_buf_free(&b);
    if (!n) return -ENOMEM;
    *l = n;
    return 0;
}

/* A header that would inject lines or break the framing curl owns
 * (http/field.h): the caller's own checks should have caught it. */
static int header_refused(const tycho_http_header_t *hd)
{
    if (!hd->name || !hd->value) return 1;
    size_t nlen = strlen(hd->name);
    return tycho_http_field_invalid(hd->name, nlen, hd->value, strlen(hd->value)) ||
           tycho_http_field_connection_owned(hd->name, nlen);
}

int tycho_http_request(tycho_http_client_t *c, const tycho_http_request_t *req,
                       tycho_http_done_fn cb, void *ud, tycho_http_req_t **out)
{
    if (out) *out = NULL;
    if (!c || !req || !req->url || !cb) return -EINVAL;
    if (c->closing) return -ESHUTDOWN;
    for (size_t i = 0; i < req->nheaders; i++)
        if (header_refused(&req->headers[i])) return -EINVAL;

    tycho_http_req_t *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    tycho_response_fields_init(&r->fields);
    r->c = c;
    r->cb = cb;
    r->ud = ud;
    r->max_bytes = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE;
    r->truncate = req->truncate_response;
    r->start_ns = uv_hrtime();
    r->easy = curl_easy_init();
    if (!r->easy) goto nomem;
    r->body_len = req->body_len;
    if (req->body_len && req->body_kept) {
        r->body_ref = req->body;
    } else if (req->body_len) {
        if (!(r->body = malloc(req->body_len))) goto nomem;
        memcpy(r->body, req->body, req->body_len);
        r->body_ref = r->body;
    }

    for (size_t i = 0; i < req->nheaders; i++)
        if (add_header(&r->slist, req->headers[i].name, req->headers[i].value)) goto nomem;
    /* no "Expect: 100-continue" round trip; no implicit form content type */
    if (!has_header(req, "expect") && !(r->slist = curl_slist_append(r->slist, "Expect:")))
        goto nomem;
    if (!has_header(req, "content-type") &&
        !(r->slist = curl_slist_append(r->slist, "Content-Type:")))
        goto nomem;

    CURL *e = r->easy;
    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* HTTP/1.1 only, what response_fields reads: a curl built with nghttp2
     * would otherwise take h2 when a TLS peer offers it (ALPN) */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                 : DEFAULT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
    /* (a Content-Length past it fails before the status is read). Not for
     * HEAD: its Content-Length is the size of the body a GET would get
     * (RFC 9110 9.3.2) and no body follows; curl would refuse it all the same */
    if (!r->truncate && strcmp(method, "HEAD") != 0)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    /* a proxy's answer to CONNECT (https_proxy) is not the response: its
     * lines would open a block response_fields takes for the final one */
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->slist);
    if (!has_header(req, "user-agent")) curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);

    if (strcmp(method, "GET") == 0 && !req->body_len) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        int with_body = req->body_len || strcmp(method, "POST") == 0 ||
                        strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
        if (with_body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_ref ? r->body_ref : "");
        }
        if (strcmp(method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) goto nomem;
    r->next = c->pending;
    if (c->pending) c->pending->prev = r;
    c->pending = r;
    c->stats.started++;
    c->stats.pending++;
    if (out) *out = r;
    return 0;
nomem:
    req_free(r);
    return -ENOMEM;
}

void tycho_http_cancel(tycho_http_req_t *r)
{
    if (!r || r->in_callback) return;
    tycho_http_client_t *c = r->c;
    curl_multi_remove_handle(c->multi, r->easy);
    list_remove(r);
    c->stats.cancelled++;
    req_free(r);
}

void tycho_http_client_close(tycho_http_client_t *c)
{
    if (!c || c->closing) return;
    /* callbacks run first, so they may still see the client as usable for
     * reads, but new requests are refused from here on */
    c->closing = 1;
    while (c->pending) {
        tycho_http_req_t *r = c->pending;
        if (r->in_callback) { /* closed from inside this request's callback */
            list_remove(r);
            continue;
        }
        finish(r, CURLE_OK, 1);
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    maybe_free_client(c);
}

/* The multi is cleaned up once no callback is running (cleanup closes the
 * idle connections, which calls socket_cb with REMOVE and so closes the polls);
 * the struct is freed when the last uv handle has closed. */
static void maybe_free_client(tycho_http_client_t *c)
{
    if (!c->closing || c->dispatching) return;
    if (c->multi) {
        CURLM *m = c->multi;
        curl_multi_cleanup(m);
        c->multi = NULL;
        while (c->socks) /* sockets curl did not report removed */
            sock_close(c, c->socks);
    }
    if (c->handles_open > 0) return;
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}

const char *tycho_http_response_header(const tycho_http_response_t *res, const char *name)
{
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, name) == 0) return res->headers[i].value;
    return NULL;
}

void tycho_http_client_stats(const tycho_http_client_t *c, tycho_http_client_stats_t *out)
{
    *out = c->stats;
}
