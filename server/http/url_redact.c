#include "http/url_redact.h"

#include <stdio.h>
#include <string.h>

int tycho_url_redact(const char *url, char *out, size_t n)
{
    const char *scheme_end = strstr(url, "://");
    const char *auth = scheme_end ? scheme_end + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@') host = c + 1;
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#");
    snprintf(out, n, "%.*s%s%.*s%.*s%s", (int)(auth - url), url, host != auth ? "***@" : "",
             (int)(path - host), host, (int)plen, path, path[plen] ? "?..." : "");
    return host != auth;
}
