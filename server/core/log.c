#include "core/log.h"

#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Process-wide settings, written before worker threads start. */
static tycho_log_level_t g_level = TYCHO_LOG_INFO;
static char g_service[128] = "tycho";
static tycho_log_sink_fn g_sink;
static void *g_sink_ud;
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

void tycho_log_set_sink(tycho_log_sink_fn fn, void *ud)
{
    g_sink = fn;
    g_sink_ud = ud;
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

static void write_fd(int fd, const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, line, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; /* nowhere left to report it */
        line += n;
        len -= (size_t)n;
    }
}

/* A line being written, and its description for the sink. */
typedef struct line_writer {
    tycho_buf_t b;
    tycho_log_meta_t meta;
    uint32_t wanted; /* bit k: a key not noted yet, that a field may still give */
    int vague;       /* non-zero: meta does not describe the line (an append failed...) */
} line_writer_t;

static inline void put(line_writer_t *w, const char *s, size_t n)
{
    w->vague |= tycho_buf_append(&w->b, s, n);
}

/* put for a literal: its size known, the inline append's copy is a move. */
#define PUT_LITERAL(w, s) put((w), (s), sizeof(s) - 1)

static inline void append_json(line_writer_t *w, const char *s, size_t n)
{
    w->vague |= tycho_buf_append_json_string(&w->b, s, n);
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
 * byte is longer than what it stands for. */
static inline void append_value(line_writer_t *w, tycho_log_key_t k, const char *s, size_t n)
{
    size_t start = w->b.len + 1; /* after the opening quote */
    w->vague |= tycho_buf_append_json_string(&w->b, s, n);
    size_t len = w->b.len - 1 - start; /* (nonsense when that failed: then vague) */
    note_value(w, k, start, len, len != n);
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
 * '-': an LF_ literal or a routed name) is copied as it is, any other
 * escaped. Inline: plain is a constant at most calls. */
static inline void append_key(line_writer_t *w, const char *key, size_t n, int plain)
{
    size_t room = plain ? n + 4 : 6 * n + 4; /* escaped: at most 6 n + 2, and , : */
    if ((!plain && n > (SIZE_MAX - 4) / 6) || tycho_buf_reserve(&w->b, room) != 0) {
        w->vague = 1;
        return;
    }
    w->b.data[w->b.len++] = ',';
    if (plain)
        copy_quoted(&w->b, key, n);
    else
        append_json(w, key, n);
    w->b.data[w->b.len++] = ':';
    w->b.data[w->b.len] = '\0';
}

/* The keys a shipper routes by, as they stand in a line (plain). */
#define ROUTED_NAME(s)                                                                             \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
static const struct {
    const char *name;
    size_t len;
} ROUTED[TYCHO_LOG_KEYS] = {
    [TYCHO_LOG_KEY_SERVICE] = ROUTED_NAME("service"),
    [TYCHO_LOG_KEY_REQUEST_ID] = ROUTED_NAME("request_id"),
    [TYCHO_LOG_KEY_TRACE_ID] = ROUTED_NAME("trace_id"),
    [TYCHO_LOG_KEY_SPAN_ID] = ROUTED_NAME("span_id"),
};

/* The key a shipper routes by that a field named key is, or -1. */
static int routed_key(const char *key)
{
    for (int k = 0; k < TYCHO_LOG_KEYS; k++)
        if (strcmp(key, ROUTED[k].name) == 0) return k;
    return -1;
}

/* A field; k: the key a shipper routes by it is, when it is one still
 * wanted, else -1. */
static void append_field(line_writer_t *w, const tycho_log_field_t *f, int k)
{
    append_key(w, f->key, f->key_plain ? f->klen : strlen(f->key), f->key_plain);
    switch (f->type) {
    case TYCHO_LF_STR: {
        size_t n = !f->s ? 0 : f->n == (size_t)-1 ? strlen(f->s) : f->n;
        if (!f->s)
            PUT_LITERAL(w, "null");
        else if (k >= 0 && (w->wanted & 1u << k))
            append_value(w, (tycho_log_key_t)k, f->s, n);
        else
            append_json(w, f->s, n);
        break;
    }
    case TYCHO_LF_INT:
        w->vague |= tycho_buf_append_int(&w->b, f->i);
        break;
    case TYCHO_LF_DBL:
        w->vague |= tycho_buf_printf(&w->b, "%.15g", f->d);
        break;
    case TYCHO_LF_BOOL:
        if (f->i)
            PUT_LITERAL(w, "true");
        else
            PUT_LITERAL(w, "false");
        break;
    case TYCHO_LF_JSON:
        /* raw JSON may be a string (the key's first one): not worth reading */
        if (k >= 0 && (w->wanted & 1u << k)) w->vague = 1;
        if (f->s)
            put(w, f->s, strlen(f->s));
        else
            PUT_LITERAL(w, "null");
        break;
    }
}

/* A context id: written before any field, so the first of its key; when
 * it is absent (or too long), a field may give it. */
static void append_context_str(line_writer_t *w, tycho_log_key_t k, const char *v, int plain)
{
    if (v && *v) {
        append_key(w, ROUTED[k].name, ROUTED[k].len, 1);
        if (plain)
            append_plain_value(w, k, v, strlen(v));
        else
            append_value(w, k, v, strlen(v));
    } else {
        w->wanted |= 1u << k;
    }
}

/* Formats the line into w (w->vague set when meta does not describe it). */
static void format_line(line_writer_t *w, tycho_log_level_t level, const char *msg,
                        const tycho_log_field_t *fields, size_t nfields)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->meta.ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    w->meta.level = written_level(level);
    char when[31];
    tycho_log_format_time(when, w->meta.ts_ns);

    w->vague |= tycho_buf_reserve(&w->b, 256);
    PUT_LITERAL(w, "{\"time\":\"");
    put(w, when, strlen(when));
    PUT_LITERAL(w, "\",\"level\":\"");
    put(w, level_names[w->meta.level], strlen(level_names[w->meta.level]));
    PUT_LITERAL(w, "\",\"msg\":");
    append_json(w, msg, strlen(msg));
    /* the first member after msg */
    append_key(w, ROUTED[TYCHO_LOG_KEY_SERVICE].name, ROUTED[TYCHO_LOG_KEY_SERVICE].len, 1);
    append_value(w, TYCHO_LOG_KEY_SERVICE, g_service, strlen(g_service));
    const tycho_log_context_t none = {NULL, NULL, NULL, 0}, *ctx = t_ctx ? t_ctx : &none;
    static const tycho_log_key_t ids[] = {TYCHO_LOG_KEY_REQUEST_ID, TYCHO_LOG_KEY_TRACE_ID,
                                          TYCHO_LOG_KEY_SPAN_ID};
    const char *const values[] = {ctx->request_id, ctx->trace_id, ctx->span_id};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        append_context_str(w, ids[i], values[i], (ctx->plain & TYCHO_LOG_PLAIN(ids[i])) != 0);
    /* fields come after the context: they matter only for ids it lacks */
    for (size_t i = 0; i < nfields; i++)
        append_field(w, &fields[i], w->wanted ? routed_key(fields[i].key) : -1);
    PUT_LITERAL(w, "}\n");
    if (w->b.len > UINT32_MAX) w->vague = 1;
}

void tycho_log_write(tycho_log_level_t level, const char *msg, const tycho_log_field_t *fields,
                     size_t nfields)
{
    if (!tycho_log_enabled(level)) return;
    line_writer_t w = {.b = TYCHO_BUF_INIT};
    format_line(&w, level, msg, fields, nfields);
    const tycho_log_meta_t *meta = w.vague ? NULL : &w.meta;
    if (w.b.data) {
        if (g_sink)
            g_sink(w.b.data, w.b.len, meta, g_sink_ud);
        else
            write_fd(STDOUT_FILENO, w.b.data, w.b.len);
    }
    tycho_buf_free(&w.b);
}

void tycho_log_write_stderr(tycho_log_level_t level, const char *msg,
                            const tycho_log_field_t *fields, size_t nfields)
{
    line_writer_t w = {.b = TYCHO_BUF_INIT};
    format_line(&w, level, msg, fields, nfields);
    if (w.b.data) write_fd(STDERR_FILENO, w.b.data, w.b.len);
    tycho_buf_free(&w.b);
}
