/* block_pool — a small free list of equal-sized heap blocks, kept by one HTTP
 * server for its connections' read buffers and header arrays: a request takes
 * a block and its connection gives it back on going idle, so a busy worker
 * does not call malloc and free on every request while an idle connection
 * still holds nothing. At most TYCHO_BLOCK_POOL_MAX blocks wait in a pool;
 * past that a given-back block is freed. One server, so one loop thread: no
 * locking. */
#ifndef TYCHO_HTTP_BLOCK_POOL_H
#define TYCHO_HTTP_BLOCK_POOL_H

#include <stddef.h>

#define TYCHO_BLOCK_POOL_MAX 32

typedef struct tycho_block_pool {
    size_t size; /* bytes per block */
    size_t n;    /* blocks waiting in free[] */
    void *free[TYCHO_BLOCK_POOL_MAX];
} tycho_block_pool_t;

void tycho_block_pool_init(tycho_block_pool_t *p, size_t size);
/* A block of p->size bytes (content undefined), or NULL when out of memory. */
void *tycho_block_pool_take(tycho_block_pool_t *p);
/* Hands back a block from tycho_block_pool_take (NULL is ignored). */
void tycho_block_pool_give(tycho_block_pool_t *p, void *block);
/* Frees the blocks waiting in the pool; it stays usable. */
void tycho_block_pool_clear(tycho_block_pool_t *p);

#endif
