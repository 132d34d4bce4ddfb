/* export_arena — a bump allocator for building one protobuf-c message tree
 * (an export request) without a malloc per node: everything is released at
 * once with tycho_export_arena_free. Owned by one thread. */
#ifndef TYCHO_EXPORTERS_EXPORT_ARENA_H
#define TYCHO_EXPORTERS_EXPORT_ARENA_H

#include <stddef.h>

typedef struct tycho_export_arena {
    struct tycho_export_arena_chunk *chunks;
    char *cur;
    size_t left;
    int failed; /* an allocation failed: the tree is incomplete */
} tycho_export_arena_t;

#define TYCHO_EXPORT_ARENA_INIT                                                                    \
    {                                                                                              \
        NULL, NULL, 0, 0                                                                           \
    }

/* n bytes aligned for any type, zeroed; NULL (and failed set) on ENOMEM. */
void *tycho_export_arena_alloc(tycho_export_arena_t *a, size_t n);
/* An array of n elements of size elem (zeroed); overflow-checked. */
void *tycho_export_arena_array(tycho_export_arena_t *a, size_t n, size_t elem);
/* s[0..n) (s[n] must be readable) as a NUL-terminated valid UTF-8 string: s itself when it already
 * is one (s[n] == 0 and valid), else a copy with each invalid sequence
 * replaced by U+FFFD. NULL on ENOMEM. */
char *tycho_export_arena_utf8(tycho_export_arena_t *a, const char *s, size_t n);
/* The same for a string whose length the caller keeps, as the protobuf
 * writers send it: *n becomes the result's length; trusted (the caller knows
 * s[0..*n) is valid UTF-8 without NUL) returns s as it is, unchecked. */
const char *tycho_export_arena_utf8_n(tycho_export_arena_t *a, const char *s, size_t *n,
                                      int trusted);
void tycho_export_arena_free(tycho_export_arena_t *a);

#endif
