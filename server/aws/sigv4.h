/* sigv4 — AWS Signature Version 4 for header-signed requests, on libcrypto.
 * Pure functions over a request description (PROTOCOLS.md section 5): no I/O,
 * no clock (the caller passes the time). Any thread may call them; a key cache
 * belongs to one thread (the one owning the AWS client that holds it).
 * Secrets passed in are never copied except into the caller's key cache, which
 * stores derived keys and a SHA-256 of the secret, never the secret itself. */
#ifndef TYCHO_AWS_SIGV4_H
#define TYCHO_AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct tycho_sigv4_header {
    const char *name; /* any case; NUL-terminated */
    const char *value;
} tycho_sigv4_header_t;

typedef struct tycho_sigv4_param {
    const char *name;  /* decoded (raw) bytes; the signer encodes them */
    const char *value; /* NULL or "" is written "name=" */
} tycho_sigv4_param_t;

enum {
    /* S3 rules: path used as sent (no normalisation, single encoding) and
     * X-Amz-Content-SHA256 added and signed. */
    TYCHO_SIGV4_S3 = 1 << 0,
    /* Add and sign X-Amz-Content-SHA256 for a non-S3 service too. */
    TYCHO_SIGV4_CONTENT_SHA256 = 1 << 1,
    /* Hash "UNSIGNED-PAYLOAD" instead of the body (S3 over TLS only). */
    TYCHO_SIGV4_UNSIGNED_PAYLOAD = 1 << 2,
};

typedef struct tycho_sigv4_request {
    const char *method; /* "GET", "POST", ... */
    const char *host;   /* the Host header value exactly as sent (host[:port]) */
    /* The path exactly as sent on the wire, i.e. already percent-encoded once
     * ("/a%20b"). NULL or "" means "/". */
    const char *path;
    /* Query, one of: params (decoded pairs, repeated names allowed), or the
     * raw wire query (after '?'), which is split on '&', percent-decoded ('+'
     * stays a literal '+') and re-encoded. params wins when nparams > 0. */
    const tycho_sigv4_param_t *params;
    size_t nparams;
    const char *query;
    /* Headers that will be sent. Host, X-Amz-Date, X-Amz-Security-Token and
     * X-Amz-Content-SHA256 are supplied by the signer: any given here are
     * ignored. Authorization is ignored too. */
    const tycho_sigv4_header_t *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
    const char *payload_hash; /* precomputed lowercase hex SHA-256, or NULL */
    const char *service;      /* signing name: "sqs", "dynamodb", "aps", ... */
    const char *region;
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for long-term credentials */
    int64_t time;              /* unix seconds (UTC) */
    unsigned flags;            /* TYCHO_SIGV4_* */
} tycho_sigv4_request_t;

/* What the caller adds to the request. Strings live inside the struct;
 * security_token points at the request's session token (or is NULL). */
typedef struct tycho_sigv4_output {
    char amz_date[17];       /* X-Amz-Date: YYYYMMDD'T'HHMMSS'Z' */
    char content_sha256[65]; /* X-Amz-Content-SHA256, "" when not to be sent */
    char signature[65];
    const char *security_token; /* X-Amz-Security-Token, NULL when none */
    tycho_buf_t authorization;  /* Authorization header value; caller frees */
} tycho_sigv4_output_t;

/* Derived signing keys cached per (secret, date, region, service). */
#define TYCHO_SIGV4_CACHE_SLOTS 8
typedef struct tycho_sigv4_key_cache {
    struct {
        unsigned char secret_hash[32];
        char date[9];
        char region[32];
        char service[32];
        unsigned char key[32];
        int used;
    } slot[TYCHO_SIGV4_CACHE_SLOTS];
    unsigned next;
    unsigned long hits, misses; /* for tests and stats */
} tycho_sigv4_key_cache_t;

/* Signs req. cache may be NULL. canonical_request and string_to_sign may be
 * NULL; when given they receive the intermediate texts (tests, debugging).
 * Returns 0, -EINVAL for a missing field, -ENOMEM. On success the caller
 * frees out->authorization with tycho_buf_free. */
int tycho_sigv4_sign(const tycho_sigv4_request_t *req, tycho_sigv4_key_cache_t *cache,
                     tycho_sigv4_output_t *out, tycho_buf_t *canonical_request,
                     tycho_buf_t *string_to_sign);

/* Appends the canonical request (step 1) for req to out; payload_hash is the
 * hashed payload line. Exposed for tests and fuzzing. 0, -EINVAL or -ENOMEM. */
int tycho_sigv4_canonical_request(const tycho_sigv4_request_t *req, const char *amz_date,
                                  const char *payload_hash, tycho_buf_t *out,
                                  tycho_buf_t *signed_headers);

/* Canonical URI of a wire path: non-S3 removes dot segments, collapses "//"
 * and encodes again; S3 (s3 != 0) keeps the path as sent. */
int tycho_sigv4_canonical_uri(const char *path, int s3, tycho_buf_t *out);
/* Canonical query string from a raw wire query (may be NULL). */
int tycho_sigv4_canonical_query(const char *query, tycho_buf_t *out);

/* UriEncode (A-Z a-z 0-9 - _ . ~ kept; everything else %XX uppercase).
 * keep_slash leaves '/' alone (paths). */
int tycho_sigv4_uri_encode(tycho_buf_t *out, const void *s, size_t n, int keep_slash);

/* Helpers shared with the AWS client. */
void tycho_sigv4_sha256_hex(const void *data, size_t n, char out[65]);
int tycho_sigv4_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                            unsigned char out[32]);
void tycho_sigv4_hex(const unsigned char *in, size_t n, char *out); /* writes 2n+1 */
/* Formats unix seconds as YYYYMMDD'T'HHMMSS'Z'. */
void tycho_sigv4_amz_date(int64_t t, char out[17]);
/* Derives kSigning (for tests: the IAM example lists it). */
int tycho_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                            const char *service, unsigned char out[32]);

#endif
