/* libFuzzer target for the route-pattern parser and the router (insert,
 * match, allow), checked against a slow reference matcher written from the
 * contract in router/router.h.
 *
 * Input: lines. "+METHOD /pattern" adds a route; "METHOD /path" looks a path
 * up. The whole input is also parsed as one pattern. Checked (abort on
 * failure):
 *  - a parsed pattern re-joins to its text; limits hold;
 *  - add reports a conflict exactly when the same method and shape exist;
 *  - every added route matches a path built from its pattern;
 *  - a lookup returns the route the reference picks (static over param over
 *    wildcard, segment by segment; HEAD falls back to GET on the same node),
 *    with the right param values; METHOD_NOT_ALLOWED/NOT_FOUND agree with
 *    the reference and with tycho_router_allow. The reference compares
 *    normalised paths and patterns (tycho_percent_normalize): a path with an
 *    invalid escape is TYCHO_ROUTE_BAD_PATH, a param value is the request's
 *    own bytes, equal to the reference's once normalised.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh router. */
#include "core/percent.h"
#include "router/router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 48
#define MAX_LOOKUPS 48
#define MAX_PATH_SEGS 256

#define FUZZ_TARGET "router"
#include "tests/fuzz/fuzz_check.h"

typedef struct route {
    char method[TYCHO_ROUTER_MAX_METHOD + 1];
    char *pattern;
    char *norm;          /* pattern, normalised */
    tycho_pattern_t pat; /* points into norm */
} route_t;

typedef struct pseg {
    const char *p;
    size_t n;
} pseg_t;

/* Path segments as the router cuts them: after the leading '/', split on '/'. */
static size_t split_path(const char *path, size_t plen, pseg_t *segs, size_t max)
{
    size_t k = 0, i = 1;
    for (;;) {
        size_t start = i;
        while (i < plen && path[i] != '/')
            i++;
        if (k == max) return max + 1;
        segs[k++] = (pseg_t){path + start, i - start};
        if (i >= plen) return k;
        i++;
    }
}

/* Does the pattern match? Fills kinds (0 static, 1 param, 2 wildcard) and the
 * param values. */
static int ref_match(const tycho_pattern_t *pat, const char *path, size_t plen, const pseg_t *ps,
                     size_t nps, int *kinds, pseg_t *vals)
{
    size_t nv = 0;
    for (size_t i = 0; i < pat->nsegs; i++) {
        const tycho_pattern_seg_t *s = &pat->segs[i];
        if (i >= nps) return 0;
        if (s->kind == TYCHO_SEG_WILD) {
            kinds[i] = 2;
            vals[nv++] = (pseg_t){ps[i].p, (size_t)(path + plen - ps[i].p)};
            return 1;
        }
        if (s->kind == TYCHO_SEG_PARAM) {
            if (ps[i].n == 0) return 0;
            kinds[i] = 1;
            vals[nv++] = ps[i];
        } else {
            if (ps[i].n != s->n || memcmp(ps[i].p, s->p, s->n) != 0) return 0;
            kinds[i] = 0;
        }
    }
    return nps == pat->nsegs;
}

static int same_shape(const tycho_pattern_t *a, const tycho_pattern_t *b)
{
    if (a->nsegs != b->nsegs) return 0;
    for (size_t i = 0; i < a->nsegs; i++) {
        if (a->segs[i].kind != b->segs[i].kind) return 0;
        if (a->segs[i].kind == TYCHO_SEG_STATIC &&
            (a->segs[i].n != b->segs[i].n || memcmp(a->segs[i].p, b->segs[i].p, a->segs[i].n)))
            return 0;
    }
    return 1;
}

