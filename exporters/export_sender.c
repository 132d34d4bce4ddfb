#define _GNU_SOURCE /* strcasestr */
#include "exporters/export_sender.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "aws/error_text.h"
#include "aws/sigv4.h"
#include "core/log.h"
#include "core/percent.h"
#include "core/ratelog.h"
#include "exporters/otlp_encode.h"
#include "exporters/remote_write.h"
#include "http/url_redact.h"

#define MAX_HEADERS 40
/* Of a response body only its start is kept (the request stops there):
 * success is the status (PROTOCOLS.md sections 1-3: remote write and Loki
 * senders ignore the body), and the start is enough for an error message
 * (cut to 200 bytes), an expired-token check, and OTLP's partial_success
 * (its count and the start of its message). */
#define RESPONSE_KEEP_BYTES 4096

struct tycho_export_sender {
    tycho_export_sender_opts_t o;
    uv_timer_t timer;
    int busy;
    tycho_buf_t body;
    uint64_t give_up_at, deadline;
    unsigned attempts;
    unsigned backoff_from; /* attempts when the shutdown began: its retries back off afresh */
    tycho_http_req_t *req;
    tycho_aws_creds_wait_t *wait;
    uint64_t creds_generation;
    tycho_sigv4_key_cache_t keys;
    uint64_t rng;

    /* health */
    uint64_t requests, retries;
    int64_t last_success_ns, last_error_ns;
    char last_error[300];
    int failing;
    tycho_ratelog_t drop_log, warn_log;

