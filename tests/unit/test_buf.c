/* Unit tests of the byte buffer (server/core/buf.c), above all its JSON
 * string escaping: quotes, backslashes, every control character, and
 * invalid UTF-8 replaced by U+FFFD so the output always parses. */
#include "core/buf.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char *json(const char *s, size_t n)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_buf_append_json_string(&b, s, n), 0);
    assert_int_equal(strlen(b.data), b.len);
    return tycho_buf_steal(&b);
}

static void expect(const char *in, size_t n, const char *want)
{
    char *got = json(in, n);
    if (strcmp(got, want) != 0) fail_msg("escaped %s, want %s", got, want);
    /* and it parses back (cJSON rejects raw control characters) */
    cJSON *doc = cJSON_Parse(got);
    if (!doc) fail_msg("not JSON: %s", got);
    assert_true(cJSON_IsString(doc));
    cJSON_Delete(doc);
    free(got);
}

#define E(lit, want) expect(lit, sizeof(lit) - 1, want)

static void test_json_escapes(void **state)
{
    (void)state;
    E("", "\"\"");
    E("plain", "\"plain\"");
    E("q\"b\\s/", "\"q\\\"b\\\\s/\"");
    E("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    E("\b\f", "\"\\u0008\\u000c\"");
    E("nul\0x", "\"nul\\u0000x\"");
    E("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void test_every_control_char(void **state)
{
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c};
        char *got = json(in, 1);
        assert_true(got[1] == '\\');
        for (char *p = got; *p; p++)
            assert_true((unsigned char)*p >= 0x20);
        free(got);
    }
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8(void **state)
{
    (void)state;
    E("\x80", "\"" FFFD "\""); /* lone continuation */
    E("a\xff"
      "b",
      "\"a" FFFD "b\"");                                  /* never valid */
    E("\xc0\xaf", "\"" FFFD FFFD "\"");                   /* overlong '/' */
    E("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");          /* overlong 3-byte */
    E("\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\""); /* overlong 4-byte */
    E("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");          /* UTF-16 surrogate */
    E("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* past U+10FFFF */
    E("\xe2\x82", "\"" FFFD FFFD "\"");                   /* truncated at the end */
    E("\xe2\x82"
      "x",
      "\"" FFFD FFFD "x\""); /* truncated in the middle */
    E("\xc3", "\"" FFFD "\"");
    E("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF is valid */
    E("\xef\xbf\xbd", "\"" FFFD "\"");             /* U+FFFD itself */
}

/* Every byte string escapes to one JSON string cJSON accepts. */
static void test_random_bytes_always_json(void **state)
{
    (void)state;
    uint32_t x = 12345;
    char in[64];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            in[i] = (char)(x & 0xff);
        }
        char *got = json(in, n);
        cJSON *doc = cJSON_Parse(got);
        if (!doc || !cJSON_IsString(doc)) fail_msg("round %d: not JSON: %s", round, got);
        cJSON_Delete(doc);
        free(got);
    }
}

static void test_append_and_printf(void **state)
{
    (void)state;
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(tycho_buf_puts(&b, "abc"), 0);
    assert_int_equal(tycho_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "abc-42-x");
    assert_int_equal(b.len, 8);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tycho_buf_printf(&b, "%s", big), 0);
    assert_int_equal(b.len, 8 + 4999);
    assert_int_equal(b.data[b.len], '\0');
    size_t cap = b.cap;
    tycho_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* memory kept */
    assert_string_equal(b.data, "");
    /* a failed reserve leaves the content alone */
    tycho_buf_puts(&b, "keep");
    assert_int_equal(tycho_buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(tycho_buf_reserve(&b, SIZE_MAX - 2), -ENOMEM);
    assert_int_equal(tycho_buf_append_json_string(&b, "x", SIZE_MAX / 2), -ENOMEM);
    assert_string_equal(b.data, "keep");
    char *s = tycho_buf_steal(&b);
    assert_string_equal(s, "keep");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    tycho_buf_t empty = TYCHO_BUF_INIT;
    s = tycho_buf_steal(&empty);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    tycho_buf_free(&b);
    tycho_buf_free(&b); /* twice is fine */
}

static void test_append_int(void **state)
{
    (void)state;
    static const long long values[] = {0,        7,         -7,       10, 1234567890123LL,
                                       -1000000, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%lld", values[i]);
        tycho_buf_t b = TYCHO_BUF_INIT;
        tycho_buf_puts(&b, "n=");
        assert_int_equal(tycho_buf_append_int(&b, values[i]), 0);
        assert_string_equal(b.data + 2, want);
        assert_int_equal(b.len, 2 + strlen(want));
        tycho_buf_free(&b);
    }
}

/* JSON numbers: integers below 2^53 as integers, other values in the
 * fewest digits that read back exactly, non-finite ones as strings. */
static void test_append_json_number(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "-0"},
        {30, "30"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"},
        {9007199254740991.0, "9007199254740991"},
        {9007199254740992.0, "9007199254740992"},
        {1e21, "1e+21"},
        {9223372036854775808.0, "9.223372036854776e+18"},
        {5e-324, "4.94065645841247e-324"}, /* a subnormal: 15 digits, more than it needs */
        {1.0 / 0.0, "\"Infinity\""},
        {-1.0 / 0.0, "\"-Infinity\""},
        {0.0 / 0.0, "\"NaN\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        assert_int_equal(tycho_buf_append_json_number(&b, cases[i].d), 0);
        assert_string_equal(b.data, cases[i].want);
        if (cases[i].want[0] != '"') {
            double back = strtod(b.data, NULL);
            assert_true(back == cases[i].d);
            assert_true(!signbit(back) == !signbit(cases[i].d)); /* -0 stays -0 */
        }
        tycho_buf_free(&b);
    }
}

/* Long ASCII runs between escapes and multi-byte characters (the copy-a-run
 * path) come out as one byte at a time would write them. */
static void test_json_runs(void **state)
{
    (void)state;
    E("GET /a/b?c=d HTTP/1.1 \"x\" tail", "\"GET /a/b?c=d HTTP/1.1 \\\"x\\\" tail\"");
    E("\xc3\xa9"
      "abc\xff"
      "def\n",
      "\"\xc3\xa9"
      "abc\xef\xbf\xbd"
      "def\\n\"");
    E("~ !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}", "\"~ !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}\"");
}

/* What one byte alone becomes: the escaping spelled out a byte at a time,
 * to hold the word-at-a-time scan to (a lone byte >= 0x80 is invalid). */
static void escape_byte(char *out, unsigned char c)
{
    if (c == '"' || c == '\\')
        sprintf(out, "\\%c", c);
    else if (c == '\n' || c == '\r' || c == '\t')
        sprintf(out, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c < 0x20 || c == 0x7F)
        sprintf(out, "\\u%04x", c);
    else if (c >= 0x80)
        strcpy(out, FFFD);
    else
        sprintf(out, "%c", c);
}

/* Every byte value at every position of a 24-byte string (three words,
 * then the tail the scan finishes a byte at a time) and of each shorter
 * string: the output is the plain bytes with that one byte escaped. */
static void test_json_byte_at_every_position(void **state)
{
    (void)state;
    char in[24], want[64], esc[8];
    for (size_t n = 1; n <= sizeof in; n++)
        for (size_t at = 0; at < n; at++)
            for (int c = 0; c < 256; c++) {
                memset(in, 'a', n);
                in[at] = (char)c;
                escape_byte(esc, (unsigned char)c);
                snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)at, in, esc, (int)(n - at - 1),
                         in + at + 1);
                char *got = json(in, n);
                if (strcmp(got, want) != 0)
                    fail_msg("byte 0x%02x at %zu of %zu: %s, want %s", c, at, n, got, want);
                free(got);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_every_control_char),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_random_bytes_always_json),
        cmocka_unit_test(test_append_and_printf),
        cmocka_unit_test(test_append_int),
        cmocka_unit_test(test_append_json_number),
        cmocka_unit_test(test_json_runs),
        cmocka_unit_test(test_json_byte_at_every_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
