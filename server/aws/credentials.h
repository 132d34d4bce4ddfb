/* credentials — AWS credentials: the SDK default chain (env, web identity,
 * shared files, ECS container, EC2 IMDSv2; PROTOCOLS.md section 6), fetched
 * asynchronously with the HTTP client, cached, and refreshed ahead of expiry
 * (advisory 15 min before: background refresh, old credentials kept if it
 * fails; mandatory 10 min before: callers wait). Concurrent callers share one
 * fetch. Threading: one provider per loop; call everything on that loop's
 * thread. Secrets (secret key, session token, web identity and container
 * tokens) are never logged nor put in error strings: use
 * tycho_aws_creds_describe for anything printed. */
#ifndef TYCHO_AWS_CREDENTIALS_H
#define TYCHO_AWS_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/http_client.h"

typedef struct tycho_aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;  /* NULL for long-term keys */
    int64_t expiration;   /* unix seconds; 0 = does not expire */
    const char *provider; /* "env", "web-identity", "shared-file", "container", "imds", ... */
    uint64_t generation;  /* increases with every successful fetch */
} tycho_aws_creds_t;

typedef struct tycho_aws_creds_provider tycho_aws_creds_provider_t;
typedef struct tycho_aws_creds_wait tycho_aws_creds_wait_t;

/* creds is valid during the callback only (sign right away); on failure it is
 * NULL and error says why, without secrets. */
typedef void (*tycho_aws_creds_cb)(const tycho_aws_creds_t *creds, const char *error, void *ud);

typedef struct tycho_aws_creds_options {
    const char *profile; /* NULL: AWS_PROFILE, else "default" */
    /* clock (unix seconds) for tests; NULL = time(NULL) */
    int64_t (*now)(void *ud);
    void *now_ud;
    int advisory_secs;  /* 0 = 900 */
    int mandatory_secs; /* 0 = 600 */
} tycho_aws_creds_options_t;

/* A source fetches one set of credentials. fetch starts the work and later
 * calls tycho_aws_creds_fetch_done exactly once (it may do so before fetch
 * returns); cancel abandons an unfinished fetch (then done must not be
 * called); destroy frees ud. */
typedef struct tycho_aws_creds_source {
    const char *name;
    void (*fetch)(tycho_aws_creds_provider_t *p, void *ud);
    void (*cancel)(void *ud);
    void (*destroy)(void *ud);
    void *ud;
    /* static stability (IMDS): a set of this source that has expired stays
     * in use while the source gives nothing newer (it answers an expired
     * set, or fails), with a warning, and is asked again every 30 s */
    int outlives_expiry;
} tycho_aws_creds_source_t;

/* Result of a fetch: on success akid and secret set (copied), error NULL. */
typedef struct tycho_aws_creds_fetched {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    int64_t expiration;
    const char *error; /* non-NULL: the fetch failed, with this reason */
} tycho_aws_creds_fetched_t;
void tycho_aws_creds_fetch_done(tycho_aws_creds_provider_t *p, const tycho_aws_creds_fetched_t *f);

/* The default chain: picks the first configured source in SDK order and
 * sticks to it. NULL with a reason in err when none can be (IMDS disabled
 * and nothing else set) or on bad settings (e.g. a container URI to a host
 * that is not allowed, AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY, an
 * AWS_PROFILE in neither shared file). http must outlive the provider. */
tycho_aws_creds_provider_t *tycho_aws_creds_chain_new(uv_loop_t *loop, tycho_http_client_t *http,
                                                      const tycho_aws_creds_options_t *opts,
                                                      char *err, size_t errlen);

/* A provider over one source (tests, fixed credentials). Takes the source. */
tycho_aws_creds_provider_t *tycho_aws_creds_provider_new(uv_loop_t *loop,
                                                         const tycho_aws_creds_source_t *src,
                                                         const tycho_aws_creds_options_t *opts);

/* Fresh cached credentials (more than mandatory_secs from expiry; or an
 * expired set kept by static stability, see outlives_expiry) or NULL.
 * Inside the advisory window it also starts a background refresh. The
 * pointer is valid until control returns to the loop. */
const tycho_aws_creds_t *tycho_aws_creds_peek(tycho_aws_creds_provider_t *p);

/* Gets credentials, fetching if needed; cb always runs asynchronously. *w
 * (may be NULL) can cancel the wait until cb runs. 0, -ENOMEM, -ESHUTDOWN. */
int tycho_aws_creds_get(tycho_aws_creds_provider_t *p, tycho_aws_creds_cb cb, void *ud,
                        tycho_aws_creds_wait_t **w);
void tycho_aws_creds_wait_cancel(tycho_aws_creds_wait_t *w);

/* The service said the credentials of `generation` expired (ExpiredToken):
 * unless a newer set is already cached, drop them and start a fetch. If the
 * source answers that same set again, or one already expired (IMDS's static
 * stability), it is not used: callers get an error saying so and the source
 * is not asked again for 30 s. */
void tycho_aws_creds_invalidate(tycho_aws_creds_provider_t *p, uint64_t generation);

/* Redacted one-liner: "container ASIAXXXX... expires 2026-01-01T00:00:00Z"
 * (provider, first 8 characters of the key id, expiry), "none" when no
 * credentials are cached. */
void tycho_aws_creds_describe(tycho_aws_creds_provider_t *p, char *out, size_t n);
void tycho_aws_creds_describe_creds(const tycho_aws_creds_t *c, char *out, size_t n);
const char *tycho_aws_creds_source_name(const tycho_aws_creds_provider_t *p);

typedef struct tycho_aws_creds_stats {
    unsigned long fetches, fetch_failures, advisory_refreshes, waiters_served;
} tycho_aws_creds_stats_t;
void tycho_aws_creds_stats(const tycho_aws_creds_provider_t *p, tycho_aws_creds_stats_t *out);

/* Waiters get an error callback ("credentials provider closed"), a running
 * fetch is cancelled, the provider is freed once its handles have closed. */
void tycho_aws_creds_provider_close(tycho_aws_creds_provider_t *p);

/* Parses an RFC 3339 date-time as AWS sends it ("2016-02-25T06:03:31Z",
 * with an optional fraction and a +hh:mm offset for the Z) into seconds
 * since the epoch. 0, or -EINVAL with *why (static text; why may be NULL)
 * for anything else: a field out of the calendar (April 31, February 29 of
 * a common year, hour 24, second 60: no leap second) is refused, not
 * carried into the next one. */
int tycho_aws_parse_time(const char *s, int64_t *out, const char **why);

/* Built-in sources, exposed for tests; each reads its settings from the
 * environment (and profile) when created. 1 when configured; 0 when not
 * (err: a note, "" or why a half-set pair was skipped); -EINVAL with err
 * on bad settings (AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY). */
int tycho_aws_source_env(tycho_aws_creds_source_t *out, char *err, size_t errlen);

#endif
