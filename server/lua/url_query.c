#include "lua/url_query.h"

#include "core/percent.h"
#include "lua/header_value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_ref {
    const char *p; /* a key of the table, alive while the table is */
    size_t n;
} name_ref_t;

static int by_bytes(const void *a, const void *b)
{
    const name_ref_t *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    if (c) return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* name=value for the value at the top of L. 0, -1 (err set) or -ENOMEM. */
static int add_pair(lua_State *L, const name_ref_t *name, tycho_buf_t *out, char *err,
                    size_t errlen)
{
    tycho_lua_header_value_t v;
    char why[96];
    if (tycho_lua_header_value(L, -1, &v, why, sizeof why) != 0) {
        snprintf(err, errlen, "query '%.*s': %s", (int)(name->n > 64 ? 64 : name->n), name->p, why);
        return -1;
    }
    if (out->len && tycho_buf_append(out, "&", 1)) return -ENOMEM;
    if (tycho_percent_encode(out, name->p, name->n, tycho_percent_unreserved) ||
        tycho_buf_append(out, "=", 1) ||
        tycho_percent_encode(out, v.p, v.n, tycho_percent_unreserved))
        return -ENOMEM;
    return 0;
}

/* 0, or -1 with err set when the array value at the top of L holds
 * anything but its items 1..n ({ a = 1 } would be sent as nothing). */
static int check_array(lua_State *L, const name_ref_t *name, char *err, size_t errlen)
{
    size_t n = lua_objlen(L, -1), entries = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        entries++;
        lua_pop(L, 1);
    }
    if (entries == n) return 0;
    snprintf(err, errlen,
             "query '%.*s': a table value must be an array (its items repeat the name)",
             (int)(name->n > 64 ? 64 : name->n), name->p);
    return -1;
}

/* The pairs of one name: its value, or each item of an array value. */
static int add_name(lua_State *L, int t, const name_ref_t *name, tycho_buf_t *out, char *err,
                    size_t errlen)
{
    lua_pushlstring(L, name->p, name->n);
    lua_rawget(L, t);
    int rc = 0;
    if (lua_istable(L, -1)) {
        size_t n = lua_objlen(L, -1);
        rc = check_array(L, name, err, errlen);
        for (size_t i = 1; rc == 0 && i <= n; i++) {
            lua_rawgeti(L, -1, (int)i);
            rc = add_pair(L, name, out, err, errlen);
            lua_pop(L, 1);
        }
    } else {
        rc = add_pair(L, name, out, err, errlen);
    }
    lua_pop(L, 1);
    return rc;
}

int tycho_lua_url_query(lua_State *L, int idx, tycho_buf_t *out, char *err, size_t errlen)
{
    int t = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    size_t count = 0, cap = 0;
    name_ref_t *names = NULL;
    tycho_buf_t q = TYCHO_BUF_INIT;
    int rc = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errlen, "query names must be strings, got %s",
                     lua_typename(L, lua_type(L, -2)));
            lua_pop(L, 2);
            rc = -1;
            goto done;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            name_ref_t *grown = realloc(names, ncap * sizeof *names);
            if (!grown) {
                lua_pop(L, 2);
                rc = -ENOMEM;
                goto done;
            }
            names = grown;
            cap = ncap;
        }
        names[count].p = lua_tolstring(L, -2, &names[count].n);
        count++;
        lua_pop(L, 1);
    }
    if (count) qsort(names, count, sizeof *names, by_bytes);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = add_name(L, t, &names[i], &q, err, errlen);
    if (rc == 0 && q.len && tycho_buf_append(out, q.data, q.len)) rc = -ENOMEM;
done:
    tycho_buf_free(&q);
    free(names);
    if (rc == -ENOMEM) snprintf(err, errlen, "out of memory");
    return rc ? -1 : 0;
}
