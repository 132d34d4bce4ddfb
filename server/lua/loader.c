/* loader — route files -> a generation's route table. Every *.lua file under
 * the routes dir (subfolders included, sorted by path) returns a table of
 * routes:
 *   { "GET", "/users/:id", handler }                  -- array entries
 *   { method = "GET", path = "/users/:id", handler = handler }
 *   ["GET /users/:id"] = handler                      -- string keys
 *   consumers = { { queue = ..., handler = ... } }      -- SQS consumers (consumer.h)
 *   timers = { { name = ..., every = 30, handler = ... } } -- periodic handlers (timers.h)
 * Files and folders whose name starts with '_', '.' or '#' are not route
 * files (helpers for `require`, editor temporaries): route_set.h. */
#include "http/served_method.h"
#include "lua/consumer.h"
#include "lua/gen.h"
#include "lua/route_set.h"
#include "lua/timers.h"
#include "lua/watchdog.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

typedef struct files {
    char **v;
    size_t n, cap;
} files_t;

static int push_file(files_t *f, char *path)
{
    if (!path) return -1;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        char **v = realloc(f->v, cap * sizeof *v);
        if (!v) return free(path), -1;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = path;
    return 0;
}

#define MAX_DEPTH 32

/* The folders from the routes folder down to the one being read, to tell a
 * symbolic link that leads back up (routes/self -> ..) from deep nesting. */
typedef struct ancestors {
    struct {
        dev_t dev;
        ino_t ino;
        const char *path;
    } v[MAX_DEPTH + 2];
    int n;
} ancestors_t;

/* path is there (lstat) but stat failed with errno e: -1 with *err naming it
 * and where it leads ("routes/b.lua: a symbolic link to a missing file
 * (releases/41/b.lua)"). */
static int broken_link(const char *path, int e, char **err)
{
    char to[PATH_MAX];
    ssize_t n = readlink(path, to, sizeof to - 1);
    to[n > 0 ? n : 0] = 0;
    if (n > 0 && e == ENOENT)
        *err = tycho_lua_strdupf("%s: a symbolic link to a missing file (%s)", path, to);
    else
        *err = tycho_lua_strdupf("%s: cannot read it: %s", path, strerror(e));
    return -1;
}

static int scan(const char *dir, const struct stat *dst, ancestors_t *up, files_t *f, char **err)
{
    for (int i = 0; i < up->n; i++)
        if (up->v[i].dev == dst->st_dev && up->v[i].ino == dst->st_ino)
            return *err = tycho_lua_strdupf("%s: a symbolic link loop: this folder is %s", dir,
                                            up->v[i].path),
                   -1;
    if (up->n > MAX_DEPTH) return *err = tycho_lua_strdupf("%s: folders nested too deep", dir), -1;
    DIR *d = opendir(dir);
    if (!d) return *err = tycho_lua_strdupf("%s: cannot open directory: %m", dir), -1;
    up->v[up->n].dev = dst->st_dev;
    up->v[up->n].ino = dst->st_ino;
    up->v[up->n].path = dir;
    up->n++;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        char *path = tycho_lua_strdupf("%s/%s", dir, name);
        if (!path) {
            rc = -1;
            break;
        }
        struct stat st; /* an entry that vanished meanwhile (editor rename) is skipped */
        int found = stat(path, &st) == 0, stat_errno = errno;
        if (!found && lstat(path, &st) == 0 &&
            tycho_route_set_kind(name, 0) == TYCHO_ROUTE_SET_ROUTES) {
            /* a route file's link whose target is gone (a release folder
             * removed): skipping it would drop its routes without a word */
            rc = broken_link(path, stat_errno, err);
        } else if (found &&
                   tycho_route_set_kind(name, S_ISDIR(st.st_mode)) == TYCHO_ROUTE_SET_ROUTES) {
            if (S_ISDIR(st.st_mode)) {
                rc = scan(path, &st, up, f, err);
            } else if (S_ISREG(st.st_mode)) {
                rc = push_file(f, path); /* takes path */
                path = NULL;
            }
        }
        free(path);
    }
    closedir(d);
    up->n--;
    if (rc != 0 && !*err) *err = tycho_lua_strdupf("%s: out of memory", dir);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pushes "file:line: " of the innermost Lua function on the stack ("" when
 * there is none): where error() was called from, for errors Lua gives no
 * position (a table). */
