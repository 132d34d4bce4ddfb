/* host_label — bounds the `host` label of
 * tycho_http_client_request_duration_seconds: the first `max` distinct hosts
 * a worker calls (tycho.http and AWS) keep their name, every later one is
 * TYCHO_HOST_LABEL_OTHER, so a route that calls a host per user (webhooks)
 * adds at most `max` hosts to the family instead of filling its series cap
 * (whose overflow series loses the status class too). The bound is per
 * worker; `max` comes from TYCHO_HTTP_CLIENT_MAX_HOSTS. A set belongs to one
 * worker's services: its thread only. */
#ifndef TYCHO_AWS_HOST_LABEL_H
#define TYCHO_AWS_HOST_LABEL_H

#include <stddef.h>

#define TYCHO_HOST_LABEL_OTHER "other"
#define TYCHO_HOST_LABEL_ENV "TYCHO_HTTP_CLIENT_MAX_HOSTS"
#define TYCHO_HOST_LABEL_DEFAULT_MAX 100
#define TYCHO_HOST_LABEL_MAX_MAX 10000

typedef struct tycho_host_labels tycho_host_labels_t;

/* TYCHO_HTTP_CLIENT_MAX_HOSTS (0 to TYCHO_HOST_LABEL_MAX_MAX; 0: every host
 * is "other"), or the default when unset. 0, or -1 with
 * "TYCHO_HTTP_CLIENT_MAX_HOSTS: ..." in err (errlen bytes). Any thread. */
int tycho_host_labels_max_from_env(size_t *out, char *err, size_t errlen);

/* An empty set admitting max hosts. NULL on ENOMEM. */
tycho_host_labels_t *tycho_host_labels_new(size_t max);
void tycho_host_labels_free(tycho_host_labels_t *b);

/* The label for host: host itself when it is one of the set's first max
 * distinct hosts (it is added if there is room), else "other" (also when
 * adding it found no memory). The first host a process labels "other"
 * writes one warn line naming it and the bound. The result is valid until
 * the set is freed or host changes. */
const char *tycho_host_labels_get(tycho_host_labels_t *b, const char *host);

/* Distinct hosts admitted so far (tests, diagnostics). */
size_t tycho_host_labels_count(const tycho_host_labels_t *b);

#endif
