#include "lua/require_retry.h"

#include "lua/protect.h"

#include <lauxlib.h>
#include <string.h>

#define PROBE "tycho.require_retry: sentinel probe"

/* LuaJIT's "module 'name' not found: ..." (on top) says neither which file
 * nor which line asked for the module, and a route file's load error then
 * names only the route file, not the module several requires down that
 * lacks it: this prefixes the caller's file:line (nothing when the caller
 * is C, such as pcall), once, where the module is first missed. */
static void where_not_found(lua_State *L, const char *name)
{
    size_t n;
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    size_t nlen = strlen(name);
    if (!msg || n < 8 + nlen + 12 || strncmp(msg, "module '", 8) != 0 ||
        strncmp(msg + 8, name, nlen) != 0 || strncmp(msg + 8 + nlen, "' not found:", 12) != 0)
        return;
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
}

/* require(name) with upvalue 1 the original require and upvalue 2 its
 * sentinel. A module already in package.loaded (or a load of it under way:
 * the sentinel, a loop) goes to the original as is. Otherwise the load runs
 * protected; when it raises, the sentinel it left is removed and the error
 * raised unchanged (a memory error as a memory error). The cost: a
 * traceback of that error starts at this require, not inside the module
 * (its message keeps the file:line). */
static int require_retry(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_getfield(L, 2, name);
    int present = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (present) {
        lua_call(L, 1, 1);
        return 1;
    }
    int status = lua_pcall(L, 1, 1, 0);
    if (status == 0) return 1;
    if (status == LUA_ERRRUN) where_not_found(L, name);
    lua_getfield(L, 2, name);
    int stale = lua_rawequal(L, -1, lua_upvalueindex(2));
    lua_pop(L, 1);
    if (stale) {
        lua_pushnil(L);
        lua_setfield(L, 2, name);
    }
    return tycho_lua_rethrow(L, status); /* a memory error stays one */
}

/* The loader of PROBE: raises what package.loaded holds for it while it
 * loads, which is the sentinel. */
static int raise_sentinel(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_getfield(L, -1, PROBE);
    return lua_error(L);
}

/* Pushes the value LuaJIT's require keeps in package.loaded while a module
 * loads. It is its own (a light userdata, a number in GC64 builds), so it is
 * read off a load rather than assumed. Expects the original require on top. */
static void push_sentinel(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, raise_sentinel);
    lua_setfield(L, -2, PROBE);
    lua_pushvalue(L, -3);
    lua_pushliteral(L, PROBE);
    if (lua_pcall(L, 1, 1, 0) == 0) { /* cannot happen: the probe raises */
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    lua_pushnil(L);
    lua_setfield(L, -3, PROBE);
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_pushnil(L);
    lua_setfield(L, -2, PROBE);
    lua_pop(L, 1);
    lua_replace(L, -3); /* [require, package, preload, sentinel] -> [require, sentinel] */
    lua_pop(L, 1);
}

void tycho_lua_require_retry_install(lua_State *L)
{
    lua_getglobal(L, "require");
    push_sentinel(L);
    lua_pushcclosure(L, require_retry, 2);
    lua_setglobal(L, "require");
}
