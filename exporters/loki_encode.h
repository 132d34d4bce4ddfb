/* loki_encode — Loki push bodies from tycho's JSON log lines (PROTOCOLS.md
 * section 2). A line is read just enough to route it: its top-level "time"
 * (RFC 3339, ns), "level", "service", "trace_id", "span_id" and
 * "request_id"; a line of tycho's logger is not read at all, its meta says
 * where they are (tycho_loki_entry_from_log). Streams are keyed by a small fixed label set —
 * service, level and the static TYCHO_LOKI_LABELS — never by request data; trace, span and request
 * ids travel as structured metadata. Entries of a stream are sent in timestamp order. The line
 * itself is pushed unchanged (minus its newline). Pure functions, any thread. */
#ifndef TYCHO_EXPORTERS_LOKI_ENCODE_H
#define TYCHO_EXPORTERS_LOKI_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/log.h"
#include "exporters/export_config.h"

#define TYCHO_LOKI_CONTENT_TYPE_PROTOBUF "application/x-protobuf"
#define TYCHO_LOKI_CONTENT_TYPE_JSON "application/json"

/* One queued line, in a single allocation (tycho_loki_entry_new: free with
 * free()). The string fields point into it; NULL when absent. The line is
 * NUL-terminated; service and the ids are their _len bytes: copies,
 * NUL-terminated, when the scan read them, but the values inside the line
 * (followed by its '"') when the logger's meta said where they are. */
typedef struct tycho_loki_entry {
    int64_t ts_ns;    /* the line's "time"; 0 when has_time is 0 (the caller stamps it) */
    int has_time;     /* the line had a readable "time" */
    int utf8;         /* line is known valid UTF-8 without NUL bytes (not checked again) */
    const char *line; /* without the trailing newline */
    size_t line_len;
    const char *level;   /* normalised: trace debug info warn error fatal unknown */
    const char *service; /* NULL: the default service */
    const char *trace_id, *span_id, *request_id;
    uint32_t service_len, trace_id_len, span_id_len, request_id_len; /* at most 128 */
    size_t mem;                                                      /* bytes this entry holds */
} tycho_loki_entry_t;

/* Flags of tycho_loki_entry_new. */
#define TYCHO_LOKI_LINE_UTF8 1u /* the caller guarantees valid UTF-8 without NUL bytes */

/* Parses line[0..len) (a JSON object; anything else is kept as an
 * "unknown"-level line). The scan stops once every field above is found (the
 * first occurrence of a key wins, so the rest cannot change them). Lines
 * without a readable time get has_time 0: the caller stamps ts_ns (so the
 * clock is read only for them). NULL on ENOMEM. */
tycho_loki_entry_t *tycho_loki_entry_new(const char *line, size_t len, unsigned flags);

/* Gives n bytes aligned for any type, or NULL (the entry is not made). */
typedef void *(*tycho_loki_alloc_fn)(void *ud, size_t n);
/* tycho_loki_entry_new with the entry's memory (en->mem bytes) from alloc:
 * the caller frees it its own way. alloc is called once, NULL returned when
 * it fails. */
tycho_loki_entry_t *tycho_loki_entry_make(const char *line, size_t len, unsigned flags,
                                          tycho_loki_alloc_fn alloc, void *ud);
/* tycho_loki_entry_make for a line of tycho_log_write (valid UTF-8 without
 * NUL bytes) that meta describes: the same entry (the time from meta: the
 * line's, to the ns), built without reading the line; service and ids not
 * copied unless escaped. */
tycho_loki_entry_t *tycho_loki_entry_from_log(const char *line, size_t len,
                                              const tycho_log_meta_t *meta,
                                              tycho_loki_alloc_fn alloc, void *ud);

typedef struct tycho_loki_options {
    const tycho_export_kvs_t *labels; /* static labels, sorted by name */
    const char *default_service;
    int json; /* 1: the JSON push body (uncompressed); 0: protobuf + snappy */
    /* protobuf: where the uncompressed body is packed before snappy; kept
     * (with its capacity) by the caller across calls. NULL: a temporary. */
    tycho_buf_t *scratch;
    /* 1: the ids stay in the line only, no structured metadata (for a Loki
     * that refuses it: before 3.0, or with it disallowed) */
    int no_metadata;
} tycho_loki_options_t;

/* Appends the push body for entries[0..n) to out. 0, -ENOMEM or -EIO. */
int tycho_loki_encode(tycho_loki_entry_t *const *entries, size_t n, const tycho_loki_options_t *o,
                      tycho_buf_t *out);

/* RFC 3339 time ("2026-11-25T16:22:32.123456789Z", offsets allowed) to unix
 * ns. 0, or -1 (also for a time that int64 ns cannot hold: before 1677 or
 * after 2262). */
int tycho_loki_parse_time(const char *s, size_t n, int64_t *ns);

/* Appends {name="value",...} with Go-style escapes in values. */
int tycho_loki_append_selector(tycho_buf_t *out, const char *const *names,
                               const char *const *values, size_t n);

#endif
