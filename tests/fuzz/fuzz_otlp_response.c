/* libFuzzer target for the OTLP exporter's reading of a receiver's answer
 * (exporters/otlp_encode.c tycho_otlp_parse_response): the body of a 2xx,
 * an ExportTraceServiceResponse whose partial_success says how many spans
 * were rejected and why. It is read by hand because the sender keeps only
 * the start of a body. Checked (abort on failure), against protobuf-c's
 * decoding of the same bytes:
 *  - the message written is NUL-terminated inside its buffer (of the size
 *    the input picks, exactly, so ASan sees a write past it);
 *  - a body read as a response (rc 0) is the start of a valid one by the
 *    encoding spec (spec_valid: field numbers, wire types);
 *  - a body protobuf-c decodes, valid by the encoding spec (protobuf-c
 *    takes a few invalid tags, see spec_valid), is read with rc 0, and so
 *    is every start of it (what a cut body holds): never taken for
 *    something that is not a response;
 *  - protobuf-c's packing of what it decoded (one partial_success, the
 *    unknown fields kept) is read as protobuf-c reads it: the same
 *    rejected_spans, the error_message up to its first NUL, cut to fit.
 *
 * Input: byte 0 picks the message buffer's size (0..255), the rest is the
 * body.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh otlp_response. */
#include "exporters/otlp_encode.h"
#include "otlp_trace.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "otlp_response"
#include "tests/fuzz/fuzz_check.h"

/* tycho's reading of body[0..n), with a message buffer of exactly msglen */
static int parse(const uint8_t *body, size_t n, size_t msglen, int64_t *rejected, char **msg)
{
    uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: a read past them is an ASan report */
    memcpy(copy, body, n);
    *msg = msglen ? malloc(msglen) : NULL;
    if (*msg) memset(*msg, 'x', msglen);
    int rc = tycho_otlp_parse_response(copy, n, rejected, *msg, msglen);
    if (*msg) CHECK(memchr(*msg, '\0', msglen), "message not NUL-terminated in %zu bytes", msglen);
    free(copy);
    return rc;
}

/* 1 when p[0..end) is a message by protobuf's encoding spec (field numbers
 * 1..2^29-1, wire types 0, 1, 2, 5) and, when nested, field 1's bytes too
 * (partial_success); with cut, also when it is only the start of one (a
 * body the sender cut short). protobuf-c is laxer: it takes a field number
 * 0 written in two bytes (0x80 0x00) and keeps larger ones cut to 32 bits. */
static int spec_valid(const uint8_t *p, const uint8_t *end, int nested, int cut)
{
    while (p < end) {
        uint64_t v[2] = {0, 0};
        for (int k = 0; k < 2; k++) { /* the tag, then a varint's value or a length */
            unsigned shift = 0;
            do {
                if (p == end) return cut;
                if (shift > 63) return 0;
                v[k] |= (uint64_t)(*p & 0x7f) << shift;
                shift += 7;
            } while (*p++ & 0x80);
            if (k == 0 && (v[0] >> 3 == 0 || v[0] >> 3 > 0x1fffffff)) return 0;
            if (k == 0 && (v[0] & 7) != 0 && (v[0] & 7) != 2) break;
        }
        uint64_t num = v[0] >> 3, type = v[0] & 7;
        if (type == 1 || type == 5) {
            size_t size = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < size) return cut;
            p += size;
        } else if (type == 2) {
            int whole = v[1] <= (uint64_t)(end - p);
            const uint8_t *fe = whole ? p + v[1] : end;
            if (!whole && !cut) return 0;
            if (nested && num == 1 && !spec_valid(p, fe, 0, cut)) return 0;
            p = fe;
        } else if (type != 0) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t msglen = data[0];
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    int64_t rejected = -1;
    char *msg = NULL;
    int rc = parse(body, n, msglen, &rejected, &msg);
    CHECK(rc == 0 || rc == -22, "rc %d", rc);
    CHECK(rc != 0 || spec_valid(body, body + n, 1, 1),
          "read as a response, but no valid response starts with these %zu bytes", n);

    Tycho__Otlp__ExportTraceServiceResponse *r =
        tycho__otlp__export_trace_service_response__unpack(NULL, n, body);
    if (r && spec_valid(body, body + n, 1, 0)) {
        CHECK(rc == 0, "protobuf-c decodes the body, tycho refuses it");
        for (size_t cut = 0; cut < n; cut++) {
            int64_t cr;
            char *cm;
            CHECK(parse(body, cut, msglen, &cr, &cm) == 0,
                  "the first %zu of %zu bytes of a valid body taken for no response", cut, n);
            free(cm);
        }
        /* The values are compared on protobuf-c's packing of what it
         * decoded: one partial_success (protobuf-c keeps the last of several,
         * where the spec merges them, as tycho does) with the unknown
         * fields kept. */
        size_t cn = tycho__otlp__export_trace_service_response__get_packed_size(r);
        uint8_t *canon = malloc(cn ? cn : 1);
        tycho__otlp__export_trace_service_response__pack(r, canon);
        int64_t want = 0, got = -1;
        const char *want_msg = "";
        if (r->partial_success) {
            want = r->partial_success->rejected_spans;
            want_msg = r->partial_success->error_message ? r->partial_success->error_message : "";
        }
        char *cmsg;
        CHECK(parse(canon, cn, msglen, &got, &cmsg) == 0, "protobuf-c's packing refused");
        CHECK(got == want, "rejected %lld, protobuf-c %lld", (long long)got, (long long)want);
        if (msglen) {
            size_t keep = strlen(want_msg) < msglen - 1 ? strlen(want_msg) : msglen - 1;
            CHECK(strlen(cmsg) == keep && memcmp(cmsg, want_msg, keep) == 0,
                  "message '%s', protobuf-c '%.*s'", cmsg, (int)keep, want_msg);
        }
        free(cmsg);
        free(canon);
    }
    if (r) tycho__otlp__export_trace_service_response__free_unpacked(r, NULL);
    free(msg);
    return 0;
}
