/* tycho.uuid — random (version 4) UUIDs from the kernel CSPRNG (getrandom),
 * read in 4 KiB batches per thread. `uuid()` and `uuid.v4()` are the same. */
#include "lua/libs.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static __thread unsigned char pool[4096];
static __thread size_t pool_left;

static void random_bytes(unsigned char *out, size_t n)
{
    if (pool_left < n) {
        size_t got = 0;
        while (got < sizeof pool) {
            ssize_t r = getrandom(pool + got, sizeof pool - got, 0);
            if (r > 0) got += (size_t)r;
        }
        pool_left = sizeof pool;
    }
    memcpy(out, pool + sizeof pool - pool_left, n);
    memset(pool + sizeof pool - pool_left, 0, n); /* never hand out the same bytes twice */
    pool_left -= n;
}

void tycho_uuid_v4(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static int l_v4(lua_State *L)
{
    char s[37];
    tycho_uuid_v4(s);
    lua_pushlstring(L, s, 36);
    return 1;
}

static int l_call(lua_State *L)
{
    return l_v4(L);
}

int luaopen_tycho_uuid(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_v4);
    lua_setfield(L, -2, "v4");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    return 1;
}
