#include "http/block_pool.h"

#include <stdlib.h>

void tycho_block_pool_init(tycho_block_pool_t *p, size_t size)
{
    p->size = size;
    p->n = 0;
}

void *tycho_block_pool_take(tycho_block_pool_t *p)
{
    if (p->n) return p->free[--p->n];
    return malloc(p->size);
}

void tycho_block_pool_give(tycho_block_pool_t *p, void *block)
{
    if (!block) return;
    if (p->n < TYCHO_BLOCK_POOL_MAX)
        p->free[p->n++] = block;
    else
        free(block);
}

void tycho_block_pool_clear(tycho_block_pool_t *p)
{
    while (p->n)
        free(p->free[--p->n]);
}
