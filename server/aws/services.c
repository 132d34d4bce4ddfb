#include "aws/services.h"

#include "aws/endpoint.h"
#include "aws/error_text.h"
#include "aws/host_label.h"
#include "aws/local_backend.h"
#include "core/config.h"
#include "core/durable_dir.h"
#include "core/own_metrics.h"
#include "core/telemetry_hub.h"
#include "http/url_redact.h"
#include "telemetry/trace_context.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct host_cache {
    char service[32];
    char host[300];
} host_cache_t;

/* The families of aws_metric_defs, in order; the first three are what
 * tycho_aws_metric_families registers. */
enum { M_REQUESTS, M_DURATION, M_HTTP, M_MD5, M_COUNT };

struct tycho_aws_services {
    uv_loop_t *loop;
    tycho_http_client_t *http;
    tycho_aws_creds_provider_t *creds;
    tycho_aws_client_t *aws;
    tycho_local_client_t *local;
    tycho_aws_svc_call_t *calls;
    char region[64];
    host_cache_t hosts[8];
    int nhosts;
    tycho_metric_t *fams[M_COUNT];
    tycho_own_metrics_t metrics;      /* fams, in the worker's registry */
    tycho_host_labels_t *host_labels; /* the `host` of M_HTTP, bounded */
};

struct tycho_aws_svc_call {
    tycho_aws_services_t *s;
    tycho_aws_svc_call_t *prev, *next;
    tycho_aws_done_fn cb;
    void *ud;
    tycho_aws_call_t *aws_call;
    tycho_local_call_t *local_call;
    uv_timer_t *defer;
    tycho_span_t *span;
    char service[32];
    char operation[64];
    uint64_t start_ns;
    char fail_type[32];
    char fail_msg[300];
};

static _Thread_local tycho_aws_services_t *t_current;

tycho_aws_services_t *tycho_aws_services_current(void)
{
    return t_current;
}
void tycho_aws_services_set_current(tycho_aws_services_t *s)
{
    t_current = s;
}
uv_loop_t *tycho_aws_services_loop(const tycho_aws_services_t *s)
{
    return s->loop;
}
tycho_http_client_t *tycho_aws_services_http(tycho_aws_services_t *s)
{
    return s->http;
}
int tycho_aws_services_is_local(const tycho_aws_services_t *s)
{
    return s->local != NULL;
}
const char *tycho_aws_services_backend(const tycho_aws_services_t *s)
{
    return s->local ? "local" : "aws";
}

const char *tycho_aws_service_display(const char *service)
{
    if (!service) return "";
    if (strcmp(service, "sqs") == 0) return "SQS";
    if (strcmp(service, "dynamodb") == 0) return "DynamoDB";
    if (strcmp(service, "sts") == 0) return "STS";
    if (strcmp(service, "logs") == 0) return "CloudWatchLogs";
    return service;
}

/* --- metrics ------------------------------------------------------------------ */

static const char *const req_labels[] = {"service", "operation", "outcome"};
static const char *const dur_labels[] = {"service", "operation"};
static const char *const http_labels[] = {"host", "status_class"};
static const char *const queue_label[] = {"queue"};
static const tycho_metric_opts_t aws_metric_defs[M_COUNT] = {
    [M_REQUESTS] = {.name = "aws_requests_total",
                    .help = "AWS API call attempts by outcome (success, throttled, client_error, "
                            "server_error, transport_error, crc32_mismatch)",
                    .type = TYCHO_METRIC_COUNTER,
                    .label_names = req_labels,
                    .nlabels = 3},
    [M_DURATION] = {.name = "aws_request_duration_seconds",
                    .help = "AWS API call attempt duration",
                    .type = TYCHO_METRIC_HISTOGRAM,
                    .label_names = dur_labels,
                    .nlabels = 2},
    [M_HTTP] = {.name = "tycho_http_client_request_duration_seconds",
                .help = "Outbound HTTP request duration (tycho.http and AWS calls)",
                .type = TYCHO_METRIC_HISTOGRAM,
                .label_names = http_labels,
                .nlabels = 2},
    [M_MD5] = {.name = "tycho_sqs_md5_mismatch_total",
               .help = "SQS messages received whose MD5OfBody or MD5OfMessageAttributes did not "
                       "match (not handed out, left on the queue)",
               .type = TYCHO_METRIC_COUNTER,
               .label_names = queue_label,
               .nlabels = 1},
};

