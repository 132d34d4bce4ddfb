#include "exporters/export_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

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
    if (s[n] == 0 && tycho_utf8_valid(s, n, 0)) return s;
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
        size_t k = p[i] ? tycho_utf8_seq_len(p + i, n - i) : 0;
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
