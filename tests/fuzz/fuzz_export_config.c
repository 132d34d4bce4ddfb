/* libFuzzer target for the exporters' settings (exporters/export_config.c):
 * the whole tycho_export_config_load over a fuzzed environment (OTLP, remote
 * write and Loki URLs, OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES,
 * TYCHO_LOKI_LABELS, sizes, durations, SigV4 settings), and each value again
 * through the parsers it exposes: the k=v list with percent-decoding, the
 * URL splitter, the URL join and the AWS host recogniser. Checked (abort on
 * failure):
 *  - a refused setting or list has a message; a warning is never empty;
 *  - accepted Loki labels: at most 13, sorted, no empty value;
 *  - k=v lists: no empty key; a key or value is never longer than its text;
 *    a decoded value, percent-encoded again, decodes back to itself;
 *  - an accepted URL: a host without upper-case letters, a path that starts
 *    with '/', no fragment in the request URL;
 *  - a joined URL ends its path with the segment and keeps no fragment;
 *  - an AWS host gives a non-empty service and a region of [a-z0-9-];
 *  - an AWS endpoint URL (aws/endpoint.c) parses back to itself, without
 *    userinfo; URL redaction (http/url_redact.c) agrees with the userinfo
 *    it finds, never shows that userinfo, and is idempotent;
 *  - each value made the user, password and rest of "http://u:pw@rest":
 *    no byte of the password shows in its redaction, whatever it holds
 *    ('/', '@', ':'; not '?' or '#', see url_redact.h).
 *
 * Input: lines; in each, byte 0 picks the variable (modulo the list below),
 * the rest is its value (a later line for the same variable wins).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh export_config. */
#include "aws/endpoint.h"
#include "core/percent.h"
#include "http/url_redact.h"
#include "exporters/export_config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "export config"
#include "tests/fuzz/fuzz_check.h"

static const char *const VARS[] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SDK_DISABLED",
    "TYCHO_OTLP_SIGV4_SERVICE",
    "TYCHO_OTLP_SIGV4_REGION",
    "AWS_REGION",
    "TYCHO_REMOTE_WRITE_URL",
    "TYCHO_REMOTE_WRITE_JOB",
    "TYCHO_REMOTE_WRITE_INSTANCE",
    "TYCHO_REMOTE_WRITE_SIGV4_SERVICE",
    "TYCHO_REMOTE_WRITE_INTERVAL",
    "TYCHO_LOKI_URL",
    "TYCHO_LOKI_LABELS",
    "TYCHO_LOKI_TENANT",
    "TYCHO_LOKI_FORMAT",
    "TYCHO_LOKI_BATCH_BYTES",
    "TYCHO_LOKI_MAX_LINE_BYTES",
    "TYCHO_TELEMETRY_MAX_BYTES",
    "TYCHO_EXPORT_RETRY_AFTER_MAX",
    "ECS_CONTAINER_METADATA_URI_V4",
    "TYCHO_LISTEN",
};
#define NVARS (sizeof VARS / sizeof VARS[0])

typedef struct {
    char *value[NVARS];
} env_t;

static const char *env_get(const char *name, void *ud)
{
    env_t *e = ud;
    for (size_t i = 0; i < NVARS; i++)
        if (strcmp(VARS[i], name) == 0) return e->value[i];
    return NULL;
}

static void on_warn(const char *msg, void *ud)
{
    (void)ud;
    CHECK(msg && msg[0], "empty warning");
}

