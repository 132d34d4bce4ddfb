/* The signed JSON call and its retry loop. Retry rules follow botocore
 * retries/standard.py, quota.py and special.py as summarised in
 * PROTOCOLS.md section 6 ("standard" retry mode). */
#include "aws/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/credentials_profile.h"
#include "core/prng.h"
#include "aws/endpoint.h"
#include "aws/error_text.h"
#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/units.h"

#define RETRY_COST 5
#define TIMEOUT_RETRY_COST 10
#define NO_RETRY_INCREMENT 1
/* An answer's size cap. Not the HTTP client's 16 MiB: a ReceiveMessage of
 * 10 messages of SQS's 1 MiB each grows past 20 MiB when their text is
 * JSON-escaped on the wire (every '"' of a JSON body sent as \"), and a
 * DynamoDB BatchGetItem of its 16 MB of items more with base64 and escapes. */
#define AWS_MAX_RESPONSE_BYTES ((size_t)64 << 20)

typedef struct ep_cache {
    struct ep_cache *next;
    char service[32];
    tycho_aws_endpoint_t ep;
} ep_cache_t;

struct tycho_aws_client {
    uv_loop_t *loop;
    tycho_http_client_t *http;
    tycho_aws_creds_provider_t *creds;
    tycho_aws_client_options_t opts;
    char region[64];
    tycho_aws_profile_t profile;
    int max_attempts;
    int quota, quota_max;
    tycho_sigv4_key_cache_t keys;
    ep_cache_t *eps;
    tycho_aws_call_t *calls;
    int closing;
    int open_handles; /* call timers not yet closed */
    tycho_aws_client_stats_t stats;
};

struct tycho_aws_call {
    tycho_aws_client_t *c;
    tycho_aws_call_t *prev, *next;
    char *service, *target, *body, *endpoint, *content_type;
    const char *operation;
    size_t body_len, nheaders;
    tycho_http_header_t *headers; /* copies */
    long timeout_ms;
    int max_attempts; /* this call's, or the client's */
    tycho_aws_done_fn cb;
    void *ud;
    int attempt;       /* HTTP attempts made */
    int free_attempts; /* attempts not counted against max_attempts (expired-token retry) */
    int expired_retry_done;
    int last_acquired; /* retry quota taken for the last retry, 0 when none */
    uint64_t start_ns, attempt_ns;
    uint64_t creds_generation;
    const tycho_aws_endpoint_t *ep;
    tycho_aws_endpoint_t own_ep; /* an explicit endpoint of this call */
    tycho_http_req_t *req;
    tycho_aws_creds_wait_t *wait;
    uv_timer_t timer; /* backoff, and deferred failures */
    char fail_type[32];
    char fail_msg[300];
};

/* --- classification ------------------------------------------------------ */

static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "IDPCommunicationError", /* STS special case (retries/special.py) */
};

/* Codes about the server's own credentials, signing, permissions or
 * configuration rather than the request (IAM, STS, EC2, SQS, DynamoDB
 * spellings; botocore's error shapes), and TransportError: AWS could not be
 * reached, and curl's message names the endpoint's host and port (a VPC
 * endpoint, a proxy). Their messages name account ids, role ARNs and
 * internal endpoints. Prefixes cover the families: AccessDenied,
 * AccessDeniedException; ExpiredToken, ExpiredTokenException; AuthFailure.* */
static const char *const server_fault_codes[] = {
    "CredentialsError",
    "ConfigurationError",
    "TransportError",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "InvalidToken",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "NotAuthorized",
    "UnauthorizedOperation",
    "AuthorizationError",
    "KMSAccessDeniedException",
    "RequestExpired",
};
static const char *const server_fault_prefixes[] = {"AccessDenied", "ExpiredToken", "AuthFailure"};

static int in_list(const char *code, const char *const *list, size_t n)
{
    if (!code || !*code) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0) return 1;
    return 0;
}

int tycho_aws_is_throttling_code(const char *code)
{
    return in_list(code, throttling_codes, sizeof throttling_codes / sizeof throttling_codes[0]);
}

int tycho_aws_is_transient_code(const char *code)
{
    return in_list(code, transient_codes, sizeof transient_codes / sizeof transient_codes[0]);
}

