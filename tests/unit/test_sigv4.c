/* SigV4 against the published vectors (PROTOCOLS.md section 5; the AWS
 * SigV4 test suite as shipped in aws-c-auth, and the IAM user-guide example). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "aws/sigv4.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20150830T123600Z 1440938160LL
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static tycho_sigv4_request_t suite_req(const char *method, const char *path, const char *query)
{
    tycho_sigv4_request_t r = {0};
    r.method = method;
    r.host = "example.amazonaws.com";
    r.path = path;
    r.query = query;
    r.service = "service";
    r.region = "us-east-1";
    r.access_key_id = AKID;
    r.secret_access_key = SECRET;
    r.time = T_20150830T123600Z;
    return r;
}

/* Signs, checks the signature and (when given) the canonical request. */
static void check(const tycho_sigv4_request_t *r, const char *want_cr, const char *want_sig)
{
    tycho_sigv4_output_t out;
    tycho_buf_t cr = TYCHO_BUF_INIT, sts = TYCHO_BUF_INIT;
    assert_int_equal(tycho_sigv4_sign(r, NULL, &out, &cr, &sts), 0);
    if (want_cr) assert_string_equal(cr.data, want_cr);
    assert_string_equal(out.signature, want_sig);
    assert_string_equal(out.amz_date, "20150830T123600Z");
    assert_non_null(strstr(out.authorization.data, want_sig));
    tycho_buf_free(&out.authorization);
    tycho_buf_free(&cr);
    tycho_buf_free(&sts);
}

