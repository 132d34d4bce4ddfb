#include "core/buf.h"

#include "core/swar.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tycho_buf_grow(tycho_buf_t *b, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
        return -ENOMEM;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tycho_buf_puts(tycho_buf_t *b, const char *s)
{
    return tycho_buf_append(b, s, strlen(s));
}

int tycho_buf_vprintf(tycho_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    int rc = -ENOMEM;
    if (n >= 0 && tycho_buf_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
        rc = 0;
    }
    va_end(again);
    return rc;
}

int tycho_buf_printf(tycho_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tycho_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Writes v in decimal just before e (24 bytes are room enough); returns the
 * first digit (or the '-'). */
static char *int_digits(char *e, long long v)
{
    char *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return p;
}

int tycho_buf_append_int(tycho_buf_t *b, long long v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = int_digits(e, v);
    return tycho_buf_append(b, p, (size_t)(e - p));
}

size_t tycho_buf_number_text(char out[TYCHO_BUF_NUMBER_MAX], double d)
{
    if (d == floor(d) && fabs(d) < TYCHO_BUF_EXACT_INT_LIMIT) {
        char tmp[24], *e = tmp + sizeof tmp, *p = int_digits(e, (long long)d);
        if (d == 0 && signbit(d)) *--p = '-'; /* -0 is a JSON number: keep the sign */
        size_t n = (size_t)(e - p);
        memcpy(out, p, n);
        out[n] = 0;
        return n;
    }
    /* 15 significant digits always read back as the double they came from
     * when it has a decimal form that short (DBL_DIG); 17 always do */
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, TYCHO_BUF_NUMBER_MAX, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
    return (size_t)n;
}

int tycho_buf_append_json_number(tycho_buf_t *b, double d)
{
    if (isnan(d)) return tycho_buf_append(b, "\"NaN\"", 5);
    if (isinf(d))
        return d > 0 ? tycho_buf_append(b, "\"Infinity\"", 10)
                     : tycho_buf_append(b, "\"-Infinity\"", 11);
    char tmp[TYCHO_BUF_NUMBER_MAX];
    size_t n = tycho_buf_number_text(tmp, d);
    return tycho_buf_append(b, tmp, n);
}

/* 1 for the bytes JSON takes as they are in a string: printable ASCII
 * other than '"' and '\\'. */
static const unsigned char JSON_PLAIN[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7E] = 1};

/* The bytes of w that are not JSON_PLAIN. */
static inline uint64_t json_special(uint64_t w)
{
    return tycho_swar_below(w, 0x20) | (tycho_swar_below(w, 0x7F) ^ TYCHO_SWAR_HIGH) |
           tycho_swar_eq(w, '"') | tycho_swar_eq(w, '\\');
}

/* Copies the run of JSON_PLAIN bytes of u that starts at *i to o, eight
 * bytes at a time (a log line is mostly such runs); moves *i past it and
 * returns the end of the copy. Each word is stored whole: bytes past the
 * run land in the room reserved for escapes (6 per input byte) and are
 * overwritten or left beyond the end. */
static inline char *copy_plain(char *o, const unsigned char *u, size_t *i, size_t n)
{
    size_t k = *i;
    for (; n - k >= 8; k += 8, o += 8) {
        uint64_t w = tycho_swar_load(u + k);
        memcpy(o, &w, 8);
        uint64_t special = json_special(w);
        if (special) {
            unsigned f = tycho_swar_first(special);
            *i = k + f;
            return o + f;
        }
    }
    while (k < n && JSON_PLAIN[u[k]])
        *o++ = (char)u[k++];
    *i = k;
    return o;
}

int tycho_buf_append_json_string(tycho_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case: every byte becomes a 6-byte \u00XX escape. */
    if (n > (SIZE_MAX - 2) / 6 || tycho_buf_reserve(b, n * 6 + 2) != 0) return -ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0;;) {
        o = copy_plain(o, u, &i, n);
        if (i == n) break;
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            *o++ = '\\';
            switch (c) {
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            default:
                *o++ = 'u', *o++ = '0', *o++ = '0';
                *o++ = hex[c >> 4], *o++ = hex[c & 15];
            }
            i++;
        } else {
            size_t len = tycho_utf8_seq_len(u + i, n - i);
            if (len == 0) { /* invalid byte -> U+FFFD (3 bytes, fits the 6 reserved) */
                *o++ = (char)0xEF, *o++ = (char)0xBF, *o++ = (char)0xBD;
                i++;
            } else {
                memcpy(o, u + i, len);
                o += len;
                i += len;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

void tycho_buf_reset(tycho_buf_t *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void tycho_buf_free(tycho_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *tycho_buf_steal(tycho_buf_t *b)
{
    if (!b->data) {
        if (tycho_buf_reserve(b, 0) != 0) return NULL;
        b->data[0] = '\0';
    }
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
