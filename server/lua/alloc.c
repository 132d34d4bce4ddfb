#include "lua/alloc.h"

#include <stdlib.h>
#include <string.h>

#define CLASS_BYTES 16
#define LARGE TYCHO_LUA_ALLOC_CLASSES

/* The size class of an n-byte block (n >= 1), LARGE past the last. */
static unsigned class_of(size_t n)
{
    return n <= CLASS_BYTES * TYCHO_LUA_ALLOC_CLASSES ? (unsigned)((n - 1) / CLASS_BYTES) : LARGE;
}

static size_t class_size(unsigned c)
{
    return (size_t)(c + 1) * CLASS_BYTES;
}

/* A block of class c: a cached one, or a new one of the class's full size
 * (so that any block of the class can serve any request of it). */
static void *take(tycho_lua_alloc_t *a, unsigned c)
{
    void *p = a->cache[c];
    if (!p) return malloc(class_size(c));
    memcpy(&a->cache[c], p, sizeof p);
    a->cached -= class_size(c);
    return p;
}

/* Gives back a block of osize bytes: onto its class's list while the cache
 * has room, else to malloc. */
static void give(tycho_lua_alloc_t *a, void *p, size_t osize)
{
    unsigned c = class_of(osize);
    if (c == LARGE || a->cached + class_size(c) > TYCHO_LUA_ALLOC_CACHE_MAX) {
        free(p);
        return;
    }
    memcpy(p, &a->cache[c], sizeof p);
    a->cache[c] = p;
    a->cached += class_size(c);
}

/* ptr (old bytes, 0 when new) resized to nsize >= 1 bytes: kept when the
 * class does not change, realloc'd when both sizes are large, else moved.
 * A shrink with no memory for the move keeps the block: bigger than its new
 * class needs, it can serve that class ever after (Lua expects a shrink to
 * succeed). */
static void *resize(tycho_lua_alloc_t *a, void *ptr, size_t old, size_t nsize)
{
    unsigned oc = ptr ? class_of(old) : LARGE, nc = class_of(nsize);
    if (ptr && oc == nc) return oc == LARGE ? realloc(ptr, nsize) : ptr;
    void *q = nc == LARGE ? malloc(nsize) : take(a, nc);
    if (!q) return nsize < old ? ptr : NULL;
    if (!ptr) return q;
    memcpy(q, ptr, old < nsize ? old : nsize);
    give(a, ptr, old);
    return q;
}

void *tycho_lua_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    tycho_lua_alloc_t *a = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            a->used -= old;
            give(a, ptr, old);
        }
        return NULL;
    }
    if (nsize > old && a->refuse_next) {
        a->refuse_next = 0;
        return NULL;
    }
    if (nsize > old && a->enforce && a->limit && a->used + (nsize - old) > a->limit) {
        a->refused++;
        return NULL; /* LuaJIT raises "not enough memory" in the running coroutine */
    }
    void *q = resize(a, ptr, old, nsize);
    if (!q) return NULL;
    a->used = a->used - old + nsize;
    if (a->used > a->peak) a->peak = a->used;
    return q;
}

int tycho_lua_alloc_raise_nomem(lua_State *L)
{
    void *ud = NULL;
    if (lua_getallocf(L, &ud) != tycho_lua_alloc_fn) return lua_error(L);
    ((tycho_lua_alloc_t *)ud)->refuse_next = 1;
    lua_newuserdata(L, 1); /* LuaJIT raises LUA_ERRMEM when the allocator says no */
    return lua_error(L);   /* not reached */
}

void tycho_lua_alloc_release(tycho_lua_alloc_t *a)
{
    for (unsigned c = 0; c < TYCHO_LUA_ALLOC_CLASSES; c++) {
        while (a->cache[c])
            free(take(a, c));
    }
}
