#include "telemetry/logsink.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/wakeup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_TARGET (64 * 1024)  /* bytes gathered before one write(2) */
#define TICK_BUDGET (1024 * 1024) /* bytes written per timer tick, then yield */
#define BURST 32                  /* lines taken from one ring before the next one's turn */
/* A producer waiting for room in its full ring yields first (on a shared
 * core the consumer then runs at once), then naps this long. */
#define ROOM_YIELDS 16
#define ROOM_NAP_NS (50 * 1000)
/* A record's header: the line's length, and whether the logger's
 * description of the line (the Loki exporter then reads the line no
 * further) follows it, before the line. */
struct rec_hdr {
    uint32_t len; /* the line's bytes, its newline included */
    uint32_t has_meta;
};
#define REC_HDR sizeof(struct rec_hdr)
#define REC_MAX_HDR (REC_HDR + sizeof(tycho_log_meta_t))

/* One producing thread's byte ring: records are a header, the meta if any,
 * then the line, each possibly wrapping around the end. */
struct producer {
    alignas(64) atomic_size_t head;                  /* bytes consumed: consumer */
    atomic_uint_fast64_t popped;                     /* lines consumed: consumer */
    alignas(64) atomic_size_t tail;                  /* bytes produced: producer */
    atomic_uint_fast64_t pushed;                     /* lines produced: producer */
    atomic_uint_fast64_t dropped[TYCHO_DROP_COUNT_]; /* producer */
    size_t head_cache;
    size_t woke_head; /* head when this ring last woke the consumer (woke set) */
    bool woke;
    bool stalled; /* a wait for room ended without it: drop, do not wait, until half empty */
    alignas(64) atomic_int ready; /* buf allocated, owner set */
    pthread_t owner;
    char *buf;
    size_t cap; /* power of two */
};

struct tycho_logsink {
    tycho_logsink_tap_fn tap; /* consumer thread: sees every line drained */
    atomic_bool tapped;       /* a tap is set: producers keep the lines' meta for it */
    bool output_dead; /* a hard write error (EPIPE...): nothing more is written or reported */
    void *tap_ud;
    tycho_logsink_opts_t o;
    char *service_json; /* the service name as a JSON string literal */
    uint64_t gen;
    struct producer *prods; /* max_producers private ones + 1 shared (the last) */
    atomic_uint nclaimed;
    atomic_flag shared_busy;
    atomic_uint_fast64_t contended; /* shared ring busy: queue_full drops by any thread */
    atomic_bool live;   /* the consumer is draining (its first tick ran, no stop since): a full
                           ring may wait for it */
    pthread_t consumer; /* the thread that runs the ticks (set before live): never waits */

    /* consumer side: one thread */
    atomic_uint_fast64_t consumer_dropped[TYCHO_DROP_COUNT_]; /* write_error, shutdown */
    uv_loop_t *loop;
    uv_timer_t timer;
    tycho_wakeup_t wake; /* a ring past half full: drain now, not at the next tick */
    uv_poll_t poll;
    bool started, poll_ok, polling;
    int saved_flags;
    unsigned interval;
    char *batch;
    size_t batch_len, batch_off, batch_cap;
    uint64_t reported;           /* dropped_total at the last report */
    uint64_t reported_too_large; /* and the too_large count */
    uint64_t last_report_ms;
    /* A report is written at the start of a batch; it has reached the
     * output once batch_off passes report_end (0: no report in the batch),
     * and only then do its report_total lines count as said. */
    size_t report_end;
    uint64_t report_total;
    atomic_uint_fast64_t said; /* dropped_total of the last report the output took */
};

static atomic_uint_fast64_t g_gen = 1;

static _Thread_local struct {
    uint64_t gen;
    struct producer *p;
    bool shared;
} t_slot;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
    return now_ns() / 1000000;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 1024;
    while (c < n)
        c <<= 1;
    return c;
}

