/* Percent-encoding: the bytes the caller keeps, every other one as %XX.
 * Percent-decoding: escapes in either case, '+' only with PLUS_SPACE, a bad
 * or cut-off escape kept as is or (strict) refused, every byte value, and
 * the hex digit table; the path normalisation the router matches with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/percent.h"

#include <stdio.h>
#include <string.h>

/* s decoded with flags into a NUL-terminated string in out; its length or -1 */
static ssize_t dec(const char *s, int flags, char *out)
{
    ssize_t n = tycho_percent_decode(s, strlen(s), out, flags);
    if (n >= 0) out[n] = '\0';
    return n;
}

static void test_escapes(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(dec("a%20b%2Fc%2fd", 0, out), 7);
    assert_string_equal(out, "a b/c/d");
    assert_int_equal(dec("", 0, out), 0);
    assert_int_equal(dec("%41%42", 0, out), 2);
    assert_string_equal(out, "AB");
    assert_int_equal(dec("%00x", 0, out), 2); /* a NUL byte is a byte */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 'x');
}

static void test_plus(void **state)
{
    (void)state;
    char out[64];
    dec("a+b%2B", 0, out);
    assert_string_equal(out, "a+b+");
    dec("a+b%2B", TYCHO_PCT_PLUS_SPACE, out);
    assert_string_equal(out, "a b+");
}

static void test_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"%", "%4", "a%", "%zz", "%4g", "%g4", "x%2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[64];
        assert_int_equal(dec(bad[i], 0, out), (ssize_t)strlen(bad[i]));
        assert_string_equal(out, bad[i]); /* kept as is */
        assert_int_equal(dec(bad[i], TYCHO_PCT_STRICT, out), -1);
    }
    char out[64];
    dec("%%41", 0, out); /* the first '%' is bad, the second starts an escape */
    assert_string_equal(out, "%A");
}

static void test_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char in[4], out[4];
        snprintf(in, sizeof in, b & 1 ? "%%%02X" : "%%%02x", (unsigned)b);
        assert_int_equal(tycho_percent_decode(in, 3, out, TYCHO_PCT_STRICT), 1);
        assert_int_equal((unsigned char)out[0], b);
    }
}

static void test_hex_digit(void **state)
{
    (void)state;
    int want[256];
    for (int c = 0; c < 256; c++)
        want[c] = -1;
    for (int v = 0; v < 16; v++) {
        want[(unsigned char)"0123456789abcdef"[v]] = v;
        want[(unsigned char)"0123456789ABCDEF"[v]] = v;
    }
    for (int c = 0; c < 256; c++)
        assert_int_equal(tycho_hex_digit(c), want[c]);
}

/* s normalised into a NUL-terminated string in out; its length or -1 */
static ssize_t norm(const char *s, char *out)
{
    ssize_t n = tycho_percent_normalize(s, strlen(s), out);
    if (n >= 0) out[n] = '\0';
    return n;
}

static void test_normalize(void **state)
{
    (void)state;
    char out[64];
    /* unreserved characters are decoded, in either hex case */
    assert_int_equal(norm("/users/%6De", out), 9);
    assert_string_equal(out, "/users/me");
    assert_int_equal(norm("/%7eecho/%2D%2e%5F%7E%41%7a%30", out), 14);
    assert_string_equal(out, "/~echo/-._~Az0");
    /* others stay escaped, with upper-case digits: '/', '%', space, ':', '*', bytes >= 0x80 */
    assert_int_equal(norm("/a%2fb%2Fc%25%20%3a%2a%c3%a9", out), 28);
    assert_string_equal(out, "/a%2Fb%2Fc%25%20%3A%2A%C3%A9");
    assert_int_equal(norm("/plain/path", out), 11);
    assert_string_equal(out, "/plain/path");
    /* every unreserved byte and no other is decoded */
    for (int b = 0; b < 256; b++) {
        char in[4];
        snprintf(in, sizeof in, "%%%02x", (unsigned)b);
        int unreserved = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                         (b >= '0' && b <= '9') || (b && strchr("-._~", b));
        assert_int_equal(norm(in, out), unreserved ? 1 : 3);
    }
    const char *bad[] = {"%", "/a%", "/a%4", "/users/%zz", "/%4g", "/%g4/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(norm(bad[i], out), -1);
}

static int lower_only(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static void test_encode(void **state)
{
    (void)state;
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_percent_encode(&b, "caf\xc3\xa9 A/\0z", 10, lower_only), 0);
    assert_int_equal(b.len, 22);
    assert_memory_equal(b.data, "caf%C3%A9%20%41%2F%00z", 22);
    tycho_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),     cmocka_unit_test(test_plus),
        cmocka_unit_test(test_bad_escapes), cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_hex_digit),   cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
