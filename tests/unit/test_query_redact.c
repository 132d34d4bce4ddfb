/* query_redact: the credentials of signed URLs leave url.query as REDACTED;
 * everything else, separators and empty parameters included, stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/query_redact.h"

#include <stdlib.h>
#include <string.h>

static void expect(const char *in, const char *want)
{
    size_t n = strlen(in), outlen;
    int needs = strcmp(in, want) != 0;
    if (tycho_query_needs_redaction(in, n) != needs)
        fail_msg("needs_redaction(%s) = %d", in, !needs);
    char *out = tycho_query_redact(in, n, &outlen);
    assert_non_null(out);
    if (strcmp(out, want) != 0) fail_msg("redact(%s)\n  = %s\n  want %s", in, out, want);
    assert_int_equal(outlen, strlen(want));
    free(out);
}

static void test_redacts_signed_url_credentials(void **state)
{
    (void)state;
    expect("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&Expires=1",
           "AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1");
    expect("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=dead"
           "&X-Amz-Security-Token=tok",
           "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"
           "&X-Amz-Security-Token=REDACTED");
    expect("sv=2020&sig=s2", "sv=2020&sig=REDACTED");
    /* RFC 6750 2.3: a bearer token sent in the query */
    expect("access_token=mF_9.B5f-4.1JqM&p=q", "access_token=REDACTED&p=q");
    expect("Access_Token=t&access%5Ftoken=u", "Access_Token=REDACTED&access%5Ftoken=REDACTED");
    expect("x-goog-signature=a&SIG=b", "x-goog-signature=REDACTED&SIG=REDACTED");
    expect("sig=", "sig=REDACTED");
    expect("&sig=1&&", "&sig=REDACTED&&");
    /* names as req.query decodes them; the name is shown as sent */
    expect("Signatur%65=abc&X-Amz-Signatur%65=d&%73ig=e",
           "Signatur%65=REDACTED&X-Amz-Signatur%65=REDACTED&%73ig=REDACTED");
    expect("%58%2D%41%4D%5A%2D%53%45%43%55%52%49%54%59%2D%54%4F%4B%45%4E=t",
           "%58%2D%41%4D%5A%2D%53%45%43%55%52%49%54%59%2D%54%4F%4B%45%4E=REDACTED");
}

static void test_leaves_the_rest(void **state)
{
    (void)state;
    expect("q=1", "q=1");
    expect("signature_count=3&sigs=2&designation=x", "signature_count=3&sigs=2&designation=x");
    expect("access_tokens=1&token=2", "access_tokens=1&token=2");
    expect("sig", "sig"); /* no value to hide */
    expect("a=Signature=1", "a=Signature=1");
    expect("Signature+=1&Signature%20=2&Signature%=3", "Signature+=1&Signature%20=2&Signature%=3");
    expect("%58%2D%41%4D%5A%2D%53%45%43%55%52%49%54%59%2D%54%4F%4B%45%4E%41=t",
           "%58%2D%41%4D%5A%2D%53%45%43%55%52%49%54%59%2D%54%4F%4B%45%4E%41=t");
    expect("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redacts_signed_url_credentials),
        cmocka_unit_test(test_leaves_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