tycho_logsink_t *tycho_logsink_new(const tycho_logsink_opts_t *opts)
{
    tycho_logsink_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (opts) s->o = *opts;
    if (s->o.fd <= 0) s->o.fd = STDOUT_FILENO;
    if (!s->o.producer_bytes) s->o.producer_bytes = 1024 * 1024;
    if (!s->o.max_producers) s->o.max_producers = 64;
    if (!s->o.max_line) s->o.max_line = TYCHO_LOG_MAX_LINE;
    if (!s->o.report_interval_ms) s->o.report_interval_ms = 1000;
    if (!s->o.room_wait_ms) s->o.room_wait_ms = 5;
    if (!s->o.poll_min_ms) s->o.poll_min_ms = 8;
    if (!s->o.poll_max_ms) s->o.poll_max_ms = 20;
    if (s->o.poll_max_ms < s->o.poll_min_ms) s->o.poll_max_ms = s->o.poll_min_ms;
    s->gen = atomic_fetch_add(&g_gen, 1);
    atomic_flag_clear(&s->shared_busy);
    s->interval = s->o.poll_min_ms;
    if (tycho_wakeup_init(&s->wake) != 0) {
        free(s);
        return NULL;
    }

    tycho_buf_t b = TYCHO_BUF_INIT;
    const char *svc = s->o.service ? s->o.service : tycho_log_service();
    if (tycho_buf_append_json_string(&b, svc, strlen(svc)) != 0) goto err;
    s->service_json = tycho_buf_steal(&b);
    s->o.service = NULL; /* not kept: the caller's string may go away */

    size_t cap = pow2_at_least(s->o.producer_bytes);
    if (s->o.max_line + 1 + REC_MAX_HDR > cap) s->o.max_line = cap - 1 - REC_MAX_HDR;
    if (posix_memalign((void **)&s->prods, 64, (s->o.max_producers + 1) * sizeof *s->prods) != 0) {
        s->prods = NULL;
        goto err;
    }
    memset(s->prods, 0, (s->o.max_producers + 1) * sizeof *s->prods);
    for (unsigned i = 0; i <= s->o.max_producers; i++)
        s->prods[i].cap = cap;
    struct producer *shared = &s->prods[s->o.max_producers];
    if (!(shared->buf = malloc(cap))) goto err;
    atomic_store(&shared->ready, 1);

    s->batch_cap = BATCH_TARGET + s->o.max_line + 512;
    if (!(s->batch = malloc(s->batch_cap))) goto err;
    return s;
err:
    tycho_logsink_free(s);
    return NULL;
}

void tycho_logsink_free(tycho_logsink_t *s)
{
    if (!s) return;
    if (s->prods)
        for (unsigned i = 0; i <= s->o.max_producers; i++)
            free(s->prods[i].buf);
    free(s->prods);
    free(s->batch);
    free(s->service_json);
    tycho_wakeup_free(&s->wake);
    free(s);
}

/* --- producer side ------------------------------------------------------------ */

/* This thread's ring, claimed on its first line (a lock-free slot claim; the
 * only allocation). NULL when the shared ring is busy. */
static struct producer *producer_for(tycho_logsink_t *s, bool *shared)
{
    *shared = false;
    if (t_slot.gen != s->gen) {
        t_slot.gen = s->gen;
        t_slot.p = NULL;
        t_slot.shared = false;
        pthread_t self = pthread_self();
        unsigned n = atomic_load_explicit(&s->nclaimed, memory_order_acquire);
        if (n > s->o.max_producers) n = s->o.max_producers;
        for (unsigned i = 0; i < n && !t_slot.p; i++) /* a thread alternating sinks */
            if (atomic_load_explicit(&s->prods[i].ready, memory_order_acquire) == 1 &&
                pthread_equal(s->prods[i].owner, self))
                t_slot.p = &s->prods[i];
        if (!t_slot.p) {
            unsigned idx = atomic_fetch_add(&s->nclaimed, 1);
            if (idx < s->o.max_producers) {
                struct producer *p = &s->prods[idx];
                p->buf = malloc(p->cap);
                p->owner = self;
                if (p->buf) {
                    atomic_store_explicit(&p->ready, 1, memory_order_release);
                    t_slot.p = p;
                } else {
                    atomic_store_explicit(&p->ready, 2, memory_order_release); /* dead slot */
                }
            }
            if (!t_slot.p) t_slot.shared = true;
        }
    }
    if (!t_slot.shared) return t_slot.p;
    if (atomic_flag_test_and_set_explicit(&s->shared_busy, memory_order_acquire)) return NULL;
    *shared = true;
    return &s->prods[s->o.max_producers];
}

