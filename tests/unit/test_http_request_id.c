/* Unit tests of request ids (server/http/request_id.c): an incoming
 * X-Request-Id is kept when it is 1..128 visible ASCII characters without
 * quotes or backslashes (safe in a header, a log line and JSON), else a new
 * 32-hex-digit id is generated. */
#include "http/request_id.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static int valid(const char *s, size_t n)
{
    tycho_slice_t v = {s, n};
    return tycho_request_id_valid(&v);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(valid("a", 1));
    assert_true(valid("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", 49));
    assert_true(valid("!#$%&'()*+,-./:;<=>?@[]^_`{|}~", 30));
    char max[TYCHO_REQUEST_ID_MAX + 1];
    memset(max, 'r', sizeof max);
    assert_true(valid(max, TYCHO_REQUEST_ID_MAX));
    assert_false(valid(max, TYCHO_REQUEST_ID_MAX + 1));
    assert_false(valid("", 0));
    static const char *const bad[] = {"a b", "a\tb", "a\"b", "a\\b", "caf\xc3\xa9", "\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(valid(bad[i], strlen(bad[i])));
    assert_false(valid("a\0b", 3));
    assert_false(valid("a\r\nX: y", 7));
}

static void assign(const char *incoming, char out[TYCHO_REQUEST_ID_MAX + 1])
{
    tycho_header_t h[2] = {{{"Host", 4}, {"t", 1}}, {{"x-REQUEST-id", 12}, {incoming, 0}}};
    tycho_request_t req = {0};
    req.headers = h;
    req.nheaders = incoming ? 2 : 1;
    if (incoming) h[1].value.n = strlen(incoming);
    tycho_request_id_assign(&req, out);
}

static int is_generated(const char *id)
{
    if (strlen(id) != 32) return 0;
    for (int i = 0; i < 32; i++)
        if (!strchr("0123456789abcdef", id[i])) return 0;
    return 1;
}

static void test_assign(void **state)
{
    (void)state;
    char id[TYCHO_REQUEST_ID_MAX + 1], id2[TYCHO_REQUEST_ID_MAX + 1];
    assign("abc-123", id);
    assert_string_equal(id, "abc-123"); /* the header name matches in any case */
    assign("bad id", id);
    assert_true(is_generated(id));
    assign(NULL, id);
    assert_true(is_generated(id));
    assign(NULL, id2);
    assert_true(is_generated(id2));
    assert_string_not_equal(id, id2);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assign(big, id);
    assert_true(is_generated(id));
    big[TYCHO_REQUEST_ID_MAX] = '\0';
    assign(big, id);
    assert_string_equal(id, big);
}

static void test_generated_are_distinct(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char ids[N][33];
    for (int i = 0; i < N; i++) {
        char id[TYCHO_REQUEST_ID_MAX + 1];
        assign(NULL, id);
        assert_true(is_generated(id));
        memcpy(ids[i], id, 33);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_true(memcmp(ids[i], ids[j], 32) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_generated_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
