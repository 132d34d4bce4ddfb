#define _GNU_SOURCE
#include "lua/gen.h"

#include "core/log.h"
#include "lua/blocking_calls.h"
#include "lua/cstack.h"
#include "lua/default_files.h"
#include "lua/global_guard.h"
#include "lua/libs.h"
#include "lua/os_exit.h"
#include "lua/request.h"
#include "lua/require_retry.h"

#include <lauxlib.h>
#include <luajit.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char GEN_KEY[] = "tycho.gen";

char *tycho_lua_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

int tycho_lua_error_at(lua_State *L, int level, const char *fmt, ...)
{
    va_list ap;
    luaL_where(L, level);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void tycho_lua_resolve_lua_dir(const tycho_config_t *cfg, char *out, size_t outlen)
{
    if (cfg && cfg->lua_dir[0]) {
        snprintf(out, outlen, "%s", cfg->lua_dir);
        return;
    }
#ifdef TYCHO_SOURCE_LUA_DIR
    if (is_dir(TYCHO_SOURCE_LUA_DIR "/tycho")) {
        snprintf(out, outlen, "%s", TYCHO_SOURCE_LUA_DIR);
        return;
    }
#endif
#ifdef TYCHO_INSTALL_LUA_DIR
    if (is_dir(TYCHO_INSTALL_LUA_DIR "/tycho")) {
        snprintf(out, outlen, "%s", TYCHO_INSTALL_LUA_DIR);
        return;
    }
#endif
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, outlen, "./lua");
        return;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(out, outlen, "%s/../share/tycho/lua", exe);
}

int tycho_lua_rawfield(lua_State *L, int idx, const char *key)
{
    idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
    lua_pushstring(L, key);
    lua_rawget(L, idx);
    return lua_type(L, -1);
}

void tycho_lua_describe_key(lua_State *L, int idx, char *out, size_t n)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING)
        snprintf(out, n, "'%s'", lua_tostring(L, idx));
    else if (t == LUA_TNUMBER)
        snprintf(out, n, "[%.17g]", lua_tonumber(L, idx));
    else
        snprintf(out, n, "(a %s)", lua_typename(L, t));
}

int tycho_lua_is_list(lua_State *L, int idx, char *bad_key, size_t n)
{
    idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
    size_t len = lua_objlen(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1); /* the value */
        int t = lua_type(L, -1);
        double k = t == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        if (t == LUA_TNUMBER && k >= 1 && k <= (double)len && k == (double)(size_t)k) continue;
        tycho_lua_describe_key(L, -1, bad_key, n);
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

int tycho_lua_line_in_file(lua_State *L, int idx, const char *file)
{
    lua_Debug ar;
    if (!lua_isfunction(L, idx)) return 0;
    lua_pushvalue(L, idx);
    if (!lua_getinfo(L, ">S", &ar) || ar.linedefined <= 0) return 0;
    return ar.source[0] == '@' && strcmp(ar.source + 1, file) == 0 ? ar.linedefined : 0;
}

const char *tycho_lua_error_message(lua_State *L, int idx, size_t *len)
{
    const char *keys[] = {"message", "error"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int type = tycho_lua_rawfield(L, idx, keys[i]);
        /* the string stays referenced by the table */
        const char *s = type == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
        lua_pop(L, 1);
        if (s) return s;
    }
    return NULL;
}

const char *tycho_lua_error_text(lua_State *L, char *buf, size_t n)
{
    int type = lua_type(L, -1);
    if (type == LUA_TSTRING || type == LUA_TNUMBER) return lua_tostring(L, -1);
    const char *msg = type == LUA_TTABLE ? tycho_lua_error_message(L, -1, NULL) : NULL;
    if (msg) return msg;
    snprintf(buf, n, "(error object is a %s value)", lua_typename(L, type));
    return buf;
}

/* An error outside any protected call: nothing can recover. The line goes
 * straight to stderr (the log sink may be asynchronous, its thread would never
 * write it), reading the error without allocating: a panic inside the panic
 * handler would recurse. */
static int panic(lua_State *L)
{
    int type = lua_type(L, -1);
    const char *msg = type == LUA_TSTRING ? lua_tostring(L, -1) : lua_typename(L, type);
    const tycho_log_field_t f[] = {LF_STR("error", msg)};
    tycho_log_write_stderr(TYCHO_LOG_ERROR, "lua panic (unprotected error): aborting", f, 1);
    abort();
}

tycho_lua_gen_t *tycho_lua_gen_of(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, GEN_KEY);
    tycho_lua_gen_t *g = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return g;
}

