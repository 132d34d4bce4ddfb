/* Unit tests of response serialisation (server/http/response_head.c) and the
 * response helpers (server/http/exchange.c): framing per RFC 9112 6.3 (HEAD,
 * 1xx, 204, 205, 304 carry no body), Connection handling, engine-owned headers. */
#include "http/date.h"
#include "http/exchange.h"
#include "http/response_head.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static tycho_request_t req_of(const char *method, int minor, const char *id)
{
    tycho_request_t r = {0};
    r.method = (tycho_slice_t){method, strlen(method)};
    r.http_minor = minor;
    r.request_id = id;
    return r;
}

/* Serialises and returns the head (static storage, one at a time). */
static const char *head(int status, const char *body, const char *method, int minor, int keep_alive,
                        int *send_body)
{
    static tycho_buf_t out;
    tycho_buf_free(&out);
    tycho_response_t res = {0};
    tycho_response_reset(&res);
    res.status = status;
    tycho_response_set_body(&res, body, strlen(body));
    tycho_request_t req = req_of(method, minor, "rid-1");
    assert_int_equal(tycho_response_head(&out, &res, &req, keep_alive, send_body), 0);
    tycho_response_free(&res);
    /* one blank line, at the end */
    assert_true(out.len >= 4);
    assert_memory_equal(out.data + out.len - 4, "\r\n\r\n", 4);
    assert_ptr_equal(strstr(out.data, "\r\n\r\n"), out.data + out.len - 4);
    return out.data;
}

