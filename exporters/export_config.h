/* export_config — the exporters' settings, read from the environment (the
 * standard OTEL_* variables for traces, TYCHO_* for remote write, Loki and
 * the shared limits; see exporters/README.md for the full table). Pure
 * parsing: no I/O, no threads; the parsers are exposed for the unit tests.
 * A bad value is an error naming the variable in one line; an unset target
 * leaves that exporter disabled (not an error). */
#ifndef TYCHO_EXPORTERS_EXPORT_CONFIG_H
#define TYCHO_EXPORTERS_EXPORT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Looks a variable up; NULL = unset. NULL fn means getenv. */
typedef const char *(*tycho_export_env_fn)(const char *name, void *ud);

typedef struct tycho_export_kv {
    char *key;
    char *value;
} tycho_export_kv_t;

typedef struct tycho_export_kvs {
    tycho_export_kv_t *items;
    size_t n;
} tycho_export_kvs_t;

/* Where one exporter POSTs, and how. */
typedef struct tycho_export_target {
    char *url;                  /* the request URL */
    char *display;              /* the URL without userinfo and query, for status and logs */
    char *host;                 /* host[:port] exactly as the Host header carries it */
    char *path;                 /* path as sent ("/" when empty), no query */
    char *query;                /* raw query after '?', or NULL */
    tycho_export_kvs_t headers; /* extra request headers (already decoded) */
    long timeout_ms;            /* per request */
    char sigv4_service[32];     /* "" = requests are not signed */
    char sigv4_region[64];
} tycho_export_target_t;

typedef struct tycho_export_retry {
    uint64_t backoff_min_ms;     /* first retry waits about this long */
    uint64_t backoff_max_ms;     /* cap of the exponential backoff */
    unsigned max_retries;        /* retries after the first attempt */
    uint64_t retry_after_max_ms; /* a longer Retry-After is clamped to this */
} tycho_export_retry_t;

typedef struct tycho_export_config {
    size_t max_bytes; /* TYCHO_TELEMETRY_MAX_BYTES: cap of all queued telemetry */
    tycho_export_retry_t retry;
    /* The service's name for every signal (log lines, Loki streams, the
     * trace resource): OTEL_SERVICE_NAME, else service.name of
     * OTEL_RESOURCE_ATTRIBUTES, else TYCHO_SERVICE_NAME_DEFAULT. */
    char *service;
    tycho_export_kvs_t resource; /* OTEL_RESOURCE_ATTRIBUTES + service.name, service.version,
                                    telemetry.sdk.*; ECS attributes come later */

    struct {
        int enabled;
        tycho_export_target_t target;
        uint64_t schedule_delay_ms; /* OTEL_BSP_SCHEDULE_DELAY */
        uint64_t export_timeout_ms; /* OTEL_BSP_EXPORT_TIMEOUT: one batch, retries included */
        size_t max_queue;           /* OTEL_BSP_MAX_QUEUE_SIZE */
        size_t max_batch;           /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE */
        char *ecs_metadata_uri;     /* ECS_CONTAINER_METADATA_URI_V4 or NULL */
        int gzip;                   /* OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION=gzip */
    } traces;

    struct {
        int enabled;
        tycho_export_target_t target;
        uint64_t interval_ms; /* TYCHO_REMOTE_WRITE_INTERVAL */
        char *job;            /* TYCHO_REMOTE_WRITE_JOB */
        char *instance;       /* TYCHO_REMOTE_WRITE_INSTANCE */
        size_t max_samples;   /* TYCHO_REMOTE_WRITE_MAX_SAMPLES_PER_SEND */
        size_t max_pending;   /* TYCHO_REMOTE_WRITE_MAX_PENDING (requests) */
    } metrics;

    struct {
        int enabled;
        tycho_export_target_t target;
        tycho_export_kvs_t labels; /* TYCHO_LOKI_LABELS, sorted by name */
        int json;                  /* TYCHO_LOKI_FORMAT=json */
        int structured_metadata;   /* TYCHO_LOKI_STRUCTURED_METADATA (on) */
        uint64_t flush_interval_ms;
        size_t batch_bytes; /* TYCHO_LOKI_BATCH_BYTES: lines per push, by size */
        size_t max_queue;   /* TYCHO_LOKI_MAX_QUEUE: lines waiting */
        size_t max_line;    /* TYCHO_LOKI_MAX_LINE_BYTES: longer lines are dropped */
    } logs;
} tycho_export_config_t;

/* Reads every setting. 0, or -1 with "VARIABLE: reason" in err (the config
 * is then freed). env NULL = getenv. warn (may be NULL) receives problems
 * the spec says to ignore (a bad OTEL_RESOURCE_ATTRIBUTES is discarded). */
int tycho_export_config_load(tycho_export_config_t *c, tycho_export_env_fn env, void *ud,
                             void (*warn)(const char *msg, void *ud), char *err, size_t errlen);
void tycho_export_config_free(tycho_export_config_t *c);

/* --- parsers, exposed for tests ------------------------------------------ */

/* base with segment appended to its path after a '/' (none doubled), its
 * query kept after the new path, its fragment dropped:
 * "http://c/otlp?k=v#f" + "v1/traces" = "http://c/otlp/v1/traces?k=v". An
 * empty segment leaves a '/' at the path's end. Malloc'd; NULL on ENOMEM. */
char *tycho_export_url_join(const char *base, const char *segment);
/* The OTLP traces URL (PROTOCOLS.md section 3): the signal-specific
 * endpoint as is (an empty path becomes "/"), else the generic one joined
 * with "v1/traces" (tycho_export_url_join). Malloc'd string, NULL when both
 * are unset/empty or on ENOMEM. */
char *tycho_export_otlp_traces_url(const char *generic, const char *specific);

/* "k1=v1,k2=v2" with optional spaces around items, keys and values
 * percent-decoded (W3C baggage style, OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES). Empty items are skipped. 0, or -1 with the
 * reason in err (missing '=', empty key, bad %-escape or a %00). */
int tycho_export_parse_kv_list(const char *s, tycho_export_kvs_t *out, char *err, size_t errlen);
/* Percent-decodes n bytes into out (NUL-terminated, at most n+1 bytes). -1 on
 * a bad escape. '+' stays '+'. */
int tycho_export_percent_decode(const char *s, size_t n, char *out, size_t *outlen);

/* Splits an http(s) URL into the target's url/display/host/path/query.
 * 0 or -1 with a reason in err. */
int tycho_export_target_set_url(tycho_export_target_t *t, const char *url, char *err,
                                size_t errlen);
/* AWS endpoint recognition: the service prefix of host (e.g. "aps" for
 * aps-workspaces.us-east-1.amazonaws.com, "xray" for xray.eu-west-1...)
 * written into service and the region into region; 0 when host is an AWS
 * endpoint of that family, -1 otherwise. */
int tycho_export_aws_host(const char *host, char *service, size_t slen, char *region, size_t rlen);

void tycho_export_kvs_free(tycho_export_kvs_t *kvs);
/* Appends (copies) or replaces key. 0 or -ENOMEM. */
int tycho_export_kvs_set(tycho_export_kvs_t *kvs, const char *key, const char *value);
const char *tycho_export_kvs_get(const tycho_export_kvs_t *kvs, const char *key);

#endif
