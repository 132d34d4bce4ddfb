#include "core/log.h"

#include "core/buf.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Process-wide settings, written before worker threads start. */
static tycho_log_level_t g_level = TYCHO_LOG_INFO;
static char g_service[128] = TYCHO_SERVICE_NAME_DEFAULT;
/* The sink changes while threads log (installed by the telemetry thread
 * when it starts, removed when it stops, workers writing all along): one
 * pointer, released and acquired, so a writer sees a whole sink. */
static _Atomic(const tycho_log_sink_t *) g_sink;
static _Thread_local const tycho_log_context_t *t_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tycho_log_set_level(tycho_log_level_t level)
{
    g_level = level;
}

tycho_log_level_t tycho_log_get_level(void)
{
    return g_level;
}

int tycho_log_enabled(tycho_log_level_t level)
{
    return level >= g_level;
}

/* The level a line of that level says it has. */
static tycho_log_level_t written_level(tycho_log_level_t level)
{
    return level <= TYCHO_LOG_ERROR ? level : TYCHO_LOG_INFO;
}

const char *tycho_log_level_name(tycho_log_level_t level)
{
    return level_names[written_level(level)];
}

int tycho_log_parse_level(const char *s, tycho_log_level_t *out)
{
    for (int i = 0; i <= TYCHO_LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (tycho_log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = TYCHO_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

void tycho_log_set_service(const char *service)
{
    snprintf(g_service, sizeof g_service, "%s", service);
}

const char *tycho_log_service(void)
{
    return g_service;
}

void tycho_log_set_sink(const tycho_log_sink_t *sink)
{
    atomic_store_explicit(&g_sink, sink, memory_order_release);
}

void tycho_log_set_context(const tycho_log_context_t *ctx)
{
    t_ctx = ctx;
}

const tycho_log_context_t *tycho_log_get_context(void)
{
    return t_ctx;
}

/* "2026-11-25T21:30:00" for secs into out; 0 when it does not fit. */
static size_t format_second(char *out, size_t cap, time_t secs)
{
    struct tm tm;
    gmtime_r(&secs, &tm);
    return strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* The formatted second of the last call on this thread: a thread logging many
 * lines a second formats the date once a second, not once a line. */
static _Thread_local struct {
    time_t secs;
    size_t n;      /* 0: that second does not fit text */
    char text[20]; /* "2026-11-25T21:30:00" */
} t_second = {(time_t)-1, 0, ""};

void tycho_log_format_time(char out[31], int64_t unix_ns)
{
    time_t secs = (time_t)(unix_ns / 1000000000);
    int ns = (int)(unix_ns % 1000000000);
    if (secs != t_second.secs) {
        t_second.n = format_second(t_second.text, sizeof t_second.text, secs);
        t_second.secs = secs;
    }
    size_t n = t_second.n;
    if (n == 0 || ns < 0) { /* a year past 9999, or before 1970 */
        n = format_second(out, 31, secs);
        snprintf(out + n, 31 - n, ".%09dZ", ns);
        return;
    }
    memcpy(out, t_second.text, n);
    out[n] = '.';
    for (int i = 9; i >= 1; i--, ns /= 10)
        out[n + (size_t)i] = (char)('0' + ns % 10);
    out[n + 10] = 'Z';
    out[n + 11] = '\0';
}

/* Past this time (CLOCK_MONOTONIC ns; 0: never) a write straight to stdout or
 * stderr gives up instead of waiting for a reader: tycho_log_bound_writes. */
static _Atomic int64_t g_write_deadline_ns;
static atomic_ullong g_lines_lost;

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tycho_log_bound_writes(unsigned timeout_ms)
{
    int64_t deadline = monotonic_ns() + (int64_t)timeout_ms * 1000000;
    int64_t cur = atomic_load(&g_write_deadline_ns);
    while ((cur == 0 || deadline < cur) &&
           !atomic_compare_exchange_weak(&g_write_deadline_ns, &cur, deadline))
        ;
}

void tycho_log_add_lost(uint64_t n)
{
    atomic_fetch_add(&g_lines_lost, n);
}

uint64_t tycho_log_lines_lost(void)
{
    return atomic_load(&g_lines_lost);
}

/* Whether fd takes bytes before deadline (an error or a hang-up counts:
 * the write then says what it is). */
static int wait_writable(int fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - monotonic_ns();
        int ms = left > 0 ? (int)((left + 999999) / 1000000) : 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, ms);
        if (n < 0 && errno == EINTR) continue;
        return n > 0;
    }
}

/* With a deadline, the fd (blocking again once the log sink is gone) is
 * written only when poll says it takes bytes, PIPE_BUF at a time: a pipe
 * that polls writable takes that much without blocking. A line the output
 * does not take in time is lost, counted. */
static void write_fd(int fd, const char *line, size_t len)
{
    int64_t deadline = atomic_load_explicit(&g_write_deadline_ns, memory_order_relaxed);
    while (len > 0) {
        if (deadline && !wait_writable(fd, deadline)) break;
        ssize_t n = write(fd, line, deadline && len > PIPE_BUF ? PIPE_BUF : len);
        if (n < 0 && (errno == EINTR || (deadline && errno == EAGAIN))) continue;
        if (n <= 0) break; /* nowhere left to report it */
        line += n;
        len -= (size_t)n;
    }
    if (len > 0) atomic_fetch_add(&g_lines_lost, 1);
}

/* A line being written, and its description for the sink. */
typedef struct line_writer {
    tycho_buf_t b;
    tycho_log_meta_t meta;
    uint32_t wanted;  /* bit k: a key not noted yet, that a field may still give */
    uint32_t present; /* bit of each line_key_t tycho or the context wrote */
    int vague;        /* non-zero: meta does not describe the line (an append failed...) */
} line_writer_t;

static inline void put(line_writer_t *w, const char *s, size_t n)
{
    w->vague |= tycho_buf_append(&w->b, s, n);
}

/* put for a literal: its size known, the inline append's copy is a move. */
#define PUT_LITERAL(w, s) put((w), (s), sizeof(s) - 1)

/* Where s (n > cap bytes) is cut: at most cap bytes, not inside a UTF-8
 * sequence (a cut one would read as U+FFFD). */
static size_t cut_point(const char *s, size_t cap)
{
    size_t cut = cap;
    while (cut > 0 && cap - cut < 3 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

/* append_json's rare case: s cut, and marked inside its quotes. */
static size_t append_cut(line_writer_t *w, const char *s, size_t n, size_t cap)
{
    size_t cut = cut_point(s, cap);
    if (tycho_buf_append_json_string(&w->b, s, cut) != 0) {
        w->vague = 1;
        return n;
    }
    size_t end = --w->b.len; /* the closing quote: the marker goes before it */
    if (tycho_buf_printf(&w->b, "\xe2\x80\xa6(truncated, %zu bytes)\"", n) != 0) {
        w->b.data[w->b.len++] = '"'; /* cut, unmarked: still a string */
        w->b.data[w->b.len] = '\0';
        w->vague = 1;
        return n;
    }
    return cut + (w->b.len - 1 - end);
}

/* s as a JSON string, cut past cap bytes (SIZE_MAX: never, as the ids).
 * Returns how long its text would be if nothing in it were escaped: n, or
 * the cut and its marker. */
static inline size_t append_json(line_writer_t *w, const char *s, size_t n, size_t cap)
{
    if (n > cap) return append_cut(w, s, n, cap);
    w->vague |= tycho_buf_append_json_string(&w->b, s, n);
    return n;
}

/* Notes where the text of the value of key k (a key a shipper routes by)
 * went: len bytes from start, escaped or not — unless it is too long to be
 * an id (then a later member may be). */
static inline void note_value(line_writer_t *w, tycho_log_key_t k, size_t start, size_t len,
                              int escaped)
{
    if (len > TYCHO_LOG_META_MAX_TEXT) {
        w->wanted |= 1u << k;
        return;
    }
    w->meta.at[k].off = (uint32_t)start; /* a line past 4 GiB is vague (tycho_log_write) */
    w->meta.at[k].len = (uint32_t)len;
    w->meta.escaped |= (uint32_t)escaped << k;
    w->wanted &= ~(1u << k);
}

/* append_json for the value of a member of key k, the first with a string
 * value (the caller checks wanted), noted. The text is the value itself
 * exactly when it is as long: every escape and every U+FFFD replacing a
 * byte is longer than what it stands for (a cut value is itself as cut). */
static inline void append_value(line_writer_t *w, tycho_log_key_t k, const char *s, size_t n,
                                size_t cap)
{
    size_t start = w->b.len + 1; /* after the opening quote */
    size_t plain = append_json(w, s, n, cap);
    size_t len = w->b.len - 1 - start; /* (nonsense when that failed: then vague) */
    note_value(w, k, start, len, len != plain);
}

/* s (n plain characters: JSON text as they are) between quotes, copied
 * without a scan into room the caller reserved (n + 2 bytes, and the NUL it
 * writes after). Returns where the copy of s starts. */
static inline size_t copy_quoted(tycho_buf_t *b, const char *s, size_t n)
{
    char *o = b->data + b->len;
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    b->len += n + 2;
    return b->len - n - 1;
}

/* append_value for a value of n plain characters. */
static inline void append_plain_value(line_writer_t *w, tycho_log_key_t k, const char *s, size_t n)
{
    if (tycho_buf_reserve(&w->b, n + 2) != 0) {
        w->vague = 1;
        return;
    }
    size_t start = copy_quoted(&w->b, s, n);
    w->b.data[w->b.len] = '\0';
    note_value(w, k, start, n, 0);
}

/* ,"key": — the room for all of it reserved at once, the punctuation
 * stored by hand (two one-byte tycho_buf_append calls, each a reserve and a
 * memcpy, cost more than the key). A plain key (letters, digits, '_', '.',
 * '-': an LF_ literal or a line key's name) is copied as it is. Inline:
 * n is a constant at most calls. */
static inline void append_plain_key(line_writer_t *w, const char *key, size_t n)
{
    if (tycho_buf_reserve(&w->b, n + 4) != 0) {
        w->vague = 1;
        return;
    }
    w->b.data[w->b.len++] = ',';
    copy_quoted(&w->b, key, n);
    w->b.data[w->b.len++] = ':';
    w->b.data[w->b.len] = '\0';
}

/* ,"key": for a key known only at run time: escaped, and cut as the
 * caller's strings are. */
static void append_named_key(line_writer_t *w, const char *key, size_t n, size_t cap)
{
    PUT_LITERAL(w, ",");
    append_json(w, key, n, cap);
    PUT_LITERAL(w, ":");
}

/* The members tycho writes itself, which a field with a run-time key must
 * not repeat. The first TYCHO_LOG_KEYS are the keys a shipper routes by, in
 * their order. */
typedef enum {
    LK_SERVICE = TYCHO_LOG_KEY_SERVICE,
    LK_REQUEST_ID = TYCHO_LOG_KEY_REQUEST_ID,
    LK_TRACE_ID = TYCHO_LOG_KEY_TRACE_ID,
    LK_SPAN_ID = TYCHO_LOG_KEY_SPAN_ID,
    LK_TIME = TYCHO_LOG_KEYS,
    LK_LEVEL,
    LK_MSG,
    LK_ROUTE,          /* the route a request's lines carry (a field: see taken) */
    LK_FIELDS_DROPPED, /* tycho.log's count of fields it could not keep (the same) */
    LK_COUNT
} line_key_t;

#define LINE_KEY(s)                                                                                \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
static const struct {
    const char *name; /* a field named name, if the line has it, is renamed */
    size_t len;
} LINE_KEYS[LK_COUNT] = {
    [LK_SERVICE] = LINE_KEY("service"),
    [LK_REQUEST_ID] = LINE_KEY("request_id"),
    [LK_TRACE_ID] = LINE_KEY("trace_id"),
    [LK_SPAN_ID] = LINE_KEY("span_id"),
    [LK_TIME] = LINE_KEY("time"),
    [LK_LEVEL] = LINE_KEY("level"),
    [LK_MSG] = LINE_KEY("msg"),
    [LK_ROUTE] = LINE_KEY("route"),
    [LK_FIELDS_DROPPED] = LINE_KEY("fields_dropped"),
};

/* The line keys of each length (bits of line_key_t), so that most keys are
 * told apart from them by their length alone. */
static const uint16_t LINE_KEYS_BY_LEN[16] = {
    [3] = 1u << LK_MSG,
    [4] = 1u << LK_TIME,
    [5] = 1u << LK_LEVEL | 1u << LK_ROUTE,
    [7] = 1u << LK_SERVICE | 1u << LK_SPAN_ID,
    [8] = 1u << LK_TRACE_ID,
    [10] = 1u << LK_REQUEST_ID,
    [14] = 1u << LK_FIELDS_DROPPED,
};

/* The line key a key of n bytes is, or -1. */
static inline int line_key(const char *key, size_t n)
{
    if (n >= sizeof LINE_KEYS_BY_LEN / sizeof LINE_KEYS_BY_LEN[0]) return -1;
    for (unsigned m = LINE_KEYS_BY_LEN[n]; m; m &= m - 1) {
        int lk = __builtin_ctz(m);
        if (key[0] == LINE_KEYS[lk].name[0] && memcmp(key, LINE_KEYS[lk].name, n) == 0) return lk;
    }
    return -1;
}

/* The key a shipper routes by that line key lk is, when it is one the line
 * still wants, else -1. */
static inline int wanted_key(const line_writer_t *w, int lk)
{
    return lk >= 0 && lk < TYCHO_LOG_KEYS && (w->wanted & 1u << lk) ? lk : -1;
}

/* Whether the line has a member named like line key lk before field i:
 * tycho's own, the context's, or an earlier field's. */
static int taken(const line_writer_t *w, const tycho_log_field_t *fields, size_t i, int lk)
{
    if (w->present & 1u << lk) return 1;
    for (size_t j = 0; j < i; j++)
        if (fields[j].klen == LINE_KEYS[lk].len &&
            memcmp(fields[j].key, LINE_KEYS[lk].name, LINE_KEYS[lk].len) == 0)
            return 1;
    return 0;
}

#define PREFIX_LEN (sizeof TYCHO_LOG_FIELD_PREFIX - 1)

/* Whether a field other than field i (of n) is named depth times the
 * prefix, then line key lk's name ("field.level" at depth 1). */
static int renamed_taken(const tycho_log_field_t *fields, size_t n, size_t i, int lk, size_t depth)
{
    size_t len = depth * PREFIX_LEN + LINE_KEYS[lk].len;
    for (size_t j = 0; j < n; j++) {
        const char *k = fields[j].key;
        if (j == i || fields[j].klen != len) continue;
        size_t d = 0;
        while (d < depth && memcmp(k + d * PREFIX_LEN, TYCHO_LOG_FIELD_PREFIX, PREFIX_LEN) == 0)
            d++;
        if (d == depth &&
            memcmp(k + len - LINE_KEYS[lk].len, LINE_KEYS[lk].name, LINE_KEYS[lk].len) == 0)
            return 1;
    }
    return 0;
}

/* ,"field.<name>": for field i named like line key lk, with one more prefix
 * while a field of the line (a caller's own "field.level") has that name:
 * a key appears once in a line (the fields of a call have distinct keys). */
static void append_renamed_key(line_writer_t *w, const tycho_log_field_t *fields, size_t n,
                               size_t i, int lk)
{
    size_t depth = 1;
    while (renamed_taken(fields, n, i, lk, depth))
        depth++;
    PUT_LITERAL(w, ",\"");
    for (size_t d = 0; d < depth; d++)
        PUT_LITERAL(w, TYCHO_LOG_FIELD_PREFIX);
    put(w, LINE_KEYS[lk].name, LINE_KEYS[lk].len);
    PUT_LITERAL(w, "\":");
}

/* Writes the key of field i (of n) and returns the key a shipper routes by
 * the field is, when it is one still wanted, else -1. A literal key is the
 * code's own, written as it is (without a context, an id's name gives the
 * line that id; tests/lint/test_log_keys.sh keeps time, level, msg and
 * service out); a key known only at run time is renamed when the line has a
 * member of that name already. */
static inline int append_field_key(line_writer_t *w, const tycho_log_field_t *fields, size_t n,
                                   size_t i, size_t cap)
{
    const tycho_log_field_t *f = &fields[i];
    if (f->key_plain) {
        append_plain_key(w, f->key, f->klen);
        return w->wanted ? wanted_key(w, line_key(f->key, f->klen)) : -1;
    }
    int lk = line_key(f->key, f->klen);
    if (lk >= 0 && taken(w, fields, i, lk)) {
        append_renamed_key(w, fields, n, i, lk);
        return -1;
    }
    append_named_key(w, f->key, f->klen, cap);
    return wanted_key(w, lk);
}

/* A string value of a field; k: as append_field_key returned. */
static inline void append_field_str(line_writer_t *w, const char *s, size_t n, int k, size_t cap)
{
    if (k >= 0)
        append_value(w, (tycho_log_key_t)k, s, n, cap);
    else
        append_json(w, s, n, cap);
}

/* Field i of nfields, its strings cut past cap bytes. */
static inline void append_field(line_writer_t *w, const tycho_log_field_t *fields, size_t nfields,
                                size_t i, size_t cap)
{
    const tycho_log_field_t *f = &fields[i];
    int k = append_field_key(w, fields, nfields, i, cap);
    switch (f->type) {
    case TYCHO_LF_STR:
        if (!f->s)
            PUT_LITERAL(w, "null");
        else
            append_field_str(w, f->s, f->n == (size_t)-1 ? strlen(f->s) : f->n, k, cap);
        break;
    case TYCHO_LF_INT:
        w->vague |= tycho_buf_append_int(&w->b, f->i);
        break;
    case TYCHO_LF_DBL:
        w->vague |= tycho_buf_append_json_number(&w->b, f->d);
        break;
    case TYCHO_LF_BOOL:
        if (f->i)
            PUT_LITERAL(w, "true");
        else
            PUT_LITERAL(w, "false");
        break;
    case TYCHO_LF_JSON: {
        size_t n = f->s ? strlen(f->s) : 0;
        if (n > cap) { /* only a string can be cut and stay JSON */
            append_field_str(w, f->s, n, k, cap);
            break;
        }
        /* raw JSON may be a string (the key's first one): not worth reading */
        if (k >= 0) w->vague = 1;
        if (f->s)
            put(w, f->s, n);
        else
            PUT_LITERAL(w, "null");
        break;
    }
    }
}

/* A context id: written before any field, so the first of its key; when
 * it is absent (or too long), a field may give it. */
static void append_context_str(line_writer_t *w, tycho_log_key_t k, const char *v, int plain)
{
    if (v && *v) {
        append_plain_key(w, LINE_KEYS[k].name, LINE_KEYS[k].len);
        w->present |= 1u << k;
        if (plain)
            append_plain_value(w, k, v, strlen(v));
        else
            append_value(w, k, v, strlen(v), SIZE_MAX);
    } else {
        w->wanted |= 1u << k;
    }
}

/* A line to write: what the caller gave. */
typedef struct line {
    tycho_log_level_t level;
    const char *msg;
    size_t msglen;
    const tycho_log_field_t *fields;
    size_t nfields;
} line_t;

/* Formats line l at time w->meta.ts_ns into w (w->vague set when meta does
 * not describe it), the caller's strings cut past cap bytes. */
static void format_line(line_writer_t *w, const line_t *l, size_t cap)
{
    tycho_log_level_t level = l->level;
    const char *msg = l->msg;
    size_t msglen = l->msglen;
    const tycho_log_field_t *fields = l->fields;
    size_t nfields = l->nfields;
    w->meta.level = written_level(level);
    char when[31];
    tycho_log_format_time(when, w->meta.ts_ns);

    w->vague |= tycho_buf_reserve(&w->b, 256);
    PUT_LITERAL(w, "{\"time\":\"");
    put(w, when, strlen(when));
    PUT_LITERAL(w, "\",\"level\":\"");
    put(w, level_names[w->meta.level], strlen(level_names[w->meta.level]));
    PUT_LITERAL(w, "\",\"msg\":");
    append_json(w, msg, msglen, cap);
    /* the first member after msg */
    append_plain_key(w, LINE_KEYS[LK_SERVICE].name, LINE_KEYS[LK_SERVICE].len);
    append_value(w, TYCHO_LOG_KEY_SERVICE, g_service, strlen(g_service), SIZE_MAX);
    w->present = 1u << LK_TIME | 1u << LK_LEVEL | 1u << LK_MSG | 1u << LK_SERVICE;
    const tycho_log_context_t none = {NULL, NULL, NULL, 0}, *ctx = t_ctx ? t_ctx : &none;
    static const tycho_log_key_t ids[] = {TYCHO_LOG_KEY_REQUEST_ID, TYCHO_LOG_KEY_TRACE_ID,
                                          TYCHO_LOG_KEY_SPAN_ID};
    const char *const values[] = {ctx->request_id, ctx->trace_id, ctx->span_id};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        append_context_str(w, ids[i], values[i], (ctx->plain & TYCHO_LOG_PLAIN(ids[i])) != 0);
    /* fields come after the context: they matter only for ids it lacks */
    for (size_t i = 0; i < nfields; i++)
        append_field(w, fields, nfields, i, cap);
    PUT_LITERAL(w, "}\n");
    if (w->b.len > UINT32_MAX) w->vague = 1;
}

/* The shortest cap on the caller's strings that a line is cut to: below
 * it the line is one of too many members to fit, whatever their length. */
#define MIN_CAP 16

/* format_line again, with the caller's strings cut shorter and shorter
 * while the line is over TYCHO_LOG_MAX_LINE (rare: most lines are short). */
static void __attribute__((noinline)) format_shorter(line_writer_t *w, const line_t *l)
{
    for (size_t cap = TYCHO_LOG_MAX_LINE / 2; w->b.len > TYCHO_LOG_MAX_LINE && cap >= MIN_CAP;
         cap /= 2) {
        tycho_buf_reset(&w->b);
        *w = (line_writer_t){.b = w->b, .meta.ts_ns = w->meta.ts_ns}; /* the first pass's time */
        format_line(w, l, cap);
    }
}

/* Formats line l into w, cut to fit when it is too long. */
static inline void format_fitting(line_writer_t *w, const line_t *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->meta.ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    format_line(w, l, SIZE_MAX);
    if (w->b.len > TYCHO_LOG_MAX_LINE) format_shorter(w, l);
}

/* Formats line l and hands it to the sink (the caller checked the level). */
static inline void write_line(const line_t *l)
{
    line_writer_t w = {.b = TYCHO_BUF_INIT};
    format_fitting(&w, l);
    const tycho_log_meta_t *meta = w.vague ? NULL : &w.meta;
    if (w.b.data) {
        const tycho_log_sink_t *sink = atomic_load_explicit(&g_sink, memory_order_acquire);
        if (sink)
            sink->fn(w.b.data, w.b.len, meta, sink->ud);
        else
            write_fd(STDOUT_FILENO, w.b.data, w.b.len);
    }
    tycho_buf_free(&w.b);
}

void tycho_log_writen(tycho_log_level_t level, const char *msg, size_t msglen,
                      const tycho_log_field_t *fields, size_t nfields)
{
    if (tycho_log_enabled(level)) write_line(&(line_t){level, msg, msglen, fields, nfields});
}

void tycho_log_write(tycho_log_level_t level, const char *msg, const tycho_log_field_t *fields,
                     size_t nfields)
{
    if (tycho_log_enabled(level)) write_line(&(line_t){level, msg, strlen(msg), fields, nfields});
}

void tycho_log_write_stderr(tycho_log_level_t level, const char *msg,
                            const tycho_log_field_t *fields, size_t nfields)
{
    line_writer_t w = {.b = TYCHO_BUF_INIT};
    format_fitting(&w, &(line_t){level, msg, strlen(msg), fields, nfields});
    if (w.b.data) write_fd(STDERR_FILENO, w.b.data, w.b.len);
    tycho_buf_free(&w.b);
}
