/* libFuzzer target for the outbound client's reading of response header
 * lines (net/response_fields.c), fed the way curl's header callback is: one
 * whole line at a time, the first one a status line. Checked (abort on
 * failure):
 *  - a line is refused only with a reason set (too_large, a framing flag),
 *    and too_large exactly when the lines pass the byte limit;
 *  - each kept field has a name (no colon, no space or tab at its ends: a
 *    line starting with one is a fold) and a value with no whitespace at its ends and no LF;
 *  - the kept fields, written out again as one response, are read back as
 *    the same fields with the same Content-Length verdict: no line of the
 *    final block is taken for a new response, and no field is lost;
 *  - a kept Content-Length of plain digits is the length the framing uses.
 *
 * Input: the lines of an exchange, each ending in '\n' (curl never passes a
 * line holding a NUL, so such inputs are skipped).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh response_fields. */
#include "core/buf.h"
#include "http/field.h"
#include "net/response_fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "response fields"
#include "tests/fuzz/fuzz_check.h"

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Feeds the lines of in[0..n) until one is refused; returns that line's
 * verdict (0 when every line was taken). */
static int feed(tycho_response_fields_t *f, const char *in, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(in + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (in + pos)) + 1 : n - pos;
        /* a copy of exactly the line, so ASan sees any read past it */
        char *line = malloc(len);
        memcpy(line, in + pos, len);
        size_t before = f->bytes;
        int rc = tycho_response_fields_line(f, line, len);
        free(line);
        if (rc != 0) {
            CHECK(f->too_large || f->conflicting_length || f->invalid_length || f->spaced_framing,
                  "line %zu refused without a reason", pos);
            CHECK(f->too_large == (before + len > TYCHO_RESPONSE_FIELDS_MAX_BYTES),
                  "too_large %d after %zu + %zu bytes", f->too_large, before, len);
            return rc;
        }
        pos += len;
    }
    return 0;
}

static void check_field(const tycho_http_header_t *h)
{
    size_t nl = strlen(h->name), vl = strlen(h->value);
    CHECK(nl > 0 && !strchr(h->name, ':') && !strchr(h->name, '\n'), "name '%s'", h->name);
    CHECK(h->name[0] != ' ' && h->name[0] != '\t' && h->name[nl - 1] != ' ' &&
              h->name[nl - 1] != '\t',
          "whitespace at the ends of name '%s'", h->name);
    CHECK(!strchr(h->value, '\n') && (vl == 0 || (!blank(h->value[0]) && !blank(h->value[vl - 1]))),
          "value '%s' of %s", h->value, h->name);
}

/* The digits-only value v as a number; 0 when it is not one of at most 18 digits. */
static int plain_number(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 18 || strspn(v, "0123456789") != n) return 0;
    *out = strtoull(v, NULL, 10);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    if (memchr(in, '\0', size)) return 0;
    tycho_response_fields_t f;
    tycho_response_fields_init(&f);
    int rc = feed(&f, in, size);
    tycho_http_header_t *list = tycho_response_fields_list(&f);
    CHECK(f.n == 0 || list, "no list for %zu fields", f.n);
    if (rc == 0 && f.n) {
        tycho_buf_t again = TYCHO_BUF_INIT;
        tycho_buf_puts(&again, "HTTP/1.1 200 OK\r\n");
        for (size_t i = 0; i < f.n; i++) {
            check_field(&list[i]);
            uint64_t len;
            if (tycho_http_field_name_is(list[i].name, strlen(list[i].name), "content-length") &&
                plain_number(list[i].value, &len))
                CHECK(f.has_length && f.length == len, "Content-Length %s framed as %llu",
                      list[i].value, (unsigned long long)f.length);
            tycho_buf_printf(&again, "%s: %s\r\n", list[i].name, list[i].value);
        }
        tycho_buf_puts(&again, "\r\n");
        tycho_response_fields_t g;
        tycho_response_fields_init(&g);
        int rc2 = feed(&g, again.data, again.len);
        CHECK(rc2 == 0 || g.too_large, "written out again, the fields are refused:\n%s",
              again.data);
        if (rc2 == 0) {
            CHECK(g.n == f.n, "%zu fields read back as %zu:\n%s", f.n, g.n, again.data);
            tycho_http_header_t *list2 = tycho_response_fields_list(&g);
            for (size_t i = 0; i < f.n; i++)
                CHECK(!strcmp(list[i].name, list2[i].name) &&
                          !strcmp(list[i].value, list2[i].value),
                      "field %zu '%s: %s' read back as '%s: %s'", i, list[i].name, list[i].value,
                      list2[i].name, list2[i].value);
            CHECK(g.has_length == f.has_length && g.length == f.length, "Content-Length verdict");
            free(list2);
        }
        tycho_response_fields_free(&g);
        tycho_buf_free(&again);
    }
    free(list);
    tycho_response_fields_free(&f);
    return 0;
}
