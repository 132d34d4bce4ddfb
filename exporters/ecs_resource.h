/* ecs_resource — the ECS task's resource attributes for OTLP, from the
 * task metadata endpoint v4 (ECS_CONTAINER_METADATA_URI_V4): GET <uri> (this
 * container) and GET <uri>/task, fetched asynchronously with the HTTP client
 * and mapped as OpenTelemetry's ECS resource detector does: cloud.provider,
 * cloud.platform, cloud.region, cloud.account.id, cloud.availability_zone,
 * aws.ecs.task.arn/.family/.revision, aws.ecs.cluster.arn, aws.ecs.launchtype,
 * aws.ecs.container.arn, container.id, container.name and, with the awslogs
 * driver, aws.log.group.names/.arns and aws.log.stream.names/.arns.
 * Threading: the loop's thread. */
#ifndef TYCHO_EXPORTERS_ECS_RESOURCE_H
#define TYCHO_EXPORTERS_ECS_RESOURCE_H

#include <stddef.h>

#include "exporters/export_config.h"
#include "net/http_client.h"

/* Adds the attributes found in the two documents (either may be NULL) to
 * out, never replacing a key already there (the environment wins). Returns
 * the number of attributes added, or -ENOMEM. */
int tycho_ecs_resource_parse(const char *container_json, size_t clen, const char *task_json,
                             size_t tlen, tycho_export_kvs_t *out);

typedef struct tycho_ecs_fetch tycho_ecs_fetch_t;

/* Starts both requests (timeout_ms each). done(kvs, error, ud) runs once on
 * the loop with the attributes found (kvs owned by the fetch, valid during
 * the call) or NULL and a reason. NULL on ENOMEM or when a request cannot
 * start (done will not run). */
tycho_ecs_fetch_t *
tycho_ecs_fetch_start(tycho_http_client_t *http, const char *uri, long timeout_ms,
                      void (*done)(const tycho_export_kvs_t *kvs, const char *error, void *ud),
                      void *ud);
/* Cancels a fetch whose done has not run, or frees one whose has. */
void tycho_ecs_fetch_free(tycho_ecs_fetch_t *f);

#endif