int tycho_aws_is_server_fault_code(const char *code)
{
    if (in_list(code, server_fault_codes, sizeof server_fault_codes / sizeof server_fault_codes[0]))
        return 1;
    for (size_t i = 0; code && i < sizeof server_fault_prefixes / sizeof server_fault_prefixes[0];
         i++)
        if (strncmp(code, server_fault_prefixes[i], strlen(server_fault_prefixes[i])) == 0)
            return 1;
    return 0;
}

void tycho_aws_error_code(const char *type, char *out, size_t n)
{
    if (!n) return;
    out[0] = '\0';
    if (!type) return;
    size_t len = strcspn(type, ":");
    const char *start = type;
    for (size_t i = 0; i < len; i++)
        if (type[i] == '#') start = type + i + 1;
    size_t l = len - (size_t)(start - type);
    while (l && (start[l - 1] == ' ' || start[l - 1] == '\t'))
        l--;
    while (l && (*start == ' ' || *start == '\t')) {
        start++;
        l--;
    }
    if (l >= n) l = n - 1;
    memcpy(out, start, l);
    out[l] = '\0';
}

/* Filled once for the process: workers and the telemetry thread (gzip
 * trailers) call tycho_aws_crc32 at once, and a plain "ready" flag was a
 * data race (a thread could read the flag set before the table). */
static uint32_t crc32_table[256];
static pthread_once_t crc32_table_once = PTHREAD_ONCE_INIT;

static void fill_crc32_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc32_table[i] = c;
    }
}

uint32_t tycho_aws_crc32(const void *data, size_t n)
{
    pthread_once(&crc32_table_once, fill_crc32_table);
    const uint32_t *table = crc32_table;
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* --- client -------------------------------------------------------------- */

tycho_aws_client_t *tycho_aws_client_new(uv_loop_t *loop, tycho_http_client_t *http,
                                         tycho_aws_creds_provider_t *creds,
                                         const tycho_aws_client_options_t *opts, char *err,
                                         size_t errlen)
{
    tycho_aws_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "aws client: out of memory");
        return NULL;
    }
    if (opts) c->opts = *opts;
    c->loop = loop;
    c->http = http;
    c->creds = creds;
    if (tycho_aws_profile_load(c->opts.profile, &c->profile) != 0) {
        snprintf(err, errlen, "aws client: out of memory");
        goto fail;
    }
    /* every setting checked here, so that a client that exists can only
     * fail a call for reasons of that call */
    if (tycho_aws_region_resolve(c->opts.region, &c->profile, c->region, sizeof c->region, err,
                                 errlen) != 0 ||
        tycho_aws_endpoints_check(&c->profile, err, errlen) != 0)
        goto fail;
    c->opts.region = c->opts.profile = NULL; /* not kept */
    long ma = c->opts.max_attempts;
    const char *src = "max_attempts option", *text = NULL;
    char ev[64];
    int set = ma > 0 ? 0 : tycho_config_env_trimmed("AWS_MAX_ATTEMPTS", ev, sizeof ev, err, errlen);
    if (set < 0) goto fail;
    if (set) {
        text = ev;
        src = "AWS_MAX_ATTEMPTS";
    } else if (ma <= 0 && tycho_aws_profile_get(&c->profile, "max_attempts")) {
        text = tycho_aws_profile_get(&c->profile, "max_attempts");
        src = "profile max_attempts";
    } else if (ma <= 0) {
        ma = 3;
    }
    /* decimal only: atoi read "5x" as 5 and "0x10" as 0 */
    if (text ? tycho_parse_count(text, 1, 50, &ma) != 0 : ma < 1 || ma > 50) {
        if (text)
            snprintf(err, errlen, "%s: must be between 1 and 50 (decimal digits): %.40s", src,
                     text);
        else
            snprintf(err, errlen, "%s: must be between 1 and 50", src);
        goto fail;
    }
    c->max_attempts = (int)ma;
    if (c->opts.backoff_base <= 0) c->opts.backoff_base = 1.0;
    if (c->opts.backoff_cap <= 0) c->opts.backoff_cap = 20.0;
    c->quota = c->quota_max = c->opts.retry_quota > 0 ? c->opts.retry_quota : 500;
    if (c->opts.connect_timeout_ms <= 0) c->opts.connect_timeout_ms = 5000;
    if (c->opts.timeout_ms <= 0) c->opts.timeout_ms = 30000;
    if (!c->opts.max_response_bytes) c->opts.max_response_bytes = AWS_MAX_RESPONSE_BYTES;
    return c;
