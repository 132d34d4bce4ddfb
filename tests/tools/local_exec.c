/* local_exec — runs AWS JSON requests through the local backend's executor
 * (server/aws/local_store.h), one JSON line in, one JSON line out. Used by
 * the scripts in tests/local/ (parity with dynalite/local-aws-sqs, durability).
 *
 *   local_exec --dir DIR [--now-ms MS] [--queues SPEC] [--tables SPEC]
 *              [--no-auto-create] [--sync normal|full] [--account ID]
 *              [--region NAME]
 *
 * Input line:  {"target":"AmazonSQS.SendMessage","body":{...}}
 *              {"advance_ms":1500}            (moves the fixed clock)
 *              {"sweep":true}                 (a whole housekeeping sweep)
 * Output line: {"status":200,"body":{...},"wait_ms":0}
 *              {"steps":3,"max_step_ms":1.2,"total_ms":2.9} (the sweep's;
 *              {"error":"..."} when it failed)
 * Without --now-ms the wall clock is used. --queues/--tables default to ""
 * (nothing preconfigured), unlike tycho serve. Each response is flushed
 * before the next line is read, so a caller may kill -9 after any answer. */
#include "aws/local_store.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    fprintf(stderr, "usage: local_exec --dir DIR [--now-ms MS] [--queues SPEC] [--tables SPEC] "
                    "[--no-auto-create] [--sync normal|full] [--account ID] [--region NAME]\n");
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A whole sweep at now_ms, step after step as the local backend runs it,
 * and what each step took (bench/local_sqs_backlog.sh). */
static void sweep(tycho_local_store_t *s, int64_t now_ms)
{
    char err[512];
    int steps = 0, rc;
    double start = mono_ms(), longest = 0;
    do {
        double t = mono_ms();
        rc = tycho_local_store_sweep(s, now_ms, err, sizeof err);
        steps++;
        t = mono_ms() - t;
        if (t > longest) longest = t;
    } while (rc == 1);
    cJSON *out = cJSON_CreateObject();
    if (rc < 0) {
        cJSON_AddStringToObject(out, "error", err);
    } else {
        cJSON_AddNumberToObject(out, "steps", steps);
        cJSON_AddNumberToObject(out, "max_step_ms", longest);
        cJSON_AddNumberToObject(out, "total_ms", mono_ms() - start);
    }
    char *o = cJSON_PrintUnformatted(out);
    printf("%s\n", o);
    fflush(stdout);
    free(o);
    cJSON_Delete(out);
}

int main(int argc, char **argv)
{
    tycho_local_config_t cfg;
    tycho_local_config_init(&cfg);
    cfg.queues[0] = '\0';
    cfg.tables[0] = '\0';
    const char *dir = NULL;
    long long now = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--now-ms") == 0 && i + 1 < argc)
            now = atoll(argv[++i]);
        else if (strcmp(argv[i], "--queues") == 0 && i + 1 < argc)
            snprintf(cfg.queues, sizeof cfg.queues, "%s", argv[++i]);
        else if (strcmp(argv[i], "--tables") == 0 && i + 1 < argc)
            snprintf(cfg.tables, sizeof cfg.tables, "%s", argv[++i]);
        else if (strcmp(argv[i], "--no-auto-create") == 0)
            cfg.auto_create_queues = 0;
        else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc)
            cfg.sync_full = strcmp(argv[++i], "normal") != 0;
        else if (strcmp(argv[i], "--account") == 0 && i + 1 < argc)
            snprintf(cfg.account, sizeof cfg.account, "%s", argv[++i]);
        else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
            snprintf(cfg.region, sizeof cfg.region, "%s", argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (!dir) {
        usage();
        return 2;
    }
    char err[512];
    tycho_local_store_t *s;
    if (tycho_local_store_open(dir, &cfg, now >= 0 ? now : tycho_local_now_ms(), &s, err,
                               sizeof err)) {
        fprintf(stderr, "local_exec: %s\n", err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        cJSON *in = cJSON_Parse(line);
        const cJSON *adv = cJSON_GetObjectItemCaseSensitive(in, "advance_ms");
        if (cJSON_IsNumber(adv)) {
            if (now >= 0) now += (long long)adv->valuedouble;
            printf("{\"advanced\":%lld}\n", now);
            fflush(stdout);
            cJSON_Delete(in);
            continue;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "sweep"))) {
            sweep(s, now >= 0 ? now : tycho_local_now_ms());
            cJSON_Delete(in);
            continue;
        }
        const cJSON *target = cJSON_GetObjectItemCaseSensitive(in, "target");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(in, "body");
        const cJSON *raw = cJSON_GetObjectItemCaseSensitive(in, "raw_body");
        if (!cJSON_IsString(target)) {
            fprintf(stderr, "local_exec: bad input line: %s\n", line);
            cJSON_Delete(in);
            rc = 1;
            continue;
        }
        char *req = cJSON_IsString(raw) ? strdup(raw->valuestring)
                    : body              ? cJSON_PrintUnformatted(body)
                                        : strdup("");
        tycho_local_result_t res;
        tycho_local_exec(s, target->valuestring, req, strlen(req),
                         now >= 0 ? now : tycho_local_now_ms(), &res);
        cJSON *out = cJSON_CreateObject();
        cJSON_AddNumberToObject(out, "status", res.status);
        cJSON *rb = res.body ? cJSON_Parse(res.body) : NULL;
        if (rb)
            cJSON_AddItemToObject(out, "body", rb);
        else
            cJSON_AddNullToObject(out, "body");
        cJSON_AddNumberToObject(out, "wait_ms", (double)res.wait_ms);
        char *o = cJSON_PrintUnformatted(out);
        printf("%s\n", o);
        fflush(stdout);
        free(o);
        cJSON_Delete(out);
        tycho_local_result_free(&res);
        free(req);
        cJSON_Delete(in);
    }
    free(line);
    tycho_local_store_close(s);
    return rc;
}
