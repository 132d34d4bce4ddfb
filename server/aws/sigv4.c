/* SigV4 header signing; rules in PROTOCOLS.md section 5. The canonical forms
 * follow aws-c-auth and botocore (botocore/auth.py SigV4Auth, S3SigV4Auth),
 * which tests/aws/test_sigv4_botocore.sh checks us against. */
#include "aws/sigv4.h"

#include "core/percent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void tycho_sigv4_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256(const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void tycho_sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    sha256(data ? data : "", n, md);
    tycho_sigv4_hex(md, 32, out);
}

int tycho_sigv4_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                            unsigned char out[32])
{
    unsigned int len = 32;
    if (keylen > INT32_MAX) return -EINVAL;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len)) return -ENOMEM;
    return 0;
}

void tycho_sigv4_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int tycho_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                            const char *service, unsigned char out[32])
{
    tycho_buf_t k = TYCHO_BUF_INIT;
    unsigned char a[32], b[32];
    int rc = -ENOMEM;
    if (tycho_buf_puts(&k, "AWS4") || tycho_buf_puts(&k, secret)) goto out;
    if (tycho_sigv4_hmac_sha256(k.data, k.len, date8, strlen(date8), a) ||
        tycho_sigv4_hmac_sha256(a, 32, region, strlen(region), b) ||
        tycho_sigv4_hmac_sha256(b, 32, service, strlen(service), a) ||
        tycho_sigv4_hmac_sha256(a, 32, "aws4_request", 12, out))
        goto out;
    rc = 0;
out:
    /* the buffer held the secret: wipe before freeing */
    if (k.data) OPENSSL_cleanse(k.data, k.cap);
    tycho_buf_free(&k);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return rc;
}

static int unreserved_or_slash(unsigned char c)
{
    return tycho_percent_unreserved(c) || c == '/';
}

int tycho_sigv4_uri_encode(tycho_buf_t *out, const void *s, size_t n, int keep_slash)
{
    return tycho_percent_encode(out, s, n,
                                keep_slash ? unreserved_or_slash : tycho_percent_unreserved);
}

/* Percent-decodes s[0..n) into out; a '%' not followed by two hex digits is
 * kept literally (it will then be encoded as %25). */
static int uri_decode(tycho_buf_t *out, const char *s, size_t n)
{
    tycho_buf_reset(out);
    if (tycho_buf_reserve(out, n)) return -ENOMEM; /* n and a NUL */
    out->len = (size_t)tycho_percent_decode(s, n, out->data, 0);
    out->data[out->len] = '\0';
    return 0;
}

int tycho_sigv4_canonical_uri(const char *path, int s3, tycho_buf_t *out)
{
    if (!path || !*path) return tycho_buf_puts(out, "/");
    size_t n = strlen(path);
    if (s3) return tycho_buf_append(out, path, n);

    /* botocore utils.remove_dot_segments: RFC 3986 5.2.4 plus collapsing of
     * empty segments (consecutive slashes), which AWS services require. */
    size_t nseg = 0, cap = 8;
    struct seg {
        const char *p;
        size_t n;
    } *segs = malloc(cap * sizeof *segs);
    if (!segs) return -ENOMEM;
    const char *p = path, *end = path + n;
    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        size_t len = (size_t)(e - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg) nseg--;
        } else {
            if (nseg == cap) {
                struct seg *ns = realloc(segs, 2 * cap * sizeof *segs);
                if (!ns) {
                    free(segs);
                    return -ENOMEM;
                }
                segs = ns;
                cap *= 2;
            }
            segs[nseg].p = p;
            segs[nseg].n = len;
            nseg++;
        }
        if (!slash) break;
        p = slash + 1;
    }
    int rc = 0;
    if (path[0] == '/') rc |= tycho_buf_puts(out, "/");
    for (size_t i = 0; i < nseg && !rc; i++) {
        if (i) rc |= tycho_buf_puts(out, "/");
        /* second encoding: '%' of the wire form becomes %25 */
        rc |= tycho_sigv4_uri_encode(out, segs[i].p, segs[i].n, 0);
    }
    if (!rc && path[n - 1] == '/' && nseg) rc |= tycho_buf_puts(out, "/");
    free(segs);
    return rc ? -ENOMEM : 0;
}