static void check_kv_list(const char *s)
{
    tycho_export_kvs_t kvs = {0};
    char err[256] = "";
    if (tycho_export_parse_kv_list(s, &kvs, err, sizeof err) != 0) {
        CHECK(err[0], "k=v list '%s' refused without a message", s);
    } else {
        for (size_t i = 0; i < kvs.n; i++) {
            const char *k = kvs.items[i].key, *v = kvs.items[i].value;
            CHECK(k[0], "'%s': empty key accepted", s);
            CHECK(strlen(k) <= strlen(s) && strlen(v) <= strlen(s), "'%s': item grew", s);
            /* the value, percent-encoded again, decodes back to itself */
            tycho_buf_t enc = TYCHO_BUF_INIT;
            CHECK(tycho_percent_encode(&enc, v, strlen(v), tycho_percent_unreserved) == 0,
                  "ENOMEM");
            char *dec = malloc(enc.len + 1);
            size_t dl = 0;
            CHECK(dec, "ENOMEM");
            CHECK(tycho_export_percent_decode(enc.data ? (const char *)enc.data : "", enc.len, dec,
                                              &dl) == 0,
                  "'%s': an encoded value does not decode", s);
            CHECK(dl == strlen(v) && memcmp(dec, v, dl) == 0, "'%s': value does not round-trip", s);
            free(dec);
            tycho_buf_free(&enc);
        }
    }
    tycho_export_kvs_free(&kvs);
}

static void check_url(const char *s)
{
    tycho_export_target_t t;
    memset(&t, 0, sizeof t);
    char err[256] = "";
    if (tycho_export_target_set_url(&t, s, err, sizeof err) != 0) {
        CHECK(err[0], "URL '%s' refused without a message", s);
    } else {
        CHECK(t.host && t.host[0], "'%s': no host", s);
        for (const char *c = t.host; *c; c++)
            CHECK(!isupper((unsigned char)*c), "'%s': host '%s' not lower-case", s, t.host);
        CHECK(t.path && t.path[0] == '/', "'%s': path '%s'", s, t.path ? t.path : "(null)");
        CHECK(t.url && !strchr(t.url, '#'), "'%s': fragment in the request URL", s);
        CHECK(t.display && t.display[0], "'%s': no display form", s);
        char svc[64], reg[64];
        if (tycho_export_aws_host(t.host, svc, sizeof svc, reg, sizeof reg) == 0) {
            CHECK(svc[0] && reg[0], "'%s': empty AWS service or region", t.host);
            for (const char *c = reg; *c; c++)
                CHECK(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-',
                      "'%s': region '%s'", t.host, reg);
        }
    }
    free(t.url);
    free(t.display);
    free(t.host);
    free(t.path);
    free(t.query);
    tycho_export_kvs_free(&t.headers);

    char *j = tycho_export_url_join(s, "v1/traces");
    CHECK(j, "ENOMEM");
    if (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0) {
        /* the path ends with the segment, the query follows, the fragment is gone */
        size_t pre = strcspn(j, "?");
        CHECK(pre >= 9 && memcmp(j + pre - 9, "v1/traces", 9) == 0, "'%s' joined as '%s'", s, j);
        CHECK(!strchr(j, '#'), "'%s' joined as '%s'", s, j);
    }
    free(j);
    char *u = tycho_export_otlp_traces_url(s, s);
    if (s[0]) CHECK(u, "'%s': no traces URL", s);
    free(u);
}

/* The parsers of the other outbound URLs: AWS endpoints (AWS_ENDPOINT_URL,
 * the credential sources') and the redaction every echoed URL goes
 * through. */
static void check_outbound_url(const char *s)
{
    tycho_aws_endpoint_t ep;
    if (tycho_aws_endpoint_parse(s, &ep) == 0) {
        CHECK(!strchr(ep.host, '@') && ep.host[0], "'%s': host '%s'", s, ep.host);
        CHECK(ep.path[0] == '/', "'%s': path '%s'", s, ep.path);
        tycho_aws_endpoint_t again;
        CHECK(tycho_aws_endpoint_parse(ep.url, &again) == 0 && strcmp(again.url, ep.url) == 0 &&
                  strcmp(again.host, ep.host) == 0 && strcmp(again.path, ep.path) == 0,
              "'%s' parsed as '%s', which does not parse the same", s, ep.url);
    }
    char out[2200], twice[2200];
    int had = tycho_url_redact(s, out, sizeof out);
    size_t ul = 0;
    const char *ui = tycho_url_userinfo(s, &ul);
    CHECK(had == (ui != NULL), "'%s': redact says %d, userinfo %s", s, had, ui ? "found" : "none");
    const char *q = strchr(out, '?');
    CHECK(!q || strcmp(q, "?...") == 0, "'%s': query shown in '%s'", s, out);
    if (ui && ul >= 4) {
        /* the userinfo shows nowhere, unless the URL holds it elsewhere
         * too ("http:" in "http://http:@h") or it holds a '*' (the "***@"
         * that replaces it, with the host after it, can spell "*@host...") */
        char *u = strndup(ui, ul);
        CHECK(u, "ENOMEM");
        if (strstr(s, u) == ui && !strstr(ui + 1, u) && !strchr(u, '*'))
            CHECK(!strstr(out, u), "'%s': userinfo shown in '%s'", s, out);
        free(u);
    }
    tycho_url_redact(out, twice, sizeof twice);
    if (strlen(out) < sizeof out - 1)
        CHECK(strcmp(out, twice) == 0, "'%s': redacted '%s', again '%s'", s, out, twice);
}

