/* libFuzzer target for what peers send back that tycho decodes outside an
 * HTTP parser: an exporter endpoint's Retry-After (exporters/export_retry.c),
 * an AWS error body (aws/error_text.c: the code, the message, the redaction
 * of echoed secrets), STS's AssumeRoleWithWebIdentity XML, the times in
 * credential answers (container, IMDS, STS: tycho_aws_parse_time) and the
 * ECS task metadata v4 documents (exporters/ecs_resource.c). Checked (abort
 * on failure):
 *  - Retry-After: delta-seconds give exactly their value in ms (9 digits at
 *    most); an accepted date is never more than its distance from now;
 *  - an accepted credential time, printed back as YYYY-MM-DDThh:mm:ssZ,
 *    parses to the same instant, and a UTC one prints back as written (no
 *    field carried into the next); a refused one has a reason;
 *  - AWS errors: a code and a message are always there, one line each; a
 *    secret after Signature=, Credential= or X-Amz-Security-Token (any case,
 *    ':' or '=') never survives redaction, whatever text surrounds it and
 *    wherever the output is cut;
 *  - STS: success means an access key id and a secret;
 *  - ECS (the container's document, a newline, the task's): the count returned is the number of
 * attributes added, and a key already there (the environment's) is never replaced.
 *
 * Input: byte 0 picks the parser (modulo 6), the rest is the reply. Values
 * are copied to buffers of their exact size, so a read past the end is an
 * ASan report.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh peer_replies. */
#include "aws/credentials.h"
#include "aws/credentials_http.h"
#include "aws/error_text.h"
#include "exporters/ecs_resource.h"
#include "exporters/export_retry.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FUZZ_TARGET "peer replies"
#include "tests/fuzz/fuzz_check.h"

#define NOW_S 1700000000LL

/* a NUL-terminated copy of exactly n bytes (and its terminator) */
static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s, "ENOMEM");
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void retry_after(const uint8_t *p, size_t n)
{
    char *s = cstr(p, n);
    uint64_t ms = 0;
    if (tycho_export_parse_retry_after(s, NOW_S, &ms) == 0 && strlen(s) == n) {
        const char *b = s + strspn(s, " \t");
        size_t dl = strspn(b, "0123456789");
        if (dl && b[dl + strspn(b + dl, " \t")] == 0) {
            char nine[10] = "";
            snprintf(nine, sizeof nine, "%.*s", (int)(dl < 9 ? dl : 9), b);
            CHECK(ms == strtoull(nine, NULL, 10) * 1000, "'%s' gave %llu ms", s,
                  (unsigned long long)ms);
        } else {
            /* a date: 4-digit years at most, so never past year 9999 */
            CHECK(ms <= (253402300800ULL - (uint64_t)NOW_S) * 1000, "'%s' gave %llu ms", s,
                  (unsigned long long)ms);
        }
    }
    free(s);
}

