/* units — the one reading of the values settings share: on/off switches,
 * durations with an optional unit and byte sizes with an optional binary
 * suffix. Every TYCHO_* variable, serve flag and exporter setting of those
 * kinds goes through here, so they all take the same spellings. Pure
 * functions; any thread. */
#ifndef TYCHO_CORE_UNITS_H
#define TYCHO_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* The one form of a number in a setting: decimal digits with an optional
 * fraction ("16", "1.5", ".5"), no sign, exponent, hex, inf or nan (which
 * strtod alone takes: 0x10 would be 16). Returns the first byte after the
 * number (a unit, or the NUL), or NULL when s does not start with one. */
const char *tycho_parse_decimal(const char *s, double *out);
/* A whole number from lo to hi written as tycho_parse_decimal takes it
 * ("16"; "16.0" too). 0, or -1 when s is not one or is out of range. */
int tycho_parse_count(const char *s, long lo, long hi, long *out);
/* on, true, yes, 1 -> 1; off, false, no, 0 -> 0 (any case). 0, or -1 when
 * s is none of those. */
int tycho_parse_bool(const char *s, int *out);
/* A number (tycho_parse_decimal) with an optional unit ms, s, m or h ("250ms",
 * "1.5s", "2m"); a bare number counts default_unit_ms each ("15" with
 * 1000: 15 s). Milliseconds, rounded. 0, or -1 when s is not one. */
int tycho_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out_ms);
/* Bytes: digits with an optional K, M or G, alone or followed by B, iB
 * ("64MiB", "512K", "1g", "10MB": all binary multiples). 0, or -1 when s
 * is not one or it overflows size_t. */
int tycho_parse_size(const char *s, size_t *out);

#endif
