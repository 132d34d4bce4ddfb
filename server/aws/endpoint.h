/* endpoint — region and endpoint resolution for AWS services (PROTOCOLS.md
 * section 6). Reads the environment and a loaded profile; pure otherwise.
 * Any thread may call it (getenv only; do not setenv concurrently).
 *   region:   AWS_REGION > AWS_DEFAULT_REGION > profile `region`
 *   endpoint: explicit > AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL >
 *             profile services section > profile `endpoint_url` >
 *             https://<prefix>.<region>.amazonaws.com (.com.cn in cn-*);
 *             AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips all but explicit. */
#ifndef TYCHO_AWS_ENDPOINT_H
#define TYCHO_AWS_ENDPOINT_H

#include <stddef.h>

#include "aws/credentials_profile.h"

/* A service as the SDKs know it. */
typedef struct tycho_aws_service_info {
    const char *signing_name; /* "sqs", "dynamodb", "aps", "xray", "logs", "sts" */
    const char *endpoint_prefix;
    const char *env_suffix; /* AWS_ENDPOINT_URL_<env_suffix> */
    const char *config_key; /* key in the config services section */
} tycho_aws_service_info_t;

/* Known services by signing name; unknown ones get prefix = name, env suffix
 * = NAME uppercased ('-' -> '_'), config key = name. out must outlive use of
 * the strings only when name is unknown (they point into scratch). */
void tycho_aws_service_info(const char *signing_name, tycho_aws_service_info_t *out,
                            char scratch[64]);

/* 0 and the region in out, or -ENOENT when none is configured. */
int tycho_aws_region(const tycho_aws_profile_t *profile, char *out, size_t n);

/* The region a client uses: explicit_region (may be NULL) or the chain
 * above. 0; -ENOENT when none is configured, -EINVAL when it is not a region
 * name (letters, digits, '-', shorter than n); err then says so in
 * one line that starts with the setting ("AWS_REGION: not set ..."). */
int tycho_aws_region_resolve(const char *explicit_region, const tycho_aws_profile_t *profile,
                             char *out, size_t n, char *err, size_t errlen);

/* Checks every configured endpoint URL, whichever service it is for: each
 * AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_* variable, the profile's
 * endpoint_url and its services section (none when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set). 0, or -EINVAL with the first
 * bad one in err, named and redacted (tycho_url_redact). */
int tycho_aws_endpoints_check(const tycho_aws_profile_t *profile, char *err, size_t errlen);

/* A parsed endpoint. */
typedef struct tycho_aws_endpoint {
    char url[512];  /* scheme://host[:port]/path, no query */
    char host[300]; /* Host header: host[:port], port omitted when default */
    char path[256]; /* request path: the endpoint's path, "/" when empty */
    int https;
    const char
        *source; /* "explicit", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "config", "default" */
} tycho_aws_endpoint_t;

/* Resolves the endpoint for service (signing name) in region. explicit_url may
 * be NULL (its errors say "endpoint option"). Returns 0, or -EINVAL with a
 * one-line reason in err when a configured URL is not
 * http(s)://host[:port][/path]: userinfo, a query or fragment, a space,
 * control or non-ASCII byte (the path is signed as written: it must be
 * percent-encoded already) are refused; the URL is shown redacted. The
 * same rules hold for tycho_aws_endpoints_check. */
int tycho_aws_endpoint_resolve(const char *service, const char *region, const char *explicit_url,
                               const tycho_aws_profile_t *profile, tycho_aws_endpoint_t *out,
                               char *err, size_t errlen);

/* Parses url into out (used by resolve and for the credential sources' URLs;
 * exposed for tests): the form only, a query or fragment is dropped.
 * 0 or -EINVAL. */
int tycho_aws_endpoint_parse(const char *url, tycho_aws_endpoint_t *out);

#endif
