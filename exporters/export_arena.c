#include "exporters/export_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/swar.h"

#define CHUNK_MIN (32 * 1024)

struct tycho_export_arena_chunk {
    struct tycho_export_arena_chunk *next;
    max_align_t align_[];
};

void *tycho_export_arena_alloc(tycho_export_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (n > a->left) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        struct tycho_export_arena_chunk *c = malloc(sizeof *c + size);
        if (!c) {
            a->failed = 1;
            return NULL;
        }
        c->next = a->chunks;
        a->chunks = c;
        a->cur = (char *)c->align_;
        a->left = size;
    }
    void *p = a->cur;
    a->cur += n;
    a->left -= n;
    memset(p, 0, n);
    return p;
}

void *tycho_export_arena_array(tycho_export_arena_t *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem / 2) {
        a->failed = 1;
        return NULL;
    }
    return tycho_export_arena_alloc(a, n * elem);
}

size_t tycho_export_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Valid UTF-8 (and, when no_nul, without a NUL byte). Eight ASCII bytes at a
 * time: most of what is exported is ASCII. */
static int utf8_scan(const char *s, size_t n, int no_nul)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w = tycho_swar_load(p + i);
            if (!tycho_swar_high(w) && (!no_nul || !tycho_swar_below(w, 1))) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            if (no_nul && !p[i]) return 0;
            i++;
            continue;
        }
        size_t k = tycho_export_utf8_seq(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

int tycho_export_utf8_valid(const char *s, size_t n)
{
    return utf8_scan(s, n, 0);
}

char *tycho_export_arena_utf8(tycho_export_arena_t *a, const char *s, size_t n)
{
    return (char *)tycho_export_arena_utf8_n(a, s, &n, 0);
}

const char *tycho_export_arena_utf8_n(tycho_export_arena_t *a, const char *s, size_t *len,
                                      int trusted)
{
    if (trusted) return s;
    size_t n = *len;
    if (!s) s = "", n = *len = 0;
    if (s[n] == 0 && utf8_scan(s, n, 1)) return s;
    /* Worst case every byte becomes the 3-byte U+FFFD. */
    if (n > (SIZE_MAX - 1) / 3) {
        a->failed = 1;
        return NULL;
    }
    char *out = tycho_export_arena_alloc(a, n * 3 + 1);
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t k = p[i] ? tycho_export_utf8_seq(p + i, n - i) : 0;
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            /* NUL would cut a C string short: replaced like invalid bytes. */
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

void tycho_export_arena_free(tycho_export_arena_t *a)
{
    struct tycho_export_arena_chunk *c = a->chunks;
    while (c) {
        struct tycho_export_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->cur = NULL;
    a->left = 0;
    a->failed = 0;
}