static void test_framing(void **state)
{
    (void)state;
    int sb;
    const char *h = head(200, "hello", "GET", 1, 1, &sb);
    assert_int_equal(sb, 1);
    assert_non_null(strstr(h, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(h, "\r\nContent-Length: 5\r\n"));
    assert_null(strstr(h, "Connection:"));
    assert_non_null(strstr(h, "\r\nServer: tycho\r\n"));
    assert_non_null(strstr(h, "\r\nX-Request-Id: rid-1\r\n"));
    const char *date = strstr(h, "\r\nDate: ");
    assert_non_null(date);
    assert_int_equal(strcspn(date + 8, "\r"), TYCHO_HTTP_DATE_LEN);
    assert_memory_equal(date + 8 + TYCHO_HTTP_DATE_LEN - 4, " GMT", 4);

    h = head(200, "", "GET", 1, 1, &sb);
    assert_non_null(strstr(h, "\r\nContent-Length: 0\r\n"));

    /* HEAD: the GET's Content-Length, no body */
    h = head(200, "hello", "HEAD", 1, 1, &sb);
    assert_int_equal(sb, 0);
    assert_non_null(strstr(h, "\r\nContent-Length: 5\r\n"));

    /* 1xx, 204, 304: no Content-Length, no body, even when the handler set one */
    static const int bodiless[] = {100, 101, 103, 204, 304};
    for (size_t i = 0; i < sizeof bodiless / sizeof *bodiless; i++) {
        h = head(bodiless[i], "ignored", "GET", 1, 1, &sb);
        assert_int_equal(sb, 0);
        assert_null(strstr(h, "Content-Length"));
        assert_null(strstr(h, "Transfer-Encoding"));
    }
    h = head(304, "x", "HEAD", 1, 1, &sb);
    assert_int_equal(sb, 0);
    /* 205: no content either, but Content-Length: 0 (RFC 9110 15.3.6) */
    h = head(205, "ignored", "GET", 1, 1, &sb);
    assert_int_equal(sb, 0);
    assert_non_null(strstr(h, "\r\nContent-Length: 0\r\n"));
    /* other statuses keep theirs */
    h = head(404, "nf", "POST", 1, 1, &sb);
    assert_int_equal(sb, 1);
    assert_non_null(strstr(h, "HTTP/1.1 404 Not Found\r\n"));
}

/* A HEAD route's answer: the length its handler stated, or none at all */
static void test_head_route_length(void **state)
{
    (void)state;
    tycho_buf_t out = {0};
    tycho_response_t res = {0};
    tycho_response_reset(&res);
    tycho_request_t req = req_of("HEAD", 1, "rid-1");
    int sb;
    res.length = TYCHO_LENGTH_NONE;
    assert_int_equal(tycho_response_head(&out, &res, &req, 1, &sb), 0);
    assert_int_equal(sb, 0);
    assert_null(strstr(out.data, "Content-Length"));
    tycho_buf_reset(&out);
    res.length = TYCHO_LENGTH_STATED;
    res.stated_length = 12345678901234ULL;
    assert_int_equal(tycho_response_head(&out, &res, &req, 1, &sb), 0);
    assert_non_null(strstr(out.data, "\r\nContent-Length: 12345678901234\r\n"));
    tycho_buf_free(&out);
    tycho_response_free(&res);
}

static void test_connection(void **state)
{
    (void)state;
    int sb;
    assert_non_null(strstr(head(200, "", "GET", 1, 0, &sb), "\r\nConnection: close\r\n"));
    assert_null(strstr(head(200, "", "GET", 1, 1, &sb), "Connection"));
    /* HTTP/1.0 keep-alive must be announced; close stays explicit */
    assert_non_null(strstr(head(200, "", "GET", 0, 1, &sb), "\r\nConnection: keep-alive\r\n"));
    assert_non_null(strstr(head(200, "", "GET", 0, 0, &sb), "\r\nConnection: close\r\n"));
    /* the version is always HTTP/1.1 (RFC 9110 2.5) */
    assert_int_equal(strncmp(head(200, "", "GET", 0, 0, &sb), "HTTP/1.1 ", 9), 0);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(tycho_http_reason(413), "Content Too Large");
    assert_string_equal(tycho_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(tycho_http_reason(505), "HTTP Version Not Supported");
    /* the IANA registry's, including those handlers commonly return */
    assert_string_equal(tycho_http_reason(203), "Non-Authoritative Information");
    assert_string_equal(tycho_http_reason(205), "Reset Content");
    assert_string_equal(tycho_http_reason(207), "Multi-Status");
    assert_string_equal(tycho_http_reason(402), "Payment Required");
    assert_string_equal(tycho_http_reason(406), "Not Acceptable");
    assert_string_equal(tycho_http_reason(423), "Locked");
    assert_string_equal(tycho_http_reason(428), "Precondition Required");
    assert_string_equal(tycho_http_reason(451), "Unavailable For Legal Reasons");
    assert_string_equal(tycho_http_reason(507), "Insufficient Storage");
    assert_string_equal(tycho_http_reason(511), "Network Authentication Required");
    /* unregistered, or registered as "(Unused)": an empty reason phrase */
    assert_string_equal(tycho_http_reason(418), "");
    assert_string_equal(tycho_http_reason(306), "");
    assert_string_equal(tycho_http_reason(299), "");
    int sb;
    /* an unregistered status still gets a well-formed status line (RFC 9112 4:
     * status-code SP, then an empty reason-phrase) */
    assert_int_equal(strncmp(head(599, "", "GET", 1, 1, &sb), "HTTP/1.1 599 \r\n", 15), 0);
}

static void test_handler_headers(void **state)
{
    (void)state;
    tycho_response_t res = {0};
    tycho_response_reset(&res);
    const char *why = NULL;
    assert_int_equal(tycho_response_add_header(&res, "X-A", 3, "1", 1, &why), 0);
    assert_int_equal(tycho_response_add_header(&res, "Set-Cookie", 10, "a=b; Path=/", 11, &why), 0);
    assert_int_equal(tycho_response_add_header(&res, "Set-Cookie", 10, "c=d", 3, &why), 0);
    assert_int_equal(tycho_response_add_header(&res, "X-Empty", 7, "", 0, &why), 0);
    assert_int_equal(res.has_content_type, 0);
    assert_int_equal(tycho_response_add_header(&res, "content-type", 12, "text/x", 6, &why), 0);
    assert_int_equal(res.has_content_type, 1);
    /* refused: bad names, CR/LF/NUL in values, headers the engine writes,
     * hop-by-hop headers */
    static const char *const bad_names[] = {"", "A B", "A:B", "A\r", "\xc3\xa9", "A\"", "(x)"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        assert_int_equal(
            tycho_response_add_header(&res, bad_names[i], strlen(bad_names[i]), "v", 1, &why),
            -EINVAL);
    static const char bad_values[][8] = {"a\rb", "a\nb", "\r\nX: 1"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(
            tycho_response_add_header(&res, "X", 1, bad_values[i], strlen(bad_values[i]), &why),
            -EINVAL);
    assert_int_equal(tycho_response_add_header(&res, "X", 1, "a\0b", 3, &why), -EINVAL);
    static const char *const owned[] = {
        "Content-Length",  "transfer-encoding", "CONNECTION", "Date", "Server",
        "X-Request-Id",    "Keep-Alive",        "upgrade",    "TE",   "Trailer",
        "Proxy-Connection"};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) {
        assert_int_equal(tycho_response_add_header(&res, owned[i], strlen(owned[i]), "1", 1, &why),
                         -EINVAL);
        assert_non_null(why);
    }
    res.status = 201;
    tycho_response_set_body(&res, "{}", 2);
    tycho_buf_t out = TYCHO_BUF_INIT;
    tycho_request_t req = req_of("POST", 1, NULL);
    int sb;
    assert_int_equal(tycho_response_head(&out, &res, &req, 1, &sb), 0);
    assert_non_null(strstr(out.data, "\r\nX-A: 1\r\nSet-Cookie: a=b; Path=/\r\nSet-Cookie: c=d\r\n"
                                     "X-Empty: \r\ncontent-type: text/x\r\n\r\n"));
    assert_null(strstr(out.data, "X-Request-Id")); /* none without an id */
    assert_null(strstr(out.data, "\r\nX: "));
    tycho_buf_free(&out);
    tycho_response_free(&res);
}

/* The server's own Content-Type (the default of a Lua answer): the same line
 * tycho_response_add_header would write, after any handler headers. */
static void test_own_content_type(void **state)
{
    (void)state;
    tycho_response_t res = {0}, ref = {0};
    tycho_response_reset(&res);
    tycho_response_reset(&ref);
    assert_int_equal(tycho_response_add_header(&res, "X-A", 3, "1", 1, NULL), 0);
    assert_int_equal(tycho_response_add_header(&ref, "X-A", 3, "1", 1, NULL), 0);
    assert_int_equal(tycho_response_add_own_content_type(&res, "application/json", 16), 0);
    assert_int_equal(
        tycho_response_add_header(&ref, "Content-Type", 12, "application/json", 16, NULL), 0);
    assert_int_equal(res.has_content_type, 1);
    assert_int_equal(res.header.len, ref.header.len);
    assert_string_equal(res.header.data, ref.header.data);
    assert_string_equal(res.header.data, "X-A: 1\r\nContent-Type: application/json\r\n");
    /* on an empty header buffer too (the usual case) */
    tycho_response_reset(&res);
    assert_int_equal(tycho_response_add_own_content_type(&res, "text/plain; charset=utf-8", 25), 0);
    assert_string_equal(res.header.data, "Content-Type: text/plain; charset=utf-8\r\n");
    tycho_response_free(&res);
    tycho_response_free(&ref);
}

static void test_error_body(void **state)
{
    (void)state;
    tycho_response_t res = {0};
    tycho_response_reset(&res);
    tycho_response_add_header(&res, "X-Old", 5, "1", 1, NULL);
    assert_int_equal(tycho_response_set_error(&res, 413, "body \"too\" large\n", "id\\1"), 0);
    assert_int_equal(res.status, 413);
    assert_string_equal(res.body.data,
                        "{\"error\":\"body \\\"too\\\" large\\n\",\"request_id\":\"id\\\\1\"}");
    assert_null(strstr(res.header.data, "X-Old")); /* an error replaces the handler's headers */
    assert_non_null(strstr(res.header.data, "Content-Type: application/json\r\n"));
    assert_int_equal(tycho_response_set_error(&res, 400, "bad", NULL), 0);
    assert_string_equal(res.body.data, "{\"error\":\"bad\"}");
    tycho_response_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),           cmocka_unit_test(test_connection),
        cmocka_unit_test(test_reasons),           cmocka_unit_test(test_handler_headers),
        cmocka_unit_test(test_error_body),        cmocka_unit_test(test_own_content_type),
        cmocka_unit_test(test_head_route_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
