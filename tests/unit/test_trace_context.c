/* W3C traceparent/tracestate, X-Amzn-Trace-Id, precedence, id generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/trace_context.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TP_OK "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static int tp(const char *s, tycho_traceparent_t *out)
{
    return tycho_traceparent_parse(s, strlen(s), out);
}

static void test_traceparent_valid(void **state)
{
    (void)state;
    tycho_traceparent_t t;
    assert_int_equal(tp(TP_OK, &t), 0);
    assert_int_equal(t.version, 0);
    assert_int_equal(t.flags, 1);
    assert_int_equal(t.trace_id[0], 0x0a);
    assert_int_equal(t.trace_id[15], 0x9c);
    assert_int_equal(t.parent_id[7], 0x31);
    assert_int_equal(tp("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", &t), 0);
    assert_int_equal(t.flags, 0);
    /* Unknown flag bits are accepted (and not re-emitted). */
    assert_int_equal(tp("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff", &t), 0);
    assert_int_equal(t.flags, 0xff);
    /* Surrounding OWS is not part of the value. */
    assert_int_equal(tp("  " TP_OK "\t", &t), 0);
    /* Higher versions: the first 55 chars, then end or '-'. */
    assert_int_equal(tp("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &t), 0);
    assert_int_equal(t.version, 1);
    assert_int_equal(
        tp("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds", &t), 0);
    assert_int_equal(t.version, 0xcc);
    assert_int_equal(t.flags, 1);

    char out[TYCHO_TRACEPARENT_LEN + 1];
    assert_int_equal(tycho_traceparent_format(t.trace_id, t.parent_id, 0xff, out), 55);
    /* Re-emitted as version 00, only the defined flag bits. */
    assert_string_equal(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
}

static void test_traceparent_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", /* uppercase */
        "00-0af7651916cd43dd8448eb211c80319C-b7ad6b7169203331-01", /* one uppercase digit */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",       /* version ff */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",       /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",       /* zero parent id */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", /* 00 + trailing data */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
        "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",   /* short trace id */
        "00-0af7651916cd43dd8448eb211c80319c00-b7ad6b71692033-01", /* misplaced dash */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",  /* short parent */
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x", /* higher: no '-' after flags */
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-g1",
    };
    tycho_traceparent_t t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tp(bad[i], &t) != -EINVAL) fail_msg("accepted: \"%s\"", bad[i]);
    }
    assert_int_equal(tycho_traceparent_parse(NULL, 0, &t), -EINVAL);
}

