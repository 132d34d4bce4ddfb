/* local_backend — see local_backend.h.
 *
 * Ownership of a call: created by the client (worker thread), owned by the
 * backend from the moment it is queued until it is pushed onto the client's
 * completion list, then owned by the client again, which runs the callback
 * (unless cancelled) and frees it. The only fields both threads touch are
 * the cancelled flag (atomic) and the list links under the owning mutex. */
#include "aws/local_backend.h"
#include "core/log.h"
#include "core/ratelog.h"
#include "core/thread_name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SWEEP_INTERVAL_MS 60000
#define SWEEP_FAILURE_LOG_EVERY_MS (10 * SWEEP_INTERVAL_MS)

struct tycho_local_call {
    tycho_local_call_t *next;          /* backend queue / completion list */
    tycho_local_call_t *cprev, *cnext; /* client's pending list (worker thread) */
    tycho_local_call_t *wprev, *wnext; /* backend's waiters (owner thread) */
    tycho_local_client_t *client;
    char *target;
    char *body;
    size_t len;
    tycho_local_cb cb;
    void *ud;
    atomic_int cancelled;
    /* result */
    int status;
    char *rbody;
    size_t rlen;
    /* long poll (owner thread) */
    int64_t deadline_ms;
    int64_t armed_ms; /* when its timer fires */
    int waiting;      /* linked in the backend's waiters list */
    char wait_queue[TYCHO_LOCAL_NAME_MAX];
    uv_timer_t timer;
};

struct tycho_local_client {
    tycho_local_backend_t *backend;
    uv_loop_t *loop;
    uv_async_t async;
    uv_mutex_t mu; /* guards done list and the async send/close race */
    tycho_local_call_t *done_head, *done_tail;
    tycho_local_call_t *pending; /* worker thread only */
    int inflight;                /* worker thread only */
    int closing, closed;         /* closed: uv_close started (under mu) */
    void (*on_closed)(void *);
    void *on_closed_ud;
};

struct tycho_local_backend {
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t async;
    uv_timer_t sweep;
    uv_idle_t sweep_more;      /* runs a sweep's next step, between requests */
    int64_t sweep_now_ms;      /* the running sweep's clock */
    tycho_ratelog_t sweep_log; /* owner thread: failed sweeps */
    long long sweep_failures;  /* consecutive */
    uv_sem_t ready;
    int start_rc;
    char start_err[1024];
    char dir[4096];
    int lock_fd; /* flock on <dir>/local-aws.lock while the backend runs */
    tycho_local_config_t cfg;
    tycho_local_store_t *store;
    uv_mutex_t mu; /* guards the queue and the flags below */
    tycho_local_call_t *q_head, *q_tail;
    int stopping, stopped;
    tycho_local_call_t *waiters, *waiters_tail; /* owner thread only, oldest first */
    int draining;                               /* owner thread's copy of stopping */
    atomic_int refs;
};

static void backend_unref(tycho_local_backend_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        uv_mutex_destroy(&b->mu);
        free(b);
    }
}

static void call_free(tycho_local_call_t *c)
{
    free(c->target);
    free(c->body);
    free(c->rbody);
    free(c);
}

static void set_result(tycho_local_call_t *c, int status, char *body, size_t len)
{
    free(c->rbody);
    c->status = status;
    c->rbody = body;
    c->rlen = len;
}

/* Owner thread (or a worker after the backend stopped): hands the call back
 * to its client. */
static void complete(tycho_local_call_t *c)
{
    tycho_local_client_t *cl = c->client;
    c->next = NULL;
    uv_mutex_lock(&cl->mu);
    if (cl->done_tail)
        cl->done_tail->next = c;
    else
        cl->done_head = c;
    cl->done_tail = c;
    /* Sent under the lock: the client closes its async only under the same
     * lock, once nothing is in flight, so this handle is still open. */
    if (!cl->closed) uv_async_send(&cl->async);
    uv_mutex_unlock(&cl->mu);
}