static inline void ring_put(struct producer *p, size_t pos, const void *src, size_t n)
{
    size_t off = pos & (p->cap - 1), first = p->cap - off;
    if (first >= n) {
        memcpy(p->buf + off, src, n);
    } else {
        memcpy(p->buf + off, src, first);
        memcpy(p->buf, (const char *)src + first, n - first);
    }
}

static inline void ring_get(const struct producer *p, size_t pos, void *dst, size_t n)
{
    size_t off = pos & (p->cap - 1), first = p->cap - off;
    if (first >= n) {
        memcpy(dst, p->buf + off, n);
    } else {
        memcpy(dst, p->buf + off, first);
        memcpy((char *)dst + first, p->buf, n - first);
    }
}

static void count_drop(struct producer *p, tycho_drop_reason_t r)
{
    /* Single writer (the owner, or whoever holds the shared ring). */
    uint64_t v = atomic_load_explicit(&p->dropped[r], memory_order_relaxed);
    atomic_store_explicit(&p->dropped[r], v + 1, memory_order_relaxed);
}

/* A ring past half full wakes the consumer now: an idle sink polls only
 * every poll_max_ms, and a burst can fill a ring sooner than that. Once per
 * head position, so a consumer busy elsewhere gets one signal, not one a
 * line; below half (the steady state) it costs a compare, or a load of head
 * while the cached one is stale. */
static void wake_if_filling(tycho_logsink_t *s, struct producer *p, size_t tail)
{
    if (tail - p->head_cache < p->cap / 2) goto below_half;
    p->head_cache = atomic_load_explicit(&p->head, memory_order_acquire);
    if (tail - p->head_cache < p->cap / 2) goto below_half;
    if (p->woke && p->woke_head == p->head_cache) return;
    p->woke = true;
    p->woke_head = p->head_cache;
    tycho_wakeup_signal(&s->wake);
    return;
below_half:
    if (p->stalled) p->stalled = false;
}

/* p (a private ring) has no room for need bytes at tail t. While the
 * consumer is live on another thread, waits up to room_wait_ms for it to
 * make room: a burst then loses nothing to a consumer that only waited for
 * the CPU. A wait that ends without room marks the ring stalled (the output
 * is stuck, or the consumer cannot keep up): until the ring is half empty
 * again, lines drop at once, so a stuck output costs a producer one wait,
 * not one a line. true when there is room now. */
static bool wait_for_room(tycho_logsink_t *s, struct producer *p, size_t t, size_t need)
{
    if (p->stalled || !atomic_load_explicit(&s->live, memory_order_acquire) ||
        pthread_equal(p->owner, s->consumer))
        return false;
    tycho_wakeup_signal(&s->wake);
    uint64_t deadline = now_ns() + (uint64_t)s->o.room_wait_ms * 1000000u;
    for (unsigned i = 0;; i++) {
        if (i < ROOM_YIELDS) {
            sched_yield();
        } else {
            struct timespec nap = {0, ROOM_NAP_NS};
            nanosleep(&nap, NULL);
        }
        p->head_cache = atomic_load_explicit(&p->head, memory_order_acquire);
        if (p->cap - (t - p->head_cache) >= need) return true;
        if (now_ns() >= deadline) break;
    }
    p->stalled = true;
    return false;
}

