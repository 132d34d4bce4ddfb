#include "lua/drain_notice.h"

#include <stdlib.h>

static void free_timer(uv_handle_t *h)
{
    free(h);
}

static void close_timer(tycho_drain_notice_t *n)
{
    if (!n->timer) return;
    uv_close((uv_handle_t *)n->timer, free_timer);
    n->timer = NULL;
}

void tycho_drain_notice_arm(tycho_drain_notice_t *n, void (*cb)(void *ud), void *ud)
{
    n->cb = cb;
    n->ud = ud;
}

static void on_timer(uv_timer_t *t)
{
    tycho_drain_notice_t *n = t->data;
    close_timer(n);
    void (*cb)(void *) = n->cb;
    n->cb = NULL;
    if (cb) cb(n->ud);
}

void tycho_drain_notice_deliver(tycho_drain_notice_t *n, uv_loop_t *loop)
{
    if (!n->cb || n->timer) return;
    n->timer = malloc(sizeof *n->timer);
    if (!n->timer) return;
    uv_timer_init(loop, n->timer);
    n->timer->data = n;
    uv_timer_start(n->timer, on_timer, 0, 0);
}

void tycho_drain_notice_cancel(tycho_drain_notice_t *n)
{
    n->cb = NULL;
    close_timer(n);
}
