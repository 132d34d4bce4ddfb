/* header_value — a Lua value as an HTTP header value: the one conversion for
 * the headers a handler returns (response.c) and those of tycho.http's
 * requests (lib_http.c). A string is used as is; a finite number is written
 * as an integer when it is one below 1e15 ("3", not "3.0"), else with "%.17g"
 * (every digit). Raises no Lua error and allocates no Lua object. Worker
 * thread only. */
#ifndef TYCHO_LUA_HEADER_VALUE_H
#define TYCHO_LUA_HEADER_VALUE_H

#include <lua.h>
#include <stddef.h>

typedef struct tycho_lua_header_value {
    const char *p; /* the string in the Lua value, or num */
    size_t n;
    char num[32];
} tycho_lua_header_value_t;

/* Reads the value at index idx of L into out (valid while that value stays on
 * the stack). 0, or -1 with err saying what is wrong ("value must be a finite
 * number, got NaN" (or inf, -inf), "value must be a string or a number, got
 * table"). */
int tycho_lua_header_value(lua_State *L, int idx, tycho_lua_header_value_t *out, char *err,
                           size_t errlen);

/* How a message names a non-finite number: "NaN", "inf" or "-inf" ("%g"
 * would say "-nan" or "nan" by the sign bit); NULL when d is finite. */
const char *tycho_lua_nonfinite_name(double d);

#endif
