/* Credential provider logic with a fake clock and a scripted source:
 * refresh windows (advisory / mandatory), one fetch for many waiters,
 * failed refreshes, forced refresh, redaction; plus the parsers (time, shared
 * files, STS XML) and the container host rule. The HTTP sources themselves
 * are tested against loopback servers in tests/aws/test_credentials.sh. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/credentials_http.h"
#include "aws/credentials_profile.h"
#include "core/log.h"

static uv_loop_t loop;
static int64_t fake_now = 1700000000;
static int64_t clock_fn(void *ud)
{
    (void)ud;
    return fake_now;
}

/* A source that completes from a timer, so fetches are really asynchronous. */
typedef struct fake_src {
    uv_timer_t t;
    tycho_aws_creds_provider_t *p;
    int fetches;
    int fail_next;
    const char *error; /* the failures' text; NULL: "fake: endpoint down" */
    int64_t lifetime;  /* 0: no expiry */
    int sync;          /* complete inside fetch */
    int repeat;        /* answer the first set (ASIATEST0001) every time */
} fake_src_t;

static void fake_complete(fake_src_t *s)
{
    char akid[32];
    snprintf(akid, sizeof akid, "ASIATEST%04d", s->repeat ? 1 : s->fetches);
    tycho_aws_creds_fetched_t f = {akid, "super-secret-key", "super-session-token",
                                   s->lifetime ? fake_now + s->lifetime : 0, NULL};
    if (s->fail_next) {
        s->fail_next--;
        memset(&f, 0, sizeof f);
        f.error = s->error ? s->error : "fake: endpoint down";
    }
    tycho_aws_creds_fetch_done(s->p, &f);
}

static void on_fake_timer(uv_timer_t *t)
{
    fake_complete(t->data);
}

static void fake_fetch(tycho_aws_creds_provider_t *p, void *ud)
{
    fake_src_t *s = ud;
    s->p = p;
    s->fetches++;
    if (s->sync)
        fake_complete(s);
    else
        uv_timer_start(&s->t, on_fake_timer, 5, 0);
}

static void fake_cancel(void *ud)
{
    uv_timer_stop(&((fake_src_t *)ud)->t);
}

/* outlives_expiry: the source's static stability flag (IMDS's) */
static tycho_aws_creds_provider_t *new_provider_of(fake_src_t *s, int64_t lifetime,
                                                   int outlives_expiry)
{
    memset(s, 0, sizeof *s);
    s->lifetime = lifetime;
    uv_timer_init(&loop, &s->t);
    s->t.data = s;
    tycho_aws_creds_source_t src = {.name = "fake",
                                    .fetch = fake_fetch,
                                    .cancel = fake_cancel,
                                    .ud = s,
                                    .outlives_expiry = outlives_expiry};
    tycho_aws_creds_options_t o = {.now = clock_fn};
    return tycho_aws_creds_provider_new(&loop, &src, &o);
}

static tycho_aws_creds_provider_t *new_provider(fake_src_t *s, int64_t lifetime)
{
    return new_provider_of(s, lifetime, 0);
}

static void done_provider(tycho_aws_creds_provider_t *p, fake_src_t *s)
{
    tycho_aws_creds_provider_close(p);
    uv_close((uv_handle_t *)&s->t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
}

typedef struct got {
    int calls, ok;
    char akid[32];
    char err[256];
    uint64_t gen;
} got_t;

static void on_got(const tycho_aws_creds_t *c, const char *err, void *ud)
{
    got_t *g = ud;
    g->calls++;
    if (c) {
        g->ok++;
        snprintf(g->akid, sizeof g->akid, "%s", c->access_key_id);
        g->gen = c->generation;
    } else {
        snprintf(g->err, sizeof g->err, "%s", err);
    }
}

static void test_waiters_share_one_fetch(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 3600);
    assert_null(tycho_aws_creds_peek(p));
    got_t g[20];
    memset(g, 0, sizeof g);
    for (int i = 0; i < 20; i++)
        assert_int_equal(tycho_aws_creds_get(p, on_got, &g[i], NULL), 0);
    assert_int_equal(g[0].calls, 0); /* never synchronous */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.fetches, 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(g[i].ok, 1);
        assert_string_equal(g[i].akid, "ASIATEST0001");
    }
    /* cached: no more fetches, still asynchronous */
    got_t again = {0};
    tycho_aws_creds_get(p, on_got, &again, NULL);
    assert_int_equal(again.calls, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(again.ok, 1);
    assert_int_equal(s.fetches, 1);
    assert_non_null(tycho_aws_creds_peek(p));
    done_provider(p, &s);
}

