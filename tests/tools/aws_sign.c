/* aws_sign — signs request descriptions with tycho's SigV4, for the
 * differential test against botocore (tests/aws/test_sigv4_botocore.sh).
 *
 * stdin: one JSON object per line:
 *   {"id":..., "method":"POST", "host":"h[:port]", "path":"/wire/path",
 *    "query":"raw wire query" | "params":[["k","v"],...],
 *    "headers":[["Name","value"],...], "body_hex":"...",
 *    "service":"sqs", "region":"us-east-1", "akid":"...", "secret":"...",
 *    "token":"..." (optional), "time":<unix seconds>,
 *    "s3":bool, "content_sha256":bool, "unsigned_payload":bool}
 * stdout: one JSON object per line:
 *   {"id":..., "authorization":"...", "amz_date":"...", "content_sha256":"...",
 *    "canonical_request":"..."} or {"id":..., "error":"..."}
 * The signer is all this program tests; it never prints the secret. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int flag(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static unsigned char *unhex(const char *h, size_t *n)
{
    size_t len = h ? strlen(h) / 2 : 0;
    unsigned char *o = malloc(len + 1);
    if (!o) return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        o[i] = (unsigned char)v;
    }
    *n = len;
    return o;
}

static void sign_line(const char *line, tycho_sigv4_key_cache_t *cache)
{
    cJSON *o = cJSON_Parse(line);
    cJSON *res = cJSON_CreateObject();
    if (!o) {
        cJSON_AddStringToObject(res, "error", "bad json");
        goto print;
    }
    cJSON_AddItemToObject(res, "id", cJSON_Duplicate(cJSON_GetObjectItem(o, "id"), 1));

    tycho_sigv4_request_t r = {0};
    r.method = str(o, "method");
    r.host = str(o, "host");
    r.path = str(o, "path");
    r.query = str(o, "query");
    r.service = str(o, "service");
    r.region = str(o, "region");
    r.access_key_id = str(o, "akid");
    r.secret_access_key = str(o, "secret");
    r.session_token = str(o, "token");
    r.time = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "time"));
    if (flag(o, "s3")) r.flags |= TYCHO_SIGV4_S3;
    if (flag(o, "content_sha256")) r.flags |= TYCHO_SIGV4_CONTENT_SHA256;
    if (flag(o, "unsigned_payload")) r.flags |= TYCHO_SIGV4_UNSIGNED_PAYLOAD;

    const cJSON *hs = cJSON_GetObjectItem(o, "headers");
    const cJSON *ps = cJSON_GetObjectItem(o, "params");
    size_t nh = (size_t)cJSON_GetArraySize(hs), np = (size_t)cJSON_GetArraySize(ps);
    tycho_sigv4_header_t *h = calloc(nh + 1, sizeof *h);
    tycho_sigv4_param_t *p = calloc(np + 1, sizeof *p);
    for (size_t i = 0; i < nh; i++) {
        const cJSON *e = cJSON_GetArrayItem(hs, (int)i);
        h[i].name = cJSON_GetArrayItem(e, 0)->valuestring;
        h[i].value = cJSON_GetArrayItem(e, 1)->valuestring;
    }
    for (size_t i = 0; i < np; i++) {
        const cJSON *e = cJSON_GetArrayItem(ps, (int)i);
        p[i].name = cJSON_GetArrayItem(e, 0)->valuestring;
        p[i].value = cJSON_GetArrayItem(e, 1)->valuestring;
    }
    r.headers = h;
    r.nheaders = nh;
    r.params = p;
    r.nparams = np;
    size_t blen = 0;
    unsigned char *body = unhex(str(o, "body_hex"), &blen);
    r.body = body;
    r.body_len = blen;

    tycho_sigv4_output_t out;
    tycho_buf_t cr = TYCHO_BUF_INIT;
    int rc = tycho_sigv4_sign(&r, cache, &out, &cr, NULL);
    if (rc) {
        cJSON_AddStringToObject(res, "error", "sign failed");
    } else {
        cJSON_AddStringToObject(res, "authorization", out.authorization.data);
        cJSON_AddStringToObject(res, "amz_date", out.amz_date);
        cJSON_AddStringToObject(res, "content_sha256", out.content_sha256);
        cJSON_AddStringToObject(res, "canonical_request", cr.data);
        tycho_buf_free(&out.authorization);
    }
    tycho_buf_free(&cr);
    free(body);
    free(h);
    free(p);
print:;
    char *s = cJSON_PrintUnformatted(res);
    puts(s);
    free(s);
    cJSON_Delete(res);
    cJSON_Delete(o);
}

int main(void)
{
    tycho_sigv4_key_cache_t cache;
    memset(&cache, 0, sizeof cache);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[n - 1] = '\0';
        if (!*line) continue;
        sign_line(line, &cache);
    }
    free(line);
    fflush(stdout);
    return 0;
}