typedef struct kv {
    char *k, *v; /* encoded, NUL-terminated */
} kv_t;

static int kv_cmp(const void *a, const void *b)
{
    const kv_t *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *encode_dup(const char *s, size_t n)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    if (tycho_sigv4_uri_encode(&b, s, n, 0) || tycho_buf_append(&b, "", 0)) {
        tycho_buf_free(&b);
        return NULL;
    }
    return tycho_buf_steal(&b);
}

static int query_join(kv_t *kvs, size_t n, tycho_buf_t *out)
{
    qsort(kvs, n, sizeof *kvs, kv_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i && tycho_buf_puts(out, "&")) return -ENOMEM;
        if (tycho_buf_puts(out, kvs[i].k) || tycho_buf_puts(out, "=") ||
            tycho_buf_puts(out, kvs[i].v))
            return -ENOMEM;
    }
    return 0;
}

static void kvs_free(kv_t *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kvs[i].k);
        free(kvs[i].v);
    }
    free(kvs);
}

int tycho_sigv4_canonical_query(const char *query, tycho_buf_t *out)
{
    if (!query || !*query) return 0;
    size_t cap = 1;
    for (const char *q = query; *q; q++)
        if (*q == '&') cap++;
    kv_t *kvs = calloc(cap, sizeof *kvs);
    if (!kvs) return -ENOMEM;
    size_t n = 0;
    int rc = -ENOMEM;
    tycho_buf_t dec = TYCHO_BUF_INIT;
    const char *p = query;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            if (uri_decode(&dec, p, kl)) goto out;
            kvs[n].k = encode_dup(dec.data ? dec.data : "", dec.len);
            if (!kvs[n].k) goto out;
            if (eq) {
                if (uri_decode(&dec, eq + 1, len - kl - 1)) goto out;
                kvs[n].v = encode_dup(dec.data ? dec.data : "", dec.len);
            } else {
                kvs[n].v = strdup("");
            }
            n++;
            if (!kvs[n - 1].v) goto out;
        }
        if (!amp) break;
        p = amp + 1;
    }
    rc = query_join(kvs, n, out);
out:
    tycho_buf_free(&dec);
    kvs_free(kvs, n);
    return rc;
}

static int params_query(const tycho_sigv4_param_t *params, size_t np, tycho_buf_t *out)
{
    kv_t *kvs = calloc(np, sizeof *kvs);
    if (!kvs) return -ENOMEM;
    size_t n = 0;
    int rc = -ENOMEM;
    for (size_t i = 0; i < np; i++) {
        const char *v = params[i].value ? params[i].value : "";
        kvs[n].k = encode_dup(params[i].name ? params[i].name : "",
                              params[i].name ? strlen(params[i].name) : 0);
        kvs[n].v = encode_dup(v, strlen(v));
        n++;
        if (!kvs[n - 1].k || !kvs[n - 1].v) goto out;
    }
    rc = query_join(kvs, n, out);
out:
    kvs_free(kvs, n);
    return rc;
}

/* Headers never signed: proxies and clients rewrite them (aws-c-auth's skip
 * list; botocore skips expect, user-agent and x-amzn-trace-id). */
static int never_signed(const char *lname)
{
    static const char *const skip[] = {"user-agent", "x-amzn-trace-id", "connection", "expect",
                                       "transfer-encoding", "authorization",
                                       /* supplied by the signer itself */
                                       "host", "x-amz-date", "x-amz-security-token",
                                       "x-amz-content-sha256"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(lname, skip[i]) == 0) return 1;
    return 0;
}

typedef struct hdr {
    char *name;  /* lowercased */
    char *value; /* trimmed, runs of whitespace collapsed */
    size_t order;
} hdr_t;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* botocore: ' '.join(value.split()) */
static char *trim_value(const char *v)
{
    size_t n = strlen(v);
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t j = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ws(v[i])) {
            pending_space = j > 0;
            continue;
        }
        if (pending_space) o[j++] = ' ';
        pending_space = 0;
        o[j++] = v[i];
    }
    o[j] = '\0';
    return o;
}

