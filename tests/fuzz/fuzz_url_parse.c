/* libFuzzer target for the URL parser of tycho.http (http/url_parse.c).
 * Checked (abort on failure):
 *  - a URL with a space, a control byte, DEL or a NUL is refused as such
 *    (TYCHO_URL_E_BYTE), and only such a URL;
 *  - an accepted URL's parts re-joined (scheme, userinfo '@', host,
 *    ':' port, the rest) give back the URL byte for byte, and parsing
 *    that again gives the same parts;
 *  - the host is 1..TYCHO_URL_HOST_MAX bytes without '@', '/', '?', '#';
 *    a bracketed one ends at its first ']', another holds no ':'; the
 *    userinfo holds no '/', '?' or '#'; the port is its digits' value in
 *    1..65535, or the scheme's default when none is given;
 *  - what follows the authority never changes it: the URL with "/a@b:1/"
 *    or "?x@y:2" appended (or "#@z:3") parses to the same authority;
 *  - when libcurl (curl_url, what the HTTP client is given the URL to)
 *    also accepts the URL, it connects to the same port, and to the same
 *    host when that is a plain name (letters first, then letters, digits,
 *    '-' and '.': no percent-escape or number curl would rewrite).
 *
 * Input: the URL's bytes (any bytes, NUL included).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh url_parse. */
#include "http/url_parse.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "url parse"
#include "tests/fuzz/fuzz_check.h"

static int has_bad_byte(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] == 0x7f) return 1;
    return 0;
}

static int in(const char *p, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(set, p[i])) return 1;
    return 0;
}

/* The authority's parts of a and b agree (b parsed from a URL of which a's
 * authority is a prefix). */
static int same_authority(const tycho_url_t *a, const tycho_url_t *b)
{
    return a->https == b->https && a->has_userinfo == b->has_userinfo &&
           a->userinfo_at == b->userinfo_at && a->userinfo_len == b->userinfo_len &&
           a->host_at == b->host_at && a->host_len == b->host_len &&
           a->has_port_colon == b->has_port_colon && a->port_at == b->port_at &&
           a->port_len == b->port_len && a->port == b->port && a->path_at == b->path_at;
}

static int plain_name(const char *p, size_t n)
{
    if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.", p[i]))
            return 0;
    return 1;
}

static void check_parts(const char *url, size_t len, const tycho_url_t *u)
{
    const char *host = url + u->host_at;
    CHECK(u->host_len >= 1 && u->host_len <= TYCHO_URL_HOST_MAX, "host of %zu bytes", u->host_len);
    CHECK(!in(host, u->host_len, "@/?#"), "host '%.*s' holds a delimiter", (int)u->host_len, host);
    if (host[0] == '[')
        CHECK(memchr(host, ']', u->host_len) == host + u->host_len - 1,
              "bracketed host '%.*s' does not end at its first ']'", (int)u->host_len, host);
    else
        CHECK(!memchr(host, ':', u->host_len), "host '%.*s' holds a ':'", (int)u->host_len, host);
    CHECK(!in(url + u->userinfo_at, u->userinfo_len, "/?#"), "userinfo holds a delimiter");
    CHECK(u->path_at <= len && (u->path_at == len || strchr("/?#", url[u->path_at])),
          "the rest does not start with '/', '?' or '#'");
    long port = u->https ? 443 : 80;
    if (u->port_len) {
        port = 0;
        for (size_t i = 0; i < u->port_len; i++) {
            char c = url[u->port_at + i];
            CHECK(c >= '0' && c <= '9', "port '%.*s' is not digits", (int)u->port_len,
                  url + u->port_at);
            port = port > 65535 ? port : port * 10 + (c - '0');
        }
    }
    CHECK(port == u->port && port >= 1 && port <= 65535, "port %d, its text says %ld", u->port,
          port);
}

