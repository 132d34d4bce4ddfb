/* field — the rules for a header field set by application code, shared by
 * the response writer (exchange.c) and the outbound client (tycho.http):
 * RFC 9110 5 syntax, and the fields that frame a message or manage its
 * connection, which only tycho sets. Pure, any thread. */
#ifndef TYCHO_HTTP_FIELD_H
#define TYCHO_HTTP_FIELD_H

#include <stddef.h>

/* 1 when name[0..nlen) is what (lower case), ignoring case. */
int tycho_http_field_name_is(const char *name, size_t nlen, const char *what);

/* NULL when name is a non-empty token (RFC 9110 5.1) and value holds no
 * control character but tab (5.5: CR, LF, NUL, 0x01-0x1F, 0x7F); else what
 * is wrong ("header name is not a token ..."). */
const char *tycho_http_field_invalid(const char *name, size_t nlen, const char *value, size_t vlen);

/* NULL for an ordinary field; for one that frames the message
 * (Content-Length, Transfer-Encoding: RFC 9112 6) or is hop-by-hop
 * (Connection, Keep-Alive, Upgrade, TE, Trailer, Proxy-Connection: RFC 9110
 * 7.6.1), why application code may not set it. Case-insensitive. */
const char *tycho_http_field_connection_owned(const char *name, size_t nlen);

#endif
