/* HTTP credential sources. Behaviour follows botocore credentials.py and
 * utils.py (ContainerMetadataFetcher: 2 s timeout, 3 attempts, 1 s apart;
 * InstanceMetadataFetcher: 1 s timeout, 1 attempt, IMDSv2 token first) and
 * the sdkref pages cited in PROTOCOLS.md section 6. Error strings carry
 * status codes, AWS error codes and messages, never tokens or bodies of
 * successful replies. */
#define _GNU_SOURCE
#include "aws/credentials_http.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/endpoint.h"
#include "aws/error_text.h"
#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/units.h"

enum kind { WEB_IDENTITY, CONTAINER, IMDS };

typedef struct gai_ctx gai_ctx_t;

typedef struct http_src {
    enum kind kind;
    uv_loop_t *loop;
    tycho_http_client_t *http;
    tycho_aws_creds_provider_t *p; /* set while a fetch runs */
    tycho_http_req_t *req;
    uv_timer_t retry; /* data = this; freed in its close callback */
    gai_ctx_t *gai;
    int attempt, max_attempts;
    long timeout_ms, retry_delay_ms;
    char *url;
    /* web identity */
    char *token_file, *role_arn, *session_name;
    /* container */
    char *auth_token_file; /* NULL: AWS_CONTAINER_AUTHORIZATION_TOKEN, read per fetch */
    char check_host[256];  /* http:// hostname whose addresses must all be allowed */
    /* imds */
    int step, v1_disabled, use_v1;
    char *imds_token;
    char role[256];
} http_src_t;

struct gai_ctx {
    uv_getaddrinfo_t req;
    http_src_t *s; /* NULL once the fetch was cancelled */
};

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

static int truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void wipe_free(char *s)
{
    if (!s) return;
    memset(s, 0, strlen(s));
    free(s);
}

static void begin(http_src_t *s);

static void fail(http_src_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(http_src_t *s, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tycho_aws_creds_fetched_t f = {0};
    f.error = msg;
    tycho_aws_creds_provider_t *p = s->p;
    s->p = NULL;
    tycho_aws_creds_fetch_done(p, &f);
}

static void succeed(http_src_t *s, const char *akid, const char *secret, const char *token,
                    int64_t exp)
{
    tycho_aws_creds_fetched_t f = {akid, secret, token, exp, NULL};
    tycho_aws_creds_provider_t *p = s->p;
    s->p = NULL;
    tycho_aws_creds_fetch_done(p, &f);
}

static void on_retry(uv_timer_t *t)
{
    begin(t->data);
}

/* Retries after a delay when attempts remain; else fails with msg. */
static void retry_or_fail(http_src_t *s, const char *msg)
{
    if (++s->attempt < s->max_attempts) {
        uv_timer_start(&s->retry, on_retry, (uint64_t)s->retry_delay_ms, 0);
        return;
    }
    fail(s, "%s", msg);
}

static int transient(const tycho_http_response_t *res)
{
    if (res->error)
        return res->error != TYCHO_HTTP_E_TLS && res->error != TYCHO_HTTP_E_INVALID &&
               res->error != TYCHO_HTTP_E_TOO_LARGE;
    return res->status >= 500;
}

static int send_req(http_src_t *s, const char *method, const char *url,
                    const tycho_http_header_t *h, size_t nh, const char *body, size_t blen,
                    tycho_http_done_fn cb)
{
    tycho_http_request_t r = {0};
    r.method = method;
    r.url = url;
    r.headers = h;
    r.nheaders = nh;
    r.body = body;
    r.body_len = blen;
    r.connect_timeout_ms = s->timeout_ms;
    r.timeout_ms = s->timeout_ms;
    r.max_response_bytes = 64 * 1024;
    return tycho_http_request(s->http, &r, cb, s, &s->req);
}

/* JSON {AccessKeyId, SecretAccessKey, Token, Expiration} (container, IMDS). */
static void finish_json(http_src_t *s, const char *what, const tycho_http_response_t *res)
{
    cJSON *j = cJSON_ParseWithLength(res->body, res->body_len);
    const char *akid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "AccessKeyId"));
    const char *sk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey"));
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Token"));
    const char *exps = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Expiration"));
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Code"));
    int64_t exp = 0;
    const char *why = NULL;
    if (!j)
        fail(s, "%s: reply is not JSON", what);
    else if (code && strcmp(code, "Success") != 0)
        fail(s, "%s: Code %.64s", what, code);
    else if (!akid || !sk)
        fail(s, "%s: reply lacks AccessKeyId/SecretAccessKey", what);
    else if (exps && tycho_aws_parse_time(exps, &exp, &why) != 0)
        fail(s, "%s: bad Expiration: %s", what, why);
    else
        succeed(s, akid, sk, tok, exp);
    if (j) {
        /* wipe the parsed secret before freeing */
        cJSON *it = cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey");
        if (cJSON_IsString(it)) memset(it->valuestring, 0, strlen(it->valuestring));
        it = cJSON_GetObjectItemCaseSensitive(j, "Token");
        if (cJSON_IsString(it)) memset(it->valuestring, 0, strlen(it->valuestring));
        cJSON_Delete(j);
    }
}