    void (*closed)(void *ud);
    void *closed_ud;
    int is_closed;
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_rand(tycho_export_sender_t *s)
{
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

tycho_export_sender_t *tycho_export_sender_new(const tycho_export_sender_opts_t *o)
{
    tycho_export_sender_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->o = *o;
    s->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)s ^ 0x9E3779B97F4A7C15ULL;
    if (!s->rng) s->rng = 1;
    uv_timer_init(o->loop, &s->timer);
    s->timer.data = s;
    return s;
}

int tycho_export_sender_busy(const tycho_export_sender_t *s)
{
    return s->busy;
}

static void on_timer(uv_timer_t *t);

void tycho_export_sender_set_deadline(tycho_export_sender_t *s, uint64_t deadline)
{
    s->deadline = deadline;
    s->backoff_from = s->attempts;
    /* a batch waiting out its retry delay (up to backoff_max, or a
     * Retry-After) is tried again now, from the loop */
    if (s->busy && !s->req && !s->wait && uv_is_active((uv_handle_t *)&s->timer))
        uv_timer_start(&s->timer, on_timer, 0, 0);
}

/* The earliest of the batch's give-up time and the shutdown deadline. */
static uint64_t limit_of(const tycho_export_sender_t *s)
{
    uint64_t l = s->give_up_at;
    if (s->deadline && (!l || s->deadline < l)) l = s->deadline;
    return l;
}

static void finish(tycho_export_sender_t *s, tycho_export_outcome_t outcome, int64_t rejected)
{
    tycho_export_result_t r = {outcome, rejected, s->attempts};
    s->busy = 0;
    s->req = NULL;
    s->wait = NULL;
    uv_timer_stop(&s->timer);
    tycho_export_buf_recycle(&s->body); /* handed back by the next send */
    s->o.done(s, &r, s->o.ud);
}

/* A line about a dropped batch: at most one a minute, with how many were
 * suppressed since. */
static void log_drop(tycho_export_sender_t *s, const char *what)
{
    uint64_t n;
    if (!tycho_ratelog_due(&s->drop_log, uv_now(s->o.loop), TYCHO_LOG_EVERY_MS, 1, &n)) return;
    tycho_log_warn(what, LF_STR("exporter", s->o.name), LF_STR("endpoint", s->o.target->display),
                   LF_STR("error", s->last_error), LF_INT("attempts", s->attempts),
                   LF_INT("suppressed", n - 1));
}

/* A receiver's warning about a batch it accepted whole (OTLP partial
 * success rejecting nothing): not an error, logged as drops are. */
static void log_receiver_warning(tycho_export_sender_t *s, const char *warning)
{
    uint64_t n;
    if (!tycho_ratelog_due(&s->warn_log, uv_now(s->o.loop), TYCHO_LOG_EVERY_MS, 1, &n)) return;
    tycho_log_warn("exporter: receiver warning", LF_STR("exporter", s->o.name),
                   LF_STR("endpoint", s->o.target->display), LF_STR("warning", warning),
                   LF_INT("suppressed", n - 1));
}

static void set_error(tycho_export_sender_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(tycho_export_sender_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_error, sizeof s->last_error, fmt, ap);
    va_end(ap);
    s->last_error_ns = wall_ns();
}

static void attempt(tycho_export_sender_t *s);

static void on_timer(uv_timer_t *t)
{
    attempt(t->data);
}

/* A transient failure: another attempt after a delay, unless a bound is hit. */
static void retry_later(tycho_export_sender_t *s, const char *retry_after)
{
    if (!s->failing) {
        s->failing = 1;
        tycho_log_warn("exporter failing, retrying", LF_STR("exporter", s->o.name),
                       LF_STR("endpoint", s->o.target->display), LF_STR("error", s->last_error));
    }
    if (s->attempts > s->o.retry->max_retries) {
        log_drop(s, "exporter dropped a batch: retries exhausted");
        finish(s, TYCHO_EXPORT_FAILED, 0);
        return;
    }
    uint64_t delay;
    if (retry_after &&
        tycho_export_parse_retry_after(retry_after, (int64_t)time(NULL), &delay) == 0) {
        if (delay > s->o.retry->retry_after_max_ms) delay = s->o.retry->retry_after_max_ms;
    } else {
        delay = tycho_export_backoff_ms(s->o.retry, s->attempts - s->backoff_from, next_rand(s));
    }
    uint64_t now = uv_now(s->o.loop), limit = limit_of(s);
    if (limit && now + delay >= limit) {
        log_drop(s, "exporter dropped a batch: no time left to retry");
        finish(s, TYCHO_EXPORT_FAILED, 0);
        return;
    }
    s->retries++;
    uv_timer_start(&s->timer, on_timer, delay, 0);
}

/* The longest userinfo, and query parameter value, masked percent-decoded
 * too (a longer one is masked as written). */
#define USERINFO_MAX 512

/* A secret shorter than this is not masked in a receiver's answer: it
 * would mask ordinary words, and it is longer than its mask, "***", so
 * masking works in place. */
#define SECRET_MIN 4

/* Every occurrence of the n bytes at secret in text[0..*len) as "***". */
static void mask(char *text, size_t *len, const char *secret, size_t n)
{
    if (n < SECRET_MIN) return;
    char *p = text;
    while ((p = memmem(p, (size_t)(text + *len - p), secret, n))) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, (size_t)(text + *len - (p + n)));
        *len -= n - 3;
        p += 3;
    }
}

/* s[0..n), a URL's part, masked in text as written and percent-decoded
 * (a receiver may echo either). */
static void mask_url_part(char *text, size_t *len, const char *s, size_t n)
{
    char decoded[USERINFO_MAX];
    mask(text, len, s, n);
    if (n <= sizeof decoded)
        mask(text, len, decoded, (size_t)tycho_percent_decode(s, n, decoded, 0));
}

/* The URL's password and the Basic credentials curl sends of its userinfo
 * (percent-decoded: "user:pass" in base64), masked in text. */
