#include "lua/alloc.h"

#include <stdlib.h>

void *tycho_lua_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    tycho_lua_alloc_t *a = ud;
    if (nsize == 0) {
        if (ptr) a->used -= osize;
        free(ptr);
        return NULL;
    }
    size_t old = ptr ? osize : 0;
    if (nsize > old && a->enforce && a->limit && a->used + (nsize - old) > a->limit) {
        a->refused++;
        return NULL; /* LuaJIT raises "not enough memory" in the running coroutine */
    }
    void *q = realloc(ptr, nsize);
    if (!q) return NULL;
    a->used = a->used - old + nsize;
    if (a->used > a->peak) a->peak = a->used;
    return q;
}
