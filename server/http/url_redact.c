#include "http/url_redact.h"

#include <stdio.h>
#include <arpa/inet.h>
#include <string.h>

/* After "scheme://" (RFC 3986 scheme characters only, so that a "://" in
 * a query is not taken for it), else NULL. */
static const char *after_scheme(const char *url)
{
    size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return n && strncmp(url + n, "://", 3) == 0 ? url + n + 3 : NULL;
}

/* The last '@' in [s, end), else NULL. */
static const char *last_at(const char *s, const char *end)
{
    const char *at = NULL;
    for (const char *c = s; c < end; c++)
        if (*c == '@') at = c;
    return at;
}

/* Whether the m bytes at h read as host[:port] (a port of digits only, an
 * IPv6 literal in brackets). */
static int is_host_port(const char *h, size_t m)
{
    const char *end = h + m;
    const char *p = m && *h == '[' ? memchr(h, ']', m) : memchr(h, ':', m);
    if (!p) return *h != '[';
    /* a bracketed host is an IPv6 address, with a zone ("%25eth0") or not:
     * a password holding "@[" and "]/" ("u:a@[x]/c@host") is none, and its
     * end must not show */
    if (*p == ']') {
        char lit[INET6_ADDRSTRLEN];
        unsigned char addr[16];
        size_t ln = strcspn(h + 1, "%]");
        if (ln >= sizeof lit) return 0;
        memcpy(lit, h + 1, ln);
        lit[ln] = '\0';
        if (inet_pton(AF_INET6, lit, addr) != 1) return 0;
        p++;
    }
    if (p == end) return 1;
    if (*p != ':') return 0;
    for (p++; p < end; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* Where url's host starts: past the userinfo's '@', else the authority's
 * start (after "scheme://", or url itself), which goes in *auth. */
static const char *find_host(const char *url, const char **auth_out)
{
    const char *auth = after_scheme(url);
    /* Without a scheme (a mistyped one too: "http:/user:pw@host/") the
     * authority could end at any '/': it is taken to run up to the query,
     * so that a password before a '@' never shows. */
    size_t alen = auth ? strcspn(auth, "/?#") : strcspn(url, "?#");
    if (!auth) auth = url;
    const char *at = last_at(auth, auth + alen);
    const char *host = at ? at + 1 : auth;
    /* A password holding '/', '?' or '#' (an AWS secret key, base64) ends
     * the authority early, leaving a host:port that is none ("u:pa" of
     * "http://u:pa/ss@host/"): the userinfo then runs to the URL's last
     * '@', which hides more than it must in such a URL, never too little. */
    if (!is_host_port(host, strcspn(host, "/?#")) && (at = last_at(host, host + strlen(host))))
        host = at + 1;
    /* A password holding '/' after digits only ("http://u:12/34@host/")
     * leaves an authority that is a host:port ("u:12"; so curl_url reads
     * it, the rest being the path): when the path, before any query or
     * fragment, holds an '@' and a ':' stands before it (a host that is an
     * IPv6 literal aside), the userinfo runs to that '@'. That takes in a
     * password holding '@' and '/' ("u:a@b/c@host"). A path holding an '@'
     * after a port ("http://h:80/u/a@b") is hidden too: more than needed,
     * never a password. Before a host that is an IPv6 literal the ':' must
     * stand in a userinfo (the literal has its own): a password holding
     * "@[::1]/" ("u:pw@[::1]/x@host") must not show its end either. */
    else if (auth != url && (at = last_at(auth + alen, auth + strcspn(auth, "?#"))) &&
             (*host != '[' ? memchr(auth, ':', (size_t)(at - auth)) != NULL
                           : host != auth && memchr(auth, ':', (size_t)(host - 1 - auth)) != NULL))
        host = at + 1;
    *auth_out = auth;
    return host;
}

const char *tycho_url_userinfo(const char *url, size_t *len)
{
    const char *auth, *host = find_host(url, &auth);
    if (host == auth) return NULL;
    *len = (size_t)(host - 1 - auth);
    return auth;
}

int tycho_url_redact(const char *url, char *out, size_t n)
{
    const char *auth, *host = find_host(url, &auth);
    const char *path = host + strcspn(host, "/?#");
    size_t plen = strcspn(path, "?#");
    snprintf(out, n, "%.*s%s%.*s%.*s%s", (int)(auth - url), url, host != auth ? "***@" : "",
             (int)(path - host), host, (int)plen, path, path[plen] ? "?..." : "");
    return host != auth;
}

size_t tycho_url_host_len(const char *s, size_t n)
{
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        return close ? (size_t)(close + 1 - s) : 0;
    }
    size_t i = 0;
    while (i < n && !strchr(":/?#", s[i]))
        i++;
    return i;
}
