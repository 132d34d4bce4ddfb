#include "core/server_span.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client_ip.h"
#include "http/host.h"
#include "http/known_method.h"
#include "http/query_redact.h"

/* "{method} {route}" for the span's {method} m. */
static void name_into(char *out, size_t cap, tycho_slice_t m, const char *route)
{
    size_t n = m.n < cap - 1 ? m.n : cap - 1;
    memcpy(out, m.p, n);
    if (route && n < cap - 1) {
        out[n++] = ' ';
        size_t rn = strnlen(route, cap - 1 - n);
        memcpy(out + n, route, rn);
        n += rn;
    }
    out[n] = '\0';
}

/* The method as the span's name spells it: itself when known, else HTTP. */
static tycho_slice_t span_method(const tycho_request_t *r)
{
    return tycho_http_known_method(r->method.p, r->method.n) ? r->method
                                                             : (tycho_slice_t){"HTTP", 4};
}

void tycho_server_span_name(char *out, size_t cap, const tycho_request_t *r, const char *route)
{
    name_into(out, cap, span_method(r), route);
}

/* 1-65535 from the digits p[0..n), else -1. */
static long port_number(const char *p, size_t n)
{
    if (n == 0 || n > 5) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

/* Host's name ("example.com", "10.0.0.1", or an IPv6 literal without its
 * brackets) and port: 0 when Host has none, -1 when it is not a number. */
static void split_host(const tycho_slice_t *h, tycho_slice_t *name, long *port)
{
    tycho_slice_t rest;
    int bracketed;
    if (tycho_host_split(h, name, &rest, &bracketed) != 0) {
        *name = *h;
        *port = -1;
        return;
    }
    *port = rest.n && rest.p[0] == ':' ? port_number(rest.p + 1, rest.n - 1) : 0;
}

/* server.address and server.port from the host the client asked for (a
 * trusted proxy's X-Forwarded-Host, else Host; none without either). */
static void set_server(tycho_span_t *s, const tycho_config_t *cfg, const tycho_request_t *r,
                       const char *scheme)
{
    tycho_slice_t host = tycho_client_host(cfg, r);
    if (!host.n) return;
    tycho_slice_t name;
    long port;
    split_host(&host, &name, &port);
    if (!name.n) return;
    tycho_span_set_key(s, TYCHO_KEY_SERVER_ADDRESS, TYCHO_AV_STRN(name.p, name.n));
    if (port == 0) port = strcmp(scheme, "https") == 0 ? 443 : 80;
    if (port > 0) tycho_span_set_key(s, TYCHO_KEY_SERVER_PORT, TYCHO_AV_INT(port));
}

/* network.peer.address and .port: the socket's peer, when it is not the
 * client (a trusted proxy's X-Forwarded-For named another); otherwise
 * client.address already says it. */
static void set_peer(tycho_span_t *s, const tycho_request_t *r, const char *client_ip)
{
    if (!r->peer_ip || !*r->peer_ip || strcmp(r->peer_ip, client_ip) == 0) return;
    tycho_span_set_key(s, TYCHO_KEY_NETWORK_PEER_ADDRESS,
                       TYCHO_AV_UTF8N(r->peer_ip, strlen(r->peer_ip)));
    if (r->peer_port > 0)
        tycho_span_set_key(s, TYCHO_KEY_NETWORK_PEER_PORT, TYCHO_AV_INT(r->peer_port));
}

/* url.query, with the values of signed-URL credentials redacted (copied
 * only when there is one). */
static void set_query(tycho_span_t *s, tycho_slice_t q)
{
    if (!tycho_query_needs_redaction(q.p, q.n)) {
        tycho_span_set_key(s, TYCHO_KEY_URL_QUERY, TYCHO_AV_STRN(q.p, q.n));
        return;
    }
    size_t n;
    char *safe = tycho_query_redact(q.p, q.n, &n);
    if (safe) tycho_span_set_key(s, TYCHO_KEY_URL_QUERY, TYCHO_AV_STRN(safe, n));
    free(safe); /* out of memory: no url.query rather than the secret */
}

void tycho_http_span_method(tycho_span_t *s, const char *m, size_t n, int known)
{
    if (known) {
        tycho_span_set_key(s, TYCHO_KEY_HTTP_REQUEST_METHOD, TYCHO_AV_UTF8N(m, n));
        return;
    }
    tycho_span_set_key(s, TYCHO_KEY_HTTP_REQUEST_METHOD, TYCHO_AV_UTF8N("_OTHER", 6));
    tycho_span_set_key(s, TYCHO_KEY_HTTP_REQUEST_METHOD_ORIGINAL, TYCHO_AV_STRN(m, n));
}

void tycho_server_span_request(tycho_span_t *s, const tycho_config_t *cfg, const tycho_request_t *r,
                               const char *route, const char *client_ip)
{
    tycho_slice_t m = span_method(r);
    int known = m.p == r->method.p; /* span_method gave the method itself */
    if (route) {
        char name[300];
        name_into(name, sizeof name, m, route);
        tycho_span_set_name(s, name);
    }
    tycho_http_span_method(s, r->method.p, r->method.n, known);
    /* scheme, client address, version and request id: ASCII by construction */
    const char *scheme = tycho_client_scheme(cfg, r);
    tycho_span_set_key(s, TYCHO_KEY_URL_SCHEME, TYCHO_AV_UTF8N(scheme, strlen(scheme)));
    tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STRN(r->path.p, r->path.n));
    if (r->query.n) set_query(s, r->query);
    if (route) tycho_span_set_key(s, TYCHO_KEY_HTTP_ROUTE, TYCHO_AV_STR(route));
    tycho_span_set_key(s, TYCHO_KEY_CLIENT_ADDRESS, TYCHO_AV_UTF8N(client_ip, strlen(client_ip)));
    set_peer(s, r, client_ip);
    const tycho_slice_t *ua = tycho_request_header(r, "User-Agent");
    if (ua) tycho_span_set_key(s, TYCHO_KEY_USER_AGENT_ORIGINAL, TYCHO_AV_STRN(ua->p, ua->n));
    set_server(s, cfg, r, scheme);
    tycho_span_set_key(s, TYCHO_KEY_NETWORK_PROTOCOL_VERSION,
                       TYCHO_AV_UTF8N(r->http_minor ? "1.1" : "1.0", 3));
    const char *id = r->request_id ? r->request_id : "";
    tycho_span_set_key(s, TYCHO_KEY_HTTP_REQUEST_ID, TYCHO_AV_UTF8N(id, strlen(id)));
}

void tycho_server_span_response(tycho_span_t *s, int status, const char *error_type)
{
    if (status) tycho_span_set_key(s, TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE, TYCHO_AV_INT(status));
    char code[16];
    if (status >= 500) {
        snprintf(code, sizeof code, "%d", status);
        error_type = code;
    }
    if (error_type)
        tycho_span_set_key(s, TYCHO_KEY_ERROR_TYPE, TYCHO_AV_UTF8N(error_type, strlen(error_type)));
}
