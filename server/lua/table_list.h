/* table_list — whether a Lua table is a list (its keys exactly 1..#t), as
 * APIs that take "a list of values" check before reading it with #t, which
 * would skip any other key unseen. */
#ifndef TYCHO_LUA_TABLE_LIST_H
#define TYCHO_LUA_TABLE_LIST_H

#include <lua.h>

/* 0 when the table at idx is a list; else 1 with the first key found that
 * is not one of 1..#t pushed (the caller names it in its error, then pops it). */
int tycho_lua_list_stray_key(lua_State *L, int idx);

#endif
