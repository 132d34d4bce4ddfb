/* alloc — the counting allocator behind every Lua state of a worker: tracks
 * the bytes in use (the Lua memory metric) and enforces lua_memory_limit.
 * The limit only applies while `enforce` is set, which the scheduler does
 * around handler code: an allocation over the cap then fails with a Lua
 * memory error in that request (500), never in unprotected runtime code
 * (which would panic). One allocator per worker runtime; worker thread only
 * (the counters are plain fields: read them from other threads only as a
 * monitoring approximation). */
#ifndef TYCHO_LUA_ALLOC_H
#define TYCHO_LUA_ALLOC_H

#include <stddef.h>

typedef struct tycho_lua_alloc {
    size_t used; /* bytes currently allocated by all states sharing this allocator */
    size_t peak;
    size_t limit;               /* 0 = none */
    int enforce;                /* limit applies only while non-zero */
    unsigned long long refused; /* allocations refused because of the limit */
} tycho_lua_alloc_t;

/* lua_Alloc-compatible; ud is a tycho_lua_alloc_t. */
void *tycho_lua_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
