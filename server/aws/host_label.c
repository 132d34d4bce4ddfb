#include "aws/host_label.h"

#include "core/config.h"
#include "core/fnv.h"
#include "core/log.h"
#include "core/units.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing over the admitted hosts' copies; the table has at least
 * twice as many slots as max, so a probe always ends at an empty one. */
struct tycho_host_labels {
    size_t max, count, mask;
    char **slots;
};

/* One warn line a process, not one a worker: the bound is the same on
 * every worker, and so mostly is the traffic that reaches it. */
static atomic_bool g_logged;

int tycho_host_labels_max_from_env(size_t *out, char *err, size_t errlen)
{
    char v[64];
    long n;
    *out = TYCHO_HOST_LABEL_DEFAULT_MAX;
    int set = tycho_config_env_trimmed(TYCHO_HOST_LABEL_ENV, v, sizeof v, err, errlen);
    if (set <= 0) return set;
    if (tycho_parse_count(v, 0, TYCHO_HOST_LABEL_MAX_MAX, &n) != 0) {
        snprintf(err, errlen, "%s: expected a whole number from 0 to %d, got \"%s\"",
                 TYCHO_HOST_LABEL_ENV, TYCHO_HOST_LABEL_MAX_MAX, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

tycho_host_labels_t *tycho_host_labels_new(size_t max)
{
    tycho_host_labels_t *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    size_t cap = 8;
    while (cap < max * 2)
        cap *= 2;
    b->slots = calloc(cap, sizeof *b->slots);
    if (!b->slots) {
        free(b);
        return NULL;
    }
    b->max = max;
    b->mask = cap - 1;
    return b;
}

void tycho_host_labels_free(tycho_host_labels_t *b)
{
    if (!b) return;
    for (size_t i = 0; i <= b->mask; i++)
        free(b->slots[i]);
    free(b->slots);
    free(b);
}

static const char *other(const tycho_host_labels_t *b, const char *host)
{
    if (!atomic_exchange(&g_logged, true))
        tycho_log_warn("outbound HTTP: more distinct hosts than " TYCHO_HOST_LABEL_ENV
                       ": later ones are labelled host=\"" TYCHO_HOST_LABEL_OTHER
                       "\" in tycho_http_client_request_duration_seconds",
                       LF_STR("host", host), LF_INT("max_hosts", (long long)b->max));
    return TYCHO_HOST_LABEL_OTHER;
}

const char *tycho_host_labels_get(tycho_host_labels_t *b, const char *host)
{
    size_t i = (size_t)tycho_fnv_str(host) & b->mask;
    for (; b->slots[i]; i = (i + 1) & b->mask)
        if (strcmp(b->slots[i], host) == 0) return b->slots[i];
    if (b->count >= b->max || !(b->slots[i] = strdup(host))) return other(b, host);
    b->count++;
    return b->slots[i];
}

size_t tycho_host_labels_count(const tycho_host_labels_t *b)
{
    return b->count;
}
