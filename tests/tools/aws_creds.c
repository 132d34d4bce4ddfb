/* aws_creds — runs tycho's credential chain once, for script tests.
 *   aws_creds [--concurrent N] [--invalidate] [--rounds K] [--profile NAME]
 *             [--between SHELL-COMMAND]   (run between rounds, e.g. rotate a token)
 * Builds the chain from the environment, asks for credentials N times at
 * once (one fetch must serve them all), optionally reports them expired and
 * asks again, and prints one JSON line per round:
 *   {"round":1,"source":"container","describe":"container ASIAFAKE...",
 *    "akid":"ASIAFAKE0001","secret_sha256":"<16 hex>","token_sha256":"<16 hex>",
 *    "callbacks":N,"fetches":1,"error":null}
 * Secrets are printed only as SHA-256 prefixes. Exit 0 when every round got
 * credentials, 1 otherwise, 2 when the chain could not be built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "core/log.h"
#include "net/http_client.h"

typedef struct st {
    int callbacks, ok;
    char akid[128], secret_hash[17], token_hash[17], describe[200], error[300];
    uint64_t generation;
} st_t;

static void hash16(const char *s, char out[17])
{
    char h[65];
    if (!s) {
        strcpy(out, "");
        return;
    }
    tycho_sigv4_sha256_hex(s, strlen(s), h);
    memcpy(out, h, 16);
    out[16] = '\0';
}

static void on_creds(const tycho_aws_creds_t *c, const char *err, void *ud)
{
    st_t *s = ud;
    s->callbacks++;
    if (!c) {
        snprintf(s->error, sizeof s->error, "%s", err ? err : "?");
        return;
    }
    s->ok++;
    snprintf(s->akid, sizeof s->akid, "%s", c->access_key_id);
    hash16(c->secret_access_key, s->secret_hash);
    hash16(c->session_token, s->token_hash);
    tycho_aws_creds_describe_creds(c, s->describe, sizeof s->describe);
    s->generation = c->generation;
}

static void json_str(const char *k, const char *v)
{
    printf("\"%s\":", k);
    if (!v || !*v) {
        printf("null");
        return;
    }
    putchar('"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') putchar('\\');
        if ((unsigned char)*v < 0x20)
            printf("\\u%04x", *v);
        else
            putchar(*v);
    }
    putchar('"');
}

/* log lines go to stderr: stdout carries only the result lines */
static void log_to_stderr(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta;
    (void)ud;
    fwrite(line, 1, len, stderr);
}

int main(int argc, char **argv)
{
    static const tycho_log_sink_t to_stderr = {log_to_stderr, NULL};
    tycho_log_set_sink(&to_stderr);
    int concurrent = 1, invalidate = 0, rounds = 1;
    const char *profile = NULL, *between = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--concurrent") && i + 1 < argc)
            concurrent = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--invalidate"))
            invalidate = 1;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            profile = argv[++i];
        else if (!strcmp(argv[i], "--between") && i + 1 < argc)
            between = argv[++i];
        else {
            fprintf(stderr, "usage: aws_creds [--concurrent N] [--invalidate] [--rounds K] "
                            "[--profile NAME]\n");
            return 2;
        }
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    tycho_http_client_t *http = tycho_http_client_new(&loop, NULL);
    tycho_aws_creds_options_t o = {.profile = profile};
    char err[400];
    tycho_aws_creds_provider_t *p = tycho_aws_creds_chain_new(&loop, http, &o, err, sizeof err);
    int rc = 0;
    if (!p) {
        printf("{\"round\":0,");
        json_str("error", err);
        printf("}\n");
        rc = 2;
        goto out;
    }
    for (int r = 1; r <= rounds; r++) {
        st_t s;
        memset(&s, 0, sizeof s);
        for (int i = 0; i < concurrent; i++)
            tycho_aws_creds_get(p, on_creds, &s, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        tycho_aws_creds_stats_t stats;
        tycho_aws_creds_stats(p, &stats);
        printf("{\"round\":%d,", r);
        json_str("source", tycho_aws_creds_source_name(p));
        putchar(',');
        json_str("describe", s.describe);
        putchar(',');
        json_str("akid", s.akid);
        putchar(',');
        json_str("secret_sha256", s.secret_hash);
        putchar(',');
        json_str("token_sha256", s.token_hash);
        printf(",\"callbacks\":%d,\"ok\":%d,\"fetches\":%lu,\"failures\":%lu,", s.callbacks, s.ok,
               stats.fetches, stats.fetch_failures);
        json_str("error", s.error);
        printf("}\n");
        fflush(stdout);
        if (s.ok != concurrent) rc = 1;
        if (between && r < rounds && system(between) != 0) rc = 1;
        if (invalidate && s.ok) tycho_aws_creds_invalidate(p, s.generation);
    }
    tycho_aws_creds_provider_close(p);
out:
    tycho_http_client_close(http);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}
