/* log_capture — a tycho_log sink for the logger's unit tests
 * (tests/unit/test_log_meta.c, test_log_fields.c): capture keeps the last
 * line written and the logger's meta of it in got; check_key checks where
 * the meta says a key's value is, check_entry that
 * the Loki entry built from that meta is the one the general scan of the
 * line builds. Failures fail the running cmocka test. One thread. */
#ifndef TYCHO_TEST_LOG_CAPTURE_H
#define TYCHO_TEST_LOG_CAPTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "exporters/loki_encode.h"

#include <stdlib.h>
#include <string.h>

static struct {
    char *line; /* NUL-terminated; freed by log_capture_free */
    size_t len;
    int has_meta;
    tycho_log_meta_t meta;
} got;

/* The sink: tycho_log_set_sink(&capture_sink). */
static void capture(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)ud;
    free(got.line);
    got.line = malloc(len + 1);
    assert_non_null(got.line);
    memcpy(got.line, line, len);
    got.line[len] = 0;
    got.len = len;
    got.has_meta = meta != NULL;
    if (meta) got.meta = *meta;
}
static const tycho_log_sink_t capture_sink = {capture, NULL};

static void log_capture_free(void)
{
    free(got.line);
    got.line = NULL;
}
/* Checks key k's text in the line against want (NULL: no such member) and
 * whether it is the value itself (plain: its escaped bit clear). */
static void check_key(tycho_log_key_t k, const char *want, int plain)
{
    assert_true(got.has_meta);
    if (!want) {
        assert_int_equal(got.meta.at[k].off, 0);
        return;
    }
    size_t off = got.meta.at[k].off, n = got.meta.at[k].len;
    assert_true(off > 0 && off + n < got.len);
    assert_int_equal(got.line[off - 1], '"');
    assert_int_equal(got.line[off + n], '"');
    if (n != strlen(want) || memcmp(got.line + off, want, n) != 0)
        fail_msg("key %d: want %s, got %.*s in %s", (int)k, want, (int)n, got.line + off, got.line);
    assert_int_equal((got.meta.escaped >> k) & 1, !plain);
}

static void *heap(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

/* The entry from the meta is the general scan's, field by field. */
static void check_entry(void)
{
    assert_true(got.has_meta);
    tycho_loki_entry_t *a = tycho_loki_entry_new(got.line, got.len, TYCHO_LOKI_LINE_UTF8);
    tycho_loki_entry_t *b = tycho_loki_entry_from_log(got.line, got.len, &got.meta, heap, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->has_time, 1);
    assert_int_equal(b->has_time, 1);
    assert_true(a->ts_ns == b->ts_ns);
    assert_ptr_equal(a->level, b->level); /* streams are told apart by address */
    assert_int_equal(a->line_len, b->line_len);
    assert_memory_equal(a->line, b->line, a->line_len);
    assert_int_equal(b->utf8, 1);
    const char *const as[4] = {a->service, a->trace_id, a->span_id, a->request_id};
    const char *const bs[4] = {b->service, b->trace_id, b->span_id, b->request_id};
    const uint32_t al[4] = {a->service_len, a->trace_id_len, a->span_id_len, a->request_id_len};
    const uint32_t bl[4] = {b->service_len, b->trace_id_len, b->span_id_len, b->request_id_len};
    for (int i = 0; i < 4; i++) {
        if (!as[i] || !bs[i]) {
            assert_ptr_equal(as[i], bs[i]);
            continue;
        }
        assert_int_equal(al[i], strlen(as[i])); /* the scan's copies */
        assert_int_equal(al[i], bl[i]);
        assert_memory_equal(as[i], bs[i], al[i]);
    }
    free(a);
    free(b);
}

#endif
