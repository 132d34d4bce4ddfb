/* tycho._http — the C half of tycho.http (lua/tycho/http.lua): request(opts)
 * yields the calling task until the exchange is done, on the worker's HTTP
 * client (libcurl multi on the worker loop: never a blocking call). Returns
 * status, headers (lowercase names; a repeated header is an array), body; or
 * nil, message, kind on a transport error (kind: "timeout",
 * "connect_timeout", "connect", "resolve", "connection", "too_large", "tls",
 * "protocol", "invalid", "cancelled", "other").
 * Each request carries traceparent/tracestate (and X-Amzn-Trace-Id to AWS
 * hosts), records a CLIENT span and
 * tycho_http_client_request_duration_seconds{host,status_class}.
 * Bad arguments raise: among them a header that is not a valid field or that
 * frames the message or is hop-by-hop (http/field.h: curl owns framing and
 * the connection). Every message and the span show the URL redacted
 * (tycho_url_redact). */
#include "core/buf.h"
#include "core/percent.h"
#include "core/server_span.h"
#include "http/field.h"
#include "http/host.h"
#include "http/known_method.h"
#include "http/url_parse.h"
#include "http/url_redact.h"
#include "lua/async.h"
#include "lua/header_value.h"
#include "lua/libs.h"
#include "lua/outbound.h"
#include "lua/url_query.h"
#include "telemetry/trace_context.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 64

typedef struct http_op {
    tycho_lua_op_t op;
    tycho_aws_services_t *svc;
    tycho_http_req_t *req;
    tycho_http_request_t r;
    /* the caller's, then Content-Type (a JSON body), traceparent, tracestate
     * and X-Amzn-Trace-Id */
    tycho_http_header_t headers[MAX_HEADERS + 4];
    size_t nheaders;
    char *url, *method, *body;
    size_t body_len;
    char host[TYCHO_URL_HOST_MAX + 1];
    int port;
    size_t path_at; /* where the URL's path (or query, or fragment) starts */
    tycho_span_t *span;
    char url_full[1024]; /* redacted (tycho_url_redact), for messages and the span */
} http_op_t;

static void op_free(http_op_t *h)
{
    if (h->span) tycho_span_free(h->span);
    free(h->url);
    free(h->method);
    free(h->body);
    for (size_t i = 0; i < h->nheaders; i++) {
        free((char *)h->headers[i].name);
        free((char *)h->headers[i].value);
    }
    free(h);
}

static const char *error_kind(int e)
{
    switch (e) {
    case TYCHO_HTTP_E_TIMEOUT:
        return "timeout";
    case TYCHO_HTTP_E_CONNECT_TIMEOUT:
        return "connect_timeout";
    case TYCHO_HTTP_E_CONNECT:
        return "connect";
    case TYCHO_HTTP_E_RESOLVE:
        return "resolve";
    case TYCHO_HTTP_E_CONNECTION:
        return "connection";
    case TYCHO_HTTP_E_TOO_LARGE:
        return "too_large";
    case TYCHO_HTTP_E_TLS:
        return "tls";
    case TYCHO_HTTP_E_PROTOCOL:
        return "protocol";
    case TYCHO_HTTP_E_INVALID:
        return "invalid";
    case TYCHO_HTTP_E_CANCELLED:
        return "cancelled";
    default:
        return "other";
    }
}

static void push_headers(lua_State *co, const tycho_http_response_t *res)
{
    lua_createtable(co, 0, (int)res->nheaders);
    for (size_t i = 0; i < res->nheaders; i++) {
        const char *n = res->headers[i].name;
        luaL_Buffer b;
        luaL_buffinit(co, &b);
        for (; *n; n++)
            luaL_addchar(&b, (char)tolower((unsigned char)*n));
        luaL_pushresult(&b);
        lua_pushvalue(co, -1);
        lua_rawget(co, -3);
        if (lua_isnil(co, -1)) {
            lua_pop(co, 1);
            lua_pushstring(co, res->headers[i].value);
        } else {
            if (!lua_istable(co, -1)) {
                lua_createtable(co, 2, 0);
                lua_insert(co, -2);
                lua_rawseti(co, -2, 1);
            }
            lua_pushstring(co, res->headers[i].value);
            lua_rawseti(co, -2, (int)lua_objlen(co, -2) + 1);
        }
        lua_rawset(co, -3);
    }
}