static char *lower_dup(const char *s)
{
    char *o = strdup(s);
    if (!o) return NULL;
    for (char *p = o; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return o;
}

static int add_hdr(hdr_t *h, size_t *n, const char *name, const char *value, int lower)
{
    h[*n].name = lower ? lower_dup(name) : strdup(name);
    h[*n].value = trim_value(value);
    h[*n].order = *n;
    (*n)++;
    return h[*n - 1].name && h[*n - 1].value ? 0 : -ENOMEM;
}

int tycho_sigv4_canonical_request(const tycho_sigv4_request_t *req, const char *amz_date,
                                  const char *payload_hash, tycho_buf_t *out,
                                  tycho_buf_t *signed_headers)
{
    if (!req->method || !req->host || !amz_date || !payload_hash) return -EINVAL;
    int s3 = (req->flags & TYCHO_SIGV4_S3) != 0;
    int with_sha = s3 || (req->flags & TYCHO_SIGV4_CONTENT_SHA256);
    int with_token = req->session_token && *req->session_token;

    size_t cap = req->nheaders + 4, n = 0;
    hdr_t *h = calloc(cap, sizeof *h);
    if (!h) return -ENOMEM;
    int rc = -ENOMEM;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!req->headers[i].name || !req->headers[i].value) {
            rc = -EINVAL;
            goto out;
        }
        char *l = lower_dup(req->headers[i].name);
        if (!l) goto out;
        int skip = never_signed(l);
        free(l);
        if (skip) continue;
        if (add_hdr(h, &n, req->headers[i].name, req->headers[i].value, 1)) goto out;
    }
    if (add_hdr(h, &n, "host", req->host, 0) || add_hdr(h, &n, "x-amz-date", amz_date, 0)) goto out;
    if (with_token && add_hdr(h, &n, "x-amz-security-token", req->session_token, 0)) goto out;
    if (with_sha && add_hdr(h, &n, "x-amz-content-sha256", payload_hash, 0)) goto out;
    qsort(h, n, sizeof *h, hdr_cmp);

    /* 1. method, URI, query */
    if (tycho_buf_puts(out, req->method) || tycho_buf_puts(out, "\n")) goto out;
    if (tycho_sigv4_canonical_uri(req->path, s3, out) || tycho_buf_puts(out, "\n")) goto out;
    if (req->nparams ? params_query(req->params, req->nparams, out)
                     : tycho_sigv4_canonical_query(req->query, out))
        goto out;
    if (tycho_buf_puts(out, "\n")) goto out;
    /* 2. canonical headers: repeated names comma-joined in arrival order */
    tycho_buf_t sh = TYCHO_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        int first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        int last = i + 1 == n || strcmp(h[i].name, h[i + 1].name) != 0;
        if (first) {
            if ((sh.len && tycho_buf_puts(&sh, ";")) || tycho_buf_puts(&sh, h[i].name) ||
                tycho_buf_puts(out, h[i].name) || tycho_buf_puts(out, ":"))
                goto out_sh;
        } else if (tycho_buf_puts(out, ",")) {
            goto out_sh;
        }
        if (tycho_buf_puts(out, h[i].value)) goto out_sh;
        if (last && tycho_buf_puts(out, "\n")) goto out_sh;
    }
    /* 3. signed headers, payload hash */
    if (tycho_buf_puts(out, "\n") || tycho_buf_append(out, sh.data, sh.len) ||
        tycho_buf_puts(out, "\n") || tycho_buf_puts(out, payload_hash))
        goto out_sh;
    if (signed_headers && tycho_buf_append(signed_headers, sh.data, sh.len)) goto out_sh;
    rc = 0;
out_sh:
    tycho_buf_free(&sh);
out:
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