fail:
    tycho_aws_profile_free(&c->profile);
    free(c);
    return NULL;
}

const char *tycho_aws_client_region(const tycho_aws_client_t *c)
{
    return c->region;
}

void tycho_aws_client_stats(const tycho_aws_client_t *c, tycho_aws_client_stats_t *out)
{
    *out = c->stats;
    out->quota_available = c->quota;
}

static const tycho_aws_endpoint_t *endpoint_for(tycho_aws_client_t *c, const char *service,
                                                char *err, size_t errlen)
{
    for (ep_cache_t *e = c->eps; e; e = e->next)
        if (strcmp(e->service, service) == 0) return &e->ep;
    ep_cache_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(e->service, sizeof e->service, "%s", service);
    if (tycho_aws_endpoint_resolve(service, c->region, NULL, &c->profile, &e->ep, err, errlen)) {
        free(e);
        return NULL;
    }
    e->next = c->eps;
    c->eps = e;
    return &e->ep;
}

static void maybe_free_client(tycho_aws_client_t *c)
{
    if (!c->closing || c->open_handles || c->calls) return;
    while (c->eps) {
        ep_cache_t *e = c->eps;
        c->eps = e->next;
        free(e);
    }
    tycho_aws_profile_free(&c->profile);
    free(c);
}

/* --- call lifecycle ------------------------------------------------------ */

static void on_call_closed(uv_handle_t *h)
{
    tycho_aws_call_t *call = h->data;
    tycho_aws_client_t *c = call->c;
    free(call->service);
    free(call->target);
    free(call->body);
    free(call->endpoint);
    free(call->content_type);
    for (size_t i = 0; i < call->nheaders; i++) {
        free((char *)call->headers[i].name);
        free((char *)call->headers[i].value);
    }
    free(call->headers);
    free(call);
    c->open_handles--;
    maybe_free_client(c);
}

static void call_release(tycho_aws_call_t *call)
{
    tycho_aws_client_t *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else if (c->calls == call)
        c->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    call->prev = call->next = NULL;
    if (call->req) tycho_http_cancel(call->req);
    call->req = NULL;
    if (call->wait) tycho_aws_creds_wait_cancel(call->wait);
    call->wait = NULL;
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, on_call_closed);
}

static double seconds_since(uint64_t ns)
{
    return (double)(uv_hrtime() - ns) / 1e9;
}

/* Delivers the result and releases the call. */
static void deliver(tycho_aws_call_t *call, tycho_aws_result_t *r)
{
    r->attempts = call->attempt;
    r->duration = seconds_since(call->start_ns);
    if (!r->body) r->body = "";
    if (!r->error_type) r->error_type = "";
    if (!r->message) r->message = "";
    if (!r->request_id) r->request_id = "";
    /* unlink first: the callback may close the client */
    tycho_aws_done_fn cb = call->cb;
    void *ud = call->ud;
    call_release(call);
    cb(r, ud);
}

static void on_fail_timer(uv_timer_t *t)
{
    tycho_aws_call_t *call = t->data;
    tycho_aws_result_t r = {0};
    r.error_type = call->fail_type;
    r.message = call->fail_msg;
    deliver(call, &r);
}

/* Fails from the loop, never inside tycho_aws_call. */
static void fail_soon(tycho_aws_call_t *call, const char *type, const char *msg)
{
    snprintf(call->fail_type, sizeof call->fail_type, "%s", type);
    snprintf(call->fail_msg, sizeof call->fail_msg, "%s", msg);
    uv_timer_start(&call->timer, on_fail_timer, 0, 0);
}

static void attempt_hook(tycho_aws_call_t *call, const char *outcome, long status, const char *type,
                         int will_retry, double backoff)
{
    tycho_aws_client_t *c = call->c;
    if (!c->opts.on_attempt) return;
    tycho_aws_attempt_t a = {call->service,
                             call->operation,
                             call->attempt,
                             outcome,
                             status,
                             type ? type : "",
                             seconds_since(call->attempt_ns),
                             will_retry,
                             backoff,
                             call->ud};
    c->opts.on_attempt(&a, c->opts.on_attempt_ud);
}

