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
    int in_credentials; /* read from the credentials file (else from config) */
} tycho_aws_profile_kv_t;

typedef struct tycho_aws_profile {
    char name[128];
    int found;             /* the profile exists in at least one file */
    const char *named_by;  /* what chose the name ("AWS_PROFILE"...), NULL for the default */
    char config_path[256]; /* the files read ("" when none) */
    char credentials_path[256];
    tycho_aws_profile_kv_t *kv;
    size_t nkv;
    tycho_aws_profile_kv_t *services; /* the [services <name>] section the profile names */
    size_t nservices;
    char syntax_error[400]; /* the first line no section header could be read from, or "" */
} tycho_aws_profile_t;

/* Loads profile `name` (NULL: AWS_PROFILE, else "default"). Missing files are
 * not an error. Returns 0 or -ENOMEM. Free with tycho_aws_profile_free. */
int tycho_aws_profile_load(const char *name, tycho_aws_profile_t *out);
/* Same, from explicit paths (tests); either may be NULL. */
int tycho_aws_profile_load_files(const char *name, const char *config_path,
                                 const char *credentials_path, tycho_aws_profile_t *out);
void tycho_aws_profile_free(tycho_aws_profile_t *p);

/* 0; -EINVAL when a file has a section header without its ']' (botocore's
 * ConfigParseError: the sections after it cannot be told apart), err naming
 * the file and line; or -ENOENT when the profile was named (AWS_PROFILE,
 * AWS_DEFAULT_PROFILE or the caller) but is in neither file: botocore's
 * ProfileNotFound, where only the implicit "default" may be absent. err then
 * names the setting, the profile and both files. */
int tycho_aws_profile_check_found(const tycho_aws_profile_t *p, char *err, size_t errlen);

/* 1 when the profile has both aws_access_key_id and aws_secret_access_key,
 * 0 when neither, -EINVAL when one only (botocore's PartialCredentialsError,
 * which it raises for a key id without its secret): err then names the
 * profile, the file that has the one and the missing key, never a value. */
int tycho_aws_profile_check_keys(const tycho_aws_profile_t *p, char *err, size_t errlen);

/* Value of key (case-insensitive) or NULL. p may be NULL. */
const char *tycho_aws_profile_get(const tycho_aws_profile_t *p, const char *key);
/* endpoint_url for a config service key ("sqs", "dynamodb", ...) from the
 * services section, or NULL. */
const char *tycho_aws_profile_service_endpoint(const tycho_aws_profile_t *p, const char *svc);

#endif
