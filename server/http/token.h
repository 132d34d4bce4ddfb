/* token — the RFC 9110 token alphabet (5.6.2 tchar), for the places that
 * check a method, a field name or a configured header name. Pure, any
 * thread. */
#ifndef TYCHO_HTTP_TOKEN_H
#define TYCHO_HTTP_TOKEN_H

#include <string.h>

/* 1 when c may appear in a token. */
static inline int tycho_http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

#endif
