#include "exporters/export_config.h"
#include "core/log.h"
#include "core/percent.h"
#include "core/units.h"
#include "http/token.h"
#include "http/url_redact.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef TYCHO_VERSION
#define TYCHO_VERSION "0.0.0"
#endif

typedef struct ctx {
    tycho_export_env_fn env;
    void *ud;
    void (*warn)(const char *msg, void *ud);
    char *err;
    size_t errlen;
} ctx_t;

static void fail(ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ctx_t *x, const char *fmt, ...)
{
    if (!x->err || !x->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
}

/* An empty value counts as unset, as the OTel spec says for every variable. */
static const char *get(ctx_t *x, const char *name)
{
    const char *v = x->env ? x->env(name, x->ud) : getenv(name);
    return v && *v ? v : NULL;
}

/* --- small helpers ----------------------------------------------------- */

void tycho_export_kvs_free(tycho_export_kvs_t *kvs)
{
    if (!kvs) return;
    for (size_t i = 0; i < kvs->n; i++) {
        free(kvs->items[i].key);
        free(kvs->items[i].value);
    }
    free(kvs->items);
    kvs->items = NULL;
    kvs->n = 0;
}

const char *tycho_export_kvs_get(const tycho_export_kvs_t *kvs, const char *key)
{
    for (size_t i = 0; i < kvs->n; i++)
        if (strcmp(kvs->items[i].key, key) == 0) return kvs->items[i].value;
    return NULL;
}

int tycho_export_kvs_set(tycho_export_kvs_t *kvs, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v) return -ENOMEM;
    for (size_t i = 0; i < kvs->n; i++)
        if (strcmp(kvs->items[i].key, key) == 0) {
            free(kvs->items[i].value);
            kvs->items[i].value = v;
            return 0;
        }
    char *k = strdup(key);
    tycho_export_kv_t *items = k ? realloc(kvs->items, (kvs->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    kvs->items = items;
    items[kvs->n].key = k;
    items[kvs->n].value = v;
    kvs->n++;
    return 0;
}

int tycho_export_percent_decode(const char *s, size_t n, char *out, size_t *outlen)
{
    ssize_t len = tycho_percent_decode(s, n, out, TYCHO_PCT_STRICT);
    if (len < 0) return -1;
    out[len] = 0;
    if (outlen) *outlen = (size_t)len;
    return 0;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* The messages name an entry by its position and its key, never by its
 * value: OTEL_EXPORTER_OTLP_HEADERS values are credentials. */
int tycho_export_parse_kv_list(const char *s, tycho_export_kvs_t *out, char *err, size_t errlen)
{
    const char *p = s;
    for (int nth = 1; *p; nth++) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *b = p, *e = end;
        trim(&b, &e);
        if (b < e) {
            const char *eq = memchr(b, '=', (size_t)(e - b));
            if (!eq) {
                snprintf(err, errlen,
                         "entry %d has no '=' (key=value expected; the entry is not "
                         "shown: it may hold a secret)",
                         nth);
                return -1;
            }
            const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
            trim(&kb, &ke);
            trim(&vb, &ve);
            if (kb == ke) {
                snprintf(err, errlen, "entry %d has an empty key", nth);
                return -1;
            }
            char *k = malloc((size_t)(ke - kb) + 1), *v = malloc((size_t)(ve - vb) + 1);
            size_t kl = 0, vl = 0;
            int bad = !k || !v;
            /* a %00 is refused too: the key or value would end there (an
             * empty key taken, a value silently cut) */
            if (!bad && (tycho_export_percent_decode(kb, (size_t)(ke - kb), k, &kl) != 0 ||
                         strlen(k) != kl))
                bad = 2;
            if (!bad && (tycho_export_percent_decode(vb, (size_t)(ve - vb), v, &vl) != 0 ||
                         strlen(v) != vl))
                bad = 3;
            if (!bad && tycho_export_kvs_set(out, k, v) != 0) bad = 1;
            free(k);
            free(v);
            if (bad == 1) snprintf(err, errlen, "out of memory");
            if (bad == 2) snprintf(err, errlen, "entry %d: bad percent-encoding in its key", nth);
            if (bad == 3)
                snprintf(err, errlen, "bad percent-encoding in the value of \"%.*s\"",
                         (int)(ke - kb), kb);
            if (bad) return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

/* --- URLs ---------------------------------------------------------------- */

/* Where url's path starts (at its '/', '?', '#' or end): after the
 * authority, which follows "://" (else the start). */
static const char *path_start(const char *url)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    return auth + strcspn(auth, "/?#");
}

char *tycho_export_url_join(const char *base, const char *segment)
{
    const char *path = path_start(base);
    size_t pre = (size_t)(path - base) + strcspn(path, "?#"); /* up to the path's end */
    const char *query = base[pre] == '?' ? base + pre : "";
    size_t qlen = strcspn(query, "#");
    int slash = pre > (size_t)(path - base) && base[pre - 1] == '/';
    size_t n = pre + !slash + strlen(segment) + qlen + 1;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%.*s%s%s%.*s", (int)pre, base, slash ? "" : "/", segment, (int)qlen, query);
    return u;
}

char *tycho_export_otlp_traces_url(const char *generic, const char *specific)
{
    if (specific && *specific) {
        /* As is; only an empty path becomes "/". */
        const char *path = path_start(specific);
        return *path == '/' ? strdup(specific) : tycho_export_url_join(specific, "");
    }
    if (!generic || !*generic) return NULL;
    return tycho_export_url_join(generic, "v1/traces");
}

static void target_free(tycho_export_target_t *t)
{
    free(t->url);
    free(t->display);
    free(t->host);
    free(t->path);
    free(t->query);
    tycho_export_kvs_free(&t->headers);
    memset(t, 0, sizeof *t);
}

/* The error for a URL of another scheme. The URL is shown redacted: its
 * userinfo and query may be credentials. */
static void not_http_url(const char *url, char *err, size_t errlen)
{
    char shown[512];
    tycho_url_redact(url, shown, sizeof shown);
    snprintf(err, errlen, "not an http:// or https:// URL: %s", shown);
}

int tycho_export_target_set_url(tycho_export_target_t *t, const char *url, char *err, size_t errlen)
{
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            snprintf(err, errlen, "control character or space in URL");
            return -1;
        }
    int https;
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        https = 0;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        https = 1;
        p = url + 8;
    } else {
        not_http_url(url, err, errlen);
        return -1;
    }
    const char *auth_end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *c = p; c < auth_end; c++)
        if (*c == '@') at = c;
    const char *hb = at ? at + 1 : p;
    if (hb == auth_end) {
        snprintf(err, errlen, "no host in URL");
        return -1;
    }
    /* host and optional port; drop a port that is the scheme's default */
    const char *port = NULL;
    if (*hb == '[') {
        const char *rb = memchr(hb, ']', (size_t)(auth_end - hb));
        if (!rb) {
            snprintf(err, errlen, "bad IPv6 host in URL");
            return -1;
        }
        if (rb + 1 < auth_end) {
            if (rb[1] != ':') {
                snprintf(err, errlen, "bad host in URL");
                return -1;
            }
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(hb, ':', (size_t)(auth_end - hb));
        if (colon) port = colon + 1;
    }
    const char *host_end = port ? port - 1 : auth_end;
    if (host_end == hb) {
        snprintf(err, errlen, "no host in URL");
        return -1;
    }
    long portnum = -1;
    if (port) {
        if (port == auth_end) {
            port = NULL; /* "host:" */
        } else {
            char pbuf[8];
            size_t pl = (size_t)(auth_end - port);
            if (pl >= sizeof pbuf) {
                snprintf(err, errlen, "bad port in URL");
                return -1;
            }
            memcpy(pbuf, port, pl);
            pbuf[pl] = 0;
            unsigned long long pv;
            if (parse_uint(pbuf, 65535, &pv) != 0 || pv == 0) {
                snprintf(err, errlen, "bad port in URL");
                return -1;
            }
            portnum = (long)pv;
        }
    }
    int keep_port = portnum > 0 && portnum != (https ? 443 : 80);

    const char *path = auth_end;
    const char *qmark = NULL, *frag = strchr(path, '#');
    const char *path_end = frag ? frag : path + strlen(path);
    qmark = memchr(path, '?', (size_t)(path_end - path));
    const char *pe = qmark ? qmark : path_end;

    tycho_export_target_t n = {0};
    size_t hl = (size_t)(host_end - hb);
    n.host = malloc(hl + 8);
    n.path = pe > path ? strndup(path, (size_t)(pe - path)) : strdup("/");
    n.query = qmark ? strndup(qmark + 1, (size_t)(path_end - qmark - 1)) : NULL;
    /* The request URL: the fragment is never sent. */
    n.url = strndup(url, (size_t)(path_end - url));
    size_t dl = (size_t)(p - url) + (size_t)(auth_end - hb) + strlen(n.path ? n.path : "") + 1;
    n.display = malloc(dl);
    if (!n.host || !n.path || (qmark && !n.query) || !n.url || !n.display) {
        target_free(&n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < hl; i++)
        n.host[i] = (char)tolower((unsigned char)hb[i]);
    n.host[hl] = 0;
    if (keep_port) snprintf(n.host + hl, 8, ":%ld", portnum);
    snprintf(n.display, dl, "%.*s%.*s%s", (int)(p - url), url, (int)(auth_end - hb), hb, n.path);

    free(t->url);
    free(t->display);
    free(t->host);
    free(t->path);
    free(t->query);
    t->url = n.url;
    t->display = n.display;
    t->host = n.host;
    t->path = n.path;
    t->query = n.query;
    return 0;
}

static int valid_region(const char *r)
{
    if (!*r) return 0;
    for (const char *c = r; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-')) return 0;
    return 1;
}

int tycho_export_aws_host(const char *host, char *service, size_t slen, char *region, size_t rlen)
{
    char h[256];
    size_t hl = strcspn(host, ":");
    if (hl >= sizeof h) return -1;
    memcpy(h, host, hl);
    h[hl] = 0;
    const char *suffixes[] = {".amazonaws.com", ".amazonaws.com.cn", ".api.aws"};
    size_t base = 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (hl > sl && strcmp(h + hl - sl, suffixes[i]) == 0) {
            base = hl - sl;
            break;
        }
    }
    if (!base) return -1;
    h[base] = 0; /* "<svc>.<region>" */
    char *dot = strchr(h, '.');
    if (!dot || dot == h || strchr(dot + 1, '.')) return -1; /* no empty service label */
    *dot = 0;
    const char *svc = h, *reg = dot + 1;
    if (!valid_region(reg)) return -1;
    if (strcmp(svc, "aps-workspaces") == 0) svc = "aps";
    snprintf(service, slen, "%s", svc);
    snprintf(region, rlen, "%s", reg);
    return 0;
}

/* --- per-target settings --------------------------------------------------- */

static int valid_token(const char *s)
{
    if (!*s) return 0;
    for (const char *c = s; *c; c++)
        if (!tycho_http_is_tchar((unsigned char)*c)) return 0;
    return 1;
}

static int valid_header_value(const char *s)
{
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t') return 0;
    return 1;
}

/* SigV4 settings of a target: explicit service (or "none"), else inferred
 * from the host when it is an AWS endpoint of the expected service. */
static int sigv4_settings(ctx_t *x, tycho_export_target_t *t, const char *svc_var,
                          const char *region_var, const char *expected)
{
    char hsvc[64] = "", hreg[64] = "";
    int aws = tycho_export_aws_host(t->host, hsvc, sizeof hsvc, hreg, sizeof hreg) == 0;
    const char *svc = get(x, svc_var);
    if (svc) {
        if (strcasecmp(svc, "none") == 0 || strcasecmp(svc, "off") == 0) return 0;
        size_t n = strlen(svc);
        if (n >= sizeof t->sigv4_service) goto bad_service;
        for (const char *c = svc; *c; c++)
            if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
                goto bad_service;
        snprintf(t->sigv4_service, sizeof t->sigv4_service, "%s", svc);
    } else if (aws && strcmp(hsvc, expected) == 0) {
        memcpy(t->sigv4_service, expected, strlen(expected) + 1); /* "aps" / "xray" */
    } else {
        return 0;
    }
    const char *region = get(x, region_var);
    if (!region && aws) region = hreg;
    if (!region) region = get(x, "AWS_REGION");
    if (!region) region = get(x, "AWS_DEFAULT_REGION");
    if (!region) {
        fail(x, "%s: SigV4 signing (service %s) needs a region: set AWS_REGION or %s", svc_var,
             t->sigv4_service, region_var);
        return -1;
    }
    if (!valid_region(region) || strlen(region) >= sizeof t->sigv4_region) {
        fail(x, "%s: not a region name: %s", region_var, region);
        return -1;
    }
    snprintf(t->sigv4_region, sizeof t->sigv4_region, "%s", region);
    return 0;
bad_service:
    fail(x, "%s: not a SigV4 service name (lowercase letters, digits, '-', or none): %s", svc_var,
         svc);
    return -1;
}

/* The accepted form, for the messages: a bare number counts unit ms. */
static const char *duration_form(uint64_t unit)
{
    return unit == 1 ? "decimal milliseconds, or with a unit: 500ms, 2s"
                     : "decimal seconds, or with a unit: 500ms, 2s";
}

static int timeout_setting(ctx_t *x, const char *var, uint64_t unit, long *out)
{
    const char *v = get(x, var);
    if (!v) return 0;
    uint64_t ms;
    if (tycho_parse_duration_ms(v, unit, &ms) != 0 || ms == 0 || ms > 3600000) {
        fail(x, "%s: not a timeout between 1 ms and 1 h: %s (%s)", var, v, duration_form(unit));
        return -1;
    }
    *out = (long)ms;
    return 0;
}

static int duration_setting(ctx_t *x, const char *var, uint64_t unit, uint64_t min_ms,
                            uint64_t max_ms, uint64_t *out)
{
    const char *v = get(x, var);
    if (!v) return 0;
    uint64_t ms;
    if (tycho_parse_duration_ms(v, unit, &ms) != 0 || ms < min_ms || ms > max_ms) {
        fail(x, "%s: not a duration between %llu ms and %llu ms: %s (%s)", var,
             (unsigned long long)min_ms, (unsigned long long)max_ms, v, duration_form(unit));
        return -1;
    }
    *out = ms;
    return 0;
}

static int count_setting(ctx_t *x, const char *var, unsigned long long min, unsigned long long max,
                         size_t *out)
{
    const char *v = get(x, var);
    if (!v) return 0;
    unsigned long long n;
    if (parse_uint(v, max, &n) != 0 || n < min) {
        fail(x, "%s: not an integer between %llu and %llu: %s (decimal digits)", var, min, max, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* Whether the n bytes at value (of var) are word. The values of the OTEL_*
 * variables are read in any case, as the OpenTelemetry spec asks of its
 * enums; tycho's own, as all its settings, exactly. */
static int enum_is(const char *var, const char *value, size_t n, const char *word)
{
    int otel = strncmp(var, "OTEL_", 5) == 0;
    return strlen(word) == n && (otel ? strncasecmp(value, word, n) : strncmp(value, word, n)) == 0;
}

/* value (of var) is one of two words: *out 0 for the first, 1 for the
 * second; untouched when value is NULL. Anything else fails. */
static int choice_setting(ctx_t *x, const char *var, const char *value, const char *first,
                          const char *second, int *out)
{
    if (!value) return 0;
    size_t n = strlen(value);
    if (enum_is(var, value, n, first) || enum_is(var, value, n, second)) {
        *out = enum_is(var, value, n, second);
        return 0;
    }
    fail(x, "%s: %s or %s, not %s", var, first, second, value);
    return -1;
}

static int url_setting(ctx_t *x, tycho_export_target_t *t, const char *var, const char *url)
{
    char why[200];
    if (tycho_export_target_set_url(t, url, why, sizeof why) != 0) {
        fail(x, "%s: %s", var, why);
        return -1;
    }
    return 0;
}

static int check_headers(ctx_t *x, const char *var, const tycho_export_kvs_t *h, int signed_)
{
    static const char *const reserved[] = {"host",
                                           "content-length",
                                           "content-type",
                                           "content-encoding",
                                           "transfer-encoding",
                                           "connection",
                                           "expect",
                                           "x-amz-date",
                                           "x-amz-security-token",
                                           "x-amz-content-sha256"};
    for (size_t i = 0; i < h->n; i++) {
        const char *k = h->items[i].key;
        if (!valid_token(k)) {
            fail(x, "%s: not a header name: \"%s\"", var, k);
            return -1;
        }
        if (!valid_header_value(h->items[i].value)) {
            fail(x, "%s: control character in the value of %s", var, k);
            return -1;
        }
        for (size_t j = 0; j < sizeof reserved / sizeof reserved[0]; j++)
            if (strcasecmp(k, reserved[j]) == 0) {
                fail(x, "%s: %s is set by the exporter and cannot be overridden", var, k);
                return -1;
            }
        if (signed_ && strcasecmp(k, "authorization") == 0) {
            fail(x, "%s: Authorization conflicts with SigV4 signing", var);
            return -1;
        }
    }
    return 0;
}

/* --- signals --------------------------------------------------------------- */

static int load_retry(ctx_t *x, tycho_export_config_t *c)
{
    c->retry.backoff_min_ms = 500;
    c->retry.backoff_max_ms = 30000;
    c->retry.max_retries = 10;
    c->retry.retry_after_max_ms = 300000;
    size_t n = c->retry.max_retries;
    if (duration_setting(x, "TYCHO_EXPORT_BACKOFF_MIN", 1000, 1, 3600000,
                         &c->retry.backoff_min_ms) ||
        duration_setting(x, "TYCHO_EXPORT_BACKOFF_MAX", 1000, 1, 3600000,
                         &c->retry.backoff_max_ms) ||
        duration_setting(x, "TYCHO_EXPORT_RETRY_AFTER_MAX", 1000, 0, 3600000,
                         &c->retry.retry_after_max_ms) ||
        count_setting(x, "TYCHO_EXPORT_MAX_RETRIES", 0, 1000, &n))
        return -1;
    c->retry.max_retries = (unsigned)n;
    if (c->retry.backoff_max_ms < c->retry.backoff_min_ms) {
        fail(x, "TYCHO_EXPORT_BACKOFF_MAX: smaller than TYCHO_EXPORT_BACKOFF_MIN");
        return -1;
    }
    return 0;
}

/* OTEL_RESOURCE_ATTRIBUTES into out; on a decoding error the whole
 * variable is discarded (the spec), with a warning when warn is set. */
static void resource_attributes(ctx_t *x, tycho_export_kvs_t *out, int warn)
{
    const char *ra = get(x, "OTEL_RESOURCE_ATTRIBUTES");
    char why[200];
    if (!ra || tycho_export_parse_kv_list(ra, out, why, sizeof why) == 0) return;
    tycho_export_kvs_free(out);
    if (warn && x->warn) {
        char msg[300];
        snprintf(msg, sizeof msg, "OTEL_RESOURCE_ATTRIBUTES ignored: %s", why);
        x->warn(msg, x->ud);
    }
}

/* The one place the service's name is chosen, for every signal: the trace
 * resource, the log lines, the Loki streams: OTEL_SERVICE_NAME, else
 * service.name in the attributes (an empty one counts as unset), else
 * TYCHO_SERVICE_NAME_DEFAULT. */
static const char *resolve_service(ctx_t *x, const tycho_export_kvs_t *attrs)
{
    const char *sn = get(x, "OTEL_SERVICE_NAME");
    if (sn) return sn;
    const char *from_ra = tycho_export_kvs_get(attrs, "service.name");
    return from_ra && *from_ra ? from_ra : TYCHO_SERVICE_NAME_DEFAULT;
}

/* The resource (OTEL_RESOURCE_ATTRIBUTES, parsed once here) and the service
 * name every signal uses; read whether traces are exported or not. */
static int load_resource(ctx_t *x, tycho_export_config_t *c)
{
    tycho_export_kvs_t *r = &c->resource;
    resource_attributes(x, r, 1);
    if (!(c->service = strdup(resolve_service(x, r)))) return -ENOMEM; /* before r changes */
    if (tycho_export_kvs_set(r, "service.name", c->service)) return -ENOMEM;
    if (!tycho_export_kvs_get(r, "service.version") &&
        tycho_export_kvs_set(r, "service.version", TYCHO_VERSION))
        return -ENOMEM;
    if (tycho_export_kvs_set(r, "telemetry.sdk.name", "tycho") ||
        tycho_export_kvs_set(r, "telemetry.sdk.version", TYCHO_VERSION))
        return -ENOMEM;
    return 0;
}

static int load_traces(ctx_t *x, tycho_export_config_t *c)
{
    const char *dis = get(x, "OTEL_SDK_DISABLED");
    if (dis && strcasecmp(dis, "true") == 0) return 0;
    const char *evar = "OTEL_TRACES_EXPORTER", *exp = get(x, evar);
    if (exp) {
        /* A comma-separated list; "none" alone disables. */
        int otlp = 0, none = 0;
        const char *p = exp;
        while (*p) {
            const char *end = p + strcspn(p, ",");
            const char *b = p, *e = end;
            trim(&b, &e);
            size_t n = (size_t)(e - b);
            if (enum_is(evar, b, n, "otlp"))
                otlp = 1;
            else if (enum_is(evar, b, n, "none"))
                none = 1;
            else if (n) {
                fail(x, "OTEL_TRACES_EXPORTER: unsupported exporter \"%.*s\" (otlp or none)",
                     (int)n, b);
                return -1;
            }
            p = *end ? end + 1 : end;
        }
        if (!otlp || none) return 0;
    }
    const char *generic = get(x, "OTEL_EXPORTER_OTLP_ENDPOINT");
    const char *specific = get(x, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (!generic && !specific) return 0; /* nothing configured: nothing exported */
    const char *var =
        specific ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
    char *url = tycho_export_otlp_traces_url(generic, specific);
    if (!url) {
        fail(x, "%s: out of memory", var);
        return -1;
    }
    int rc = url_setting(x, &c->traces.target, var, url);
    free(url);
    if (rc) return -1;

    const char *proto = get(x, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    const char *pvar = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    if (!proto) {
        proto = get(x, "OTEL_EXPORTER_OTLP_PROTOCOL");
        pvar = "OTEL_EXPORTER_OTLP_PROTOCOL";
    }
    if (proto && !enum_is(pvar, proto, strlen(proto), "http/protobuf")) {
        fail(x, "%s: only http/protobuf is supported, not %s", pvar, proto);
        return -1;
    }
    const char *comp = get(x, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION");
    const char *cvar = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    if (!comp) {
        comp = get(x, "OTEL_EXPORTER_OTLP_COMPRESSION");
        cvar = "OTEL_EXPORTER_OTLP_COMPRESSION";
    }
    if (choice_setting(x, cvar, comp, "none", "gzip", &c->traces.gzip)) return -1;

    c->traces.target.timeout_ms = 10000;
    if (timeout_setting(x, "OTEL_EXPORTER_OTLP_TIMEOUT", 1, &c->traces.target.timeout_ms) ||
        timeout_setting(x, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 1, &c->traces.target.timeout_ms))
        return -1;
    if (sigv4_settings(x, &c->traces.target, "TYCHO_OTLP_SIGV4_SERVICE", "TYCHO_OTLP_SIGV4_REGION",
                       "xray"))
        return -1;

    const char *hvar = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    const char *hdrs = get(x, hvar);
    if (!hdrs) {
        hvar = "OTEL_EXPORTER_OTLP_HEADERS";
        hdrs = get(x, hvar);
    }
    if (hdrs) {
        char why[200];
        if (tycho_export_parse_kv_list(hdrs, &c->traces.target.headers, why, sizeof why) != 0) {
            fail(x, "%s: %s", hvar, why);
            return -1;
        }
        if (check_headers(x, hvar, &c->traces.target.headers, c->traces.target.sigv4_service[0]))
            return -1;
    }

    c->traces.schedule_delay_ms = 5000;
    c->traces.export_timeout_ms = 30000;
    c->traces.max_queue = 2048;
    c->traces.max_batch = 512;
    if (duration_setting(x, "OTEL_BSP_SCHEDULE_DELAY", 1, 1, 3600000,
                         &c->traces.schedule_delay_ms) ||
        duration_setting(x, "OTEL_BSP_EXPORT_TIMEOUT", 1, 1, 3600000,
                         &c->traces.export_timeout_ms) ||
        count_setting(x, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 1000000, &c->traces.max_queue) ||
        count_setting(x, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 1000000, &c->traces.max_batch))
        return -1;
    if (c->traces.max_batch > c->traces.max_queue) {
        fail(x, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: %zu is larger than OTEL_BSP_MAX_QUEUE_SIZE (%zu)",
             c->traces.max_batch, c->traces.max_queue);
        return -1;
    }
    const char *ecs = get(x, "ECS_CONTAINER_METADATA_URI_V4");
    if (ecs) {
        if (strncmp(ecs, "http://", 7) != 0 && strncmp(ecs, "https://", 8) != 0) {
            char why[600];
            not_http_url(ecs, why, sizeof why);
            fail(x, "ECS_CONTAINER_METADATA_URI_V4: %s", why);
            return -1;
        }
        if (!(c->traces.ecs_metadata_uri = strdup(ecs))) return -ENOMEM;
    }
    c->traces.enabled = 1;
    return 0;
}

static char *default_instance(ctx_t *x)
{
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    long port = 8080;
    const char *listen = get(x, "TYCHO_LISTEN");
    if (listen) {
        const char *colon = strrchr(listen, ':');
        const char *ps = colon ? colon + 1 : listen;
        unsigned long long pv;
        if (parse_uint(ps, 65535, &pv) == 0) port = (long)pv;
    }
    char buf[300];
    snprintf(buf, sizeof buf, "%s:%ld", host, port);
    return strdup(buf);
}

static int load_metrics(ctx_t *x, tycho_export_config_t *c)
{
    const char *url = get(x, "TYCHO_REMOTE_WRITE_URL");
    if (!url) return 0;
    tycho_export_target_t *t = &c->metrics.target;
    if (url_setting(x, t, "TYCHO_REMOTE_WRITE_URL", url)) return -1;
    t->timeout_ms = 30000;
    if (timeout_setting(x, "TYCHO_REMOTE_WRITE_TIMEOUT", 1000, &t->timeout_ms)) return -1;
    if (sigv4_settings(x, t, "TYCHO_REMOTE_WRITE_SIGV4_SERVICE", "TYCHO_REMOTE_WRITE_SIGV4_REGION",
                       "aps"))
        return -1;
    c->metrics.interval_ms = 15000;
    c->metrics.max_samples = 2000;
    c->metrics.max_pending = 1000;
    if (duration_setting(x, "TYCHO_REMOTE_WRITE_INTERVAL", 1000, 100, 86400000,
                         &c->metrics.interval_ms) ||
        count_setting(x, "TYCHO_REMOTE_WRITE_MAX_SAMPLES_PER_SEND", 1, 1000000,
                      &c->metrics.max_samples) ||
        count_setting(x, "TYCHO_REMOTE_WRITE_MAX_PENDING", 1, 1000000, &c->metrics.max_pending))
        return -1;
    const char *job = get(x, "TYCHO_REMOTE_WRITE_JOB");
    const char *inst = get(x, "TYCHO_REMOTE_WRITE_INSTANCE");
    c->metrics.job = strdup(job ? job : "tycho");
    c->metrics.instance = inst ? strdup(inst) : default_instance(x);
    if (!c->metrics.job || !c->metrics.instance) {
        fail(x, "TYCHO_REMOTE_WRITE_URL: out of memory");
        return -1;
    }
    c->metrics.enabled = 1;
    return 0;
}

static int valid_label_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_')) return 0;
    for (const char *c = s; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_')) return 0;
    return s[0] != '_' || s[1] != '_';
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const tycho_export_kv_t *)a)->key, ((const tycho_export_kv_t *)b)->key);
}

static int load_logs(ctx_t *x, tycho_export_config_t *c)
{
    const char *url = get(x, "TYCHO_LOKI_URL");
    if (!url) return 0;
    tycho_export_target_t *t = &c->logs.target;
    if (url_setting(x, t, "TYCHO_LOKI_URL", url)) return -1;
    t->timeout_ms = 10000;
    if (timeout_setting(x, "TYCHO_LOKI_TIMEOUT", 1000, &t->timeout_ms)) return -1;
    const char *labels = get(x, "TYCHO_LOKI_LABELS");
    if (labels) {
        char why[200];
        if (tycho_export_parse_kv_list(labels, &c->logs.labels, why, sizeof why) != 0) {
            fail(x, "TYCHO_LOKI_LABELS: %s", why);
            return -1;
        }
        for (size_t i = 0; i < c->logs.labels.n; i++) {
            const tycho_export_kv_t *kv = &c->logs.labels.items[i];
            if (!valid_label_name(kv->key)) {
                fail(x, "TYCHO_LOKI_LABELS: not a label name: \"%s\"", kv->key);
                return -1;
            }
            if (strcmp(kv->key, "service") == 0 || strcmp(kv->key, "level") == 0) {
                fail(x, "TYCHO_LOKI_LABELS: \"%s\" is set from each log line", kv->key);
                return -1;
            }
            if (!*kv->value) {
                fail(x, "TYCHO_LOKI_LABELS: empty value for \"%s\"", kv->key);
                return -1;
            }
        }
        if (c->logs.labels.n > 13) {
            fail(x,
                 "TYCHO_LOKI_LABELS: %zu labels; at most 13 (Loki allows 15 with service and "
                 "level)",
                 c->logs.labels.n);
            return -1;
        }
        /* a list of blanks (" , ") is no label: items is NULL, which qsort
         * must not be given even with a count of 0 (UBSan: nonnull) */
        if (c->logs.labels.n > 1)
            qsort(c->logs.labels.items, c->logs.labels.n, sizeof *c->logs.labels.items, cmp_kv);
    }
    const char *tenant = get(x, "TYCHO_LOKI_TENANT");
    if (tenant) {
        if (!valid_header_value(tenant)) {
            fail(x, "TYCHO_LOKI_TENANT: control character in the tenant");
            return -1;
        }
        if (tycho_export_kvs_set(&t->headers, "X-Scope-OrgID", tenant)) return -ENOMEM;
    }
    const char *fmt = "TYCHO_LOKI_FORMAT", *sm = "TYCHO_LOKI_STRUCTURED_METADATA";
    c->logs.structured_metadata = 1;
    if (choice_setting(x, fmt, get(x, fmt), "protobuf", "json", &c->logs.json) ||
        choice_setting(x, sm, get(x, sm), "off", "on", &c->logs.structured_metadata))
        return -1;
    c->logs.flush_interval_ms = 1000;
    c->logs.batch_bytes = 1 << 20;
    c->logs.max_queue = 10000;
    c->logs.max_line = 256 * 1024;
    const char *bb = get(x, "TYCHO_LOKI_BATCH_BYTES");
    if (bb && (tycho_parse_size(bb, &c->logs.batch_bytes) || c->logs.batch_bytes < 1024)) {
        fail(x, "TYCHO_LOKI_BATCH_BYTES: not a size of at least 1KiB: %s", bb);
        return -1;
    }
    const char *ml = get(x, "TYCHO_LOKI_MAX_LINE_BYTES");
    if (ml && (tycho_parse_size(ml, &c->logs.max_line) || c->logs.max_line < 64)) {
        fail(x, "TYCHO_LOKI_MAX_LINE_BYTES: not a size of at least 64 bytes: %s", ml);
        return -1;
    }
    if (duration_setting(x, "TYCHO_LOKI_FLUSH_INTERVAL", 1000, 1, 3600000,
                         &c->logs.flush_interval_ms) ||
        count_setting(x, "TYCHO_LOKI_MAX_QUEUE", 1, 10000000, &c->logs.max_queue))
        return -1;
    c->logs.enabled = 1;
    return 0;
}

int tycho_export_config_load(tycho_export_config_t *c, tycho_export_env_fn env, void *ud,
                             void (*warn)(const char *msg, void *ud), char *err, size_t errlen)
{
    ctx_t x = {env, ud, warn, err, errlen};
    memset(c, 0, sizeof *c);
    if (err && errlen) err[0] = 0;
    c->max_bytes = 64u << 20;
    const char *mb = get(&x, "TYCHO_TELEMETRY_MAX_BYTES");
    if (mb && (tycho_parse_size(mb, &c->max_bytes) || c->max_bytes < 65536)) {
        fail(&x, "TYCHO_TELEMETRY_MAX_BYTES: not a size of at least 64KiB: %s", mb);
        goto err;
    }
    if (load_resource(&x, c)) {
        fail(&x, "OTEL_RESOURCE_ATTRIBUTES: out of memory");
        goto err;
    }
    if (load_retry(&x, c) || load_traces(&x, c) || load_metrics(&x, c) || load_logs(&x, c)) {
        if (err && errlen && !err[0]) fail(&x, "exporters: out of memory");
        goto err;
    }
    return 0;
err:
    tycho_export_config_free(c);
    return -1;
}

void tycho_export_config_free(tycho_export_config_t *c)
{
    target_free(&c->traces.target);
    tycho_export_kvs_free(&c->resource);
    free(c->service);
    free(c->traces.ecs_metadata_uri);
    target_free(&c->metrics.target);
    free(c->metrics.job);
    free(c->metrics.instance);
    target_free(&c->logs.target);
    tycho_export_kvs_free(&c->logs.labels);
    memset(c, 0, sizeof *c);
}