void tycho_logsink_write(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    tycho_logsink_t *s = ud;
    bool shared;
    struct producer *p = producer_for(s, &shared);
    if (!p) {
        atomic_fetch_add_explicit(&s->contended, 1, memory_order_relaxed);
        return;
    }
    bool add_nl = len == 0 || line[len - 1] != '\n'; /* every record is one whole line */
    size_t rec = len + (add_nl ? 1 : 0);
    if (rec > s->o.max_line) {
        count_drop(p, TYCHO_DROP_TOO_LARGE);
        goto out;
    }
    if (!atomic_load_explicit(&s->tapped, memory_order_relaxed)) meta = NULL; /* none reads it */
    size_t t = atomic_load_explicit(&p->tail, memory_order_relaxed);
    size_t hdr = REC_HDR + (meta ? sizeof *meta : 0);
    if (p->cap - (t - p->head_cache) < hdr + rec) {
        p->head_cache = atomic_load_explicit(&p->head, memory_order_acquire);
        if (p->cap - (t - p->head_cache) < hdr + rec &&
            (shared || !wait_for_room(s, p, t, hdr + rec))) {
            count_drop(p, TYCHO_DROP_QUEUE_FULL);
            goto out;
        }
    }
    struct rec_hdr h = {.len = (uint32_t)rec, .has_meta = meta != NULL};
    ring_put(p, t, &h, REC_HDR);
    if (meta) ring_put(p, t + REC_HDR, meta, sizeof *meta);
    ring_put(p, t + hdr, line, len);
    if (add_nl) ring_put(p, t + hdr + len, "\n", 1);
    atomic_store_explicit(&p->tail, t + hdr + rec, memory_order_release);
    uint64_t pushed = atomic_load_explicit(&p->pushed, memory_order_relaxed);
    atomic_store_explicit(&p->pushed, pushed + 1, memory_order_relaxed);
    wake_if_filling(s, p, t + hdr + rec);
out:
    if (shared) atomic_flag_clear_explicit(&s->shared_busy, memory_order_release);
}

/* --- accounting -------------------------------------------------------------- */

/* The rings in use: the private ones claimed so far, then the shared one
 * (index rings - 1 maps to it). Slots past the claimed ones were never
 * touched (their counters are zero, their rings empty): the consumer and the
 * counters skip them, which made every drain pass walk all max_producers + 1
 * slots, several times per pass. A slot claimed but not yet ready is still
 * listed (check ready). */
static unsigned rings_in_use(const tycho_logsink_t *s)
{
    unsigned n = atomic_load_explicit(&((tycho_logsink_t *)s)->nclaimed, memory_order_acquire);
    return (n < s->o.max_producers ? n : s->o.max_producers) + 1;
}

static struct producer *ring_at(const tycho_logsink_t *s, unsigned i, unsigned rings)
{
    return &s->prods[i + 1 == rings ? s->o.max_producers : i];
}

uint64_t tycho_logsink_dropped(const tycho_logsink_t *s, tycho_drop_reason_t reason)
{
    if ((unsigned)reason >= TYCHO_DROP_COUNT_) return 0;
    tycho_logsink_t *m = (tycho_logsink_t *)s;
    uint64_t n = atomic_load_explicit(&m->consumer_dropped[reason], memory_order_relaxed);
    for (unsigned i = 0, rings = rings_in_use(s); i < rings; i++)
        n += atomic_load_explicit(&ring_at(s, i, rings)->dropped[reason], memory_order_relaxed);
    if (reason == TYCHO_DROP_QUEUE_FULL)
        n += atomic_load_explicit(&m->contended, memory_order_relaxed);
    return n;
}

