/* alloc — the counting allocator behind every Lua state of a worker: tracks
 * the bytes in use (the Lua memory metric) and enforces lua_memory_limit.
 * The limit only applies while `enforce` is set, which the scheduler does
 * around handler code: an allocation over the cap then fails with a Lua
 * memory error in that request (500), never in unprotected runtime code
 * (which would panic). Small blocks (a request makes a handful: its tables,
 * strings, closures) are kept on free lists by size class and handed out
 * again, up to TYCHO_LUA_ALLOC_CACHE_MAX bytes; tycho_lua_alloc_release
 * returns them once no state uses the allocator. One allocator per worker
 * runtime; worker thread only (the counters are plain fields: read them
 * from other threads only as a monitoring approximation). */
#ifndef TYCHO_LUA_ALLOC_H
#define TYCHO_LUA_ALLOC_H

#include <stddef.h>

#define TYCHO_LUA_ALLOC_CLASSES 16 /* 16, 32, ... 256 bytes */
#define TYCHO_LUA_ALLOC_CACHE_MAX (1024 * 1024)

typedef struct tycho_lua_alloc {
    size_t used; /* bytes currently allocated by all states sharing this allocator */
    size_t peak;
    size_t limit;               /* 0 = none */
    int enforce;                /* limit applies only while non-zero */
    unsigned long long refused; /* allocations refused because of the limit */
    /* free blocks by size class, each list linked through the blocks' first word */
    void *cache[TYCHO_LUA_ALLOC_CLASSES];
    size_t cached; /* bytes on those lists */
} tycho_lua_alloc_t;

/* lua_Alloc-compatible; ud is a tycho_lua_alloc_t (zeroed to start). */
void *tycho_lua_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);
/* Frees the cached blocks; call after the last state using a is closed. */
void tycho_lua_alloc_release(tycho_lua_alloc_t *a);

#endif
