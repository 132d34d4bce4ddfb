/* route_set — which entries of the routes folder (and of the framework
 * folder) make up the application, by name and kind: the one rule the loader
 * follows to pick route files and the watcher follows to pick the edits that
 * reload. Pure function, any thread. */
#ifndef TYCHO_LUA_ROUTE_SET_H
#define TYCHO_LUA_ROUTE_SET_H

typedef enum tycho_route_set_kind {
    TYCHO_ROUTE_SET_NONE,   /* not part of it: a name starting with '.' or '#' (hidden
                             * files, editor temporaries), a file other than *.lua */
    TYCHO_ROUTE_SET_MODULE, /* a name starting with '_': a helper for require (or a
                             * folder of them), read only through require */
    TYCHO_ROUTE_SET_ROUTES, /* a route file (*.lua), or a folder that may hold some */
} tycho_route_set_kind_t;

/* What the folder entry `name` (no '/') is; is_dir says whether it is a
 * folder, whatever its name (`api.v2` is a folder like any other). */
tycho_route_set_kind_t tycho_route_set_kind(const char *name, int is_dir);

#endif