static void on_done(const tycho_http_response_t *res, void *ud)
{
    http_op_t *h = ud;
    h->req = NULL;
    tycho_aws_services_observe_http(h->svc, h->host, res->error ? 0 : res->status, res->elapsed);
    tycho_obs_t *o = tycho_obs_current();
    if (h->span && o) {
        if (res->error) {
            tycho_span_set_key(h->span, TYCHO_KEY_ERROR_TYPE, TYCHO_AV_STR(error_kind(res->error)));
            tycho_span_set_status(h->span, TYCHO_SPAN_STATUS_ERROR, res->error_message);
        } else {
            tycho_span_set_key(h->span, TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE,
                               TYCHO_AV_INT(res->status));
            if (res->status >= 400) {
                char code[24];
                snprintf(code, sizeof code, "%ld", res->status);
                tycho_span_set_key(h->span, TYCHO_KEY_ERROR_TYPE, TYCHO_AV_STR(code));
                tycho_span_set_status(h->span, TYCHO_SPAN_STATUS_ERROR, NULL);
            }
        }
        tycho_obs_span_finish(o, h->span);
        h->span = NULL;
    }
    lua_State *co = tycho_lua_op_thread(&h->op);
    int n;
    if (res->error) {
        lua_pushnil(co);
        lua_pushfstring(co, "%s %s: %s", h->method, h->url_full, res->error_message);
        lua_pushstring(co, error_kind(res->error));
        n = 3;
    } else {
        lua_pushinteger(co, res->status);
        push_headers(co, res);
        lua_pushlstring(co, res->body ? res->body : "", res->body_len);
        n = 3;
    }
    tycho_lua_op_resume(&h->op, n);
    op_free(h);
}

static void op_start(tycho_lua_op_t *op)
{
    http_op_t *h = (http_op_t *)op;
    int rc = tycho_http_request(tycho_aws_services_http(h->svc), &h->r, on_done, h, &h->req);
    if (rc != 0) {
        lua_State *co = tycho_lua_op_thread(op);
        lua_pushnil(co);
        lua_pushfstring(co, "%s %s: cannot start the request (%s)", h->method, h->url_full,
                        rc == -EINVAL ? "invalid request" : "client closing or out of memory");
        lua_pushstring(co, rc == -EINVAL ? "invalid" : "other");
        if (h->span) {
            tycho_span_free(h->span);
            h->span = NULL;
        }
        tycho_lua_op_resume(op, 3);
        op_free(h);
    }
}

static void op_cancel(tycho_lua_op_t *op)
{
    http_op_t *h = (http_op_t *)op;
    if (h->req) tycho_http_cancel(h->req);
    h->req = NULL;
    tycho_obs_t *o = tycho_obs_current();
    if (h->span && o && op->started) {
        tycho_span_set_key(h->span, TYCHO_KEY_ERROR_TYPE, TYCHO_AV_STR("cancelled"));
        tycho_span_set_status(h->span, TYCHO_SPAN_STATUS_ERROR, "the caller went away");
        tycho_obs_span_finish(o, h->span);
        h->span = NULL;
    }
    op_free(h);
}

/* The URL curl is given: url with each non-ASCII byte of its path, query
 * and fragment percent-encoded (RFC 3986 2.1; what browsers send), as a
 * request line holds ASCII only (RFC 9112 3.2). A non-ASCII host is left to
 * curl (IDNA). NULL when out of memory. */
static int is_ascii(unsigned char c)
{
    return c < 0x80;
}

/* query (the query option, encoded; may be empty) goes after the url's own
 * query, or starts one, before any fragment. */
