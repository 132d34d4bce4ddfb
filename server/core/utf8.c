#include "core/utf8.h"

#include <stdint.h>

#include "core/swar.h"

size_t tycho_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    uint32_t cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int tycho_utf8_valid(const char *s, size_t n, int nul_ok)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w = tycho_swar_load(p + i);
            if (!tycho_swar_high(w) && (nul_ok || !tycho_swar_below(w, 1))) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            if (!nul_ok && !p[i]) return 0;
            i++;
            continue;
        }
        size_t k = tycho_utf8_seq_len(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}
