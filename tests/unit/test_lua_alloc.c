/* Unit tests of the Lua allocator (server/lua/alloc.c): the byte count and
 * the limit, small blocks reused by size class (kept in place while a
 * resize stays in the class, moved with their bytes when it does not), the
 * cache's cap, and release; then a LuaJIT state running on it. */
#include "lua/alloc.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void *alloc(tycho_lua_alloc_t *a, size_t n)
{
    return tycho_lua_alloc_fn(a, NULL, 0, n);
}

static void *resize(tycho_lua_alloc_t *a, void *p, size_t o, size_t n)
{
    return tycho_lua_alloc_fn(a, p, o, n);
}

static void test_counts_and_reuses_small_blocks(void **state)
{
    (void)state;
    tycho_lua_alloc_t a = {0};
    char *p = alloc(&a, 40);
    assert_non_null(p);
    assert_int_equal(a.used, 40);
    memset(p, 'x', 40);
    assert_null(resize(&a, p, 40, 0));
    assert_int_equal(a.used, 0);
    assert_int_equal(a.peak, 40);
    assert_int_equal(a.cached, 48);     /* the class of 33..48 bytes */
    assert_ptr_equal(alloc(&a, 33), p); /* same class: the same block */
    assert_int_equal(a.cached, 0);
    assert_null(resize(&a, p, 33, 0));
    tycho_lua_alloc_release(&a);
    assert_int_equal(a.cached, 0);
    for (int c = 0; c < TYCHO_LUA_ALLOC_CLASSES; c++)
        assert_null(a.cache[c]);
}

/* Growing or shrinking keeps the bytes, across classes and past the last. */
static void test_resize_keeps_bytes(void **state)
{
    (void)state;
    tycho_lua_alloc_t a = {0};
    static const size_t sizes[] = {1, 16, 17, 20, 100, 256, 257, 4000, 256, 64, 3, 9000, 1};
    unsigned char *p = alloc(&a, sizes[0]);
    p[0] = 7;
    for (size_t i = 1; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t o = sizes[i - 1], n = sizes[i];
        unsigned char *q = resize(&a, p, o, n);
        assert_non_null(q);
        if (n <= 256 && o <= 256 && (n - 1) / 16 == (o - 1) / 16)
            assert_ptr_equal(q, p); /* within a class: in place */
        for (size_t k = 0; k < (o < n ? o : n); k++)
            assert_int_equal(q[k], (unsigned char)(k * 7 + 7));
        for (size_t k = 0; k < n; k++)
            q[k] = (unsigned char)(k * 7 + 7);
        assert_int_equal(a.used, n);
        p = q;
    }
    resize(&a, p, 1, 0);
    assert_int_equal(a.used, 0);
    tycho_lua_alloc_release(&a);
}

/* Freed blocks are cached up to the cap, the rest goes back to malloc. */
static void test_cache_is_capped(void **state)
{
    (void)state;
    tycho_lua_alloc_t a = {0};
    enum { N = TYCHO_LUA_ALLOC_CACHE_MAX / 256 + 100 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        assert_non_null(blocks[i] = alloc(&a, 256));
    for (int i = 0; i < N; i++)
        resize(&a, blocks[i], 256, 0);
    assert_int_equal(a.cached, TYCHO_LUA_ALLOC_CACHE_MAX);
    assert_int_equal(a.used, 0);
    tycho_lua_alloc_release(&a);
    assert_int_equal(a.cached, 0);
}

/* Over the limit while enforced: refused and counted, nothing changes. */
static void test_limit(void **state)
{
    (void)state;
    tycho_lua_alloc_t a = {.limit = 100};
    void *p = alloc(&a, 90);
    assert_non_null(p); /* not enforced yet */
    a.enforce = 1;
    assert_null(alloc(&a, 20));
    assert_null(resize(&a, p, 90, 120));
    assert_int_equal(a.refused, 2);
    assert_int_equal(a.used, 90);
    p = resize(&a, p, 90, 50); /* shrinking is always allowed */
    assert_non_null(p);
    assert_int_equal(a.used, 50);
    resize(&a, p, 50, 0);
    tycho_lua_alloc_release(&a);
}

/* A LuaJIT state lives on it: tables, strings and closures made and
 * collected, then closed with nothing left in use. */
static void test_lua_state(void **state)
{
    (void)state;
    tycho_lua_alloc_t a = {0};
    lua_State *L = lua_newstate(tycho_lua_alloc_fn, &a);
    assert_non_null(L);
    luaL_openlibs(L);
    const char *code =
        "local t = {}\n"
        "for i = 1, 20000 do t[i % 500] = { i, tostring(i), function() return i end } end\n"
        "collectgarbage()\n"
        "local s = 0\n"
        "for k, v in pairs(t) do s = s + v[1] + #v[2] + v[3]() end\n"
        "return s\n";
    assert_int_equal(luaL_dostring(L, code), 0);
    assert_true(lua_tonumber(L, -1) > 0);
    assert_true(a.used > 0 && a.peak >= a.used);
    lua_close(L);
    assert_int_equal(a.used, 0);
    assert_true(a.cached > 0 && a.cached <= TYCHO_LUA_ALLOC_CACHE_MAX);
    tycho_lua_alloc_release(&a);
    assert_int_equal(a.cached, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_reuses_small_blocks),
        cmocka_unit_test(test_resize_keeps_bytes),
        cmocka_unit_test(test_cache_is_capped),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_lua_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
