/* client_ip — what a request says about its client: its address (the socket
 * peer, or, when the peer is a trusted proxy (TYCHO_TRUSTED_PROXIES), the
 * first untrusted address of X-Forwarded-For read from the right: the
 * leftmost entries can be forged by the client), the scheme it used and the
 * host it asked for. A field sent as several lines is one list, the lines in
 * order (RFC 9110 5.3), whatever the proxies split it into.
 * Pure; any thread. */
#ifndef TYCHO_HTTP_CLIENT_IP_H
#define TYCHO_HTTP_CLIENT_IP_H

#include "core/config.h"
#include "http/exchange.h"

#define TYCHO_CLIENT_IP_MAX 64

void tycho_client_ip(const tycho_config_t *cfg, const tycho_request_t *req,
                     char out[TYCHO_CLIENT_IP_MAX]);

/* "https" when a trusted proxy's X-Forwarded-Proto says so, else "http":
 * tycho itself serves plain HTTP (TLS ends at the load balancer). Its last
 * entry counts: the nearest proxy's, the only one a proxy that appends
 * rather than replaces does not take from its own client. A static string. */
const char *tycho_client_scheme(const tycho_config_t *cfg, const tycho_request_t *req);

/* The host (and port) the client asked for: a trusted proxy's
 * X-Forwarded-Host (its last entry, as for the scheme, without blanks) when
 * it names one valid by the host[:port] grammar (tycho_host_valid, as Host
 * is checked), else the Host header; empty when there is neither. An invalid
 * X-Forwarded-Host is ignored, not refused. Points into req. */
tycho_slice_t tycho_client_host(const tycho_config_t *cfg, const tycho_request_t *req);

#endif