/* s as a pasted password: "http://" user ":" password "@" rest, where s
 * gives the user (up to its first ':', user characters only; "u" when
 * there is none), the password (up to the first ' ', any bytes but '?' and
 * '#': what follows those is a query or fragment to every reader, see
 * url_redact.h) and the rest. The redaction is the scheme, "***@", and
 * what it shows after that is the URL's text after an '@' at or past the
 * password's end: no byte of the password shows. */
static void check_password_hidden(const char *s)
{
    size_t n = strlen(s);
    char *url = malloc(n + 16), *w = url;
    CHECK(url, "ENOMEM");
    w += sprintf(w, "http://");
    const char *sp = strchr(s, ' '), *end = sp ? sp : s + n;
    const char *colon = memchr(s, ':', (size_t)(end - s)), *pw = colon ? colon + 1 : s;
    if (!colon) *w++ = 'u';
    for (const char *c = s; colon && c < colon; c++)
        if (!strchr("@:/?#[", *c)) *w++ = *c; /* no "[": an IPv6 literal starts so */
    *w++ = ':';
    for (const char *c = pw; c < end; c++)
        if (*c != '?' && *c != '#') *w++ = *c;
    size_t pw_end = (size_t)(w - url);
    *w++ = '@';
    if (sp) w = stpcpy(w, sp + 1);
    *w = '\0';
    char out[2200];
    CHECK(tycho_url_redact(url, out, sizeof out) == 1, "'%s': no userinfo found", url);
    CHECK(strncmp(out, "http://***@", 11) == 0, "'%s' shown as '%s'", url, out);
    const char *rest = out + 11;
    size_t rl = strcspn(rest, "?");
    int from_after = 0;
    for (const char *at = url + pw_end; (at = strchr(at, '@')); at++)
        from_after |= strncmp(at + 1, rest, rl) == 0;
    CHECK(from_after, "'%s' shown as '%s': not the text after the password", url, out);
    free(url);
}

static void check_config(env_t *e)
{
    tycho_export_config_t c;
    char err[512] = "";
    if (tycho_export_config_load(&c, env_get, e, on_warn, err, sizeof err) != 0) {
        CHECK(err[0], "config refused without a message");
        return;
    }
    CHECK(c.logs.labels.n <= 13, "%zu Loki labels accepted", c.logs.labels.n);
    for (size_t i = 0; i < c.logs.labels.n; i++) {
        CHECK(c.logs.labels.items[i].value[0], "empty Loki label value accepted");
        if (i)
            CHECK(strcmp(c.logs.labels.items[i - 1].key, c.logs.labels.items[i].key) < 0,
                  "Loki labels not sorted or repeated");
    }
    tycho_export_config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    env_t e;
    memset(&e, 0, sizeof e);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            size_t v = (unsigned char)p[0] % NVARS;
            free(e.value[v]);
            e.value[v] = strndup(p + 1, (size_t)(le - p - 1));
            CHECK(e.value[v], "ENOMEM");
        }
        p = le + 1;
    }
    for (size_t i = 0; i < NVARS; i++) {
        if (!e.value[i] || strlen(e.value[i]) > 1024) continue;
        check_kv_list(e.value[i]);
        check_url(e.value[i]);
        check_outbound_url(e.value[i]);
        check_password_hidden(e.value[i]);
    }
    check_config(&e);
    for (size_t i = 0; i < NVARS; i++)
        free(e.value[i]);
    return 0;
}