int tycho_aws_metric_families(tycho_metrics_t *r, tycho_metric_t *out[3], char *err, size_t errlen)
{
    int first = 0;
    for (int i = 0; i < 3; i++) {
        out[i] = NULL;
        int rc = tycho_metrics_register(r, &aws_metric_defs[i], &out[i], err, errlen);
        if (rc && !first) first = rc;
    }
    return first;
}

void tycho_aws_services_register_metrics(tycho_aws_services_t *s)
{
    unsigned shard;
    tycho_own_metrics_ready(&s->metrics, &shard);
}

void tycho_aws_services_count_md5_mismatch(tycho_aws_services_t *s, const char *queue, double n)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&s->metrics, &shard)) return;
    const char *v[] = {queue ? queue : ""};
    tycho_metric_inc(s->fams[M_MD5], shard, v, n);
}

void tycho_aws_services_observe_http(tycho_aws_services_t *s, const char *host, long status,
                                     double seconds)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&s->metrics, &shard)) return;
    char cls[8];
    if (status >= 100 && status <= 999)
        snprintf(cls, sizeof cls, "%ldxx", status / 100);
    else
        snprintf(cls, sizeof cls, "error");
    const char *v[] = {tycho_host_labels_get(s->host_labels, host ? host : ""), cls};
    tycho_metric_observe(s->fams[M_HTTP], shard, v, seconds);
}

/* The host an AWS service's calls go to, without its port: the HTTP client
 * histogram's `host`, as tycho.http labels its calls (an endpoint such as
 * AWS_ENDPOINT_URL_SQS=http://localhost:4566 is "localhost", one series with
 * tycho.http's calls to it). */
static const char *service_host(tycho_aws_services_t *s, const char *service)
{
    for (int i = 0; i < s->nhosts; i++)
        if (strcmp(s->hosts[i].service, service) == 0) return s->hosts[i].host;
    tycho_aws_endpoint_t ep;
    char err[200];
    const char *host = service;
    size_t len = strlen(service);
    if (tycho_aws_endpoint_resolve(service, s->region, NULL, NULL, &ep, err, sizeof err) == 0) {
        host = ep.host;
        size_t hl = tycho_url_host_len(host, strlen(host)); /* [::1]:4566 keeps [::1] */
        len = hl ? hl : strlen(host);
    }
    if (s->nhosts < (int)(sizeof s->hosts / sizeof s->hosts[0]) &&
        strlen(service) < sizeof s->hosts[0].service) {
        host_cache_t *h = &s->hosts[s->nhosts++];
        snprintf(h->service, sizeof h->service, "%s", service);
        snprintf(h->host, sizeof h->host, "%.*s", (int)len, host);
        return h->host;
    }
    return service;
}

static void record_attempt(tycho_aws_services_t *s, const char *service, const char *operation,
                           const char *outcome, long status, double seconds)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&s->metrics, &shard)) return;
    const char *rv[] = {service, operation, outcome};
    const char *dv[] = {service, operation};
    tycho_metric_inc(s->fams[M_REQUESTS], shard, rv, 1);
    tycho_metric_observe(s->fams[M_DURATION], shard, dv, seconds);
    if (!s->local) tycho_aws_services_observe_http(s, service_host(s, service), status, seconds);
}

/* --- lifecycle ------------------------------------------------------------------ */

/* Messages about the data directory start with where it came from and
 * what it is: "--data-dir /x: not a directory". */