static void next_attempt(tycho_aws_call_t *call);

static void on_backoff(uv_timer_t *t)
{
    next_attempt(t->data);
}

/* The request id AWS answered with: the three spellings the services use
 * (OTel aws.request_id), NULL when none. */
static const char *response_request_id(const tycho_http_response_t *res)
{
    static const char *const names[] = {"x-amzn-RequestId", "x-amzn-Request-Id",
                                        "x-amz-request-id"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = tycho_http_response_header(res, names[i]);
        if (v) return v;
    }
    return NULL;
}

static void on_http(const tycho_http_response_t *res, void *ud);

static void send_attempt(tycho_aws_call_t *call, const tycho_aws_creds_t *cr)
{
    tycho_aws_client_t *c = call->c;
    const tycho_aws_endpoint_t *ep = call->ep;
    call->attempt++;
    call->attempt_ns = uv_hrtime();
    call->creds_generation = cr->generation;
    c->stats.attempts++;

    size_t nh = call->nheaders + 2;
    tycho_sigv4_header_t *sh = calloc(nh, sizeof *sh);
    tycho_http_header_t *hh = calloc(nh + 5, sizeof *hh);
    if (!sh || !hh) {
        free(sh);
        free(hh);
        fail_soon(call, "TransportError", "out of memory");
        return;
    }
    sh[0] = (tycho_sigv4_header_t){"Content-Type", call->content_type};
    sh[1] = (tycho_sigv4_header_t){"X-Amz-Target", call->target};
    for (size_t i = 0; i < call->nheaders; i++)
        sh[i + 2] = (tycho_sigv4_header_t){call->headers[i].name, call->headers[i].value};

    tycho_sigv4_request_t sr = {0};
    sr.method = "POST";
    sr.host = ep->host;
    sr.path = ep->path;
    sr.headers = sh;
    sr.nheaders = nh;
    sr.body = call->body;
    sr.body_len = call->body_len;
    sr.service = call->service;
    sr.region = c->region;
    sr.access_key_id = cr->access_key_id;
    sr.secret_access_key = cr->secret_access_key;
    sr.session_token = cr->session_token;
    sr.time = (int64_t)time(NULL);
    tycho_sigv4_output_t out;
    if (tycho_sigv4_sign(&sr, &c->keys, &out, NULL, NULL) != 0) {
        free(sh);
        free(hh);
        fail_soon(call, "CredentialsError", "cannot sign the request (incomplete credentials)");
        return;
    }
    size_t n = 0;
    hh[n++] = (tycho_http_header_t){"Host", ep->host};
    hh[n++] = (tycho_http_header_t){"Content-Type", call->content_type};
    hh[n++] = (tycho_http_header_t){"X-Amz-Target", call->target};
    hh[n++] = (tycho_http_header_t){"X-Amz-Date", out.amz_date};
    if (out.security_token)
        hh[n++] = (tycho_http_header_t){"X-Amz-Security-Token", out.security_token};
    hh[n++] = (tycho_http_header_t){"Authorization", out.authorization.data};
    for (size_t i = 0; i < call->nheaders; i++)
        hh[n++] = call->headers[i];

    tycho_http_request_t hr = {0};
    hr.method = "POST";
    hr.url = ep->url;
    hr.headers = hh;
    hr.nheaders = n;
    hr.body = call->body;
    hr.body_len = call->body_len;
    hr.connect_timeout_ms = c->opts.connect_timeout_ms;
    hr.timeout_ms = call->timeout_ms ? call->timeout_ms : c->opts.timeout_ms;
    hr.max_response_bytes = c->opts.max_response_bytes;
    int rc = tycho_http_request(c->http, &hr, on_http, call, &call->req);
    tycho_buf_free(&out.authorization);
    free(sh);
    free(hh);
    if (rc) fail_soon(call, "TransportError", "cannot start the HTTP request");
}

static void on_creds(const tycho_aws_creds_t *cr, const char *err, void *ud)
{
    tycho_aws_call_t *call = ud;
    call->wait = NULL;
    if (!cr) {
        tycho_aws_result_t r = {0};
        char msg[300];
        snprintf(msg, sizeof msg, "no AWS credentials: %s", err ? err : "unknown error");
        r.error_type = "CredentialsError";
        r.message = msg;
        deliver(call, &r);
        return;
    }
    send_attempt(call, cr);
}