/* --- STS AssumeRoleWithWebIdentity ---------------------------------------- */

static char *xml_tag(const char *xml, size_t n, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(xml, n, open, strlen(open));
    if (!a) return NULL;
    a += strlen(open);
    const char *b = memmem(a, n - (size_t)(a - xml), close, strlen(close));
    if (!b) return NULL;
    tycho_buf_t o = TYCHO_BUF_INIT;
    static const struct {
        const char *ent;
        char ch;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (const char *p = a; p < b; p++) {
        char ch = *p;
        if (ch == '&') {
            for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
                size_t l = strlen(ents[i].ent);
                if ((size_t)(b - p) >= l && memcmp(p, ents[i].ent, l) == 0) {
                    ch = ents[i].ch;
                    p += l - 1;
                    break;
                }
            }
        }
        if (tycho_buf_append(&o, &ch, 1)) {
            tycho_buf_free(&o);
            return NULL;
        }
    }
    if (tycho_buf_append(&o, "", 0)) {
        tycho_buf_free(&o);
        return NULL;
    }
    return tycho_buf_steal(&o);
}

int tycho_aws_sts_parse(const char *xml, size_t n, tycho_aws_sts_creds_t *out)
{
    memset(out, 0, sizeof *out);
    const char *c = memmem(xml, n, "<Credentials>", 13);
    if (c) {
        size_t rest = n - (size_t)(c - xml);
        out->access_key_id = xml_tag(c, rest, "AccessKeyId");
        out->secret_access_key = xml_tag(c, rest, "SecretAccessKey");
        out->session_token = xml_tag(c, rest, "SessionToken");
        out->expiration = xml_tag(c, rest, "Expiration");
        if (out->access_key_id && out->secret_access_key) return 0;
    }
    out->code = xml_tag(xml, n, "Code");
    out->message = xml_tag(xml, n, "Message");
    return -EINVAL;
}

