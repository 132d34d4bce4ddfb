#include "lua/header_value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *tycho_lua_nonfinite_name(double d)
{
    if (isfinite(d)) return NULL;
    return isnan(d) ? "NaN" : d > 0 ? "inf" : "-inf";
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
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(out->num, sizeof out->num, "%lld", (long long)d);
    else
        snprintf(out->num, sizeof out->num, "%.17g", d);
    out->p = out->num;
    out->n = strlen(out->num);
    return 0;
}
