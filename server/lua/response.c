#include "lua/response.h"

#include "http/field.h"
#include "http/response_head.h"
#include "lua/header_value.h"
#include "lua/libs.h"
#include "lua/table_list.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* RFC 9110 8.6: a non-negative decimal integer; at most 18 digits keeps it
 * far from overflow and above any body tycho could serve */
static int stated_length(tycho_response_t *res, const tycho_lua_header_value_t *val,
                         const char **why)
{
    if (res->length == TYCHO_LENGTH_STATED) return *why = "given twice", -1;
    if (val->n == 0 || val->n > 18) return *why = "not a non-negative integer", -1;
    uint64_t n = 0;
    for (size_t i = 0; i < val->n; i++) {
        if (val->p[i] < '0' || val->p[i] > '9') return *why = "not a non-negative integer", -1;
        n = n * 10 + (uint64_t)(val->p[i] - '0');
    }
    res->length = TYCHO_LENGTH_STATED;
    res->stated_length = n;
    return 0;
}

/* The header lines a handler may return, all together: what tycho.http
 * reads of a response at most (docs/routes.md). Past it most clients and
 * proxies refuse the response (nginx's proxy buffers hold 4 or 8 KiB), so the
 * handler fails where it can be told why, not at the client. */
#define MAX_HEADER_BYTES 65536

/* -1, with err naming the header (its first 64 bytes, a control byte written
 * \xNN: a NUL would cut the name short) and why it is refused. */
static int header_error(const char *name, size_t nlen, const char *why, char *err, size_t errlen)
{
    char shown[64 * 4 + 1];
    size_t k = 0;
    for (size_t i = 0; i < nlen && i < 64; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02X", c);
        else
            shown[k++] = (char)c;
    }
    shown[k] = 0;
    snprintf(err, errlen, "response header '%s': %s", shown, why);
    return -1;
}

/* A HEAD route may state the Content-Length a GET would get (RFC 9110
 * 9.3.2); anywhere else the body's length is the only true one. */
static int add_header(tycho_response_t *res, int head_route, const char *name, size_t nlen,
                      lua_State *co, int v, char *err, size_t errlen)
{
    tycho_lua_header_value_t val;
    char why_buf[96];
    const char *why = why_buf;
    if (tycho_lua_header_value(co, v, &val, why_buf, sizeof why_buf) == 0) {
        if (head_route && tycho_http_field_name_is(name, nlen, "content-length")) {
            if (stated_length(res, &val, &why) == 0) return 0;
        } else if (res->has_content_type && tycho_http_field_name_is(name, nlen, "content-type")) {
            why = "given twice: a response has one media type (RFC 9110 8.3)";
        } else if (tycho_response_add_header(res, name, nlen, val.p, val.n, &why) == 0) {
            if (res->header.len <= MAX_HEADER_BYTES) return 0;
            snprintf(why_buf, sizeof why_buf, "the header lines pass 64 KiB (%zu bytes with it)",
                     res->header.len);
            why = why_buf;
        }
    }
    return header_error(name, nlen, why ? why : "invalid", err, errlen);
}

static int add_headers(tycho_response_t *res, int head_route, lua_State *co, int h, char *err,
                       size_t errlen)
{
    if (lua_isnoneornil(co, h)) return 0;
    if (!lua_istable(co, h)) {
        snprintf(err, errlen, "response headers must be a table, got %s",
                 lua_typename(co, lua_type(co, h)));
        return -1;
    }
    lua_pushnil(co);
    while (lua_next(co, h)) {
        if (lua_type(co, -2) != LUA_TSTRING) {
            lua_pop(co, 2);
            snprintf(err, errlen, "response header names must be strings");
            return -1;
        }
        size_t nlen;
        const char *name = lua_tolstring(co, -2, &nlen);
        int v = lua_gettop(co);
        if (lua_istable(co, v)) { /* repeated header: Set-Cookie = { "a=1", "b=2" } */
            size_t n = lua_objlen(co, v);
            if (tycho_lua_list_stray_key(co, v)) { /* a list of values; {} sends none */
                header_error(name, nlen,
                             "a table value must be a list of values "
                             "({ \"a=1\", \"b=2\" }), got one with other keys",
                             err, errlen);
                return lua_pop(co, 3), -1; /* the stray key, the value, its name */
            }
            for (size_t i = 1; i <= n; i++) {
                lua_rawgeti(co, v, (int)i);
                int rc = add_header(res, head_route, name, nlen, co, lua_gettop(co), err, errlen);
                lua_pop(co, 1);
                if (rc) return lua_pop(co, 2), -1;
            }
        } else if (add_header(res, head_route, name, nlen, co, v, err, errlen) != 0) {
            lua_pop(co, 2);
            return -1;
        }
        lua_pop(co, 1);
    }
    return 0;
}

/* A value past the headers would be dropped unseen: `return body, headers,
 * 201` would answer 200. */
static int too_many(int nres, const char *form, char *err, size_t errlen)
{
    snprintf(err, errlen, "handler returned %d values; expected %s", nres, form);
    return -1;
}

