#include "aws/endpoint.h"
#include "http/url_redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

static const tycho_aws_service_info_t known[] = {
    {"sqs", "sqs", "SQS", "sqs"},
    {"dynamodb", "dynamodb", "DYNAMODB", "dynamodb"},
    {"aps", "aps-workspaces", "AMP", "amp"},
    {"xray", "xray", "XRAY", "xray"},
    {"logs", "logs", "CLOUDWATCH_LOGS", "cloudwatch_logs"},
    {"sts", "sts", "STS", "sts"},
    {"monitoring", "monitoring", "CLOUDWATCH", "cloudwatch"},
    {"sns", "sns", "SNS", "sns"},
    {"s3", "s3", "S3", "s3"},
};

void tycho_aws_service_info(const char *name, tycho_aws_service_info_t *out, char scratch[64])
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(known[i].signing_name, name) == 0) {
            *out = known[i];
            return;
        }
    }
    size_t n = 0;
    for (; name[n] && n < 63; n++) {
        char ch = (char)toupper((unsigned char)name[n]);
        scratch[n] = ch == '-' || ch == ' ' ? '_' : ch;
    }
    scratch[n] = '\0';
    out->signing_name = name;
    out->endpoint_prefix = name;
    out->env_suffix = scratch;
    out->config_key = name;
}

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

/* The configured region and the setting it came from; NULL when none. */
static const char *region_setting(const tycho_aws_profile_t *profile, const char **label)
{
    const char *r = env("AWS_REGION");
    *label = "AWS_REGION";
    if (!r) {
        r = env("AWS_DEFAULT_REGION");
        *label = "AWS_DEFAULT_REGION";
    }
    if (!r) {
        r = tycho_aws_profile_get(profile, "region");
        *label = "profile region";
    }
    return r && *r ? r : NULL;
}

int tycho_aws_region(const tycho_aws_profile_t *profile, char *out, size_t n)
{
    const char *label;
    const char *r = region_setting(profile, &label);
    if (!r) return -ENOENT;
    snprintf(out, n, "%s", r);
    return 0;
}

/* Region names as botocore's validate_region_name takes them: letters,
 * digits and '-' ("us-east-1", "us-gov-west-1"); anything else would end up
 * in a host name. */
static int region_name_ok(const char *r, size_t n)
{
    size_t len = strlen(r);
    if (len == 0 || len >= n) return 0;
    for (const char *c = r; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-') return 0;
    return 1;
}

int tycho_aws_region_resolve(const char *explicit_region, const tycho_aws_profile_t *profile,
                             char *out, size_t n, char *err, size_t errlen)
{
    const char *label = "region option";
    const char *r =
        explicit_region && *explicit_region ? explicit_region : region_setting(profile, &label);
    if (!r) {
        snprintf(err, errlen,
                 "AWS_REGION: not set (nor AWS_DEFAULT_REGION, nor region in profile '%s'); set "
                 "AWS_REGION",
                 profile ? profile->name : "default");
        return -ENOENT;
    }
    if (!region_name_ok(r, n)) {
        /* quoted: a blank copied along with the value is what is wrong */
        snprintf(err, errlen, "%s: not a region name (letters, digits, '-'): \"%.64s\"", label, r);
        return -EINVAL;
    }
    snprintf(out, n, "%s", r);
    return 0;
}

int tycho_aws_endpoint_parse(const char *url, tycho_aws_endpoint_t *out)
{
    memset(out, 0, sizeof out->url + sizeof out->host + sizeof out->path + sizeof out->https);
    const char *p;
    int def_port;
    if (strncasecmp(url, "https://", 8) == 0) {
        out->https = 1;
        p = url + 8;
        def_port = 443;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
        def_port = 80;
    } else {
        return -EINVAL;
    }
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || alen >= 256) return -EINVAL;
    char auth[256];
    memcpy(auth, p, alen);
    auth[alen] = '\0';
    if (strchr(auth, '@') || strchr(auth, ' ')) return -EINVAL; /* no userinfo */
    char *port = NULL;
    if (auth[0] == '[') {
        char *close = strchr(auth, ']');
        if (!close) return -EINVAL;
        if (close[1] == ':')
            port = close + 1;
        else if (close[1])
            return -EINVAL;
    } else {
        port = strchr(auth, ':');
    }
    if (port) {
        *port++ = '\0';
        if (!auth[0]) return -EINVAL; /* ":443": a port, no host */
        char *end;
        long v = strtol(port, &end, 10);
        if (!*port || *end || v <= 0 || v > 65535) return -EINVAL;
        for (char *h = auth; *h; h++)
            *h = (char)tolower((unsigned char)*h);
        if (v == def_port)
            snprintf(out->host, sizeof out->host, "%s", auth);
        else
            snprintf(out->host, sizeof out->host, "%s:%ld", auth, v);
    } else {
        for (char *h = auth; *h; h++)
            *h = (char)tolower((unsigned char)*h);
        snprintf(out->host, sizeof out->host, "%s", auth);
    }
    const char *path = p + alen;
    size_t plen = strcspn(path, "?#");
    if (plen >= sizeof out->path) return -EINVAL;
    if (plen == 0) {
        strcpy(out->path, "/");
    } else {
        memcpy(out->path, path, plen);
        out->path[plen] = '\0';
    }
    int n = snprintf(out->url, sizeof out->url, "%s://%s%s", out->https ? "https" : "http",
                     out->host, out->path);
    return n > 0 && (size_t)n < sizeof out->url ? 0 : -EINVAL;
}

