#include "http/url_parse.h"

#include "http/url_redact.h"

#include <string.h>
#include <strings.h>

/* The port in [p, p + n): 0 with *port, or TYCHO_URL_E_BAD (not digits) /
 * TYCHO_URL_E_PORT. Empty leaves *port (the scheme's default, as curl has
 * it). */
static int parse_port(const char *p, size_t n, int *port)
{
    long v = 0;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return TYCHO_URL_E_BAD;
        if ((v = v * 10 + (p[i] - '0')) > 65535) return TYCHO_URL_E_PORT;
    }
    if (v == 0) return TYCHO_URL_E_PORT;
    *port = (int)v;
    return 0;
}

static int has_prefix(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n >= m && strncasecmp(s, lit, m) == 0;
}

int tycho_url_parse(const char *url, size_t len, tycho_url_t *out)
{
    /* a NUL would cut the URL curl is given short */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) return TYCHO_URL_E_BYTE;
    memset(out, 0, sizeof *out);
    size_t at;
    if (has_prefix(url, len, "http://"))
        at = 7;
    else if (has_prefix(url, len, "https://"))
        out->https = 1, at = 8;
    else
        return TYCHO_URL_E_BAD;
    size_t end = at;
    while (end < len && url[end] != '/' && url[end] != '?' && url[end] != '#')
        end++;
    out->path_at = end;
    size_t hs = at; /* after the authority's last '@' */
    for (size_t i = at; i < end; i++)
        if (url[i] == '@') hs = i + 1;
    if (hs > at) {
        out->has_userinfo = 1;
        out->userinfo_at = at;
        out->userinfo_len = hs - 1 - at;
    }
    size_t hl = tycho_url_host_len(url + hs, end - hs);
    if (hl == 0 || hl > TYCHO_URL_HOST_MAX) return TYCHO_URL_E_BAD;
    out->host_at = hs;
    out->host_len = hl;
    out->port = out->https ? 443 : 80;
    size_t he = hs + hl;
    if (he == end) return 0;
    if (url[he] != ':') return TYCHO_URL_E_BAD; /* "[::1]x" */
    out->has_port_colon = 1;
    out->port_at = he + 1;
    out->port_len = end - he - 1;
    return parse_port(url + out->port_at, out->port_len, &out->port);
}

const char *tycho_url_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "no error";
    case TYCHO_URL_E_PORT:
        return "port out of range: 1..65535";
    case TYCHO_URL_E_BYTE:
        return "a space, a control character or a NUL byte";
    default:
        return "http:// or https:// with a host";
    }
}