static char *wire_url(const char *url, size_t len, size_t path_at, const tycho_buf_t *query)
{
    const char *frag = memchr(url + path_at, '#', len - path_at);
    size_t upto = frag ? (size_t)(frag - url) : len;
    const char *sep = "";
    if (query->len) {
        const char *q = memchr(url + path_at, '?', upto - path_at);
        if (!q)
            sep = "?";
        else if (url[upto - 1] != '?' && url[upto - 1] != '&')
            sep = "&";
    }
    tycho_buf_t b = TYCHO_BUF_INIT;
    int rc = tycho_buf_append(&b, url, path_at);
    if (rc == 0) rc = tycho_percent_encode(&b, url + path_at, upto - path_at, is_ascii);
    if (rc == 0) rc = tycho_buf_puts(&b, sep);
    if (rc == 0 && query->len) rc = tycho_buf_append(&b, query->data, query->len);
    if (rc == 0) rc = tycho_percent_encode(&b, url + upto, len - upto, is_ascii);
    if (rc == 0) return tycho_buf_steal(&b);
    tycho_buf_free(&b);
    return NULL;
}

static int is_aws_host(const char *host)
{
    size_t n = strlen(host);
    static const char *const sfx[] = {".amazonaws.com", ".amazonaws.com.cn", ".api.aws"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t m = strlen(sfx[i]);
        if (n > m && strcasecmp(host + n - m, sfx[i]) == 0) return 1;
    }
    return 0;
}

/* 0, -ENOSPC (no slot left) or -ENOMEM. */
static int add_header(http_op_t *h, const char *name, const char *value)
{
    if (h->nheaders >= sizeof h->headers / sizeof h->headers[0]) return -ENOSPC;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    h->headers[h->nheaders++] = (tycho_http_header_t){n, v};
    return 0;
}

/* The caller's header: the name and value on top of L (as lua_next leaves
 * them). A field that is not valid, or that frames the message or manages
 * the connection (curl owns those: a Content-Length of the caller's would
 * let the body smuggle a second request onto a pooled connection), is
 * refused. 0, or -1 with err naming the header and what is wrong. */
/* NULL, or why a Host field cannot go out: an HTTP/1.1 request names its
 * host, and an empty Host would stand for none; anything else must be a
 * host[:port] the receiver can take as one (a server that refuses
 * "a/b" or "x y" answers 400 for what is the caller's mistake). */
static const char *host_problem(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (!tycho_http_field_name_is(name, nlen, "host")) return NULL;
    if (vlen == 0)
        return "empty: an HTTP/1.1 request names its host (leave Host out to send the URL's)";
    if (!tycho_host_valid(&(tycho_slice_t){value, vlen})) return "not a host[:port] (RFC 9110 7.2)";
    return NULL;
}

