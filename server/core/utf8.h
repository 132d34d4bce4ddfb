/* utf8 — UTF-8 validation as RFC 3629 has it: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing past U+10FFFF. One definition for
 * the JSON escaper, the exporters and the local AWS store. Pure functions,
 * any thread. */
#ifndef TYCHO_UTF8_H
#define TYCHO_UTF8_H

#include <stddef.h>

/* The length (1-4) of the valid sequence at s (n >= 1 bytes available),
 * 0 when the bytes there are not one. */
size_t tycho_utf8_seq_len(const unsigned char *s, size_t n);

/* Whether s[0..n) is valid UTF-8 throughout; a NUL byte counts as invalid
 * unless nul_ok. Eight ASCII bytes at a time (most text is ASCII). */
int tycho_utf8_valid(const char *s, size_t n, int nul_ok);

#endif
