/* Pure pieces of the AWS client and endpoint resolution: error codes, retry
 * classification, CRC32, endpoint/region precedence. The retry loop itself
 * runs against a loopback fake in tests/aws/test_aws_faults.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/error_text.h"

static void test_error_code(void **state)
{
    (void)state;
    char c[64];
    tycho_aws_error_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", c, sizeof c);
    assert_string_equal(c, "ResourceNotFoundException");
    tycho_aws_error_code("com.amazon.coral.validate#ValidationException", c, sizeof c);
    assert_string_equal(c, "ValidationException");
    tycho_aws_error_code("ThrottlingException:http://internal.amazon.com/coral/", c, sizeof c);
    assert_string_equal(c, "ThrottlingException");
    tycho_aws_error_code("aws.protocoltests#Weird:http://x#y", c, sizeof c);
    assert_string_equal(c, "Weird");
    tycho_aws_error_code("Plain", c, sizeof c);
    assert_string_equal(c, "Plain");
    tycho_aws_error_code(NULL, c, sizeof c);
    assert_string_equal(c, "");
    tycho_aws_error_code("a#VeryLongErrorCodeThatDoesNotFit", c, 8);
    assert_string_equal(c, "VeryLon");
}

static void test_scrub(void **state)
{
    (void)state;
    char o[256];
    const char *m = "expected\n'POST\n/\n\nhost:h\nx-amz-security-token:IQoJb3Jp+/Z2luX2VjE=\n"
                    "x-amz-target:T'";
    tycho_aws_scrub(m, strlen(m), o, sizeof o);
    assert_string_equal(o, "expected 'POST / host:h x-amz-security-token:*** x-amz-target:T'");
    m = "Authorization=AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, "
        "Signature=0123abcd&X-Amz-Security-Token=IQo%2Bx%3D&X-Amz-Signature=f00";
    tycho_aws_scrub(m, strlen(m), o, sizeof o);
    assert_string_equal(o, "Authorization=AWS4-HMAC-SHA256 Credential=***, SignedHeaders=host, "
                           "Signature=***&X-Amz-Security-Token=***&X-Amz-Signature=***");
    /* a JSON body: the value ends at the escape; words alone are kept */
    m = "{\"message\":\"the signature: x-amz-security-token:SECRET\\nSignatureDoesNotMatch\"}";
    tycho_aws_scrub(m, strlen(m), o, sizeof o);
    assert_string_equal(o, "{\"message\":\"the signature: x-amz-security-token:***\\n"
                           "SignatureDoesNotMatch\"}");
    /* cut after the redaction: no prefix of the secret survives */
    m = "x-amz-security-token:SECRETSECRETSECRET tail";
    assert_int_equal(tycho_aws_scrub(m, strlen(m), o, 27), 26);
    assert_string_equal(o, "x-amz-security-token:*** t");
    assert_int_equal(tycho_aws_scrub(m, strlen(m), o, 23), 22);
    assert_string_equal(o, "x-amz-security-token:*");
    /* a header as an echo writes it, a blank after the colon */
    m = "X-Amz-Security-Token: IQoJb3JpZ2luSECRET\r\nHost: h";
    tycho_aws_scrub(m, strlen(m), o, sizeof o);
    assert_string_equal(o, "X-Amz-Security-Token: *** Host: h");
}

