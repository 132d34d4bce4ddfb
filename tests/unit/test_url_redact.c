/* Unit tests of server/http/url_redact.c: a URL as messages may show it. */
#include "http/url_redact.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void test_url_redact(void **state)
{
    (void)state;
    char out[200];
    assert_int_equal(tycho_url_redact("http://user:pw@127.0.0.1:1", out, sizeof out), 1);
    assert_string_equal(out, "http://***@127.0.0.1:1");
    /* Found by fuzz_export_config (seed password_with_bracketed_at): a
     * password holding "@[", "]" and "/" left "[x]" for an IPv6 literal,
     * so "[x]/c" of the password showed */
    assert_int_equal(tycho_url_redact("http://u:a@[x]/c@host/p", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/p");
    assert_int_equal(tycho_url_redact("http://u:a@[bad]/c@host/p", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/p");
    assert_int_equal(tycho_url_redact("http://u:pw@[::1]:4318/v1", out, sizeof out), 1);
    assert_string_equal(out, "http://***@[::1]:4318/v1");
    assert_int_equal(tycho_url_redact("http://u:pw@[fe80::1%25eth0]/v1", out, sizeof out), 1);
    assert_string_equal(out, "http://***@[fe80::1%25eth0]/v1");
    assert_int_equal(tycho_url_redact("https://a@b@host/p?token=pw#f", out, sizeof out), 1);
    assert_string_equal(out, "https://***@host/p?...");
    /* an '@' in the path after a port: it could end a password holding a
     * '/' (below), so all before it is hidden */
    assert_int_equal(tycho_url_redact("http://host:80/p/a@b", out, sizeof out), 1);
    assert_string_equal(out, "http://***@b");
    /* without a ':' before it, an '@' in the path is the path's */
    assert_int_equal(tycho_url_redact("http://host/p/a@b", out, sizeof out), 0);
    assert_string_equal(out, "http://host/p/a@b");
    assert_int_equal(tycho_url_redact("localhost:9324", out, sizeof out), 0);
    assert_string_equal(out, "localhost:9324");
    assert_int_equal(tycho_url_redact("htps://user:HUNTER2@prom/api/v1/write", out, sizeof out), 1);
    assert_string_equal(out, "htps://***@prom/api/v1/write");
    assert_int_equal(tycho_url_redact("grpc://c:4317/v1/traces?api_key=TOP", out, sizeof out), 0);
    assert_string_equal(out, "grpc://c:4317/v1/traces?...");
    /* a mistyped scheme: the password is hidden all the same */
    assert_int_equal(tycho_url_redact("http:/user:pw@host/x", out, sizeof out), 1);
    assert_string_equal(out, "***@host/x");
    assert_int_equal(tycho_url_redact("http//user:pw@host/x?q=1", out, sizeof out), 1);
    assert_string_equal(out, "***@host/x?...");
    /* a "://" in the query is no scheme */
    assert_int_equal(tycho_url_redact("u:pw@host/x?next=http://y", out, sizeof out), 1);
    assert_string_equal(out, "***@host/x?...");
    /* a password holding '/', '?' or '#' (an AWS secret key, base64): the
     * authority it cuts short is no host[:port], and all of it is hidden */
    assert_int_equal(tycho_url_redact("http://u:PA/SS@127.0.0.1:1/x", out, sizeof out), 1);
    assert_string_equal(out, "http://***@127.0.0.1:1/x");
    assert_int_equal(tycho_url_redact("http://u:PA?SS@host/x?q=1", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/x?...");
    assert_int_equal(tycho_url_redact("https://u:PA#SS@host", out, sizeof out), 1);
    assert_string_equal(out, "https://***@host");
    assert_int_equal(tycho_url_redact("u:PA?SS@host", out, sizeof out), 1);
    assert_string_equal(out, "***@host");
    /* a password of digits, '/' and more digits: "u:12" is a host:port to
     * RFC 3986 and curl_url (host u, port 12, path "/34@host/"), yet "12/34"
     * never shows; nor when the path goes on, nor with a query after it */
    assert_int_equal(tycho_url_redact("http://u:12/34@host/", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/");
    size_t ul = 0;
    const char *ui = tycho_url_userinfo("http://u:12/34@host/", &ul);
    assert_non_null(ui);
    assert_int_equal(ul, 7);
    assert_memory_equal(ui, "u:12/34", 7);
    assert_int_equal(tycho_url_redact("https://u:1/2/3@host:8443/x/y?q=a@b#c@d", out, sizeof out),
                     1);
    assert_string_equal(out, "https://***@host:8443/x/y?...");
    /* a password holding '@' and '/': curl reads user u, password a, host b */
    assert_int_equal(tycho_url_redact("http://u:a@b/c@host/", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/");
    /* a userinfo without ':' (no password) keeps the path's '@' */
    assert_int_equal(tycho_url_redact("http://user@host/a@b", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/a@b");
    /* an '@' only in the query or fragment is not taken: those are hidden */
    assert_int_equal(tycho_url_redact("http://host:80/p?email=a@b", out, sizeof out), 0);
    assert_string_equal(out, "http://host:80/p?...");
    /* an IPv6 literal: an '@' after it is in the path */
    assert_int_equal(tycho_url_redact("http://[::1]:8080/p/a@b", out, sizeof out), 0);
    assert_string_equal(out, "http://[::1]:8080/p/a@b");
    assert_int_equal(tycho_url_redact("http://[::1]/@b?x", out, sizeof out), 0);
    assert_string_equal(out, "http://[::1]/@b?...");
    /* ... unless a userinfo with a password comes before it: the password
     * may hold "@[::0]/" (found by fuzz_export_config), so its end is hidden */
    assert_int_equal(tycho_url_redact("http://u:pw@[::0]/more@host/p", out, sizeof out), 1);
    assert_string_equal(out, "http://***@host/p");
    assert_int_equal(tycho_url_redact("http://u@[::1]/a@b", out, sizeof out), 1);
    assert_string_equal(out, "http://***@[::1]/a@b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
