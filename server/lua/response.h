/* response — a handler's return values -> tycho_response_t:
 *   return status, body, headers     status 200..599
 *   return body, headers             status 200 (body a table, a string or json.null)
 *   return  (or return nil)          204, no body
 *   return nil, headers              204, no body, those headers
 * Trailing nils count as absent; `return nil, <not a table>` (Lua's
 * `nil, err`) and a value past the headers are errors. body: table -> JSON (application/json),
 * string -> as is (text/plain; charset=utf-8 unless a Content-Type header is given), nil -> empty;
 * a status without content (204, 205, 304) drops the body and gets no default Content-Type.
 * headers: { Name = "value" | number | { "v1", "v2" } } (a table with other keys, or a second
 * Content-Type, is an error); validated by tycho_response_add_header (a control character but tab,
 * a header the server writes or a hop-by-hop one -> error); a number must be finite; the
 * header lines may take 64 KiB in all. A HEAD route
 * (head_route) may state Content-Length (the length a GET would get: a non-negative integer, equal
 * to the body's if it returns one); without it nor a body, its answer announces no length. Raises
 * no Lua error and allocates no Lua object. Worker thread only. */
#ifndef TYCHO_LUA_RESPONSE_H
#define TYCHO_LUA_RESPONSE_H

#include "http/exchange.h"

#include <lua.h>
#include <stddef.h>

/* Values at co's stack indexes first..first+nres-1. 0, or -1 with err (res is
 * then reset, nothing of the handler's output kept). */
int tycho_lua_response_build(lua_State *co, int first, int nres, int head_route,
                             tycho_response_t *res, char *err, size_t errlen);

#endif
