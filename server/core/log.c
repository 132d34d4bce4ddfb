#include "core/log.h"

#include "core/buf.h"

#include <errno.h>
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

const char *tycho_log_level_name(tycho_log_level_t level)
{
    return level <= TYCHO_LOG_ERROR ? level_names[level] : "info";
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

static void write_stdout(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, line, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; /* nowhere left to report it */
        line += n;
        len -= (size_t)n;
    }
}

static void append_key(tycho_buf_t *b, const char *key)
{
    tycho_buf_append(b, ",", 1);
    tycho_buf_append_json_string(b, key, strlen(key));
    tycho_buf_append(b, ":", 1);
}

static void append_field(tycho_buf_t *b, const tycho_log_field_t *f)
{
    append_key(b, f->key);
    switch (f->type) {
    case TYCHO_LF_STR:
        if (!f->s)
            tycho_buf_puts(b, "null");
        else
            tycho_buf_append_json_string(b, f->s, f->n == (size_t)-1 ? strlen(f->s) : f->n);
        break;
    case TYCHO_LF_INT:
        tycho_buf_append_int(b, f->i);
        break;
    case TYCHO_LF_DBL:
        tycho_buf_printf(b, "%.15g", f->d);
        break;
    case TYCHO_LF_BOOL:
        tycho_buf_puts(b, f->i ? "true" : "false");
        break;
    case TYCHO_LF_JSON:
        tycho_buf_puts(b, f->s ? f->s : "null");
        break;
    }
}

static void append_context_str(tycho_buf_t *b, const char *key, const char *v)
{
    if (v && *v) {
        append_key(b, key);
        tycho_buf_append_json_string(b, v, strlen(v));
    }
}

void tycho_log_write(tycho_log_level_t level, const char *msg, const tycho_log_field_t *fields,
                     size_t nfields)
{
    if (!tycho_log_enabled(level)) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[31];
    tycho_log_format_time(when, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);

    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_reserve(&b, 256);
    tycho_buf_puts(&b, "{\"time\":\"");
    tycho_buf_puts(&b, when);
    tycho_buf_puts(&b, "\",\"level\":\"");
    tycho_buf_puts(&b, tycho_log_level_name(level));
    tycho_buf_puts(&b, "\",\"msg\":");
    tycho_buf_append_json_string(&b, msg, strlen(msg));
    append_key(&b, "service");
    tycho_buf_append_json_string(&b, g_service, strlen(g_service));
    if (t_ctx) {
        append_context_str(&b, "request_id", t_ctx->request_id);
        append_context_str(&b, "trace_id", t_ctx->trace_id);
        append_context_str(&b, "span_id", t_ctx->span_id);
    }
    for (size_t i = 0; i < nfields; i++)
        append_field(&b, &fields[i]);
    tycho_buf_append(&b, "}\n", 2);
    if (b.data) {
        if (g_sink)
            g_sink(b.data, b.len, g_sink_ud);
        else
            write_stdout(b.data, b.len);
    }
    tycho_buf_free(&b);
}