int tycho_aws_local_start(const struct tycho_config *cfg, struct tycho_local_backend **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    if (strcmp(cfg->aws_backend, "local") != 0) return 0;
    const char *src = tycho_config_source(cfg, cfg->data_dir), *dir = cfg->data_dir;
    /* The settings first: their errors are not about the directory, and a
     * bad one creates nothing. */
    tycho_local_config_t lc;
    tycho_local_config_init(&lc);
    if (tycho_local_config_from_env(&lc, err, errlen) != 0) return -1;
    struct stat st;
    char e[1024];
    if (tycho_durable_dir_create(dir, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s %.200s: %s", src, dir, e);
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s %.200s: not a directory", src, dir);
        return -1;
    }
    if (tycho_local_backend_start(dir, &lc, out, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s %.200s: %s", src, dir, e);
        return -1;
    }
    return 0;
}

static void on_attempt(const tycho_aws_attempt_t *a, void *ud)
{
    tycho_aws_services_t *s = ud;
    record_attempt(s, a->service, a->operation, a->outcome, a->status, a->duration);
    tycho_aws_svc_call_t *c = a->call_ud;
    if (!c || !c->span || !a->will_retry) return;
    tycho_span_event_t *ev = tycho_span_add_event(c->span, "retry", 0);
    if (!ev) return;
    tycho_span_event_set_attr(c->span, ev, "aws.attempt", TYCHO_AV_INT(a->attempt));
    tycho_span_event_set_attr(c->span, ev, "aws.outcome", TYCHO_AV_STR(a->outcome));
    if (a->status)
        tycho_span_event_set_attr(c->span, ev, "http.response.status_code",
                                  TYCHO_AV_INT(a->status));
    if (a->error_type && *a->error_type)
        tycho_span_event_set_attr(c->span, ev, "error.type", TYCHO_AV_STR(a->error_type));
    tycho_span_event_set_attr(c->span, ev, "aws.backoff_seconds", TYCHO_AV_DBL(a->backoff));
}

tycho_aws_services_t *tycho_aws_services_new(uv_loop_t *loop, const tycho_aws_services_options_t *o,
                                             char *err, size_t errlen)
{
    tycho_aws_services_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->metrics = (tycho_own_metrics_t){.defs = aws_metric_defs, .fams = s->fams, .n = M_COUNT};
    s->loop = loop;
    size_t max_hosts;
    if (tycho_host_labels_max_from_env(&max_hosts, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    if (!(s->host_labels = tycho_host_labels_new(max_hosts))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    /* keep up to 1024 idle connections: a burst of concurrent calls to one
     * host (DynamoDB, a slow API) reuses its connections instead of closing
     * all but 64 of them after each exchange */
    tycho_http_client_options_t hopts = {.max_idle_connections = 1024};
    s->http = tycho_http_client_new(loop, &hopts);
    if (!s->http) {
        snprintf(err, errlen, "cannot create the outbound HTTP client (libcurl)");
        tycho_host_labels_free(s->host_labels);
        free(s);
        return NULL;
    }
    if (o && o->local) {
        s->local = tycho_local_client_new(o->local, loop);
        if (!s->local) {
            snprintf(err, errlen, "out of memory");
            tycho_http_client_close(s->http);
            tycho_host_labels_free(s->host_labels);
            free(s);
            return NULL;
        }
        snprintf(s->region, sizeof s->region, "local");
    } else if (tycho_aws_region(NULL, s->region, sizeof s->region) != 0) {
        s->region[0] = 0;
    }
    t_current = s;
    return s;
}

static void unlink_call(tycho_aws_svc_call_t *c)
{
    tycho_aws_services_t *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->calls == c)
        s->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void free_timer(uv_handle_t *h)
{
    free(h);
}

static void free_call(tycho_aws_svc_call_t *c)
{
    unlink_call(c);
    if (c->defer) uv_close((uv_handle_t *)c->defer, free_timer);
    if (c->span) tycho_span_free(c->span);
    free(c);
}

void tycho_aws_services_close(tycho_aws_services_t *s)
{
    if (!s) return;
    while (s->calls)
        tycho_aws_services_cancel(s->calls);
    if (s->aws) tycho_aws_client_close(s->aws);
    if (s->creds) tycho_aws_creds_provider_close(s->creds);
    if (s->local) tycho_local_client_close(s->local, NULL, NULL);
    tycho_http_client_close(s->http);
    tycho_host_labels_free(s->host_labels);
    if (t_current == s) t_current = NULL;
    free(s);
}

/* The credential provider and the AWS client, from the environment and the
 * shared files. NULL, or the error type ("CredentialsError",
 * "ConfigurationError") with a one-line reason in err. */
static const char *create_aws(tycho_aws_services_t *s, char *err, size_t errlen)
{
    if (!s->creds) {
        s->creds = tycho_aws_creds_chain_new(s->loop, s->http, NULL, err, errlen);
        if (!s->creds) return "CredentialsError";
    }
    tycho_aws_client_options_t opts = {.on_attempt = on_attempt, .on_attempt_ud = s};
    s->aws = tycho_aws_client_new(s->loop, s->http, s->creds, &opts, err, errlen);
    if (!s->aws) return "ConfigurationError";
    snprintf(s->region, sizeof s->region, "%s", tycho_aws_client_region(s->aws));
    return NULL;
}

/* The AWS client, created on first use. 0, or -1 with the call's error type
 * and message set (tycho_aws_check_settings made that unlikely in serve). */
static int ensure_aws(tycho_aws_services_t *s, tycho_aws_svc_call_t *c)
{
    if (s->aws) return 0;
    const char *type = create_aws(s, c->fail_msg, sizeof c->fail_msg);
    if (!type) return 0;
    snprintf(c->fail_type, sizeof c->fail_type, "%s", type);
    return -1;
}

int tycho_aws_check_settings(const struct tycho_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->aws_backend, "aws") != 0) return 0;
    /* a scratch loop: the same constructors as a worker's first call, so
     * the same checks; nothing is fetched */
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc != 0) {
        snprintf(err, errlen, "TYCHO_AWS_BACKEND=aws: cannot check the settings: %s",
                 uv_strerror(rc));
        return -1;
    }
    tycho_aws_services_t *s = tycho_aws_services_new(&loop, NULL, err, errlen);
    rc = !s || create_aws(s, err, errlen) ? -1 : 0;
    tycho_aws_services_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}

/* --- trace context ------------------------------------------------------------- */

void tycho_aws_trace_headers(const tycho_req_trace_t *t, const uint8_t span_id[8],
                             tycho_trace_headers_t *out)
{
    tycho_trace_inject(t->trace_id, span_id, t->flags, &t->tracestate, &t->xray, out);
}

static const char *queue_name(const char *url)
{
    const char *slash = strrchr(url, '/');
    return slash ? slash + 1 : url;
}

/* messaging.operation.type of an SQS operation (OTel messaging spans,
 * "Operation types"), NULL for one that handles no message (GetQueueUrl,
 * CreateQueue, ...). messaging.operation.name is the SQS operation itself. */
static const char *sqs_operation_type(const char *op)
{
    static const struct {
        const char *op, *type;
    } types[] = {
        {"SendMessage", "send"},
        {"SendMessageBatch", "send"},
        {"ReceiveMessage", "receive"},
        {"DeleteMessage", "settle"},
        {"DeleteMessageBatch", "settle"},
        {"ChangeMessageVisibility", "settle"},
        {"ChangeMessageVisibilityBatch", "settle"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(op, types[i].op) == 0) return types[i].type;
    return NULL;
}

static void sqs_span_attrs(tycho_span_t *sp, const char *op, const char *queue_url)
{
    tycho_span_set_attr(sp, "messaging.system", TYCHO_AV_STR("aws_sqs"));
    tycho_span_set_attr(sp, "messaging.operation.name", TYCHO_AV_STR(op));
    const char *type = sqs_operation_type(op);
    if (type) tycho_span_set_attr(sp, "messaging.operation.type", TYCHO_AV_STR(type));
    if (queue_url) {
        tycho_span_set_attr(sp, "messaging.destination.name", TYCHO_AV_STR(queue_name(queue_url)));
        tycho_span_set_attr(sp, "aws.sqs.queue.url", TYCHO_AV_STR(queue_url));
    }
}

/* SendMessage answers with the id SQS gave the message: messaging.message.id. */
static void sqs_span_result(tycho_span_t *sp, const char *op, const tycho_aws_result_t *r)
{
    if (!r->ok || strcmp(op, "SendMessage") != 0) return;
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "MessageId"));
    if (id) tycho_span_set_attr(sp, "messaging.message.id", TYCHO_AV_STR(id));
    cJSON_Delete(j);
}

static void span_begin(tycho_aws_svc_call_t *c, const tycho_aws_svc_request_t *req,
                       const uint8_t span_id[8])
{
    const tycho_aws_trace_parent_t *p = req->parent;
    tycho_obs_t *o = tycho_obs_current();
    if (!o || !p || !p->trace || !p->trace->sampled) return;
    char name[128];
    snprintf(name, sizeof name, "%s.%s", tycho_aws_service_display(c->service), c->operation);
    tycho_span_kind_t kind = req->kind ? req->kind : TYCHO_SPAN_KIND_CLIENT;
    tycho_span_t *sp = tycho_obs_span_start(o, p->trace, p->parent_span_id, name, kind);
    if (!sp) return;
    tycho_span_set_ids(sp, p->trace->trace_id, span_id, p->parent_span_id, 0, p->trace->flags);
    tycho_span_set_attr(sp, "rpc.system", TYCHO_AV_STR("aws-api"));
    tycho_span_set_attr(sp, "rpc.service", TYCHO_AV_STR(tycho_aws_service_display(c->service)));
    tycho_span_set_attr(sp, "rpc.method", TYCHO_AV_STR(c->operation));
    tycho_span_set_attr(sp, "tycho.aws.backend", TYCHO_AV_STR(c->s->local ? "local" : "aws"));
    if (strcmp(c->service, "dynamodb") == 0) {
        tycho_span_set_attr(sp, "db.system", TYCHO_AV_STR("dynamodb"));
        if (req->table_name) { /* string[] in the conventions: the request's one table */
            tycho_attr_str_t table = {req->table_name, strlen(req->table_name)};
            tycho_span_set_attr(sp, "aws.dynamodb.table_names", TYCHO_AV_STRV(&table, 1));
        }
    } else if (strcmp(c->service, "sqs") == 0) {
        sqs_span_attrs(sp, c->operation, req->queue_url);
    }
    c->span = sp;
}

static void span_end(tycho_aws_svc_call_t *c, const tycho_aws_result_t *r)
{
    tycho_span_t *sp = c->span;
    if (!sp) return;
    c->span = NULL;
    tycho_obs_t *o = tycho_obs_current();
    if (!o) {
        tycho_span_free(sp);
        return;
    }
    if (c->s->region[0]) tycho_span_set_attr(sp, "cloud.region", TYCHO_AV_STR(c->s->region));
    if (r->request_id && *r->request_id)
        tycho_span_set_attr(sp, "aws.request_id", TYCHO_AV_STR(r->request_id));
    if (r->status) tycho_span_set_attr(sp, "http.response.status_code", TYCHO_AV_INT(r->status));
    tycho_span_set_attr(sp, "aws.attempts", TYCHO_AV_INT(r->attempts));
    if (strcmp(c->service, "sqs") == 0) sqs_span_result(sp, c->operation, r);
    if (!r->ok) {
        tycho_span_set_attr(sp, "error.type", TYCHO_AV_STR(r->error_type));
        tycho_span_set_status(sp, TYCHO_SPAN_STATUS_ERROR, r->message);
    }
    tycho_obs_span_finish(o, sp);
}

/* --- completion ------------------------------------------------------------------ */

static void complete(tycho_aws_svc_call_t *c, const tycho_aws_result_t *r)
{
    span_end(c, r);
    tycho_aws_done_fn cb = c->cb;
    void *ud = c->ud;
    free_call(c);
    cb(r, ud);
}

static void on_aws_done(const tycho_aws_result_t *r, void *ud)
{
    tycho_aws_svc_call_t *c = ud;
    c->aws_call = NULL;
    complete(c, r);
}

static void on_defer(uv_timer_t *t)
{
    tycho_aws_svc_call_t *c = t->data;
    tycho_aws_result_t r = {.body = "",
                            .error_type = c->fail_type,
                            .message = c->fail_msg,
                            .request_id = "",
                            .duration = (double)(uv_hrtime() - c->start_ns) / 1e9};
    complete(c, &r);
}

/* A local backend answer as a tycho_aws_result_t (the HTTP client's rules:
 * tycho_aws_error_parse). */
static void on_local_done(int status, const char *body, size_t len, void *ud)
{
    tycho_aws_svc_call_t *c = ud;
    c->local_call = NULL;
    double secs = (double)(uv_hrtime() - c->start_ns) / 1e9;
    tycho_aws_result_t r = {.ok = status >= 200 && status < 300,
                            .status = status,
                            .body = body ? body : "",
                            .body_len = body ? len : 0,
                            .error_type = "",
                            .message = "",
                            .attempts = 1,
                            .request_id = "",
                            .duration = secs};
    char code[96] = "", msg[400] = "";
    const char *outcome = "success";
    if (!r.ok) {
        tycho_aws_error_parse(body, len, NULL, status, code, sizeof code, msg, sizeof msg);
        r.error_type = code;
        r.message = msg;
        int throttled = tycho_aws_is_throttling_code(code);
        r.retryable = throttled || status >= 500 || tycho_aws_is_transient_code(code);
        outcome = throttled ? "throttled" : status >= 500 ? "server_error" : "client_error";
    }
    record_attempt(c->s, c->service, c->operation, outcome, status, secs);
    complete(c, &r);
}

int tycho_aws_services_call(tycho_aws_services_t *s, const tycho_aws_svc_request_t *req,
                            tycho_aws_done_fn cb, void *ud, tycho_aws_svc_call_t **out)
{
    if (!req->service || !req->target || !cb) return -EINVAL;
    tycho_aws_svc_call_t *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    c->s = s;
    c->cb = cb;
    c->ud = ud;
    c->start_ns = uv_hrtime();
    snprintf(c->service, sizeof c->service, "%s", req->service);
    const char *dot = strrchr(req->target, '.');
    snprintf(c->operation, sizeof c->operation, "%s", dot ? dot + 1 : req->target);
    c->next = s->calls;
    if (s->calls) s->calls->prev = c;
    s->calls = c;
    if (out) *out = c;

    uint8_t span_id[8];
    const tycho_aws_trace_parent_t *p = req->parent;
    if (req->span_id)
        memcpy(span_id, req->span_id, 8);
    else if (p && p->trace && p->trace->sampled)
        tycho_trace_new_span_id(span_id);
    else if (p && p->trace)
        memcpy(span_id, p->parent_span_id, 8);
    span_begin(c, req, span_id);

    int rc;
    if (s->local) {
        c->local_call = tycho_local_client_call(s->local, req->target, req->body ? req->body : "",
                                                req->body ? req->body_len : 0, on_local_done, c);
        rc = c->local_call ? 0 : -ENOMEM;
    } else if (ensure_aws(s, c) != 0) {
        c->defer = malloc(sizeof *c->defer);
        rc = c->defer ? 0 : -ENOMEM;
        if (c->defer) {
            uv_timer_init(s->loop, c->defer);
            c->defer->data = c;
            uv_timer_start(c->defer, on_defer, 0, 0);
        }
    } else {
        tycho_trace_headers_t th;
        tycho_http_header_t hdr[1];
        size_t nh = 0;
        if (p && p->trace) {
            tycho_aws_trace_headers(p->trace, span_id, &th);
            hdr[nh++] = (tycho_http_header_t){"X-Amzn-Trace-Id", th.xamzn};
        }
        tycho_aws_request_t ar = {.service = req->service,
                                  .target = req->target,
                                  .body = req->body ? req->body : "",
                                  .body_len = req->body ? req->body_len : 0,
                                  .endpoint = req->endpoint,
                                  .headers = nh ? hdr : NULL,
                                  .nheaders = nh,
                                  .timeout_ms = req->timeout_ms,
                                  .max_attempts = req->max_attempts};
        rc = tycho_aws_call(s->aws, &ar, on_aws_done, c, &c->aws_call);
    }
    if (rc != 0) {
        c->aws_call = NULL;
        c->local_call = NULL;
        free_call(c);
        if (out) *out = NULL;
    }
    return rc;
}

void tycho_aws_services_cancel(tycho_aws_svc_call_t *c)
{
    if (!c) return;
    if (c->aws_call) tycho_aws_call_cancel(c->aws_call);
    if (c->local_call) tycho_local_call_cancel(c->local_call);
    c->aws_call = NULL;
    c->local_call = NULL;
    free_call(c);
}