void tycho_aws_sts_creds_free(tycho_aws_sts_creds_t *c)
{
    free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    free(c->expiration);
    free(c->code);
    free(c->message);
    memset(c, 0, sizeof *c);
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tycho_buf_t b = TYCHO_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (b.len + n > max || tycho_buf_append(&b, tmp, n)) {
            fclose(f);
            if (b.data) memset(b.data, 0, b.len);
            tycho_buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    tycho_buf_append(&b, "", 0);
    return tycho_buf_steal(&b);
}

static void on_sts(const tycho_http_response_t *res, void *ud)
{
    http_src_t *s = ud;
    s->req = NULL;
    char msg[300];
    if (res->error) {
        snprintf(msg, sizeof msg, "web-identity: STS %s", res->error_message);
        if (transient(res))
            retry_or_fail(s, msg);
        else
            fail(s, "%s", msg);
        return;
    }
    tycho_aws_sts_creds_t c;
    if (tycho_aws_sts_parse(res->body, res->body_len, &c) == 0 && res->status == 200) {
        int64_t exp = 0;
        const char *why = NULL;
        if (c.expiration && tycho_aws_parse_time(c.expiration, &exp, &why) != 0)
            fail(s, "web-identity: bad Expiration in STS reply: %s", why);
        else
            succeed(s, c.access_key_id, c.secret_access_key, c.session_token, exp);
        tycho_aws_sts_creds_free(&c);
        return;
    }
    char text[161];
    tycho_aws_scrub(c.message ? c.message : "", c.message ? strlen(c.message) : 0, text,
                    sizeof text);
    snprintf(msg, sizeof msg, "web-identity: STS AssumeRoleWithWebIdentity HTTP %ld %.64s: %s",
             res->status, c.code ? c.code : "", text);
    int retry = transient(res) || (c.code && (strcmp(c.code, "IDPCommunicationError") == 0 ||
                                              strcmp(c.code, "InvalidIdentityToken") == 0 ||
                                              strcmp(c.code, "Throttling") == 0));
    tycho_aws_sts_creds_free(&c);
    if (retry)
        retry_or_fail(s, msg);
    else
        fail(s, "%s", msg);
}

static void begin_web_identity(http_src_t *s)
{
    char *tok = read_file(s->token_file, 64 * 1024);
    if (!tok || !*tok) {
        free(tok);
        fail(s, "web-identity: cannot read the token file %s", s->token_file);
        return;
    }
    tycho_buf_t body = TYCHO_BUF_INIT;
    int rc = tycho_buf_puts(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
    rc |= tycho_sigv4_uri_encode(&body, s->role_arn, strlen(s->role_arn), 0);
    rc |= tycho_buf_puts(&body, "&RoleSessionName=");
    rc |= tycho_sigv4_uri_encode(&body, s->session_name, strlen(s->session_name), 0);
    rc |= tycho_buf_puts(&body, "&WebIdentityToken=");
    rc |= tycho_sigv4_uri_encode(&body, tok, strlen(tok), 0);
    wipe_free(tok);
    tycho_http_header_t h[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                               {"Accept", "text/xml"}};
    if (rc || send_req(s, "POST", s->url, h, 2, body.data, body.len, on_sts) != 0)
        fail(s, "web-identity: cannot start the STS request");
    if (body.data) memset(body.data, 0, body.len);
    tycho_buf_free(&body);
}

/* --- container (ECS / EKS Pod Identity) ---------------------------------- */

int tycho_aws_container_host_allowed(const char *ip)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1)
        return a[0] == 127 ||
               (a[0] == 169 && a[1] == 254 && a[2] == 170 && (a[3] == 2 || a[3] == 23));
    if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const unsigned char ecs[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0,
                                              0,    0, 0,    0,    0, 0, 0, 0x23};
        static const unsigned char v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4map, 12) == 0) {
            char v4[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, a + 12, v4, sizeof v4);
            return tycho_aws_container_host_allowed(v4);
        }
        return memcmp(a, lo, 16) == 0 || memcmp(a, ecs, 16) == 0;
    }
    return 0;
}

static void on_container(const tycho_http_response_t *res, void *ud)
{
    http_src_t *s = ud;
    s->req = NULL;
    char msg[300];
    if (res->error || res->status != 200) {
        if (res->error) {
            snprintf(msg, sizeof msg, "container: %s", res->error_message);
        } else {
            cJSON *j = cJSON_ParseWithLength(res->body, res->body_len);
            const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "code"));
            const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
            char text[161];
            tycho_aws_scrub(m ? m : "", m ? strlen(m) : 0, text, sizeof text);
            snprintf(msg, sizeof msg, "container: credentials endpoint HTTP %ld %.64s %s",
                     res->status, code ? code : "", text);
            cJSON_Delete(j);
        }
        if (transient(res))
            retry_or_fail(s, msg);
        else
            fail(s, "%s", msg);
        return;
    }
    finish_json(s, "container", res);
}

