/* url_parse — a URL tycho.http is given, taken apart:
 * "http[s]://[userinfo@]host[:port][/path][?query][#fragment]". The parts
 * say where to connect and what to name in metrics and spans; the URL
 * itself goes to curl (lua/lib_http.c). Pure; any thread. */
#ifndef TYCHO_HTTP_URL_PARSE_H
#define TYCHO_HTTP_URL_PARSE_H

#include <stddef.h>

/* Every part is a [at, at + len) range of the URL parsed. */
typedef struct tycho_url {
    int https;           /* 1 for https://, 0 for http:// (any case) */
    size_t userinfo_at;  /* "user:password" without its '@'; userinfo_len 0 when */
    size_t userinfo_len; /* absent (has_userinfo says whether an '@' was there) */
    int has_userinfo;
    size_t host_at, host_len; /* as written: an IPv6 literal keeps its brackets */
    size_t port_at, port_len; /* the digits after ':'; port_len 0: none given */
    int has_port_colon;       /* a ':' followed the host ("http://h:/" has one) */
    int port;                 /* the port to connect to: port's, or the scheme's 80/443 */
    size_t path_at;           /* where the path, query or fragment starts (len when none) */
} tycho_url_t;

/* The longest host taken (a DNS name has at most 253 bytes). */
#define TYCHO_URL_HOST_MAX 255

enum {
    TYCHO_URL_E_BAD = -1,  /* not http:// or https:// with a host of 1..TYCHO_URL_HOST_MAX bytes */
    TYCHO_URL_E_PORT = -2, /* a port outside 1..65535 */
    TYCHO_URL_E_BYTE = -3, /* a space, a control character, DEL or a NUL */
};

/* Parses the len bytes at url (no NUL needed; any bytes). The authority
 * ends at the first '/', '?' or '#'; its userinfo runs to the authority's
 * last '@' (as tycho_url_redact reads it). 0 with *out filled, or a
 * TYCHO_URL_E_* code (then *out is unspecified). */
int tycho_url_parse(const char *url, size_t len, tycho_url_t *out);

/* What a TYCHO_URL_E_* code means, for an error message. */
const char *tycho_url_strerror(int rc);

#endif