static void mask_userinfo(const char *url, char *text, size_t *len)
{
    size_t ul;
    const char *p = tycho_url_userinfo(url, &ul);
    if (!p) return;
    const char *colon = memchr(p, ':', ul);
    if (colon) mask_url_part(text, len, colon + 1, (size_t)(p + ul - colon - 1));
    char user_pass[USERINFO_MAX];
    unsigned char basic[4 * ((USERINFO_MAX + 2) / 3) + 1];
    if (ul > sizeof user_pass) return;
    ssize_t upl = tycho_percent_decode(p, ul, user_pass, 0);
    int bl = EVP_EncodeBlock(basic, (const unsigned char *)user_pass, (int)upl);
    mask(text, len, (const char *)basic, (size_t)bl);
}

/* text[0..*len), a receiver's answer, with every secret of the target it
 * may echo back as "***": the URL's password, the Basic credentials made of
 * it, each query parameter's value and each configured header's value
 * (OTEL_EXPORTER_OTLP_HEADERS' Authorization...). */
static void mask_target_secrets(const tycho_export_target_t *t, char *text, size_t *len)
{
    mask_userinfo(t->url, text, len);
    for (size_t i = 0; i < t->headers.n; i++)
        mask(text, len, t->headers.items[i].value, strlen(t->headers.items[i].value));
    for (const char *q = t->query; q && *q;) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        const char *v = eq ? eq + 1 : q;
        mask_url_part(text, len, v, (size_t)(q + n - v));
        q += n + (q[n] == '&');
    }
}

static void on_response(const tycho_http_response_t *res, void *ud)
{
    tycho_export_sender_t *s = ud;
    s->req = NULL;
    s->requests++;
    if (res->error == TYCHO_HTTP_E_CANCELLED) {
        set_error(s, "cancelled");
        finish(s, TYCHO_EXPORT_ABORTED, 0);
        return;
    }
    tycho_export_verdict_t v = tycho_export_classify(s->o.proto, res->error != 0, res->status);
    if (v == TYCHO_EXPORT_DONE) {
        int64_t rejected = 0;
        if (s->o.proto == TYCHO_EXPORT_PROTO_OTLP) {
            char msg[200];
            if (tycho_otlp_parse_response(res->body, res->body_len, &rejected, msg, sizeof msg) !=
                0) {
                rejected = 0; /* not a response: a success all the same */
                msg[0] = 0;
            }
            if (rejected > 0) {
                set_error(s, "partial success: %lld rejected: %s", (long long)rejected, msg);
                log_drop(s, "exporter: receiver accepted part of a batch");
            } else if (msg[0]) {
                log_receiver_warning(s, msg);
            }
        }
        s->last_success_ns = wall_ns();
        if (s->failing) {
            s->failing = 0;
            tycho_log_info("exporter recovered", LF_STR("exporter", s->o.name),
                           LF_STR("endpoint", s->o.target->display));
        }
        finish(s, TYCHO_EXPORT_SENT, rejected > 0 ? rejected : 0);
        return;
    }
    if (res->error) {
        set_error(s, "%s",
                  res->error_message && *res->error_message ? res->error_message
                                                            : tycho_http_strerror(res->error));
    } else {
        /* the body (cut), as remote write asks for 4xx; a receiver may
         * echo the credentials it was sent (an AWS one, AMP, X-Ray or
         * CloudWatch Logs, the session token) */
        char text[RESPONSE_KEEP_BYTES], body[201];
        size_t tl = res->body_len < sizeof text ? res->body_len : sizeof text;
        if (tl) memcpy(text, res->body, tl);
        mask_target_secrets(s->o.target, text, &tl);
        size_t k = tycho_aws_scrub(text, tl, body, sizeof body);
        set_error(s, "HTTP %ld%s%s", res->status, k ? ": " : "", body);
    }
    if (v == TYCHO_EXPORT_REJECT) {
        if (s->o.creds && res->status == 403 && res->body && strcasestr(res->body, "expired"))
            tycho_aws_creds_invalidate(s->o.creds, s->creds_generation);
        log_drop(s, "exporter dropped a batch the receiver rejected");
        finish(s, TYCHO_EXPORT_REJECTED, 0);
        return;
    }
    retry_later(s, res->error ? NULL : tycho_http_response_header(res, "retry-after"));
}

