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

#include <lua.h>
#include <stddef.h>

#define TYCHO_LUA_ALLOC_CLASSES 16 /* 16, 32, ... 256 bytes */
#define TYCHO_LUA_ALLOC_CACHE_MAX (1024 * 1024)

typedef struct tycho_lua_alloc {
    size_t used; /* bytes currently allocated by all states sharing this allocator */
    size_t peak;
    size_t limit;               /* 0 = none */
    int enforce;                /* limit applies only while non-zero */
    unsigned long long refused; /* allocations refused because of the limit */
    int refuse_next;            /* the next growth fails: tycho_lua_alloc_raise_nomem */
    /* free blocks by size class, each list linked through the blocks' first word */
    void *cache[TYCHO_LUA_ALLOC_CLASSES];
    size_t cached; /* bytes on those lists */
} tycho_lua_alloc_t;

/* lua_Alloc-compatible; ud is a tycho_lua_alloc_t (zeroed to start). */
void *tycho_lua_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);
/* Raises a Lua memory error (LUA_ERRMEM, "not enough memory") in L, as the
 * allocator refusing would: for C code that caught one in a protected call
 * and passes it on (lua_error would turn it into an ordinary error, and the
 * scheduler would neither count it nor run the full GC that follows one).
 * A state on another allocator gets lua_error. Does not return. */
int tycho_lua_alloc_raise_nomem(lua_State *L);
/* Frees the cached blocks; call after the last state using a is closed. */
void tycho_lua_alloc_release(tycho_lua_alloc_t *a);

#endif
