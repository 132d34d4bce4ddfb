/* Unit tests of the C route matcher (server/router). */
#include "router/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static tycho_router_t *build(const char *const *routes, size_t n)
{
    tycho_router_t *r = tycho_router_new();
    assert_non_null(r);
    char err[256];
    for (size_t i = 0; i < n; i += 2) {
        int rc = tycho_router_add(r, routes[i], routes[i + 1], (void *)routes[i + 1], NULL, err,
                                  sizeof err);
        if (rc != 0) fail_msg("add %s %s: %d %s", routes[i], routes[i + 1], rc, err);
    }
    return r;
}

static const char *match(tycho_router_t *r, const char *method, const char *path,
                         tycho_route_match_t *m)
{
    int rc = tycho_router_match(r, method, strlen(method), path, strlen(path), m);
    if (rc == TYCHO_ROUTE_NOT_FOUND) return "404";
    if (rc == TYCHO_ROUTE_METHOD_NOT_ALLOWED) return "405";
    return m->pattern;
}

static void param_is(const tycho_route_match_t *m, const char *name, const char *value)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (m->params[i].nlen == strlen(name) &&
            memcmp(m->params[i].name, name, m->params[i].nlen) == 0) {
            assert_int_equal(m->params[i].vlen, strlen(value));
            assert_memory_equal(m->params[i].value, value, strlen(value));
            return;
        }
    fail_msg("no param %s", name);
}

static void test_precedence(void **state)
{
    (void)state;
    /* inserted in reverse precedence order on purpose */
    static const char *const routes[] = {
        "GET",  "/files/*rest",
        "GET",  "/users/:id",
        "GET",  "/users/me",
        "GET",  "/",
        "GET",  "/users/:id/posts/:post",
        "POST", "/users/:uid",
        "GET",  "/users/me/*tail",
    };
    tycho_router_t *r = build(routes, sizeof routes / sizeof *routes);
    tycho_route_match_t m;
    assert_string_equal(match(r, "GET", "/users/me", &m), "/users/me");
    assert_int_equal(m.nparams, 0);
    assert_string_equal(match(r, "GET", "/users/42", &m), "/users/:id");
    param_is(&m, "id", "42");
    assert_string_equal(match(r, "POST", "/users/42", &m), "/users/:uid");
    param_is(&m, "uid", "42");
    /* static node has no POST: backtracks to the param branch */
    assert_string_equal(match(r, "POST", "/users/me", &m), "/users/:uid");
    param_is(&m, "uid", "me");
    assert_string_equal(match(r, "GET", "/users/7/posts/9", &m), "/users/:id/posts/:post");
    param_is(&m, "id", "7");
    param_is(&m, "post", "9");
    assert_string_equal(match(r, "GET", "/files/a/b/c.txt", &m), "/files/*rest");
    param_is(&m, "rest", "a/b/c.txt");
    assert_string_equal(match(r, "GET", "/files/", &m), "/files/*rest");
    param_is(&m, "rest", "");
    assert_string_equal(match(r, "GET", "/files", &m), "404");
    assert_string_equal(match(r, "GET", "/", &m), "/");
    assert_string_equal(match(r, "GET", "/users/me/x/y", &m), "/users/me/*tail");
    assert_string_equal(match(r, "GET", "/users/", &m), "404"); /* a param never matches "" */
    assert_string_equal(match(r, "GET", "/nope", &m), "404");
    assert_string_equal(match(r, "DELETE", "/users/1", &m), "405");
    /* HEAD falls back to GET */
    assert_string_equal(match(r, "HEAD", "/users/me", &m), "/users/me");
    assert_string_equal(m.method, "GET");
    tycho_router_free(r);
}

static void test_allow(void **state)
{
    (void)state;
    static const char *const routes[] = {
        "GET", "/items/:id", "PUT", "/items/:id", "DELETE", "/items/special", "POST", "/items",
    };
    tycho_router_t *r = build(routes, sizeof routes / sizeof *routes);
    char allow[128];
    assert_int_equal(tycho_router_allow(r, "/items/1", 8, allow, sizeof allow), 3);
    assert_string_equal(allow, "GET, HEAD, PUT, OPTIONS");
    tycho_router_allow(r, "/items/special", 14, allow, sizeof allow);
    assert_string_equal(allow, "GET, HEAD, PUT, DELETE, OPTIONS");
    assert_int_equal(tycho_router_allow(r, "/x", 2, allow, sizeof allow), 0);
    assert_string_equal(allow, "");
    tycho_router_free(r);
}

static void test_conflicts(void **state)
{
    (void)state;
    tycho_router_t *r = tycho_router_new();
    char err[256];
    void *prev = NULL;
    assert_int_equal(tycho_router_add(r, "GET", "/a/:id", (void *)1, &prev, err, sizeof err), 0);
    assert_int_equal(tycho_router_add(r, "POST", "/a/:id", (void *)2, &prev, err, sizeof err), 0);
    /* same shape, other param name: still the same route */
    assert_int_equal(tycho_router_add(r, "GET", "/a/:name", (void *)3, &prev, err, sizeof err),
                     TYCHO_ROUTER_CONFLICT);
    assert_ptr_equal(prev, (void *)1);
    assert_int_equal(tycho_router_add(r, "GET", "/a/b", (void *)4, &prev, err, sizeof err), 0);
    assert_int_equal(tycho_router_count(r), 3);
    tycho_router_free(r);
}

static void test_bad_patterns(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     "x",   "/a//b",  "/:",   "/:1x", "/*rest/x", "/a b",
        "/%zz", "/%4", "/:a/:a", "/a?b", "/*",   "/:a-b",
    };
    tycho_pattern_t p;
    char err[160];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (tycho_pattern_parse(bad[i], strlen(bad[i]), &p, err, sizeof err) == 0)
            fail_msg("pattern '%s' accepted", bad[i]);
        assert_true(err[0] != 0);
    }
    static const char *const good[] = {"/", "/a/", "/a/:b/*c", "/%41", "/~user/:x_1", "/a:b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (tycho_pattern_parse(good[i], strlen(good[i]), &p, err, sizeof err) != 0)
            fail_msg("pattern '%s' refused: %s", good[i], err);
    tycho_router_t *r = tycho_router_new();
    assert_int_equal(tycho_router_add(r, "get", "/", NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad method"));
    tycho_router_free(r);
}

static void test_many_routes(void **state)
{
    (void)state;
    tycho_router_t *r = tycho_router_new();
    char pat[64], path[64], err[128];
    static char pats[500][64];
    for (int i = 0; i < 500; i++) {
        snprintf(pats[i], sizeof pats[i], "/r%d/:id/x%d", i % 50, i);
        assert_int_equal(tycho_router_add(r, "GET", pats[i], pats[i], NULL, err, sizeof err), 0);
    }
    tycho_route_match_t m;
    for (int i = 0; i < 500; i++) {
        snprintf(path, sizeof path, "/r%d/abc/x%d", i % 50, i);
        snprintf(pat, sizeof pat, "/r%d/:id/x%d", i % 50, i);
        assert_string_equal(match(r, "GET", path, &m), pat);
        param_is(&m, "id", "abc");
    }
    tycho_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),  cmocka_unit_test(test_allow),
        cmocka_unit_test(test_conflicts),   cmocka_unit_test(test_bad_patterns),
        cmocka_unit_test(test_many_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