static void push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "l", &ar) && ar.currentline > 0) {
            luaL_where(L, level);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* The message handler of a route file's run: the error as one string, with
 * the traceback. A table error reads as handlers' do (its own `message`,
 * gen.h) and gets the file:line that raised it. */
static int traceback(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
        char buf[64];
        const char *msg = tycho_lua_error_text(L, buf, sizeof buf);
        push_where(L);
        lua_pushstring(L, msg);
        lua_concat(L, 2);
    }
    luaL_traceback(L, L, lua_tostring(L, -1), 1);
    return 1;
}

/* A Lua error message on one line, without the traceback the handler
 * added: require's messages go on over indented lines ("error loading
 * module 'm' from file 'f':\n\tf:3: unexpected symbol...", or the list of
 * files it tried), which are joined with "; " so the file:line that went
 * wrong is kept. */
static char *one_line(const char *msg)
{
    if (!msg) return strdup("(error object is not a string)");
    const char *end = strstr(msg, "\nstack traceback:");
    size_t n = end ? (size_t)(end - msg) : strlen(msg);
    char *out = malloc(n * 2 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (msg[i] != '\n') {
            *o++ = msg[i];
            continue;
        }
        while (i + 1 < n && (msg[i + 1] == '\t' || msg[i + 1] == ' '))
            i++;
        if (o > out && o[-1] != ':') *o++ = ';';
        *o++ = ' ';
    }
    *o = '\0';
    return out;
}

/* The line of file where a Lua function is defined: the value at idx, or
 * else the first function among the own values of the table at idx; 0 if
 * none is defined in file. */
static int line_defined(lua_State *L, int idx, const char *file)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    int line = 0;
    if (lua_istable(L, idx)) {
        lua_pushnil(L);
        while (line == 0 && lua_next(L, idx)) {
            line = tycho_lua_line_in_file(L, -1, file);
            lua_pop(L, 1);
        }
        if (line != 0) lua_pop(L, 1); /* the key lua_next left */
        return line;
    }
    return tycho_lua_line_in_file(L, idx, file);
}

/* Where a route table entry (its handler, or the entry itself, at idx) is
 * declared: "file:line", or "file" when Lua cannot tell (tables carry no line
 * numbers: the line is that of a function in the entry, defined in file). */
static void entry_where(lua_State *L, int idx, const char *file, char *out, size_t n)
{
    int line = line_defined(L, idx, file);
    if (line > 0)
        snprintf(out, n, "%s:%d", file, line);
    else
        snprintf(out, n, "%s", file);
}

/* A route's method and pattern as the router reads them, C strings: a NUL
 * byte inside would cut them short there ("/a\0b" would serve /a). */
static char *nul_inside(const char *where, const char *method, size_t mlen, const char *pattern,
                        size_t plen)
{
    if (strlen(method) != mlen)
        return tycho_lua_strdupf("%s: bad method '%s...': it holds a NUL byte", where, method);
    if (strlen(pattern) != plen)
        return tycho_lua_strdupf("%s: bad pattern '%s...': it holds a NUL byte (%%00 in a "
                                 "pattern matches one)",
                                 where, pattern);
    return NULL;
}

