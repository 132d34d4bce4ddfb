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
    /* ... of the pattern its GET would take, before a HEAD of a param */
    static const char *const head[] = {"GET", "/h/me", "HEAD", "/h/:id"};
    r = build(head, sizeof head / sizeof *head);
    assert_string_equal(match(r, "HEAD", "/h/me", &m), "/h/me");
    assert_string_equal(match(r, "HEAD", "/h/1", &m), "/h/:id");
    assert_string_equal(m.method, "HEAD");
    tycho_router_free(r);
}

/* RFC 3986 6.2.2: escapes of unreserved characters are the characters;
 * params stay as the request wrote them. */
static void test_normalised_paths(void **state)
{
    (void)state;
    static const char *const routes[] = {
        "GET",          "/users/me", "GET",    "/users/:id", "GET",       "/~echo", "GET",
        "/files/*rest", "GET",       "/a%2fb", "PUT",        "/%7Etilde", "GET",    "/x/:a/y/:b",
    };
    tycho_router_t *r = build(routes, sizeof routes / sizeof *routes);
    tycho_route_match_t m;
    assert_string_equal(match(r, "GET", "/users/%6De", &m), "/users/me");
    assert_string_equal(match(r, "GET", "/users/%6d%65", &m), "/users/me");
    assert_string_equal(match(r, "GET", "/%7Eecho", &m), "/~echo");
    assert_string_equal(match(r, "GET", "/%7eecho", &m), "/~echo");
    assert_string_equal(match(r, "PUT", "/~tilde", &m), "/%7Etilde"); /* patterns too */
    /* %2F is not '/': it stays escaped, in either case */
    assert_string_equal(match(r, "GET", "/a%2Fb", &m), "/a%2fb");
    assert_string_equal(match(r, "GET", "/a/b", &m), "404");
    assert_string_equal(match(r, "GET", "/users/a%2Fb", &m), "/users/:id");
    param_is(&m, "id", "a%2Fb");
    assert_string_equal(match(r, "GET", "/users/%41%2f%42", &m), "/users/:id");
    param_is(&m, "id", "%41%2f%42"); /* raw: decoded when read */
    assert_string_equal(match(r, "GET", "/x/%61%62/%79/c%64", &m), "/x/:a/y/:b");
    param_is(&m, "a", "%61%62");
    param_is(&m, "b", "c%64");
    assert_string_equal(match(r, "GET", "/files/%61/b%2Fc//d", &m), "/files/*rest");
    param_is(&m, "rest", "%61/b%2Fc//d");
    assert_string_equal(match(r, "GET", "/%66iles/", &m), "/files/*rest");
    param_is(&m, "rest", "");
    /* an escape without two hex digits */
    static const char *const bad[] = {"/users/%zz", "/users/%", "/users/%4", "/%g1/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(tycho_router_match(r, "GET", 3, bad[i], strlen(bad[i]), &m),
                         TYCHO_ROUTE_BAD_PATH);
    char allow[64];
    assert_int_equal(tycho_router_allow(r, "/%7Etilde", 9, allow, sizeof allow), 1);
    assert_string_equal(allow, "PUT, OPTIONS");
    assert_int_equal(tycho_router_allow(r, "/%7", 3, allow, sizeof allow), 0);
    /* one pattern, two spellings: a conflict */
    char err[128];
    assert_int_equal(tycho_router_add(r, "GET", "/%7eecho", NULL, NULL, err, sizeof err),
                     TYCHO_ROUTER_CONFLICT);
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
    /* OPTIONS * (RFC 9110 9.3.7): every route's method */
    tycho_route_match_t m;
    assert_string_equal(match(r, "OPTIONS", "*", &m), "405");
    assert_int_equal(tycho_router_allow(r, "*", 1, allow, sizeof allow), 5);
    assert_string_equal(allow, "GET, HEAD, PUT, DELETE, POST, OPTIONS");
    tycho_router_free(r);
    r = tycho_router_new();
    assert_int_equal(tycho_router_allow(r, "*", 1, allow, sizeof allow), 0);
    assert_string_equal(allow, "OPTIONS");
    tycho_router_free(r);
}

/* Allow holds every method of the routes matching a path however many
 * routes match it (here 3 x 31 on /s/me, then the GET of the root wildcard), and never
 * a method cut short when out is too small. */
