/* credentials_profile — the shared AWS files (~/.aws/config and
 * ~/.aws/credentials, PROTOCOLS.md section 6): one profile's keys, merged so
 * that a key in the credentials file beats the same key in config, plus the
 * profile's `services` section (endpoint_url per service). Paths from
 * AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, profile from AWS_PROFILE
 * (default "default"). Plain data once loaded: any thread may read it. */
#ifndef TYCHO_AWS_CREDENTIALS_PROFILE_H
#define TYCHO_AWS_CREDENTIALS_PROFILE_H

#include <stddef.h>

typedef struct tycho_aws_profile_kv {
    char *key; /* lowercased; nested keys as "parent.key" (e.g. "sqs.endpoint_url") */
    char *value;
} tycho_aws_profile_kv_t;

typedef struct tycho_aws_profile {
    char name[128];
    int found; /* the profile exists in at least one file */
    tycho_aws_profile_kv_t *kv;
    size_t nkv;
    tycho_aws_profile_kv_t *services; /* the [services <name>] section the profile names */
    size_t nservices;
} tycho_aws_profile_t;

/* Loads profile `name` (NULL: AWS_PROFILE, else "default"). Missing files are
 * not an error. Returns 0 or -ENOMEM. Free with tycho_aws_profile_free. */
int tycho_aws_profile_load(const char *name, tycho_aws_profile_t *out);
/* Same, from explicit paths (tests); either may be NULL. */
int tycho_aws_profile_load_files(const char *name, const char *config_path,
                                 const char *credentials_path, tycho_aws_profile_t *out);
void tycho_aws_profile_free(tycho_aws_profile_t *p);

/* Value of key (case-insensitive) or NULL. p may be NULL. */
const char *tycho_aws_profile_get(const tycho_aws_profile_t *p, const char *key);
/* endpoint_url for a config service key ("sqs", "dynamodb", ...) from the
 * services section, or NULL. */
const char *tycho_aws_profile_service_endpoint(const tycho_aws_profile_t *p, const char *svc);

#endif
