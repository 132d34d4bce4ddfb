/* buf — a growable byte buffer, the one string builder of the C core.
 * Owns its memory; any thread may use a buffer it owns. Functions return 0 or
 * -ENOMEM; on failure the buffer keeps its previous content. */
#ifndef TYCHO_BUF_H
#define TYCHO_BUF_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef struct tycho_buf {
    char *data; /* NUL-terminated whenever len > 0 or after any append */
    size_t len;
    size_t cap;
} tycho_buf_t;

#define TYCHO_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Room for extra more bytes and the NUL. The common case, room already
 * there, is inline (a log line reserves for each key and value);
 * tycho_buf_grow makes it. A buffer with memory always has cap > len. */
int tycho_buf_grow(tycho_buf_t *b, size_t extra);
static inline int tycho_buf_reserve(tycho_buf_t *b, size_t extra)
{
    if (extra < b->cap - b->len) return 0;
    return tycho_buf_grow(b, extra);
}
/* Inline: appends of a few bytes (punctuation, literals) are the common
 * case, and with n known the copy becomes a move or two. */
static inline int tycho_buf_append(tycho_buf_t *b, const void *p, size_t n)
{
    if (tycho_buf_reserve(b, n) != 0) return -ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}
int tycho_buf_puts(tycho_buf_t *b, const char *s);
int tycho_buf_printf(tycho_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tycho_buf_vprintf(tycho_buf_t *b, const char *fmt, va_list ap);
/* Appends v in decimal (as printf's %lld, without printf). */
int tycho_buf_append_int(tycho_buf_t *b, long long v);
/* Room for any tycho_buf_number_text, its NUL included. */
#define TYCHO_BUF_NUMBER_MAX 32
/* 2^53: every integer below it in magnitude is exact in a double. */
#define TYCHO_BUF_EXACT_INT_LIMIT 9007199254740992.0
/* Writes finite d into out, NUL-terminated, in the shortest form that reads
 * back as d: an integer below 2^53 in magnitude as tycho_buf_append_int
 * writes it (-0 as "-0": it reads back as -0), any other value with the fewest of 15, 16, 17
 * significant digits that round-trip. Returns the length. */
size_t tycho_buf_number_text(char out[TYCHO_BUF_NUMBER_MAX], double d);
/* Appends d as a JSON number as tycho_buf_number_text writes it. JSON has no
 * NaN or infinities: they become the strings "NaN", "Infinity", "-Infinity"
 * (as OTLP/JSON writes them). */
int tycho_buf_append_json_number(tycho_buf_t *b, double d);
/* Appends s as a quoted JSON string: escapes quotes, backslash and control
 * characters, and replaces invalid UTF-8 with U+FFFD. */
int tycho_buf_append_json_string(tycho_buf_t *b, const char *s, size_t n);
void tycho_buf_reset(tycho_buf_t *b); /* len = 0, memory kept */
void tycho_buf_free(tycho_buf_t *b);
/* Hands the memory to the caller (NUL-terminated, never NULL) and resets b. */
char *tycho_buf_steal(tycho_buf_t *b);

#endif
