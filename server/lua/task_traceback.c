#include "lua/task_traceback.h"

#include <lauxlib.h>
#include <string.h>

#define HEAD "\nstack traceback:\n\t"

/* The digits of msg's "<src>:<digits>:" prefix into line (n bytes), or 0. */
static int line_of(const char *msg, const char *src, char *line, size_t n)
{
    size_t slen = strlen(src), d = 0;
    if (strncmp(msg, src, slen) != 0 || msg[slen] != ':') return 0;
    const char *p = msg + slen + 1;
    while (p[d] >= '0' && p[d] <= '9' && d + 1 < n)
        d++;
    if (d == 0 || p[d] != ':') return 0;
    memcpy(line, p, d);
    line[d] = '\0';
    return 1;
}

const char *tycho_lua_task_traceback(lua_State *L, lua_State *co, const char *msg)
{
    luaL_traceback(L, co, msg, 0);
    const char *tb = lua_tostring(L, -1);
    lua_Debug ar;
    char line[16];
    if (!lua_getstack(co, 0, &ar) || !lua_getinfo(co, "Sl", &ar) || ar.currentline > 0 ||
        strcmp(ar.what, "C") == 0 || !line_of(msg, ar.short_src, line, sizeof line))
        return tb;
    /* the first frame, right after the message: "<src>: in ..." */
    const char *top = tb + strlen(msg);
    size_t slen = strlen(ar.short_src);
    if (strncmp(top, HEAD, strlen(HEAD)) != 0) return tb;
    top += strlen(HEAD);
    if (strncmp(top, ar.short_src, slen) != 0 || strncmp(top + slen, ": in ", 5) != 0) return tb;
    top += slen;
    lua_pushlstring(L, tb, (size_t)(top - tb));
    lua_pushfstring(L, ":%s%s", line, top);
    lua_concat(L, 2);
    lua_remove(L, -2);
    return lua_tostring(L, -1);
}
