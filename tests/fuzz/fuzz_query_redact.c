/* libFuzzer target for the query-string redaction (http/query_redact.c) that
 * keeps signed URLs' credentials out of url.query. Checked (abort on
 * failure), against an oracle written here from the header's contract:
 *  - the output has as many '&'-separated parameters as the input;
 *  - a parameter "name=value" whose name, percent-decoded with '+' a space,
 *    is a credential name (any case) comes out as "name=REDACTED"; every
 *    other parameter comes out byte for byte;
 *  - tycho_query_needs_redaction says whether any parameter is such a one;
 *  - the output is NUL-terminated at *outlen, redacting it again changes
 *    nothing, and it needs redaction exactly when the input did.
 *
 * Input: the query string's bytes (any bytes, NUL included).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh query_redact. */
#include "core/percent.h"
#include "http/query_redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "query redact"
#include "tests/fuzz/fuzz_check.h"

/* the names the header promises to redact */
static const char *const credentials[] = {
    "AWSAccessKeyId",       "Signature",       "sig",
    "X-Goog-Signature",     "X-Amz-Signature", "X-Amz-Credential",
    "X-Amz-Security-Token", "access_token"};

static int names_credential(const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    if (!eq) return 0;
    size_t klen = (size_t)(eq - p);
    char *name = malloc(klen ? klen : 1);
    size_t dlen = (size_t)tycho_percent_decode(p, klen, name, TYCHO_PCT_PLUS_SPACE);
    int hit = 0;
    for (size_t i = 0; i < sizeof credentials / sizeof *credentials; i++)
        hit |= strlen(credentials[i]) == dlen && strncasecmp(name, credentials[i], dlen) == 0;
    free(name);
    return hit;
}

/* The length of the parameter starting at p (up to '&' or end). */
static size_t param_len(const char *p, const char *end)
{
    const char *amp = memchr(p, '&', (size_t)(end - p));
    return (size_t)((amp ? amp : end) - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly the input's size, so ASan sees any read past it */
    char *q = malloc(size ? size : 1);
    memcpy(q, data, size);
    size_t outlen = 0;
    char *out = tycho_query_redact(q, size, &outlen);
    CHECK(out, "out of memory for %zu bytes", size);
    CHECK(out[outlen] == '\0', "output not NUL-terminated at its length");

    int any = 0;
    const char *a = q, *aend = q + size, *b = out, *bend = out + outlen;
    for (;;) {
        size_t alen = param_len(a, aend), blen = param_len(b, bend);
        if (names_credential(a, alen)) {
            any = 1;
            size_t klen = (size_t)((const char *)memchr(a, '=', alen) - a) + 1;
            CHECK(blen == klen + 8 && memcmp(b, a, klen) == 0 &&
                      memcmp(b + klen, "REDACTED", 8) == 0,
                  "credential '%.*s' came out as '%.*s'", (int)alen, a, (int)blen, b);
        } else {
            CHECK(alen == blen && memcmp(a, b, alen) == 0, "'%.*s' came out as '%.*s'", (int)alen,
                  a, (int)blen, b);
        }
        a += alen, b += blen;
        CHECK((a == aend) == (b == bend), "parameter count changed: '%.*s' -> '%s'", (int)size, q,
              out);
        if (a == aend) break;
        a++, b++; /* the '&' */
    }
    CHECK(tycho_query_needs_redaction(q, size) == any, "needs_redaction says %d, the oracle %d",
          !any, any);
    CHECK(tycho_query_needs_redaction(out, outlen) == any, "the output's verdict differs");

    size_t againlen = 0;
    char *again = tycho_query_redact(out, outlen, &againlen);
    CHECK(again && againlen == outlen && memcmp(again, out, outlen) == 0,
          "redacting twice changed '%s'", out);
    free(again);
    free(out);
    free(q);
    return 0;
}
