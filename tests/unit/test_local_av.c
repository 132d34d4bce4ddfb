/* Unit tests for local_av: exact decimal numbers, key encoding order,
 * base64, AttributeValue validation, equality and item size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/local_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void norm(const char *in, const char *want)
{
    tycho_dec_t d;
    const char *why;
    char out[TYCHO_DEC_STRLEN];
    if (tycho_dec_parse(in, &d, &why) != 0) fail_msg("parse(%s) failed: %s", in, why);
    tycho_dec_format(&d, out);
    if (strcmp(out, want) != 0) fail_msg("normalize(%s) = %s, want %s", in, out, want);
}

static void bad(const char *in, const char *why_prefix)
{
    tycho_dec_t d;
    const char *why = NULL;
    if (tycho_dec_parse(in, &d, &why) == 0) fail_msg("parse(%s) should fail", in);
    if (strncmp(why, why_prefix, strlen(why_prefix)) != 0)
        fail_msg("parse(%s): %s, want %s...", in, why, why_prefix);
}

static void test_decimal_normalize(void **state)
{
    (void)state;
    norm("0", "0");
    norm("-0", "0");
    norm("000.000", "0");
    norm("1.50", "1.5");
    norm("0001.2300", "1.23");
    norm("+7", "7");
    norm("1e3", "1000");
    norm("1.0E+3", "1000");
    norm("12.5e-3", "0.0125");
    norm(".5", "0.5");
    norm("5.", "5");
    norm("-0.000123", "-0.000123");
    norm("99999999999999999999999999999999999999", "99999999999999999999999999999999999999");
    /* 38 significant digits with many leading/trailing zeros is fine */
    norm("0000000000012345678901234567890123456789012345678000000000",
         "12345678901234567890123456789012345678000000000");
    norm("9.9999999999999999999999999999999999999E+125",
         "99999999999999999999999999999999999999000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000");
    norm("1E-130", "0."
                   "0000000000000000000000000000000000000000000000000000000000000000000000000000000"
                   "000000000000000000000000000000000000000000000000001");
}

static void test_decimal_errors(void **state)
{
    (void)state;
    bad("", "The parameter cannot be converted");
    bad("abc", "The parameter cannot be converted");
    bad("1.2.3", "The parameter cannot be converted");
    bad("1e", "The parameter cannot be converted");
    bad(" 1", "The parameter cannot be converted");
    bad("NaN", "The parameter cannot be converted");
    bad("0x10", "The parameter cannot be converted");
    bad("123456789012345678901234567890123456789",
        "Attempting to store more than 38 significant digits");
    bad("1.23456789012345678901234567890123456789",
        "Attempting to store more than 38 significant digits");
    bad("1E126", "Number overflow");
    bad("-1E126", "Number overflow");
    bad("1E-131", "Number underflow");
    bad("1e99999999999", "Number overflow");
}

static int cmp(const char *a, const char *b)
{
    tycho_dec_t x, y;
    const char *why;
    assert_int_equal(tycho_dec_parse(a, &x, &why), 0);
    assert_int_equal(tycho_dec_parse(b, &y, &why), 0);
    int c = tycho_dec_cmp(&x, &y);
    /* the key bytes must order the same way */
    unsigned char kx[48], ky[48];
    size_t nx = tycho_dec_key(&x, kx), ny = tycho_dec_key(&y, ky);
    int kc = memcmp(kx, ky, nx < ny ? nx : ny);
    if (kc == 0) kc = nx == ny ? 0 : (nx < ny ? -1 : 1);
    assert_int_equal(c < 0 ? -1 : c > 0, kc < 0 ? -1 : kc > 0);
    return c < 0 ? -1 : c > 0;
}

static void test_decimal_compare(void **state)
{
    (void)state;
    assert_int_equal(cmp("1", "2"), -1);
    assert_int_equal(cmp("10", "9"), 1);
    assert_int_equal(cmp("1.0", "1"), 0);
    assert_int_equal(cmp("-1", "1"), -1);
    assert_int_equal(cmp("-10", "-9"), -1);
    assert_int_equal(cmp("-0.12", "-0.123"), 1);
    assert_int_equal(cmp("0.12", "0.123"), -1);
    assert_int_equal(cmp("0", "-0.0001"), 1);
    assert_int_equal(cmp("0", "0.0001"), -1);
    assert_int_equal(
        cmp("12345678901234567890123456789012345678", "12345678901234567890123456789012345679"),
        -1);
    assert_int_equal(cmp("1E125", "9.9E124"), 1);
    assert_int_equal(cmp("-1E125", "-9.9E124"), -1);
    assert_int_equal(cmp("100", "1E2"), 0);
}

