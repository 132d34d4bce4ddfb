/* export_fifo — memory for items freed in the order they were allocated (the
 * Loki entries of the logs pipe, queued then sent oldest first): chunks of at
 * least 64 KiB, bumped into, a chunk freed once every item in it is
 * released. No malloc or free per item; at most one emptied chunk is kept
 * for reuse. A queued item can keep up to one chunk alive beyond its own
 * bytes. Owned by one thread. */
#ifndef TYCHO_EXPORTERS_EXPORT_FIFO_H
#define TYCHO_EXPORTERS_EXPORT_FIFO_H

#include <stddef.h>

typedef struct tycho_export_fifo {
    struct tycho_export_fifo_chunk *head, *tail; /* oldest, newest; NULL when empty */
    struct tycho_export_fifo_chunk *spare;
} tycho_export_fifo_t;

#define TYCHO_EXPORT_FIFO_INIT                                                                     \
    {                                                                                              \
        NULL, NULL, NULL                                                                           \
    }

/* n bytes aligned for any type, not zeroed; NULL on ENOMEM. */
void *tycho_export_fifo_alloc(tycho_export_fifo_t *f, size_t n);
/* Releases the oldest allocation still held (there must be one). */
void tycho_export_fifo_release(tycho_export_fifo_t *f);
/* Frees everything, held or not; f is empty (and usable) again. */
void tycho_export_fifo_free(tycho_export_fifo_t *f);

#endif
