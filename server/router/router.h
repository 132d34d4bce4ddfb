/* router — the route table: method + path pattern -> opaque route data, matched
 * in C on every request (no Lua on the lookup path). A tree of path segments:
 * each node has static children, at most one `:param` child and at most one
 * `*wildcard` child; lookups try them in that order (static over param over
 * wildcard, whatever the insertion order) and backtrack when a branch does not
 * lead to a route for the method.
 *
 * Patterns: "/" followed by '/'-separated segments; a segment is static text,
 * `:name` (one non-empty segment) or `*name` (last only: the rest of the path,
 * possibly empty, without the leading '/'). Patterns and paths are compared in
 * their percent-encoded form, normalised (tycho_percent_normalize, RFC 3986
 * 6.2.2: /users/%6De is /users/me, %2F stays %2F); param values are returned
 * raw (as the request wrote them, encoded).
 *
 * Threading: a router is built on one thread and then only read; reads
 * (match/allow) need no lock as long as nobody writes. */
#ifndef TYCHO_ROUTER_H
#define TYCHO_ROUTER_H

#include <stddef.h>

#define TYCHO_ROUTER_MAX_SEGMENTS 64
#define TYCHO_ROUTER_MAX_PARAMS 16
#define TYCHO_ROUTER_MAX_METHOD 32
/* Allow lists at most this many distinct declared methods (llhttp serves 33),
 * and fits whole in TYCHO_ROUTER_ALLOW_MAX bytes: HEAD and OPTIONS added,
 * each name followed by ", " (or the NUL). */
#define TYCHO_ROUTER_ALLOW_METHODS 80
#define TYCHO_ROUTER_ALLOW_MAX ((TYCHO_ROUTER_ALLOW_METHODS + 2) * (TYCHO_ROUTER_MAX_METHOD + 2))

typedef enum { TYCHO_SEG_STATIC, TYCHO_SEG_PARAM, TYCHO_SEG_WILD } tycho_seg_kind_t;

typedef struct tycho_pattern_seg {
    tycho_seg_kind_t kind;
    const char *p; /* static text, or the param name without ':'/'*'; points into the pattern */
    size_t n;
} tycho_pattern_seg_t;

typedef struct tycho_pattern {
    size_t nsegs;
    size_t nparams; /* params + wildcard */
    tycho_pattern_seg_t segs[TYCHO_ROUTER_MAX_SEGMENTS];
} tycho_pattern_t;

/* Parses and validates a pattern (pure, no allocation: a fuzzing target).
 * Returns 0, or -1 with a message in err ("segment 2: parameter name ..."). */
int tycho_pattern_parse(const char *pattern, size_t n, tycho_pattern_t *out, char *err,
                        size_t errlen);

/* Validates an HTTP method token (upper case letters, digits, '-', '_'). */
int tycho_method_valid(const char *method, size_t n);

typedef struct tycho_router tycho_router_t;

typedef struct tycho_route_param {
    const char *name; /* owned by the router */
    size_t nlen;
    const char *value; /* points into the matched path */
    size_t vlen;
} tycho_route_param_t;

typedef struct tycho_route_match {
    void *data;          /* what tycho_router_add stored */
    const char *pattern; /* the route's pattern, owned by the router (NUL-terminated) */
    const char *method;  /* the route's method (GET when HEAD fell back to GET) */
    size_t nparams;
    tycho_route_param_t params[TYCHO_ROUTER_MAX_PARAMS];
} tycho_route_match_t;

enum {
    TYCHO_ROUTE_FOUND = 0,
    TYCHO_ROUTE_NOT_FOUND = 1,          /* no pattern matches the path */
    TYCHO_ROUTE_METHOD_NOT_ALLOWED = 2, /* some pattern matches the path, none for this method */
    TYCHO_ROUTE_BAD_PATH = 3            /* a '%' in the path without two hex digits after it */
};

#define TYCHO_ROUTER_CONFLICT 1

tycho_router_t *tycho_router_new(void); /* NULL on out of memory */
void tycho_router_free(tycho_router_t *r);

/* Adds a route. Returns 0; TYCHO_ROUTER_CONFLICT when the same method and an
 * equivalent pattern (same shape, whatever the param names) exist, with
 * *existing set to that route's data; -1 with err on a bad method/pattern or
 * out of memory. Strings are copied. */
int tycho_router_add(tycho_router_t *r, const char *method, const char *pattern, void *data,
                     void **existing, char *err, size_t errlen);

size_t tycho_router_count(const tycho_router_t *r);

/* Finds the route for method + path (HEAD: the first node in precedence order
 * with a HEAD or, else, a GET route, as the GET it stands for). On TYCHO_ROUTE_FOUND, *m is filled;
 * m's strings are valid as long as the router and the path are. TYCHO_ROUTE_BAD_PATH for an invalid
 * escape (RFC 3986 2.1: a 400); -1 when out of memory. */
int tycho_router_match(const tycho_router_t *r, const char *method, size_t mlen, const char *path,
                       size_t plen, tycho_route_match_t *m);

/* Writes the Allow value for a path ("GET, HEAD, POST, OPTIONS"; HEAD listed
 * when GET is, OPTIONS always; in the order the methods were first declared)
 * into out, NUL-terminated; a method that does not fit whole is left out
 * (TYCHO_ROUTER_ALLOW_MAX bytes hold any list). Returns the number of
 * distinct methods found for the path (0 = path unknown, invalid or out of
 * memory; out is then ""). The path "*" (OPTIONS *) lists the methods of
 * every route, and match answers it TYCHO_ROUTE_METHOD_NOT_ALLOWED: no route
 * serves it, OPTIONS is answered from Allow (RFC 9110 9.3.7). */
size_t tycho_router_allow(const tycho_router_t *r, const char *path, size_t plen, char *out,
                          size_t outlen);

/* Calls fn for every route, in insertion order. */
void tycho_router_foreach(const tycho_router_t *r,
                          void (*fn)(void *ud, const char *method, const char *pattern, void *data),
                          void *ud);

#endif