static int kinds_cmp(const int *a, size_t na, const int *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

static void check_pattern_text(const char *text, size_t n)
{
    tycho_pattern_t pat;
    char err[200];
    err[0] = 0;
    if (tycho_pattern_parse(text, n, &pat, err, sizeof err) != 0) {
        CHECK(err[0], "a rejected pattern has no message");
        return;
    }
    CHECK(pat.nsegs >= 1 && pat.nsegs <= TYCHO_ROUTER_MAX_SEGMENTS, "nsegs %zu", pat.nsegs);
    CHECK(pat.nparams <= TYCHO_ROUTER_MAX_PARAMS, "nparams %zu", pat.nparams);
    /* "/" + segments joined by "/" (":"/"*" before names) is the text again */
    size_t off = 0, nparams = 0;
    for (size_t i = 0; i < pat.nsegs; i++) {
        const tycho_pattern_seg_t *s = &pat.segs[i];
        CHECK(off < n && text[off] == '/', "segment %zu does not follow a '/'", i);
        off++;
        if (s->kind != TYCHO_SEG_STATIC) {
            CHECK(off < n && text[off] == (s->kind == TYCHO_SEG_WILD ? '*' : ':'), "sigil");
            CHECK(s->n > 0, "empty param name");
            off++, nparams++;
            CHECK(s->kind != TYCHO_SEG_WILD || i + 1 == pat.nsegs, "wildcard not last");
        }
        CHECK(s->p == text + off && off + s->n <= n, "segment %zu not in place", i);
        for (size_t k = 0; k < s->n; k++)
            CHECK(s->p[k] != '/' && s->p[k] != 0, "'/' or NUL inside a segment");
        off += s->n;
    }
    CHECK(off == n, "segments cover %zu of %zu bytes", off, n);
    CHECK(nparams == pat.nparams, "nparams %zu, counted %zu", pat.nparams, nparams);
}

static void lookup(tycho_router_t *r, route_t *routes, size_t nroutes, const char *method,
                   size_t mlen, const char *path, size_t plen)
{
    tycho_route_match_t m;
    memset(&m, 0xa5, sizeof m);
    int rc = tycho_router_match(r, method, mlen, path, plen, &m);
    char allow[1024];
    size_t nallow = tycho_router_allow(r, path, plen, allow, sizeof allow);
    CHECK(strlen(allow) < sizeof allow, "allow not terminated");
    if (plen == 1 && path[0] == '*') { /* OPTIONS *: the whole server */
        CHECK(rc == TYCHO_ROUTE_METHOD_NOT_ALLOWED && strstr(allow, "OPTIONS"), "'*': %d '%s'", rc,
              allow);
        return;
    }
    const char *raw = path;
    size_t rawlen = plen;
    static char norm[1 << 16];
    if (plen > sizeof norm) return;
    ssize_t nlen = tycho_percent_normalize(path, plen, norm);
    if (nlen < 0 && plen && path[0] == '/') {
        CHECK(rc == TYCHO_ROUTE_BAD_PATH && nallow == 0, "'%.*s': bad escape, got %d", (int)plen,
              path, rc);
        return;
    }
    if (nlen >= 0) path = norm, plen = (size_t)nlen;

    /* the reference */
    static pseg_t ps[MAX_PATH_SEGS + 1];
    size_t nps = plen && path[0] == '/' ? split_path(path, plen, ps, MAX_PATH_SEGS) : 0;
    int head = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
    const route_t *best = NULL;
    int best_kinds[TYCHO_ROUTER_MAX_SEGMENTS], kinds[TYCHO_ROUTER_MAX_SEGMENTS];
    pseg_t best_vals[TYCHO_ROUTER_MAX_PARAMS], vals[TYCHO_ROUTER_MAX_PARAMS];
    int any_method = 0, best_exact = 0;
    if (nps >= 1 && nps <= MAX_PATH_SEGS) {
        for (size_t i = 0; i < nroutes; i++) {
            const route_t *rt = &routes[i];
            if (!ref_match(&rt->pat, path, plen, ps, nps, kinds, vals)) continue;
            any_method = 1;
            size_t ml = strlen(rt->method);
            int exact = ml == mlen && memcmp(rt->method, method, mlen) == 0;
            int fallback = head && strcmp(rt->method, "GET") == 0;
            if (!exact && !fallback) continue;
            int c = best ? kinds_cmp(kinds, rt->pat.nsegs, best_kinds, best->pat.nsegs) : -1;
            /* same node: the exact method wins over the GET fallback */
            if (c < 0 || (c == 0 && exact && !best_exact)) {
                best = rt, best_exact = exact;
                memcpy(best_kinds, kinds, sizeof kinds);
                memcpy(best_vals, vals, sizeof vals);
            }
        }
    }
    if (nps > MAX_PATH_SEGS) return; /* too deep for the reference; the router must just survive */

    if (best) {
        CHECK(rc == TYCHO_ROUTE_FOUND, "'%.*s %.*s': expected %s %s, got %d", (int)mlen, method,
              (int)plen, path, best->method, best->pattern, rc);
        CHECK(strcmp(m.pattern, best->pattern) == 0 && strcmp(m.method, best->method) == 0,
              "'%.*s %.*s': expected %s %s, got %s %s", (int)mlen, method, (int)plen, path,
              best->method, best->pattern, m.method, m.pattern);
        CHECK(m.data == best, "data of another route");
        CHECK(m.nparams == best->pat.nparams, "nparams %zu != %zu", m.nparams, best->pat.nparams);
        size_t k = 0;
        for (size_t i = 0; i < best->pat.nsegs; i++) {
            const tycho_pattern_seg_t *s = &best->pat.segs[i];
            if (s->kind == TYCHO_SEG_STATIC) continue;
            const tycho_route_param_t *p = &m.params[k];
            CHECK(p->nlen == s->n && memcmp(p->name, s->p, s->n) == 0 && p->name[p->nlen] == 0,
                  "param %zu name", k);
            static char v[1 << 16];
            CHECK(p->value >= raw && p->value + p->vlen <= raw + rawlen,
                  "param %zu outside the path", k);
            ssize_t vn = tycho_percent_normalize(p->value, p->vlen, v);
            CHECK(vn == (ssize_t)best_vals[k].n && memcmp(v, best_vals[k].p, best_vals[k].n) == 0,
                  "'%.*s': param %.*s = '%.*s', expected '%.*s'", (int)plen, path, (int)s->n, s->p,
                  (int)p->vlen, p->value, (int)best_vals[k].n, best_vals[k].p);
            k++;
        }
    } else if (any_method) {
        CHECK(rc == TYCHO_ROUTE_METHOD_NOT_ALLOWED, "'%.*s %.*s': expected 405, got %d", (int)mlen,
              method, (int)plen, path, rc);
    } else {
        CHECK(rc == TYCHO_ROUTE_NOT_FOUND, "'%.*s %.*s': expected 404, got %d", (int)mlen, method,
              (int)plen, path, rc);
    }
    CHECK((nallow > 0) == (any_method != 0), "allow %zu for '%.*s' ('%s')", nallow, (int)plen, path,
          allow);
    if (nallow) CHECK(strstr(allow, "OPTIONS") != NULL, "OPTIONS missing from '%s'", allow);
}

/* A path that the pattern matches: params become "v<i>", the wildcard "w/x". */
static size_t instantiate(const tycho_pattern_t *pat, char *out, size_t cap)
{
    size_t off = 0;
    for (size_t i = 0; i < pat->nsegs; i++) {
        const tycho_pattern_seg_t *s = &pat->segs[i];
        char tmp[16];
        const char *p = s->p;
        size_t n = s->n;
        if (s->kind == TYCHO_SEG_PARAM) {
            n = (size_t)snprintf(tmp, sizeof tmp, "v%zu", i);
            p = tmp;
        } else if (s->kind == TYCHO_SEG_WILD) {
            p = "w/x", n = 3;
        }
        if (off + 1 + n >= cap) return 0;
        out[off++] = '/';
        memcpy(out + off, p, n);
        off += n;
    }
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    check_pattern_text(in, size);

    tycho_router_t *r = tycho_router_new();
    if (!r) return 0;
    route_t routes[MAX_ROUTES];
    size_t nroutes = 0, nlookups = 0;
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(in + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (in + pos)) : size - pos;
        const char *line = in + pos;
        pos += len + 1;
        const char *sp = memchr(line, ' ', len);
        if (len && line[0] == '+') {
            if (nroutes == MAX_ROUTES || !sp) continue;
            size_t mlen = (size_t)(sp - line - 1);
            if (mlen > TYCHO_ROUTER_MAX_METHOD) continue;
            char method[TYCHO_ROUTER_MAX_METHOD + 1];
            memcpy(method, line + 1, mlen);
            method[mlen] = 0;
            size_t plen = len - mlen - 2;
            char *pattern = malloc(plen + 1);
            memcpy(pattern, sp + 1, plen);
            pattern[plen] = 0;
            plen = strlen(pattern); /* the C API takes NUL-terminated strings */
            check_pattern_text(pattern, plen);

            route_t *rt = &routes[nroutes];
            rt->norm = malloc(plen + 1);
            int valid = tycho_method_valid(method, strlen(method)) &&
                        tycho_pattern_parse(pattern, plen, &rt->pat, NULL, 0) == 0;
            if (valid) {
                size_t nn = (size_t)tycho_percent_normalize(pattern, plen, rt->norm);
                rt->norm[nn] = 0;
                CHECK(tycho_pattern_parse(rt->norm, nn, &rt->pat, NULL, 0) == 0,
                      "'%s' normalised to '%s' does not parse", pattern, rt->norm);
            }
            const route_t *dup = NULL;
            for (size_t i = 0; valid && i < nroutes && !dup; i++)
                if (strcmp(routes[i].method, method) == 0 && same_shape(&routes[i].pat, &rt->pat))
                    dup = &routes[i];
            void *existing = NULL;
            char err[256];
            err[0] = 0;
            int rc = tycho_router_add(r, method, pattern, rt, &existing, err, sizeof err);
            if (!valid) {
                CHECK(rc == -1 && err[0], "'%s %s' accepted (rc %d)", method, pattern, rc);
                free(pattern), free(rt->norm);
            } else if (dup) {
                CHECK(rc == TYCHO_ROUTER_CONFLICT && existing == dup,
                      "'%s %s' after '%s %s': rc %d", method, pattern, dup->method, dup->pattern,
                      rc);
                free(pattern), free(rt->norm);
            } else {
                CHECK(rc == 0, "'%s %s' refused (rc %d: %s)", method, pattern, rc, err);
                memcpy(rt->method, method, strlen(method) + 1);
                rt->pattern = pattern;
                nroutes++;
                CHECK(tycho_router_count(r) == nroutes, "count");
            }
        } else if (nlookups < MAX_LOOKUPS) {
            nlookups++;
            size_t mlen = sp ? (size_t)(sp - line) : len;
            lookup(r, routes, nroutes, line, mlen, sp ? sp + 1 : line + len,
                   sp ? len - mlen - 1 : 0);
        }
    }
    /* every route answers a path made from its own pattern */
    for (size_t i = 0; i < nroutes; i++) {
        char path[4096];
        size_t plen = instantiate(&routes[i].pat, path, sizeof path);
        if (!plen) continue;
        tycho_route_match_t m;
        int rc = tycho_router_match(r, routes[i].method, strlen(routes[i].method), path, plen, &m);
        CHECK(rc == TYCHO_ROUTE_FOUND, "'%s %.*s' built from %s: rc %d", routes[i].method,
              (int)plen, path, routes[i].pattern, rc);
        lookup(r, routes, nroutes, routes[i].method, strlen(routes[i].method), path, plen);
    }
    tycho_router_free(r);
    for (size_t i = 0; i < nroutes; i++)
        free(routes[i].pattern), free(routes[i].norm);
    return 0;
}
