/* tycho.net — address checks for route code:
 *   net.in_cidrs(ip, "10.0.0.0/8,fc00::/7") -> true | false
 * The ranges use TYCHO_TRUSTED_PROXIES' syntax (core/cidr); a bad range list
 * is a Lua error naming the bad range; an ip that is not an address is false. */
#include "core/cidr.h"
#include "lua/libs.h"

#include <lauxlib.h>

#define MAX_RANGES 64

static int l_in_cidrs(lua_State *L)
{
    const char *ip = luaL_checkstring(L, 1);
    const char *list = luaL_checkstring(L, 2);
    tycho_cidr_t v[MAX_RANGES];
    int n;
    char err[256];
    if (tycho_cidr_parse_list(list, v, MAX_RANGES, &n, err, sizeof err) != 0)
        return luaL_error(L, "tycho.net.in_cidrs: bad ranges: %s", err);
    lua_pushboolean(L, tycho_cidr_contains(v, n, ip));
    return 1;
}

int luaopen_tycho_net(lua_State *L)
{
    static const luaL_Reg fns[] = {{"in_cidrs", l_in_cidrs}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
