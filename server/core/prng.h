/* prng — a fast per-thread pseudo-random generator (xoshiro256**) seeded
 * from the kernel CSPRNG on a thread's first draw, so that every process
 * and thread draws its own sequence. For ids that need uniqueness and for
 * retry jitter; never for secrets (tycho.uuid and trace ids read getrandom
 * directly). */
#ifndef TYCHO_CORE_PRNG_H
#define TYCHO_CORE_PRNG_H

#include <stdint.h>

/* 64 random bits. */
uint64_t tycho_prng_next(void);
/* A double in [0, 1): 53 random bits. */
double tycho_prng_unit(void);

#endif
