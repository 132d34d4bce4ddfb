/* libFuzzer target for the trace-context parsers (telemetry/trace_context.c):
 * traceparent, tracestate and X-Amzn-Trace-Id as they arrive in request
 * headers, their precedence (tycho_trace_extract) and what is sent on
 * (tycho_trace_inject). Checked (abort on failure):
 *  - traceparent: an accepted value formats back to one that parses to the
 *    same ids; a version-00 value formats back to itself (lowercase, trimmed);
 *  - tracestate: an accepted value is canonical (<= 512 chars, <= 32 members,
 *    no spaces or empty members) and parsing it again changes nothing; every
 *    member is found by tracestate_get; tracestate_set keeps it canonical;
 *  - X-Amzn-Trace-Id: what tycho would send on (format with the carried
 *    Lineage and extras) parses back to the same Root, Parent, Sampled,
 *    Lineage and extras, and fits TYCHO_XRAY_HEADER_MAX;
 *  - extract/inject: the injected headers parse back to the trace id.
 *
 * Input: the three header values separated by '\n' (traceparent, tracestate,
 * X-Amzn-Trace-Id); each is also parsed on its own as every kind.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh trace_context. */
#include "telemetry/trace_context.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "trace context"
#include "tests/fuzz/fuzz_check.h"

static void check_traceparent(const char *s, size_t n)
{
    tycho_traceparent_t tp;
    if (tycho_traceparent_parse(s, n, &tp) != 0) return;
    CHECK(!tycho_id_is_zero(tp.trace_id, 16) && !tycho_id_is_zero(tp.parent_id, 8), "zero id");
    CHECK(tp.version != 0xff, "version ff accepted");
    char out[TYCHO_TRACEPARENT_LEN + 1];
    CHECK(tycho_traceparent_format(tp.trace_id, tp.parent_id, tp.flags, out) ==
              TYCHO_TRACEPARENT_LEN,
          "format length");
    CHECK(strlen(out) == TYCHO_TRACEPARENT_LEN, "format NUL");
    tycho_traceparent_t again;
    CHECK(tycho_traceparent_parse(out, TYCHO_TRACEPARENT_LEN, &again) == 0, "'%s' rejected", out);
    CHECK(memcmp(again.trace_id, tp.trace_id, 16) == 0 &&
              memcmp(again.parent_id, tp.parent_id, 8) == 0 && again.flags == (tp.flags & 3),
          "'%s' does not round-trip", out);
    if (tp.version == 0 && (tp.flags & ~3) == 0) {
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        CHECK(memcmp(s, out, TYCHO_TRACEPARENT_LEN) == 0, "'%.*s' formatted as '%s'", (int)n, s,
              out);
    }
}

static void check_canonical_tracestate(const tycho_tracestate_t *ts)
{
    CHECK(ts->len <= TYCHO_TRACESTATE_MAX_LEN && ts->len == strlen(ts->str), "len %zu", ts->len);
    CHECK(ts->nmembers <= TYCHO_TRACESTATE_MAX_MEMBERS, "%u members", ts->nmembers);
    CHECK((ts->len == 0) == (ts->nmembers == 0), "empty list with members");
    unsigned members = ts->len ? 1 : 0;
    for (size_t i = 0; i < ts->len; i++) {
        CHECK(ts->str[i] != ' ' || (i > 0 && ts->str[i - 1] != ','),
              "space before a member in '%s'", ts->str);
        if (ts->str[i] == ',') {
            members++;
            CHECK(i > 0 && i + 1 < ts->len && ts->str[i + 1] != ',', "empty member in '%s'",
                  ts->str);
        }
    }
    CHECK(members == ts->nmembers, "'%s': %u members counted, %u stored", ts->str, members,
          ts->nmembers);
    /* parsing the canonical form is the identity */
    tycho_tracestate_t again;
    CHECK(tycho_tracestate_parse(ts->str, ts->len, &again) == 0, "'%s' rejected", ts->str);
    CHECK(again.len == ts->len && memcmp(again.str, ts->str, ts->len) == 0 &&
              again.nmembers == ts->nmembers,
          "'%s' parsed again as '%s'", ts->str, again.str);
    /* every member is found by its key */
    const char *p = ts->str, *end = ts->str + ts->len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        CHECK(eq, "member without '='");
        char key[300];
        size_t klen = (size_t)(eq - p);
        CHECK(klen < sizeof key, "key length %zu", klen);
        memcpy(key, p, klen);
        key[klen] = 0;
        size_t vlen = 0;
        const char *v = tycho_tracestate_get(ts, key, &vlen);
        CHECK(v == eq + 1 && vlen == (size_t)(e - eq - 1), "get('%s') in '%s'", key, ts->str);
        p = e + 1;
    }
}

static void check_tracestate(const char *s, size_t n)
{
    tycho_tracestate_t ts;
    if (tycho_tracestate_parse(s, n, &ts) != 0) {
        CHECK(ts.len == 0 && ts.nmembers == 0 && ts.str[0] == 0, "rejected but not emptied");
        return;
    }
    check_canonical_tracestate(&ts);
    /* what tycho does before propagating: put its own member first */
    CHECK(tycho_tracestate_set(&ts, "tycho", "00f067aa0ba902b7") == 0, "set");
    check_canonical_tracestate(&ts);
    size_t vlen;
    const char *v = tycho_tracestate_get(&ts, "tycho", &vlen);
    CHECK(v && vlen == 16 && memcmp(ts.str, "tycho=", 6) == 0, "set did not put tycho first");
    /* a long value makes the 512-char rule drop members */
    char big[257];
    memset(big, 'x', 256);
    big[256] = 0;
    CHECK(tycho_tracestate_set(&ts, "big", big) == 0, "set big");
    check_canonical_tracestate(&ts);
}

