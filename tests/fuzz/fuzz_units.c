/* libFuzzer target for the readers every numeric setting goes through
 * (core/units.c): TYCHO_* variables, serve flags and exporter settings come
 * from the environment and the command line. Checked (abort on failure):
 *  - tycho_parse_decimal takes exactly the leading digits with an optional
 *    '.' and fraction (at least one digit), and its value is strtod's for
 *    that text;
 *  - tycho_parse_count, for any bounds lo..hi (LONG_MIN..LONG_MAX too),
 *    accepts exactly a decimal that is a whole number inside them, and
 *    gives that number;
 *  - tycho_parse_bool accepts exactly the eight words (any case);
 *  - an accepted duration is at most 1e15 ms, and written back in ms
 *    ("<n>ms") reads as the same; a bare number counts the default unit;
 *  - an accepted size is the digits' value times K/M/G (no overflow), and
 *    written back as plain digits reads as the same.
 *
 * Input: byte 0 picks the default unit of durations (its value in ms, 0
 * too), bytes 1..16 the bounds of tycho_parse_count (two native longs), the
 * rest is the setting's text (cut at its first NUL: the environment holds
 * C strings).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh units. */
#include "core/units.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "units"
#include "tests/fuzz/fuzz_check.h"

static void check_decimal(const char *s)
{
    double v = -1;
    const char *end = tycho_parse_decimal(s, &v);
    size_t ints = strspn(s, "0123456789"), n = ints, fracs = 0;
    if (s[n] == '.') fracs = strspn(s + n + 1, "0123456789"), n += 1 + fracs;
    if (!end) return; /* refused: no digits, or too long to be a setting */
    CHECK(ints + fracs > 0 && end == s + n, "'%s': decimal ends after %zu bytes, not %zu", s,
          (size_t)(end - s), n);
    char *copy = strndup(s, n);
    CHECK(copy && strtod(copy, NULL) == v && isfinite(v) && v >= 0, "'%s': decimal %g", s, v);
    free(copy);
}

static void check_count(const char *s, long lo, long hi)
{
    long got = 0;
    int rc = tycho_parse_count(s, lo, hi, &got);
    double v;
    const char *end = tycho_parse_decimal(s, &v);
    /* the oracle: a whole decimal alone, compared exactly as a long */
    int whole = end && !*end && v == floor(v) && v < 0x1p63;
    long want = whole ? (long)v : 0;
    int in = whole && want >= lo && want <= hi;
    CHECK(rc == (in ? 0 : -1), "'%s' in %ld..%ld: rc %d, oracle %d", s, lo, hi, rc, in);
    if (in) CHECK(got == want, "'%s': count %ld, want %ld", s, got, want);
}

static void check_bool(const char *s)
{
    static const char *const words[] = {"on", "true", "yes", "1", "off", "false", "no", "0"};
    int want = -1;
    for (int i = 0; i < 8; i++)
        if (strcasecmp(s, words[i]) == 0) want = i < 4;
    int got = -1, rc = tycho_parse_bool(s, &got);
    CHECK(rc == (want < 0 ? -1 : 0) && (rc || got == want), "'%s': bool rc %d value %d, want %d", s,
          rc, got, want);
}

static void check_duration(const char *s, uint64_t unit)
{
    uint64_t ms = UINT64_MAX;
    if (tycho_parse_duration_ms(s, unit, &ms) != 0) return;
    CHECK(ms <= 1000000000000000ull, "'%s': %llu ms past the bound", s, (unsigned long long)ms);
    char back[32];
    snprintf(back, sizeof back, "%llums", (unsigned long long)ms);
    uint64_t again = UINT64_MAX;
    CHECK(tycho_parse_duration_ms(back, unit, &again) == 0 && again == ms,
          "'%s' gave %llu ms, which reads back as %llu", s, (unsigned long long)ms,
          (unsigned long long)again);
    const char *p = s;
    while (*p == ' ')
        p++;
    double v;
    const char *end = tycho_parse_decimal(p, &v);
    CHECK(end, "'%s': a duration without a number", s);
    if (!*end)
        CHECK(ms == (uint64_t)llround(v * (double)unit), "'%s' x %llu ms: %llu", s,
              (unsigned long long)unit, (unsigned long long)ms);
}

static void check_size(const char *s)
{
    size_t got = 0;
    int rc = tycho_parse_size(s, &got);
    /* the oracle: digits, then nothing or K/M/G (any case) with nothing, B, b or iB */
    size_t nd = strspn(s, "0123456789");
    const char *u = s + nd;
    int shift = 0;
    if (*u) {
        static const char prefixes[] = "KMG";
        const char *p = strchr(prefixes, toupper((unsigned char)*u));
        shift = p && *p ? 10 * (int)(p - prefixes + 1) : -1;
        if (shift > 0 && u[1] && strcmp(u + 1, "B") && strcmp(u + 1, "b") && strcmp(u + 1, "iB"))
            shift = -1;
    }
    unsigned __int128 want = 0;
    for (size_t i = 0; i < nd && want <= SIZE_MAX; i++)
        want = want * 10 + (unsigned)(s[i] - '0');
    if (shift > 0) want <<= shift;
    int ok = nd > 0 && shift >= 0 && want <= SIZE_MAX;
    CHECK(rc == (ok ? 0 : -1), "'%s': size rc %d, oracle %d", s, rc, ok);
    if (!ok) return;
    CHECK(got == (size_t)want, "'%s': size %zu, want %zu", s, got, (size_t)want);
    char back[32];
    snprintf(back, sizeof back, "%zu", got);
    size_t again = 0;
    CHECK(tycho_parse_size(back, &again) == 0 && again == got,
          "'%s' gave %zu, which reads back as %zu", s, got, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 17) return 0;
    uint64_t unit = data[0] * 250u; /* 0 (no bare numbers), 250 ms, ... */
    long lo, hi;
    memcpy(&lo, data + 1, sizeof lo);
    memcpy(&hi, data + 9, sizeof hi);
    /* the text alone, exactly its size, so ASan sees a read past it */
    size_t n = strnlen((const char *)data + 17, size - 17);
    char *s = malloc(n + 1);
    memcpy(s, data + 17, n);
    s[n] = '\0';
    check_decimal(s);
    check_count(s, lo, hi);
    check_count(s, LONG_MIN, LONG_MAX);
    check_bool(s);
    check_duration(s, unit);
    check_size(s);
    free(s);
    return 0;
}