/* Where the status, body and headers are among the values (0 = absent):
 *   status, body, headers | body, headers (200) | nothing (204) | nil, headers (204)
 * Trailing nils count as absent: `return nil` is `return`. */
static int read_shape(lua_State *co, int first, int nres, tycho_response_t *res, int *body,
                      int *headers, char *err, size_t errlen)
{
    while (nres > 0 && lua_isnil(co, first + nres - 1))
        nres--;
    *body = *headers = 0;
    int t = nres ? lua_type(co, first) : LUA_TNIL;
    if (t == LUA_TNUMBER) {
        double st = lua_tonumber(co, first);
        /* a 1xx is interim (RFC 9110 15.2): it cannot end a request */
        if (st != floor(st) || st < 200 || st > 599) {
            const char *nonfinite = tycho_lua_nonfinite_name(st);
            char shown[32];
            snprintf(shown, sizeof shown, "%g", st);
            snprintf(err, errlen, "invalid status %s (expected an integer 200..599)",
                     nonfinite ? nonfinite : shown);
            return -1;
        }
        if (nres > 3) return too_many(nres, "`return status, body, headers`", err, errlen);
        res->status = (int)st;
        if (nres >= 2) *body = first + 1;
        if (nres >= 3) *headers = first + 2;
    } else if (t == LUA_TTABLE || t == LUA_TSTRING || tycho_json_is_null(co, first)) {
        if (nres > 2)
            return too_many(nres, "`return body, headers` (a status comes first)", err, errlen);
        res->status = 200;
        *body = first;
        if (nres >= 2) *headers = first + 1;
    } else if (t == LUA_TNIL && (nres == 0 || (nres == 2 && lua_istable(co, first + 1)))) {
        res->status = 204;
        if (nres == 2) *headers = first + 1;
    } else if (t == LUA_TNIL) { /* Lua's `return nil, err` reports a failure */
        snprintf(err, errlen,
                 "handler returned nil, %s; expected `return status, body, headers` "
                 "(to fail, raise an error)",
                 lua_typename(co, lua_type(co, first + 1)));
        return -1;
    } else {
        snprintf(err, errlen, "handler returned %s; expected `return status, body, headers`",
                 lua_typename(co, t));
        return -1;
    }
    return 0;
}

/* The body at index body (0 = none) with its default Content-Type, which a
 * response without content does not get (it would describe nothing). */
static int set_body(lua_State *co, int body, tycho_response_t *res, char *err, size_t errlen)
{
    int bt = body ? lua_type(co, body) : LUA_TNIL;
    const char *type = NULL;
    if (bt == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(co, body, &n);
        if (tycho_response_set_body(res, s, n) != 0) goto nomem;
        type = "text/plain; charset=utf-8";
    } else if (bt == LUA_TTABLE || tycho_json_is_null(co, body)) {
        char jerr[256] = "";
        if (tycho_json_encode(co, body, &res->body, jerr, sizeof jerr) != 0) {
            snprintf(err, errlen, "response body: %s", jerr);
            return -1;
        }
        type = "application/json";
    } else if (bt != LUA_TNIL) {
        snprintf(err, errlen, "response body must be a table, a string or nil, got %s",
                 lua_typename(co, bt));
        return -1;
    }
    if (!tycho_http_status_has_content(res->status)) {
        tycho_buf_reset(&res->body);
        return 0;
    }
    if (type && !res->has_content_type &&
        tycho_response_add_own_content_type(res, type, strlen(type)) != 0)
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory building the response");
    return -1;
}

/* A HEAD route without a body and without a stated length announces no
 * length; a stated one must agree with a body it also returned. */
static int settle_head_length(tycho_response_t *res, int has_body, char *err, size_t errlen)
{
    if (res->length != TYCHO_LENGTH_STATED) {
        if (!has_body) res->length = TYCHO_LENGTH_NONE;
        return 0;
    }
    if (has_body && res->stated_length != res->body.len) {
        snprintf(err, errlen, "response header 'Content-Length': %llu but the body has %zu bytes",
                 (unsigned long long)res->stated_length, res->body.len);
        return -1;
    }
    return 0;
}

int tycho_lua_response_build(lua_State *co, int first, int nres, int head_route,
                             tycho_response_t *res, char *err, size_t errlen)
{
    tycho_response_reset(res);
    int body, headers;
    if (read_shape(co, first, nres, res, &body, &headers, err, errlen) != 0) goto fail;
    if (headers && add_headers(res, head_route, co, headers, err, errlen) != 0) {
        /* `return "404", "x"`: a status written as a string, not a body */
        if (lua_type(co, first) == LUA_TSTRING && lua_isnumber(co, first) &&
            !lua_istable(co, headers))
            snprintf(err, errlen, "response status must be a number, got the string \"%.32s\"",
                     lua_tostring(co, first));
        goto fail;
    }
    if (set_body(co, body, res, err, errlen) != 0) goto fail;
    int has_body = body && !lua_isnil(co, body);
    if (head_route && settle_head_length(res, has_body, err, errlen) != 0) goto fail;
    return 0;
fail:
    tycho_response_reset(res);
    return -1;
}