static void fail_stopped(tycho_local_call_t *c)
{
    static const char body[] = "{\"__type\":\"" LT_UNAVAILABLE "\","
                               "\"message\":\"the local AWS backend is stopped\"}";
    char *copy = strdup(body);
    set_result(c, copy ? 503 : 0, copy, copy ? sizeof body - 1 : 0);
    complete(c);
}

/* ---- owner thread --------------------------------------------------------- */

static void run(tycho_local_backend_t *b, tycho_local_call_t *c, int may_wait,
                tycho_local_result_t *res)
{
    if (tycho_local_exec(b->store, c->target, c->body, c->len, tycho_local_now_ms(), res) != 0 ||
        !res->body) {
        static const char oom[] = "{\"__type\":\"com.amazon.coral.service#InternalFailure\","
                                  "\"message\":\"out of memory\"}";
        tycho_local_result_free(res);
        res->status = 500;
        res->body = strdup(oom);
        res->len = res->body ? sizeof oom - 1 : 0;
    }
    if (!may_wait) res->wait_ms = 0;
}

static void wake_queue(tycho_local_backend_t *b, const char *queue, int depth);
static void waiter_timer_cb(uv_timer_t *t);

/* A message of queue becomes receivable at at_ms, later than now: the
 * queue's waiters whose timers would fire after that look again then
 * (their next_ready_ms predates the message's delay or visibility). */
static void wake_queue_at(tycho_local_backend_t *b, const char *queue, int64_t at_ms, int64_t now)
{
    for (tycho_local_call_t *c = b->waiters; c; c = c->wnext)
        if (c->armed_ms > at_ms && strcmp(c->wait_queue, queue) == 0) {
            c->armed_ms = at_ms;
            uv_timer_start(&c->timer, waiter_timer_cb, (uint64_t)(at_ms - now), 0);
        }
}

static void notify_all(tycho_local_backend_t *b, const tycho_local_result_t *res, int depth)
{
    int64_t now = tycho_local_now_ms();
    for (int i = 0; i < res->nnotify; i++) {
        if (res->notify[i].at_ms > now)
            wake_queue_at(b, res->notify[i].queue, res->notify[i].at_ms, now);
        else
            wake_queue(b, res->notify[i].queue, depth);
    }
}

static void waiter_timer_closed(uv_handle_t *h)
{
    complete((tycho_local_call_t *)h->data);
}

/* Removes a waiter and completes it once its timer is closed. */
static void waiter_finish(tycho_local_backend_t *b, tycho_local_call_t *c)
{
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        b->waiters = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    else
        b->waiters_tail = c->wprev;
    c->wprev = c->wnext = NULL;
    c->waiting = 0;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, waiter_timer_closed);
}

static void waiter_arm(tycho_local_call_t *c, int64_t next_ready_ms)
{
    int64_t now = tycho_local_now_ms();
    int64_t at = c->deadline_ms;
    if (next_ready_ms > 0 && next_ready_ms < at) at = next_ready_ms;
    c->armed_ms = at;
    uv_timer_start(&c->timer, waiter_timer_cb, (uint64_t)(at > now ? at - now : 0), 0);
}

/* Ends a long poll without looking again: the empty answer it would have
 * had at its deadline. */
static void waiter_end_empty(tycho_local_backend_t *b, tycho_local_call_t *c)
{
    char *body = strdup("{}");
    set_result(c, body ? 200 : 0, body, body ? 2 : 0);
    waiter_finish(b, c);
}

/* Runs a waiting ReceiveMessage again: completes it when it got messages or
 * when its deadline passed. A stopping backend receives nothing for it:
 * its caller is going away too, and a message it took would stay hidden
 * for its visibility timeout with nobody to process it. */
