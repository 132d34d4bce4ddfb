/* percent — percent-encoding and decoding (RFC 3986 section 2.1: "%" and
 * two hex digits stand for a byte) for request paths and queries, SigV4's canonical URI and
 * OTel's k=v lists, the hex digit it reads, and the normalisation the router
 * compares paths in. Each caller picks what a
 * '%' without two hex digits after it means (kept as is, or an error) and
 * whether '+' is a space (form encoding). Pure functions, any thread. */
#ifndef TYCHO_CORE_PERCENT_H
#define TYCHO_CORE_PERCENT_H

#include "core/buf.h"

#include <stddef.h>
#include <sys/types.h>

/* The value of hex digit c (either case), -1 when c is not one. */
static inline int tycho_hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum {
    TYCHO_PCT_PLUS_SPACE = 1, /* '+' decodes to ' ' (query strings, forms) */
    TYCHO_PCT_STRICT = 2,     /* a '%' without two hex digits after it fails */
};

/* 1 for an unreserved character (RFC 3986 2.3: ALPHA DIGIT - . _ ~), the
 * bytes no URI component needs encoded; a keep() for tycho_percent_encode. */
int tycho_percent_unreserved(unsigned char c);

/* Appends s[0..n) to out, each byte keep() refuses written as %XX (upper-case
 * hex digits). 0 or -ENOMEM. */
int tycho_percent_encode(tycho_buf_t *out, const void *s, size_t n, int (*keep)(unsigned char c));

/* Decodes s[0..n) into out, which has room for n bytes (decoding never
 * grows); writes no NUL. Without TYCHO_PCT_STRICT a bad escape is copied
 * as is. Returns the decoded length, or -1 for a bad escape when strict. */
ssize_t tycho_percent_decode(const char *s, size_t n, char *out, int flags);

/* Normalises the percent-encoding of s[0..n) into out (RFC 3986 6.2.2.1,
 * 6.2.2.2): an escape of an unreserved character (ALPHA DIGIT - . _ ~)
 * becomes that character, any other escape stays, with upper-case hex
 * digits (%2f -> %2F). out has room for n bytes; no NUL is written. Returns
 * the normalised length, or -1 for a '%' without two hex digits after it. */
ssize_t tycho_percent_normalize(const char *s, size_t n, char *out);

#endif
