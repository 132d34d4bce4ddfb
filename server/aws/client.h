/* client — the generic signed AWS JSON 1.0 call (SQS, DynamoDB, any JSON 1.0
 * service): endpoint and region resolution, SigV4, the SDKs' "standard" retry
 * mode (PROTOCOLS.md section 6: 3 attempts, full-jitter backoff capped at
 * 20 s, a 500-token retry quota), DynamoDB's x-amz-crc32 check, and one
 * credential refresh + retry on an expired-token error. Errors come back as
 * a structured result, never as a crash or a log line with secrets.
 * Threading: one client per loop (with that loop's HTTP client and
 * credential provider); call everything on the loop's thread. */
#ifndef TYCHO_AWS_CLIENT_H
#define TYCHO_AWS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws/credentials.h"
#include "net/http_client.h"

typedef struct tycho_aws_client tycho_aws_client_t;
typedef struct tycho_aws_call tycho_aws_call_t;

/* What one attempt did, for metrics (aws_requests_total{service,operation,
 * outcome}, aws_request_duration_seconds) and traces. */
typedef struct tycho_aws_attempt {
    const char *service;   /* signing name: "sqs" */
    const char *operation; /* the target after its last '.': "SendMessage" */
    int attempt;           /* 1-based */
    /* "success", "throttled", "client_error" (4xx), "server_error" (5xx),
     * "transport_error" (no HTTP response), "crc32_mismatch" */
    const char *outcome;
    long status;            /* 0 without an HTTP response */
    const char *error_type; /* "" on success */
    double duration;        /* seconds, this attempt's HTTP exchange */
    int will_retry;
    double backoff; /* seconds before the next attempt, when will_retry */
    void *call_ud;  /* the ud given to tycho_aws_call for this call */
} tycho_aws_attempt_t;

typedef void (*tycho_aws_attempt_fn)(const tycho_aws_attempt_t *a, void *ud);

typedef struct tycho_aws_client_options {
    const char *region;        /* NULL: AWS_REGION > AWS_DEFAULT_REGION > profile region */
    const char *profile;       /* NULL: AWS_PROFILE / "default" (region, endpoints, max_attempts) */
    int max_attempts;          /* 0: AWS_MAX_ATTEMPTS > profile max_attempts > 3 */
    double backoff_base;       /* seconds; 0 = 1 (delay = rand * min(base * 2^(n-1), cap)) */
    double backoff_cap;        /* seconds; 0 = 20 */
    int retry_quota;           /* tokens; 0 = 500 */
    long connect_timeout_ms;   /* per attempt; 0 = 5000 */
    long timeout_ms;           /* per attempt; 0 = 30000 */
    size_t max_response_bytes; /* 0 = 64 MiB (ten 1 MiB SQS messages, escaped) */
    tycho_aws_attempt_fn on_attempt; /* called after every attempt; may be NULL */
    void *on_attempt_ud;
    double (*random)(void *ud); /* [0,1) for the jitter; NULL = tycho_prng_unit (core/prng.h) */
    void *random_ud;
} tycho_aws_client_options_t;

typedef struct tycho_aws_request {
    const char *service; /* signing name: "sqs", "dynamodb", ... */
    const char *target;  /* X-Amz-Target: "AmazonSQS.SendMessage" */
    const char *body;    /* JSON text; copied */
    size_t body_len;
    const char *endpoint; /* explicit URL for this call; NULL = resolved per service */
    /* Extra headers (e.g. X-Amzn-Trace-Id, which is sent but never signed);
     * copied. Others are signed. */
    const tycho_http_header_t *headers;
    size_t nheaders;
    long timeout_ms;          /* per attempt; 0 = the client's (long polls need more) */
    int max_attempts;         /* 1..50 (1: no retry); 0 = the client's */
    const char *content_type; /* NULL = "application/x-amz-json-1.0" */
} tycho_aws_request_t;

/* Valid during the callback only. */
typedef struct tycho_aws_result {
    int ok;           /* a 2xx that passed the CRC check */
    long status;      /* HTTP status of the last attempt; 0 when none */
    const char *body; /* last response body ("" when none) */
    size_t body_len;
    /* "" on success; else the AWS error code (__type after '#', e.g.
     * "ThrottlingException"), or "TransportError", "CRC32Mismatch",
     * "CredentialsError", "ConfigurationError", "Cancelled" */
    const char *error_type;
    const char *message;    /* "" on success; one line, never contains secrets (error_text.h) */
    int retryable;          /* the last error is of a retryable kind */
    int attempts;           /* HTTP attempts made */
    int transport_error;    /* TYCHO_HTTP_E_* of the last attempt, 0 when it got a response */
    int quota_exhausted;    /* gave up early: no retry quota left */
    const char *request_id; /* x-amzn-RequestId (-Request-Id, x-amz-request-id), "" when none */
    double duration;        /* seconds, whole call including backoff */
} tycho_aws_result_t;

typedef void (*tycho_aws_done_fn)(const tycho_aws_result_t *res, void *ud);

/* NULL with a one-line reason in err that starts with the setting at fault
 * (no or bad region, a bad configured endpoint URL of any service, bad
 * max attempts; URLs redacted). http and creds must outlive the client; they
 * are not owned. */
tycho_aws_client_t *tycho_aws_client_new(uv_loop_t *loop, tycho_http_client_t *http,
                                         tycho_aws_creds_provider_t *creds,
                                         const tycho_aws_client_options_t *opts, char *err,
                                         size_t errlen);

/* Starts a call. 0 (the callback runs later, exactly once, unless
 * cancelled), -EINVAL (missing service/target/callback, max_attempts out of
 * range), -ENOMEM,
 * -ESHUTDOWN. *out (may be NULL) is valid until the callback returns. */
int tycho_aws_call(tycho_aws_client_t *c, const tycho_aws_request_t *req, tycho_aws_done_fn cb,
                   void *ud, tycho_aws_call_t **out);

/* Abandons a call (its caller went away): the callback will not run. */
void tycho_aws_call_cancel(tycho_aws_call_t *call);

/* Pending calls complete with error_type "Cancelled" before this returns;
 * the client is freed once its handles have closed. */
void tycho_aws_client_close(tycho_aws_client_t *c);

const char *tycho_aws_client_region(const tycho_aws_client_t *c);

typedef struct tycho_aws_client_stats {
    unsigned long calls, attempts, retries, throttles, quota_exhausted, credential_refreshes;
    int quota_available;
} tycho_aws_client_stats_t;
void tycho_aws_client_stats(const tycho_aws_client_t *c, tycho_aws_client_stats_t *out);

/* The code (error_type) says the server's own credentials, signature,
 * permissions or settings are at fault (CredentialsError, ConfigurationError,
 * InvalidSignatureException, AccessDenied*, ExpiredToken*...) or AWS could
 * not be reached (TransportError: the message names the endpoint's host and
 * port): its message is for the operator's log, not for an HTTP client. */
int tycho_aws_is_server_fault_code(const char *code);

/* --- pieces exposed for tests -------------------------------------------- */

/* The error code from a __type / x-amzn-ErrorType value: cut at the first
 * ':', keep what follows the last '#'. */
void tycho_aws_error_code(const char *type, char *out, size_t n);
/* Throttling / transient codes of the standard retry mode. */
int tycho_aws_is_throttling_code(const char *code);
int tycho_aws_is_transient_code(const char *code);
/* CRC32 (IEEE 802.3, as zlib's crc32) of data, as DynamoDB's x-amz-crc32.
 * Any thread, at the same time. */
uint32_t tycho_aws_crc32(const void *data, size_t n);

#endif
