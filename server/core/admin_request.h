/* admin_request — what the admin listener (core/admin.c) decides from a
 * request's head alone, before it serves anything: whether the Host is
 * local (DNS rebinding), whether a reload came from a web page, whether the
 * path is plain, and which page the method and path ask for. Pure; any
 * thread. */
#ifndef TYCHO_ADMIN_REQUEST_H
#define TYCHO_ADMIN_REQUEST_H

#include "http/exchange.h"

/* The pages of the admin listener. */
typedef enum {
    TYCHO_ADMIN_HEALTHY, /* GET/HEAD /-/healthy */
    TYCHO_ADMIN_READY,   /* GET/HEAD /-/ready */
    TYCHO_ADMIN_STATUS,  /* GET/HEAD /-/status */
    TYCHO_ADMIN_METRICS, /* GET/HEAD /metrics, when the listener has metrics */
    TYCHO_ADMIN_RELOAD,  /* POST /-/reload, not from a web page */
    TYCHO_ADMIN_REFUSED  /* none: answer status with message (and Allow) */
} tycho_admin_page_t;

typedef struct tycho_admin_route {
    tycho_admin_page_t page;
    /* with TYCHO_ADMIN_REFUSED: 421 (Host), 400 (path), 403 (a reload from a
     * web page), 405 (method; allow says which) or 404 */
    int status;
    const char *message; /* static; NULL unless refused */
    const char *allow;   /* static; the Allow value of a 405, else NULL */
} tycho_admin_route_t;

/* 1 when host (a Host value) is an IP literal (v4, or v6 in brackets) or
 * localhost, with an optional port of digits: a name a DNS-rebinding page
 * cannot point at the admin port, since that needs a DNS name of its own. */
int tycho_admin_local_host(const tycho_slice_t *host);

/* 1 when req came from another site's page: any Origin, or a Sec-Fetch-Site
 * other than same-origin or none, or two Sec-Fetch-Site fields. */
int tycho_admin_cross_site(const tycho_request_t *req);

/* Why path is not one the admin listener reads (static text), or NULL: its
 * paths are taken as sent, so one with a percent-escape, an empty segment
 * ("//") or a dot segment ("/./", "/../", a final "/." or "/..") is
 * refused, never normalised. */
const char *tycho_admin_unplain_path(const tycho_slice_t *path);

/* The page req asks for, in this order: 421 for a Host that is not local
 * (no Host is fine: HTTP/1.0), 400 for a path not plain, then the page, 405
 * for a page's path with another method, 404. has_metrics: whether
 * /metrics is served. Reads req's method, path and headers only. */
void tycho_admin_route(const tycho_request_t *req, int has_metrics, tycho_admin_route_t *out);

#endif