static void request(tycho_export_sender_t *s, const tycho_aws_creds_t *creds)
{
    const tycho_export_target_t *t = s->o.target;
    tycho_http_header_t h[MAX_HEADERS];
    size_t n = 0;
    h[n++] = (tycho_http_header_t){"Content-Type", s->o.content_type};
    if (s->o.content_encoding)
        h[n++] = (tycho_http_header_t){"Content-Encoding", s->o.content_encoding};
    if (s->o.proto == TYCHO_EXPORT_PROTO_PRW)
        h[n++] = (tycho_http_header_t){"X-Prometheus-Remote-Write-Version", TYCHO_RW_VERSION};
    for (size_t i = 0; i < t->headers.n && n < MAX_HEADERS - 5; i++)
        h[n++] = (tycho_http_header_t){t->headers.items[i].key, t->headers.items[i].value};

    tycho_sigv4_output_t sig;
    memset(&sig, 0, sizeof sig);
    int signed_ = 0;
    if (creds) {
        tycho_sigv4_header_t sh[MAX_HEADERS];
        for (size_t i = 0; i < n; i++)
            sh[i] = (tycho_sigv4_header_t){h[i].name, h[i].value};
        tycho_sigv4_request_t rq = {
            .method = "POST",
            .host = t->host,
            .path = t->path,
            .query = t->query,
            .headers = sh,
            .nheaders = n,
            .body = s->body.data,
            .body_len = s->body.len,
            .service = t->sigv4_service,
            .region = t->sigv4_region,
            .access_key_id = creds->access_key_id,
            .secret_access_key = creds->secret_access_key,
            .session_token = creds->session_token,
            .time = (int64_t)time(NULL),
        };
        if (tycho_sigv4_sign(&rq, &s->keys, &sig, NULL, NULL) != 0) {
            s->attempts++;
            set_error(s, "SigV4 signing failed");
            retry_later(s, NULL);
            return;
        }
        s->creds_generation = creds->generation;
        signed_ = 1;
        /* Host as signed (curl would send the same, but say it once). */
        h[n++] = (tycho_http_header_t){"Host", t->host};
        h[n++] = (tycho_http_header_t){"X-Amz-Date", sig.amz_date};
        if (sig.security_token)
            h[n++] = (tycho_http_header_t){"X-Amz-Security-Token", sig.security_token};
        h[n++] = (tycho_http_header_t){"Authorization", sig.authorization.data};
    }

    long timeout = t->timeout_ms;
    uint64_t now = uv_now(s->o.loop), limit = limit_of(s);
    if (limit) {
        if (now >= limit) {
            if (signed_) tycho_buf_free(&sig.authorization);
            set_error(s, "no time left for another attempt");
            log_drop(s, "exporter dropped a batch: no time left to retry");
            finish(s, TYCHO_EXPORT_FAILED, 0);
            return;
        }
        if ((uint64_t)timeout > limit - now) timeout = (long)(limit - now);
    }
    tycho_http_request_t rq = {
        .method = "POST",
        .url = t->url,
        .headers = h,
        .nheaders = n,
        .body = s->body.data,
        .body_len = s->body.len,
        .body_kept = 1, /* s->body stays until finish, after the request */
        .connect_timeout_ms = timeout < 5000 ? timeout : 5000,
        .timeout_ms = timeout,
        .max_response_bytes = RESPONSE_KEEP_BYTES,
        .truncate_response = 1,
    };
    s->attempts++;
    int rc = tycho_http_request(s->o.http, &rq, on_response, s, &s->req);
    if (signed_) tycho_buf_free(&sig.authorization);
    if (rc != 0) {
        s->req = NULL;
        set_error(s, "cannot start the request (%s)", strerror(-rc));
        if (rc == -ESHUTDOWN) {
            finish(s, TYCHO_EXPORT_ABORTED, 0);
            return;
        }
        retry_later(s, NULL);
    }
}

