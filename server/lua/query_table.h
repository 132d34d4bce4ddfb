/* query_table — a request's query string read as req.query and its path
 * parameters as req.params: names and values percent-decoded ('+' a space in
 * a query, RFC 1866 form encoding; an invalid escape kept as sent), a name
 * without '=' has the value "", empty parameters ("a=1&&b=2") are skipped,
 * and a name given more than once has an array of its values in order.
 * Bytes from the client: no length or content is trusted. Worker thread
 * only; raises only Lua's out-of-memory error. */
#ifndef TYCHO_LUA_QUERY_TABLE_H
#define TYCHO_LUA_QUERY_TABLE_H

#include <lua.h>
#include <stddef.h>

/* Pushes the table of the query q[0..n) (without its '?') onto L. */
void tycho_lua_push_query(lua_State *L, const char *q, size_t n);

/* Percent-decodes s into L's stack as a string ('+' as space when plus). */
void tycho_lua_push_decoded(lua_State *L, const char *s, size_t n, int plus);

#endif
