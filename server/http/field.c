#include "http/field.h"
#include "http/token.h"

#include <string.h>
#include <strings.h>

int tycho_http_field_name_is(const char *name, size_t nlen, const char *what)
{
    return strlen(what) == nlen && strncasecmp(name, what, nlen) == 0;
}

static int name_in(const char *name, size_t nlen, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tycho_http_field_name_is(name, nlen, list[i])) return 1;
    return 0;
}

const char *tycho_http_field_invalid(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (nlen == 0) return "empty header name";
    for (size_t i = 0; i < nlen; i++)
        if (!tycho_http_is_tchar((unsigned char)name[i]))
            return "header name is not a token (RFC 9110)";
    /* RFC 9110 5.5: a field value is visible characters, obs-text and
     * spaces or tabs. CR, LF and NUL would split the message; the other
     * controls (0x01, 0x7F...) are invalid too, and a strict recipient
     * (llhttp, Node, a proxy) refuses the whole message over one. */
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return "header value contains a control character (CR, LF, NUL...)";
    }
    return NULL;
}

const char *tycho_http_field_connection_owned(const char *name, size_t nlen)
{
    /* a second length would let the peer read part of the body as the next
     * message (request smuggling, RFC 9112 6.3) */
    static const char *const framing[] = {"content-length", "transfer-encoding"};
    /* they describe the connection, which tycho owns; Trailer announces
     * trailer fields, which tycho never sends */
    static const char *const hop_by_hop[] = {"connection", "keep-alive", "upgrade",
                                             "te",         "trailer",    "proxy-connection"};
    if (name_in(name, nlen, framing, sizeof framing / sizeof *framing))
        return "framing header: tycho sets the body length itself";
    if (name_in(name, nlen, hop_by_hop, sizeof hop_by_hop / sizeof *hop_by_hop))
        return "hop-by-hop header: tycho manages the connection";
    return NULL;
}