static void next_attempt(tycho_aws_call_t *call)
{
    const tycho_aws_creds_t *cr = tycho_aws_creds_peek(call->c->creds);
    if (cr) {
        send_attempt(call, cr);
        return;
    }
    if (tycho_aws_creds_get(call->c->creds, on_creds, call, &call->wait) != 0)
        fail_soon(call, "CredentialsError", "credentials provider unavailable");
}

static int is_expired_code(const char *code)
{
    return strcmp(code, "ExpiredTokenException") == 0 || strcmp(code, "ExpiredToken") == 0;
}

static void on_http(const tycho_http_response_t *res, void *ud)
{
    tycho_aws_call_t *call = ud;
    tycho_aws_client_t *c = call->c;
    call->req = NULL;

    tycho_aws_result_t r = {0};
    char code[128] = "", msg[512] = "";
    const char *outcome;
    int retryable = 0, timeout = 0;
    r.status = res->status;
    r.body = res->body;
    r.body_len = res->body_len;
    r.transport_error = res->error;
    r.request_id = response_request_id(res);

    if (res->error) {
        outcome = "transport_error";
        snprintf(code, sizeof code, "TransportError");
        snprintf(msg, sizeof msg, "%s", res->error_message);
        timeout = res->error == TYCHO_HTTP_E_TIMEOUT || res->error == TYCHO_HTTP_E_CONNECT_TIMEOUT;
        retryable = res->error != TYCHO_HTTP_E_TLS && res->error != TYCHO_HTTP_E_INVALID &&
                    res->error != TYCHO_HTTP_E_TOO_LARGE && res->error != TYCHO_HTTP_E_CANCELLED;
    } else if (res->status >= 200 && res->status < 300) {
        const char *crc = tycho_http_response_header(res, "x-amz-crc32");
        if (crc && strtoul(crc, NULL, 10) != tycho_aws_crc32(res->body, res->body_len)) {
            outcome = "crc32_mismatch";
            snprintf(code, sizeof code, "CRC32Mismatch");
            snprintf(msg, sizeof msg, "response CRC32 does not match x-amz-crc32 %s", crc);
            retryable = 1;
        } else {
            /* success: refund the quota (quota.py release) */
            int refund = call->last_acquired ? call->last_acquired : NO_RETRY_INCREMENT;
            if (c->quota < c->quota_max)
                c->quota = c->quota + refund > c->quota_max ? c->quota_max : c->quota + refund;
            attempt_hook(call, "success", res->status, "", 0, 0);
            r.ok = 1;
            deliver(call, &r);
            return;
        }
    } else {
        tycho_aws_error_parse(res->body, res->body_len,
                              tycho_http_response_header(res, "x-amzn-ErrorType"), res->status,
                              code, sizeof code, msg, sizeof msg);
        int throttle = tycho_aws_is_throttling_code(code) || res->status == 429;
        int transient = res->status == 500 || res->status == 502 || res->status == 503 ||
                        res->status == 504 || tycho_aws_is_transient_code(code);
        retryable = throttle || transient;
        outcome = throttle ? "throttled" : res->status >= 500 ? "server_error" : "client_error";
        if (throttle) c->stats.throttles++;

        /* expired credentials: refresh them and retry once, outside the quota */
        if (is_expired_code(code) && !call->expired_retry_done) {
            call->expired_retry_done = 1;
            call->free_attempts++;
            c->stats.credential_refreshes++;
            attempt_hook(call, outcome, res->status, code, 1, 0);
            tycho_aws_creds_invalidate(c->creds, call->creds_generation);
            next_attempt(call);
            return;
        }
    }

    r.error_type = code;
    r.message = msg;
    r.retryable = retryable;
    if (retryable && call->attempt - call->free_attempts < call->max_attempts) {
        int cost = timeout ? TIMEOUT_RETRY_COST : RETRY_COST;
        if (c->quota < cost) {
            c->stats.quota_exhausted++;
            r.quota_exhausted = 1;
            attempt_hook(call, outcome, res->status, code, 0, 0);
            char m2[600];
            snprintf(m2, sizeof m2, "%s; not retried: retry quota exhausted", msg);
            r.message = m2;
            deliver(call, &r);
            return;
        }
        c->quota -= cost;
        call->last_acquired = cost;
        c->stats.retries++;
        int n = call->attempt - call->free_attempts; /* failed attempts so far */
        double ceiling = c->opts.backoff_base;
        for (int i = 1; i < n && ceiling < c->opts.backoff_cap; i++)
            ceiling *= 2;
        if (ceiling > c->opts.backoff_cap) ceiling = c->opts.backoff_cap;
        double rnd = c->opts.random ? c->opts.random(c->opts.random_ud) : tycho_prng_unit();
        double delay = rnd * ceiling;
        attempt_hook(call, outcome, res->status, code, 1, delay);
        uv_timer_start(&call->timer, on_backoff, (uint64_t)(delay * 1000.0), 0);
        return;
    }
    attempt_hook(call, outcome, res->status, code, 0, 0);
    deliver(call, &r);
}

