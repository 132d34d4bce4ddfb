#include "core/wakeup.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int tycho_wakeup_init(tycho_wakeup_t *w)
{
    *w = (tycho_wakeup_t){.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    return w->fd < 0 ? -errno : 0;
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    tycho_wakeup_t *w = p->data;
    uint64_t n;
    ssize_t r = read(w->fd, &n, sizeof n);
    (void)r; /* EAGAIN: already reset */
    w->cb(w->ud);
}

int tycho_wakeup_start(tycho_wakeup_t *w, uv_loop_t *loop, void (*cb)(void *ud), void *ud)
{
    w->cb = cb;
    w->ud = ud;
    int rc = uv_poll_init(loop, &w->poll, w->fd);
    if (rc) return rc;
    w->poll.data = w;
    if ((rc = uv_poll_start(&w->poll, UV_READABLE, on_readable)) != 0) {
        uv_close((uv_handle_t *)&w->poll, NULL);
        return rc;
    }
    w->started = 1;
    return 0;
}

void tycho_wakeup_signal(tycho_wakeup_t *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->fd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is full, the fd readable anyway */
}

void tycho_wakeup_stop(tycho_wakeup_t *w)
{
    if (!w->started) return;
    w->started = 0;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, NULL);
}

void tycho_wakeup_free(tycho_wakeup_t *w)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}
