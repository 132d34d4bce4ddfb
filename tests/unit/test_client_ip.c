/* Unit tests of the client address (server/http/client_ip.c): the socket
 * peer, bounded to TYCHO_CLIENT_IP_MAX - 1 characters; X-Forwarded-For only
 * when the peer is a trusted proxy, read from the right, stopping at the
 * first untrusted address, ignored when an entry is not an IP address. And
 * the client's scheme: X-Forwarded-Proto's last entry from a trusted proxy,
 * else http; its host: X-Forwarded-Host's last entry from a trusted proxy
 * when it is a valid host[:port], else Host. A field sent as several lines
 * is one list, the lines in order. */
#include "core/config.h"
#include "http/client_ip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* A request from peer with one header name: value (none when value is NULL). */
static tycho_request_t req_header(const char *peer, const char *name, const char *value,
                                  tycho_header_t *h)
{
    tycho_request_t r;
    memset(&r, 0, sizeof r);
    r.peer_ip = peer;
    if (value) {
        h->name = (tycho_slice_t){name, strlen(name)};
        h->value = (tycho_slice_t){value, strlen(value)};
        r.headers = h;
        r.nheaders = 1;
    }
    return r;
}

static tycho_request_t req_with(const char *peer, const char *xff, tycho_header_t *h)
{
    return req_header(peer, "x-forwarded-for", xff, h);
}

static void trusted(tycho_config_t *cfg, const char *cidrs)
{
    char err[256];
    tycho_config_defaults(cfg);
    if (cidrs) assert_int_equal(tycho_config_parse_cidrs(cidrs, cfg, err, sizeof err), 0);
}

static void peer_without_proxies(void **state)
{
    (void)state;
    tycho_config_t cfg;
    trusted(&cfg, NULL);
    tycho_header_t h;
    char out[TYCHO_CLIENT_IP_MAX];
    tycho_request_t r = req_with("192.0.2.7", "203.0.113.9", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "192.0.2.7"); /* XFF not believed */
    tycho_client_ip(NULL, &r, out);
    assert_string_equal(out, "192.0.2.7");
    r.peer_ip = NULL;
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "");
}

static void long_peer_is_truncated(void **state)
{
    (void)state;
    char peer[200];
    memset(peer, 'a', sizeof peer - 1);
    peer[sizeof peer - 1] = '\0';
    tycho_header_t h;
    tycho_request_t r = req_with(peer, NULL, &h);
    char out[TYCHO_CLIENT_IP_MAX];
    tycho_client_ip(NULL, &r, out);
    assert_int_equal(strlen(out), TYCHO_CLIENT_IP_MAX - 1);
    assert_memory_equal(out, peer, TYCHO_CLIENT_IP_MAX - 1);
}

