#include "core/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *tycho_parse_decimal(const char *s, double *out)
{
    if (!s) return NULL;
    size_t ints = strspn(s, "0123456789"), fracs = 0, n = ints;
    if (s[n] == '.') fracs = strspn(s + n + 1, "0123456789"), n += 1 + fracs;
    char digits[64];
    if (ints + fracs == 0 || n >= sizeof digits) return NULL;
    /* strtod reads a copy holding the number alone: on s it would go on
     * into an exponent ("1e3") or read "0x10" as hex */
    memcpy(digits, s, n);
    digits[n] = '\0';
    errno = 0;
    double v = strtod(digits, NULL);
    if (errno || !isfinite(v)) return NULL;
    *out = v;
    return s + n;
}

int tycho_parse_count(const char *s, long lo, long hi, long *out)
{
    double v;
    const char *end = tycho_parse_decimal(s, &v);
    /* compared as longs: (double)LONG_MAX is 2^63, which no long holds, and
     * a bound past 2^53 would round to a neighbour */
    if (!end || *end || v != floor(v) || v >= 0x1p63) return -1;
    long n = (long)v;
    if (n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

int tycho_parse_bool(const char *s, int *out)
{
    static const char *const on[] = {"on", "true", "yes", "1"};
    static const char *const off[] = {"off", "false", "no", "0"};
    if (!s) return -1;
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        if (strcasecmp(s, on[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, off[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

/* Milliseconds in one of the unit, or 0 when unit is none we know. */
static double unit_ms(const char *unit)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0) return units[i].ms;
    return 0;
}

int tycho_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out_ms)
{
    if (!s) return -1;
    while (*s == ' ')
        s++;
    double v;
    const char *end = tycho_parse_decimal(s, &v);
    if (!end) return -1;
    double unit = *end ? unit_ms(end) : (double)default_unit_ms;
    if (unit == 0) return -1;
    double ms = v * unit;
    if (ms > 1e15) return -1;
    *out_ms = (uint64_t)llround(ms);
    return 0;
}

int tycho_parse_size(const char *s, size_t *out)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    unsigned long long mul = 1;
    if (*end) {
        static const char prefixes[] = "KMG";
        const char *p = strchr(prefixes, toupper((unsigned char)*end));
        if (!p || !*p) return -1;
        mul = 1ull << (10 * (p - prefixes + 1));
        const char *rest = end + 1;
        if (*rest && strcmp(rest, "B") != 0 && strcmp(rest, "iB") != 0 && strcmp(rest, "b") != 0)
            return -1;
    }
    if (v > (unsigned long long)SIZE_MAX / mul) return -1;
    *out = (size_t)(v * mul);
    return 0;
}