static void aws_time(const uint8_t *p, size_t n)
{
    char *s = cstr(p, n);
    int64_t t = 0;
    const char *why = NULL;
    int rc = tycho_aws_parse_time(s, &t, &why);
    CHECK(rc == 0 || (rc == -EINVAL && why && *why), "'%s' refused (%d) without a reason", s, rc);
    if (rc == 0 && t >= 0 && t < 253402300800LL) {
        time_t tt = (time_t)t;
        struct tm tm;
        CHECK(gmtime_r(&tt, &tm), "gmtime");
        char back[32];
        strftime(back, sizeof back, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int64_t t2 = -1;
        CHECK(tycho_aws_parse_time(back, &t2, NULL) == 0 && t2 == t,
              "'%s' is %lld, printed back '%s' is %lld", s, (long long)t, back, (long long)t2);
        /* a UTC time is taken as written: no field carried into the next
         * (April 31 is no May 1) */
        if (strlen(s) == 20 && (s[19] == 'Z' || s[19] == 'z'))
            CHECK(strncasecmp(s, back, 19) == 0, "'%s' was read as '%s'", s, back);
    }
    free(s);
}

static void one_line(const char *what, const char *s)
{
    for (const char *c = s; *c; c++)
        CHECK((unsigned char)*c >= 0x20 && *c != 0x7f, "%s has a control character: '%s'", what, s);
}

/* Text around a secret after one of the keys: the secret never survives,
 * whatever the output's size. */
static void scrub_secret(const uint8_t *p, size_t n)
{
    static const char *const keys[] = {
        "Signature=", "credential=", "X-Amz-Security-Token:", "x-amz-security-token: "};
    static const char SECRET[] = "QSECRETq9";
    if (n < 2) return;
    const char *key = keys[p[0] % 4];
    size_t cut = p[1] % (n - 1), rest = n - 2;
    size_t kl = strlen(key), sl = strlen(SECRET);
    char *in = malloc(rest + kl + sl);
    CHECK(in, "ENOMEM");
    memcpy(in, p + 2, cut);
    memcpy(in + cut, key, kl);
    memcpy(in + cut + kl, SECRET, sl);
    memcpy(in + cut + kl + sl, p + 2 + cut, rest - cut);
    size_t inlen = rest + kl + sl;
    char out[256];
    for (size_t outlen = 1; outlen <= sizeof out; outlen += outlen < 64 ? 1 : 61) {
        size_t k = tycho_aws_scrub(in, inlen, out, outlen);
        CHECK(k < outlen && out[k] == 0 && strlen(out) == k, "scrub length %zu for room %zu", k,
              outlen);
        one_line("scrubbed text", out);
        /* no 'Q' but the secret's: none may survive, not even the
         * start of the secret before a cut */
        if (!memchr(p + 2, 'Q', rest)) CHECK(!strchr(out, 'Q'), "secret survived in '%s'", out);
    }
    free(in);
}

static void aws_error(const uint8_t *p, size_t n)
{
    char *body = cstr(p, n);
    char code[64], msg[512];
    const char *header = n && p[0] & 1 ? "x.y#ThrottlingException:http://internal" : NULL;
    tycho_aws_error_parse(body, n, header, 400 + (long)(n % 200), code, sizeof code, msg,
                          sizeof msg);
    CHECK(code[0], "no error code");
    CHECK(msg[0], "no error message");
    one_line("error code", code);
    one_line("error message", msg);
    free(body);
}

static void sts(const uint8_t *p, size_t n)
{
    char *xml = cstr(p, n);
    tycho_aws_sts_creds_t c;
    if (tycho_aws_sts_parse(xml, n, &c) == 0)
        CHECK(c.access_key_id && c.secret_access_key, "STS success without keys");
    tycho_aws_sts_creds_free(&c);
    free(xml);
}

static void ecs(const uint8_t *p, size_t n)
{
    /* the container's document, '\n', the task's (NULL when absent) */
    const uint8_t *nl = memchr(p, '\n', n);
    size_t split = nl ? (size_t)(nl - p) : n, tl = nl ? n - split - 1 : 0;
    char *container = cstr(p, split), *task = nl ? cstr(nl + 1, tl) : NULL;
    tycho_export_kvs_t kvs = {0};
    CHECK(tycho_export_kvs_set(&kvs, "cloud.region", "from-env") == 0, "ENOMEM");
    int added = tycho_ecs_resource_parse(container, split, task, tl, &kvs);
    CHECK(added >= 0 && (size_t)added == kvs.n - 1, "%d added, %zu there", added, kvs.n);
    CHECK(strcmp(tycho_export_kvs_get(&kvs, "cloud.region"), "from-env") == 0,
          "the environment's cloud.region replaced");
    for (size_t i = 0; i < kvs.n; i++)
        CHECK(kvs.items[i].value[0], "empty %s", kvs.items[i].key);
    tycho_export_kvs_free(&kvs);
    free(container);
    free(task);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        retry_after(p, n);
        break;
    case 1:
        aws_time(p, n);
        break;
    case 2:
        aws_error(p, n);
        break;
    case 3:
        scrub_secret(p, n);
        break;
    case 4:
        sts(p, n);
        break;
    default:
        ecs(p, n);
        break;
    }
    return 0;
}
