/* aws_call — one signed AWS JSON 1.0 call through tycho's client, for script
 * tests against dynalite, local-aws-sqs and tests/aws/fake_aws.py.
 *   aws_call [options] SERVICE TARGET [JSON]
 *     --endpoint URL          explicit endpoint (else AWS_ENDPOINT_URL_<SVC>, ...)
 *     --max-attempts N  --backoff-base-ms MS  --retry-quota N  --timeout-ms MS
 *     --header 'Name: value'  extra header (repeatable), e.g. X-Amzn-Trace-Id
 *     --repeat N              N calls, one after the other, on the same client
 *     --concurrency N         N calls at once (per repeat round)
 *     --attempts              also print one {"attempt":...} line per attempt
 * Credentials come from the default chain (environment). Prints one JSON line
 * per call: {"ok","status","type","message","retryable","attempts",
 * "transport_error","quota_exhausted","request_id","body"} (body parsed when
 * it is JSON). Exit 0 when every call succeeded, 1 otherwise, 2 on setup
 * errors. Never prints credentials. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "core/log.h"

static int failures, outstanding, print_attempts;
static uv_loop_t loop;

static void log_to_stderr(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta;
    (void)ud;
    fwrite(line, 1, len, stderr);
}

static void on_attempt(const tycho_aws_attempt_t *a, void *ud)
{
    (void)ud;
    if (!print_attempts) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "attempt", a->attempt);
    cJSON_AddStringToObject(o, "service", a->service);
    cJSON_AddStringToObject(o, "operation", a->operation);
    cJSON_AddStringToObject(o, "outcome", a->outcome);
    cJSON_AddNumberToObject(o, "status", (double)a->status);
    cJSON_AddStringToObject(o, "type", a->error_type);
    cJSON_AddBoolToObject(o, "will_retry", a->will_retry);
    cJSON_AddNumberToObject(o, "backoff", a->backoff);
    cJSON_AddNumberToObject(o, "duration", a->duration);
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

static void on_done(const tycho_aws_result_t *r, void *ud)
{
    (void)ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", r->ok);
    cJSON_AddNumberToObject(o, "status", (double)r->status);
    if (*r->error_type)
        cJSON_AddStringToObject(o, "type", r->error_type);
    else
        cJSON_AddNullToObject(o, "type");
    if (*r->message)
        cJSON_AddStringToObject(o, "message", r->message);
    else
        cJSON_AddNullToObject(o, "message");
    cJSON_AddBoolToObject(o, "retryable", r->retryable);
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    cJSON_AddNumberToObject(o, "transport_error", r->transport_error);
    cJSON_AddBoolToObject(o, "quota_exhausted", r->quota_exhausted);
    cJSON_AddStringToObject(o, "request_id", r->request_id);
    cJSON_AddNumberToObject(o, "duration", r->duration);
    cJSON *b = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (b)
        cJSON_AddItemToObject(o, "body", b);
    else if (r->body_len)
        cJSON_AddStringToObject(o, "body", r->body);
    else
        cJSON_AddNullToObject(o, "body");
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    fflush(stdout);
    free(s);
    cJSON_Delete(o);
    if (!r->ok) failures++;
    if (--outstanding == 0) uv_stop(&loop);
}

int main(int argc, char **argv)
{
    static const tycho_log_sink_t to_stderr = {log_to_stderr, NULL};
    tycho_log_set_sink(&to_stderr);
    tycho_aws_client_options_t o = {0};
    tycho_aws_request_t req = {0};
    tycho_http_header_t headers[16];
    size_t nh = 0;
    int repeat = 1, concurrency = 1, i;
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--attempts")) {
            print_attempts = 1;
            continue;
        }
        if (!v) break;
        i++;
        if (!strcmp(a, "--endpoint"))
            req.endpoint = v;
        else if (!strcmp(a, "--max-attempts"))
            o.max_attempts = atoi(v);
        else if (!strcmp(a, "--backoff-base-ms"))
            o.backoff_base = atof(v) / 1000.0;
        else if (!strcmp(a, "--retry-quota"))
            o.retry_quota = atoi(v);
        else if (!strcmp(a, "--timeout-ms"))
            o.timeout_ms = atol(v);
        else if (!strcmp(a, "--repeat"))
            repeat = atoi(v);
        else if (!strcmp(a, "--concurrency"))
            concurrency = atoi(v);
        else if (!strcmp(a, "--header") && nh < 16) {
            char *colon = strchr(argv[i], ':');
            if (!colon) break;
            *colon = '\0';
            char *val = colon + 1;
            while (*val == ' ')
                val++;
            headers[nh++] = (tycho_http_header_t){argv[i], val};
        } else {
            break;
        }
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: aws_call [--endpoint URL] [--max-attempts N] [--backoff-base-ms MS]"
                        " [--retry-quota N] [--timeout-ms MS] [--header 'N: v'] [--repeat N]"
                        " [--concurrency N] [--attempts] SERVICE TARGET [JSON]\n");
        return 2;
    }
    req.service = argv[i];
    req.target = argv[i + 1];
    req.body = argc - i > 2 ? argv[i + 2] : "{}";
    req.body_len = strlen(req.body);
    req.headers = headers;
    req.nheaders = nh;
    o.on_attempt = on_attempt;

    uv_loop_init(&loop);
    tycho_http_client_t *http = tycho_http_client_new(&loop, NULL);
    char err[400];
    int rc = 0;
    tycho_aws_client_t *c = NULL;
    tycho_aws_creds_provider_t *p = tycho_aws_creds_chain_new(&loop, http, NULL, err, sizeof err);
    if (p) c = tycho_aws_client_new(&loop, http, p, &o, err, sizeof err);
    if (!p || !c) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "setup_error", err);
        char *s = cJSON_PrintUnformatted(e);
        puts(s);
        free(s);
        cJSON_Delete(e);
        rc = 2;
        goto out;
    }
    for (int r = 0; r < repeat; r++) {
        outstanding = concurrency;
        for (int k = 0; k < concurrency; k++) {
            if (tycho_aws_call(c, &req, on_done, NULL, NULL) != 0) {
                fprintf(stderr, "aws_call: cannot start the call\n");
                rc = 2;
                goto out;
            }
        }
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    rc = failures ? 1 : 0;
out:
    if (c) tycho_aws_client_close(c);
    if (p) tycho_aws_creds_provider_close(p);
    tycho_http_client_close(http);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}
