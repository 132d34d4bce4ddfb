/* libFuzzer target for the SigV4 canonicaliser (aws/sigv4.c): URI, query
 * and header canonicalisation and the whole signing path. Checked (abort on
 * failure):
 *  - canonical URI (non-S3): starts with '/' when the path does, holds only
 *    unreserved characters, '/' and %XX (uppercase), has no empty, "." or
 *    ".." segment; decoding it once gives the path's own normalised segments;
 *    S3 keeps the path as sent;
 *  - canonical query: pairs sorted, fully encoded, and canonicalising the
 *    result again changes nothing;
 *  - canonical request: the signed-headers list is the sorted, de-duplicated,
 *    lowercased set of the headers given (minus those never signed) plus
 *    host, x-amz-date and the token/content-sha256 headers the flags add, and
 *    the canonical headers block has one line per signed header;
 *  - tycho_sigv4_sign succeeds and its Authorization names those headers.
 *
 * Input: byte 0 = flags, then lines: path, raw query, then up to 16
 * "name:value" headers.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh sigv4. */
#include "aws/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "sigv4"
#include "tests/fuzz/fuzz_check.h"

#define MAX_HEADERS 16

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1; /* canonical forms use uppercase only */
}

/* Only unreserved, %XX and (when slash) '/'. */
static void check_encoded(const char *s, size_t n, int slash, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (slash && c == '/')) continue;
        CHECK(c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0,
              "%s: bad byte 0x%02x at %zu in '%.*s'", what, c, i, (int)n, s);
        i += 2;
    }
}

static size_t decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void check_uri(const char *path)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    CHECK(tycho_sigv4_canonical_uri(path, 1, &b) == 0, "s3 uri");
    CHECK(b.len == (*path ? strlen(path) : 1) && memcmp(b.data, *path ? path : "/", b.len) == 0,
          "S3 path rewritten");
    tycho_buf_reset(&b);
    CHECK(tycho_sigv4_canonical_uri(path, 0, &b) == 0, "uri");
    const char *u = b.data ? b.data : "";
    size_t n = b.len;
    if (path[0] == '/' || !path[0]) CHECK(n >= 1 && u[0] == '/', "'%s' -> '%.*s'", path, (int)n, u);
    check_encoded(u, n, 1, "uri");
    /* the path's segments, normalised the way botocore does */
    size_t plen = strlen(path);
    const char **segs = malloc((plen + 2) * sizeof *segs);
    size_t *lens = malloc((plen + 2) * sizeof *lens), nseg = 0;
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg) nseg--;
        } else if (len && !(len == 1 && p[0] == '.')) {
            segs[nseg] = p, lens[nseg++] = len;
        }
        if (!slash) break;
        p = slash + 1;
    }
    /* the canonical URI's segments, decoded once, are exactly those */
    size_t k = 0;
    char *dec = malloc(n + 1);
    for (size_t i = (n && u[0] == '/') ? 1 : 0; i < n;) {
        const char *slash = memchr(u + i, '/', n - i);
        size_t len = slash ? (size_t)(slash - (u + i)) : n - i;
        if (!len) {
            CHECK(!slash, "empty segment inside '%.*s'", (int)n, u);
            break; /* the trailing '/' */
        }
        CHECK(k < nseg, "'%s' -> '%.*s': extra segment", path, (int)n, u);
        size_t dl = decode(u + i, len, dec);
        CHECK(dl == lens[k] && memcmp(dec, segs[k], dl) == 0, "'%s' -> '%.*s': segment %zu", path,
              (int)n, u, k);
        k++;
        i += len + 1;
    }
    CHECK(k == nseg, "'%s' -> '%.*s': %zu of %zu segments", path, (int)n, u, k, nseg);
    free(dec);
    free(segs);
    free(lens);
    tycho_buf_free(&b);
}

static void check_query(const char *q)
{
    tycho_buf_t a = TYCHO_BUF_INIT, b = TYCHO_BUF_INIT;
    CHECK(tycho_sigv4_canonical_query(q, &a) == 0, "query");
    const char *s = a.data ? a.data : "";
    /* k=v pairs joined by '&', each side encoded, sorted by (k, v) */
    const char *prev = NULL;
    size_t prevlen = 0;
    for (size_t i = 0; i < a.len;) {
        const char *amp = memchr(s + i, '&', a.len - i);
        size_t len = amp ? (size_t)(amp - (s + i)) : a.len - i;
        const char *eq = memchr(s + i, '=', len);
        CHECK(eq, "pair without '=' in '%s'", s);
        check_encoded(s + i, (size_t)(eq - (s + i)), 0, "query key");
        check_encoded(eq + 1, len - (size_t)(eq - (s + i)) - 1, 0, "query value");
        if (prev) {
            /* byte order of "k=v" equals (k, v) order: '=' sorts below every
             * encoded character except '%', '-' and '.', so compare k then v */
            const char *peq = memchr(prev, '=', prevlen);
            size_t pk = (size_t)(peq - prev), ck = (size_t)(eq - (s + i));
            int c = memcmp(prev, s + i, pk < ck ? pk : ck);
            if (!c) c = pk < ck ? -1 : pk > ck;
            if (!c) {
                size_t pv = prevlen - pk - 1, cv = len - ck - 1;
                c = memcmp(peq + 1, eq + 1, pv < cv ? pv : cv);
                if (!c) c = pv < cv ? -1 : pv > cv;
            }
            CHECK(c <= 0, "query not sorted: '%s'", s);
        }
        prev = s + i, prevlen = len;
        i += len + 1;
    }
    CHECK(tycho_sigv4_canonical_query(s, &b) == 0, "query again");
    CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0),
          "canonical query not stable: '%s' -> '%s'", s, b.data ? b.data : "");
    tycho_buf_free(&a);
    tycho_buf_free(&b);
}