static void send_container(http_src_t *s)
{
    char *tok = NULL;
    if (s->auth_token_file) {
        tok = read_file(s->auth_token_file, 16 * 1024);
        if (!tok) {
            fail(s, "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s",
                 s->auth_token_file);
            return;
        }
    } else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        tok = strdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
        if (!tok) {
            fail(s, "container: out of memory");
            return;
        }
    }
    if (tok && strpbrk(tok, "\r\n")) {
        wipe_free(tok);
        fail(s, "container: the authorization token contains CR or LF; refused");
        return;
    }
    tycho_http_header_t h[] = {{"Authorization", tok ? tok : ""}, {"Accept", "application/json"}};
    int rc = tok ? send_req(s, "GET", s->url, h, 2, NULL, 0, on_container)
                 : send_req(s, "GET", s->url, h + 1, 1, NULL, 0, on_container);
    wipe_free(tok);
    if (rc) fail(s, "container: cannot start the request");
}

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    gai_ctx_t *g = req->data;
    http_src_t *s = g->s;
    int ok = status == 0 && res != NULL;
    char bad[INET6_ADDRSTRLEN] = "";
    for (struct addrinfo *a = res; ok && a; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *addr = a->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        inet_ntop(a->ai_family, addr, ip, sizeof ip);
        if (!tycho_aws_container_host_allowed(ip)) {
            ok = 0;
            snprintf(bad, sizeof bad, "%s", ip);
        }
    }
    if (res) uv_freeaddrinfo(res);
    free(g);
    if (!s) return; /* cancelled */
    s->gai = NULL;
    if (status != 0)
        fail(s, "container: cannot resolve %s: %s", s->check_host, uv_strerror(status));
    else if (!ok)
        fail(s, "container: %s resolves to %s, which is not an allowed address for http://",
             s->check_host, bad);
    else
        send_container(s);
}

static void begin_container(http_src_t *s)
{
    if (!s->check_host[0]) {
        send_container(s);
        return;
    }
    gai_ctx_t *g = calloc(1, sizeof *g);
    if (!g) {
        fail(s, "container: out of memory");
        return;
    }
    g->s = s;
    g->req.data = g;
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    if (uv_getaddrinfo(s->loop, &g->req, on_gai, s->check_host, NULL, &hints) != 0) {
        free(g);
        fail(s, "container: cannot resolve %s", s->check_host);
        return;
    }
    s->gai = g;
}

/* --- EC2 IMDSv2 ---------------------------------------------------------- */

static void imds_next(http_src_t *s);

static void on_imds(const tycho_http_response_t *res, void *ud)
{
    http_src_t *s = ud;
    s->req = NULL;
    char msg[300];
    if (s->step == 0) { /* token */
        if (!res->error && res->status == 200 && res->body_len && res->body_len < 4096) {
            free(s->imds_token);
            s->imds_token = strndup(res->body, res->body_len);
            s->step = 1;
            s->attempt = 0;
            imds_next(s);
            return;
        }
        /* v1 fallback: 403/404/405, or a lost PUT reply (hop limit 1 in a
         * container shows up as a read timeout) */
        int fallback =
            (!res->error && (res->status == 403 || res->status == 404 || res->status == 405)) ||
            res->error == TYCHO_HTTP_E_TIMEOUT;
        if (fallback && !s->v1_disabled) {
            s->use_v1 = 1;
            s->step = 1;
            s->attempt = 0;
            imds_next(s);
            return;
        }
        if (res->error)
            snprintf(msg, sizeof msg, "imds: token request: %s", res->error_message);
        else
            snprintf(msg, sizeof msg, "imds: token request HTTP %ld", res->status);
        if (transient(res))
            retry_or_fail(s, msg);
        else
            fail(s, "%s", msg);
        return;
    }
    if (res->error || res->status != 200) {
        if (res->error)
            snprintf(msg, sizeof msg, "imds: %s", res->error_message);
        else if (s->step == 1 && res->status == 404)
            snprintf(msg, sizeof msg, "imds: no IAM role attached to this instance");
        else
            snprintf(msg, sizeof msg, "imds: %s HTTP %ld", s->step == 1 ? "role" : "credentials",
                     res->status);
        if (transient(res))
            retry_or_fail(s, msg);
        else
            fail(s, "%s", msg);
        return;
    }
    if (s->step == 1) {
        size_t n = strcspn(res->body, "\r\n");
        if (n == 0 || n >= sizeof s->role) {
            fail(s, "imds: empty or oversized role name");
            return;
        }
        memcpy(s->role, res->body, n);
        s->role[n] = '\0';
        s->step = 2;
        s->attempt = 0;
        imds_next(s);
        return;
    }
    finish_json(s, "imds", res);
}

