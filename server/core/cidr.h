/* cidr — IP address ranges ("10.0.0.0/8", "fc00::/7", "::1"): parsing a
 * comma- or space-separated list and testing an address against it. IPv4
 * addresses and ranges are held as IPv4-mapped IPv6 (::ffff:a.b.c.d), so an
 * IPv4 range also matches its mapped form and one comparison serves both.
 * Pure functions; used by the trusted-proxy setting and tycho.net. */
#ifndef TYCHO_CORE_CIDR_H
#define TYCHO_CORE_CIDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct tycho_cidr {
    uint8_t addr[16]; /* IPv4 stored as ::ffff:a.b.c.d */
    int prefix;       /* 0..128 on the mapped address */
} tycho_cidr_t;

/* Parses list into out[0..max) and sets *n. An address without "/len" is a
 * single host. Returns 0, or -1 with err ("not an IP address: x", "bad
 * prefix length in 10.0.0.0/33", "more than 32 ranges", "list too long"). */
int tycho_cidr_parse_list(const char *list, tycho_cidr_t *out, int max, int *n, char *err,
                          size_t errlen);

/* 1 when ip (numeric IPv4 or IPv6 text) is in one of v[0..n), else 0 (also
 * for text that is not an address). */
int tycho_cidr_contains(const tycho_cidr_t *v, int n, const char *ip);

#endif