static int add_lua_header(lua_State *L, http_op_t *h, char *err, size_t errlen)
{
    if (lua_type(L, -2) != LUA_TSTRING) {
        snprintf(err, errlen, "header names must be strings, got %s",
                 lua_typename(L, lua_type(L, -2)));
        return -1;
    }
    size_t nlen;
    const char *name = lua_tolstring(L, -2, &nlen);
    tycho_lua_header_value_t v;
    char why_buf[96];
    const char *why = why_buf;
    if (tycho_lua_header_value(L, -1, &v, why_buf, sizeof why_buf) != 0 ||
        (why = tycho_http_field_invalid(name, nlen, v.p, v.n)) ||
        (why = tycho_http_field_connection_owned(name, nlen)) ||
        (why = host_problem(name, nlen, v.p, v.n))) {
        snprintf(err, errlen, "header '%.*s': %s", (int)(nlen > 64 ? 64 : nlen), name, why);
        return -1;
    }
    /* counted here, not by add_header's room: that leaves the headers added
     * after the caller's their slots */
    if (h->nheaders >= MAX_HEADERS) {
        snprintf(err, errlen, "too many headers (max %d)", MAX_HEADERS);
        return -1;
    }
    if (add_header(h, name, v.p) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int has_header(const http_op_t *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (strcasecmp(h->headers[i].name, name) == 0) return 1;
    return 0;
}

enum { OPT_REAL, OPT_INTEGER };

/* Option k of the table at t: dflt when nil, else a number in lo..hi (a
 * whole one for OPT_INTEGER: 1.9 bytes is no count to round). Raises
 * "<what>: <k> ..." otherwise. */
static double opt_number(lua_State *L, const char *what, int t, const char *k, int kind,
                         double dflt, double lo, double hi)
{
    lua_getfield(L, t, k);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s: %s must be a number", what, k);
        v = lua_tonumber(L, -1);
        if (kind == OPT_INTEGER && v != floor(v))
            luaL_error(L, "%s: %s must be an integer, got %s", what, k, lua_tostring(L, -1));
        if (!(v >= lo && v <= hi)) luaL_error(L, "%s: %s out of range (%g..%g)", what, k, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

/* A HEAD request has no content (curl sends none with it), and a client
 * MUST NOT send content in a TRACE request (RFC 9110 9.3.8): a body with
 * either is refused rather than dropped unseen or sent. */
static int takes_no_body(const char *method)
{
    return strcmp(method, "HEAD") == 0 || strcmp(method, "TRACE") == 0;
}

/* request(opts [, what]): opts { method, url, query, headers, body, timeout,
 * connect_timeout, max_response_bytes }; what is the function the caller
 * called (tycho.http.get...), which every error names. */
static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *what = luaL_optstring(L, 2, "tycho.http.request");
    tycho_aws_services_t *svc = tycho_lua_services(L);
    if (!tycho_lua_can_suspend(L)) return tycho_lua_cannot_wait(L, what, 1);
    lua_getfield(L, 1, "url");
    if (lua_isnil(L, -1)) return luaL_error(L, "%s: url is required", what);
    if (lua_type(L, -1) != LUA_TSTRING) /* http.get{ url = ... }: the options given as the url */
        return luaL_error(L, "%s: url must be a string, got %s", what, luaL_typename(L, -1));
    size_t url_len;
    const char *url = lua_tolstring(L, -1, &url_len);
    lua_getfield(L, 1, "method");
    size_t method_len = 3;
    const char *method = lua_isnil(L, -1) ? "GET" : lua_tolstring(L, -1, &method_len);
    if (!method || !*method || method_len > 16 || strlen(method) != method_len) /* NUL inside */
        return luaL_error(L, "%s: method must be a string like \"GET\"", what);
    for (const char *m = method; *m; m++)
        if (!isupper((unsigned char)*m) && *m != '-')
            return luaL_error(L, "%s: bad method '%s' (use upper case)", what, method);
    double timeout = opt_number(L, what, 1, "timeout", OPT_REAL, 30, 0.001, 3600);
    double ctimeout =
        opt_number(L, what, 1, "connect_timeout", OPT_REAL, timeout < 5 ? timeout : 5, 0.001, 3600);
    double maxb = opt_number(L, what, 1, "max_response_bytes", OPT_INTEGER, 16 * 1024 * 1024, 1,
                             1024.0 * 1024 * 1024);
    lua_getfield(L, 1, "body");
    if (!lua_isnil(L, -1) && takes_no_body(method))
        return luaL_error(L, "%s: a %s request takes no body", what, method);
    lua_pop(L, 1);

    http_op_t *h = calloc(1, sizeof *h);
    if (!h) return luaL_error(L, "out of memory");
    /* every message and the span show the URL redacted: no password, no query */
    tycho_url_redact(url, h->url_full, sizeof h->url_full);
    tycho_url_t u;
    int url_rc = tycho_url_parse(url, url_len, &u);
    if (url_rc != 0) {
        char shown[sizeof h->url_full];
        memcpy(shown, h->url_full, sizeof shown);
        free(h);
        return luaL_error(L, "%s: bad url '%s' (%s)", what, shown, tycho_url_strerror(url_rc));
    }
    memcpy(h->host, url + u.host_at, u.host_len);
    h->host[u.host_len] = '\0';
    h->port = u.port;
    h->path_at = u.path_at;
    h->svc = svc;
    tycho_buf_t query = TYCHO_BUF_INIT;
    lua_getfield(L, 1, "query");
    if (lua_istable(L, -1)) {
        char err[160];
        if (tycho_lua_url_query(L, -1, &query, err, sizeof err) != 0) {
            op_free(h);
            return luaL_error(L, "%s: %s", what, err);
        }
    } else if (!lua_isnil(L, -1)) {
        op_free(h);
        return luaL_error(L, "%s: query must be a table of parameters", what);
    }
    lua_pop(L, 1);
    h->url = wire_url(url, url_len, h->path_at, &query);
    tycho_buf_free(&query);
    h->method = strdup(method);
    if (!h->url || !h->method) goto nomem;

    lua_getfield(L, 1, "headers");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            char err[192];
            if (add_lua_header(L, h, err, sizeof err) != 0) {
                op_free(h);
                return luaL_error(L, "%s: %s", what, err);
            }
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        op_free(h);
        return luaL_error(L, "%s: headers must be a table", what);
    }
    lua_pop(L, 1);

    lua_getfield(L, 1, "body");
    if (lua_type(L, -1) == LUA_TTABLE) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        char err[160] = "";
        if (tycho_json_encode(L, lua_gettop(L), &b, err, sizeof err) != 0) {
            tycho_buf_free(&b);
            op_free(h);
            return luaL_error(L, "%s: body: %s", what, err);
        }
        h->body_len = b.len;
        h->body = tycho_buf_steal(&b);
        if (!has_header(h, "content-type") &&
            add_header(h, "Content-Type", "application/json") != 0)
            goto nomem;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        h->body = malloc(n ? n : 1);
        if (!h->body) goto nomem;
        memcpy(h->body, s, n);
        h->body_len = n;
    } else if (!lua_isnil(L, -1)) {
        op_free(h);
        return luaL_error(L, "%s: body must be a string or a table (JSON)", what);
    }
    lua_pop(L, 1);

    /* trace context: a CLIENT span when sampled, headers always */
    tycho_aws_trace_parent_t parent;
    if (tycho_lua_outbound_parent(L, &parent)) {
        uint8_t span_id[8];
        memcpy(span_id, parent.parent_span_id, 8);
        tycho_obs_t *o = tycho_obs_current();
        if (o && parent.trace->sampled) {
            size_t mn = strlen(method);
            int known = tycho_http_known_method(method, mn);
            h->span = tycho_obs_span_start(o, parent.trace, parent.parent_span_id,
                                           known ? method : "HTTP", TYCHO_SPAN_KIND_CLIENT);
            if (h->span) {
                memcpy(span_id, h->span->span_id, 8);
                tycho_http_span_method(h->span, method, mn, known);
                tycho_span_set_attr(h->span, "url.full", TYCHO_AV_STR(h->url_full));
                tycho_span_set_key(h->span, TYCHO_KEY_SERVER_ADDRESS, TYCHO_AV_STR(h->host));
                tycho_span_set_key(h->span, TYCHO_KEY_SERVER_PORT, TYCHO_AV_INT(h->port));
                tycho_span_set_key(h->span, TYCHO_KEY_NETWORK_PROTOCOL_VERSION,
                                   TYCHO_AV_STR("1.1"));
            }
        }
        tycho_trace_headers_t th;
        tycho_aws_trace_headers(parent.trace, span_id, &th);
        if (!has_header(h, "traceparent") && add_header(h, "traceparent", th.traceparent) != 0)
            goto nomem;
        if (th.tracestate[0] && !has_header(h, "tracestate") &&
            add_header(h, "tracestate", th.tracestate) != 0)
            goto nomem;
        if (is_aws_host(h->host) && !has_header(h, "x-amzn-trace-id") &&
            add_header(h, "X-Amzn-Trace-Id", th.xamzn) != 0)
            goto nomem;
    }

    h->r = (tycho_http_request_t){.method = h->method,
                                  .url = h->url,
                                  .headers = h->headers,
                                  .nheaders = h->nheaders,
                                  .body = h->body,
                                  .body_len = h->body_len,
                                  .connect_timeout_ms = (long)(ctimeout * 1000 + 0.5),
                                  .timeout_ms = (long)(timeout * 1000 + 0.5),
                                  .max_response_bytes = (size_t)maxb};
    h->op.start = op_start;
    h->op.cancel = op_cancel;
    return tycho_lua_suspend(L, &h->op);
nomem:
    op_free(h);
    return luaL_error(L, "out of memory");
}

int luaopen_tycho_http_core(lua_State *L)
{
    static const luaL_Reg fns[] = {{"request", l_request}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
