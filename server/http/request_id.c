#include "http/request_id.h"

#include <string.h>
#include <sys/random.h>

/* xoshiro256** state per thread, seeded from getrandom(). Request ids need
 * uniqueness, not secrecy; the CSPRNG seed keeps them unpredictable enough. */
static _Thread_local uint64_t t_s[4];
static _Thread_local int t_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
    if (!t_seeded) {
        if (getrandom(t_s, sizeof t_s, 0) != (ssize_t)sizeof t_s ||
            (t_s[0] | t_s[1] | t_s[2] | t_s[3]) == 0)
            t_s[0] = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&t_s;
        t_seeded = 1;
    }
    uint64_t r = rotl(t_s[1] * 5, 7) * 9, t = t_s[1] << 17;
    t_s[2] ^= t_s[0], t_s[3] ^= t_s[1], t_s[1] ^= t_s[2], t_s[0] ^= t_s[3];
    t_s[2] ^= t;
    t_s[3] = rotl(t_s[3], 45);
    return r;
}

int tycho_request_id_valid(const tycho_slice_t *v)
{
    if (v->n == 0 || v->n > TYCHO_REQUEST_ID_MAX) return 0;
    for (size_t i = 0; i < v->n; i++) {
        unsigned char c = (unsigned char)v->p[i];
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\') return 0;
    }
    return 1;
}

void tycho_request_id_assign(const tycho_request_t *req, char out[TYCHO_REQUEST_ID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    const tycho_slice_t *in = tycho_request_header(req, "x-request-id");
    if (in && tycho_request_id_valid(in)) {
        memcpy(out, in->p, in->n);
        out[in->n] = '\0';
        return;
    }
    /* 32 hex digits straight from two 64-bit draws, a nibble each */
    for (int half = 0; half < 2; half++) {
        uint64_t r = next();
        for (int i = 0; i < 16; i++, r >>= 4)
            out[16 * half + i] = hex[r & 15];
    }
    out[32] = '\0';
}