static void test_tracestate(void **state)
{
    (void)state;
    tycho_tracestate_t ts;
    const char *in = " rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE,\t,tenant@vendor=x y";
    assert_int_equal(tycho_tracestate_parse(in, strlen(in), &ts), 0);
    assert_string_equal(ts.str, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=x y");
    assert_int_equal(ts.nmembers, 3);
    size_t n;
    const char *v = tycho_tracestate_get(&ts, "congo", &n);
    assert_non_null(v);
    assert_int_equal(n, 11);
    assert_memory_equal(v, "t61rcWkgMzE", 11);
    assert_null(tycho_tracestate_get(&ts, "cong", &n));

    /* Add at the left; replacing moves the key to the left. */
    assert_int_equal(tycho_tracestate_set(&ts, "tycho", "abc"), 0);
    assert_string_equal(ts.str,
                        "tycho=abc,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=x y");
    assert_int_equal(tycho_tracestate_set(&ts, "congo", "new"), 0);
    assert_string_equal(ts.str, "congo=new,tycho=abc,rojo=00f067aa0ba902b7,tenant@vendor=x y");
    assert_int_equal(tycho_tracestate_set(&ts, "Bad", "x"), -EINVAL);
    assert_int_equal(tycho_tracestate_set(&ts, "k", "a,b"), -EINVAL);
    assert_int_equal(tycho_tracestate_set(&ts, "k", "ends "), -EINVAL);

    static const char *const bad[] = {
        "Rojo=1",        /* uppercase key */
        "rojo",          /* no '=' */
        "rojo=",         /* empty value */
        "=x",            /* empty key */
        "rojo=a=b",      /* '=' in value */
        "rojo=1,rojo=2", /* duplicate key */
        "ro jo=1",
        "_rojo=1", /* key must start with a-z0-9 */
        "rojo=\x01",
        "rojo=\xc3\xa9", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tycho_tracestate_parse(bad[i], strlen(bad[i]), &ts) != -EINVAL)
            fail_msg("accepted tracestate \"%s\"", bad[i]);
        assert_int_equal(ts.len, 0);
    }
    /* 32 members are fine, 33 are not. */
    char buf[2048];
    size_t off = 0;
    for (int i = 0; i < 33; i++)
        off += (size_t)sprintf(buf + off, "%sk%d=v", i ? "," : "", i);
    assert_int_equal(tycho_tracestate_parse(buf, off, &ts), -EINVAL);
    off = (size_t)(strrchr(buf, ',') - buf);
    assert_int_equal(tycho_tracestate_parse(buf, off, &ts), 0);
    assert_int_equal(ts.nmembers, 32);
    /* Setting a 33rd drops the right-most. */
    assert_int_equal(tycho_tracestate_set(&ts, "new", "1"), 0);
    assert_int_equal(ts.nmembers, 32);
    assert_non_null(tycho_tracestate_get(&ts, "new", &n));
    assert_null(tycho_tracestate_get(&ts, "k31", &n));
    assert_non_null(tycho_tracestate_get(&ts, "k30", &n));
    /* Key and value length limits. */
    char key[300], val[300];
    memset(key, 'a', 257);
    key[257] = 0;
    assert_false(tycho_tracestate_valid_key(key, 257));
    assert_true(tycho_tracestate_valid_key(key, 256));
    memset(val, 'v', 257);
    assert_false(tycho_tracestate_valid_value(val, 257));
    assert_true(tycho_tracestate_valid_value(val, 256));
}