static void waiter_retry(tycho_local_backend_t *b, tycho_local_call_t *c, int depth)
{
    if (b->draining) {
        waiter_end_empty(b, c);
        return;
    }
    tycho_local_result_t res;
    int final = tycho_local_now_ms() >= c->deadline_ms;
    run(b, c, !final, &res);
    if (res.wait_ms > 0 && !final) {
        waiter_arm(c, res.next_ready_ms);
        notify_all(b, &res, depth + 1); /* a redrive it made while finding nothing */
        tycho_local_result_free(&res);
        return;
    }
    set_result(c, res.status, res.body, res.len);
    res.body = NULL;
    /* Unlinked first: a receive with VisibilityTimeout 0 leaves its messages
     * receivable and wakes its own queue, whose waiters must not include c
     * (it would receive them again and be finished twice). */
    waiter_finish(b, c);
    notify_all(b, &res, depth + 1);
}

static void waiter_timer_cb(uv_timer_t *t)
{
    tycho_local_call_t *c = t->data;
    tycho_local_backend_t *b = c->client->backend;
    if (atomic_load(&c->cancelled)) {
        set_result(c, 0, NULL, 0);
        waiter_finish(b, c);
        return;
    }
    waiter_retry(b, c, 0);
}

static void wake_queue(tycho_local_backend_t *b, const char *queue, int depth)
{
    /* A receive with VisibilityTimeout 0 notifies its own queue again; the
     * depth bound keeps such chains finite (the timers retry later). One
     * wake-up retries at most 64 waiters, oldest first: a request makes at
     * most 10 messages available, so the rest would find nothing anyway. */
    if (depth > 4) return;
    tycho_local_call_t *batch[64];
    int n = 0;
    for (tycho_local_call_t *c = b->waiters; c && n < 64; c = c->wnext)
        if (strcmp(c->wait_queue, queue) == 0 && !atomic_load(&c->cancelled)) batch[n++] = c;
    /* Calls stay allocated until their timer-close callback, which runs in a
     * later loop phase, so a waiter finished by a nested wake is still
     * readable here; its waiting flag says so. */
    for (int i = 0; i < n; i++)
        if (batch[i]->waiting) waiter_retry(b, batch[i], depth);
}

static void process(tycho_local_backend_t *b, tycho_local_call_t *c)
{
    if (atomic_load(&c->cancelled)) {
        set_result(c, 0, NULL, 0);
        complete(c);
        return;
    }
    tycho_local_result_t res;
    run(b, c, !b->draining, &res);
    if (res.wait_ms > 0) {
        c->deadline_ms = tycho_local_now_ms() + res.wait_ms;
        snprintf(c->wait_queue, sizeof c->wait_queue, "%s", res.wait_queue);
        uv_timer_init(&b->loop, &c->timer);
        c->timer.data = c;
        c->wnext = NULL;
        c->wprev = b->waiters_tail;
        if (b->waiters_tail)
            b->waiters_tail->wnext = c;
        else
            b->waiters = c;
        b->waiters_tail = c;
        c->waiting = 1;
        waiter_arm(c, res.next_ready_ms);
        /* An empty receive may still have moved messages to a dead-letter
         * queue, whose waiters are woken. */
        notify_all(b, &res, 0);
        tycho_local_result_free(&res);
        return;
    }
    set_result(c, res.status, res.body, res.len);
    res.body = NULL;
    complete(c);
    notify_all(b, &res, 0);
}

/* A failing sweep fails again a minute later (a damaged file stays damaged
 * until tycho is stopped): the first failure is logged, then one line every
 * SWEEP_FAILURE_LOG_EVERY_MS with the count (core/ratelog); a failure for
 * another reason (SQLite's text changed) at once, as a first one; a
 * recovery once. */
