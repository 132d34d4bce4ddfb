#include "core/prng.h"

#include <sys/random.h>

static _Thread_local uint64_t t_s[4];
static _Thread_local int t_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* getrandom, or (it failed: old kernel, seccomp) a seed from the state's
 * address, which still differs between threads */
static void seed(void)
{
    if (getrandom(t_s, sizeof t_s, 0) != (ssize_t)sizeof t_s ||
        (t_s[0] | t_s[1] | t_s[2] | t_s[3]) == 0)
        t_s[0] = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&t_s;
    t_seeded = 1;
}

uint64_t tycho_prng_next(void)
{
    if (!t_seeded) seed();
    uint64_t r = rotl(t_s[1] * 5, 7) * 9, t = t_s[1] << 17;
    t_s[2] ^= t_s[0], t_s[3] ^= t_s[1], t_s[1] ^= t_s[2], t_s[0] ^= t_s[3];
    t_s[2] ^= t;
    t_s[3] = rotl(t_s[3], 45);
    return r;
}

double tycho_prng_unit(void)
{
    return (double)(tycho_prng_next() >> 11) * 0x1.0p-53;
}
