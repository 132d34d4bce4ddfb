/* libFuzzer target for the admin listener's checks of a request's head
 * (core/admin_request.c). Checked (abort on failure):
 *  - tycho_admin_unplain_path refuses a path exactly when an oracle written
 *    here finds a '%', an empty segment ("//", not a final '/') or a dot
 *    segment ("." or ".." between slashes or at the end) in it: an
 *    accepted path is plain;
 *  - a page served (not refused) has one of the five paths as sent, a
 *    method it takes (GET or HEAD; POST for the reload), a Host absent or
 *    made of an IP literal's characters or "localhost" with digits for a
 *    port, and for a reload no Origin and at most one Sec-Fetch-Site,
 *    "same-origin" or "none"; /metrics only when the listener has metrics;
 *  - a refusal has a status among 400, 403, 404, 405, 421 and a message; a
 *    405 an Allow whose methods, sent instead, are not refused for the
 *    method (405) nor for the path (404);
 *  - deciding again gives the same answer, and so does deciding the same
 *    request with its path copied (no state, no reads past the slices).
 *
 * Input: byte 0 bit 0: whether the listener has metrics; then lines (LF):
 * the method, the path, then "name:value" header lines.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh admin_request. */
#include "core/admin_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "admin request"
#include "tests/fuzz/fuzz_check.h"

#define MAX_HEADERS 16

static int eq(const tycho_slice_t *s, const char *lit)
{
    return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

static int ieq(const tycho_slice_t *s, const char *lit)
{
    return s->n == strlen(lit) && strncasecmp(s->p, lit, s->n) == 0;
}

/* The oracle: plain unless a '%', an empty segment or a dot segment. */
static int plain(const tycho_slice_t *path)
{
    if (memchr(path->p, '%', path->n)) return 0;
    size_t i = 0;
    while (i < path->n) {
        if (path->p[i] != '/') {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < path->n && path->p[j] != '/')
            j++;
        size_t n = j - i - 1;
        if (n == 0 && j < path->n) return 0;
        if ((n == 1 || n == 2) && memcmp(path->p + i + 1, "..", n) == 0) return 0;
        i = j;
    }
    return 1;
}

/* Host's characters are an IP literal's or "localhost"'s, then ":digits". */
static int local_looking(const tycho_slice_t *h)
{
    size_t n = h->n;
    const char *colon = NULL;
    if (n && h->p[0] == '[') {
        const char *close = memchr(h->p, ']', n);
        if (!close) return 0;
        for (const char *c = h->p + 1; c < close; c++)
            if (!strchr("0123456789abcdefABCDEF:.", *c) || !*c) return 0;
        colon = close + 1 < h->p + n ? close + 1 : NULL;
        if (colon && *colon != ':') return 0;
    } else {
        colon = memchr(h->p, ':', n);
        tycho_slice_t name = {h->p, colon ? (size_t)(colon - h->p) : n};
        if (!ieq(&name, "localhost"))
            for (size_t i = 0; i < name.n; i++)
                if (!strchr("0123456789.", name.p[i]) || !name.p[i]) return 0;
    }
    if (colon)
        for (const char *c = colon + 1; c < h->p + n; c++)
            if (*c < '0' || *c > '9') return 0;
    return 1;
}

static int web_page(const tycho_request_t *req)
{
    int sites = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const tycho_header_t *h = &req->headers[i];
        if (ieq(&h->name, "origin")) return 1;
        if (!ieq(&h->name, "sec-fetch-site")) continue;
        if (++sites > 1 || (!eq(&h->value, "same-origin") && !eq(&h->value, "none"))) return 1;
    }
    return 0;
}

static int same(const tycho_admin_route_t *a, const tycho_admin_route_t *b)
{
    return a->page == b->page && a->status == b->status && a->message == b->message &&
           a->allow == b->allow;
}

/* The next line of [*p, end) as a slice; *p moves past its LF. */
static tycho_slice_t line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    tycho_slice_t s = {*p, (size_t)((nl ? nl : end) - *p)};
    *p = nl ? nl + 1 : end;
    return s;
}

