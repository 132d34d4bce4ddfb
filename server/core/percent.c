#include "core/percent.h"

ssize_t tycho_percent_decode(const char *s, size_t n, char *out, int flags)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? tycho_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? tycho_hex_digit((unsigned char)s[i + 2]) : -1;
            if (lo >= 0) {
                c = (char)(hi * 16 + lo);
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
