/* swar — tests on eight bytes at once in a 64-bit word, for the scans of the
 * hot paths (JSON escaping, UTF-8 and control-byte checks). Each mask
 * function returns the word with the high bit of byte i set exactly when
 * byte i passes the test (no false alarm from a neighbouring byte), so
 * tycho_swar_first of a mask is the first such byte in memory order. */
#ifndef TYCHO_SWAR_H
#define TYCHO_SWAR_H

#include <stdint.h>
#include <string.h>

#define TYCHO_SWAR_ONES 0x0101010101010101ull
#define TYCHO_SWAR_HIGH 0x8080808080808080ull
#define TYCHO_SWAR_LOW7 0x7F7F7F7F7F7F7F7Full

static inline uint64_t tycho_swar_load(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* Bytes >= 0x80. */
static inline uint64_t tycho_swar_high(uint64_t w)
{
    return w & TYCHO_SWAR_HIGH;
}

/* Bytes below c (1 <= c <= 0x80): the low seven bits plus 0x80 - c carry
 * into the high bit when they reach c, and never into the next byte. */
static inline uint64_t tycho_swar_below(uint64_t w, unsigned c)
{
    uint64_t reach = (w & TYCHO_SWAR_LOW7) + (0x80 - c) * TYCHO_SWAR_ONES;
    return ~(reach | w) & TYCHO_SWAR_HIGH;
}

/* Bytes equal to c. */
static inline uint64_t tycho_swar_eq(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (c * TYCHO_SWAR_ONES);
    uint64_t nonzero = (x & TYCHO_SWAR_LOW7) + TYCHO_SWAR_LOW7;
    return ~(nonzero | x) & TYCHO_SWAR_HIGH;
}

/* The index in memory (0-7) of the first byte a non-zero mask marks. */
static inline unsigned tycho_swar_first(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (unsigned)__builtin_clzll(mask) / 8;
#else
    return (unsigned)__builtin_ctzll(mask) / 8;
#endif
}

#endif