static void sweep_report(tycho_local_backend_t *b, int failed, const char *err)
{
    uint64_t now = uv_now(&b->loop), n;
    if (!failed) {
        if (b->sweep_failures)
            tycho_log_info("local backend: housekeeping works again",
                           LF_INT("failures", b->sweep_failures));
        b->sweep_failures = 0;
        b->sweep_log = (tycho_ratelog_t){0};
        return;
    }
    b->sweep_failures++;
    if (tycho_ratelog_due_reason(&b->sweep_log, now, SWEEP_FAILURE_LOG_EVERY_MS, err, &n))
        tycho_log_warn("local backend: housekeeping failed", LF_STR("error", err),
                       LF_INT("failures", b->sweep_failures),
                       LF_INT("failures_not_logged", (long long)n - 1));
}

/* One step of the running sweep (local_store.h). The next one runs from
 * the idle handle: the loop polls between them, so the requests posted
 * meanwhile wait for one step (a bounded batch), not for the whole sweep. */
static void sweep_step_cb(uv_idle_t *h);

static void sweep_step(tycho_local_backend_t *b)
{
    char err[1024];
    int rc = tycho_local_store_sweep(b->store, b->sweep_now_ms, err, sizeof err);
    if (rc == 1) {
        uv_idle_start(&b->sweep_more, sweep_step_cb);
        return;
    }
    uv_idle_stop(&b->sweep_more);
    sweep_report(b, rc < 0, err);
}

static void sweep_step_cb(uv_idle_t *h)
{
    sweep_step(h->data);
}

static void sweep_cb(uv_timer_t *t)
{
    tycho_local_backend_t *b = t->data;
    if (uv_is_active((uv_handle_t *)&b->sweep_more)) return; /* the last one goes on */
    b->sweep_now_ms = tycho_local_now_ms();
    sweep_step(b);
}

static void backend_async_cb(uv_async_t *a)
{
    tycho_local_backend_t *b = a->data;
    uv_mutex_lock(&b->mu);
    tycho_local_call_t *list = b->q_head;
    b->q_head = b->q_tail = NULL;
    int stopping = b->stopping;
    uv_mutex_unlock(&b->mu);
    b->draining = stopping;
    while (list) {
        tycho_local_call_t *next = list->next;
        process(b, list);
        list = next;
    }
    /* Cancelled long polls end now rather than at their deadline. */
    for (tycho_local_call_t *c = b->waiters, *next; c; c = next) {
        next = c->wnext;
        if (atomic_load(&c->cancelled)) {
            set_result(c, 0, NULL, 0);
            waiter_finish(b, c);
        }
    }
    if (stopping) {
        /* Remaining long polls get their empty answer now, without a
         * receive each (waiter_retry). */
        while (b->waiters)
            waiter_end_empty(b, b->waiters);
        uv_close((uv_handle_t *)&b->async, NULL);
        uv_close((uv_handle_t *)&b->sweep, NULL);
        uv_close((uv_handle_t *)&b->sweep_more, NULL);
    }
}

static void owner_main(void *arg)
{
    tycho_local_backend_t *b = arg;
    tycho_thread_name("tycho-local");
    if (uv_loop_init(&b->loop) != 0) {
        snprintf(b->start_err, sizeof b->start_err, "local backend: cannot create its event loop");
        b->start_rc = -1;
        uv_sem_post(&b->ready);
        return;
    }
    int64_t opened_ms = tycho_local_now_ms();
    b->start_rc = tycho_local_store_open(b->dir, &b->cfg, opened_ms, &b->store, b->start_err,
                                         sizeof b->start_err);
    if (b->start_rc == 0 && tycho_local_store_upgraded_from(b->store))
        tycho_log_info("local backend: store upgraded to this tycho's layout",
                       LF_STR("data_dir", b->dir),
                       LF_INT("from_version", tycho_local_store_upgraded_from(b->store)),
                       LF_INT("ms", (long long)(tycho_local_now_ms() - opened_ms)));
    if (b->start_rc == 0) {
        uv_async_init(&b->loop, &b->async, backend_async_cb);
        b->async.data = b;
        uv_timer_init(&b->loop, &b->sweep);
        b->sweep.data = b;
        uv_idle_init(&b->loop, &b->sweep_more);
        b->sweep_more.data = b;
        uv_timer_start(&b->sweep, sweep_cb, 1000, SWEEP_INTERVAL_MS);
    }
    uv_sem_post(&b->ready);
    if (b->start_rc == 0) {
        uv_run(&b->loop, UV_RUN_DEFAULT);
        tycho_local_store_close(b->store);
        b->store = NULL;
    }
    uv_loop_close(&b->loop);
}