static void test_error_parse(void **state)
{
    (void)state;
    char code[64], msg[256];
    const char *b = "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\","
                    "\"message\":\"bad\\n\\nx-amz-security-token:TOK\\n\"}";
    tycho_aws_error_parse(b, strlen(b), NULL, 400, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "InvalidSignatureException");
    assert_string_equal(msg, "InvalidSignatureException: bad x-amz-security-token:*** (HTTP 400)");
    tycho_aws_error_parse("", 0, "ThrottlingException:http://x", 400, code, sizeof code, msg,
                          sizeof msg);
    assert_string_equal(msg, "ThrottlingException: no message (HTTP 400)");
    /* not JSON (a proxy's or load balancer's answer): its start is the message */
    tycho_aws_error_parse("nope", 4, NULL, 503, code, sizeof code, msg, sizeof msg);
    assert_string_equal(msg, "ServiceError: nope (HTTP 503)");
    b = "upstream connect error or disconnect/reset before headers. reset reason: connection "
        "failure\n";
    tycho_aws_error_parse(b, strlen(b), NULL, 503, code, sizeof code, msg, sizeof msg);
    assert_string_equal(msg, "ServiceError: upstream connect error or disconnect/reset before "
                             "headers. reset reason: connection failure (HTTP 503)");
    char page[400];
    snprintf(page, sizeof page,
             "<html><body><pre>echo of your request:\r\n"
             "X-Amz-Security-Token: IQoJb3JpZ2luSECRET\r\n%0200d</pre></body></html>",
             0);
    tycho_aws_error_parse(page, strlen(page), NULL, 502, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "ServiceError");
    assert_null(strstr(msg, "SECRET"));
    assert_non_null(strstr(msg, "X-Amz-Security-Token: ***"));
    assert_non_null(strstr(msg, "... (HTTP 502)")); /* cut, and said so */
    /* JSON without a message: still said so */
    tycho_aws_error_parse("{}", 2, NULL, 500, code, sizeof code, msg, sizeof msg);
    assert_string_equal(msg, "ServiceError: no message (HTTP 500)");
    /* the type is scrubbed as the message is: one line, redacted
     * (tests/fuzz/corpus/peer_replies/error_type_newline) */
    b = "{\"__type\":\"com.x#Bad\\r\\nType Signature=abc123\",\"message\":\"m\"}";
    tycho_aws_error_parse(b, strlen(b), NULL, 400, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "Bad Type Signature=***");
    assert_string_equal(msg, "Bad Type Signature=***: m (HTTP 400)");
    /* a tab after a key's separator is a space too, as anywhere else
     * (tests/fuzz/corpus/peer_replies/scrub_tab_after_key) */
    char out[64];
    tycho_aws_scrub("x-amz-security-token:\tTOK\tz", 27, out, sizeof out);
    assert_string_equal(out, "x-amz-security-token: *** z");
}