static void check_xray(const char *s, size_t n)
{
    tycho_xray_header_t h;
    int rc = tycho_xray_parse(s, n, &h);
    CHECK((rc == 0) == (h.has_root != 0), "rc %d, has_root %d", rc, h.has_root);
    CHECK(!h.has_parent || h.has_root, "parent without root");
    CHECK(strlen(h.lineage) <= TYCHO_XRAY_LINEAGE_MAX && strlen(h.extra) <= TYCHO_XRAY_EXTRA_MAX &&
              strlen(h.self) < sizeof h.self,
          "field too long");
    for (const char *p = h.extra; *p; p++)
        CHECK(*p >= 0x20 && *p <= 0x7e, "non-printable byte kept in extras");
    if (rc != 0) return;
    char out[TYCHO_XRAY_HEADER_MAX];
    int len =
        tycho_xray_format(h.root, h.has_parent ? h.parent : NULL, h.sampled, &h, out, sizeof out);
    CHECK(len > 0 && (size_t)len == strlen(out), "format of a parsed header failed (%d)", len);
    tycho_xray_header_t again;
    CHECK(tycho_xray_parse(out, (size_t)len, &again) == 0, "'%s' rejected", out);
    CHECK(memcmp(again.root, h.root, 16) == 0 && again.has_parent == h.has_parent &&
              (!h.has_parent || memcmp(again.parent, h.parent, 8) == 0) &&
              again.sampled == h.sampled,
          "'%.*s' -> '%s' lost Root/Parent/Sampled", (int)n, s, out);
    CHECK(strcmp(again.lineage, h.lineage) == 0, "'%.*s' -> '%s': Lineage '%s' became '%s'", (int)n,
          s, out, h.lineage, again.lineage);
    CHECK(strcmp(again.extra, h.extra) == 0, "'%.*s' -> '%s': extras '%s' became '%s'", (int)n, s,
          out, h.extra, again.extra);
}

static void check_extract(const char *tp, size_t tplen, const char *ts, size_t tslen,
                          const char *xa, size_t xlen)
{
    tycho_trace_incoming_t in;
    tycho_trace_extract(tp, tplen, ts, tslen, xa, xlen, &in);
    if (in.source == TYCHO_TRACE_SRC_NONE) {
        CHECK(!in.has_parent && in.tracestate.len == 0, "no source but a parent/tracestate");
        return;
    }
    CHECK(!tycho_id_is_zero(in.trace_id, 16), "zero trace id from source %d", in.source);
    if (in.source != TYCHO_TRACE_SRC_W3C) CHECK(in.tracestate.len == 0, "tracestate without W3C");
    if (in.tracestate.len) check_canonical_tracestate(&in.tracestate);
    uint8_t span[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tycho_trace_headers_t h;
    tycho_trace_inject(in.trace_id, span, in.flags, &in.tracestate, &in.xray, &h);
    tycho_traceparent_t tpo;
    CHECK(tycho_traceparent_parse(h.traceparent, strlen(h.traceparent), &tpo) == 0 &&
              memcmp(tpo.trace_id, in.trace_id, 16) == 0 && memcmp(tpo.parent_id, span, 8) == 0,
          "injected traceparent '%s'", h.traceparent);
    tycho_tracestate_t tso;
    CHECK(tycho_tracestate_parse(h.tracestate, strlen(h.tracestate), &tso) == 0 &&
              strcmp(tso.str, h.tracestate) == 0,
          "injected tracestate '%s'", h.tracestate);
    tycho_xray_header_t xo;
    CHECK(tycho_xray_parse(h.xamzn, strlen(h.xamzn), &xo) == 0 &&
              memcmp(xo.root, in.trace_id, 16) == 0 && xo.has_parent &&
              memcmp(xo.parent, span, 8) == 0,
          "injected X-Amzn-Trace-Id '%s'", h.xamzn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* copies of exactly the right size, so ASan sees any read past them */
    const char *in = (const char *)data;
    const char *part[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    size_t pos = 0;
    for (int i = 0; i < 3 && pos <= size; i++) {
        const char *nl = memchr(in + pos, '\n', size - pos);
        size_t l = nl ? (size_t)(nl - (in + pos)) : size - pos;
        char *c = malloc(l ? l : 1);
        memcpy(c, in + pos, l);
        part[i] = c, len[i] = l;
        pos += l + 1;
    }
    for (int i = 0; i < 3; i++) {
        if (!part[i]) continue;
        check_traceparent(part[i], len[i]);
        check_tracestate(part[i], len[i]);
        check_xray(part[i], len[i]);
    }
    check_extract(part[0], len[0], part[1], len[1], part[2], len[2]);
    check_extract(NULL, 0, NULL, 0, part[2], len[2]);
    for (int i = 0; i < 3; i++)
        free((void *)part[i]);
    return 0;
}
