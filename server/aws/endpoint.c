#include "aws/endpoint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int tycho_aws_region(const tycho_aws_profile_t *profile, char *out, size_t n)
{
    const char *r = env("AWS_REGION");
    if (!r) r = env("AWS_DEFAULT_REGION");
    if (!r) r = tycho_aws_profile_get(profile, "region");
    if (!r || !*r) return -ENOENT;
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
    int ignore = truthy(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
                 truthy(tycho_aws_profile_get(profile, "ignore_configured_endpoint_urls"));
    if (explicit_url && *explicit_url) {
        url = explicit_url;
        source = "explicit";
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
        if (tycho_aws_endpoint_parse(url, out) != 0) {
            snprintf(err, errlen, "%s: not an http(s)://host[:port][/path] URL: %s",
                     label ? label : source, url);
            return -EINVAL;
        }
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
        snprintf(err, errlen, "bad AWS region: %s", region);
        return -EINVAL;
    }
    out->source = "default";
    return 0;
}
