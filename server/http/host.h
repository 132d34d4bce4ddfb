/* host — a Host value ("example.com:8080", "10.0.0.1", "[::1]:9090") taken
 * apart: the name (an IPv6 literal without its brackets) and what follows
 * it, and checked against the grammar. The parser, the server span
 * (server.address/port), the admin listener's Host check and tycho.http's
 * caller-set Host read Host through here. Pure; any thread. */
#ifndef TYCHO_HTTP_HOST_H
#define TYCHO_HTTP_HOST_H

#include "http/exchange.h"

/* 0 with *name and *rest: what follows the name (":8080", "", or for a
 * bracketed literal whatever follows ']'); *bracketed 1 for "[v6]". -1 when
 * a '[' has no ']'. rest and name point into host. */
int tycho_host_split(const tycho_slice_t *host, tycho_slice_t *name, tycho_slice_t *rest,
                     int *bracketed);

/* 1 when v is a Host value by RFC 9110 7.2 (uri-host [":" port], RFC 3986
 * grammar), else 0. The parser refuses a request whose Host or absolute-form
 * authority fails it; tycho.http refuses such a Host from a caller. */
int tycho_host_valid(const tycho_slice_t *v);

#endif
