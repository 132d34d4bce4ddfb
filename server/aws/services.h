/* services — a worker's outbound context: its HTTP client (tycho.http), its
 * AWS client and credential provider (created on the first AWS call; `tycho
 * serve` checks their settings at start, tycho_aws_check_settings), or, with
 * TYCHO_AWS_BACKEND=local, its client of the embedded local backend
 * (local_backend.h) that executes the same JSON requests in-process.
 *
 * tycho_aws_services_call is the one AWS call every binding uses (tycho.aws,
 * tycho.sqs, tycho.dynamodb, SQS consumers). Around the call it:
 *   - opens a CLIENT (or PRODUCER) span in the caller's trace, named
 *     "<Service>.<Operation>" with rpc.system=aws-api, rpc.service,
 *     rpc.method, aws.request_id, cloud.region, and one "retry" event per
 *     attempt that is retried;
 *   - sends X-Amzn-Trace-Id (Root, Parent = that span, Sampled) to AWS;
 *   - counts every attempt in aws_requests_total{service,operation,outcome}
 *     and aws_request_duration_seconds{service,operation} (the client's
 *     attempt hook; one attempt per local call);
 *   - hands back the same tycho_aws_result_t from both backends.
 * Metrics and spans go to the worker's telemetry (tycho_obs_current()); with
 * none (tycho spec), nothing is recorded.
 *
 * Threading: one services per loop, created, used and closed on the loop's
 * thread; tycho_aws_services_current() is that thread's. */
#ifndef TYCHO_AWS_SERVICES_H
#define TYCHO_AWS_SERVICES_H

#include "aws/client.h"
#include "core/request_obs.h"
#include "net/http_client.h"
#include "telemetry/span.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tycho_local_backend;
typedef struct tycho_aws_services tycho_aws_services_t;
typedef struct tycho_aws_svc_call tycho_aws_svc_call_t;

typedef struct tycho_aws_services_options {
    /* non-NULL: every AWS call goes to this embedded backend (TYCHO_AWS_BACKEND=local) */
    struct tycho_local_backend *local;
} tycho_aws_services_options_t;

/* Main thread, at start: with cfg->aws_backend "local", creates
 * cfg->data_dir if missing and starts the embedded backend there (settings
 * from TYCHO_LOCAL_*); *out stays NULL for "aws". 0, or -1 with one line in
 * err. Stop it with tycho_local_backend_stop after every services closed. */
struct tycho_config;
int tycho_aws_local_start(const struct tycho_config *cfg, struct tycho_local_backend **out,
                          char *err, size_t errlen);

/* Main thread, at start, before the workers: with cfg->aws_backend "aws",
 * checks every AWS setting a worker's first call would meet — the region,
 * every configured endpoint URL, max attempts, the credential source and its
 * settings (URLs, token) — by creating and closing that client on a scratch
 * loop; nothing is fetched. 0 (also for "local"), or -1 with one line in err
 * that names the setting and shows no secret. */
int tycho_aws_check_settings(const struct tycho_config *cfg, char *err, size_t errlen);

/* NULL + err on failure (out of memory, curl init). Makes it this thread's
 * current services. */
tycho_aws_services_t *tycho_aws_services_new(uv_loop_t *loop, const tycho_aws_services_options_t *o,
                                             char *err, size_t errlen);
/* Cancels pending calls (their callbacks do not run), closes the clients;
 * memory goes once their handles have closed (run the loop). */
void tycho_aws_services_close(tycho_aws_services_t *s);

tycho_aws_services_t *tycho_aws_services_current(void);
void tycho_aws_services_set_current(tycho_aws_services_t *s);

uv_loop_t *tycho_aws_services_loop(const tycho_aws_services_t *s);
tycho_http_client_t *tycho_aws_services_http(tycho_aws_services_t *s);
int tycho_aws_services_is_local(const tycho_aws_services_t *s);
const char *tycho_aws_services_backend(const tycho_aws_services_t *s); /* "local" | "aws" */

/* Where a call's span goes: the trace and the span to parent it on. A NULL
 * trace (or an unsampled one) records no span; headers still carry the
 * context when a trace is given. */
typedef struct tycho_aws_trace_parent {
    const tycho_req_trace_t *trace;
    uint8_t parent_span_id[8];
} tycho_aws_trace_parent_t;

typedef struct tycho_aws_svc_request {
    const char *service; /* signing name: "sqs", "dynamodb" */
    const char *target;  /* "AmazonSQS.SendMessage" */
    const char *body;
    size_t body_len;
    const char *endpoint; /* NULL: resolved per service (ignored by the local backend) */
    long timeout_ms;      /* per attempt; 0 = the client's (30 s) */
    int max_attempts;     /* 1..50 (1: no retry); 0 = the client's (3) */
    const tycho_aws_trace_parent_t *parent; /* may be NULL */
    tycho_span_kind_t kind;                 /* 0 = CLIENT; PRODUCER for sends */
    const uint8_t *span_id; /* the span's id, chosen by the caller (it went into the body) */
    /* extra span attributes (NULL = none): aws.dynamodb.table_names, messaging.* */
    const char *table_name;
    const char *queue_url;
} tycho_aws_svc_request_t;

/* Starts a call; cb runs later on the loop exactly once unless cancelled.
 * 0, or -ENOMEM / -ESHUTDOWN (then cb never runs). Configuration and
 * credential errors come back through cb (ConfigurationError,
 * CredentialsError), never as a return value. */
int tycho_aws_services_call(tycho_aws_services_t *s, const tycho_aws_svc_request_t *req,
                            tycho_aws_done_fn cb, void *ud, tycho_aws_svc_call_t **out);
void tycho_aws_services_cancel(tycho_aws_svc_call_t *c);

/* The trace headers of an outgoing call whose parent span is span_id:
 * traceparent, tracestate ("" = none) and X-Amzn-Trace-Id. */
void tycho_aws_trace_headers(const tycho_req_trace_t *t, const uint8_t span_id[8],
                             tycho_trace_headers_t *out);

/* Registers aws_requests_total, aws_request_duration_seconds and
 * tycho_http_client_request_duration_seconds in r, into out[0..2] (NULL
 * where one failed). 0 or the first error. Also what tells a scratch
 * registry (tycho check, the reload pre-check) these names are tycho's. */
int tycho_aws_metric_families(tycho_metrics_t *r, tycho_metric_t *out[3], char *err, size_t errlen);

/* Registers aws_requests_total, aws_request_duration_seconds,
 * tycho_http_client_request_duration_seconds and
 * tycho_sqs_md5_mismatch_total in the thread's telemetry
 * (tycho_obs_current()) now rather than at the first call, so /metrics lists
 * them from the start. No-op without telemetry. The worker's thread. */
void tycho_aws_services_register_metrics(tycho_aws_services_t *s);

/* Adds n to tycho_sqs_md5_mismatch_total{queue} (n = 0: the series exists at
 * 0). No-op without telemetry. The worker's thread. */
void tycho_aws_services_count_md5_mismatch(tycho_aws_services_t *s, const char *queue, double n);

/* tycho_http_client_request_duration_seconds{host,status_class}; status 0 =
 * a transport error ("error"). host past the worker's first
 * TYCHO_HTTP_CLIENT_MAX_HOSTS distinct ones is "other" (aws/host_label.h).
 * No-op without telemetry. */
void tycho_aws_services_observe_http(tycho_aws_services_t *s, const char *host, long status,
                                     double seconds);

/* "SQS", "DynamoDB", else the signing name: rpc.service and span names. */
const char *tycho_aws_service_display(const char *service);

#endif