static int add_route(tycho_lua_gen_t *g, const char *file, const char *method, size_t mlen,
                     const char *pattern, size_t plen, int fn_idx, char **err)
{
    lua_State *L = g->L;
    char where[PATH_MAX + 16];
    entry_where(L, fn_idx, file, where, sizeof where);
    tycho_lua_route_t *r = calloc(1, sizeof *r);
    if (!r) return *err = tycho_lua_strdupf("out of memory"), -1;
    r->pattern = strdup(pattern);
    r->where = strdup(where);
    if (!r->pattern || !r->where) {
        *err = tycho_lua_strdupf("out of memory");
        goto fail;
    }
    if ((*err = nul_inside(where, method, mlen, pattern, plen)) != NULL) goto fail;
    if (tycho_method_valid(method, mlen) && !tycho_http_served_method(method, mlen)) {
        char list[512];
        tycho_http_served_methods(list, sizeof list);
        *err = tycho_lua_strdupf("%s: method %s cannot be served: the HTTP parser answers 501 to "
                                 "it (methods a route may declare: %s)",
                                 where, method, list);
        goto fail;
    }
    if (g->nroutes == g->caproutes) {
        size_t cap = g->caproutes ? g->caproutes * 2 : 16;
        tycho_lua_route_t **v = realloc(g->routes, cap * sizeof *v);
        if (!v) {
            *err = tycho_lua_strdupf("out of memory");
            goto fail;
        }
        g->routes = v;
        g->caproutes = cap;
    }
    char rerr[256];
    void *prev = NULL;
    int rc = tycho_router_add(g->router, method, pattern, r, &prev, rerr, sizeof rerr);
    if (rc == TYCHO_ROUTER_CONFLICT) {
        const tycho_lua_route_t *p = prev;
        *err = tycho_lua_strdupf("%s: route %s %s is already declared at %s (as %s)", r->where,
                                 method, pattern, p->where, p->pattern);
        goto fail;
    }
    if (rc != 0) {
        *err = tycho_lua_strdupf("%s: %s", r->where, rerr);
        goto fail;
    }
    memcpy(r->method, method, mlen + 1); /* the router took it: at most its maximum */
    lua_pushvalue(L, fn_idx);
    r->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    r->label = g->intern ? g->intern(g->runtime, pattern) : NULL;
    if (!r->label) r->label = r->pattern;
    g->routes[g->nroutes++] = r;
    return 0;
fail:
    free(r->pattern);
    free(r->where);
    free(r);
    return -1;
}

/* An entry (at index e) holds either the array elements 1..3 or the fields
 * method, path and handler: anything else (a 4th element, a misspelt or
 * made-up option such as `timeout = 5`, the two spellings mixed) is refused
 * rather than silently ignored. */
static int check_entry_keys(lua_State *L, int e, const char *where, size_t i, char **err)
{
    lua_rawgeti(L, e, 1);
    int named = lua_isnil(L, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, e)) {
        lua_pop(L, 1); /* the value */
        int ok;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            ok = named &&
                 (strcmp(k, "method") == 0 || strcmp(k, "path") == 0 || strcmp(k, "handler") == 0);
        } else if (lua_type(L, -1) == LUA_TNUMBER) {
            double k = lua_tonumber(L, -1);
            ok = !named && (k == 1 || k == 2 || k == 3);
        } else {
            ok = 0;
        }
        if (ok) continue;
        if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == 4 && !named) {
            lua_rawgeti(L, e, 4);
            *err = tycho_lua_strdupf("%s: route #%zu: unexpected 4th element (a %s): expected "
                                     "{ \"METHOD\", \"/path\", handler }",
                                     where, i, luaL_typename(L, -1));
        } else {
            char key[80];
            tycho_lua_describe_key(L, -1, key, sizeof key);
            *err = tycho_lua_strdupf("%s: route #%zu: unexpected key %s: an entry is "
                                     "{ \"METHOD\", \"/path\", handler } or "
                                     "{ method = ..., path = ..., handler = ... }, nothing else",
                                     where, i, key);
        }
        return -1;
    }
    return 0;
}

