#include "lua/route_set.h"

#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

tycho_route_set_kind_t tycho_route_set_kind(const char *name, int is_dir)
{
    if (name[0] == '.' || name[0] == '#') return TYCHO_ROUTE_SET_NONE;
    if (!is_dir && !ends_with(name, ".lua")) return TYCHO_ROUTE_SET_NONE;
    return name[0] == '_' ? TYCHO_ROUTE_SET_MODULE : TYCHO_ROUTE_SET_ROUTES;
}
