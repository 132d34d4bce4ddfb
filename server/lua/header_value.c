#include "lua/header_value.h"

#include <math.h>
#include <stdio.h>

const char *tycho_lua_nonfinite_name(double d)
{
    if (isfinite(d)) return NULL;
    return isnan(d) ? "NaN" : d > 0 ? "inf" : "-inf";
}

/* Finite d as tycho.json writes it (3, not 3.0; 0.1), except where HTTP
 * wants digits: from 2^53 to 1e21, where every double is an integer, all of
 * its digits (2^60 is 1152921504606846976, not 1.152921504606847e+18), since
 * HTTP's numbers are digits only (RFC 9110 8.6, 10.2.3); and -0 as 0. */
static size_t number_text(char out[TYCHO_BUF_NUMBER_MAX], double d)
{
    if (fabs(d) >= TYCHO_BUF_EXACT_INT_LIMIT && fabs(d) < 1e21)
        return (size_t)snprintf(out, TYCHO_BUF_NUMBER_MAX, "%.0f", d);
    return tycho_buf_number_text(out, d == 0 ? 0 : d);
}

int tycho_lua_header_value(lua_State *L, int idx, tycho_lua_header_value_t *out, char *err,
                           size_t errlen)
{
    int type = lua_type(L, idx);
    if (type == LUA_TSTRING) {
        out->p = lua_tolstring(L, idx, &out->n);
        return 0;
    }
    if (type != LUA_TNUMBER) {
        snprintf(err, errlen, "value must be a string or a number, got %s", lua_typename(L, type));
        return -1;
    }
    double d = lua_tonumber(L, idx);
    const char *nonfinite = tycho_lua_nonfinite_name(d);
    if (nonfinite) {
        snprintf(err, errlen, "value must be a finite number, got %s", nonfinite);
        return -1;
    }
    out->p = out->num;
    out->n = number_text(out->num, d);
    return 0;
}