static void add(const char *a, const char *b, int sub, const char *want)
{
    tycho_dec_t x, y, r;
    const char *why;
    char out[TYCHO_DEC_STRLEN];
    assert_int_equal(tycho_dec_parse(a, &x, &why), 0);
    assert_int_equal(tycho_dec_parse(b, &y, &why), 0);
    if (!want) {
        assert_int_equal(tycho_dec_add(&x, &y, sub, &r, &why), -1);
        return;
    }
    if (tycho_dec_add(&x, &y, sub, &r, &why))
        fail_msg("%s %c %s failed: %s", a, sub ? '-' : '+', b, why);
    tycho_dec_format(&r, out);
    if (strcmp(out, want) != 0)
        fail_msg("%s %c %s = %s, want %s", a, sub ? '-' : '+', b, out, want);
}

static void test_decimal_add(void **state)
{
    (void)state;
    add("1", "2", 0, "3");
    add("0.1", "0.2", 0, "0.3"); /* exact, unlike binary floating point */
    add("1.5", "1", 0, "2.5");
    add("1", "1", 1, "0");
    add("5", "7", 1, "-2");
    add("-5", "-7", 0, "-12");
    add("99999999999999999999999999999999999999", "1", 0,
        "100000000000000000000000000000000000000");
    add("12345678901234567890123456789012345678", "0.1", 0,
        NULL);                      /* would need 39 digits: no rounding */
    add("1E125", "9E125", 0, NULL); /* overflow */
    add("100000000000000000000", "0.00000000000000001", 0,
        "100000000000000000000.00000000000000001");                 /* 38 digits */
    add("1000000000000000000000", "0.000000000000000001", 0, NULL); /* 40 digits */
    add("0.000001", "0.000001", 1, "0");
    add("-0.5", "0.25", 0, "-0.25");
    add("123.456", "-23.456", 0, "100");
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char *out;
    size_t n;
    assert_int_equal(tycho_b64_decode("aGVsbG8=", 8, &out, &n, NULL), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(tycho_b64_decode("", 0, &out, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(out);
    assert_int_equal(tycho_b64_decode("aGVsbG8", 7, &out, &n, NULL), -1);
    assert_int_equal(tycho_b64_decode("aGV$bG8=", 8, &out, &n, NULL), -1);
    assert_int_equal(tycho_b64_decode("aG=sbG8=", 8, &out, &n, NULL), -1);
    assert_int_equal(tycho_b64_decode("aGVsbG9=", 8, &out, &n, NULL),
                     -1); /* non-canonical pad bits */
    /* each refusal says why (RFC 4648 4; 3.5 for the canonical bits) */
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"aGVsbG8", "length not a multiple of 4 (padding missing?)"},
        {"aGVs\nbG8=", "length not a multiple of 4 (padding missing?)"},
        {"aGV\nbG8=", "a character outside A-Z a-z 0-9 + / ="},
        {"aGV-bG8_", "a character outside A-Z a-z 0-9 + / ="}, /* base64url is another alphabet */
        {"aG=sbG8=", "'=' padding before the last 2 characters"},
        {"aGVs=G8=", "'=' padding before the last 2 characters"},
        {"aGVsbG==", "non-zero unused bits before the padding (not canonical)"},
        {"aGVsbG9=", "non-zero unused bits before the padding (not canonical)"},
        {"aGVsb===", "'=' padding before the last 2 characters"},
        {"aGVsbG=8", "data after '=' padding"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = NULL;
        out = (unsigned char *)"not NULL";
        assert_int_equal(tycho_b64_decode(bad[i].text, strlen(bad[i].text), &out, &n, &why), -1);
        assert_null(out);
        assert_string_equal(why, bad[i].why);
    }
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_b64_encode(&b, (const unsigned char *)"hello", 5), 0);
    assert_string_equal(b.data, "aGVsbG8=");
    tycho_buf_free(&b);
}

static int validate(const char *json, char *msg, size_t n, char **normalized)
{
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    tycho_av_err_t e;
    int rc = tycho_av_validate(v, &e);
    if (rc && msg) snprintf(msg, n, "%s", e.msg);
    if (normalized) *normalized = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return rc;
}

static void test_av_validate(void **state)
{
    (void)state;
    char msg[512];
    char *out;
    assert_int_equal(validate("{\"S\":\"\"}", msg, sizeof msg, NULL), 0);
    assert_int_equal(validate("{\"N\":\"01.10\"}", msg, sizeof msg, &out), 0);
    assert_string_equal(out, "{\"N\":\"1.1\"}");
    free(out);
    assert_int_equal(validate("{\"NS\":[\"1\",\"1.0\"]}", msg, sizeof msg, NULL), -1);
    assert_non_null(strstr(msg, "duplicates"));
    assert_int_equal(validate("{\"SS\":[]}", msg, sizeof msg, NULL), -1);
    assert_non_null(strstr(msg, "may not be empty"));
    assert_int_equal(validate("{}", msg, sizeof msg, NULL), -1);
    assert_non_null(strstr(msg, "is empty"));
    assert_int_equal(validate("{\"S\":\"a\",\"N\":\"1\"}", msg, sizeof msg, NULL), -1);
    assert_non_null(strstr(msg, "more than one datatypes"));
    assert_int_equal(validate("{\"NULL\":false}", msg, sizeof msg, NULL), -1);
    assert_int_equal(validate("{\"B\":\"!!\"}", msg, sizeof msg, NULL), -1);
    assert_int_equal(validate("{\"X\":\"1\"}", msg, sizeof msg, NULL), -1);
    assert_int_equal(validate("{\"M\":{\"a\":{\"L\":[{\"N\":\"1e2\"},{\"BOOL\":true}]}}}", msg,
                              sizeof msg, &out),
                     0);
    assert_string_equal(out, "{\"M\":{\"a\":{\"L\":[{\"N\":\"100\"},{\"BOOL\":true}]}}}");
    free(out);
    /* 33 levels of nesting exceed DynamoDB's 32 */
    char deep[2048] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "{\"L\":[");
    strcat(deep, "{\"S\":\"x\"}");
    for (int i = 0; i < 33; i++)
        strcat(deep, "]}");
    assert_int_equal(validate(deep, msg, sizeof msg, NULL), -1);
    assert_non_null(strstr(msg, "Nesting"));
}

