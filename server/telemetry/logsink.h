/* logsink — non-blocking stdout for log lines. tycho_logsink_write is a
 * tycho_log_sink_fn: any thread may call it; it copies the line (and the
 * logger's description of it) into that thread's own bounded byte ring and
 * returns. A full ring waits for room only while the consumer is draining
 * on another thread, and at most room_wait_ms (5 ms): a burst that outruns a consumer which
 * only waited for the CPU loses nothing. A wait that ends without room (the
 * output is stuck, or the consumer cannot keep up) drops the line and counts
 * it, and so does every line after it, at once, until the ring is half
 * empty again; the shared ring and the consumer's own thread never wait.
 * The telemetry thread drains every ring to
 * the (O_NONBLOCK) output with write(2) and uv_poll, on a timer (every 8 ms
 * while busy, up to poll_max_ms when idle) and as soon as a ring passes half
 * full; if the output is slow,
 * producers drop, and once it recovers one line reports how many were lost.
 * Lines are written whole: never torn, never interleaved (but for the one a
 * flush's deadline may cut half-written into a full pipe: a newline then
 * ends it, so the lines after start lines of their own). Each thread's lines
 * keep their order; lines of different threads follow the drain, ring by
 * ring, not the order they were written in. */
#ifndef TYCHO_TELEMETRY_LOGSINK_H
#define TYCHO_TELEMETRY_LOGSINK_H

#include "core/log.h"
#include "telemetry/dropcount.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tycho_logsink_opts {
    int fd;                      /* output; default (0 given) STDOUT_FILENO */
    size_t producer_bytes;       /* ring per producing thread; default 1 MiB (a line takes
                                    8 bytes more, 56 with the logger's meta) */
    unsigned max_producers;      /* threads with their own ring; default 64, then a shared one */
    size_t max_line;             /* longer lines are dropped (too_large); default
                                    TYCHO_LOG_MAX_LINE, the length tycho_log_write cuts to */
    unsigned report_interval_ms; /* at most one drop report per interval; default 1000 */
    unsigned room_wait_ms;       /* the longest a full ring waits for room; default 5 */
    unsigned poll_min_ms;        /* drain period while busy; default 8 */
    unsigned poll_max_ms;        /* drain period when idle; default 20 (at least poll_min_ms) */
    const char *service;         /* "service" of the drop report line; default the logger's */
} tycho_logsink_opts_t;

typedef struct tycho_logsink tycho_logsink_t;

/* NULL on ENOMEM (or no eventfd to be had). opts may be NULL (all defaults). */
tycho_logsink_t *tycho_logsink_new(const tycho_logsink_opts_t *opts);
/* On the telemetry thread, the one that runs loop (producers wait for room
 * only on other threads): sets the output O_NONBLOCK (restored by stop) and
 * starts draining on loop. 0 or a negative uv error. */
int tycho_logsink_start(tycho_logsink_t *s, uv_loop_t *loop);
/* The sink: tycho_log_set_sink(&(tycho_log_sink_t){tycho_logsink_write, sink}),
 * that struct kept as long as the sink. Any thread, also
 * before start (lines wait in the ring) and after stop (they are dropped
 * when the ring fills; nothing is ever freed under a producer). Lines must
 * be valid UTF-8 without NUL bytes, as tycho_log_write's and
 * tycho_span_to_json's are: the tap passes that guarantee on. meta (copied
 * while a tap is set, the only reader; NULL for a line not from
 * tycho_log_write) must describe line as given. */
void tycho_logsink_write(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud);
/* A tap sees every line (with its '\n', valid UTF-8 as written) and its
 * meta (NULL when it had none) as it is drained, before stdout; e.g. the
 * Loki exporter. Telemetry thread; fn must not block; both are valid only
 * during the call. */
typedef void (*tycho_logsink_tap_fn)(void *ud, const char *line, size_t len,
                                     const tycho_log_meta_t *meta);
void tycho_logsink_set_tap(tycho_logsink_t *s, tycho_logsink_tap_fn fn, void *ud);

/* One non-blocking drain pass now (the timer does this on its own): on the
 * consumer thread. 0 when everything queued was written, -EAGAIN when the
 * output is full. */
int tycho_logsink_drain(tycho_logsink_t *s);
/* Shutdown: on the telemetry thread (or any one thread once that loop no
 * longer runs), writes out everything queued, waiting for the output with
 * poll(2) up to timeout_ms. Lines left when the deadline passes are counted
 * as dropped (reason shutdown). A final report line is written if lines were
 * lost since the last one. 0, or -ETIMEDOUT. */
int tycho_logsink_flush(tycho_logsink_t *s, unsigned timeout_ms);
/* Telemetry thread: stops draining and closes the uv handles (their close
 * callbacks run on the loop's next iteration), restores the output's flags. */
void tycho_logsink_stop(tycho_logsink_t *s);
/* After stop's close callbacks ran (or if never started), and once no thread
 * can call tycho_logsink_write with this sink any more. */
void tycho_logsink_free(tycho_logsink_t *s);

/* Lines dropped so far for that reason (queue_full, too_large, write_error,
 * shutdown); any thread. */
uint64_t tycho_logsink_dropped(const tycho_logsink_t *s, tycho_drop_reason_t reason);
/* Lines dropped so far, every reason; any thread. */
uint64_t tycho_logsink_dropped_total(const tycho_logsink_t *s);
/* Lines dropped whose loss no report line on the output tells (the report
 * was never written: the output stayed full until the flush deadline, or
 * failed); after the final flush, what is left for another channel
 * (stderr) to say. Any thread. */
uint64_t tycho_logsink_unreported(const tycho_logsink_t *s);
/* Lines queued in the rings, approximate; any thread. */
size_t tycho_logsink_queued(const tycho_logsink_t *s);
/* Wires the drop counters and the queue depth into the dropcount metrics
 * (signal "logs"). Main thread, once. */
int tycho_logsink_register_metrics(tycho_logsink_t *s, tycho_dropcount_t *d);

#endif