uint64_t tycho_logsink_dropped_total(const tycho_logsink_t *s)
{
    uint64_t n = 0;
    for (int r = 0; r < TYCHO_DROP_COUNT_; r++)
        n += tycho_logsink_dropped(s, (tycho_drop_reason_t)r);
    return n;
}

uint64_t tycho_logsink_unreported(const tycho_logsink_t *s)
{
    uint64_t said = atomic_load_explicit(&s->said, memory_order_relaxed);
    uint64_t total = tycho_logsink_dropped_total(s);
    return total > said ? total - said : 0;
}

size_t tycho_logsink_queued(const tycho_logsink_t *s)
{
    uint64_t n = 0;
    for (unsigned i = 0, rings = rings_in_use(s); i < rings; i++) {
        struct producer *p = ring_at(s, i, rings);
        uint64_t popped = atomic_load_explicit(&p->popped, memory_order_relaxed);
        uint64_t pushed = atomic_load_explicit(&p->pushed, memory_order_relaxed);
        if (pushed > popped) n += pushed - popped;
    }
    return (size_t)n;
}

static double metric_queue_full(void *ud)
{
    return (double)tycho_logsink_dropped(ud, TYCHO_DROP_QUEUE_FULL);
}
static double metric_too_large(void *ud)
{
    return (double)tycho_logsink_dropped(ud, TYCHO_DROP_TOO_LARGE);
}
static double metric_write_error(void *ud)
{
    return (double)tycho_logsink_dropped(ud, TYCHO_DROP_WRITE_ERROR);
}
static double metric_shutdown(void *ud)
{
    return (double)tycho_logsink_dropped(ud, TYCHO_DROP_SHUTDOWN);
}
static double metric_depth(void *ud)
{
    return (double)tycho_logsink_queued(ud);
}

int tycho_logsink_register_metrics(tycho_logsink_t *s, tycho_dropcount_t *d)
{
    int rc = tycho_dropcount_set_source(d, TYCHO_SIGNAL_LOGS, TYCHO_DROP_QUEUE_FULL,
                                        metric_queue_full, s);
    if (!rc)
        rc = tycho_dropcount_set_source(d, TYCHO_SIGNAL_LOGS, TYCHO_DROP_TOO_LARGE,
                                        metric_too_large, s);
    if (!rc)
        rc = tycho_dropcount_set_source(d, TYCHO_SIGNAL_LOGS, TYCHO_DROP_WRITE_ERROR,
                                        metric_write_error, s);
    if (!rc)
        rc = tycho_dropcount_set_source(d, TYCHO_SIGNAL_LOGS, TYCHO_DROP_SHUTDOWN, metric_shutdown,
                                        s);
    if (!rc) rc = tycho_dropcount_set_depth_source(d, TYCHO_SIGNAL_LOGS, metric_depth, s);
    return rc;
}

/* --- consumer side ------------------------------------------------------------ */

static void consumer_count(tycho_logsink_t *s, tycho_drop_reason_t r, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&s->consumer_dropped[r], memory_order_relaxed);
    atomic_store_explicit(&s->consumer_dropped[r], v + n, memory_order_relaxed);
}

/* What the drop report says was lost since the last one: lines too large
 * (which a faster output would not have saved), or lines the output could
 * not take, or both. */
static const char *drop_cause(const tycho_logsink_t *s, uint64_t total, uint64_t too_large)
{
    bool large = too_large > s->reported_too_large;
    bool slow = total - s->reported > too_large - s->reported_too_large;
    if (!slow) return "too large (over max_line bytes)";
    return large ? "output too slow or unavailable, some too large (over max_line bytes)"
                 : "output too slow or unavailable";
}

/* Appends the drop report when lines were lost since the last one and the
 * interval has passed (force: always). */