static void test_get_vanilla(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    tycho_sigv4_output_t out;
    tycho_buf_t cr = TYCHO_BUF_INIT, sts = TYCHO_BUF_INIT;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, &cr, &sts), 0);
    assert_string_equal(cr.data, "GET\n/\n\nhost:example.amazonaws.com\n"
                                 "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH);
    char h[65];
    tycho_sigv4_sha256_hex(cr.data, cr.len, h);
    assert_string_equal(h, "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    assert_string_equal(sts.data,
                        "AWS4-HMAC-SHA256\n20150830T123600Z\n"
                        "20150830/us-east-1/service/aws4_request\n"
                        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    assert_string_equal(
        out.authorization.data,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert_null(out.security_token);
    assert_string_equal(out.content_sha256, "");
    tycho_buf_free(&out.authorization);
    tycho_buf_free(&cr);
    tycho_buf_free(&sts);
}

static void test_session_token(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    r.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    check(&r,
          "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
          "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
          "\nhost;x-amz-date;x-amz-security-token\n" EMPTY_HASH,
          "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    tycho_sigv4_output_t out;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, NULL, NULL), 0);
    assert_ptr_equal(out.security_token, r.session_token);
    tycho_buf_free(&out.authorization);
}

static void test_post_vanilla(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("POST", "/", NULL);
    check(&r, NULL, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    r = suite_req("POST", "/", "Param1=value1");
    check(&r, NULL, "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

static void test_query_order(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("GET", "/", "Param2=value2&Param1=value1");
    check(&r,
          "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
          "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
          "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    /* the same through decoded params */
    tycho_sigv4_param_t p[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    r = suite_req("GET", "/", NULL);
    r.params = p;
    r.nparams = 2;
    check(&r, NULL, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    const char *unres = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char q[200];
    snprintf(q, sizeof q, "%s=%s", unres, unres);
    r = suite_req("GET", "/", q);
    check(&r, NULL, "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

static void test_canonical_query_rules(void **state)
{
    (void)state;
    tycho_buf_t b = TYCHO_BUF_INIT;
    /* repeated keys sort by value; no value -> "k="; re-encoding of %7e and
     * of reserved characters; '+' stays a literal plus */
    assert_int_equal(tycho_sigv4_canonical_query("b=2&a=z&a=y&c&d=%7e&e=a%2fb%3D&f=a+b&g=x y", &b),
                     0);
    assert_string_equal(b.data, "a=y&a=z&b=2&c=&d=~&e=a%2Fb%3D&f=a%2Bb&g=x%20y");
    tycho_buf_reset(&b);
    assert_int_equal(tycho_sigv4_canonical_query("", &b), 0);
    assert_int_equal(b.len, 0);
    tycho_buf_free(&b);
}

static void test_iam_example(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = {0};
    r.method = "GET";
    r.host = "iam.amazonaws.com";
    r.path = "/";
    r.query = "Action=ListUsers&Version=2010-05-08";
    tycho_sigv4_header_t h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.headers = h;
    r.nheaders = 1;
    r.service = "iam";
    r.region = "us-east-1";
    r.access_key_id = AKID;
    r.secret_access_key = SECRET;
    r.time = T_20150830T123600Z;
    tycho_sigv4_output_t out;
    tycho_buf_t cr = TYCHO_BUF_INIT;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, &cr, NULL), 0);
    char hash[65];
    tycho_sigv4_sha256_hex(cr.data, cr.len, hash);
    assert_string_equal(hash, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    assert_string_equal(out.signature,
                        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    unsigned char k[32];
    char khex[65];
    assert_int_equal(tycho_sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", k), 0);
    tycho_sigv4_hex(k, 32, khex);
    assert_string_equal(khex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    tycho_buf_free(&out.authorization);
    tycho_buf_free(&cr);
}

static void test_utf8_and_space(void **state)
{
    (void)state;
    /* the suite feeds unencoded paths: one encoding gives its result */
    tycho_sigv4_request_t r = suite_req("GET", "/\xe1\x88\xb4", NULL);
    check(&r,
          "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
          "host;x-amz-date\n" EMPTY_HASH,
          "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
    r = suite_req("GET", "/example space/", NULL);
    check(&r, NULL, "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
    /* a wire path (already encoded once) is encoded a second time */
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_sigv4_canonical_uri("/example%20space/", 0, &b), 0);
    assert_string_equal(b.data, "/example%2520space/");
    tycho_buf_reset(&b);
    /* S3: used as sent */
    assert_int_equal(tycho_sigv4_canonical_uri("/example%20space/", 1, &b), 0);
    assert_string_equal(b.data, "/example%20space/");
    tycho_buf_free(&b);
}

static void test_slashes_and_dots(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("GET", "//example//", NULL);
    check(&r, NULL, "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84");
    r = suite_req("GET", "/example1/example2/../..", NULL);
    check(&r, NULL, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    struct {
        const char *in;
        int s3;
        const char *want;
    } cases[] = {
        {"//example//", 1, "//example//"}, /* get-slashes-unnormalized */
        {"//example//", 0, "/example/"},
        {"/example/..", 0, "/"},
        {"/./a/./b/", 0, "/a/b/"},
        {"/a/b/../c", 0, "/a/c"},
        {"/..", 0, "/"},
        {"", 0, "/"},
        {"/a:b@c!$&'()*+,;=", 0, "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        assert_int_equal(tycho_sigv4_canonical_uri(cases[i].in, cases[i].s3, &b), 0);
        assert_string_equal(b.data, cases[i].want);
        tycho_buf_free(&b);
    }
}

static void test_header_duplicate_and_trim(void **state)
{
    (void)state;
    tycho_sigv4_header_t dup[] = {
        {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}};
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    r.headers = dup;
    r.nheaders = 3;
    check(&r,
          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
          "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_HASH,
          "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
    tycho_sigv4_header_t trim[] = {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}};
    r.headers = trim;
    r.nheaders = 2;
    check(&r,
          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
          "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_HASH,
          "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

static void test_never_signed_headers(void **state)
{
    (void)state;
    tycho_sigv4_header_t h[] = {{"User-Agent", "tycho/0.1"},
                                {"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"},
                                {"Connection", "keep-alive"},
                                {"Expect", "100-continue"},
                                {"Transfer-Encoding", "chunked"},
                                {"Authorization", "stale"},
                                {"X-Amz-Date", "19700101T000000Z"},
                                {"Host", "other.example"}};
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    r.headers = h;
    r.nheaders = sizeof h / sizeof h[0];
    check(&r, NULL, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_content_sha256(void **state)
{
    (void)state;
    tycho_sigv4_header_t h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                                {"Content-Length", "13"}};
    tycho_sigv4_request_t r = suite_req("POST", "/", NULL);
    r.headers = h;
    r.nheaders = 2;
    r.body = "Param1=value1";
    r.body_len = 13;
    r.flags = TYCHO_SIGV4_CONTENT_SHA256;
    check(&r, NULL, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
    tycho_sigv4_output_t out;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, NULL, NULL), 0);
    assert_string_equal(out.content_sha256,
                        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    tycho_buf_free(&out.authorization);
    r.flags = TYCHO_SIGV4_S3 | TYCHO_SIGV4_UNSIGNED_PAYLOAD;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, NULL, NULL), 0);
    assert_string_equal(out.content_sha256, "UNSIGNED-PAYLOAD");
    tycho_buf_free(&out.authorization);
}

static void test_key_cache(void **state)
{
    (void)state;
    tycho_sigv4_key_cache_t cache;
    memset(&cache, 0, sizeof cache);
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    for (int i = 0; i < 3; i++) {
        tycho_sigv4_output_t out;
        assert_int_equal(tycho_sigv4_sign(&r, &cache, &out, NULL, NULL), 0);
        assert_string_equal(out.signature,
                            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        tycho_buf_free(&out.authorization);
    }
    assert_int_equal(cache.misses, 1);
    assert_int_equal(cache.hits, 2);
    /* another day, another service, another secret: new keys */
    r.time += 86400;
    tycho_sigv4_output_t out;
    assert_int_equal(tycho_sigv4_sign(&r, &cache, &out, NULL, NULL), 0);
    tycho_buf_free(&out.authorization);
    r.service = "sqs";
    assert_int_equal(tycho_sigv4_sign(&r, &cache, &out, NULL, NULL), 0);
    tycho_buf_free(&out.authorization);
    r.secret_access_key = "other";
    assert_int_equal(tycho_sigv4_sign(&r, &cache, &out, NULL, NULL), 0);
    tycho_buf_free(&out.authorization);
    assert_int_equal(cache.misses, 4);
    /* the cache never holds the secret itself */
    assert_null(memmem(&cache, sizeof cache, SECRET, strlen(SECRET)));
}

static void test_missing_fields(void **state)
{
    (void)state;
    tycho_sigv4_request_t r = suite_req("GET", "/", NULL);
    r.access_key_id = "";
    tycho_sigv4_output_t out;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, NULL, NULL), -EINVAL);
    r = suite_req("GET", "/", NULL);
    r.region = NULL;
    assert_int_equal(tycho_sigv4_sign(&r, NULL, &out, NULL, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_vanilla),
        cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_post_vanilla),
        cmocka_unit_test(test_query_order),
        cmocka_unit_test(test_canonical_query_rules),
        cmocka_unit_test(test_iam_example),
        cmocka_unit_test(test_utf8_and_space),
        cmocka_unit_test(test_slashes_and_dots),
        cmocka_unit_test(test_header_duplicate_and_trim),
        cmocka_unit_test(test_never_signed_headers),
        cmocka_unit_test(test_content_sha256),
        cmocka_unit_test(test_key_cache),
        cmocka_unit_test(test_missing_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
