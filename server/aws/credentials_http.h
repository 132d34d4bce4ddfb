/* credentials_http — the credential sources that fetch over HTTP: STS
 * AssumeRoleWithWebIdentity, ECS/EKS container endpoint, EC2 IMDSv2
 * (PROTOCOLS.md section 6). Used by the chain in credentials.c; same thread
 * rule (the provider's loop). Each constructor returns 1 and fills *out when
 * its settings are present, 0 when they are absent, or -EINVAL with a reason
 * in err when they are present but wrong. Settings are read once here, except
 * the token files, which are re-read on every fetch (EKS/ECS rotate them).
 * Test hook: TYCHO_ECS_CREDENTIALS_HOST replaces 169.254.170.2 (host[:port])
 * for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI. */
#ifndef TYCHO_AWS_CREDENTIALS_HTTP_H
#define TYCHO_AWS_CREDENTIALS_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "aws/credentials.h"
#include "aws/credentials_profile.h"
#include "net/http_client.h"

int tycho_aws_source_web_identity(uv_loop_t *loop, tycho_http_client_t *http,
                                  const tycho_aws_profile_t *prof, tycho_aws_creds_source_t *out,
                                  char *err, size_t errlen);
int tycho_aws_source_container(uv_loop_t *loop, tycho_http_client_t *http,
                               tycho_aws_creds_source_t *out, char *err, size_t errlen);
/* IMDS is "configured" unless AWS_EC2_METADATA_DISABLED=true. */
int tycho_aws_source_imds(uv_loop_t *loop, tycho_http_client_t *http, tycho_aws_creds_source_t *out,
                          char *err, size_t errlen);

/* 1 when an http:// container URI host may be used: loopback, 169.254.170.2,
 * 169.254.170.23 or fd00:ec2::23 (literal addresses only). */
int tycho_aws_container_host_allowed(const char *literal_ip);

/* Extracts <Credentials> from an STS XML reply, or the <Code>/<Message> of an
 * error. 0 on credentials, -EINVAL otherwise (code/msg filled when found).
 * Strings are malloc'd into the fields; free with tycho_aws_sts_creds_free. */
typedef struct tycho_aws_sts_creds {
    char *access_key_id, *secret_access_key, *session_token, *expiration;
    char *code, *message;
} tycho_aws_sts_creds_t;
int tycho_aws_sts_parse(const char *xml, size_t n, tycho_aws_sts_creds_t *out);
void tycho_aws_sts_creds_free(tycho_aws_sts_creds_t *c);

#endif
