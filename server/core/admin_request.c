#include "core/admin_request.h"

#include "http/field.h"
#include "http/host.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static int is(const tycho_slice_t *s, const char *lit)
{
    return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

int tycho_admin_local_host(const tycho_slice_t *host)
{
    tycho_slice_t name, rest;
    int bracketed;
    char ip[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (tycho_host_split(host, &name, &rest, &bracketed) != 0 || name.n >= sizeof ip) return 0;
    memcpy(ip, name.p, name.n);
    ip[name.n] = '\0';
    /* inet_pton reads up to a NUL: "[::\0junk]" would pass as "::" (the
     * HTTP parser refuses a NUL in a field; the check does not count on it) */
    if (strlen(ip) != name.n) return 0;
    int ok = bracketed ? inet_pton(AF_INET6, ip, bin) == 1
                       : inet_pton(AF_INET, ip, bin) == 1 || strcasecmp(ip, "localhost") == 0;
    if (!ok) return 0;
    if (rest.n == 0) return 1;
    if (rest.p[0] != ':') return 0;
    for (size_t i = 1; i < rest.n; i++)
        if (rest.p[i] < '0' || rest.p[i] > '9') return 0;
    return 1;
}

/* A browser sends Origin on a cross-origin POST, and Sec-Fetch-Site says
 * where the request came from: neither may come from another site's page
 * (a form posted to http://127.0.0.1:9090/-/reload needs no preflight).
 * Every field is read, not the first: no browser sends Sec-Fetch-Site
 * twice, and a "none" before a "cross-site" must not let the request in. */
int tycho_admin_cross_site(const tycho_request_t *req)
{
    int sites = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const tycho_header_t *h = &req->headers[i];
        if (tycho_http_field_name_is(h->name.p, h->name.n, "origin")) return 1;
        if (!tycho_http_field_name_is(h->name.p, h->name.n, "sec-fetch-site")) continue;
        if (++sites > 1 || (!is(&h->value, "same-origin") && !is(&h->value, "none"))) return 1;
    }
    return 0;
}

/* Refused, not normalised as the public port's router does, so that a proxy
 * in front which filters admin paths by their text (allows /metrics, denies
 * /-/reload) cannot be walked around with /-/%72eload: tycho and the proxy
 * always agree on what a path names. */
const char *tycho_admin_unplain_path(const tycho_slice_t *path)
{
    const char *p = path->p, *end = p + path->n;
    if (memchr(p, '%', path->n)) return "admin paths take no percent-escapes";
    for (const char *seg = p; seg < end; seg++) {
        if (*seg != '/') continue;
        const char *next = memchr(seg + 1, '/', (size_t)(end - seg - 1));
        size_t n = (size_t)((next ? next : end) - seg - 1);
        if (next && n == 0) return "admin paths take no empty segments ('//')";
        if ((n == 1 && seg[1] == '.') || (n == 2 && seg[1] == '.' && seg[2] == '.'))
            return "admin paths take no dot segments ('/./', '/../')";
    }
    return NULL;
}

static void refuse(tycho_admin_route_t *out, int status, const char *message, const char *allow)
{
    *out = (tycho_admin_route_t){TYCHO_ADMIN_REFUSED, status, message, allow};
}

void tycho_admin_route(const tycho_request_t *req, int has_metrics, tycho_admin_route_t *out)
{
    static const struct {
        const char *path;
        tycho_admin_page_t page;
    } pages[] = {{"/-/healthy", TYCHO_ADMIN_HEALTHY},
                 {"/-/ready", TYCHO_ADMIN_READY},
                 {"/-/status", TYCHO_ADMIN_STATUS},
                 {"/metrics", TYCHO_ADMIN_METRICS},
                 {"/-/reload", TYCHO_ADMIN_RELOAD}};
    const tycho_slice_t *m = &req->method, *p = &req->path;
    const tycho_slice_t *host = tycho_request_header(req, "Host");
    if (host && !tycho_admin_local_host(host))
        return refuse(out, 421,
                      "the admin listener answers only a Host that is an IP address or localhost",
                      NULL);
    const char *unplain = tycho_admin_unplain_path(p);
    if (unplain) return refuse(out, 400, unplain, NULL);
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        if (!is(p, pages[i].path)) continue;
        tycho_admin_page_t page = pages[i].page;
        if (page == TYCHO_ADMIN_METRICS && !has_metrics) break;
        if (page == TYCHO_ADMIN_RELOAD) {
            if (!is(m, "POST")) return refuse(out, 405, "method not allowed", "POST");
            if (tycho_admin_cross_site(req))
                return refuse(out, 403, "a reload from a web page is refused", NULL);
        } else if (!is(m, "GET") && !is(m, "HEAD")) {
            return refuse(out, 405, "method not allowed", "GET, HEAD");
        }
        *out = (tycho_admin_route_t){page, 0, NULL, NULL};
        return;
    }
    refuse(out, 404, "not found", NULL);
}