static int truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* What makes a URL that parses unusable as an endpoint, or NULL. The path
 * is signed as written and sent as curl writes it: curl refuses a space and
 * control characters and percent-encodes other bytes (UTF-8), which would
 * then not be what was signed; percent-encoded, they are both. A query or
 * fragment would be dropped: endpoint URLs take neither. */
static const char *endpoint_problem(const char *url)
{
    if (strpbrk(url, "?#")) return "an endpoint URL takes no query or fragment";
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
            return "a space, control or non-ASCII character in an endpoint URL (percent-encode "
                   "it: %20, %C3%BC)";
    return NULL;
}

/* Parses a configured URL; the error names the setting and shows the URL
 * redacted (a password in it must reach no log line and no client). */
static int parse_setting(const char *label, const char *url, tycho_aws_endpoint_t *out, char *err,
                         size_t errlen)
{
    int bad = tycho_aws_endpoint_parse(url, out);
    const char *problem = bad ? NULL : endpoint_problem(url);
    if (!bad && !problem) return 0;
    char shown[300];
    int userinfo = tycho_url_redact(url, shown, sizeof shown);
    for (char *c = shown; *c; c++) /* one line */
        if ((unsigned char)*c < ' ') *c = '?';
    if (userinfo)
        snprintf(err, errlen, "%s: user:password@ is not allowed in an endpoint URL: %s", label,
                 shown);
    else if (problem)
        snprintf(err, errlen, "%s: %s: %s", label, problem, shown);
    else
        snprintf(err, errlen, "%s: not an http(s)://host[:port][/path] URL: %s", label, shown);
    return -EINVAL;
}

static int ignore_configured(const tycho_aws_profile_t *profile)
{
    return truthy(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
           truthy(tycho_aws_profile_get(profile, "ignore_configured_endpoint_urls"));
}

int tycho_aws_endpoints_check(const tycho_aws_profile_t *profile, char *err, size_t errlen)
{
    if (ignore_configured(profile)) return 0;
    tycho_aws_endpoint_t ep;
    char label[160];
    for (char **e = environ; e && *e; e++) { /* NULL after clearenv */
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : 0;
        if (!eq || !eq[1] || nlen >= sizeof label || strncmp(*e, "AWS_ENDPOINT_URL", 16) != 0 ||
            (nlen > 16 && (*e)[16] != '_'))
            continue;
        snprintf(label, sizeof label, "%.*s", (int)nlen, *e);
        if (parse_setting(label, eq + 1, &ep, err, errlen) != 0) return -EINVAL;
    }
    const char *url = tycho_aws_profile_get(profile, "endpoint_url");
    snprintf(label, sizeof label, "profile '%.64s' endpoint_url", profile ? profile->name : "");
    if (url && parse_setting(label, url, &ep, err, errlen) != 0) return -EINVAL;
    for (size_t i = 0; profile && i < profile->nservices; i++) {
        const char *key = profile->services[i].key, *dot = strrchr(key, '.');
        if (!dot || strcmp(dot, ".endpoint_url") != 0 || !profile->services[i].value) continue;
        snprintf(label, sizeof label, "profile '%.64s' services %.64s", profile->name, key);
        if (parse_setting(label, profile->services[i].value, &ep, err, errlen) != 0) return -EINVAL;
    }
    return 0;
}

int tycho_aws_endpoint_resolve(const char *service, const char *region, const char *explicit_url,
                               const tycho_aws_profile_t *profile, tycho_aws_endpoint_t *out,
                               char *err, size_t errlen)
{
    tycho_aws_service_info_t si;
    char scratch[64];
    tycho_aws_service_info(service, &si, scratch);
    const char *url = NULL, *source = NULL, *label = NULL; /* label: what an error names */
    char name[96];
    snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", si.env_suffix);
    int ignore = ignore_configured(profile);
    if (explicit_url && *explicit_url) {
        url = explicit_url;
        source = "explicit";
        label = "endpoint option";
    } else if (!ignore && env(name)) {
        url = env(name);
        source = "AWS_ENDPOINT_URL_<SERVICE>";
        label = name;
    } else if (!ignore && env("AWS_ENDPOINT_URL")) {
        url = env("AWS_ENDPOINT_URL");
        source = "AWS_ENDPOINT_URL";
    } else if (!ignore && tycho_aws_profile_service_endpoint(profile, si.config_key)) {
        url = tycho_aws_profile_service_endpoint(profile, si.config_key);
        source = "config services";
    } else if (!ignore && tycho_aws_profile_get(profile, "endpoint_url")) {
        url = tycho_aws_profile_get(profile, "endpoint_url");
        source = "config endpoint_url";
    }
    if (url) {
        if (parse_setting(label ? label : source, url, out, err, errlen) != 0) return -EINVAL;
        out->source = source;
        return 0;
    }
    if (!region || !*region) {
        snprintf(err, errlen, "no AWS region for %s: set AWS_REGION", service);
        return -EINVAL;
    }
    char def[400];
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    snprintf(def, sizeof def, "https://%s.%s.%s", si.endpoint_prefix, region, suffix);
    if (tycho_aws_endpoint_parse(def, out) != 0) {
        snprintf(err, errlen, "no default endpoint for service '%.64s' in region %.64s", service,
                 region);
        return -EINVAL;
    }
    out->source = "default";
    return 0;
}