/* The pid in the lock file is only a hint for a second tycho's message: a
 * failed write costs that hint, nothing else. */
static void write_pid(int fd)
{
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        tycho_log_debug("local backend: cannot write the pid into the lock file");
}

/* One tycho a data directory: a second process would share the SQLite file
 * but not this owner thread, so its sends would not wake our long polls.
 * An flock on <dir>/local-aws.lock, held for the backend's life (the kernel
 * drops it with the process, kill -9 included); the file holds the pid for
 * the message. The lock fd, or -1 with err. */
static int lock_dir(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, TYCHO_LOCAL_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "local backend: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        write_pid(fd);
        return fd;
    }
    if (errno == EWOULDBLOCK) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
        snprintf(err, errlen, "in use by another tycho (pid %s)", *pid ? pid : "unknown");
    } else {
        snprintf(err, errlen, "local backend: cannot lock %s: %s", path, strerror(errno));
    }
    close(fd);
    return -1;
}

int tycho_local_backend_start(const char *dir, const tycho_local_config_t *cfg,
                              tycho_local_backend_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int lock_fd = lock_dir(dir, err, errlen);
    if (lock_fd < 0) return -1;
    tycho_local_backend_t *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "local backend: out of memory");
        goto fail;
    }
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    b->cfg = *cfg;
    b->lock_fd = lock_fd;
    atomic_init(&b->refs, 1);
    if (uv_mutex_init(&b->mu) || uv_sem_init(&b->ready, 0)) {
        snprintf(err, errlen, "local backend: cannot create its locks");
        goto fail;
    }
    if (uv_thread_create(&b->thread, owner_main, b) != 0) {
        snprintf(err, errlen, "local backend: cannot start its thread");
        uv_sem_destroy(&b->ready);
        uv_mutex_destroy(&b->mu);
        goto fail;
    }
    uv_sem_wait(&b->ready);
    uv_sem_destroy(&b->ready);
    if (b->start_rc != 0) {
        uv_thread_join(&b->thread);
        snprintf(err, errlen, "%s", b->start_err);
        uv_mutex_destroy(&b->mu);
        goto fail;
    }
    *out = b;
    return 0;
fail:
    free(b);
    close(lock_fd);
    return -1;
}

void tycho_local_backend_stop(tycho_local_backend_t *b)
{
    if (!b) return;
    uv_mutex_lock(&b->mu);
    b->stopping = 1;
    uv_async_send(&b->async);
    uv_mutex_unlock(&b->mu);
    uv_thread_join(&b->thread);
    uv_mutex_lock(&b->mu);
    b->stopped = 1;
    /* Anything posted between the last drain and the join still gets an answer. */
    tycho_local_call_t *list = b->q_head;
    b->q_head = b->q_tail = NULL;
    uv_mutex_unlock(&b->mu);
    while (list) {
        tycho_local_call_t *next = list->next;
        fail_stopped(list);
        list = next;
    }
    close(b->lock_fd); /* SQLite is closed: another tycho may take the directory */
    backend_unref(b);
}

/* ---- clients (worker thread) ------------------------------------------- */

static void client_async_closed(uv_handle_t *h)
{
    tycho_local_client_t *c = h->data;
    void (*cb)(void *) = c->on_closed;
    void *ud = c->on_closed_ud;
    tycho_local_backend_t *b = c->backend;
    uv_mutex_destroy(&c->mu);
    free(c);
    backend_unref(b);
    if (cb) cb(ud);
}

