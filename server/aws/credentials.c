/* The provider: cache, refresh windows (botocore credentials.py
 * RefreshableCredentials: advisory 15 min, mandatory 10 min), one fetch shared
 * by all waiters, and the chain that picks a source. The sources that speak
 * HTTP live in credentials_http.c. */
#include "aws/credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/credentials_http.h"
#include "aws/credentials_profile.h"
#include "core/log.h"
#include "core/ratelog.h"

/* After a failed advisory refresh, and after any set arrived: the source is
 * not asked again sooner, even when the set it gave is already inside a
 * refresh window (it had nothing fresher), or every call would fetch. */
#define ADVISORY_RETRY_SECS 30

struct tycho_aws_creds_wait {
    tycho_aws_creds_provider_t *p;
    tycho_aws_creds_wait_t *prev, *next;
    tycho_aws_creds_cb cb;
    void *ud;
};

struct tycho_aws_creds_provider {
    uv_loop_t *loop;
    tycho_aws_creds_source_t src;
    tycho_aws_creds_options_t opts;
    tycho_aws_creds_t creds;
    int have, stale;
    int fetching, fetch_is_advisory;
    int64_t next_advisory;
    int64_t fetched_at; /* when the set in use arrived */
    uint64_t generation;
    tycho_aws_creds_wait_t *head, *tail;
    uv_timer_t kick; /* delivers to waiters from the loop, never inline */
    int closing;
    char last_error[256]; /* the last failure's, "" after a success */
    unsigned failures;    /* since the last success */
    tycho_ratelog_t failure_log;
    int past_expiry;                 /* the set in use expired: static stability */
    tycho_ratelog_t past_expiry_log; /* its warnings */
    int rejected;      /* AWS refused the cached set as expired (tycho_aws_creds_invalidate) */
    int64_t ask_after; /* the source answered such a set again: not asked before this time */
    tycho_aws_creds_stats_t stats;
};

static int64_t now_of(const tycho_aws_creds_provider_t *p)
{
    return p->opts.now ? p->opts.now(p->opts.now_ud) : (int64_t)time(NULL);
}

static void wipe_free(char *s)
{
    if (!s) return;
    memset(s, 0, strlen(s));
    free(s);
}