static void imds_next(http_src_t *s)
{
    char url[600];
    tycho_http_header_t h[1];
    size_t nh = 0;
    int rc;
    if (s->step == 0) {
        snprintf(url, sizeof url, "%s/latest/api/token", s->url);
        h[0] = (tycho_http_header_t){"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
        rc = send_req(s, "PUT", url, h, 1, NULL, 0, on_imds);
    } else {
        if (s->step == 1)
            snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", s->url);
        else
            snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", s->url,
                     s->role);
        if (!s->use_v1 && s->imds_token)
            h[nh++] = (tycho_http_header_t){"X-aws-ec2-metadata-token", s->imds_token};
        rc = send_req(s, "GET", url, h, nh, NULL, 0, on_imds);
    }
    if (rc) fail(s, "imds: cannot start the request");
}

/* --- source plumbing ----------------------------------------------------- */

static void begin(http_src_t *s)
{
    if (!s->p) return;
    switch (s->kind) {
    case WEB_IDENTITY:
        begin_web_identity(s);
        break;
    case CONTAINER:
        begin_container(s);
        break;
    case IMDS:
        imds_next(s);
        break;
    }
}

static void src_fetch(tycho_aws_creds_provider_t *p, void *ud)
{
    http_src_t *s = ud;
    s->p = p;
    s->attempt = 0;
    s->step = 0;
    s->use_v1 = 0;
    begin(s);
}

static void src_cancel(void *ud)
{
    http_src_t *s = ud;
    s->p = NULL;
    if (s->req) tycho_http_cancel(s->req);
    s->req = NULL;
    if (s->gai) s->gai->s = NULL; /* its callback frees it */
    s->gai = NULL;
    uv_timer_stop(&s->retry);
}

static void on_src_closed(uv_handle_t *h)
{
    http_src_t *s = h->data;
    free(s->url);
    free(s->token_file);
    free(s->role_arn);
    free(s->session_name);
    free(s->auth_token_file);
    wipe_free(s->imds_token);
    free(s);
}

static void src_destroy(void *ud)
{
    http_src_t *s = ud;
    src_cancel(s);
    uv_close((uv_handle_t *)&s->retry, on_src_closed);
}

static http_src_t *src_new(enum kind k, uv_loop_t *loop, tycho_http_client_t *http,
                           tycho_aws_creds_source_t *out, const char *name)
{
    http_src_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->kind = k;
    s->loop = loop;
    s->http = http;
    uv_timer_init(loop, &s->retry);
    s->retry.data = s;
    memset(out, 0, sizeof *out);
    out->name = name;
    out->fetch = src_fetch;
    out->cancel = src_cancel;
    out->destroy = src_destroy;
    out->ud = s;
    return s;
}

