#include "http/host.h"

#include <ctype.h>
#include <string.h>

int tycho_host_split(const tycho_slice_t *host, tycho_slice_t *name, tycho_slice_t *rest,
                     int *bracketed)
{
    const char *p = host->p, *end = p + host->n, *after;
    *bracketed = host->n && p[0] == '[';
    if (*bracketed) {
        const char *close = memchr(p, ']', host->n);
        if (!close) return -1;
        *name = (tycho_slice_t){p + 1, (size_t)(close - p - 1)};
        after = close + 1;
    } else {
        after = memchr(p, ':', host->n);
        if (!after) after = end;
        *name = (tycho_slice_t){p, (size_t)(after - p)};
    }
    *rest = (tycho_slice_t){after, (size_t)(end - after)};
    return 0;
}

/* RFC 9110 7.2: Host = uri-host [ ":" port ], RFC 3986 3.2.2-3.2.3. The
 * name is an IP literal in brackets (hex digits, ':' and '.'; an IPvFuture
 * "v1.x" takes unreserved, sub-delims and ':') or a reg-name (unreserved,
 * sub-delims, %XX), and what follows it only ":" and digits: "[::1", "a:b:c"
 * and "a:80,b" are not a host. */
static int unreserved_or_sub_delim(char c)
{
    return c && (isalnum((unsigned char)c) || strchr("-._~!$&'()*+,;=", c));
}

int tycho_host_valid(const tycho_slice_t *v)
{
    const char *p = v->p, *end = p + v->n;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', v->n);
        if (!close || close == p + 1) return 0;
        int future = p[1] == 'v' || p[1] == 'V';
        for (const char *c = p + 1; c < close; c++)
            if (!(isxdigit((unsigned char)*c) || *c == ':' || *c == '.' ||
                  (future && unreserved_or_sub_delim(*c))))
                return 0;
        p = close + 1;
    } else {
        for (; p < end && *p != ':'; p++) {
            if (*p == '%') {
                if (end - p < 3 || !isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
                    return 0;
                p += 2;
            } else if (!unreserved_or_sub_delim(*p)) {
                return 0;
            }
        }
    }
    if (p == end) return 1;
    if (*p++ != ':') return 0;
    for (; p < end; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}