static void check(const tycho_request_t *req, int has_metrics)
{
    static const char *const paths[] = {"/-/healthy", "/-/ready", "/-/status", "/metrics",
                                        "/-/reload"};
    const tycho_slice_t *host = tycho_request_header(req, "Host");
    const char *why = tycho_admin_unplain_path(&req->path);
    CHECK((why == NULL) == plain(&req->path), "path '%.*s': unplain says %s, the oracle %s",
          (int)req->path.n, req->path.p, why ? why : "plain", plain(&req->path) ? "plain" : "not");
    tycho_admin_route_t r, again;
    tycho_admin_route(req, has_metrics, &r);
    tycho_admin_route(req, has_metrics, &again);
    CHECK(same(&r, &again), "deciding twice differs");
    if (r.page != TYCHO_ADMIN_REFUSED) {
        CHECK(r.page < sizeof paths / sizeof *paths && eq(&req->path, paths[r.page]),
              "page %d for path '%.*s'", (int)r.page, (int)req->path.n, req->path.p);
        CHECK(!host || local_looking(host), "served with Host '%.*s'", (int)host->n, host->p);
        CHECK(has_metrics || r.page != TYCHO_ADMIN_METRICS, "/metrics without metrics");
        if (r.page == TYCHO_ADMIN_RELOAD)
            CHECK(eq(&req->method, "POST") && !web_page(req), "a reload let in");
        else
            CHECK(eq(&req->method, "GET") || eq(&req->method, "HEAD"), "page %d for '%.*s'",
                  (int)r.page, (int)req->method.n, req->method.p);
        CHECK(!r.message && !r.allow && r.status == 0, "a page with a refusal's fields");
        return;
    }
    CHECK(r.message && (r.status == 400 || r.status == 403 || r.status == 404 || r.status == 405 ||
                        r.status == 421),
          "refused with %d", r.status);
    CHECK((r.status == 405) == (r.allow != NULL), "Allow with a %d", r.status);
    if (r.status != 405) return;
    char methods[16];
    snprintf(methods, sizeof methods, "%s", r.allow);
    for (char *save = NULL, *m = strtok_r(methods, ", ", &save); m;
         m = strtok_r(NULL, ", ", &save)) {
        tycho_request_t other = *req;
        other.method = (tycho_slice_t){m, strlen(m)};
        tycho_admin_route_t o;
        tycho_admin_route(&other, has_metrics, &o);
        CHECK(o.status != 405 && o.status != 404, "Allow names %s, which gets %d", m, o.status);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    /* a copy of exactly the input's size, so ASan sees any read past it */
    char *in = malloc(size - 1 ? size - 1 : 1);
    memcpy(in, data + 1, size - 1);
    const char *p = in, *end = in + size - 1;
    tycho_header_t headers[MAX_HEADERS];
    tycho_request_t req = {0};
    req.method = line(&p, end);
    req.path = line(&p, end);
    while (p < end && req.nheaders < MAX_HEADERS) {
        tycho_slice_t l = line(&p, end);
        const char *colon = memchr(l.p, ':', l.n);
        size_t nn = colon ? (size_t)(colon - l.p) : l.n;
        headers[req.nheaders++] =
            (tycho_header_t){{l.p, nn}, {l.p + nn + !!colon, l.n - nn - !!colon}};
    }
    req.headers = headers;
    check(&req, data[0] & 1);

    /* the same request with its path in a buffer of its own */
    char *path = malloc(req.path.n ? req.path.n : 1);
    memcpy(path, req.path.p, req.path.n);
    tycho_request_t copy = req;
    copy.path = (tycho_slice_t){path, req.path.n};
    tycho_admin_route_t a, b;
    tycho_admin_route(&req, data[0] & 1, &a);
    tycho_admin_route(&copy, data[0] & 1, &b);
    CHECK(same(&a, &b), "the path's copy is decided otherwise");
    free(path);
    free(in);
    return 0;
}