static int cached_key(tycho_sigv4_key_cache_t *c, const char *secret, const char *date8,
                      const char *region, const char *service, unsigned char key[32])
{
    if (!c || strlen(region) >= sizeof c->slot[0].region ||
        strlen(service) >= sizeof c->slot[0].service)
        return tycho_sigv4_signing_key(secret, date8, region, service, key);
    unsigned char sh[32];
    sha256(secret, strlen(secret), sh);
    for (unsigned i = 0; i < TYCHO_SIGV4_CACHE_SLOTS; i++) {
        if (c->slot[i].used && memcmp(c->slot[i].secret_hash, sh, 32) == 0 &&
            strcmp(c->slot[i].date, date8) == 0 && strcmp(c->slot[i].region, region) == 0 &&
            strcmp(c->slot[i].service, service) == 0) {
            memcpy(key, c->slot[i].key, 32);
            c->hits++;
            return 0;
        }
    }
    c->misses++;
    int rc = tycho_sigv4_signing_key(secret, date8, region, service, key);
    if (rc) return rc;
    unsigned i = c->next++ % TYCHO_SIGV4_CACHE_SLOTS;
    memcpy(c->slot[i].secret_hash, sh, 32);
    memcpy(c->slot[i].date, date8, 9);
    strcpy(c->slot[i].region, region);
    strcpy(c->slot[i].service, service);
    memcpy(c->slot[i].key, key, 32);
    c->slot[i].used = 1;
    return 0;
}

int tycho_sigv4_sign(const tycho_sigv4_request_t *req, tycho_sigv4_key_cache_t *cache,
                     tycho_sigv4_output_t *out, tycho_buf_t *canonical_request,
                     tycho_buf_t *string_to_sign)
{
    memset(out, 0, sizeof *out);
    if (!req->service || !req->region || !req->access_key_id || !req->secret_access_key ||
        !*req->access_key_id || !*req->secret_access_key)
        return -EINVAL;
    int s3 = (req->flags & TYCHO_SIGV4_S3) != 0;
    int with_sha = s3 || (req->flags & TYCHO_SIGV4_CONTENT_SHA256);

    tycho_sigv4_amz_date(req->time, out->amz_date);
    char date8[9];
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';

    char payload[65];
    if (req->flags & TYCHO_SIGV4_UNSIGNED_PAYLOAD)
        strcpy(payload, "UNSIGNED-PAYLOAD");
    else if (req->payload_hash && strlen(req->payload_hash) == 64)
        memcpy(payload, req->payload_hash, 65);
    else if (!req->body || !req->body_len)
        memcpy(payload, EMPTY_SHA256, 65);
    else
        tycho_sigv4_sha256_hex(req->body, req->body_len, payload);
    if (with_sha) memcpy(out->content_sha256, payload, sizeof payload);
    if (req->session_token && *req->session_token) out->security_token = req->session_token;

    tycho_buf_t cr = TYCHO_BUF_INIT, sh = TYCHO_BUF_INIT, sts = TYCHO_BUF_INIT;
    int rc = tycho_sigv4_canonical_request(req, out->amz_date, payload, &cr, &sh);
    if (rc) goto out;
    rc = -ENOMEM;
    char crhash[65];
    tycho_sigv4_sha256_hex(cr.data, cr.len, crhash);
    if (tycho_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date,
                         date8, req->region, req->service, crhash))
        goto out;
    unsigned char key[32], sig[32];
    if (cached_key(cache, req->secret_access_key, date8, req->region, req->service, key)) goto out;
    rc = tycho_sigv4_hmac_sha256(key, 32, sts.data, sts.len, sig);
    OPENSSL_cleanse(key, sizeof key);
    if (rc) goto out;
    rc = -ENOMEM;
    tycho_sigv4_hex(sig, 32, out->signature);
    if (tycho_buf_printf(&out->authorization,
                         "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                         "SignedHeaders=%s, Signature=%s",
                         req->access_key_id, date8, req->region, req->service, sh.data,
                         out->signature))
        goto out;
    if (canonical_request && tycho_buf_append(canonical_request, cr.data, cr.len)) goto out;
    if (string_to_sign && tycho_buf_append(string_to_sign, sts.data, sts.len)) goto out;
    rc = 0;
out:
    if (rc) tycho_buf_free(&out->authorization);
    tycho_buf_free(&cr);
    tycho_buf_free(&sh);
    tycho_buf_free(&sts);
    return rc;
}
