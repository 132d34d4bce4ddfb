#include "lua/query_table.h"

#include "core/percent.h"

#include <string.h>

void tycho_lua_push_decoded(lua_State *L, const char *s, size_t n, int plus)
{
    size_t i = 0;
    while (i < n && s[i] != '%' && !(plus && s[i] == '+'))
        i++;
    if (i == n) {
        lua_pushlstring(L, s, n);
        return;
    }
    /* a long one decodes into a userdata (collected even if the push below
     * raises), a short one on the stack */
    char small[512];
    char *out = n <= sizeof small ? small : lua_newuserdata(L, n);
    ssize_t len = tycho_percent_decode(s, n, out, plus ? TYCHO_PCT_PLUS_SPACE : 0);
    lua_pushlstring(L, out, (size_t)len);
    if (out != small) lua_remove(L, -2);
}

void tycho_lua_push_query(lua_State *L, const char *q, size_t n)
{
    lua_newtable(L);
    int t = lua_gettop(L);
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && q[i] != '&')
            i++;
        const char *part = q + start;
        size_t plen = i - start;
        i++;
        if (plen == 0) continue;
        const char *eq = memchr(part, '=', plen);
        size_t klen = eq ? (size_t)(eq - part) : plen;
        tycho_lua_push_decoded(L, part, klen, 1);
        if (eq)
            tycho_lua_push_decoded(L, eq + 1, plen - klen - 1, 1);
        else
            lua_pushliteral(L, "");
        lua_pushvalue(L, -2);
        lua_rawget(L, t);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_rawset(L, t);
        } else if (lua_istable(L, -1)) {
            lua_pushvalue(L, -2);
            lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
            lua_pop(L, 3);
        } else { /* second occurrence: becomes an array */
            lua_createtable(L, 2, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 2);
            lua_rawset(L, t);
        }
    }
}
