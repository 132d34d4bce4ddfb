/* libFuzzer target for the Loki exporter's line reader (exporters/
 * loki_encode.c tycho_loki_entry_new) and its encoder. Checked (abort on
 * failure):
 *  - the fast path for tycho's own lines takes what the general scan takes:
 *    the line read as is and the same line with a space after its opening
 *    brace (which keeps it off the fast path) give the same time, level,
 *    service and ids;
 *  - a label or id taken is at most 128 bytes of valid UTF-8 without
 *    control bytes;
 *  - the entry encodes into a push body (protobuf + snappy and JSON).
 * Lines that are valid UTF-8 without NUL bytes are read as the log sink's
 * tap reads them (TYCHO_LOKI_LINE_UTF8), others as untrusted lines.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh loki_entry. */
#define FUZZ_TARGET "loki_entry"
#include "tests/fuzz/fuzz_check.h"
#include "exporters/export_arena.h"
#include "core/utf8.h"
#include "exporters/loki_encode.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_str(const char *what, const char *a, const char *b)
{
    CHECK((!a && !b) || (a && b && strcmp(a, b) == 0), "%s: \"%s\" vs \"%s\"", what,
          a ? a : "(none)", b ? b : "(none)");
}

static void check_id(const char *what, const char *s, uint32_t len)
{
    if (!s) return;
    size_t n = strlen(s);
    CHECK(n == len, "%s: length %u, not %zu", what, (unsigned)len, n);
    CHECK(n > 0 && n <= 128 && tycho_utf8_valid(s, n, 1), "%s not a valid id", what);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "%s holds a control byte", what);
}

/* The line with a space after its first '{' (NULL when it has none). */
static char *off_fast_path(const char *s, size_t n)
{
    const char *brace = memchr(s, '{', n);
    if (!brace) return NULL;
    size_t at = (size_t)(brace - s) + 1;
    char *t = malloc(n + 1);
    if (!t) abort();
    memcpy(t, s, at);
    t[at] = ' ';
    memcpy(t + at + 1, s + at, n - at);
    return t;
}

/* With and without structured metadata: the input's length picks. */
static void encode(tycho_loki_entry_t *en, int json)
{
    tycho_loki_options_t o = {NULL, NULL, json, NULL, (int)(en->line_len & 1)};
    tycho_buf_t out = TYCHO_BUF_INIT;
    if (!en->has_time) en->ts_ns = 1;
    CHECK(tycho_loki_encode(&en, 1, &o, &out) == 0, "encode failed");
    tycho_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    unsigned flags = tycho_utf8_valid(s, size, 0) ? TYCHO_LOKI_LINE_UTF8 : 0;
    tycho_loki_entry_t *a = tycho_loki_entry_new(s, size, flags);
    CHECK(a != NULL, "out of memory");
    check_id("service", a->service, a->service_len);
    check_id("trace_id", a->trace_id, a->trace_id_len);
    check_id("span_id", a->span_id, a->span_id_len);
    check_id("request_id", a->request_id, a->request_id_len);
    char *t = off_fast_path(s, size);
    if (t) {
        tycho_loki_entry_t *b = tycho_loki_entry_new(t, size + 1, flags);
        CHECK(b != NULL, "out of memory");
        CHECK(a->has_time == b->has_time && (!a->has_time || a->ts_ns == b->ts_ns), "time");
        same_str("level", a->level, b->level);
        same_str("service", a->service, b->service);
        same_str("trace_id", a->trace_id, b->trace_id);
        same_str("span_id", a->span_id, b->span_id);
        same_str("request_id", a->request_id, b->request_id);
        free(b);
        free(t);
    }
    encode(a, 0);
    encode(a, 1);
    free(a);
    return 0;
}