static int eq(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    int r = tycho_av_equal(x, y);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return r;
}

static void test_av_equal_compare_size(void **state)
{
    (void)state;
    assert_true(eq("{\"N\":\"1\"}", "{\"N\":\"1.0\"}"));
    assert_false(eq("{\"N\":\"1\"}", "{\"S\":\"1\"}"));
    assert_true(eq("{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"b\",\"a\"]}"));
    assert_false(
        eq("{\"L\":[{\"S\":\"a\"},{\"S\":\"b\"}]}", "{\"L\":[{\"S\":\"b\"},{\"S\":\"a\"}]}"));
    assert_true(eq("{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"NULL\":true}}}",
                   "{\"M\":{\"b\":{\"NULL\":true},\"a\":{\"N\":\"1\"}}}"));
    assert_true(eq("{\"B\":\"AAE=\"}", "{\"B\":\"AAE=\"}"));
    cJSON *a = cJSON_Parse("{\"S\":\"abc\"}"), *b = cJSON_Parse("{\"S\":\"abd\"}"),
          *n = cJSON_Parse("{\"N\":\"5\"}");
    int c;
    assert_int_equal(tycho_av_compare(a, b, &c), 0);
    assert_int_equal(c, -1);
    assert_int_equal(tycho_av_compare(a, n, &c), -1);
    cJSON *item =
        cJSON_Parse("{\"id\":{\"S\":\"abc\"},\"n\":{\"N\":\"12345\"},\"ok\":{\"BOOL\":true}}");
    /* "id"(2)+3, "n"(1)+(5 digits -> 3+1=4), "ok"(2)+1 */
    assert_int_equal(tycho_av_item_size(item), 2 + 3 + 1 + 4 + 2 + 1);
    cJSON_Delete(item);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(n);
}

static void test_key_bytes_order(void **state)
{
    (void)state;
    const char *nums[] = {"-1E125", "-100", "-99.5", "-1", "-0.5", "-0.123", "-0.12", "0",
                          "0.001",  "0.12", "0.123", "1",  "9",    "10",     "1E125"};
    tycho_buf_t prev = TYCHO_BUF_INIT;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"N\":\"%s\"}", nums[i]);
        cJSON *v = cJSON_Parse(json);
        tycho_buf_t k = TYCHO_BUF_INIT;
        assert_int_equal(tycho_av_key_bytes(v, &k), 0);
        if (i > 0) {
            size_t m = prev.len < k.len ? prev.len : k.len;
            int c = memcmp(prev.data, k.data, m);
            if (c == 0) c = prev.len < k.len ? -1 : 1;
            if (c >= 0) fail_msg("key(%s) should sort before key(%s)", nums[i - 1], nums[i]);
        }
        tycho_buf_free(&prev);
        prev = k;
        cJSON_Delete(v);
    }
    tycho_buf_free(&prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_normalize),
        cmocka_unit_test(test_decimal_errors),
        cmocka_unit_test(test_decimal_compare),
        cmocka_unit_test(test_decimal_add),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_av_validate),
        cmocka_unit_test(test_av_equal_compare_size),
        cmocka_unit_test(test_key_bytes_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
