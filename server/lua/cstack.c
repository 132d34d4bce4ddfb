#define _GNU_SOURCE
#include "lua/cstack.h"

#include "lua/gen.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdint.h>

#define MAX_RESERVE ((size_t)1 << 20)

/* The lowest address the thread's C code may reach before a check fails;
 * 1 when the bounds could not be read (nothing is below it). */
static __thread uintptr_t floor_addr;

static uintptr_t stack_floor(void)
{
    if (floor_addr) return floor_addr;
    floor_addr = 1;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return floor_addr;
    void *low = NULL;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &low, &size) == 0 && low && size) {
        size_t reserve = size / 4 < MAX_RESERVE ? size / 4 : MAX_RESERVE;
        floor_addr = (uintptr_t)low + reserve;
    }
    pthread_attr_destroy(&attr);
    return floor_addr;
}

/* The frame's address, not a local's: under ASan a local may live on its
 * fake stack, on the heap. */
int tycho_lua_cstack_low(void)
{
    return (uintptr_t)__builtin_frame_address(0) < stack_floor();
}

/* Raises at the line of the Lua function `level` levels up. */
static int overflow(lua_State *L, int level, const char *what)
{
    return tycho_lua_error_at(L, level,
                              "%s: C stack overflow: Lua functions called back from functions "
                              "written in C (string.gsub, table.sort, coroutines, tostring...) "
                              "nest too deep; a recursion that never ends?",
                              what);
}

int tycho_lua_cstack_check(lua_State *L, int level, const char *what)
{
    return tycho_lua_cstack_low() ? overflow(L, level, what) : 0;
}

/* check(what), called by the wrappers below: level 2 is their caller */
static int l_check(lua_State *L)
{
    return tycho_lua_cstack_low() ? overflow(L, 2, luaL_checkstring(L, 1)) : 0;
}

/* Tail calls with the arguments as given: an argument error of the
 * original then reads as it did without the wrapper, with the caller's
 * file:line and the function's name ("bad argument #1 to 'sort'"), and so
 * does an error raised inside a coroutine.wrap function. */
static const char WRAPPERS[] =
    "local check, gsub, sort, resume, wrap = ...\n"
    "string.gsub = function(...)\n"
    "  check('string.gsub')\n"
    "  return gsub(...)\n"
    "end\n"
    "table.sort = function(...)\n"
    "  check('table.sort')\n"
    "  return sort(...)\n"
    "end\n"
    "coroutine.resume = function(...)\n"
    "  check('coroutine.resume')\n"
    "  return resume(...)\n"
    "end\n"
    "coroutine.wrap = function(f)\n"
    "  if type(f) ~= 'function' then return wrap(f) end -- its own error\n"
    "  local w = wrap(f)\n"
    "  return function(...)\n"
    "    check('a coroutine.wrap function')\n"
    "    return w(...)\n"
    "  end\n"
    "end\n";

void tycho_lua_cstack_install(lua_State *L)
{
    if (luaL_loadbuffer(L, WRAPPERS, sizeof WRAPPERS - 1, "=[tycho cstack]") != 0) {
        lua_error(L); /* out of memory: the chunk is ours and compiles */
        return;
    }
    lua_pushcfunction(L, l_check);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "gsub");
    lua_replace(L, -2);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_replace(L, -2);
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_getfield(L, -2, "wrap");
    lua_remove(L, -3);
    lua_call(L, 5, 0);
}