static void test_allow_many(void **state)
{
    (void)state;
    static const char *const patterns[] = {"/s/me", "/s/:id", "/:a/me"};
    tycho_router_t *r = tycho_router_new();
    char err[256], method[8];
    for (size_t p = 0; p < 3; p++)
        for (int i = 0; i < 31; i++) {
            snprintf(method, sizeof method, "M%d", i);
            assert_int_equal(tycho_router_add(r, method, patterns[p], NULL, NULL, err, sizeof err),
                             0);
        }
    assert_int_equal(tycho_router_add(r, "GET", "/*all", NULL, NULL, err, sizeof err), 0);
    char allow[TYCHO_ROUTER_ALLOW_MAX];
    assert_int_equal(tycho_router_allow(r, "/s/me", 5, allow, sizeof allow), 33);
    assert_non_null(strstr(allow, "M0, M1, "));
    assert_non_null(strstr(allow, ", M30, GET, HEAD, OPTIONS"));
    tycho_router_free(r);

    static const char *const routes[] = {"GET", "/a", "PUT", "/a"};
    r = build(routes, sizeof routes / sizeof *routes);
    tycho_router_allow(r, "/a", 2, allow, 12); /* room for "GET, HEAD, P" */
    assert_string_equal(allow, "GET, HEAD");
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

/* Reference matcher: among the routes matching method + path, the one whose
 * segment kinds (static 0 < param 1 < wildcard 2) are lexicographically
 * smallest wins; that is what the tree's ordered backtracking computes. */
typedef struct ref_route {
    char method[8];
    char pattern[64];
    tycho_pattern_t pat;
} ref_route_t;

static int ref_matches(const ref_route_t *r, const char *path, int kinds[], size_t *nk)
{
    const char *p = path + 1;
    size_t i = 0;
    for (;; i++) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (i >= r->pat.nsegs) return 0;
        const tycho_pattern_seg_t *s = &r->pat.segs[i];
        kinds[i] = s->kind == TYCHO_SEG_STATIC ? 0 : s->kind == TYCHO_SEG_PARAM ? 1 : 2;
        if (s->kind == TYCHO_SEG_WILD) break;
        if (s->kind == TYCHO_SEG_STATIC && (s->n != n || memcmp(s->p, p, n) != 0)) return 0;
        if (s->kind == TYCHO_SEG_PARAM && n == 0) return 0;
        if (!end) {
            if (i + 1 != r->pat.nsegs) return 0;
            break;
        }
        p = end + 1;
    }
    *nk = i + 1;
    return 1;
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    static const char *const segs[] = {"a", "b", ":p", "*w", "c"};
    static const char *const psegs[] = {"a", "b", "c", "x", ""};
    static const char *const methods[] = {"GET", "POST"};
    unsigned seed = 12345;
#define RND(n) ((seed = seed * 1103515245u + 12345u) >> 16) % (n)
    for (int round = 0; round < 300; round++) {
        tycho_router_t *r = tycho_router_new();
        ref_route_t routes[24];
        size_t nroutes = 0;
        char err[160];
        for (int k = 0; k < 24; k++) {
            ref_route_t *rr = &routes[nroutes];
            snprintf(rr->method, sizeof rr->method, "%s", methods[RND(2)]);
            size_t depth = 1 + RND(3), off = 0;
            for (size_t d = 0; d < depth; d++) {
                const char *sg = segs[RND(5)];
                char name[24];
                if (sg[0] == ':' || sg[0] == '*')
                    snprintf(name, sizeof name, "%c%c%zu", sg[0], sg[1], d);
                else
                    snprintf(name, sizeof name, "%s", sg);
                off += (size_t)snprintf(rr->pattern + off, sizeof rr->pattern - off, "/%s", name);
                if (sg[0] == '*') break;
            }
            int rc = tycho_router_add(r, rr->method, rr->pattern, rr, NULL, err, sizeof err);
            if (rc == TYCHO_ROUTER_CONFLICT) continue;
            assert_int_equal(rc, 0);
            assert_int_equal(
                tycho_pattern_parse(rr->pattern, strlen(rr->pattern), &rr->pat, err, sizeof err),
                0);
            nroutes++;
        }
        for (int q = 0; q < 60; q++) {
            char path[64];
            size_t depth = 1 + RND(4), off = 0;
            for (size_t d = 0; d < depth; d++)
                off += (size_t)snprintf(path + off, sizeof path - off, "/%s", psegs[RND(5)]);
            const char *method = methods[RND(2)];
            const ref_route_t *best = NULL;
            int best_k[TYCHO_ROUTER_MAX_SEGMENTS];
            size_t best_n = 0;
            int any_path = 0;
            for (size_t i = 0; i < nroutes; i++) {
                int kinds[TYCHO_ROUTER_MAX_SEGMENTS];
                size_t nk;
                if (!ref_matches(&routes[i], path, kinds, &nk)) continue;
                any_path = 1;
                if (strcmp(routes[i].method, method) != 0) continue;
                int better = !best;
                for (size_t j = 0; !better && j < nk && j < best_n; j++) {
                    if (kinds[j] != best_k[j]) {
                        better = kinds[j] < best_k[j];
                        break;
                    }
                }
                if (better) {
                    best = &routes[i];
                    memcpy(best_k, kinds, nk * sizeof *kinds);
                    best_n = nk;
                }
            }
            tycho_route_match_t m;
            int rc = tycho_router_match(r, method, strlen(method), path, strlen(path), &m);
            if (best) {
                if (rc != TYCHO_ROUTE_FOUND || m.data != best)
                    fail_msg("%s %s: router %d %s, reference %s", method, path, rc,
                             rc == TYCHO_ROUTE_FOUND ? m.pattern : "-", best->pattern);
            } else {
                assert_int_equal(rc,
                                 any_path ? TYCHO_ROUTE_METHOD_NOT_ALLOWED : TYCHO_ROUTE_NOT_FOUND);
            }
        }
        tycho_router_free(r);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),          cmocka_unit_test(test_allow),
        cmocka_unit_test(test_normalised_paths),    cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_bad_patterns),        cmocka_unit_test(test_many_routes),
        cmocka_unit_test(test_random_vs_reference), cmocka_unit_test(test_allow_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
