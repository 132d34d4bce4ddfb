/* url_query — tycho.http's query option: a Lua table of parameters written
 * as a URL query (name=value&...), each name and value percent-encoded but
 * the unreserved characters (RFC 3986 2.3: a space is %20, '&' %26, '+'
 * %2B), so a value reaches the server as given. Names go in byte order (one
 * URL for one table: caches and signatures see the same); an array value
 * repeats its name (tag=a&tag=b). Values are strings or finite numbers,
 * written as header values are (lua/header_value.h). Worker thread only;
 * raises no Lua error. */
#ifndef TYCHO_LUA_URL_QUERY_H
#define TYCHO_LUA_URL_QUERY_H

#include "core/buf.h"

#include <lua.h>
#include <stddef.h>

/* Appends the query of the table at idx to out, without a leading '?' (an
 * empty table appends nothing). 0, or -1 with err naming the parameter and
 * what is wrong ("query 'page': value must be a string or a number, got
 * boolean", "query names must be strings, got number", "out of memory"). */
int tycho_lua_url_query(lua_State *L, int idx, tycho_buf_t *out, char *err, size_t errlen);

#endif
