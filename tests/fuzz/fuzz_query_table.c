/* libFuzzer target for req.query (lua/query_table.c): a client's query
 * string read into a Lua table, and tycho.http's query option (lua/
 * url_query.c) writing a table back as a query. Checked (abort on failure),
 * against an oracle written here from query_table.h:
 *  - the table's values are strings, or arrays (1..n, n >= 2) of strings for
 *    a name given more than once; the values of a name are, in order, the
 *    percent-decoded values of its parameters ('+' a space, a name without
 *    '=' the value ""), and every non-empty parameter is one of them;
 *  - the table written as a query by tycho_lua_url_query, then read again,
 *    is the same table (names sorted, repeated values kept in order);
 *  - the stack is as it was, plus the one table.
 * Lua allocations go through the worker's allocator (lua/alloc.c), so
 * LeakSanitizer sees them.
 *
 * Input: the query string's bytes (any bytes, NUL included).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh query_table. */
#include "core/buf.h"
#include "core/percent.h"
#include "lua/alloc.h"
#include "lua/query_table.h"
#include "lua/url_query.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "query_table"
#include "tests/fuzz/fuzz_check.h"

static lua_State *L;
static tycho_lua_alloc_t A;

/* the oracle's decoding of p[0..n) ('+' a space) as a Lua string */
static void push_oracle_decoded(const char *p, size_t n)
{
    char *out = malloc(n ? n : 1);
    ssize_t len = tycho_percent_decode(p, n, out, TYCHO_PCT_PLUS_SPACE);
    CHECK(len >= 0 && (size_t)len <= n, "percent_decode gave %zd of %zu bytes", len, n);
    lua_pushlstring(L, out, (size_t)len);
    free(out);
}

/* Checks the table at index t against the query q[0..n): each non-empty
 * parameter, in order, is the next value of its name. */
static void check_table(int t, const char *q, size_t n)
{
    lua_newtable(L); /* name -> how many of its values were seen */
    int seen = lua_gettop(L);
    size_t params = 0;
    for (const char *p = q, *end = q + n; p <= end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        size_t plen = (size_t)(pe - p);
        if (plen) {
            params++;
            const char *eq = memchr(p, '=', plen);
            size_t klen = eq ? (size_t)(eq - p) : plen;
            push_oracle_decoded(p, klen);
            int name = lua_gettop(L);
            if (eq)
                push_oracle_decoded(eq + 1, plen - klen - 1);
            else
                lua_pushliteral(L, "");
            int want = lua_gettop(L);
            lua_pushvalue(L, name);
            lua_rawget(L, seen);
            lua_Integer k = lua_tointeger(L, -1) + 1;
            lua_pop(L, 1);
            lua_pushvalue(L, name);
            lua_pushinteger(L, k);
            lua_rawset(L, seen);
            lua_pushvalue(L, name);
            lua_rawget(L, t);
            if (lua_istable(L, -1))
                lua_rawgeti(L, -1, (int)k);
            else if (k > 1)
                lua_pushnil(L);
            else
                lua_pushvalue(L, -1);
            CHECK(lua_type(L, -1) == LUA_TSTRING && lua_rawequal(L, -1, want),
                  "parameter %zu ('%.*s'): value %lld of its name is %s '%s'", params, (int)plen, p,
                  (long long)k, lua_typename(L, lua_type(L, -1)),
                  lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
            lua_settop(L, name - 1);
        }
        if (!amp) break;
        p = amp + 1;
    }
    /* every name's values were all seen: arrays of >= 2, nothing else */
    size_t values = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        CHECK(lua_type(L, -2) == LUA_TSTRING, "a %s name", lua_typename(L, lua_type(L, -2)));
        size_t count = 1;
        if (lua_istable(L, -1)) {
            count = lua_objlen(L, -1);
            size_t entries = 0;
            lua_pushnil(L);
            while (lua_next(L, -2))
                entries++, lua_pop(L, 1);
            CHECK(count >= 2 && entries == count, "'%s': an array of %zu with %zu entries",
                  lua_tostring(L, -2), count, entries);
        } else {
            CHECK(lua_type(L, -1) == LUA_TSTRING, "'%s': a %s value", lua_tostring(L, -2),
                  lua_typename(L, lua_type(L, -1)));
        }
        lua_pushvalue(L, -2);
        lua_rawget(L, seen);
        CHECK((size_t)lua_tointeger(L, -1) == count, "'%s': %zu values, %lld parameters",
              lua_tostring(L, -3), count, (long long)lua_tointeger(L, -1));
        lua_pop(L, 2);
        values += count;
    }
    CHECK(values == params, "%zu values for %zu parameters", values, params);
    lua_settop(L, seen - 1);
}

/* 1 when the tables (of strings or arrays of strings) at a and b are equal */
static int same_table(int a, int b)
{
    size_t na = 0, nb = 0;
    lua_pushnil(L);
    while (lua_next(L, b))
        nb++, lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, a)) {
        na++;
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        int eq = lua_rawequal(L, -1, -2);
        if (!eq && lua_istable(L, -1) && lua_istable(L, -2) &&
            lua_objlen(L, -1) == lua_objlen(L, -2)) {
            eq = 1;
            for (size_t i = 1; eq && i <= lua_objlen(L, -1); i++) {
                lua_rawgeti(L, -1, (int)i);
                lua_rawgeti(L, -3, (int)i);
                eq = lua_rawequal(L, -1, -2);
                lua_pop(L, 2);
            }
        }
        lua_pop(L, 2);
        if (!eq) {
            lua_pop(L, 1);
            return 0;
        }
    }
    return na == nb;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    L = lua_newstate(tycho_lua_alloc_fn, &A);
    if (!L) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    /* a copy of exactly the input's size, so ASan sees any read past it */
    char *q = malloc(size ? size : 1);
    memcpy(q, data, size);
    tycho_lua_push_query(L, q, size);
    CHECK(lua_gettop(L) == 1 && lua_istable(L, 1), "the stack holds %d values", lua_gettop(L));
    check_table(1, q, size);

    tycho_buf_t out = TYCHO_BUF_INIT;
    char err[256] = "";
    CHECK(tycho_lua_url_query(L, 1, &out, err, sizeof err) == 0, "url_query refused: %s", err);
    CHECK(lua_gettop(L) == 1, "url_query left %d values", lua_gettop(L));
    tycho_lua_push_query(L, out.data ? out.data : "", out.len);
    CHECK(same_table(1, 2), "'%.*s' written as '%.*s' reads as another table", (int)size, q,
          (int)out.len, out.data ? out.data : "");
    tycho_buf_free(&out);
    free(q);
    return 0;
}
