#include "lua/response.h"

#include "lua/header_value.h"
#include "lua/libs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int add_header(tycho_response_t *res, const char *name, size_t nlen, lua_State *co, int v,
                      char *err, size_t errlen)
{
    tycho_lua_header_value_t val;
    char why_buf[96];
    const char *why = why_buf;
    if (tycho_lua_header_value(co, v, &val, why_buf, sizeof why_buf) == 0 &&
        tycho_response_add_header(res, name, nlen, val.p, val.n, &why) == 0)
        return 0;
    snprintf(err, errlen, "response header '%.*s': %s", (int)(nlen > 64 ? 64 : nlen), name,
             why ? why : "invalid");
    return -1;
}

static int add_headers(tycho_response_t *res, lua_State *co, int h, char *err, size_t errlen)
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
            for (size_t i = 1; i <= n; i++) {
                lua_rawgeti(co, v, (int)i);
                int rc = add_header(res, name, nlen, co, lua_gettop(co), err, errlen);
                lua_pop(co, 1);
                if (rc) return lua_pop(co, 2), -1;
            }
        } else if (add_header(res, name, nlen, co, v, err, errlen) != 0) {
            lua_pop(co, 2);
            return -1;
        }
        lua_pop(co, 1);
    }
    return 0;
}

int tycho_lua_response_build(lua_State *co, int first, int nres, tycho_response_t *res, char *err,
                             size_t errlen)
{
    tycho_response_reset(res);
    if (nres == 0) {
        res->status = 204;
        return 0;
    }
    int body = first, headers = first + 1;
    if (lua_type(co, first) == LUA_TNUMBER) {
        double st = lua_tonumber(co, first);
        /* a 1xx is interim (RFC 9110 15.2): it cannot end a request */
        if (st != floor(st) || st < 200 || st > 599) {
            snprintf(err, errlen, "invalid status %g (expected an integer 200..599)", st);
            return -1;
        }
        res->status = (int)st;
        body = first + 1;
        headers = first + 2;
        if (nres < 2)
            body = headers = 0;
        else if (nres < 3)
            headers = 0;
    } else if (lua_type(co, first) == LUA_TTABLE || lua_type(co, first) == LUA_TSTRING) {
        res->status = 200;
        if (nres < 2) headers = 0;
    } else {
        snprintf(err, errlen, "handler returned %s; expected `return status, body, headers`",
                 lua_typename(co, lua_type(co, first)));
        return -1;
    }
    if (headers && add_headers(res, co, headers, err, errlen) != 0) {
        /* `return "404", "x"`: a status written as a string, not a body */
        if (lua_type(co, first) == LUA_TSTRING && lua_isnumber(co, first) &&
            !lua_istable(co, headers))
            snprintf(err, errlen, "response status must be a number, got the string \"%.32s\"",
                     lua_tostring(co, first));
        goto fail;
    }
    int bt = body ? lua_type(co, body) : LUA_TNIL;
    if (bt == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(co, body, &n);
        if (tycho_response_set_body(res, s, n) != 0) goto nomem;
        if (!res->has_content_type &&
            tycho_response_add_own_content_type(res, "text/plain; charset=utf-8", 25))
            goto nomem;
    } else if (bt == LUA_TTABLE || (bt == LUA_TLIGHTUSERDATA && !lua_touserdata(co, body))) {
        char jerr[160] = "";
        if (tycho_json_encode(co, body, &res->body, jerr, sizeof jerr) != 0) {
            snprintf(err, errlen, "response body: %s", jerr);
            goto fail;
        }
        if (!res->has_content_type &&
            tycho_response_add_own_content_type(res, "application/json", 16))
            goto nomem;
    } else if (bt != LUA_TNIL) {
        snprintf(err, errlen, "response body must be a table, a string or nil, got %s",
                 lua_typename(co, bt));
        goto fail;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory building the response");
fail:
    tycho_response_reset(res);
    return -1;
}
