/* header_value — a Lua value as an HTTP header value: the one conversion for
 * the headers a handler returns (response.c) and those of tycho.http's
 * requests (lib_http.c). A string is used as is; a finite number is written
 * as tycho.json writes it (integers below 2^53 exactly: "3", not "3.0"; 0.1 as
 * "0.1"), except that from 2^53 to 1e21 it is all digits (2^60:
 * "1152921504606846976", never an exponent) and -0 is "0". Raises no Lua
 * error and allocates no Lua object. Worker thread only. */
#ifndef TYCHO_LUA_HEADER_VALUE_H
#define TYCHO_LUA_HEADER_VALUE_H

#include "core/buf.h"

#include <lua.h>
#include <stddef.h>

typedef struct tycho_lua_header_value {
    const char *p; /* the string in the Lua value, or num */
    size_t n;
    char num[TYCHO_BUF_NUMBER_MAX];
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
