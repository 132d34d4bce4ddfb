/* host — a Host value ("example.com:8080", "10.0.0.1", "[::1]:9090") taken
 * apart: the name (an IPv6 literal without its brackets) and what follows
 * it. Both the server span (server.address/port) and the admin listener's
 * Host check read Host through here. Pure; any thread. */
#ifndef TYCHO_HTTP_HOST_H
#define TYCHO_HTTP_HOST_H

#include "http/exchange.h"

/* 0 with *name and *rest: what follows the name (":8080", "", or for a
 * bracketed literal whatever follows ']'); *bracketed 1 for "[v6]". -1 when
 * a '[' has no ']'. rest and name point into host. */
int tycho_host_split(const tycho_slice_t *host, tycho_slice_t *name, tycho_slice_t *rest,
                     int *bracketed);

#endif
