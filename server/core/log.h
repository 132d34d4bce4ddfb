/* log — structured JSON log lines: one object per line, written through a
 * replaceable sink (default: stdout). Any thread may log. Each thread may set
 * a context (request id, trace and span ids) that is attached to its lines.
 * Fields are typed key/value pairs; values are JSON-escaped here. A field
 * with a run-time key never repeats a member tycho writes itself
 * (TYCHO_LOG_FIELD_PREFIX); a line is cut to fit TYCHO_LOG_MAX_LINE. */
#ifndef TYCHO_LOG_H
#define TYCHO_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TYCHO_LOG_DEBUG, TYCHO_LOG_INFO, TYCHO_LOG_WARN, TYCHO_LOG_ERROR } tycho_log_level_t;

typedef enum {
    TYCHO_LF_STR,
    TYCHO_LF_INT,
    TYCHO_LF_DBL, /* as tycho_buf_append_json_number: NaN and infinities as strings */
    TYCHO_LF_BOOL,
    TYCHO_LF_JSON
} tycho_lf_type_t;

typedef struct tycho_log_field {
    const char *key;
    uint32_t klen;      /* the key's length (it may hold NUL bytes) */
    uint32_t key_plain; /* 1: key is a literal of plain characters, written as it is */
    tycho_lf_type_t type;
    const char *s; /* STR (len n, or strlen if n == SIZE_MAX), JSON (raw, already valid JSON
                      in valid UTF-8, as tycho_json_encode writes it) */
    size_t n;
    long long i;
    double d;
} tycho_log_field_t;

/* The LF_ macros take a string literal key only ("" k does not compile for
 * a variable): its length is known at compile time and it is written into
 * the line unescaped, so it must be plain JSON text — letters, digits, '_',
 * '.', '-' (tests/lint/test_log_keys.sh holds every such key to that). A key
 * known only at run time goes through tycho_lf_named. */
#define TYCHO_LF_KEY(k) ("" k), (uint32_t)(sizeof("" k) - 1), 1
#define LF_STR(k, v) ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_STR, (v), (size_t)-1, 0, 0})
#define LF_STRN(k, v, len) ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_STR, (v), (len), 0, 0})
#define LF_INT(k, v)                                                                               \
    ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_INT, NULL, 0, (long long)(v), 0})
#define LF_DBL(k, v) ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_DBL, NULL, 0, 0, (double)(v)})
#define LF_BOOL(k, v) ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_BOOL, NULL, 0, (v) ? 1 : 0, 0})
#define LF_JSON(k, v) ((tycho_log_field_t){TYCHO_LF_KEY(k), TYCHO_LF_JSON, (v), (size_t)-1, 0, 0})

/* f (made with an LF_ macro and the key "") with a key of klen bytes known
 * only at run time, from Lua for instance: escaped like any string when
 * written. */
static inline tycho_log_field_t tycho_lf_named(tycho_log_field_t f, const char *key, uint32_t klen)
{
    f.key = key;
    f.klen = klen;
    f.key_plain = 0;
    return f;
}

/* A field with a run-time key (tycho_lf_named: tycho.log's) named like a
 * member the line already has among those tycho writes itself — time,
 * level, msg, service, request_id, trace_id, span_id, and route and
 * fields_dropped (which tycho.log gives as its first fields) — is written
 * under this prefix ("field.level"), so that no reader takes it for what
 * tycho wrote; twice ("field.field.level") when another field of the call
 * is named "field.level" itself, and so on: no key appears twice (the
 * fields of one call have distinct keys, as a Lua table's). An LF_ literal
 * key is the code's own: written as it is. */
#define TYCHO_LOG_FIELD_PREFIX "field."

/* The longest line, '\n' included, that the log sink takes (longer ones it
 * drops, as too_large). A longer line is written again with every string
 * of its own (msg, field keys and values, LF_JSON text, which then becomes
 * a string) cut to a shorter length, halved until the line fits (down to 16
 * bytes): a cut string ends in "…(truncated, N bytes)", N its full length.
 * The ids, service, time and level are never cut. */
#define TYCHO_LOG_MAX_LINE (64 * 1024)

/* The members of a line a log shipper routes by, besides "time" and "level". */
typedef enum {
    TYCHO_LOG_KEY_SERVICE,
    TYCHO_LOG_KEY_REQUEST_ID,
    TYCHO_LOG_KEY_TRACE_ID,
    TYCHO_LOG_KEY_SPAN_ID,
    TYCHO_LOG_KEYS
} tycho_log_key_t;

/* Per-thread context attached to every line the thread writes (strings are
 * borrowed: keep them alive while set; NULL or "" means absent). */
typedef struct tycho_log_context {
    const char *request_id;
    const char *trace_id;
    const char *span_id;
    /* TYCHO_LOG_PLAIN(k) bits: that id is JSON string text as it is —
     * printable ASCII without '"' or '\\', as the hex ids tycho makes and
     * the request ids http/request_id.c accepts — written without a scan */
    uint32_t plain;
} tycho_log_context_t;

#define TYCHO_LOG_PLAIN(k) (1u << (k))

/* A string value whose text (as written, escaped) is longer is no id: a
 * reader of the line passes over it to a later member of the same key. */
#define TYCHO_LOG_META_MAX_TEXT 768