static int never_signed(const char *l)
{
    static const char *const skip[] = {
        "user-agent",           "x-amzn-trace-id",     "connection", "expect",
        "transfer-encoding",    "authorization",       "host",       "x-amz-date",
        "x-amz-security-token", "x-amz-content-sha256"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(l, skip[i]) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned flags = data[0] & 7;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char *text = malloc(n + 1);
    memcpy(text, in, n);
    text[n] = 0;
    /* embedded NULs end a field: the API takes C strings */
    char *lines[2 + MAX_HEADERS];
    size_t nlines = 0;
    for (char *p = text; nlines < 2 + MAX_HEADERS;) {
        lines[nlines++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + n - p));
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    const char *path = lines[0], *query = nlines > 1 ? lines[1] : "";
    check_uri(path);
    check_query(query);

    tycho_sigv4_header_t hdrs[MAX_HEADERS];
    size_t nh = 0;
    int tokens = 1;
    for (size_t i = 2; i < nlines; i++) {
        char *colon = strchr(lines[i], ':');
        if (!colon) continue;
        *colon = 0;
        hdrs[nh++] = (tycho_sigv4_header_t){lines[i], colon + 1};
        tokens &= is_token(lines[i]);
    }
    tycho_sigv4_request_t req = {
        .method = "POST",
        .host = "sqs.us-east-1.amazonaws.com",
        .path = path,
        .query = query,
        .headers = hdrs,
        .nheaders = nh,
        .body = in,
        .body_len = n,
        .service = "sqs",
        .region = "us-east-1",
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .session_token = (flags & 4) ? "token" : NULL,
        .time = 1440938160,
        .flags = flags & 3,
    };
    tycho_buf_t cr = TYCHO_BUF_INIT, sh = TYCHO_BUF_INIT;
    int rc = tycho_sigv4_canonical_request(&req, "20150830T123600Z", "UNSIGNED-PAYLOAD", &cr, &sh);
    CHECK(rc == 0, "canonical request failed: %d", rc);

    /* the expected signed headers */
    char *names[MAX_HEADERS + 4];
    size_t nn = 0;
    for (size_t i = 0; i < nh; i++) {
        char *l = strdup(hdrs[i].name);
        for (char *p = l; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        if (never_signed(l)) {
            free(l);
            continue;
        }
        names[nn++] = l;
    }
    names[nn++] = strdup("host");
    names[nn++] = strdup("x-amz-date");
    if (flags & 4) names[nn++] = strdup("x-amz-security-token");
    if (flags & 3) names[nn++] = strdup("x-amz-content-sha256");
    qsort(names, nn, sizeof *names, cmp_str);
    tycho_buf_t want = TYCHO_BUF_INIT;
    size_t distinct = 0;
    for (size_t i = 0; i < nn; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;
        if (distinct++) tycho_buf_puts(&want, ";");
        tycho_buf_puts(&want, names[i]);
    }
    if (tokens) {
        CHECK(sh.len == want.len && memcmp(sh.data, want.data, sh.len) == 0,
              "signed headers '%.*s', expected '%.*s'", (int)sh.len, sh.data, (int)want.len,
              want.data);
        /* method, URI, query, one line per signed header, blank, list, hash */
        size_t lines_cr = 1;
        for (size_t i = 0; i < cr.len; i++)
            lines_cr += cr.data[i] == '\n';
        CHECK(lines_cr == 3 + distinct + 3, "%zu lines for %zu headers:\n%.*s", lines_cr, distinct,
              (int)cr.len, cr.data);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);

    tycho_sigv4_output_t out;
    tycho_sigv4_key_cache_t cache;
    memset(&cache, 0, sizeof cache);
    CHECK(tycho_sigv4_sign(&req, &cache, &out, NULL, NULL) == 0, "sign failed");
    CHECK(strlen(out.signature) == 64 && strcmp(out.amz_date, "20150830T123600Z") == 0, "output");
    if (tokens) CHECK(strstr(out.authorization.data, want.data) != NULL, "Authorization");
    tycho_buf_free(&out.authorization);
    tycho_buf_free(&want);
    tycho_buf_free(&cr);
    tycho_buf_free(&sh);
    free(text);
    return 0;
}