static void creds_clear(tycho_aws_creds_t *c)
{
    wipe_free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

/* The value of the n decimal digits at s, or -1 when one of them is not a
 * digit (a NUL included: s is never read past it). */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

static int bad_time(const char **why, const char *text)
{
    if (why) *why = text;
    return -EINVAL;
}

/* RFC 3339 5.6 date-time, fixed widths: "YYYY-MM-DDThh:mm:ss", an optional
 * fraction of 1 or more digits (dropped), then "Z" or an offset "+hh:mm".
 * Each field is checked against the calendar, as botocore (Python's
 * datetime) does: a day past the month's end, hour 24 or second 60 is
 * refused, never carried into the next field by timegm. A leap second
 * (RFC 3339 allows 23:59:60) is refused too: AWS smears leap seconds and
 * never sends one, and botocore's datetime cannot hold it. */
int tycho_aws_parse_time(const char *s, int64_t *out, const char **why)
{
    if (!s) return bad_time(why, "no time");
    int Y = digits(s, 4);
    int M = Y >= 0 && s[4] == '-' ? digits(s + 5, 2) : -1;
    int D = M >= 0 && s[7] == '-' ? digits(s + 8, 2) : -1;
    int h = D >= 0 && (s[10] == 'T' || s[10] == 't') ? digits(s + 11, 2) : -1;
    int m = h >= 0 && s[13] == ':' ? digits(s + 14, 2) : -1;
    int sec = m >= 0 && s[16] == ':' ? digits(s + 17, 2) : -1;
    if (sec < 0) return bad_time(why, "not YYYY-MM-DDThh:mm:ss");
    if (M < 1 || M > 12) return bad_time(why, "month out of range 01..12");
    if (D < 1 || D > days_in_month(Y, M)) return bad_time(why, "day past the end of its month");
    if (h > 23) return bad_time(why, "hour out of range 00..23");
    if (m > 59) return bad_time(why, "minute out of range 00..59");
    if (sec > 59) return bad_time(why, "second out of range 00..59 (no leap second)");
    const char *p = s + 19;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9') return bad_time(why, "a '.' without fraction digits");
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = oh >= 0 && p[3] == ':' ? digits(p + 4, 2) : -1;
        if (om < 0) return bad_time(why, "offset not +hh:mm");
        if (oh > 23 || om > 59) return bad_time(why, "offset out of range");
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return bad_time(why, "no Z or +hh:mm offset");
    }
    if (*p) return bad_time(why, "text after the time");
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

/* --- delivery ------------------------------------------------------------ */

static void waiter_unlink(tycho_aws_creds_wait_t *w)
{
    tycho_aws_creds_provider_t *p = w->p;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->tail = w->prev;
    w->prev = w->next = NULL;
}

/* Fresh enough to hand out without waiting: outside the mandatory window,
 * or inside it but just fetched (what the source has now) and not expired,
 * or expired but kept in use past its expiry (use_past_expiry). */
static int fresh(tycho_aws_creds_provider_t *p, int64_t now)
{
    if (!p->have || p->stale) return 0;
    if (p->creds.expiration == 0 || p->creds.expiration - now > p->opts.mandatory_secs) return 1;
    if (p->past_expiry && p->creds.expiration <= now) return 1;
    return now - p->fetched_at < ADVISORY_RETRY_SECS && p->creds.expiration > now;
}

static void start_fetch(tycho_aws_creds_provider_t *p, int advisory);

static void on_kick(uv_timer_t *t)
{
    tycho_aws_creds_provider_t *p = t->data;
    int64_t now = now_of(p);
    const tycho_aws_creds_t *c = NULL;
    const char *err = NULL;
    if (fresh(p, now)) {
        c = &p->creds;
    } else if (p->fetching) {
        return; /* the fetch in flight will kick again */
    } else if (p->have && !p->stale && p->creds.expiration > now) {
        /* refresh failed inside the mandatory window: still valid, use it */
        c = &p->creds;
    } else {
        err = p->last_error[0] ? p->last_error : "no credentials";
    }
    /* serve the waiters present now; callbacks may add (served next kick) or
     * cancel waiters, or close the provider (close fails the rest) */
    size_t n = 0;
    for (tycho_aws_creds_wait_t *w = p->head; w; w = w->next)
        n++;
    while (n-- > 0 && p->head && !p->closing) {
        tycho_aws_creds_wait_t *w = p->head;
        waiter_unlink(w);
        p->stats.waiters_served++;
        w->cb(c, err, w->ud);
        free(w);
    }
}

static void schedule_kick(tycho_aws_creds_provider_t *p)
{
    if (!p->closing) uv_timer_start(&p->kick, on_kick, 0, 0);
}

/* "2026-01-01T00:00:00Z" */
static void format_time(int64_t unix_secs, char *out, size_t n)
{
    time_t t = (time_t)unix_secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Static stability (botocore's InstanceMetadataFetcher does this for a set
 * IMDS answers already expired; the SDKs for a refresh that fails too):
 * while the source of an expired set gives nothing newer, that set stays in
 * use rather than every AWS call failing; AWS, not tycho, decides whether it
 * is still accepted (an ExpiredToken answer invalidates it, and calls fail
 * again). The source is asked again in the background every 30 s; the
 * warning comes once, then at most once a minute, with the refreshes held
 * back. why: the source's answer. */
static void use_past_expiry(tycho_aws_creds_provider_t *p, int64_t now, const char *why)
{
    if (!p->past_expiry) p->past_expiry_log = (tycho_ratelog_t){0};
    p->past_expiry = 1;
    p->next_advisory = now + ADVISORY_RETRY_SECS;
    uint64_t count;
    if (!tycho_ratelog_due(&p->past_expiry_log, (uint64_t)now * 1000, TYCHO_LOG_EVERY_MS, 1,
                           &count))
        return;
    char exp[32];
    format_time(p->creds.expiration, exp, sizeof exp);
    tycho_log_warn("aws credentials expired and still in use past their expiry: the source "
                   "cannot renew them (static stability; AWS may refuse them)",
                   LF_STR("provider", p->src.name), LF_STR("expired_at", exp),
                   LF_INT("expired_secs_ago", now - p->creds.expiration),
                   LF_STR("source_said", why), LF_INT("retry_in_secs", ADVISORY_RETRY_SECS),
                   LF_INT("refreshes_not_logged", count - 1));
}

/* A fetch that brought no usable set: the old one (if any) stays. Every
 * caller (each AWS call, each export) may retry it, so the same failure is
 * logged by core/ratelog's policy (the first, then at most one a minute,
 * with how many were not); a new error is logged at once, its count
 * including the failures the old one held back (the times in a reason
 * are not compared: core/ratelog.h). */
static void fetch_failed(tycho_aws_creds_provider_t *p, int64_t now, const char *reason)
{
    if (p->failures == 0) p->failure_log = (tycho_ratelog_t){0};
    snprintf(p->last_error, sizeof p->last_error, "%s", reason);
    p->stats.fetch_failures++;
    p->failures++;
    if (p->fetch_is_advisory) p->next_advisory = now + ADVISORY_RETRY_SECS;
    uint64_t count;
    /* the reason as kept: a longer one is the same reason each time */
    if (!tycho_ratelog_due_reason(&p->failure_log, (uint64_t)now * 1000, TYCHO_LOG_EVERY_MS,
                                  p->last_error, &count))
        return;
    tycho_log_warn("aws credentials refresh failed", LF_STR("provider", p->src.name),
                   LF_STR("error", p->last_error), LF_BOOL("advisory", p->fetch_is_advisory),
                   LF_INT("failures_not_logged", count - 1));
}

/* fetch_failed, then an expired set of a source with static stability
 * stays in use. */
static void refresh_failed(tycho_aws_creds_provider_t *p, int64_t now, const char *reason)
{
    fetch_failed(p, now, reason);
    if (p->src.outlives_expiry && p->have && !p->stale && p->creds.expiration &&
        p->creds.expiration <= now)
        use_past_expiry(p, now, p->last_error);
}

/* 1 when f is the set c (the same key id and session token). */
static int same_set(const tycho_aws_creds_t *c, const tycho_aws_creds_fetched_t *f)
{
    const char *token = f->session_token && *f->session_token ? f->session_token : NULL;
    if (!c->access_key_id || strcmp(c->access_key_id, f->access_key_id) != 0) return 0;
    if (!c->session_token || !token) return !c->session_token && !token;
    return strcmp(c->session_token, token) == 0;
}

/* After AWS refused the cached set as expired, the source answered that
 * same set again, or another one that has already expired (IMDS during its
 * own outage): nothing AWS will take. It is not used; callers get this error
 * and the source is not asked again for ADVISORY_RETRY_SECS, or every AWS
 * call would fetch (three IMDS requests) and be refused again. */
static void answered_rejected(tycho_aws_creds_provider_t *p, int64_t now, int same)
{
    char reason[200];
    snprintf(reason, sizeof reason,
             "%s: AWS rejected its credentials as expired (ExpiredToken) and it answered %s; "
             "not asked again for %d s",
             p->src.name, same ? "the same set again" : "a set that has already expired",
             ADVISORY_RETRY_SECS);
    fetch_failed(p, now, reason);
    p->ask_after = now + ADVISORY_RETRY_SECS;
}

/* A set arrived after failures that were logged: say so once. */
static void fetch_recovered(tycho_aws_creds_provider_t *p)
{
    if (p->failures)
        tycho_log_info("aws credentials refreshed after failures", LF_STR("provider", p->src.name),
                       LF_INT("failures", p->failures));
    p->failures = 0;
}

/* Credentials that expired before they arrived: the source's clock and ours
 * disagree (or the source serves a stale set). Both times are in the
 * message, since that is what clock skew looks like. */
static void fetch_expired(tycho_aws_creds_provider_t *p, int64_t now, int64_t expiration)
{
    char exp[32], local[32], reason[200];
    format_time(expiration, exp, sizeof exp);
    format_time(now, local, sizeof local);
    snprintf(reason, sizeof reason,
             "%s: returned credentials that had already expired (Expiration %s, local time %s; "
             "is the clock right?)",
             p->src.name, exp, local);
    fetch_failed(p, now, reason);
}

void tycho_aws_creds_fetch_done(tycho_aws_creds_provider_t *p, const tycho_aws_creds_fetched_t *f)
{
    if (!p->fetching) return;
    p->fetching = 0;
    int64_t now = now_of(p);
    if (f->error || !f->access_key_id || !*f->access_key_id || !f->secret_access_key ||
        !*f->secret_access_key) {
        refresh_failed(p, now, f->error ? f->error : "credentials incomplete");
    } else if (f->expiration && f->expiration <= now && !p->src.outlives_expiry) {
        fetch_expired(p, now, f->expiration);
    } else if (p->rejected && (same_set(&p->creds, f) || (f->expiration && f->expiration <= now))) {
        answered_rejected(p, now, same_set(&p->creds, f));
    } else {
        tycho_aws_creds_t n = {0};
        n.access_key_id = strdup(f->access_key_id);
        n.secret_access_key = strdup(f->secret_access_key);
        n.session_token = f->session_token && *f->session_token ? strdup(f->session_token) : NULL;
        if (!n.access_key_id || !n.secret_access_key ||
            (f->session_token && *f->session_token && !n.session_token)) {
            creds_clear(&n);
            char reason[64];
            snprintf(reason, sizeof reason, "%.40s: out of memory", p->src.name);
            refresh_failed(p, now, reason);
        } else {
            creds_clear(&p->creds);
            p->creds = n;
            p->creds.expiration = f->expiration;
            p->creds.provider = p->src.name;
            p->creds.generation = ++p->generation;
            p->have = 1;
            p->stale = 0;
            p->rejected = 0;
            p->ask_after = 0;
            p->fetched_at = now;
            p->next_advisory = now + ADVISORY_RETRY_SECS;
            p->last_error[0] = '\0';
            p->stats.fetches++;
            if (f->expiration && f->expiration <= now) {
                use_past_expiry(p, now, "answered a set that had already expired");
            } else {
                p->past_expiry = 0;
                fetch_recovered(p);
            }
            char d[160];
            tycho_aws_creds_describe_creds(&p->creds, d, sizeof d);
            tycho_log_debug("aws credentials fetched", LF_STR("credentials", d));
        }
    }
    schedule_kick(p);
}

static void start_fetch(tycho_aws_creds_provider_t *p, int advisory)
{
    if (p->fetching || p->closing) return;
    if (now_of(p) < p->ask_after) { /* answered_rejected: its error meanwhile */
        schedule_kick(p);
        return;
    }
    p->fetching = 1;
    p->fetch_is_advisory = advisory;
    if (advisory) p->stats.advisory_refreshes++;
    p->src.fetch(p, p->src.ud);
}

/* --- public -------------------------------------------------------------- */

tycho_aws_creds_provider_t *tycho_aws_creds_provider_new(uv_loop_t *loop,
                                                         const tycho_aws_creds_source_t *src,
                                                         const tycho_aws_creds_options_t *opts)
{
    tycho_aws_creds_provider_t *p = calloc(1, sizeof *p);
    if (!p) {
        if (src->destroy) src->destroy(src->ud);
        return NULL;
    }
    p->loop = loop;
    p->src = *src;
    if (opts) p->opts = *opts;
    if (p->opts.advisory_secs <= 0) p->opts.advisory_secs = 900;
    if (p->opts.mandatory_secs <= 0) p->opts.mandatory_secs = 600;
    p->opts.profile = NULL; /* not kept */
    uv_timer_init(loop, &p->kick);
    p->kick.data = p;
    return p;
}

const tycho_aws_creds_t *tycho_aws_creds_peek(tycho_aws_creds_provider_t *p)
{
    int64_t now = now_of(p);
    if (!fresh(p, now)) return NULL;
    if (p->creds.expiration && p->creds.expiration - now <= p->opts.advisory_secs &&
        now >= p->next_advisory)
        start_fetch(p, 1);
    /* a synchronous source may have replaced the set: re-check */
    return fresh(p, now) ? &p->creds : NULL;
}

int tycho_aws_creds_get(tycho_aws_creds_provider_t *p, tycho_aws_creds_cb cb, void *ud,
                        tycho_aws_creds_wait_t **out)
{
    if (out) *out = NULL;
    if (p->closing) return -ESHUTDOWN;
    tycho_aws_creds_wait_t *w = calloc(1, sizeof *w);
    if (!w) return -ENOMEM;
    w->p = p;
    w->cb = cb;
    w->ud = ud;
    w->prev = p->tail;
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    if (out) *out = w;
    if (tycho_aws_creds_peek(p))
        schedule_kick(p);
    else if (!p->fetching)
        start_fetch(p, 0);
    return 0;
}

void tycho_aws_creds_wait_cancel(tycho_aws_creds_wait_t *w)
{
    if (!w) return;
    waiter_unlink(w);
    free(w);
}

void tycho_aws_creds_invalidate(tycho_aws_creds_provider_t *p, uint64_t generation)
{
    if (!p->have || p->creds.generation != generation || p->stale) return;
    p->stale = 1;
    p->rejected = 1;
    start_fetch(p, 0);
}

void tycho_aws_creds_describe_creds(const tycho_aws_creds_t *c, char *out, size_t n)
{
    if (!c || !c->access_key_id) {
        snprintf(out, n, "none");
        return;
    }
    char exp[32] = "";
    if (c->expiration) format_time(c->expiration, exp, sizeof exp);
    snprintf(out, n, "%s %.8s...%s%s", c->provider ? c->provider : "?", c->access_key_id,
             c->expiration ? " expires " : "", exp);
}

void tycho_aws_creds_describe(tycho_aws_creds_provider_t *p, char *out, size_t n)
{
    if (!p->have) {
        snprintf(out, n, "%s none", p->src.name);
        return;
    }
    tycho_aws_creds_describe_creds(&p->creds, out, n);
}

const char *tycho_aws_creds_source_name(const tycho_aws_creds_provider_t *p)
{
    return p->src.name;
}

void tycho_aws_creds_stats(const tycho_aws_creds_provider_t *p, tycho_aws_creds_stats_t *out)
{
    *out = p->stats;
}

static void on_kick_closed(uv_handle_t *h)
{
    free(h->data);
}

void tycho_aws_creds_provider_close(tycho_aws_creds_provider_t *p)
{
    if (!p || p->closing) return;
    p->closing = 1;
    if (p->fetching && p->src.cancel) p->src.cancel(p->src.ud);
    p->fetching = 0;
    while (p->head) {
        tycho_aws_creds_wait_t *w = p->head;
        waiter_unlink(w);
        w->cb(NULL, "credentials provider closed", w->ud);
        free(w);
    }
    if (p->src.destroy) p->src.destroy(p->src.ud);
    creds_clear(&p->creds);
    uv_timer_stop(&p->kick);
    uv_close((uv_handle_t *)&p->kick, on_kick_closed);
}

/* --- environment and shared-file sources (synchronous) -------------------- */

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

static void env_fetch(tycho_aws_creds_provider_t *p, void *ud)
{
    (void)ud;
    tycho_aws_creds_fetched_t f = {0};
    f.access_key_id = env("AWS_ACCESS_KEY_ID");
    f.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    f.session_token = env("AWS_SESSION_TOKEN");
    if (!f.session_token) f.session_token = env("AWS_SECURITY_TOKEN");
    if (!f.access_key_id || !f.secret_access_key)
        f.error = "env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set";
    tycho_aws_creds_fetch_done(p, &f);
}

int tycho_aws_source_env(tycho_aws_creds_source_t *out, char *err, size_t errlen)
{
    const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    if (akid && !secret) { /* botocore: PartialCredentialsError */
        snprintf(err, errlen,
                 "AWS_SECRET_ACCESS_KEY: not set, but AWS_ACCESS_KEY_ID is (set both, or neither)");
        return -EINVAL;
    }
    if (!akid) { /* botocore goes on to the next source, even with a secret set */
        snprintf(err, errlen, "%s",
                 secret ? "AWS_ACCESS_KEY_ID: not set, but AWS_SECRET_ACCESS_KEY is" : "");
        return 0;
    }
    memset(out, 0, sizeof *out);
    out->name = "env";
    out->fetch = env_fetch;
    return 1;
}

typedef struct file_src {
    char profile[128];
} file_src_t;

static void file_fetch(tycho_aws_creds_provider_t *p, void *ud)
{
    file_src_t *s = ud;
    tycho_aws_profile_t prof;
    tycho_aws_creds_fetched_t f = {0};
    char err[700], why[640];
    if (tycho_aws_profile_load(s->profile, &prof) != 0) {
        f.error = "shared-file: out of memory";
        tycho_aws_creds_fetch_done(p, &f);
        return;
    }
    int keys = tycho_aws_profile_check_keys(&prof, why, sizeof why);
    if (keys > 0) {
        f.access_key_id = tycho_aws_profile_get(&prof, "aws_access_key_id");
        f.secret_access_key = tycho_aws_profile_get(&prof, "aws_secret_access_key");
        f.session_token = tycho_aws_profile_get(&prof, "aws_session_token");
    } else {
        if (keys == 0)
            snprintf(why, sizeof why,
                     "profile '%s' has no aws_access_key_id / aws_secret_access_key", s->profile);
        snprintf(err, sizeof err, "shared-file: %s", why);
        f.error = err;
    }
    tycho_aws_creds_fetch_done(p, &f);
    tycho_aws_profile_free(&prof);
}

static int truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

tycho_aws_creds_provider_t *tycho_aws_creds_chain_new(uv_loop_t *loop, tycho_http_client_t *http,
                                                      const tycho_aws_creds_options_t *opts,
                                                      char *err, size_t errlen)
{
    tycho_aws_creds_source_t src;
    tycho_aws_profile_t prof;
    char why[256] = "";
    if (tycho_aws_profile_load(opts ? opts->profile : NULL, &prof) != 0) {
        snprintf(err, errlen, "aws credentials: out of memory");
        return NULL;
    }
    int rc = tycho_aws_profile_check_found(&prof, err, errlen);
    if (rc < 0) goto fail;
    /* 1. environment; why: a note for "none found" */
    if ((rc = tycho_aws_source_env(&src, why, sizeof why)) > 0) goto found;
    if (rc < 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    /* 2. web identity (env or profile) */
    rc = tycho_aws_source_web_identity(loop, http, &prof, &src, err, errlen);
    if (rc > 0) goto found;
    if (rc < 0) goto fail;
    /* 3. shared files: one key without the other is refused here, not
     * skipped for the next source (botocore: PartialCredentialsError) */
    char partial[640];
    if ((rc = tycho_aws_profile_check_keys(&prof, partial, sizeof partial)) < 0) {
        snprintf(err, errlen, "aws credentials: %s", partial);
        goto fail;
    }
    if (rc > 0) {
        file_src_t *s = calloc(1, sizeof *s);
        if (!s) goto oom;
        snprintf(s->profile, sizeof s->profile, "%s", prof.name);
        memset(&src, 0, sizeof src);
        src.name = "shared-file";
        src.fetch = file_fetch;
        src.destroy = free;
        src.ud = s;
        goto found;
    }
    if (tycho_aws_profile_get(&prof, "role_arn") ||
        tycho_aws_profile_get(&prof, "credential_process") ||
        tycho_aws_profile_get(&prof, "sso_start_url") ||
        tycho_aws_profile_get(&prof, "sso_session")) {
        snprintf(err, errlen,
                 "aws credentials: profile '%s' uses role_arn/source_profile, credential_process "
                 "or SSO, which tycho does not support; use keys, web identity or a container role",
                 prof.name);
        goto fail;
    }
    /* 4. container */
    rc = tycho_aws_source_container(loop, http, &src, err, errlen);
    if (rc > 0) goto found;
    if (rc < 0) goto fail;
    /* 5. EC2 instance metadata */
    if (truthy(env("AWS_EC2_METADATA_DISABLED"))) {
        snprintf(err, errlen,
                 "aws credentials: none found (env, web identity, shared files '%s', container "
                 "tried; IMDS disabled by AWS_EC2_METADATA_DISABLED)%s%s",
                 prof.name, why[0] ? "; " : "", why);
        goto fail;
    }
    rc = tycho_aws_source_imds(loop, http, &src, err, errlen);
    if (rc > 0) goto found;
    goto fail;
found:
    tycho_aws_profile_free(&prof);
    tycho_aws_creds_provider_t *p = tycho_aws_creds_provider_new(loop, &src, opts);
    if (!p) snprintf(err, errlen, "aws credentials: out of memory");
    return p;
oom:
    snprintf(err, errlen, "aws credentials: out of memory");
fail:
    tycho_aws_profile_free(&prof);
    return NULL;
}
