#include "core/env_names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Every TYCHO_* variable any module reads (config.c's settings table, the
 * exporters, the AWS backends, the Lua runtime). */
static const char *const known[] = {
    "TYCHO_ACCESS_LOG",
    "TYCHO_ADMIN_LISTEN",
    "TYCHO_AWS_BACKEND",
    "TYCHO_BODY_TIMEOUT",
    "TYCHO_DATA_DIR",
    "TYCHO_DRAIN_TIMEOUT",
    "TYCHO_ECS_CREDENTIALS_HOST",
    "TYCHO_EXPORT_BACKOFF_MAX",
    "TYCHO_EXPORT_BACKOFF_MIN",
    "TYCHO_EXPORT_MAX_RETRIES",
    "TYCHO_EXPORT_RETRY_AFTER_MAX",
    "TYCHO_HANDLER_TIMEOUT",
    "TYCHO_HEADER_TIMEOUT",
    "TYCHO_HTTP_CLIENT_MAX_HOSTS",
    "TYCHO_KEEPALIVE_TIMEOUT",
    "TYCHO_LISTEN",
    "TYCHO_LOAD_TIMEOUT",
    "TYCHO_LOCAL_ACCOUNT",
    "TYCHO_LOCAL_AUTO_CREATE",
    "TYCHO_LOCAL_QUEUES",
    "TYCHO_LOCAL_SYNC",
    "TYCHO_LOCAL_TABLES",
    "TYCHO_LOG_LEVEL",
    "TYCHO_LOKI_BATCH_BYTES",
    "TYCHO_LOKI_FLUSH_INTERVAL",
    "TYCHO_LOKI_FORMAT",
    "TYCHO_LOKI_LABELS",
    "TYCHO_LOKI_MAX_LINE_BYTES",
    "TYCHO_LOKI_MAX_QUEUE",
    "TYCHO_LOKI_STRUCTURED_METADATA",
    "TYCHO_LOKI_TENANT",
    "TYCHO_LOKI_TIMEOUT",
    "TYCHO_LOKI_URL",
    "TYCHO_LUA_DIR",
    "TYCHO_LUA_MEMORY_LIMIT",
    "TYCHO_MAX_BODY_BYTES",
    "TYCHO_MAX_BODY_MEMORY",
    "TYCHO_MAX_CONNECTIONS",
    "TYCHO_MAX_HEADER_BYTES",
    "TYCHO_MAX_URI_BYTES",
    "TYCHO_OTLP_SIGV4_REGION",
    "TYCHO_OTLP_SIGV4_SERVICE",
    "TYCHO_RELOAD",
    "TYCHO_REMOTE_WRITE_INSTANCE",
    "TYCHO_REMOTE_WRITE_INTERVAL",
    "TYCHO_REMOTE_WRITE_JOB",
    "TYCHO_REMOTE_WRITE_MAX_PENDING",
    "TYCHO_REMOTE_WRITE_MAX_SAMPLES_PER_SEND",
    "TYCHO_REMOTE_WRITE_SIGV4_REGION",
    "TYCHO_REMOTE_WRITE_SIGV4_SERVICE",
    "TYCHO_REMOTE_WRITE_TIMEOUT",
    "TYCHO_REMOTE_WRITE_URL",
    "TYCHO_ROUTES",
    "TYCHO_SEND_TIMEOUT",
    "TYCHO_SQS_DEPTH_INTERVAL",
    "TYCHO_TELEMETRY_MAX_BYTES",
    "TYCHO_TRACES_STDOUT",
    "TYCHO_TRUSTED_PROXIES",
    "TYCHO_WORKERS",
};

#define NKNOWN (sizeof known / sizeof *known)
#define PREFIX "TYCHO_"
/* Longer names than this may hold two slips and still be the one meant. */
#define ONE_SLIP_UP_TO 12
#define MAX_NAME 64

int tycho_env_name_known(const char *name)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (strcmp(name, known[i]) == 0) return 1;
    return 0;
}

/* Slips between a and b, case aside: letters inserted, deleted, changed or
 * two neighbours swapped (optimal string alignment), counted up to limit+1
 * (a name longer than MAX_NAME counts as too far). */
static size_t slips(const char *a, size_t na, const char *b, size_t nb, size_t limit)
{
    if (na > MAX_NAME || nb > MAX_NAME) return limit + 1;
    unsigned char d[MAX_NAME + 1][MAX_NAME + 1]; /* at most 2 * MAX_NAME */
    for (size_t i = 0; i <= na; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            int same = toupper((unsigned char)a[i - 1]) == toupper((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (same ? 0u : 1u);
            if (d[i - 1][j] + 1u < best) best = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < best) best = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 &&
                toupper((unsigned char)a[i - 1]) == toupper((unsigned char)b[j - 2]) &&
                toupper((unsigned char)a[i - 2]) == toupper((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1u < best)
                best = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)best;
        }
    }
    return d[na][nb] > limit ? limit + 1 : d[na][nb];
}

static const char *near_n(const char *name, size_t n)
{
    const char *best = NULL;
    size_t best_slips = (size_t)-1;
    for (size_t i = 0; i < NKNOWN; i++) {
        size_t len = strlen(known[i]);
        if (len == n && strncmp(name, known[i], n) == 0) return NULL; /* known */
        size_t limit = len > ONE_SLIP_UP_TO ? 2 : 1;
        size_t d = slips(name, n, known[i], len, limit);
        if (d <= limit && d < best_slips) best = known[i], best_slips = d;
    }
    return best;
}

const char *tycho_env_name_near(const char *name)
{
    return near_n(name, strlen(name));
}

int tycho_env_check_names(char *const *env, char *err, size_t errlen)
{
    for (; env && *env; env++) {
        const char *e = *env;
        size_t n = strcspn(e, "=");
        if (n <= strlen(PREFIX) || strncasecmp(e, PREFIX, strlen(PREFIX)) != 0) continue;
        const char *meant = near_n(e, n);
        if (!meant) continue;
        snprintf(err, errlen, "%.*s: tycho reads no such variable; did you mean %s?",
                 (int)(n < MAX_NAME ? n : MAX_NAME), e, meant);
        return -1;
    }
    return 0;
}