/* The parts joined again. */
static char *join(const char *url, size_t len, const tycho_url_t *u, size_t *outlen)
{
    char *j = malloc(len + 1);
    size_t n = 0;
    size_t scheme = u->https ? 8 : 7;
    memcpy(j, url, scheme), n = scheme;
    if (u->has_userinfo) {
        memcpy(j + n, url + u->userinfo_at, u->userinfo_len), n += u->userinfo_len;
        j[n++] = '@';
    }
    memcpy(j + n, url + u->host_at, u->host_len), n += u->host_len;
    if (u->has_port_colon) {
        j[n++] = ':';
        memcpy(j + n, url + u->port_at, u->port_len), n += u->port_len;
    }
    CHECK(n <= len, "the parts are longer than the URL");
    memcpy(j + n, url + u->path_at, len - u->path_at), n += len - u->path_at;
    *outlen = n;
    return j;
}

static void check_suffix(const char *url, size_t len, const tycho_url_t *u, const char *sfx)
{
    size_t m = strlen(sfx);
    char *s = malloc(len + m);
    memcpy(s, url, len);
    memcpy(s + len, sfx, m);
    tycho_url_t v;
    CHECK(tycho_url_parse(s, len + m, &v) == 0 && same_authority(u, &v),
          "appending '%s' changed the authority of '%.*s'", sfx, (int)len, url);
    free(s);
}

static void check_curl(const char *url, size_t len, const tycho_url_t *u)
{
    char *z = malloc(len + 1);
    memcpy(z, url, len);
    z[len] = '\0';
    CURLU *cu = curl_url();
    CHECK(cu, "curl_url: out of memory");
    char *cport = NULL, *chost = NULL;
    if (curl_url_set(cu, CURLUPART_URL, z, 0) == CURLUE_OK &&
        curl_url_get(cu, CURLUPART_PORT, &cport, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_get(cu, CURLUPART_HOST, &chost, 0) == CURLUE_OK) {
        CHECK(atoi(cport) == u->port, "'%s': curl connects to port %s, tycho says %d", z, cport,
              u->port);
        if (plain_name(url + u->host_at, u->host_len))
            CHECK(strlen(chost) == u->host_len &&
                      strncasecmp(chost, url + u->host_at, u->host_len) == 0,
                  "'%s': curl connects to host '%s', tycho says '%.*s'", z, chost, (int)u->host_len,
                  url + u->host_at);
    }
    curl_free(cport);
    curl_free(chost);
    curl_url_cleanup(cu);
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly the input's size, so ASan sees any read past it */
    char *url = malloc(size ? size : 1);
    memcpy(url, data, size);
    tycho_url_t u;
    int rc = tycho_url_parse(url, size, &u);
    CHECK(rc == 0 || rc == TYCHO_URL_E_BAD || rc == TYCHO_URL_E_PORT || rc == TYCHO_URL_E_BYTE,
          "unknown code %d", rc);
    CHECK((rc == TYCHO_URL_E_BYTE) == has_bad_byte(data, size), "E_BYTE is %d for a URL that %s",
          rc == TYCHO_URL_E_BYTE, has_bad_byte(data, size) ? "has one" : "has none");
    CHECK(tycho_url_strerror(rc) != NULL, "no message for %d", rc);
    if (rc == 0) {
        check_parts(url, size, &u);
        size_t jn;
        char *j = join(url, size, &u, &jn);
        CHECK(jn == size && memcmp(j, url, size) == 0, "re-joined '%.*s' as '%.*s'", (int)size, url,
              (int)jn, j);
        tycho_url_t v;
        CHECK(tycho_url_parse(j, jn, &v) == 0 && same_authority(&u, &v),
              "the re-joined URL parses otherwise");
        free(j);
        if (u.path_at == size) check_suffix(url, size, &u, "/a@b:1/");
        check_suffix(url, size, &u, "?x@y:2");
        check_suffix(url, size, &u, "#@z:3");
        check_curl(url, size, &u);
    }
    free(url);
    return 0;
}