static void on_creds(const tycho_aws_creds_t *creds, const char *error, void *ud)
{
    tycho_export_sender_t *s = ud;
    s->wait = NULL;
    if (!creds) {
        s->attempts++;
        set_error(s, "credentials: %s", error ? error : "unavailable");
        retry_later(s, NULL);
        return;
    }
    request(s, creds);
}

static void attempt(tycho_export_sender_t *s)
{
    if (!s->o.target->sigv4_service[0]) {
        request(s, NULL);
        return;
    }
    if (!s->o.creds) {
        s->attempts++;
        set_error(s, "credentials: no provider");
        retry_later(s, NULL);
        return;
    }
    const tycho_aws_creds_t *c = tycho_aws_creds_peek(s->o.creds);
    if (c) {
        request(s, c);
        return;
    }
    int rc = tycho_aws_creds_get(s->o.creds, on_creds, s, &s->wait);
    if (rc != 0) {
        s->wait = NULL;
        s->attempts++;
        set_error(s, "credentials: %s", strerror(-rc));
        if (rc == -ESHUTDOWN) {
            finish(s, TYCHO_EXPORT_ABORTED, 0);
            return;
        }
        retry_later(s, NULL);
    }
}

void tycho_export_buf_recycle(tycho_buf_t *b)
{
    if (b->cap > TYCHO_EXPORT_BUF_KEEP)
        tycho_buf_free(b);
    else
        tycho_buf_reset(b);
}

int tycho_export_sender_send(tycho_export_sender_t *s, tycho_buf_t *body, uint64_t give_up_at)
{
    if (s->busy) return -EBUSY;
    s->busy = 1;
    tycho_buf_t spent = s->body; /* empty since finish */
    s->body = *body;
    *body = spent;
    s->give_up_at = give_up_at;
    s->attempts = 0;
    s->backoff_from = 0;
    attempt(s);
    return 0;
}

void tycho_export_sender_abort(tycho_export_sender_t *s)
{
    if (!s->busy) return;
    if (s->req) tycho_http_cancel(s->req);
    if (s->wait) tycho_aws_creds_wait_cancel(s->wait);
    s->req = NULL;
    s->wait = NULL;
    set_error(s, "abandoned at shutdown");
    finish(s, TYCHO_EXPORT_ABORTED, 0);
}

static void append_time(tycho_buf_t *out, const char *key, int64_t ns)
{
    tycho_buf_printf(out, ",\"%s\":", key);
    if (!ns) {
        tycho_buf_puts(out, "null");
        return;
    }
    char t[31];
    tycho_log_format_time(t, ns);
    tycho_buf_printf(out, "\"%s\"", t);
}

void tycho_export_sender_status_json(const tycho_export_sender_t *s, tycho_buf_t *out)
{
    tycho_buf_printf(out, "\"requests\":%llu,\"retries\":%llu,\"failing\":%s",
                     (unsigned long long)s->requests, (unsigned long long)s->retries,
                     s->failing ? "true" : "false");
    append_time(out, "last_success", s->last_success_ns);
    tycho_buf_puts(out, ",\"last_error\":");
    if (s->last_error_ns)
        tycho_buf_append_json_string(out, s->last_error, strlen(s->last_error));
    else
        tycho_buf_puts(out, "null");
    append_time(out, "last_error_time", s->last_error_ns);
}

static void on_closed(uv_handle_t *h)
{
    tycho_export_sender_t *s = h->data;
    s->is_closed = 1;
    if (s->closed) s->closed(s->closed_ud);
}

void tycho_export_sender_free(tycho_export_sender_t *s)
{
    if (!s) return;
    tycho_buf_free(&s->body);
    free(s);
}

void tycho_export_sender_close(tycho_export_sender_t *s, void (*closed)(void *ud), void *ud)
{
    tycho_export_sender_abort(s);
    s->closed = closed;
    s->closed_ud = ud;
    uv_close((uv_handle_t *)&s->timer, on_closed);
}