int tycho_aws_source_web_identity(uv_loop_t *loop, tycho_http_client_t *http,
                                  const tycho_aws_profile_t *prof, tycho_aws_creds_source_t *out,
                                  char *err, size_t errlen)
{
    const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *arn = env("AWS_ROLE_ARN");
    const char *sess = env("AWS_ROLE_SESSION_NAME");
    if (!file || !arn) {
        file = tycho_aws_profile_get(prof, "web_identity_token_file");
        arn = tycho_aws_profile_get(prof, "role_arn");
        sess = tycho_aws_profile_get(prof, "role_session_name");
        if (!file || !arn) return 0;
    }
    char region[64] = "";
    tycho_aws_region(prof, region, sizeof region);
    tycho_aws_endpoint_t ep;
    char why[300];
    if (region[0]) {
        if (tycho_aws_endpoint_resolve("sts", region, NULL, prof, &ep, why, sizeof why) != 0) {
            snprintf(err, errlen, "aws credentials: web identity: %s", why);
            return -EINVAL;
        }
    } else {
        /* no region: the global endpoint, unless one is configured */
        const char *e = env("AWS_ENDPOINT_URL_STS");
        if (!e) e = env("AWS_ENDPOINT_URL");
        if (tycho_aws_endpoint_parse(e ? e : "https://sts.amazonaws.com", &ep) != 0) {
            snprintf(err, errlen, "aws credentials: web identity: bad STS endpoint URL");
            return -EINVAL;
        }
    }
    char gen[64];
    if (!sess) {
        snprintf(gen, sizeof gen, "tycho-%lld", (long long)time(NULL));
        sess = gen;
    }
    http_src_t *s = src_new(WEB_IDENTITY, loop, http, out, "web-identity");
    if (!s) goto oom;
    s->url = strdup(ep.url);
    s->token_file = strdup(file);
    s->role_arn = strdup(arn);
    s->session_name = strdup(sess);
    s->max_attempts = 3;
    s->timeout_ms = 5000;
    s->retry_delay_ms = 200;
    if (!s->url || !s->token_file || !s->role_arn || !s->session_name) {
        src_destroy(s);
        goto oom;
    }
    return 1;
oom:
    snprintf(err, errlen, "aws credentials: out of memory");
    return -ENOMEM;
}

/* hostname of an http(s) URL (no port, no brackets) into out */
static int url_hostname(const char *url, char *out, size_t n)
{
    tycho_aws_endpoint_t ep;
    if (tycho_aws_endpoint_parse(url, &ep) != 0) return -EINVAL;
    const char *h = ep.host;
    size_t len;
    if (h[0] == '[') {
        h++;
        len = strcspn(h, "]");
    } else {
        len = strcspn(h, ":");
    }
    if (len >= n) return -EINVAL;
    memcpy(out, h, len);
    out[len] = '\0';
    return ep.https;
}

int tycho_aws_source_container(uv_loop_t *loop, tycho_http_client_t *http,
                               tycho_aws_creds_source_t *out, char *err, size_t errlen)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full) return 0;
    /* the token itself is sent as read at each fetch; only its form can be
     * checked here (a token file may not exist yet) */
    const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (token && strpbrk(token, "\r\n")) {
        snprintf(err, errlen, "AWS_CONTAINER_AUTHORIZATION_TOKEN: contains CR or LF; refused");
        return -EINVAL;
    }
    char url[2048], check[256] = "";
    if (rel) {
        const char *host = env("TYCHO_ECS_CREDENTIALS_HOST");
        snprintf(url, sizeof url, "http://%s%s%s", host ? host : "169.254.170.2",
                 rel[0] == '/' ? "" : "/", rel);
        tycho_aws_endpoint_t ep;
        if (tycho_aws_endpoint_parse(url, &ep) != 0) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: does not make an http://host/path "
                     "URL%s",
                     host ? " with TYCHO_ECS_CREDENTIALS_HOST" : "");
            return -EINVAL;
        }
    } else {
        char hn[256];
        int https = url_hostname(full, hn, sizeof hn);
        if (https < 0) {
            snprintf(err, errlen,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI: not an http(s)://host[:port]/path URL");
            return -EINVAL;
        }
        if (!https) {
            unsigned char a[16];
            int literal = inet_pton(AF_INET, hn, a) == 1 || inet_pton(AF_INET6, hn, a) == 1;
            if (literal && !tycho_aws_container_host_allowed(hn)) {
                snprintf(err, errlen,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI: http:// is only allowed to loopback, "
                         "169.254.170.2, 169.254.170.23 or fd00:ec2::23, not %s",
                         hn);
                return -EINVAL;
            }
            if (!literal) snprintf(check, sizeof check, "%s", hn);
        }
        snprintf(url, sizeof url, "%s", full);
    }
    http_src_t *s = src_new(CONTAINER, loop, http, out, "container");
    if (!s) goto oom;
    s->url = strdup(url);
    snprintf(s->check_host, sizeof s->check_host, "%s", check);
    const char *tf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (tf && !(s->auth_token_file = strdup(tf))) s->url = (free(s->url), NULL);
    s->max_attempts = 3;
    s->timeout_ms = 2000;
    s->retry_delay_ms = 1000;
    if (!s->url) {
        src_destroy(s);
        goto oom;
    }
    return 1;
oom:
    snprintf(err, errlen, "aws credentials: out of memory");
    return -ENOMEM;
}