static void forwarded_through_trusted_proxies(void **state)
{
    (void)state;
    tycho_config_t cfg;
    trusted(&cfg, "10.0.0.0/8, ::1");
    tycho_header_t h;
    char out[TYCHO_CLIENT_IP_MAX];
    /* rightmost untrusted entry wins; the forged leftmost one is not read */
    tycho_request_t r = req_with("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "203.0.113.9");
    /* every hop trusted: the leftmost */
    r = req_with("::1", " 10.0.0.5 ,10.0.0.6", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "10.0.0.5");
    /* a peer outside the trusted ranges: its XFF is ignored */
    r = req_with("198.51.100.1", "203.0.113.9", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "198.51.100.1");
    /* garbage stops the walk at the last good address */
    r = req_with("10.1.2.3", "203.0.113.9, not-an-ip", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "10.1.2.3");
    r = req_with("10.1.2.3", "garbage, 203.0.113.9", &h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "203.0.113.9");
}

static void scheme_from_trusted_proxy(void **state)
{
    (void)state;
    tycho_config_t cfg;
    trusted(&cfg, "10.0.0.0/8");
    tycho_header_t h;
    tycho_request_t r = req_header("10.1.2.3", "x-forwarded-proto", "https", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "https");
    /* the last entry is the nearest proxy's; case and blanks do not matter */
    r = req_header("10.1.2.3", "x-forwarded-proto", " http , HTTPS ", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "https");
    r = req_header("10.1.2.3", "x-forwarded-proto", "https, http", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    /* anything else is http, as tycho serves it */
    r = req_header("10.1.2.3", "x-forwarded-proto", "httpsx", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    r = req_header("10.1.2.3", "x-forwarded-proto", NULL, &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    /* an untrusted peer, or no trusted proxies at all: not believed */
    r = req_header("198.51.100.1", "x-forwarded-proto", "https", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    trusted(&cfg, NULL);
    r = req_header("10.1.2.3", "x-forwarded-proto", "https", &h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    assert_string_equal(tycho_client_scheme(NULL, &r), "http");
}

/* Two headers: Host and one more (either NULL: absent). */
static tycho_request_t req_hosts(const char *peer, const char *host, const char *fwd,
                                 tycho_header_t h[2])
{
    tycho_request_t r = req_header(peer, "host", host, &h[0]);
    if (fwd) {
        h[r.nheaders] = (tycho_header_t){{"x-forwarded-host", 16}, {fwd, strlen(fwd)}};
        r.headers = h;
        r.nheaders++;
    }
    return r;
}

static void expect_host(tycho_config_t *cfg, const tycho_request_t *r, const char *want)
{
    tycho_slice_t got = tycho_client_host(cfg, r);
    assert_int_equal(got.n, strlen(want));
    assert_memory_equal(got.p, want, got.n);
}

static void host_from_trusted_proxy(void **state)
{
    (void)state;
    tycho_config_t cfg;
    trusted(&cfg, "10.0.0.0/8");
    tycho_header_t h[2];
    tycho_request_t r = req_hosts("10.1.2.3", "internal:8080", "api.example.com", h);
    expect_host(&cfg, &r, "api.example.com");
    /* the last entry is the nearest proxy's; blanks do not matter */
    r = req_hosts("10.1.2.3", "internal", "forged.example , api.example.com:8443 ", h);
    expect_host(&cfg, &r, "api.example.com:8443");
    /* an empty last entry, or none: Host */
    r = req_hosts("10.1.2.3", "internal:8080", "edge, ", h);
    expect_host(&cfg, &r, "internal:8080");
    /* a last entry that is no host[:port] (tycho_host_valid, as Host is
     * checked): ignored, Host */
    const char *invalid[] = {"api.example.com/x", "a b",   "h:8o",   "[::1",
                             "evil\"<x>",         "\x01h", "h:80:90"};
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        r = req_hosts("10.1.2.3", "internal:8080", invalid[i], h);
        expect_host(&cfg, &r, "internal:8080");
    }
    r = req_hosts("10.1.2.3", "internal", "[2001:db8::1]:8443", h);
    expect_host(&cfg, &r, "[2001:db8::1]:8443");
    r = req_hosts("10.1.2.3", "internal:8080", NULL, h);
    expect_host(&cfg, &r, "internal:8080");
    /* an untrusted peer, or no trusted proxies at all: Host */
    r = req_hosts("198.51.100.1", "internal", "forged.example", h);
    expect_host(&cfg, &r, "internal");
    trusted(&cfg, NULL);
    r = req_hosts("10.1.2.3", "internal", "api.example.com", h);
    expect_host(&cfg, &r, "internal");
    expect_host(NULL, &r, "internal");
    /* neither header: empty */
    r = req_hosts("10.1.2.3", NULL, NULL, h);
    expect_host(&cfg, &r, "");
}

/* A request from peer with the field name sent as lines values[0], values[2],
 * ... (values[1] is the value of an Accept field between them). */
static tycho_request_t req_lines(const char *peer, const char *name, const char *const *values,
                                 size_t n, tycho_header_t *h)
{
    tycho_request_t r = req_header(peer, name, NULL, h);
    for (size_t i = 0; i < n; i++) {
        h[i] = (tycho_header_t){{name, strlen(name)}, {values[i], strlen(values[i])}};
        if (i == 1) h[i].name = (tycho_slice_t){"Accept", 6};
    }
    r.headers = h;
    r.nheaders = n;
    return r;
}

/* A proxy that appends its own line (HAProxy's option forwardfor) after the
 * client's: the lines are one list, read from the right as one line is. */
static void field_lines_are_one_list(void **state)
{
    (void)state;
    tycho_config_t cfg;
    trusted(&cfg, "127.0.0.1/32, 10.0.0.0/8");
    tycho_header_t h[4];
    char out[TYCHO_CLIENT_IP_MAX];
    const char *forged[] = {"6.6.6.6", "", "9.9.9.9"};
    tycho_request_t r = req_lines("127.0.0.1", "X-Forwarded-For", forged, 3, h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "9.9.9.9");
    /* trusted hops across lines: the walk goes on into the earlier line */
    const char *hops[] = {"6.6.6.6, 203.0.113.9", "", "10.0.0.2", "10.0.0.1"};
    r = req_lines("127.0.0.1", "X-Forwarded-For", hops, 4, h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "203.0.113.9");
    const char *all_trusted[] = {"10.0.0.3", "", "10.0.0.2"};
    r = req_lines("127.0.0.1", "X-Forwarded-For", all_trusted, 3, h);
    tycho_client_ip(&cfg, &r, out);
    assert_string_equal(out, "10.0.0.3");
    /* scheme and host: the last line's last entry, the nearest proxy's */
    const char *proto[] = {"https", "", "http"};
    r = req_lines("127.0.0.1", "X-Forwarded-Proto", proto, 3, h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "http");
    const char *proto_ok[] = {"http", "", "https"};
    r = req_lines("127.0.0.1", "X-Forwarded-Proto", proto_ok, 3, h);
    assert_string_equal(tycho_client_scheme(&cfg, &r), "https");
    const char *hosts[] = {"forged.example", "", "api.example.com"};
    r = req_lines("127.0.0.1", "X-Forwarded-Host", hosts, 3, h);
    expect_host(&cfg, &r, "api.example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_without_proxies),
        cmocka_unit_test(long_peer_is_truncated),
        cmocka_unit_test(forwarded_through_trusted_proxies),
        cmocka_unit_test(scheme_from_trusted_proxy),
        cmocka_unit_test(host_from_trusted_proxy),
        cmocka_unit_test(field_lines_are_one_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
