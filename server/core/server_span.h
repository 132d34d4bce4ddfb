/* server_span — the name and attributes of a request's SERVER span, as the
 * OpenTelemetry semantic conventions for HTTP server spans (stable) spell
 * them: "{method} {http.route}"; http.request.method (a method outside RFC
 * 9110 and PATCH is "_OTHER", and the span's {method} "HTTP", the sent one
 * in http.request.method_original), url.path, url.query, url.scheme,
 * http.route, client.address, user_agent.original, server.address and
 * server.port (from Host; the port the scheme implies when Host has none),
 * network.protocol.version, tycho's http.request.id, and for a client that
 * a trusted proxy's X-Forwarded-For named, the proxy's own address as
 * network.peer.address and .port; on the response
 * http.response.status_code, and error.type: the status for a 5xx, or why
 * there was no response. Worker thread (the span's). */
#ifndef TYCHO_CORE_SERVER_SPAN_H
#define TYCHO_CORE_SERVER_SPAN_H

#include <stddef.h>

#include "core/config.h"
#include "http/exchange.h"
#include "telemetry/span.h"

/* "{method} {route}" ({method} alone when route is NULL) into out, cut to
 * cap - 1 bytes as snprintf would. */
void tycho_server_span_name(char *out, size_t cap, const tycho_request_t *r, const char *route);

/* What the request says: every attribute above but the response's. route:
 * the matched route or NULL; client_ip: tycho_client_ip's answer. */
void tycho_server_span_request(tycho_span_t *s, const tycho_config_t *cfg, const tycho_request_t *r,
                               const char *route, const char *client_ip);

/* http.request.method of an HTTP span, server or client, for the sent
 * method m (n bytes; known: tycho_http_known_method's answer): m itself,
 * or "_OTHER" with m in http.request.method_original. */
void tycho_http_span_method(tycho_span_t *s, const char *m, size_t n, int known);

/* The response's status, or, for status 0, a request that ended without one
 * for the reason error_type. */
void tycho_server_span_response(tycho_span_t *s, int status, const char *error_type);

#endif
