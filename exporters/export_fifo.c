#include "exporters/export_fifo.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#define CHUNK_MIN (64 * 1024)
#define ALIGN alignof(max_align_t)

struct tycho_export_fifo_chunk {
    struct tycho_export_fifo_chunk *next; /* newer */
    size_t cap, used;
    size_t live; /* allocations not released yet */
    alignas(max_align_t) char data[];
};

typedef struct tycho_export_fifo_chunk chunk_t;

/* A chunk with room for n bytes: the spare when it is big enough, else a
 * new one. NULL on ENOMEM. */
static chunk_t *chunk_get(tycho_export_fifo_t *f, size_t n)
{
    chunk_t *c = f->spare;
    if (c && c->cap >= n) {
        f->spare = NULL;
    } else {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        if (cap > SIZE_MAX - sizeof *c || !(c = malloc(sizeof *c + cap))) return NULL;
        c->cap = cap;
    }
    c->next = NULL;
    c->used = 0;
    c->live = 0;
    return c;
}

void *tycho_export_fifo_alloc(tycho_export_fifo_t *f, size_t n)
{
    if (n > SIZE_MAX - ALIGN) return NULL;
    n = (n + ALIGN - 1) & ~(ALIGN - 1);
    chunk_t *c = f->tail;
    if (!c || c->cap - c->used < n) {
        if (!(c = chunk_get(f, n))) return NULL;
        if (f->tail)
            f->tail->next = c;
        else
            f->head = c;
        f->tail = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    c->live++;
    return p;
}

/* The oldest chunk, all released: the newest is reset in place, an older
 * one leaves the list, kept as the spare when there is none. */
static void retire_head(tycho_export_fifo_t *f)
{
    chunk_t *c = f->head;
    if (c == f->tail) {
        c->used = 0;
        return;
    }
    f->head = c->next;
    if (f->spare)
        free(c);
    else
        f->spare = c;
}

void tycho_export_fifo_release(tycho_export_fifo_t *f)
{
    /* an emptied chunk stays the head while it is the newest: chunks that
     * came after it since hold nothing of it */
    while (f->head->live == 0 && f->head != f->tail)
        retire_head(f);
    if (f->head->live && --f->head->live == 0) retire_head(f);
}

void tycho_export_fifo_free(tycho_export_fifo_t *f)
{
    while (f->head) {
        chunk_t *c = f->head;
        f->head = c->next;
        free(c);
    }
    free(f->spare);
    f->tail = f->spare = NULL;
}