static char *dup_or_null(const char *s, int *bad)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *bad = 1;
    return d;
}

int tycho_aws_call(tycho_aws_client_t *c, const tycho_aws_request_t *req, tycho_aws_done_fn cb,
                   void *ud, tycho_aws_call_t **out)
{
    if (out) *out = NULL;
    if (!c || !req || !req->service || !req->target || !cb || req->max_attempts < 0 ||
        req->max_attempts > 50)
        return -EINVAL;
    if (c->closing) return -ESHUTDOWN;
    tycho_aws_call_t *call = calloc(1, sizeof *call);
    if (!call) return -ENOMEM;
    int bad = 0;
    call->c = c;
    call->cb = cb;
    call->ud = ud;
    call->start_ns = uv_hrtime();
    call->timeout_ms = req->timeout_ms;
    call->max_attempts = req->max_attempts > 0 ? req->max_attempts : c->max_attempts;
    call->service = dup_or_null(req->service, &bad);
    call->target = dup_or_null(req->target, &bad);
    call->endpoint = dup_or_null(req->endpoint, &bad);
    call->content_type =
        dup_or_null(req->content_type ? req->content_type : "application/x-amz-json-1.0", &bad);
    if (req->body_len) {
        call->body = malloc(req->body_len);
        if (call->body)
            memcpy(call->body, req->body, req->body_len);
        else
            bad = 1;
        call->body_len = req->body_len;
    }
    if (req->nheaders) {
        call->headers = calloc(req->nheaders, sizeof *call->headers);
        if (!call->headers) bad = 1;
        for (size_t i = 0; call->headers && i < req->nheaders; i++) {
            call->headers[i].name =
                dup_or_null(req->headers[i].name ? req->headers[i].name : "", &bad);
            call->headers[i].value =
                dup_or_null(req->headers[i].value ? req->headers[i].value : "", &bad);
            call->nheaders++;
        }
    }
    uv_timer_init(c->loop, &call->timer);
    call->timer.data = call;
    c->open_handles++;
    call->next = c->calls;
    if (c->calls) c->calls->prev = call;
    c->calls = call;
    if (bad) {
        call->cb = NULL;
        call_release(call);
        return -ENOMEM;
    }
    const char *dot = strrchr(call->target, '.');
    call->operation = dot ? dot + 1 : call->target;
    c->stats.calls++;
    if (out) *out = call;

    char err[300];
    if (call->endpoint) {
        if (tycho_aws_endpoint_resolve(call->service, c->region, call->endpoint, &c->profile,
                                       &call->own_ep, err, sizeof err) != 0) {
            fail_soon(call, "ConfigurationError", err);
            return 0;
        }
        call->ep = &call->own_ep;
    } else if (!(call->ep = endpoint_for(c, call->service, err, sizeof err))) {
        fail_soon(call, "ConfigurationError", err);
        return 0;
    }
    next_attempt(call);
    return 0;
}

void tycho_aws_call_cancel(tycho_aws_call_t *call)
{
    if (call) call_release(call);
}

void tycho_aws_client_close(tycho_aws_client_t *c)
{
    if (!c || c->closing) return;
    c->closing = 1;
    while (c->calls) {
        tycho_aws_result_t r = {0};
        r.error_type = "Cancelled";
        r.message = "aws client closed";
        deliver(c->calls, &r);
    }
    maybe_free_client(c);
}