/* The route table returned by a file is at index `t`. */
static int read_routes(tycho_lua_gen_t *g, const char *file, int t, char **err)
{
    lua_State *L = g->L;
    size_t n = lua_objlen(L, t);
    char where[PATH_MAX + 16];
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, t, (int)i);
        int e = lua_gettop(L);
        entry_where(L, e, file, where, sizeof where);
        if (!lua_istable(L, e)) {
            *err = tycho_lua_strdupf("%s: route #%zu: expected { \"METHOD\", \"/path\", handler }, "
                                     "got a %s",
                                     where, i, luaL_typename(L, e));
            return -1;
        }
        if (check_entry_keys(L, e, where, i, err) != 0) return -1;
        lua_rawgeti(L, e, 1);
        lua_rawgeti(L, e, 2);
        lua_rawgeti(L, e, 3);
        if (lua_isnil(L, -3)) {
            lua_settop(L, e);
            lua_getfield(L, e, "method");
            lua_getfield(L, e, "path");
            lua_getfield(L, e, "handler");
        }
        if (lua_type(L, -3) != LUA_TSTRING || lua_type(L, -2) != LUA_TSTRING ||
            lua_type(L, -1) != LUA_TFUNCTION) {
            *err = tycho_lua_strdupf("%s: route #%zu: expected { \"METHOD\", \"/path\", handler } "
                                     "(got %s, %s, %s)",
                                     where, i, luaL_typename(L, -3), luaL_typename(L, -2),
                                     luaL_typename(L, -1));
            return -1;
        }
        size_t mlen, plen;
        const char *method = lua_tolstring(L, -3, &mlen);
        const char *pattern = lua_tolstring(L, -2, &plen);
        if (add_route(g, file, method, mlen, pattern, plen, lua_gettop(L), err) != 0) return -1;
        lua_settop(L, e - 1);
    }
    /* string keys "METHOD /path" = handler; the array part was handled above */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int kt = lua_type(L, -2);
        if (kt == LUA_TNUMBER) {
            double k = lua_tonumber(L, -2);
            if (k >= 1 && k <= (double)n && k == (double)(size_t)k) {
                lua_pop(L, 1);
                continue;
            }
        }
        entry_where(L, -1, file, where, sizeof where);
        if (kt != LUA_TSTRING) {
            *err = tycho_lua_strdupf("%s: unexpected key of type %s in the route table", where,
                                     lua_typename(L, kt));
            return -1;
        }
        size_t klen;
        const char *key = lua_tolstring(L, -2, &klen);
        if (strcmp(key, "consumers") == 0) { /* SQS consumers (consumer.h) */
            if (tycho_lua_consumers_read(g, file, lua_gettop(L), err) != 0) return -1;
            lua_pop(L, 1);
            continue;
        }
        if (strcmp(key, "timers") == 0) { /* periodic handlers (timers.h) */
            if (tycho_lua_timers_read(g, file, lua_gettop(L), err) != 0) return -1;
            lua_pop(L, 1);
            continue;
        }
        const char *sp = strchr(key, ' ');
        if (!sp || sp == key || sp[1] != '/') {
            /* a misspelt consumers/timers, or a route key without its space */
            *err = tycho_lua_strdupf("%s: key '%s': expected [\"METHOD /path\"] = handler, "
                                     "consumers = {...} or timers = {...}",
                                     where, key);
            return -1;
        }
        if (lua_type(L, -1) != LUA_TFUNCTION) {
            *err =
                tycho_lua_strdupf("%s: key '%s': expected [\"METHOD /path\"] = handler, got a %s "
                                  "where the handler function goes",
                                  where, key, luaL_typename(L, -1));
            return -1;
        }
        int fn = lua_gettop(L);
        size_t mlen;
        lua_pushlstring(L, key, (size_t)(sp - key)); /* the method, NUL-terminated */
        const char *method = lua_tolstring(L, -1, &mlen);
        const char *pattern = sp + 1;
        if (add_route(g, file, method, mlen, pattern, klen - (size_t)(pattern - key), fn, err) != 0)
            return -1;
        lua_pop(L, 2);
    }
    return 0;
}

