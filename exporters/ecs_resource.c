#include "exporters/ecs_resource.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

static int add(tycho_export_kvs_t *out, const char *key, const char *value, int *added)
{
    if (!value || !*value || tycho_export_kvs_get(out, key)) return 0;
    if (tycho_export_kvs_set(out, key, value)) return -ENOMEM;
    (*added)++;
    return 0;
}

/* arn:partition:service:region:account:resource -> the parts wanted. */
static int arn_parts(const char *arn, char *partition, char *region, char *account, size_t n)
{
    if (!arn || strncmp(arn, "arn:", 4) != 0) return -1;
    const char *p = arn + 4;
    char *dst[5] = {partition, NULL, region, account, NULL};
    for (int i = 0; i < 4; i++) {
        const char *c = strchr(p, ':');
        if (!c) return -1;
        if (dst[i]) snprintf(dst[i], n, "%.*s", (int)(c - p), p);
        p = c + 1;
    }
    return 0;
}

int tycho_ecs_resource_parse(const char *container_json, size_t clen, const char *task_json,
                             size_t tlen, tycho_export_kvs_t *out)
{
    cJSON *c = container_json ? cJSON_ParseWithLength(container_json, clen) : NULL;
    cJSON *t = task_json ? cJSON_ParseWithLength(task_json, tlen) : NULL;
    int added = 0, rc = 0;
    char partition[64] = "aws", region[64] = "", account[64] = "", buf[1024];
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        c = NULL;
    }
    if (!cJSON_IsObject(t)) {
        cJSON_Delete(t);
        t = NULL;
    }
    if (!c && !t) return 0;

    rc |= add(out, "cloud.provider", "aws", &added);
    rc |= add(out, "cloud.platform", "aws_ecs", &added);
    if (t) {
        const char *task_arn = str(t, "TaskARN");
        arn_parts(task_arn, partition, region, account, 64);
        rc |= add(out, "aws.ecs.task.arn", task_arn, &added);
        rc |= add(out, "aws.ecs.task.family", str(t, "Family"), &added);
        rc |= add(out, "aws.ecs.task.revision", str(t, "Revision"), &added);
        rc |= add(out, "cloud.availability_zone", str(t, "AvailabilityZone"), &added);
        const char *cluster = str(t, "Cluster");
        if (cluster && strncmp(cluster, "arn:", 4) != 0 && region[0] && account[0]) {
            snprintf(buf, sizeof buf, "arn:%s:ecs:%s:%s:cluster/%s", partition, region, account,
                     cluster);
            cluster = buf;
        }
        rc |= add(out, "aws.ecs.cluster.arn", cluster, &added);
        const char *lt = str(t, "LaunchType");
        if (lt) {
            char low[32];
            size_t i;
            for (i = 0; lt[i] && i < sizeof low - 1; i++)
                low[i] = (char)tolower((unsigned char)lt[i]);
            low[i] = 0;
            rc |= add(out, "aws.ecs.launchtype", low, &added);
        }
        if (region[0]) rc |= add(out, "cloud.region", region, &added);
        if (account[0]) rc |= add(out, "cloud.account.id", account, &added);
    }
    if (c) {
        rc |= add(out, "aws.ecs.container.arn", str(c, "ContainerARN"), &added);
        rc |= add(out, "container.id", str(c, "DockerId"), &added);
        rc |= add(out, "container.name", str(c, "Name"), &added);
        const char *driver = str(c, "LogDriver");
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(c, "LogOptions");
        if (driver && strcmp(driver, "awslogs") == 0 && cJSON_IsObject(lo)) {
            const char *group = str(lo, "awslogs-group"), *stream = str(lo, "awslogs-stream");
            const char *lregion = str(lo, "awslogs-region");
            if (!lregion) lregion = region;
            rc |= add(out, "aws.log.group.names", group, &added);
            rc |= add(out, "aws.log.stream.names", stream, &added);
            if (group && *lregion && account[0]) {
                snprintf(buf, sizeof buf, "arn:%s:logs:%s:%s:log-group:%s", partition, lregion,
                         account, group);
                rc |= add(out, "aws.log.group.arns", buf, &added);
                if (stream) {
                    snprintf(buf, sizeof buf, "arn:%s:logs:%s:%s:log-group:%s:log-stream:%s",
                             partition, lregion, account, group, stream);
                    rc |= add(out, "aws.log.stream.arns", buf, &added);
                }
            }
        }
    }
    cJSON_Delete(c);
    cJSON_Delete(t);
    return rc ? -ENOMEM : added;
}

