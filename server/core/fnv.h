/* fnv — the 64-bit FNV-1a hash, for the hash tables that key on text
 * (metric label sets, ratelog's messages, outbound host labels). Start from
 * TYCHO_FNV_OFFSET, fold in each byte with tycho_fnv_byte; tycho_fnv_str does
 * that for a C string. Not for anything an attacker must not collide. */
#ifndef TYCHO_FNV_H
#define TYCHO_FNV_H

#include <stdint.h>

#define TYCHO_FNV_OFFSET 14695981039346656037ull

static inline uint64_t tycho_fnv_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * 1099511628211ull;
}

static inline uint64_t tycho_fnv_str(const char *s)
{
    uint64_t h = TYCHO_FNV_OFFSET;
    for (; *s; s++)
        h = tycho_fnv_byte(h, (unsigned char)*s);
    return h;
}

#endif
