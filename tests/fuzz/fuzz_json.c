/* libFuzzer target for tycho.json (lua/lib_json.c): arbitrary bytes are
 * decoded into a Lua state the way a request body is (tycho_json_decode in a
 * protected call, under the worker's counting allocator), then encoded,
 * decoded and encoded again. Checked (abort on failure):
 *  - a failed decode or encode leaves an error message and the stack as it was;
 *  - whatever encode produces is valid JSON that decodes again;
 *  - decode -> encode -> decode is stable: the second value equals the first
 *    (the decoder refuses invalid UTF-8, which the encoder would turn into
 *    U+FFFD), and encoding it again yields the same value again;
 *  - whatever decode accepts, encode accepts: the decoder refuses what the
 *    encoder would (a number past the double range, nesting deeper than the
 *    encoder's limit), and "\u0000" decodes to a NUL the encoder writes back;
 *  - a memory limit hit while decoding is a Lua error, never a crash or a
 *    leak (a full GC runs after every input, and LeakSanitizer sees every Lua
 *    allocation: they go through malloc).
 *
 * Input: byte 0 picks a memory budget (0: none; otherwise a few KB above what
 * the state uses), the rest is the JSON text.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh json. */
#include "lua/alloc.h"
#include "lua/libs.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "json"
#include "tests/fuzz/fuzz_check.h"

static lua_State *L;
static tycho_lua_alloc_t A;

typedef struct job {
    const char *s;
    size_t n;
    int rc;
    char err[256];
} job_t;

static int decode_fn(lua_State *l)
{
    job_t *j = lua_touserdata(l, 1);
    j->rc = tycho_json_decode(l, j->s, j->n, j->err, sizeof j->err);
    return j->rc == 0 ? 1 : 0;
}

/* Pushes the decoded value; 0, -1 (invalid JSON, nothing pushed) or -2 (a Lua
 * error such as the memory limit, nothing pushed). */
static int decode(const char *s, size_t n, char *err, size_t errlen)
{
    int top = lua_gettop(L);
    job_t j = {s, n, -1, ""};
    lua_pushcfunction(L, decode_fn);
    lua_pushlightuserdata(L, &j);
    int prc = lua_pcall(L, 1, 1, 0);
    if (prc != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_settop(L, top);
        return -2;
    }
    if (j.rc != 0) {
        CHECK(j.err[0], "decode failed without a message");
        snprintf(err, errlen, "%s", j.err);
        lua_settop(L, top);
        return -1;
    }
    CHECK(lua_gettop(L) == top + 1, "decode pushed %d values", lua_gettop(L) - top);
    return 0;
}

static int encode(int idx, tycho_buf_t *out)
{
    char err[200] = "";
    int top = lua_gettop(L);
    tycho_buf_reset(out);
    int rc = tycho_json_encode(L, idx, out, err, sizeof err);
    CHECK(lua_gettop(L) == top, "encode changed the stack");
    if (rc != 0) CHECK(err[0], "encode failed without a message");
    return rc;
}

static int is_array(int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    lua_getfield(L, -1, "__jsontype");
    int a = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "array") == 0;
    lua_pop(L, 2);
    return a;
}

/* Deep equality of the values at a and b (absolute indices). */
static void same(int a, int b, const char *where)
{
    int ta = lua_type(L, a), tb = lua_type(L, b);
    CHECK(ta == tb, "%s: %s vs %s", where, lua_typename(L, ta), lua_typename(L, tb));
    switch (ta) {
    case LUA_TNUMBER:
        CHECK(lua_tonumber(L, a) == lua_tonumber(L, b), "%s: %.17g vs %.17g", where,
              lua_tonumber(L, a), lua_tonumber(L, b));
        break;
    case LUA_TBOOLEAN:
        CHECK(lua_toboolean(L, a) == lua_toboolean(L, b), "%s: boolean", where);
        break;
    case LUA_TLIGHTUSERDATA:
        CHECK(lua_touserdata(L, a) == NULL && lua_touserdata(L, b) == NULL, "%s: null", where);
        break;
    case LUA_TSTRING: {
        size_t na, nb;
        const char *sa = lua_tolstring(L, a, &na), *sb = lua_tolstring(L, b, &nb);
        CHECK(na == nb && memcmp(sa, sb, na) == 0, "%s: '%.*s' vs '%.*s'", where, (int)na, sa,
              (int)nb, sb);
        break;
    }
    case LUA_TTABLE: {
        CHECK(lua_checkstack(L, 8), "stack");
        int arr = is_array(a);
        CHECK(arr == is_array(b), "%s: array vs object", where);
        size_t count = 0;
        lua_pushnil(L);
        while (lua_next(L, a)) {
            count++;
            int va = lua_gettop(L);
            lua_pushvalue(L, va - 1);
            lua_rawget(L, b);
            char sub[96];
            if (lua_type(L, va - 1) == LUA_TSTRING)
                snprintf(sub, sizeof sub, "%.40s.%.40s", where, lua_tostring(L, va - 1));
            else
                snprintf(sub, sizeof sub, "%.40s[%g]", where, lua_tonumber(L, va - 1));
            same(va, lua_gettop(L), sub);
            lua_pop(L, 2);
        }
        size_t countb = 0;
        lua_pushnil(L);
        while (lua_next(L, b)) {
            countb++;
            lua_pop(L, 1);
        }
        CHECK(countb == count, "%s: %zu keys vs %zu", where, count, countb);
        break;
    }
    default:
        CHECK(0, "%s: decode produced a %s", where, lua_typename(L, ta));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    L = lua_newstate(tycho_lua_alloc_fn, &A);
    if (!L) abort();
    luaL_openlibs(L);
    /* the array metatable lives in the registry; json.decode needs it */
    lua_pushcfunction(L, luaopen_tycho_json);
    lua_call(L, 0, 1);
    lua_pop(L, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (data[0] & 0x80) { /* a budget of 1..64 KB on top of what is in use */
        A.limit = A.used + ((size_t)(data[0] & 0x3f) + 1) * 1024;
        A.enforce = 1;
    }
    char err[256];
    tycho_buf_t e1 = TYCHO_BUF_INIT, e2 = TYCHO_BUF_INIT, e3 = TYCHO_BUF_INIT;
    int rc = decode(s, n, err, sizeof err);
    if (A.enforce) { /* under a budget only the failure paths are of interest */
        A.enforce = 0, A.limit = 0;
        goto out;
    }
    CHECK(rc != -2, "decode raised a Lua error without a memory limit: %s", err);
    if (rc != 0) goto out;
    CHECK(encode(1, &e1) == 0, "encode refused a decoded value");
    CHECK(decode(e1.data, e1.len, err, sizeof err) == 0, "encode wrote invalid JSON (%s): %.*s",
          err, (int)(e1.len < 200 ? e1.len : 200), e1.data);
    same(1, 2, "$");
    CHECK(encode(2, &e2) == 0, "re-encoding a decoded value failed");
    CHECK(decode(e2.data, e2.len, err, sizeof err) == 0, "second encode invalid: %s", err);
    same(2, 3, "$");
    CHECK(encode(3, &e3) == 0 && e3.len == e2.len, "third encode differs in length");
out:
    tycho_buf_free(&e1);
    tycho_buf_free(&e2);
    tycho_buf_free(&e3);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
