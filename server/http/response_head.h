/* response_head — serialises a response's status line and header section
 * (RFC 9112 4 and 6): framing (Content-Length), Connection, Date, Server and
 * X-Request-Id are the engine's; the handler's validated headers follow. */
#ifndef TYCHO_HTTP_RESPONSE_HEAD_H
#define TYCHO_HTTP_RESPONSE_HEAD_H

#include "core/buf.h"
#include "http/exchange.h"

/* Appends the head to out. *send_body is set to 0 when the body must not be
 * sent (HEAD, and the statuses without content). Content-Length is the
 * body's, or res->length's choice for a HEAD route; 205 announces 0 (RFC
 * 9110 15.3.6); 1xx, 204 and 304 announce none. Returns 0 or -ENOMEM. */
int tycho_response_head(tycho_buf_t *out, const tycho_response_t *res, const tycho_request_t *req,
                        int keep_alive, int *send_body);
/* 1 when the body of res goes on the wire as an answer to req; 0 for a
 * HEAD request (RFC 9110 9.3.2) and a status without content (tycho_http_status_has_content). */
int tycho_response_sends_body(const tycho_response_t *res, const tycho_request_t *req);
/* The reason phrase of a status: the registered one, else "". */
const char *tycho_http_reason(int status);

/* 0 for a status whose response carries no content, whatever the handler
 * gave: 1xx, 204, 205 (RFC 9110 15.3.6) and 304 (RFC 9112 6.3); else 1. */
int tycho_http_status_has_content(int status);

#endif