static void test_refresh_windows(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 3600);
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(g.akid, "ASIATEST0001");

    /* 20 minutes left: fresh, nothing happens */
    fake_now += 3600 - 20 * 60;
    assert_non_null(tycho_aws_creds_peek(p));
    assert_int_equal(s.fetches, 1);
    /* 14 minutes left: advisory; current creds returned, refresh in background */
    fake_now += 6 * 60;
    const tycho_aws_creds_t *c = tycho_aws_creds_peek(p);
    assert_non_null(c);
    assert_string_equal(c->access_key_id, "ASIATEST0001");
    assert_int_equal(s.fetches, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    c = tycho_aws_creds_peek(p);
    assert_string_equal(c->access_key_id, "ASIATEST0002");

    /* advisory refresh that fails keeps the old set */
    fake_now += 3600 - 14 * 60;
    s.fail_next = 1;
    c = tycho_aws_creds_peek(p);
    assert_non_null(c);
    assert_int_equal(s.fetches, 3);
    uv_run(&loop, UV_RUN_DEFAULT);
    c = tycho_aws_creds_peek(p);
    assert_non_null(c);
    assert_string_equal(c->access_key_id, "ASIATEST0002");
    assert_int_equal(s.fetches, 3); /* no retry storm right after a failure */

    /* 9 minutes left: mandatory; peek refuses, get waits for the new set */
    fake_now += 5 * 60;
    assert_null(tycho_aws_creds_peek(p));
    got_t m = {0};
    tycho_aws_creds_get(p, on_got, &m, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(m.akid, "ASIATEST0004");

    /* mandatory refresh failing while the old set is still valid: use it */
    fake_now += 3600 - 9 * 60;
    s.fail_next = 1;
    got_t f = {0};
    tycho_aws_creds_get(p, on_got, &f, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(f.ok, 1);
    assert_string_equal(f.akid, "ASIATEST0004");
    /* expired and the refresh fails: an error */
    fake_now += 10 * 60;
    s.fail_next = 1;
    got_t e = {0};
    tycho_aws_creds_get(p, on_got, &e, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(e.ok, 0);
    assert_string_equal(e.err, "fake: endpoint down");
    tycho_aws_creds_stats_t st;
    tycho_aws_creds_stats(p, &st);
    assert_int_equal(st.fetch_failures, 3);
    done_provider(p, &s);
}

/* A source with static stability (IMDS) whose set expired while it fails:
 * the set stays in use without waiting, the source is asked again in the
 * background every 30 s, a newer set replaces it; once AWS refused it
 * (invalidated), calls fail again. */
static void test_past_expiry(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider_of(&s, 700, 1);
    got_t a = {0};
    tycho_aws_creds_get(p, on_got, &a, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(a.akid, "ASIATEST0001");
    fake_now += 800; /* expired 100 s ago; the source is down */
    s.fail_next = 3;
    got_t b = {0};
    tycho_aws_creds_get(p, on_got, &b, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(b.ok, 1);
    assert_string_equal(b.akid, "ASIATEST0001");
    assert_int_equal(s.fetches, 2);
    fake_now += 10; /* within 30 s: no fetch */
    for (int i = 0; i < 5; i++)
        assert_non_null(tycho_aws_creds_peek(p));
    assert_int_equal(s.fetches, 2);
    fake_now += 25; /* asked again in the background; still down */
    assert_non_null(tycho_aws_creds_peek(p));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.fetches, 3);
    assert_non_null(tycho_aws_creds_peek(p));
    assert_int_equal(s.fetches, 3);
    fake_now += 31; /* back up: a new set */
    s.fail_next = 0;
    assert_non_null(tycho_aws_creds_peek(p));
    uv_run(&loop, UV_RUN_DEFAULT);
    got_t c = {0};
    tycho_aws_creds_get(p, on_got, &c, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(c.akid, "ASIATEST0004");
    /* it expires, the source fails, then AWS refuses the set: errors again */
    fake_now += 800;
    s.fail_next = 2;
    got_t d = {0};
    tycho_aws_creds_get(p, on_got, &d, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(d.akid, "ASIATEST0004");
    tycho_aws_creds_invalidate(p, d.gen);
    uv_run(&loop, UV_RUN_DEFAULT);
    got_t e = {0};
    s.fail_next = 1;
    tycho_aws_creds_get(p, on_got, &e, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(e.ok, 0);
    assert_string_equal(e.err, "fake: endpoint down");
    done_provider(p, &s);
}

/* Gets credentials from p once; the answer in *g. */
static void get_once(tycho_aws_creds_provider_t *p, got_t *g)
{
    memset(g, 0, sizeof *g);
    tycho_aws_creds_get(p, on_got, g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* IMDS during its own outage keeps answering the set AWS refuses
 * (ExpiredToken): after the drop it is asked once; when it answers the same
 * set again, or another that has already expired, that set is not used,
 * callers get the error at once, and IMDS is asked again 30 s later, not at
 * every call (each call fetched, three IMDS requests, and was refused). */
static void test_rejected_set_answered_again(void **state)
{
    (void)state;
    fake_src_t s;
    fake_now = 1700000000;
    tycho_aws_creds_provider_t *p = new_provider_of(&s, 700, 1);
    got_t g;
    get_once(p, &g);
    assert_string_equal(g.akid, "ASIATEST0001");
    fake_now += 800; /* expired; IMDS answers the same set, expired 100 s ago */
    s.repeat = 1;
    s.lifetime = -100;
    get_once(p, &g);
    assert_string_equal(g.akid, "ASIATEST0001"); /* static stability */
    assert_int_equal(s.fetches, 2);
    tycho_aws_creds_invalidate(p, g.gen); /* AWS: ExpiredToken */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.fetches, 3); /* asked once right away */
    assert_null(tycho_aws_creds_peek(p));
    for (int i = 0; i < 5; i++, fake_now += 5) {
        get_once(p, &g);
        assert_int_equal(g.ok, 0);
        assert_string_equal(g.err, "fake: AWS rejected its credentials as expired (ExpiredToken) "
                                   "and it answered the same set again; not asked again for 30 s");
    }
    assert_int_equal(s.fetches, 3);
    fake_now += 6; /* 31 s later: asked again, another set, expired too */
    s.repeat = 0;
    get_once(p, &g);
    assert_int_equal(s.fetches, 4);
    assert_int_equal(g.ok, 0);
    assert_non_null(strstr(g.err, "answered a set that has already expired; not asked again"));
    get_once(p, &g);
    assert_int_equal(s.fetches, 4);
    fake_now += 30; /* then a fresh set is used at once */
    s.lifetime = 3600;
    get_once(p, &g);
    assert_int_equal(g.ok, 1);
    assert_string_equal(g.akid, "ASIATEST0005");
    /* a later ExpiredToken of a set the source replaces at once: no pause */
    tycho_aws_creds_invalidate(p, g.gen);
    get_once(p, &g);
    assert_string_equal(g.akid, "ASIATEST0006");
    assert_int_equal(s.fetches, 6);
    done_provider(p, &s);
}

/* A source without it: an expired set is not used (an error). */
static void test_past_expiry_only_with_static_stability(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 700);
    got_t a = {0};
    tycho_aws_creds_get(p, on_got, &a, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    fake_now += 800;
    s.fail_next = 1;
    got_t b = {0};
    tycho_aws_creds_get(p, on_got, &b, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(b.ok, 0);
    done_provider(p, &s);
}

/* A source whose current set is already inside a refresh window (14 or 5
 * minutes left: it has nothing fresher yet) is asked again after 30 s, not
 * at every call. */
static void test_stale_source_asked_every_30s(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 14 * 60);
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.ok, 1);
    for (int i = 0; i < 5; i++) { /* advisory window: used, not fetched again */
        assert_non_null(tycho_aws_creds_peek(p));
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    assert_int_equal(s.fetches, 1);
    fake_now += 31;
    assert_non_null(tycho_aws_creds_peek(p));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.fetches, 2);
    done_provider(p, &s);

    p = new_provider(&s, 5 * 60);
    got_t m = {0};
    tycho_aws_creds_get(p, on_got, &m, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(m.akid, "ASIATEST0001");
    for (int i = 0; i < 5; i++) { /* mandatory window, just fetched: no wait */
        got_t w = {0};
        assert_non_null(tycho_aws_creds_peek(p));
        tycho_aws_creds_get(p, on_got, &w, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_string_equal(w.akid, "ASIATEST0001");
    }
    assert_int_equal(s.fetches, 1);
    fake_now += 31; /* then callers wait for a fetch again */
    assert_null(tycho_aws_creds_peek(p));
    got_t later = {0};
    tycho_aws_creds_get(p, on_got, &later, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(later.akid, "ASIATEST0002");
    assert_int_equal(s.fetches, 2);
    done_provider(p, &s);
}

/* A source's set that expired before it arrived (clock skew, a stale
 * endpoint) is a failed fetch, and the error shows both clocks. */
static void test_already_expired(void **state)
{
    (void)state;
    fake_src_t s;
    fake_now = 1700000000; /* 2023-11-14T22:13:20Z */
    tycho_aws_creds_provider_t *p = new_provider(&s, -60);
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.ok, 0);
    assert_string_equal(g.err, "fake: returned credentials that had already expired (Expiration "
                               "2023-11-14T22:12:20Z, local time 2023-11-14T22:13:20Z; is the "
                               "clock right?)");
    tycho_aws_creds_stats_t st;
    tycho_aws_creds_stats(p, &st);
    assert_int_equal(st.fetch_failures, 1);
    done_provider(p, &s);
}

/* The log lines of a test: every line's msg and, for a failure, its
 * failures_not_logged. */
typedef struct lines {
    int failed, recovered;
    char last[512];
} lines_t;

static void capture(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta;
    lines_t *l = ud;
    if (strstr(line, "\"aws credentials refresh failed\"")) l->failed++;
    if (strstr(line, "\"aws credentials refreshed after failures\"")) l->recovered++;
    snprintf(l->last, sizeof l->last, "%.*s", (int)len, line);
}

/* Every caller may retry a failing source (each AWS call, each export): the
 * same error is logged once a minute with the count of those not logged, a
 * different one at once, and a success after failures once. */
static void test_failures_logged_once_a_minute(void **state)
{
    (void)state;
    fake_src_t s;
    fake_now = 1700000000;
    tycho_aws_creds_provider_t *p = new_provider(&s, 3600);
    lines_t l = {0};
    tycho_log_set_sink(&(tycho_log_sink_t){capture, &l});
    s.fail_next = 100;
    for (int i = 0; i < 5; i++) {
        got_t g = {0};
        tycho_aws_creds_get(p, on_got, &g, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(g.ok, 0);
        fake_now += 10;
    }
    assert_int_equal(l.failed, 1); /* 5 failures in 50 s */
    fake_now += 20;                /* 70 s after the line */
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(l.failed, 2);
    assert_non_null(strstr(l.last, "\"failures_not_logged\":4"));
    s.fail_next = 0;
    memset(&g, 0, sizeof g);
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    tycho_log_set_sink(NULL);
    assert_int_equal(g.ok, 1);
    assert_int_equal(l.recovered, 1);
    assert_non_null(strstr(l.last, "\"failures\":6"));
    done_provider(p, &s);
}

/* Fails one fetch of p at the fake clock's now. */
static void fail_once(tycho_aws_creds_provider_t *p)
{
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.ok, 0);
}

/* A reason past what the provider keeps of it (256 bytes: an endpoint's
 * answer quoted whole) is still the same reason each time: one line a
 * minute, not one a failure. A new reason is logged at once, counting the
 * failures the old one held back. */
static void test_long_and_changed_reasons(void **state)
{
    (void)state;
    char long_reason[400];
    memset(long_reason, 'x', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    fake_src_t s;
    fake_now = 1700000000;
    tycho_aws_creds_provider_t *p = new_provider(&s, 3600);
    lines_t l = {0};
    tycho_log_set_sink(&(tycho_log_sink_t){capture, &l});
    s.fail_next = 100;
    s.error = long_reason;
    for (int i = 0; i < 4; i++, fake_now += 10)
        fail_once(p);
    assert_int_equal(l.failed, 1);
    s.error = "fake: access denied";
    fail_once(p);
    tycho_log_set_sink(NULL);
    assert_int_equal(l.failed, 2);
    assert_non_null(strstr(l.last, "fake: access denied"));
    assert_non_null(strstr(l.last, "\"failures_not_logged\":3"));
    s.fail_next = 0;
    done_provider(p, &s);
}

static void test_invalidate(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 0); /* static: never expire */
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    fake_now += 10 * 365 * 86400;
    assert_non_null(tycho_aws_creds_peek(p));
    /* two calls saw the same expired set: one refetch */
    tycho_aws_creds_invalidate(p, g.gen);
    tycho_aws_creds_invalidate(p, g.gen);
    assert_null(tycho_aws_creds_peek(p));
    got_t h = {0};
    tycho_aws_creds_get(p, on_got, &h, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.fetches, 2);
    assert_string_equal(h.akid, "ASIATEST0002");
    /* a stale generation does nothing */
    tycho_aws_creds_invalidate(p, g.gen);
    assert_non_null(tycho_aws_creds_peek(p));
    assert_int_equal(s.fetches, 2);
    done_provider(p, &s);
}

static void test_cancel_and_close(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 3600);
    got_t a = {0}, b = {0};
    tycho_aws_creds_wait_t *w = NULL;
    tycho_aws_creds_get(p, on_got, &a, &w);
    tycho_aws_creds_get(p, on_got, &b, NULL);
    tycho_aws_creds_wait_cancel(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.ok, 1);
    /* close with a waiter and a fetch in flight */
    tycho_aws_creds_invalidate(p, b.gen);
    got_t c = {0};
    tycho_aws_creds_get(p, on_got, &c, NULL);
    done_provider(p, &s);
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.err, "credentials provider closed");
}

static void test_sync_source(void **state)
{
    (void)state;
    fake_src_t s;
    tycho_aws_creds_provider_t *p = new_provider(&s, 0);
    s.sync = 1;
    got_t g = {0};
    tycho_aws_creds_get(p, on_got, &g, NULL);
    assert_int_equal(g.calls, 0); /* still delivered from the loop */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.ok, 1);
    done_provider(p, &s);
}

static void test_describe_redacts(void **state)
{
    (void)state;
    tycho_aws_creds_t c = {.access_key_id = "ASIAEXAMPLEKEY123456",
                           .secret_access_key = "very-secret",
                           .session_token = "very-secret-token",
                           .expiration = 1767225600,
                           .provider = "container"};
    char d[200];
    tycho_aws_creds_describe_creds(&c, d, sizeof d);
    assert_string_equal(d, "container ASIAEXAM... expires 2026-01-01T00:00:00Z");
    assert_null(strstr(d, "secret"));
    tycho_aws_creds_describe_creds(NULL, d, sizeof d);
    assert_string_equal(d, "none");
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31Z", &t, NULL), 0);
    assert_int_equal(t, 1456380211);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31.123Z", &t, NULL), 0);
    assert_int_equal(t, 1456380211);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T08:03:31+02:00", &t, NULL), 0);
    assert_int_equal(t, 1456380211);
    assert_int_equal(tycho_aws_parse_time("2016-02-25 06:03:31", &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("2016-13-25T06:03:31Z", &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("", &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31-23:59", &t, NULL), 0);
    assert_int_equal(t, 1456380211 + 23 * 3600 + 59 * 60);
    /* the offset is exactly hh:mm. A short one ("+1:2") was read by sscanf
     * and then skipped as 6 bytes, past the string's end: with the NULs
     * below it was accepted (ASan: heap-buffer-overflow on an exact-size
     * string, tests/fuzz/corpus/peer_replies/time_short_offset) */
    static const char short_offset[] = "2016-02-25T06:03:31+1:2\0\0\0";
    assert_int_equal(tycho_aws_parse_time(short_offset, &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31+01:2", &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31+0100", &t, NULL), -EINVAL);
    assert_int_equal(tycho_aws_parse_time("2016-02-25T06:03:31+24:00", &t, NULL), -EINVAL);
}

/* A time out of the calendar is refused with its reason, as botocore
 * (Python's datetime) refuses it; timegm would carry it into the next field
 * (April 31 read as May 1). */
static void test_parse_time_calendar(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why; /* why NULL: accepted */
        int64_t t;
    } cases[] = {
        {"2016-02-29T00:00:00Z", NULL, 1456704000}, /* leap year */
        {"2000-02-29T12:00:00Z", NULL, 951825600},  /* divisible by 400: leap */
        {"2015-02-29T00:00:00Z", "day past the end of its month", 0},
        {"1900-02-29T00:00:00Z", "day past the end of its month", 0}, /* by 100, not 400 */
        {"2016-04-31T00:00:00Z", "day past the end of its month", 0},
        {"2016-04-30T23:59:59Z", NULL, 1462060799},
        {"2016-12-31T23:59:59.999Z", NULL, 1483228799},
        {"2016-01-00T00:00:00Z", "day past the end of its month", 0},
        {"2016-00-10T00:00:00Z", "month out of range 01..12", 0},
        {"2016-13-10T00:00:00Z", "month out of range 01..12", 0},
        {"2016-01-10T24:00:00Z", "hour out of range 00..23", 0}, /* ISO 8601's end of day */
        {"2016-01-10T25:00:00Z", "hour out of range 00..23", 0},
        {"2016-01-10T10:60:00Z", "minute out of range 00..59", 0},
        /* RFC 3339 allows a leap second; AWS never sends one */
        {"2016-12-31T23:59:60Z", "second out of range 00..59 (no leap second)", 0},
        {"2016-01-10T-1:00:00Z", "not YYYY-MM-DDThh:mm:ss", 0}, /* sscanf took "-1" */
        {" 2016-01-10T10:00:00Z", "not YYYY-MM-DDThh:mm:ss", 0},
        {"2016-1-10T10:00:00Z", "not YYYY-MM-DDThh:mm:ss", 0},
        {"+016-01-10T10:00:00Z", "not YYYY-MM-DDThh:mm:ss", 0},
        {"2016-01-10t10:00:00z", NULL, 1452420000}, /* RFC 3339 5.6: any case */
        {"2016-01-10T10:00:00.Z", "a '.' without fraction digits", 0},
        {"2016-01-10T10:00:00", "no Z or +hh:mm offset", 0},
        {"2016-01-10T10:00:00Zjunk", "text after the time", 0},
        {"2016-01-10T10:00:00+01:60", "offset out of range", 0},
        {"2016-02-29T00:30:00+01:00", NULL, 1456702200}, /* the offset leaves the 28th */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t t = -1;
        const char *why = NULL;
        int rc = tycho_aws_parse_time(cases[i].text, &t, &why);
        if (!cases[i].why) {
            if (rc != 0) fail_msg("'%s' refused: %s", cases[i].text, why);
            assert_int_equal(t, cases[i].t);
        } else {
            if (rc != -EINVAL) fail_msg("'%s' accepted as %lld", cases[i].text, (long long)t);
            assert_string_equal(why, cases[i].why);
        }
    }
    const char *why = NULL;
    int64_t t;
    assert_int_equal(tycho_aws_parse_time(NULL, &t, &why), -EINVAL);
    assert_string_equal(why, "no time");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_profile_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/tycho-profile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[256], cred[256];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    snprintf(cred, sizeof cred, "%s/credentials", dir);
    write_file(cfg, "# comment\n[default]\nregion = eu-west-1\nAWS_ACCESS_KEY_ID = CFG\n"
                    "[profile app]\nregion=us-west-2\nservices = local\nendpoint_url = "
                    "http://global:1\n[app]\nregion = ignored\n"
                    "[services local]\nsqs =\n  endpoint_url = http://127.0.0.1:9324\n"
                    "dynamodb =\n  endpoint_url = http://127.0.0.1:8000\n");
    write_file(cred, "[default]\naws_access_key_id = CRED\n; other comment\n"
                     "aws_secret_access_key = s\n[app]\naws_access_key_id = APPKEY\n");
    tycho_aws_profile_t p;
    assert_int_equal(tycho_aws_profile_load_files(NULL, cfg, cred, &p), 0);
    assert_true(p.found);
    assert_string_equal(tycho_aws_profile_get(&p, "aws_access_key_id"), "CRED");
    assert_string_equal(tycho_aws_profile_get(&p, "region"), "eu-west-1");
    assert_null(tycho_aws_profile_service_endpoint(&p, "sqs"));
    char err[700], want[700];
    assert_int_equal(tycho_aws_profile_check_keys(&p, err, sizeof err), 1);
    tycho_aws_profile_free(&p);
    assert_int_equal(tycho_aws_profile_load_files("app", cfg, cred, &p), 0);
    /* a key id without its secret: botocore's PartialCredentialsError */
    assert_int_equal(tycho_aws_profile_check_keys(&p, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want,
             "profile \"app\" in %s: aws_access_key_id is set but aws_secret_access_key is "
             "missing (set both, or neither)",
             cred);
    assert_string_equal(err, want);
    assert_string_equal(tycho_aws_profile_get(&p, "region"), "us-west-2");
    assert_string_equal(tycho_aws_profile_get(&p, "aws_access_key_id"), "APPKEY");
    assert_string_equal(tycho_aws_profile_service_endpoint(&p, "sqs"), "http://127.0.0.1:9324");
    assert_string_equal(tycho_aws_profile_service_endpoint(&p, "dynamodb"),
                        "http://127.0.0.1:8000");
    tycho_aws_profile_free(&p);
    assert_int_equal(tycho_aws_profile_load_files("missing", cfg, cred, &p), 0);
    assert_int_equal(tycho_aws_profile_check_keys(&p, err, sizeof err), 0);
    assert_false(p.found);
    assert_null(tycho_aws_profile_get(&p, "region"));
    /* a named profile in neither file: botocore's ProfileNotFound */
    assert_int_equal(tycho_aws_profile_check_found(&p, err, sizeof err), -ENOENT);
    snprintf(want, sizeof want, "profile option: profile \"missing\" not found in %s or %s", cfg,
             cred);
    assert_string_equal(err, want);
    tycho_aws_profile_free(&p);
    /* a secret without its key id, in the config file */
    write_file(cfg, "[profile half]\naws_secret_access_key = s\n");
    assert_int_equal(tycho_aws_profile_load_files("half", cfg, cred, &p), 0);
    assert_int_equal(tycho_aws_profile_check_keys(&p, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want,
             "profile \"half\" in %s: aws_secret_access_key is set but aws_access_key_id is "
             "missing (set both, or neither)",
             cfg);
    assert_string_equal(err, want);
    tycho_aws_profile_free(&p);
    /* a section header without its ']': botocore's ConfigParseError, not a
     * profile silently missing */
    write_file(cred, "[ok]\naws_access_key_id = A\naws_secret_access_key = B\n\n[default\n"
                     "aws_access_key_id = C\n");
    assert_int_equal(tycho_aws_profile_load_files(NULL, cfg, cred, &p), 0);
    assert_int_equal(tycho_aws_profile_check_found(&p, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want,
             "aws shared files: %s line 5: a section header without its closing ']'", cred);
    assert_string_equal(err, want);
    assert_null(tycho_aws_profile_get(&p, "aws_access_key_id"));
    tycho_aws_profile_free(&p);
    /* the implicit default may be absent */
    assert_int_equal(tycho_aws_profile_load_files(NULL, "/nonexistent", NULL, &p), 0);
    assert_false(p.found);
    assert_int_equal(tycho_aws_profile_check_found(&p, err, sizeof err), 0);
    tycho_aws_profile_free(&p);
    unlink(cfg);
    unlink(cred);
    rmdir(dir);
}

/* A nested key was cut to 299 bytes ("parent.key" in a stack buffer) and
 * its parent to 127, so a long one could end in a space and two long ones
 * sharing their start became one (fuzz_aws_profile's "not trimmed" check
 * on the seed long_nested_key). */
static void test_profile_long_nested_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/tycho-profile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    char a295[296], a300[301], parent[201], text[2048], key[600];
    memset(a295, 'a', 295), a295[295] = '\0';
    memset(a300, 'a', 300), a300[300] = '\0';
    memset(parent, 'p', 200), parent[200] = '\0';
    snprintf(text, sizeof text,
             "[default]\ns3 =\n  %s b = 1\n  %sx = 2\n  %sy = 3\n%s =\n  k = 4\n", a295, a300, a300,
             parent);
    write_file(cfg, text);
    tycho_aws_profile_t p;
    assert_int_equal(tycho_aws_profile_load_files(NULL, cfg, NULL, &p), 0);
    snprintf(key, sizeof key, "s3.%s b", a295);
    assert_non_null(tycho_aws_profile_get(&p, key));
    assert_string_equal(tycho_aws_profile_get(&p, key), "1");
    snprintf(key, sizeof key, "s3.%sx", a300);
    assert_non_null(tycho_aws_profile_get(&p, key));
    assert_string_equal(tycho_aws_profile_get(&p, key), "2");
    snprintf(key, sizeof key, "s3.%sy", a300);
    assert_non_null(tycho_aws_profile_get(&p, key));
    assert_string_equal(tycho_aws_profile_get(&p, key), "3");
    snprintf(key, sizeof key, "%s.k", parent);
    assert_non_null(tycho_aws_profile_get(&p, key));
    assert_string_equal(tycho_aws_profile_get(&p, key), "4");
    tycho_aws_profile_free(&p);
    unlink(cfg);
    rmdir(dir);
}

static void test_sts_parse(void **state)
{
    (void)state;
    const char *ok = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                     "<Credentials><SessionToken>tok&amp;en</SessionToken><SecretAccessKey>sec"
                     "</SecretAccessKey><Expiration>2026-01-01T00:00:00Z</Expiration>"
                     "<AccessKeyId>ASIA1</AccessKeyId></Credentials>"
                     "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    tycho_aws_sts_creds_t c;
    assert_int_equal(tycho_aws_sts_parse(ok, strlen(ok), &c), 0);
    assert_string_equal(c.access_key_id, "ASIA1");
    assert_string_equal(c.secret_access_key, "sec");
    assert_string_equal(c.session_token, "tok&en");
    assert_string_equal(c.expiration, "2026-01-01T00:00:00Z");
    tycho_aws_sts_creds_free(&c);
    const char *err = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                      "<Message>Not authorized &lt;x&gt;</Message></Error></ErrorResponse>";
    assert_int_equal(tycho_aws_sts_parse(err, strlen(err), &c), -EINVAL);
    assert_string_equal(c.code, "AccessDenied");
    assert_string_equal(c.message, "Not authorized <x>");
    tycho_aws_sts_creds_free(&c);
    assert_int_equal(tycho_aws_sts_parse("<x", 2, &c), -EINVAL);
    tycho_aws_sts_creds_free(&c);
}

static void test_container_host_rule(void **state)
{
    (void)state;
    assert_true(tycho_aws_container_host_allowed("127.0.0.1"));
    assert_true(tycho_aws_container_host_allowed("127.1.2.3"));
    assert_true(tycho_aws_container_host_allowed("::1"));
    assert_true(tycho_aws_container_host_allowed("169.254.170.2"));
    assert_true(tycho_aws_container_host_allowed("169.254.170.23"));
    assert_true(tycho_aws_container_host_allowed("fd00:ec2::23"));
    assert_true(tycho_aws_container_host_allowed("::ffff:127.0.0.1"));
    assert_false(tycho_aws_container_host_allowed("169.254.169.254"));
    assert_false(tycho_aws_container_host_allowed("192.0.2.1"));
    assert_false(tycho_aws_container_host_allowed("fd00:ec2::254"));
    assert_false(tycho_aws_container_host_allowed("example.com"));

    /* the chain refuses such a URI up front (no request is made) */
    clearenv();
    setenv("HOME", "/nonexistent", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    tycho_http_client_t *http = tycho_http_client_new(&loop, NULL);
    char err[300];
    assert_null(tycho_aws_creds_chain_new(&loop, http, NULL, err, sizeof err));
    assert_non_null(strstr(err, "not 192.0.2.1"));
    /* https to any host is fine */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x", 1);
    tycho_aws_creds_provider_t *p = tycho_aws_creds_chain_new(&loop, http, NULL, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(tycho_aws_creds_source_name(p), "container");
    tycho_aws_creds_provider_close(p);
    /* nothing configured and IMDS disabled */
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_null(tycho_aws_creds_chain_new(&loop, http, NULL, err, sizeof err));
    assert_non_null(strstr(err, "none found"));
    /* the IMDS source is chosen last (it is not contacted here) */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    p = tycho_aws_creds_chain_new(&loop, http, NULL, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(tycho_aws_creds_source_name(p), "imds");
    tycho_aws_creds_provider_close(p);
    tycho_http_client_close(http);
    uv_run(&loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    (void)state;
    return uv_loop_init(&loop);
}

static int teardown(void **state)
{
    (void)state;
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiters_share_one_fetch),
        cmocka_unit_test(test_refresh_windows),
        cmocka_unit_test(test_stale_source_asked_every_30s),
        cmocka_unit_test(test_already_expired),
        cmocka_unit_test(test_past_expiry),
        cmocka_unit_test(test_past_expiry_only_with_static_stability),
        cmocka_unit_test(test_rejected_set_answered_again),
        cmocka_unit_test(test_failures_logged_once_a_minute),
        cmocka_unit_test(test_long_and_changed_reasons),
        cmocka_unit_test(test_invalidate),
        cmocka_unit_test(test_cancel_and_close),
        cmocka_unit_test(test_sync_source),
        cmocka_unit_test(test_describe_redacts),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_time_calendar),
        cmocka_unit_test(test_profile_files),
        cmocka_unit_test(test_profile_long_nested_keys),
        cmocka_unit_test(test_sts_parse),
        cmocka_unit_test(test_container_host_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
