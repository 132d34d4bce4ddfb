/* ratelog — the logging policy for recurring events (an exporter's dropped
 * batch, a receiver's warning, items dropped for a full queue, a failing
 * credentials source): one line at the first event, then at most one per
 * interval, each carrying the count of events since the line before —
 * never one per event — and, for events with a reason, one at once when
 * the reason changes. A plain struct, zero-initialised (zeroing it again
 * makes the next event due at once); the thread owning it only. */
#ifndef TYCHO_CORE_RATELOG_H
#define TYCHO_CORE_RATELOG_H

#include <stdint.h>

/* at most one line a minute for one kind of event */
#define TYCHO_LOG_EVERY_MS 60000

typedef struct tycho_ratelog {
    uint64_t last_ms; /* when the last line was due */
    uint64_t pending; /* events since then */
    uint64_t reason;  /* hash of the last event's reason (tycho_ratelog_due_reason) */
    int logged;       /* a line was due once */
} tycho_ratelog_t;

/* Counts n events (0: only asks whether held-back events are due) at
 * now_ms. 1 when a line is due now — the first event ever, or events are
 * pending and every_ms passed since the last line — with *count the events
 * since the previous line (these included), which the line should report;
 * 0 when the line is held back. */
int tycho_ratelog_due(tycho_ratelog_t *r, uint64_t now_ms, uint64_t every_ms, uint64_t n,
                      uint64_t *count);

/* tycho_ratelog_due for one event with a reason (an error's text, which
 * must not carry what changes at every event, a request id say; UTC
 * date-times written "2026-01-01T00:00:00Z" and the numbers of
 * milliseconds and bytes in curl's messages, "after 1001 ms", "with 0 bytes
 * received", are not compared). An event whose reason is not
 * the previous event's is due at once, as a first event is; *count then
 * includes the events held back under the old one. */
int tycho_ratelog_due_reason(tycho_ratelog_t *r, uint64_t now_ms, uint64_t every_ms,
                             const char *reason, uint64_t *count);

#endif
