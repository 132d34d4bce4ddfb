/* Unit tests of UTF-8 validation (server/core/utf8.c), held to the table of
 * well-formed byte sequences in the Unicode Standard (chapter 3, table 3-7)
 * rather than to code points: every string of one to three bytes, and every
 * four-byte string whose first two bytes vary, the last two drawn from
 * both edges of the continuation range and just past them. */
#include "core/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* The range the second byte of a sequence starting with lead may take
 * (table 3-7); 0 when lead starts no multi-byte sequence. */
static int second_range(unsigned lead, unsigned *lo, unsigned *hi)
{
    *lo = 0x80, *hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead == 0xE0) return *lo = 0xA0, 3;
    if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return 3;
    if (lead == 0xED) return *hi = 0x9F, 3;
    if (lead == 0xF0) return *lo = 0x90, 4;
    if (lead >= 0xF1 && lead <= 0xF3) return 4;
    if (lead == 0xF4) return *hi = 0x8F, 4;
    return 0;
}

static int is_cont(unsigned c)
{
    return c >= 0x80 && c <= 0xBF;
}

/* The length of the well-formed sequence at s[0..n), 0 if none: the
 * table's answer for what tycho_utf8_seq_len should say. */
static size_t table_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    unsigned lo, hi;
    int len = second_range(s[0], &lo, &hi);
    if (!len || n < (size_t)len || s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < len; i++)
        if (!is_cont(s[i])) return 0;
    return (size_t)len;
}

/* Whether s[0..n) is a run of well-formed sequences (NUL allowed). */
static int table_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = table_len(s + i, n - i))) return 0;
    return 1;
}

static void check(const unsigned char *s, size_t n)
{
    size_t want = table_len(s, n), got = tycho_utf8_seq_len(s, n);
    if (got != want)
        fail_msg("%02x %02x %02x %02x (n %zu): %zu, want %zu", s[0], n > 1 ? s[1] : 0,
                 n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, n, got, want);
    int valid = tycho_utf8_valid((const char *)s, n, 1);
    if (valid != table_valid(s, n))
        fail_msg("%02x %02x..: valid %d", s[0], n > 1 ? s[1] : 0, valid);
}

static void test_every_short_string(void **state)
{
    (void)state;
    unsigned char s[3];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        check(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            check(s, 2);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (unsigned char)c;
                check(s, 3);
            }
        }
    }
}

static void test_four_byte_strings(void **state)
{
    (void)state;
    static const unsigned char edges[] = {0x7F, 0x80, 0xBF, 0xC0};
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof edges; c++)
                for (size_t d = 0; d < sizeof edges; d++) {
                    s[0] = (unsigned char)a, s[1] = (unsigned char)b;
                    s[2] = edges[c], s[3] = edges[d];
                    check(s, 4);
                }
}

/* Known answers at the edges the table encodes. */
static void test_edges(void **state)
{
    (void)state;
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xF4\x8F\xBF\xBF", 4), 4);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xF4\x90\x80\x80", 4), 0);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xED\x9F\xBF", 3), 3);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xED\xA0\x80", 3), 0);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xE0\x9F\xBF", 3), 0);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xC1\xBF", 2), 0);
    assert_int_equal(tycho_utf8_seq_len((const unsigned char *)"\xE2\x82\xAC", 2), 0); /* cut */
}

/* Whole strings: NUL refused unless allowed; a bad byte found wherever it
 * is, inside or after the eight-at-a-time run. */
static void test_valid_strings(void **state)
{
    (void)state;
    assert_true(tycho_utf8_valid("", 0, 0));
    static const char mixed[] = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    assert_true(tycho_utf8_valid(mixed, sizeof mixed - 1, 0));
    assert_false(tycho_utf8_valid(mixed, sizeof mixed - 2, 0)); /* the emoji cut */
    char text[40];
    for (size_t at = 0; at < sizeof text; at++) {
        memset(text, 'a', sizeof text);
        assert_true(tycho_utf8_valid(text, sizeof text, 0));
        text[at] = 0;
        assert_true(tycho_utf8_valid(text, sizeof text, 1));
        assert_false(tycho_utf8_valid(text, sizeof text, 0));
        text[at] = (char)0x80;
        assert_false(tycho_utf8_valid(text, sizeof text, 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_short_string),
        cmocka_unit_test(test_four_byte_strings),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_valid_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