static int load_file(tycho_lua_gen_t *g, const char *file, char **err)
{
    lua_State *L = g->L;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    if (luaL_loadfile(L, file) != 0) {
        char *m = one_line(lua_tostring(L, -1));
        *err = m;
        lua_settop(L, base);
        return -1;
    }
    if (lua_pcall(L, 0, LUA_MULTRET, base + 1) != 0) {
        char *m = one_line(lua_tostring(L, -1));
        *err = tycho_lua_strdupf("%s (while loading %s)", m ? m : "error", file);
        free(m);
        lua_settop(L, base);
        return -1;
    }
    int rc = 0, returned = lua_gettop(L) > base + 1;
    lua_settop(L, base + 2); /* its first value (nil when it returned nothing) */
    if (!lua_istable(L, -1)) {
        /* most often a file with no return at its end, or a helper module
         * that is no route file: the message says both ways out */
        const char *article = !returned || lua_isnil(L, -1) ? "" : "a ";
        *err = tycho_lua_strdupf(
            "%s: returned %s%s; a route file must return a table of its routes, such as return "
            "{ [\"GET /hello\"] = function(req) return \"hi\" end } (a module for require "
            "that is no route file needs a name starting with '_')",
            file, article, returned ? luaL_typename(L, -1) : "nothing");
        rc = -1;
    } else {
        rc = read_routes(g, file, lua_gettop(L), err);
    }
    lua_settop(L, base);
    return rc;
}

/* Runs the files in order under one deadline, cfg->load_timeout for the
 * whole load: past it the watchdog's hook raises in whatever Lua code runs
 * (a route file, a module it requires), and the error names the route file
 * being loaded. Without a slot (no watchdog thread) nothing is enforced. */
static int load_files(tycho_lua_gen_t *g, const files_t *f, tycho_watchdog_slot_t *wd, char **err)
{
    double timeout = wd && g->cfg ? g->cfg->load_timeout : 0;
    lua_State *prev_co = NULL;
    uint64_t prev_deadline = 0;
    if (timeout > 0)
        prev_deadline = tycho_watchdog_enter_raising(
            wd, g->L, uv_hrtime() + (uint64_t)(timeout * 1e9),
            "loading the route files took longer than TYCHO_LOAD_TIMEOUT", &prev_co);
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < f->n)
        rc = load_file(g, f->v[i++], err);
    if (timeout > 0 && tycho_watchdog_leave(wd, prev_co, prev_deadline)) {
        free(*err); /* the hook's error, or what a pcall made of it */
        *err = tycho_lua_strdupf("%s: loading took longer than %g s (TYCHO_LOAD_TIMEOUT)",
                                 f->v[i - 1], timeout);
        rc = -1;
    }
    return rc;
}

int tycho_lua_load_routes(tycho_lua_gen_t *g, const char *dir, tycho_watchdog_slot_t *wd,
                          char **err)
{
    files_t f = {0};
    ancestors_t up = {.n = 0};
    struct stat st = {0};
    *err = NULL;
    (void)stat(dir, &st); /* a folder that is not there: opendir says so */
    int rc = scan(dir, &st, &up, &f, err);
    if (rc == 0) {
        /* no route file at all (every one deleted, a folder being refilled):
         * f.v is NULL, which qsort may not be given even for 0 items */
        if (f.n > 1) qsort(f.v, f.n, sizeof *f.v, cmp_str);
        rc = load_files(g, &f, wd, err);
    }
    for (size_t i = 0; i < f.n; i++)
        free(f.v[i]);
    free(f.v);
    if (rc != 0 && !*err) *err = tycho_lua_strdupf("%s: out of memory", dir);
    return rc;
}
