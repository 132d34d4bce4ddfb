/* known_method — whether an HTTP method is one the OpenTelemetry HTTP
 * conventions call known: RFC 9110's (GET, HEAD, POST, PUT, DELETE,
 * CONNECT, OPTIONS, TRACE) and PATCH (RFC 5789), matched exactly (case
 * matters). Spans report any other as "_OTHER", the method as sent in
 * http.request.method_original, and name themselves "HTTP ...". Pure. */
#ifndef TYCHO_HTTP_KNOWN_METHOD_H
#define TYCHO_HTTP_KNOWN_METHOD_H

#include <stddef.h>

int tycho_http_known_method(const char *method, size_t n);

#endif