/* --- asynchronous fetch --------------------------------------------------- */

struct tycho_ecs_fetch {
    tycho_http_req_t *req[2];
    char *doc[2];
    size_t len[2];
    int pending;
    int finished;
    char error[200];
    tycho_export_kvs_t kvs;
    void (*done)(const tycho_export_kvs_t *kvs, const char *error, void *ud);
    void *ud;
};

static void complete(tycho_ecs_fetch_t *f)
{
    f->finished = 1;
    if (!f->doc[0] && !f->doc[1]) {
        f->done(NULL, f->error[0] ? f->error : "no metadata", f->ud);
        return;
    }
    int rc = tycho_ecs_resource_parse(f->doc[0], f->len[0], f->doc[1], f->len[1], &f->kvs);
    if (rc < 0)
        f->done(NULL, "out of memory", f->ud);
    else
        f->done(&f->kvs, NULL, f->ud);
}

static void on_doc(tycho_ecs_fetch_t *f, int i, const tycho_http_response_t *res)
{
    f->req[i] = NULL;
    if (!res->error && res->status == 200 && res->body_len) {
        f->doc[i] = malloc(res->body_len + 1);
        if (f->doc[i]) {
            memcpy(f->doc[i], res->body, res->body_len);
            f->doc[i][res->body_len] = 0;
            f->len[i] = res->body_len;
        }
    } else {
        snprintf(f->error, sizeof f->error, "%s: %s", i ? "task metadata" : "container metadata",
                 res->error ? tycho_http_strerror(res->error) : "unexpected status");
    }
    if (--f->pending == 0) complete(f);
}

static void on_container(const tycho_http_response_t *res, void *ud)
{
    on_doc(ud, 0, res);
}

static void on_task(const tycho_http_response_t *res, void *ud)
{
    on_doc(ud, 1, res);
}

tycho_ecs_fetch_t *
tycho_ecs_fetch_start(tycho_http_client_t *http, const char *uri, long timeout_ms,
                      void (*done)(const tycho_export_kvs_t *kvs, const char *error, void *ud),
                      void *ud)
{
    tycho_ecs_fetch_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->done = done;
    f->ud = ud;
    char *task_url = tycho_export_url_join(uri, "task");
    if (!task_url) {
        free(f);
        return NULL;
    }
    tycho_http_request_t rq = {.method = "GET",
                               .url = uri,
                               .connect_timeout_ms = timeout_ms,
                               .timeout_ms = timeout_ms,
                               .max_response_bytes = 1 << 20};
    if (tycho_http_request(http, &rq, on_container, f, &f->req[0]) != 0) {
        free(task_url);
        free(f);
        return NULL;
    }
    f->pending = 1;
    rq.url = task_url;
    if (tycho_http_request(http, &rq, on_task, f, &f->req[1]) == 0)
        f->pending++;
    else
        snprintf(f->error, sizeof f->error, "task metadata: cannot start the request");
    free(task_url);
    return f;
}

void tycho_ecs_fetch_free(tycho_ecs_fetch_t *f)
{
    if (!f) return;
    for (int i = 0; i < 2; i++) {
        if (f->req[i]) tycho_http_cancel(f->req[i]);
        free(f->doc[i]);
    }
    tycho_export_kvs_free(&f->kvs);
    free(f);
}