static void client_maybe_close(tycho_local_client_t *c)
{
    if (!c->closing || c->inflight > 0) return;
    uv_mutex_lock(&c->mu);
    int already = c->closed;
    c->closed = 1;
    uv_mutex_unlock(&c->mu);
    if (!already) uv_close((uv_handle_t *)&c->async, client_async_closed);
}

static void client_async_cb(uv_async_t *a)
{
    tycho_local_client_t *c = a->data;
    uv_mutex_lock(&c->mu);
    tycho_local_call_t *list = c->done_head;
    c->done_head = c->done_tail = NULL;
    uv_mutex_unlock(&c->mu);
    while (list) {
        tycho_local_call_t *next = list->next;
        if (list->cprev)
            list->cprev->cnext = list->cnext;
        else
            c->pending = list->cnext;
        if (list->cnext) list->cnext->cprev = list->cprev;
        c->inflight--;
        if (!atomic_load(&list->cancelled) && list->cb)
            list->cb(list->status, list->rbody ? list->rbody : "", list->rlen, list->ud);
        call_free(list);
        list = next;
    }
    client_maybe_close(c);
}

tycho_local_client_t *tycho_local_client_new(tycho_local_backend_t *b, uv_loop_t *loop)
{
    tycho_local_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->backend = b;
    c->loop = loop;
    if (uv_mutex_init(&c->mu)) {
        free(c);
        return NULL;
    }
    if (uv_async_init(loop, &c->async, client_async_cb)) {
        uv_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    c->async.data = c;
    atomic_fetch_add(&b->refs, 1);
    return c;
}

tycho_local_call_t *tycho_local_client_call(tycho_local_client_t *c, const char *target,
                                            const char *body, size_t len, tycho_local_cb cb,
                                            void *ud)
{
    if (c->closing) return NULL;
    tycho_local_call_t *call = calloc(1, sizeof *call);
    if (!call) return NULL;
    call->client = c;
    call->target = strdup(target ? target : "");
    call->body = malloc(len + 1);
    if (!call->target || !call->body) {
        call_free(call);
        return NULL;
    }
    if (len) memcpy(call->body, body, len);
    call->body[len] = '\0';
    call->len = len;
    call->cb = cb;
    call->ud = ud;
    atomic_init(&call->cancelled, 0);
    call->cnext = c->pending;
    if (c->pending) c->pending->cprev = call;
    c->pending = call;
    c->inflight++;
    tycho_local_backend_t *b = c->backend;
    uv_mutex_lock(&b->mu);
    int stopped = b->stopping || b->stopped;
    if (!stopped) {
        if (b->q_tail)
            b->q_tail->next = call;
        else
            b->q_head = call;
        b->q_tail = call;
        uv_async_send(&b->async);
    }
    uv_mutex_unlock(&b->mu);
    if (stopped) fail_stopped(call); /* still asynchronous: delivered through our async */
    return call;
}

void tycho_local_call_cancel(tycho_local_call_t *call)
{
    if (!call) return;
    atomic_store(&call->cancelled, 1);
    tycho_local_backend_t *b = call->client->backend;
    uv_mutex_lock(&b->mu);
    if (!b->stopping && !b->stopped)
        uv_async_send(&b->async); /* ends a waiting long poll promptly */
    uv_mutex_unlock(&b->mu);
}

void tycho_local_client_close(tycho_local_client_t *c, void (*on_closed)(void *ud), void *ud)
{
    c->closing = 1;
    c->on_closed = on_closed;
    c->on_closed_ud = ud;
    int any = 0;
    for (tycho_local_call_t *p = c->pending; p; p = p->cnext) {
        atomic_store(&p->cancelled, 1);
        any = 1;
    }
    if (any) {
        tycho_local_backend_t *b = c->backend;
        uv_mutex_lock(&b->mu);
        if (!b->stopping && !b->stopped) uv_async_send(&b->async);
        uv_mutex_unlock(&b->mu);
    }
    client_maybe_close(c);
}
