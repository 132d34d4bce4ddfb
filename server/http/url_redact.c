#include "http/url_redact.h"

#include <stdio.h>
#include <string.h>

/* After "scheme://" (RFC 3986 scheme characters only, so that a "://" in
 * a query is not taken for it), else NULL. */
static const char *after_scheme(const char *url)
{
    size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return n && strncmp(url + n, "://", 3) == 0 ? url + n + 3 : NULL;
}

int tycho_url_redact(const char *url, char *out, size_t n)
{
    const char *auth = after_scheme(url);
    /* Without a scheme (a mistyped one too: "http:/user:pw@host/") the
     * authority could end at any '/': it is taken to run up to the query,
     * so that a password before a '@' never shows. */
    size_t alen = auth ? strcspn(auth, "/?#") : strcspn(url, "?#");
    if (!auth) auth = url;
    const char *host = auth;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@') host = c + 1;
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#");
    snprintf(out, n, "%.*s%s%.*s%.*s%s", (int)(auth - url), url, host != auth ? "***@" : "",
             (int)(path - host), host, (int)plen, path, path[plen] ? "?..." : "");
    return host != auth;
}