/* package.path: the framework dir first (so a route folder cannot shadow
 * tycho.*), then the routes dir, then LuaJIT's defaults (which include the
 * Debian /usr/share/lua/5.1 tree); cpath gets the Debian lua-* C module dirs. */
static void set_paths(lua_State *L, const char *lua_dir, const char *routes_dir)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    const char *def = lua_tostring(L, -1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", lua_dir, lua_dir);
    luaL_addvalue(&b);
    if (routes_dir) {
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", routes_dir, routes_dir);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, def ? def : "");
    if (!strstr(def ? def : "", "/usr/share/lua/5.1/"))
        luaL_addstring(&b, ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua");
    luaL_pushresult(&b);
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
    lua_getfield(L, -1, "cpath");
    lua_pushfstring(L,
                    "%s;/usr/local/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;"
                    "/usr/lib/lua/5.1/?.so",
                    lua_tostring(L, -1));
    lua_setfield(L, -3, "cpath");
    lua_pop(L, 2);
}

static char *strip_dot(const char *dir)
{
    while (dir[0] == '.' && dir[1] == '/')
        dir += 2;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strndup(dir, n);
}

tycho_lua_gen_t *tycho_lua_gen_new(const tycho_lua_gen_opts_t *o, char **err)
{
    *err = NULL;
    tycho_lua_gen_t *g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->id = o->id;
    g->load = o->load;
    g->cfg = o->cfg;
    g->sched = o->sched;
    g->runtime = o->runtime;
    g->intern = o->intern;
    g->lua_dir = strdup(o->lua_dir);
    if (!g->lua_dir) goto nomem;
    if (o->routes_dir) {
        g->routes_dir = strip_dot(o->routes_dir);
        if (!g->routes_dir) goto nomem;
    }
    g->router = tycho_router_new();
    if (!g->router) goto nomem;
    /* GC64 LuaJIT (x64 default since 2.1) accepts a custom allocator; without
     * GC64 lua_newstate refuses one and returns NULL. */
    g->L = lua_newstate(tycho_lua_alloc_fn, o->alloc);
    if (!g->L) {
        *err = tycho_lua_strdupf("cannot create a Lua state (LuaJIT built without GC64 refuses "
                                 "custom allocators, or out of memory)");
        goto fail;
    }
    lua_atpanic(g->L, panic);
    luaL_openlibs(g->L);
    tycho_lua_require_retry_install(g->L);
    tycho_lua_global_guard_install(g->L);
    tycho_lua_os_exit_install(g->L);
    tycho_lua_cstack_install(g->L);
    if (o->jit_off) luaJIT_setmode(g->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_pushlightuserdata(g->L, g);
    lua_setfield(g->L, LUA_REGISTRYINDEX, GEN_KEY);
    set_paths(g->L, g->lua_dir, g->routes_dir);
    tycho_lua_open_libs(g->L);
    if (o->stdout_to_log) tycho_lua_stdout_to_log(g->L);
    if (o->task_guards) {
        tycho_lua_blocking_calls_install(g->L);
        tycho_lua_default_files_install(g->L);
    }
    g->req_mt_ref = tycho_lua_request_init(g->L);
    if (g->routes_dir) {
        if (!is_dir(g->routes_dir)) {
            /* optional means "may be absent", not "may be a file": a file
             * there is a slip (--routes routes/users.lua) said at once */
            if (access(g->routes_dir, F_OK) == 0) {
                *err = tycho_lua_strdupf("%s: not a directory: the routes setting takes the "
                                         "folder of route files",
                                         g->routes_dir);
                goto fail;
            }
            if (!o->routes_optional) {
                *err = tycho_lua_strdupf("%s: routes directory not found", g->routes_dir);
                goto fail;
            }
        } else if (tycho_lua_load_routes(g, g->routes_dir, o->watchdog, err) != 0) {
            goto fail;
        }
    }
    lua_settop(g->L, 0);
    lua_gc(g->L, LUA_GCCOLLECT, 0);
    return g;
nomem:
    *err = tycho_lua_strdupf("out of memory");
fail:
    tycho_lua_gen_free(g);
    return NULL;
}

void tycho_lua_gen_free(tycho_lua_gen_t *g)
{
    if (!g) return;
    if (g->L) lua_close(g->L);
    tycho_router_free(g->router);
    for (size_t i = 0; i < g->nroutes; i++) {
        free(g->routes[i]->pattern);
        free(g->routes[i]->where);
        free(g->routes[i]);
    }
    free(g->routes);
    free(g->pool);
    free(g->routes_dir);
    free(g->lua_dir);
    free(g);
}
