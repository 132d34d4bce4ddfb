#include "core/percent.h"

/* The byte the escape at s[i] ('%') stands for, or -1 when two hex digits
 * do not follow. */
static int escape_at(const char *s, size_t n, size_t i)
{
    int hi = i + 2 < n ? tycho_hex_digit((unsigned char)s[i + 1]) : -1;
    int lo = hi >= 0 ? tycho_hex_digit((unsigned char)s[i + 2]) : -1;
    return lo >= 0 ? hi * 16 + lo : -1;
}

int tycho_percent_encode(tycho_buf_t *out, const void *s, size_t n, int (*keep)(unsigned char c))
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = s;
    if (tycho_buf_reserve(out, n)) return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        int rc = keep(c) ? tycho_buf_append(out, &c, 1) : tycho_buf_append(out, e, 3);
        if (rc) return rc;
    }
    return 0;
}

ssize_t tycho_percent_decode(const char *s, size_t n, char *out, int flags)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int b = escape_at(s, n, i);
            if (b >= 0) {
                c = (char)b;
                i += 2;
            } else if (flags & TYCHO_PCT_STRICT) {
                return -1;
            }
        } else if (c == '+' && (flags & TYCHO_PCT_PLUS_SPACE)) {
            c = ' ';
        }
        out[o++] = c;
    }
    return (ssize_t)o;
}

int tycho_percent_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

ssize_t tycho_percent_normalize(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int b = escape_at(s, n, i);
        if (b < 0) return -1;
        i += 2;
        if (tycho_percent_unreserved((unsigned char)b)) {
            out[o++] = (char)b;
        } else {
            out[o++] = '%';
            out[o++] = hex[b >> 4];
            out[o++] = hex[b & 15];
        }
    }
    return (ssize_t)o;
}