static void test_tracestate_truncation(void **state)
{
    (void)state;
    /* Over 512 chars: entries longer than 128 go first (right-most first),
     * then entries from the right. */
    char big1[200], big2[200], buf[2048];
    memset(big1, 'x', 150);
    big1[150] = 0;
    memset(big2, 'y', 140);
    big2[140] = 0;
    int n = snprintf(buf, sizeof buf, "a=1,big1=%s,b=2,big2=%s,c=3", big1, big2);
    tycho_tracestate_t ts;
    assert_int_equal(tycho_tracestate_parse(buf, (size_t)n, &ts), 0);
    assert_true(ts.len <= 512); /* 339 chars: nothing dropped */
    assert_int_equal(ts.nmembers, 5);
    char pad[300];
    memset(pad, 'p', 250);
    pad[250] = 0;
    n = snprintf(buf, sizeof buf, "a=1,big1=%s,b=2,big2=%s,c=3,d=%s", big1, big2, pad);
    /* 339 + 254 = 593 > 512: the right-most long entry (d, 252 chars) goes
     * first; 339 fits. */
    assert_int_equal(tycho_tracestate_parse(buf, (size_t)n, &ts), 0);
    assert_int_equal(ts.nmembers, 5);
    size_t len;
    assert_null(tycho_tracestate_get(&ts, "d", &len));
    assert_non_null(tycho_tracestate_get(&ts, "big1", &len));
    /* Many short entries: dropped from the right. */
    size_t off = 0;
    for (int i = 0; i < 32; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%sk%02d=%030d", i ? "," : "", i, i);
    assert_int_equal(tycho_tracestate_parse(buf, off, &ts), 0);
    assert_true(ts.len <= 512);
    assert_int_equal(ts.nmembers, 14); /* 34 chars + ',' each: 14*35-1 = 489 */
    assert_non_null(tycho_tracestate_get(&ts, "k00", &len));
    assert_non_null(tycho_tracestate_get(&ts, "k13", &len));
    assert_null(tycho_tracestate_get(&ts, "k14", &len));
}

static void test_xray_parse(void **state)
{
    (void)state;
    tycho_xray_header_t x;
    const char *h =
        "Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;"
        "CalledFrom=app;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5;"
        "Foo=bar";
    assert_int_equal(tycho_xray_parse(h, strlen(h), &x), 0);
    assert_true(x.has_root);
    char hex[33];
    tycho_hex_encode(x.root, 16, hex);
    assert_string_equal(hex, "5759e988bd862e3fe1be46a994272793");
    assert_true(x.has_parent);
    tycho_hex_encode(x.parent, 8, hex);
    assert_string_equal(hex, "53995c3f42cd8ad8");
    assert_int_equal(x.sampled, TYCHO_XRAY_SAMPLED_YES);
    assert_string_equal(x.self, "1-67891234-12456789abcdef012345678");
    assert_string_equal(x.lineage, "a87bd80c:1|68fd508a:5");
    assert_string_equal(x.extra, "CalledFrom=app;Foo=bar"); /* unknown fields, in order */

    /* Outgoing: our ids, Lineage and unknown fields carried, Self not. */
    uint8_t span[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char out[TYCHO_XRAY_HEADER_MAX];
    int n = tycho_xray_format(x.root, span, TYCHO_XRAY_SAMPLED_YES, &x, out, sizeof out);
    assert_string_equal(out, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0102030405060708;"
                             "Sampled=1;Lineage=a87bd80c:1|68fd508a:5;CalledFrom=app;Foo=bar");
    assert_int_equal(n, (int)strlen(out));
    n = tycho_xray_format(x.root, NULL, TYCHO_XRAY_SAMPLED_ABSENT, NULL, out, sizeof out);
    assert_string_equal(out, "Root=1-5759e988-bd862e3fe1be46a994272793");
    assert_int_equal(tycho_xray_format(x.root, NULL, TYCHO_XRAY_SAMPLED_NO, NULL, out, 20),
                     -ENOSPC);

    h = "Root=1-5759E988-BD862E3FE1BE46A994272793; Sampled=?";
    assert_int_equal(tycho_xray_parse(h, strlen(h), &x), 0);
    tycho_hex_encode(x.root, 16, hex);
    assert_string_equal(hex, "5759e988bd862e3fe1be46a994272793"); /* normalised */
    assert_false(x.has_parent);
    assert_int_equal(x.sampled, TYCHO_XRAY_SAMPLED_REQUESTED);
    tycho_xray_format(x.root, span, x.sampled, &x, out, sizeof out);
    assert_string_equal(
        out, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0102030405060708;Sampled=?");

    static const char *const bad_roots[] = {
        "Root=2-5759e988-bd862e3fe1be46a994272793", "Root=1-5759e98-bd862e3fe1be46a994272793",
        "Root=1-5759e988-bd862e3fe1be46a99427279",  "Root=1-5759e988bd862e3fe1be46a994272793",
        "Root=1-00000000-000000000000000000000000", "Root=1-5759e988-bd862e3fe1be46a99427279z",
        "Parent=53995c3f42cd8ad8;Sampled=1",        "",
    };
    for (size_t i = 0; i < sizeof bad_roots / sizeof bad_roots[0]; i++) {
        if (tycho_xray_parse(bad_roots[i], strlen(bad_roots[i]), &x) != -EINVAL)
            fail_msg("accepted \"%s\"", bad_roots[i]);
        assert_false(x.has_parent);
    }
    h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=x";
    assert_int_equal(tycho_xray_parse(h, strlen(h), &x), 0);
    assert_false(x.has_parent);
    assert_int_equal(x.sampled, TYCHO_XRAY_SAMPLED_ABSENT);
    h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad;Sampled=0";
    assert_int_equal(tycho_xray_parse(h, strlen(h), &x), 0);
    assert_false(x.has_parent);
    assert_int_equal(x.sampled, TYCHO_XRAY_SAMPLED_NO);
    /* Control characters in unknown fields are never carried on. */
    h = "Root=1-5759e988-bd862e3fe1be46a994272793;Evil=a\r\nX-Injected: 1;Good=1";
    assert_int_equal(tycho_xray_parse(h, strlen(h), &x), 0);
    assert_string_equal(x.extra, "Good=1");
}

static void test_extract_precedence(void **state)
{
    (void)state;
    tycho_trace_incoming_t in;
    const char *xr = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;"
                     "Lineage=a:1";
    const char *ts = "congo=t61rcWkgMzE";
    char hex[33];

    /* Both valid: W3C wins, tracestate kept, X-Ray extras still carried. */
    tycho_trace_extract(TP_OK, strlen(TP_OK), ts, strlen(ts), xr, strlen(xr), &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_W3C);
    tycho_hex_encode(in.trace_id, 16, hex);
    assert_string_equal(hex, "0af7651916cd43dd8448eb211c80319c");
    assert_true(in.has_parent);
    assert_true(in.sampling_decided);
    assert_int_equal(in.flags, 1);
    assert_string_equal(in.tracestate.str, "congo=t61rcWkgMzE");
    assert_string_equal(in.xray.lineage, "a:1");

    /* Invalid traceparent: its tracestate goes too; X-Ray takes over. */
    const char *badtp = "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01";
    tycho_trace_extract(badtp, strlen(badtp), ts, strlen(ts), xr, strlen(xr), &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_XRAY);
    tycho_hex_encode(in.trace_id, 16, hex);
    assert_string_equal(hex, "5759e988bd862e3fe1be46a994272793");
    tycho_hex_encode(in.parent_span_id, 8, hex);
    assert_string_equal(hex, "53995c3f42cd8ad8");
    assert_true(in.sampling_decided);
    assert_int_equal(in.flags, 0);
    assert_int_equal(in.tracestate.len, 0);

    /* Sampled=? with a Parent: the local sampler decides. */
    const char *q = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?";
    tycho_trace_extract(NULL, 0, NULL, 0, q, strlen(q), &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_XRAY);
    assert_false(in.sampling_decided);
    const char *s1 = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    tycho_trace_extract(NULL, 0, NULL, 0, s1, strlen(s1), &in);
    assert_true(in.sampling_decided);
    assert_int_equal(in.flags, TYCHO_TRACE_FLAG_SAMPLED);

    /* An ALB's Root alone: adopted as the trace id, no parent span. */
    const char *alb =
        "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678";
    tycho_trace_extract(NULL, 0, NULL, 0, alb, strlen(alb), &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_XRAY_ROOT);
    tycho_hex_encode(in.trace_id, 16, hex);
    assert_string_equal(hex, "67891233abcdef012345678912345678");
    assert_false(in.has_parent);
    assert_false(in.sampling_decided);

    /* Nothing usable; a tracestate alone is discarded. */
    tycho_trace_extract(NULL, 0, ts, strlen(ts), "garbage", 7, &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_NONE);
    assert_int_equal(in.tracestate.len, 0);
    tycho_trace_extract(NULL, 0, NULL, 0, NULL, 0, &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_NONE);

    /* A valid traceparent with an invalid tracestate keeps the traceparent. */
    tycho_trace_extract(TP_OK, strlen(TP_OK), "Bad=1", 5, NULL, 0, &in);
    assert_int_equal(in.source, TYCHO_TRACE_SRC_W3C);
    assert_int_equal(in.tracestate.len, 0);
}

/* request_obs skips tycho_trace_extract when neither header is present and
 * starts from tycho_xray_header_init instead: both must leave the same
 * carry (what tycho_trace_inject reads). */
static void test_absent_xray_header(void **state)
{
    (void)state;
    tycho_trace_incoming_t in;
    tycho_trace_extract(NULL, 0, "congo=t61rcWkgMzE", 17, NULL, 0, &in);
    tycho_xray_header_t h;
    memset(&h, 0x5a, sizeof h);
    tycho_xray_header_init(&h);
    assert_int_equal(h.has_root, in.xray.has_root);
    assert_int_equal(h.has_parent, in.xray.has_parent);
    assert_int_equal(h.sampled, TYCHO_XRAY_SAMPLED_ABSENT);
    assert_int_equal(h.sampled, in.xray.sampled);
    assert_string_equal(h.self, in.xray.self);
    assert_string_equal(h.lineage, in.xray.lineage);
    assert_string_equal(h.extra, in.xray.extra);
    uint8_t id[16] = {1}, span[8] = {2};
    tycho_trace_headers_t a, b;
    tycho_trace_inject(id, span, 1, NULL, &h, &a);
    tycho_trace_inject(id, span, 1, NULL, &in.xray, &b);
    assert_string_equal(a.xamzn, b.xamzn);
}

static void test_hex_every_byte(void **state)
{
    (void)state;
    uint8_t all[256];
    char hex[513], want[3];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    tycho_hex_encode(all, 256, hex);
    assert_int_equal(strlen(hex), 512);
    for (int i = 0; i < 256; i++) {
        snprintf(want, sizeof want, "%02x", i);
        assert_memory_equal(hex + 2 * i, want, 2);
    }
    uint8_t back[256];
    assert_int_equal(tycho_hex_decode(hex, 256, back, 0), 0);
    assert_memory_equal(back, all, 256);
    tycho_hex_encode(all, 0, hex);
    assert_string_equal(hex, "");
}

static void test_inject(void **state)
{
    (void)state;
    tycho_trace_incoming_t in;
    const char *xr =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;CalledFrom=x";
    tycho_trace_extract(NULL, 0, NULL, 0, xr, strlen(xr), &in);
    uint8_t span[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
    tycho_tracestate_set(&in.tracestate, "tycho", "1");
    tycho_trace_headers_t h;
    tycho_trace_inject(in.trace_id, span, in.flags, &in.tracestate, &in.xray, &h);
    assert_string_equal(h.traceparent, "00-5759e988bd862e3fe1be46a994272793-deadbeef00000001-01");
    assert_string_equal(h.tracestate, "tycho=1");
    assert_string_equal(h.xamzn, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=deadbeef00000001;"
                                 "Sampled=1;CalledFrom=x");
    tycho_trace_inject(in.trace_id, span, 0, NULL, NULL, &h);
    assert_string_equal(h.tracestate, "");
    assert_string_equal(
        h.xamzn, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=deadbeef00000001;Sampled=0");
}

static void test_id_generation(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    uint32_t before = (uint32_t)time(NULL);
    tycho_trace_new_trace_id(a);
    tycho_trace_new_trace_id(b);
    uint32_t after = (uint32_t)time(NULL);
    uint32_t epoch = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    assert_true(epoch >= before && epoch <= after);
    assert_memory_not_equal(a + 4, b + 4, 12);
    /* Many span ids: never zero, no duplicates among 20k. */
    enum { N = 20000 };
    static uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        uint8_t s[8];
        tycho_trace_new_span_id(s);
        assert_false(tycho_id_is_zero(s, 8));
        memcpy(&ids[i], s, 8);
    }
    int dup = 0;
    for (int i = 0; i < N && !dup; i++)
        for (int j = i + 1; j < i + 50 && j < N; j++)
            if (ids[i] == ids[j]) dup = 1;
    assert_false(dup);
    /* Bit balance over the random bytes: ~50% ones. */
    long ones = 0;
    for (int i = 0; i < N; i++)
        ones += __builtin_popcountll(ids[i]);
    double frac = (double)ones / (N * 64.0);
    assert_true(frac > 0.49 && frac < 0.51);
    /* Large requests bypass the buffer. */
    uint8_t big[1000];
    memset(big, 0, sizeof big);
    tycho_trace_random(big, sizeof big);
    assert_false(tycho_id_is_zero(big, sizeof big));

    char hex[33];
    uint8_t back[16];
    tycho_hex_encode(a, 16, hex);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(tycho_hex_decode(hex, 16, back, 0), 0);
    assert_memory_equal(a, back, 16);
    assert_int_equal(tycho_hex_decode("AB", 1, back, 0), -EINVAL);
    assert_int_equal(tycho_hex_decode("AB", 1, back, 1), 0);
    assert_int_equal(back[0], 0xab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_invalid),
        cmocka_unit_test(test_tracestate),
        cmocka_unit_test(test_tracestate_truncation),
        cmocka_unit_test(test_xray_parse),
        cmocka_unit_test(test_extract_precedence),
        cmocka_unit_test(test_absent_xray_header),
        cmocka_unit_test(test_hex_every_byte),
        cmocka_unit_test(test_inject),
        cmocka_unit_test(test_id_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