int tycho_aws_source_imds(uv_loop_t *loop, tycho_http_client_t *http, tycho_aws_creds_source_t *out,
                          char *err, size_t errlen)
{
    if (truthy(env("AWS_EC2_METADATA_DISABLED"))) return 0;
    const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!ep)
        ep = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]"
                                                   : "http://169.254.169.254";
    tycho_aws_endpoint_t parsed;
    if (tycho_aws_endpoint_parse(ep, &parsed) != 0) {
        snprintf(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT: not an http(s) URL");
        return -EINVAL;
    }
    /* decimal only: atof read "0x10" as 16 s and "inf" as a timeout that
     * overflowed long, atoi "abc" as 0 (then 1) */
    uint64_t timeout_ms = 1000;
    long attempts = 1;
    char tv[64], av[64];
    int tset = tycho_config_env_trimmed("AWS_METADATA_SERVICE_TIMEOUT", tv, sizeof tv, err, errlen);
    int aset = tset < 0 ? 0
                        : tycho_config_env_trimmed("AWS_METADATA_SERVICE_NUM_ATTEMPTS", av,
                                                   sizeof av, err, errlen);
    if (tset < 0 || aset < 0) return -EINVAL;
    if (tset && (tycho_parse_duration_ms(tv, 1000, &timeout_ms) != 0 || timeout_ms == 0 ||
                 timeout_ms > 3600000)) {
        snprintf(err, errlen,
                 "AWS_METADATA_SERVICE_TIMEOUT: not a timeout from 1ms to 1h (decimal seconds, or "
                 "with a unit: 500ms, 2s): %s",
                 tv);
        return -EINVAL;
    }
    if (aset && tycho_parse_count(av, 1, 50, &attempts) != 0) {
        snprintf(err, errlen,
                 "AWS_METADATA_SERVICE_NUM_ATTEMPTS: must be between 1 and 50 (decimal digits): %s",
                 av);
        return -EINVAL;
    }
    http_src_t *s = src_new(IMDS, loop, http, out, "imds");
    if (!s) goto oom;
    out->outlives_expiry = 1;
    s->url = strdup(ep);
    if (!s->url) {
        src_destroy(s);
        goto oom;
    }
    size_t n = strlen(s->url);
    while (n && s->url[n - 1] == '/')
        s->url[--n] = '\0';
    s->v1_disabled = truthy(env("AWS_EC2_METADATA_V1_DISABLED"));
    s->timeout_ms = (long)timeout_ms;
    s->max_attempts = (int)attempts;
    s->retry_delay_ms = 100;
    return 1;
oom:
    snprintf(err, errlen, "aws credentials: out of memory");
    return -ENOMEM;
}