static void maybe_report(tycho_logsink_t *s, bool force)
{
    uint64_t total = tycho_logsink_dropped_total(s);
    if (s->output_dead || total <= s->reported) return;
    uint64_t too_large = tycho_logsink_dropped(s, TYCHO_DROP_TOO_LARGE);
    uint64_t now = now_ms();
    if (!force && s->last_report_ms && now - s->last_report_ms < s->o.report_interval_ms) return;
    if (s->batch_cap - s->batch_len < 512 + strlen(s->service_json)) return; /* next time */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[31];
    tycho_log_format_time(when, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    int n = snprintf(s->batch + s->batch_len, s->batch_cap - s->batch_len,
                     "{\"time\":\"%s\",\"level\":\"warn\",\"msg\":\"log lines dropped: %s\","
                     "\"service\":%s,\"dropped\":%llu,\"dropped_total\":%llu,"
                     "\"queue_full\":%llu,\"too_large\":%llu,\"write_error\":%llu,"
                     "\"max_line\":%zu}\n",
                     when, drop_cause(s, total, too_large), s->service_json,
                     (unsigned long long)(total - s->reported), (unsigned long long)total,
                     (unsigned long long)tycho_logsink_dropped(s, TYCHO_DROP_QUEUE_FULL),
                     (unsigned long long)too_large,
                     (unsigned long long)tycho_logsink_dropped(s, TYCHO_DROP_WRITE_ERROR),
                     s->o.max_line);
    if (n <= 0 || (size_t)n >= s->batch_cap - s->batch_len) return;
    s->batch_len += (size_t)n;
    s->report_end = s->batch_len;
    s->report_total = total;
    s->reported = total;
    s->reported_too_large = too_large;
    s->last_report_ms = now;
}

/* Moves up to BURST whole lines of one ring into the batch (each through
 * the tap too), stopping at BATCH_TARGET. Returns the number moved. The
 * ring's indexes are read and written once per burst, not once per line. */
static size_t take_lines(tycho_logsink_t *s, struct producer *p)
{
    if (atomic_load_explicit(&p->ready, memory_order_acquire) != 1) return 0;
    size_t h = atomic_load_explicit(&p->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&p->tail, memory_order_acquire);
    size_t k = 0;
    for (; k < BURST && h != t && s->batch_len < BATCH_TARGET; k++) {
        struct rec_hdr rh;
        tycho_log_meta_t meta;
        ring_get(p, h, &rh, REC_HDR);
        size_t n = rh.len, hdr = REC_HDR + (rh.has_meta ? sizeof meta : 0);
        if (s->batch_cap - s->batch_len < n) break; /* room next round */
        if (rh.has_meta) ring_get(p, h + REC_HDR, &meta, sizeof meta);
        ring_get(p, h + hdr, s->batch + s->batch_len, n);
        if (s->tap) s->tap(s->tap_ud, s->batch + s->batch_len, n, rh.has_meta ? &meta : NULL);
        s->batch_len += n;
        h += hdr + n;
    }
    if (k) {
        atomic_store_explicit(&p->head, h, memory_order_release);
        uint64_t popped = atomic_load_explicit(&p->popped, memory_order_relaxed);
        atomic_store_explicit(&p->popped, popped + k, memory_order_relaxed);
    }
    return k;
}

/* Moves whole lines from the rings into the batch, up to BATCH_TARGET, a
 * burst from each ring in turn. Returns the number of lines moved. */
static size_t fill_batch(tycho_logsink_t *s, bool force_report)
{
    maybe_report(s, force_report);
    size_t moved = 0;
    bool progress = true;
    while (progress && s->batch_len < BATCH_TARGET) {
        progress = false;
        unsigned rings = rings_in_use(s);
        for (unsigned i = 0; i < rings && s->batch_len < BATCH_TARGET; i++) {
            size_t k = take_lines(s, ring_at(s, i, rings));
            moved += k;
            progress |= k > 0;
        }
    }
    return moved;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        k++;
    return k;
}

/* Writes the batch. 0 when it is empty, -EAGAIN when the output is full.
 * A hard write error discards the batch (counted as write_error). */
static int write_batch(tycho_logsink_t *s, size_t *written)
{
    while (s->batch_off < s->batch_len) {
        if (s->output_dead) { /* an earlier hard error: count what is lost */
            consumer_count(s, TYCHO_DROP_WRITE_ERROR,
                           count_lines(s->batch + s->batch_off, s->batch_len - s->batch_off));
            break;
        }
        ssize_t n = write(s->o.fd, s->batch + s->batch_off, s->batch_len - s->batch_off);
        if (n > 0) {
            s->batch_off += (size_t)n;
            if (written) *written += (size_t)n;
            if (s->report_end && s->batch_off >= s->report_end) {
                atomic_store_explicit(&s->said, s->report_total, memory_order_relaxed);
                s->report_end = 0;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -EAGAIN;
        /* EPIPE, EBADF, ENOSPC...: nothing can be written; keep draining so
         * producers keep going, and count what is lost. No drop report is
         * written after that: it could only fail too (and loop). */
        s->output_dead = true;
        consumer_count(s, TYCHO_DROP_WRITE_ERROR,
                       count_lines(s->batch + s->batch_off, s->batch_len - s->batch_off));
        break;
    }
    s->batch_off = s->batch_len = s->report_end = 0;
    return 0;
}

static void arm(tycho_logsink_t *s);

static void on_writable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    tycho_logsink_t *s = h->data;
    uv_poll_stop(&s->poll);
    s->polling = false;
    arm(s);
}

/* One drain pass on the loop: fill, write, up to TICK_BUDGET bytes. */
static void tick(uv_timer_t *t)
{
    tycho_logsink_t *s = t->data;
    size_t written = 0;
    size_t moved_total = 0;
    for (;;) {
        int rc = write_batch(s, &written);
        if (rc == -EAGAIN) {
            if (s->poll_ok && uv_poll_start(&s->poll, UV_WRITABLE, on_writable) == 0) {
                s->polling = true;
                return; /* the poll callback re-arms the timer */
            }
            s->interval = s->o.poll_min_ms;
            break;
        }
        if (written >= TICK_BUDGET) {
            s->interval = 0; /* more to do: come back right after other events */
            break;
        }
        size_t moved = fill_batch(s, false);
        moved_total += moved;
        if (s->batch_len == 0) {
            /* Idle: back off; a pending (rate-limited) report keeps us busy. */
            bool pending = tycho_logsink_dropped_total(s) > s->reported;
            s->interval =
                moved_total || pending ? s->o.poll_min_ms : (s->interval ? s->interval * 2 : 1);
            if (s->interval > s->o.poll_max_ms) s->interval = s->o.poll_max_ms;
            break;
        }
    }
    uv_timer_start(&s->timer, tick, s->interval, 0);
}

void tycho_logsink_set_tap(tycho_logsink_t *s, tycho_logsink_tap_fn fn, void *ud)
{
    s->tap = fn;
    s->tap_ud = ud;
    atomic_store_explicit(&s->tapped, fn != NULL, memory_order_relaxed);
}

int tycho_logsink_drain(tycho_logsink_t *s)
{
    for (;;) {
        if (write_batch(s, NULL) == -EAGAIN) return -EAGAIN;
        fill_batch(s, false);
        if (s->batch_len == 0) return 0;
    }
}

static void arm(tycho_logsink_t *s)
{
    uv_timer_start(&s->timer, tick, 0, 0);
}

/* A producer's ring is filling: drain now, unless the output is what holds
 * the lines back (the poll for it re-arms the timer). */
static void on_wake(void *ud)
{
    tycho_logsink_t *s = ud;
    if (s->started && !s->polling) arm(s);
}

int tycho_logsink_start(tycho_logsink_t *s, uv_loop_t *loop)
{
    s->loop = loop;
    int fl = fcntl(s->o.fd, F_GETFL);
    if (fl < 0) return uv_translate_sys_error(errno);
    s->saved_flags = fl;
    int rc = tycho_wakeup_start(&s->wake, loop, on_wake, s);
    if (rc) return rc;
    /* Shared with whoever else holds this open file (a terminal, a parent's
     * pipe): restored by stop. */
    if (!(fl & O_NONBLOCK) && fcntl(s->o.fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = uv_translate_sys_error(errno);
        tycho_wakeup_stop(&s->wake);
        return rc;
    }
    uv_timer_init(loop, &s->timer); /* cannot fail */
    s->timer.data = s;
    /* Regular files cannot be polled (and never return EAGAIN). */
    s->poll_ok = uv_poll_init(loop, &s->poll, s->o.fd) == 0;
    if (s->poll_ok) s->poll.data = s;
    s->started = true;
    s->consumer = pthread_self();
    atomic_store_explicit(&s->live, true, memory_order_release);
    arm(s);
    return 0;
}

/* Drops everything still queued in the rings (shutdown deadline). */
static void discard_rings(tycho_logsink_t *s)
{
    uint64_t lost = count_lines(s->batch + s->batch_off, s->batch_len - s->batch_off);
    s->batch_off = s->batch_len = s->report_end = 0;
    for (unsigned i = 0, rings = rings_in_use(s); i < rings; i++) {
        struct producer *p = ring_at(s, i, rings);
        if (atomic_load_explicit(&p->ready, memory_order_acquire) != 1) continue;
        size_t t = atomic_load_explicit(&p->tail, memory_order_acquire);
        uint64_t popped = atomic_load_explicit(&p->popped, memory_order_relaxed);
        atomic_store_explicit(&p->head, t, memory_order_release);
        /* A producer still running may be one line ahead of this count. */
        uint64_t now_pushed = atomic_load_explicit(&p->pushed, memory_order_relaxed);
        lost += now_pushed > popped ? now_pushed - popped : 0;
        atomic_store_explicit(&p->popped, now_pushed, memory_order_relaxed);
    }
    consumer_count(s, TYCHO_DROP_SHUTDOWN, lost);
}

/* The deadline came with a line half-written (a partial write into a full
 * pipe): its rest is lost, and a newline ends the half, so that what comes
 * next (the report, the lines written straight to the output after the
 * sink) starts a line of its own instead of being glued to it. One byte:
 * it goes out while the pipe has any room; if none, nothing after it does
 * either. */
static void end_torn_line(tycho_logsink_t *s)
{
    if (!s->batch_off || s->batch[s->batch_off - 1] == '\n' || s->output_dead) return;
    ssize_t n;
    do
        n = write(s->o.fd, "\n", 1);
    while (n < 0 && errno == EINTR);
}

int tycho_logsink_flush(tycho_logsink_t *s, unsigned timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    if (s->started) {
        uv_timer_stop(&s->timer);
        if (s->polling) uv_poll_stop(&s->poll);
        s->polling = false;
    }
    for (;;) {
        int rc = write_batch(s, NULL);
        if (rc == 0) {
            fill_batch(s, true);
            if (s->batch_len == 0) break;
            continue;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            end_torn_line(s);
            discard_rings(s);
            maybe_report(s, true); /* best effort, without waiting */
            write_batch(s, NULL);
            s->batch_off = s->batch_len = s->report_end = 0;
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = s->o.fd, .events = POLLOUT};
        poll(&pfd, 1, (int)(deadline - now));
    }
    if (s->started && s->loop) uv_timer_start(&s->timer, tick, s->o.poll_min_ms, 0);
    return 0;
}

void tycho_logsink_stop(tycho_logsink_t *s)
{
    if (!s->started) return;
    s->started = false;
    atomic_store_explicit(&s->live, false, memory_order_release);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
    if (s->poll_ok) {
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, NULL);
    }
    tycho_wakeup_stop(&s->wake);
    if (!(s->saved_flags & O_NONBLOCK)) fcntl(s->o.fd, F_SETFL, s->saved_flags);
}