static void test_server_fault(void **state)
{
    (void)state;
    const char *yes[] = {"CredentialsError",
                         "ConfigurationError",
                         "InvalidSignatureException",
                         "UnrecognizedClientException",
                         "SignatureDoesNotMatch",
                         "InvalidClientTokenId",
                         "ExpiredToken",
                         "ExpiredTokenException",
                         "AccessDenied",
                         "AccessDeniedException",
                         "AuthFailure",
                         "AuthFailure.ServiceLinkedRoleCreationNotPermitted",
                         "TransportError"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(tycho_aws_is_server_fault_code(yes[i]));
    const char *no[] = {"ThrottlingException",
                        "ValidationException",
                        "QueueDoesNotExist",
                        "ResourceNotFoundException",
                        "",
                        NULL};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(tycho_aws_is_server_fault_code(no[i]));
}

static void test_classification(void **state)
{
    (void)state;
    assert_true(tycho_aws_is_throttling_code("ThrottlingException"));
    assert_true(tycho_aws_is_throttling_code("ProvisionedThroughputExceededException"));
    assert_true(tycho_aws_is_throttling_code("RequestThrottled"));
    assert_true(tycho_aws_is_throttling_code("TransactionInProgressException"));
    assert_false(tycho_aws_is_throttling_code("ConditionalCheckFailedException"));
    assert_false(tycho_aws_is_throttling_code(""));
    assert_true(tycho_aws_is_transient_code("RequestTimeout"));
    assert_true(tycho_aws_is_transient_code("IDPCommunicationError"));
    assert_false(tycho_aws_is_transient_code("ValidationException"));
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(tycho_aws_crc32("", 0), 0);
    assert_int_equal(tycho_aws_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(tycho_aws_crc32("{}", 2), 2745614147u); /* dynalite's {} reply */
}

static void test_endpoint_precedence(void **state)
{
    (void)state;
    tycho_aws_endpoint_t ep;
    char err[200];
    clearenv();
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.url, "https://sqs.eu-west-1.amazonaws.com/");
    assert_string_equal(ep.host, "sqs.eu-west-1.amazonaws.com");
    assert_string_equal(ep.source, "default");
    assert_int_equal(
        tycho_aws_endpoint_resolve("aps", "us-west-2", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.host, "aps-workspaces.us-west-2.amazonaws.com");
    assert_int_equal(
        tycho_aws_endpoint_resolve("dynamodb", "cn-north-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.host, "dynamodb.cn-north-1.amazonaws.com.cn");

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.host, "127.0.0.1:4566");
    assert_string_equal(ep.source, "AWS_ENDPOINT_URL");
    setenv("AWS_ENDPOINT_URL_SQS", "HTTP://LocalHost:9324/base/path", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.url, "http://localhost:9324/base/path");
    assert_string_equal(ep.path, "/base/path");
    assert_int_equal(ep.https, 0);
    /* another service still takes the global one */
    assert_int_equal(
        tycho_aws_endpoint_resolve("dynamodb", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.host, "127.0.0.1:4566");
    /* explicit beats everything */
    assert_int_equal(tycho_aws_endpoint_resolve("sqs", "eu-west-1", "https://x.example:443", NULL,
                                                &ep, err, sizeof err),
                     0);
    assert_string_equal(ep.host, "x.example");
    assert_string_equal(ep.url, "https://x.example/");
    /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.source, "default");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    /* bad URLs are reported with the variable name */
    setenv("AWS_ENDPOINT_URL_SQS", "localhost:9324", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "AWS_ENDPOINT_URL_SQS"));
    clearenv();
    assert_int_equal(tycho_aws_endpoint_resolve("sqs", NULL, NULL, NULL, &ep, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "AWS_REGION"));
    /* IPv6 literal keeps its brackets in Host */
    assert_int_equal(tycho_aws_endpoint_parse("http://[::1]:8000", &ep), 0);
    assert_string_equal(ep.host, "[::1]:8000");
    assert_int_equal(tycho_aws_endpoint_parse("http://user@host/", &ep), -EINVAL);
    assert_int_equal(tycho_aws_endpoint_parse("http://host:99999/", &ep), -EINVAL);
    /* a port without a host was taken, with host "" (URL "https:///"):
     * tests/fuzz/corpus/export_config/aws_endpoint_no_host */
    assert_int_equal(tycho_aws_endpoint_parse("HTTPS://:443", &ep), -EINVAL);
    assert_int_equal(tycho_aws_endpoint_parse("http://:8000/p", &ep), -EINVAL);
}

/* The path is signed as written: what curl would rewrite (a space, control
 * and non-ASCII bytes) or drop (a query) is refused, naming the setting;
 * percent-encoded, it is taken as is. */
static void test_endpoint_path_rules(void **state)
{
    (void)state;
    tycho_aws_endpoint_t ep;
    char err[300];
    clearenv();
    setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:18950/a b", 1);
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "AWS_ENDPOINT_URL_SQS: a space, control or non-ASCII character in an "
                             "endpoint URL (percent-encode it: %20, %C3%BC): "
                             "http://127.0.0.1:18950/a b");
    setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:18950/\xc3\xbc", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "AWS_ENDPOINT_URL_SQS: a space, control or non-ASCII"));
    setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:18950/%C3%BC", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), 0);
    assert_string_equal(ep.path, "/%C3%BC");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:18950/p?x=a%2Fb", 1);
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "AWS_ENDPOINT_URL: an endpoint URL takes no query or fragment: "
                             "http://127.0.0.1:18950/p?...");
    clearenv();
    /* a call's own endpoint: the same rules, named as the option */
    assert_int_equal(tycho_aws_endpoint_resolve("sqs", "eu-west-1", "http://h/x#frag", NULL, &ep,
                                                err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "endpoint option: an endpoint URL takes no query or fragment: "
                             "http://h/x?...");
    assert_int_equal(tycho_aws_endpoint_resolve("sqs", "eu-west-1", "http://h/a\r\nb", NULL, &ep,
                                                err, sizeof err),
                     -EINVAL);
    assert_null(strchr(err, '\n'));
    /* a service name that makes no host name is named, not the region */
    assert_int_equal(
        tycho_aws_endpoint_resolve("dyn amo", "us-east-1", NULL, NULL, &ep, err, sizeof err),
        -EINVAL);
    assert_string_equal(err, "no default endpoint for service 'dyn amo' in region us-east-1");
}

static void test_region(void **state)
{
    (void)state;
    char r[64];
    clearenv();
    assert_int_equal(tycho_aws_region(NULL, r, sizeof r), -ENOENT);
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    assert_int_equal(tycho_aws_region(NULL, r, sizeof r), 0);
    assert_string_equal(r, "eu-central-1");
    setenv("AWS_REGION", "ap-south-1", 1);
    assert_int_equal(tycho_aws_region(NULL, r, sizeof r), 0);
    assert_string_equal(r, "ap-south-1");
    clearenv();
}

static void test_region_resolve(void **state)
{
    (void)state;
    char r[64], err[200];
    clearenv();
    assert_int_equal(tycho_aws_region_resolve(NULL, NULL, r, sizeof r, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "AWS_REGION: not set"));
    assert_int_equal(tycho_aws_region_resolve("eu-west-3", NULL, r, sizeof r, err, sizeof err), 0);
    assert_string_equal(r, "eu-west-3");
    setenv("AWS_DEFAULT_REGION", "us-gov-west-1", 1);
    assert_int_equal(tycho_aws_region_resolve(NULL, NULL, r, sizeof r, err, sizeof err), 0);
    assert_string_equal(r, "us-gov-west-1");
    /* a region ends up in host names: nothing but [A-Za-z0-9-] */
    setenv("AWS_REGION", "us-east-1.evil.example/x", 1);
    assert_int_equal(tycho_aws_region_resolve(NULL, NULL, r, sizeof r, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "AWS_REGION: not a region name"));
    assert_int_equal(tycho_aws_region_resolve("eu_west_1", NULL, r, sizeof r, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "region option"));
    clearenv();
}

static void test_endpoints_check(void **state)
{
    (void)state;
    char err[200];
    tycho_aws_endpoint_t ep;
    clearenv();
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), 0);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324", 1);
    setenv("AWS_ENDPOINT_URLS", "not a setting", 1);
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), 0);
    /* any service's variable, known to tycho or not */
    setenv("AWS_ENDPOINT_URL_KINESIS", "http://user:secretpw@127.0.0.1:1", 1);
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "AWS_ENDPOINT_URL_KINESIS: user:password@ is not allowed in an "
                             "endpoint URL: http://***@127.0.0.1:1");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    assert_int_equal(tycho_aws_endpoints_check(NULL, err, sizeof err), 0);
    clearenv();
    /* resolve shows it redacted as well */
    setenv("AWS_ENDPOINT_URL", "http://u:secretpw@127.0.0.1:1", 1);
    assert_int_equal(
        tycho_aws_endpoint_resolve("sqs", "eu-west-1", NULL, NULL, &ep, err, sizeof err), -EINVAL);
    assert_null(strstr(err, "secretpw"));
    assert_non_null(strstr(err, "AWS_ENDPOINT_URL: user:password@ is not allowed"));
    clearenv();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_code),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_endpoint_precedence),
        cmocka_unit_test(test_endpoint_path_rules),
        cmocka_unit_test(test_region),
        cmocka_unit_test(test_region_resolve),
        cmocka_unit_test(test_endpoints_check),
        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_error_parse),
        cmocka_unit_test(test_server_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