/* What tycho_log_write knows of the line it wrote, so that a consumer (the
 * Loki exporter) need not read the line again. For each key, at[] is where
 * the text of its first member with a string value of at most
 * TYCHO_LOG_META_MAX_TEXT bytes of text lies in the line (between the
 * quotes, as written: off 0 when there is no such member); bit k of escaped
 * says that text holds escapes (else it is the value itself, valid UTF-8
 * without control bytes). "time" and "level" are always the first two
 * members. */
typedef struct tycho_log_meta {
    int64_t ts_ns;  /* the line's "time", unix ns */
    uint32_t level; /* the line's "level", a tycho_log_level_t */
    uint32_t escaped;
    struct {
        uint32_t off, len;
    } at[TYCHO_LOG_KEYS];
} tycho_log_meta_t;

/* The sink receives one complete line, '\n' included. It must not block.
 * The line is valid UTF-8 without NUL bytes: every key and string value goes
 * through tycho_buf_append_json_string (invalid bytes become U+FFFD, control
 * bytes are escaped) and the rest is ASCII or LF_JSON text (valid UTF-8 by
 * its contract). Consumers rely on it (the Loki exporter does not check).
 * meta describes the line; NULL when the logger could not (a line past 4 GiB,
 * an allocation that failed, an LF_JSON member named like a missing id). */
typedef void (*tycho_log_sink_fn)(const char *line, size_t len, const tycho_log_meta_t *meta,
                                  void *ud);
/* A sink and its argument, installed as one: a line goes to one sink whole,
 * never to the new function with the old argument. */
typedef struct {
    tycho_log_sink_fn fn;
    void *ud;
} tycho_log_sink_t;

void tycho_log_set_level(tycho_log_level_t level);
tycho_log_level_t tycho_log_get_level(void);
int tycho_log_parse_level(const char *s, tycho_log_level_t *out); /* 0 or -EINVAL */
const char *tycho_log_level_name(tycho_log_level_t level);
/* The "service" of every line until tycho_log_set_service: the name the
 * OpenTelemetry spec gives a service nobody named (unknown_service:<the
 * executable>), so that log lines, Loki streams and the trace resource agree
 * (exporters/export_config.h resolves the configured one). */
#define TYCHO_SERVICE_NAME_DEFAULT "unknown_service:tycho"
void tycho_log_set_service(const char *service); /* copied; call before threads start */
const char *tycho_log_service(void);             /* the one lines carry */
/* Installs sink (NULL restores stdout). Any thread, also while others log
 * (the telemetry thread stops its sink while a worker past the drain
 * timeout may still write): sink and its ud must stay valid until no thread
 * can write through it any more, even after it was replaced. */
void tycho_log_set_sink(const tycho_log_sink_t *sink);
void tycho_log_set_context(const tycho_log_context_t *ctx); /* this thread; NULL clears */
const tycho_log_context_t *tycho_log_get_context(void);
int tycho_log_enabled(tycho_log_level_t level);

void tycho_log_write(tycho_log_level_t level, const char *msg, const tycho_log_field_t *fields,
                     size_t nfields);
/* tycho_log_write for a msg of msglen bytes (it may hold NUL bytes). */
void tycho_log_writen(tycho_log_level_t level, const char *msg, size_t msglen,
                      const tycho_log_field_t *fields, size_t nfields);
/* The same line written straight to stderr, synchronously, whatever the sink
 * and the level: the last words of a process about to abort (an asynchronous
 * sink would never deliver them). */
void tycho_log_write_stderr(tycho_log_level_t level, const char *msg,
                            const tycho_log_field_t *fields, size_t nfields);

#define tycho_log(level, msg, ...)                                                                 \
    do {                                                                                           \
        if (tycho_log_enabled(level)) {                                                            \
            const tycho_log_field_t tycho_lf_[] = {{0}, __VA_ARGS__};                              \
            tycho_log_write((level), (msg), tycho_lf_ + 1,                                         \
                            sizeof tycho_lf_ / sizeof tycho_lf_[0] - 1);                           \
        }                                                                                          \
    } while (0)

#define tycho_log_info(msg, ...) tycho_log(TYCHO_LOG_INFO, msg, ##__VA_ARGS__)
#define tycho_log_warn(msg, ...) tycho_log(TYCHO_LOG_WARN, msg, ##__VA_ARGS__)
#define tycho_log_error(msg, ...) tycho_log(TYCHO_LOG_ERROR, msg, ##__VA_ARGS__)
#define tycho_log_debug(msg, ...) tycho_log(TYCHO_LOG_DEBUG, msg, ##__VA_ARGS__)

/* From now on, a line written straight to stdout or stderr (no sink set,
 * or tycho_log_write_stderr) waits for the output at most until timeout_ms
 * from now, all lines together; past that, a line the output does not take
 * at once is lost and counted. An earlier bound stays. For a shutdown that
 * must end even when nobody reads stdout. Any thread. */
void tycho_log_bound_writes(unsigned timeout_ms);
/* Lines a direct write could not write whole (bounded out, or an error),
 * and those added by tycho_log_add_lost. */
uint64_t tycho_log_lines_lost(void);
/* n lines lost on their way to stdout that no line there reports (the log
 * sink's, at shutdown): tycho_log_lines_lost counts them too. Any thread. */
void tycho_log_add_lost(uint64_t n);

/* RFC 3339 UTC time with nanoseconds, e.g. 2026-11-25T16:22:32.123456789Z
 * (out must hold 31 bytes). */
void tycho_log_format_time(char out[31], int64_t unix_ns);

#endif
