#define _GNU_SOURCE /* qsort_r */
#include "exporters/loki_encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/swar.h"
#include "core/utf8.h"
#include "exporters/export_arena.h"
#include "exporters/export_snappy.h"
#include "exporters/pb_write.h"

/* --- reading a log line ---------------------------------------------------- */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at the opening quote; returns the position after the closing quote.
 * memchr finds the candidates: a quote ends the string unless an odd run of
 * backslashes precedes it (a run always starts outside an escape, so its
 * parity decides, as a byte-by-byte scan would). */
static const char *string_end(const char *p, const char *e, int *escaped)
{
    const char *body = p + 1, *q = body;
    for (;;) {
        q = memchr(q, '"', (size_t)(e - q));
        if (!q) return NULL;
        size_t run = 0;
        while (q - run > body && q[-1 - (ptrdiff_t)run] == '\\')
            run++;
        if (!(run & 1)) break;
        q++;
    }
    *escaped = memchr(body, '\\', (size_t)(q - body)) != NULL;
    return q + 1;
}

static const char *value_end(const char *p, const char *e)
{
    int depth = 0, esc;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            if (!(p = string_end(p, e, &esc))) return NULL;
            if (!depth) return p;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (!depth) return p; /* end of the enclosing object */
            if (--depth == 0) return p + 1;
        } else if (!depth && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            return p;
        }
        p++;
    }
    return depth ? NULL : p;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes the JSON string body s[0..n) into o (room for n + 1 bytes:
 * every escape is at least as long as what it stands for). */
static size_t unescape(const char *s, size_t n, char *o)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            o[k++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'n':
            o[k++] = '\n';
            break;
        case 't':
            o[k++] = '\t';
            break;
        case 'r':
            o[k++] = '\r';
            break;
        case 'b':
            o[k++] = '\b';
            break;
        case 'f':
            o[k++] = '\f';
            break;
        case 'u': {
            unsigned cp;
            if (i + 4 >= n || hex4(s + i + 1, &cp) != 0) {
                o[k++] = '?';
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u') {
                unsigned lo;
                if (hex4(s + i + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            k += put_utf8(o + k, cp);
            break;
        }
        default:
            o[k++] = c;
            break; /* \" \\ \/ */
        }
    }
    o[k] = 0;
    return k;
}

/* isdigit(3) without the locale table lookup */
static int is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* a / b rounded towards minus infinity (b > 0) */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. Linear
 * in d, so an out-of-range day (February 31) rolls over into the next month
 * as timegm(3) does; computed here because timegm was a visible share of the
 * cost of every pushed line. */
static int64_t days_from_epoch(int y, int m, int d)
{
    static const int before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t py = (int64_t)y - 1; /* whole years since 0001-01-01 */
    int64_t days = 365 * py + floor_div(py, 4) - floor_div(py, 100) + floor_div(py, 400);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    days += before_month[m - 1] + (m > 2 && leap) + (d - 1);
    return days - 719162; /* 0001-01-01 .. 1970-01-01 */
}

/* "YYYY-MM-DDTHH:MM:SS" (T also t or a space), s[0..19), to unix seconds.
 * 0 or -1. */
static int read_second(const char *s, int64_t *secs)
{
    int v[6];
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    for (int f = 0; f < 6; f++) {
        int x = 0;
        for (int i = 0; i < width[f]; i++) {
            if (!is_digit(s[i])) return -1;
            x = x * 10 + (s[i] - '0');
        }
        v[f] = x;
        s += width[f];
        if (sep[f] && (f == 2 ? (*s != 'T' && *s != 't' && *s != ' ') : *s != sep[f])) return -1;
        s += sep[f] != 0;
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return -1;
    *secs = days_from_epoch(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    return 0;
}

/* The second read last on this thread: lines come in time order, many a
 * second, so most repeat it (as log.c formats it once a second). */
static _Thread_local struct {
    int ok; /* text holds a readable second */
    char text[19];
    int64_t secs;
} t_second;

static int cached_second(const char *s, int64_t *secs)
{
    if (!t_second.ok || memcmp(s, t_second.text, sizeof t_second.text) != 0) {
        if (read_second(s, &t_second.secs) != 0) return -1;
        memcpy(t_second.text, s, sizeof t_second.text);
        t_second.ok = 1;
    }
    *secs = t_second.secs;
    return 0;
}

int tycho_loki_parse_time(const char *s, size_t n, int64_t *ns)
{
    const char *p = s + 19, *e = s + n;
    int64_t t;
    if (n < 19 || cached_second(s, &t) != 0) return -1;
    int64_t frac = 0;
    if (p < e && *p == '.') {
        p++;
        int digits = 0;
        while (p < e && is_digit(*p)) {
            if (digits < 9) frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (!digits) return -1;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (p < e && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p + 6 == e && (*p == '+' || *p == '-') && is_digit(p[1]) && is_digit(p[2]) &&
               p[3] == ':' && is_digit(p[4]) && is_digit(p[5])) {
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (p != e) return -1;
    /* unix ns fit years 1677-2262 only: a time outside is no time */
    if (__builtin_mul_overflow(t - offset, (int64_t)1000000000, &t) ||
        __builtin_add_overflow(t, frac, ns))
        return -1;
    return 0;
}

/* The normalised levels: one object each, since the encoder tells streams
 * apart by the level's address. */
static const char LV_TRACE[] = "trace", LV_DEBUG[] = "debug", LV_INFO[] = "info",
                  LV_WARN[] = "warn", LV_ERROR[] = "error", LV_FATAL[] = "fatal",
                  LV_UNKNOWN[] = "unknown";

static const char *norm_level(const char *s, size_t n)
{
    static const struct {
        const char *in, *out;
        size_t n;
    } map[] = {{"info", LV_INFO, 4},   {"debug", LV_DEBUG, 5}, {"warn", LV_WARN, 4},
               {"error", LV_ERROR, 5}, {"trace", LV_TRACE, 5}, {"warning", LV_WARN, 7},
               {"err", LV_ERROR, 3},   {"fatal", LV_FATAL, 5}, {"critical", LV_FATAL, 8},
               {"crit", LV_FATAL, 4},  {"panic", LV_FATAL, 5}, {"notice", LV_INFO, 6}};
    /* tycho's logger's four levels first: most lines have one of them */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].n == n && strncasecmp(map[i].in, s, n) == 0) return map[i].out;
    return LV_UNKNOWN;
}

/* The normalised name of a level of tycho's logger. */
static const char *logger_level(uint32_t level)
{
    static const char *const names[] = {[TYCHO_LOG_DEBUG] = LV_DEBUG,
                                        [TYCHO_LOG_INFO] = LV_INFO,
                                        [TYCHO_LOG_WARN] = LV_WARN,
                                        [TYCHO_LOG_ERROR] = LV_ERROR};
    return level < sizeof names / sizeof names[0] ? names[level] : LV_UNKNOWN;
}

#define MAX_FIELD 128

/* Whether s[0..n) holds a byte below 0x20 or 0x7F, eight bytes at a time. */
static int has_control(const char *s, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w = tycho_swar_load(s + i);
        if (tycho_swar_below(w, 0x20) | tycho_swar_eq(w, 0x7F)) return 1;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1;
    return 0;
}

enum { F_TIME, F_LEVEL, F_SERVICE, F_TRACE, F_SPAN, F_REQUEST, F_COUNT };
static const char *const field_names[F_COUNT] = {"time",     "level",   "service",
                                                 "trace_id", "span_id", "request_id"};
static const size_t field_lens[F_COUNT] = {4, 5, 7, 8, 7, 10};

/* A string value's body (still escaped when esc); p NULL: none. */
typedef struct field {
    const char *p;
    size_t n;
    int esc;
} field_t;

/* The fields found so far. */
typedef struct scan {
    field_t f[F_COUNT];
    int found;
} scan_t;

/* Takes the string value vs..vend (quotes included) as field i: the first
 * occurrence wins, an oversized one is not a field. */
static void take(scan_t *sc, int i, const char *vs, const char *vend, int esc)
{
    size_t n = (size_t)(vend - vs - 2);
    if (sc->f[i].p || n > MAX_FIELD * 6) return;
    sc->f[i].p = vs + 1;
    sc->f[i].n = n;
    sc->f[i].esc = esc;
    sc->found++;
}

static int field_index(const char *k, size_t kn)
{
    for (int i = 0; i < F_COUNT; i++)
        if (field_lens[i] == kn && memcmp(field_names[i], k, kn) == 0) return i;
    return -1;
}

/* The general scan of the members from p (just inside the object) until
 * every field is found or the JSON stops making sense. */
static void scan_members(const char *p, const char *e, scan_t *sc)
{
    p = ws(p, e);
    while (sc->found < F_COUNT && p < e && *p == '"') {
        int kesc, vesc = 0;
        const char *kend = string_end(p, e, &kesc);
        if (!kend) return;
        const char *k = p + 1;
        size_t kn = (size_t)(kend - 1 - k);
        p = ws(kend, e);
        if (p >= e || *p != ':') return;
        p = ws(p + 1, e);
        if (p >= e) return;
        const char *vs = p, *vend;
        if (*p == '"') {
            if (!(vend = string_end(p, e, &vesc))) return;
            int i = kesc ? -1 : field_index(k, kn);
            if (i >= 0) take(sc, i, vs, vend, vesc);
        } else if (!(vend = value_end(p, e))) {
            return;
        }
        p = ws(vend, e);
        if (p >= e || *p != ',') return;
        p = ws(p + 1, e);
    }
}

/* One member as tycho's logger writes it: at p the key (its quotes and
 * colon included, kn bytes), a string value, a comma; taken as field (-1:
 * not a field). Returns the position after the comma, or p when the member
 * is not there in that form. Inlined, the key compare is a few loads. */
static inline const char *logger_member(const char *p, const char *e, const char *key, size_t kn,
                                        int field, scan_t *sc)
{
    int esc;
    const char *vs = p + kn, *vend;
    if ((size_t)(e - p) <= kn || memcmp(p, key, kn) != 0 || *vs != '"') return p;
    if (!(vend = string_end(vs, e, &esc)) || vend >= e || *vend != ',') return p;
    if (field >= 0) take(sc, field, vs, vend, esc);
    return vend + 1;
}

#define LOGGER_MEMBER(p, e, key, field, sc) logger_member(p, e, key, sizeof key - 1, field, sc)

/* The fast path for lines of tycho's logger (log.c tycho_log_write: time,
 * level, msg, service, then whichever of the context ids are set, no
 * whitespace): from p (just inside the object) takes those members in that
 * order, each where it is written that way (one missing is skipped), which
 * is what the general scan would take from them. Returns where the general
 * scan goes on: after the last member taken. */
static const char *scan_logger_start(const char *p, const char *e, scan_t *sc)
{
    p = LOGGER_MEMBER(p, e, "\"time\":", F_TIME, sc);
    p = LOGGER_MEMBER(p, e, "\"level\":", F_LEVEL, sc);
    p = LOGGER_MEMBER(p, e, "\"msg\":", -1, sc);
    p = LOGGER_MEMBER(p, e, "\"service\":", F_SERVICE, sc);
    p = LOGGER_MEMBER(p, e, "\"request_id\":", F_REQUEST, sc);
    p = LOGGER_MEMBER(p, e, "\"trace_id\":", F_TRACE, sc);
    return LOGGER_MEMBER(p, e, "\"span_id\":", F_SPAN, sc);
}

static const char *read_level(const scan_t *sc)
{
    char tmp[MAX_FIELD * 6 + 1];
    if (!sc->f[F_LEVEL].p) return LV_UNKNOWN;
    if (!sc->f[F_LEVEL].esc) return norm_level(sc->f[F_LEVEL].p, sc->f[F_LEVEL].n);
    size_t n = unescape(sc->f[F_LEVEL].p, sc->f[F_LEVEL].n, tmp);
    return norm_level(tmp, n);
}

/* Copies f (unescaped) to d (room for its escaped length + 1). Returns it,
 * its length in *len, when it is a usable label or id, else NULL. */
static const char *copy_field(const field_t *f, int utf8, char *d, uint32_t *len)
{
    size_t n;
    if (f->esc) {
        n = unescape(f->p, f->n, d);
    } else {
        memcpy(d, f->p, f->n);
        n = f->n;
        d[n] = 0;
    }
    /* bounded, printable, valid UTF-8: anything else is not a label or id.
     * An unescaped piece of a line known to be valid UTF-8 is valid too
     * (it lies between ASCII quotes); an unescaped \u may not be. */
    int ok = n > 0 && n <= MAX_FIELD && ((utf8 && !f->esc) || tycho_utf8_valid(d, n, 1));
    *len = (uint32_t)n;
    return ok && !has_control(d, n) ? d : NULL;
}

/* The entry of line[0..len), with room after its copy of the line for ids
 * of ids_len bytes (their lengths plus one each); the caller sets the rest.
 * Returns where the ids go, or NULL. */
static char *entry_alloc(tycho_loki_entry_t **out, const char *line, size_t len, size_t ids_len,
                         unsigned flags, tycho_loki_alloc_fn alloc, void *ud)
{
    size_t need = sizeof(tycho_loki_entry_t) + len + 1 + ids_len;
    tycho_loki_entry_t *en = *out = alloc(ud, need);
    if (!en) return NULL;
    memset(en, 0, sizeof *en);
    en->utf8 = (flags & TYCHO_LOKI_LINE_UTF8) != 0;
    en->mem = need;
    char *d = (char *)(en + 1);
    memcpy(d, line, len);
    d[len] = 0;
    en->line = d;
    en->line_len = len;
    return d + len + 1;
}

static size_t without_newline(const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return len;
}

static void *heap(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

tycho_loki_entry_t *tycho_loki_entry_new(const char *line, size_t len, unsigned flags)
{
    return tycho_loki_entry_make(line, len, flags, heap, NULL);
}

tycho_loki_entry_t *tycho_loki_entry_make(const char *line, size_t len, unsigned flags,
                                          tycho_loki_alloc_fn alloc, void *ud)
{
    len = without_newline(line, len);
    scan_t sc;
    memset(&sc, 0, sizeof sc);
    const char *p = ws(line, line + len), *e = line + len;
    if (p < e && *p == '{') scan_members(scan_logger_start(p + 1, e, &sc), e, &sc);

    size_t ids_len = 0;
    for (int i = F_SERVICE; i < F_COUNT; i++)
        if (sc.f[i].p) ids_len += sc.f[i].n + 1;
    tycho_loki_entry_t *en;
    char *d = entry_alloc(&en, line, len, ids_len, flags, alloc, ud);
    if (!d) return NULL;
    if (sc.f[F_TIME].p && !sc.f[F_TIME].esc)
        en->has_time = tycho_loki_parse_time(sc.f[F_TIME].p, sc.f[F_TIME].n, &en->ts_ns) == 0;
    if (!en->has_time) en->ts_ns = 0;
    en->level = read_level(&sc);
    const char **dst[F_COUNT] = {NULL,          NULL,         &en->service,
                                 &en->trace_id, &en->span_id, &en->request_id};
    uint32_t *dst_len[F_COUNT] = {
        NULL, NULL, &en->service_len, &en->trace_id_len, &en->span_id_len, &en->request_id_len};
    for (int i = F_SERVICE; i < F_COUNT; i++) {
        if (!sc.f[i].p) continue;
        *dst[i] = copy_field(&sc.f[i], en->utf8, d, dst_len[i]);
        d += sc.f[i].n + 1;
    }
    return en;
}

/* Key k of the logger's meta as the entry's *s (*n bytes): its value inside
 * the entry's line when written as it is (valid UTF-8 then, without control
 * bytes), else its unescaped copy at *d (advanced past it). */
static inline void take_id(const tycho_loki_entry_t *en, const char *line,
                           const tycho_log_meta_t *meta, tycho_log_key_t k, char **d,
                           const char **s, uint32_t *n)
{
    uint32_t off = meta->at[k].off, len = meta->at[k].len;
    if (!off) return;
    if (!((meta->escaped >> k) & 1)) {
        *s = len && len <= MAX_FIELD ? en->line + off : NULL;
        *n = len;
        return;
    }
    field_t f = {line + off, len, 1};
    *s = copy_field(&f, 1, *d, n);
    *d += len + 1;
}

/* The logger notes what the scan takes (take): the first string value of a
 * key whose text is at most this long. */
_Static_assert(TYCHO_LOG_META_MAX_TEXT == MAX_FIELD * 6, "log.h and take disagree");

tycho_loki_entry_t *tycho_loki_entry_from_log(const char *line, size_t len,
                                              const tycho_log_meta_t *meta,
                                              tycho_loki_alloc_fn alloc, void *ud)
{
    size_t escaped_len = 0; /* what the unescaped copies take */
    for (int k = 0; meta->escaped >> k; k++)
        if ((meta->escaped >> k) & 1) escaped_len += meta->at[k].len + 1;
    tycho_loki_entry_t *en;
    char *d = entry_alloc(&en, line, without_newline(line, len), escaped_len, TYCHO_LOKI_LINE_UTF8,
                          alloc, ud);
    if (!d) return NULL;
    /* the logger's time is readable (its text too, from 1970 on) */
    en->has_time = 1;
    en->ts_ns = meta->ts_ns;
    en->level = logger_level(meta->level);
    take_id(en, line, meta, TYCHO_LOG_KEY_SERVICE, &d, &en->service, &en->service_len);
    take_id(en, line, meta, TYCHO_LOG_KEY_REQUEST_ID, &d, &en->request_id, &en->request_id_len);
    take_id(en, line, meta, TYCHO_LOG_KEY_TRACE_ID, &d, &en->trace_id, &en->trace_id_len);
    take_id(en, line, meta, TYCHO_LOG_KEY_SPAN_ID, &d, &en->span_id, &en->span_id_len);
    return en;
}

/* --- encoding ----------------------------------------------------------- */

/* The entries of one label set. Its service is the default one, or a copy
 * of its entries' (which need not be NUL-terminated). */
typedef struct stream {
    const char *default_service; /* NULL: service */
    char service[MAX_FIELD + 1];
    size_t service_len;
    const char *level;
    size_t *idx;
    size_t n, cap;
} stream_t;

static const char *stream_service(const stream_t *s)
{
    return s->default_service ? s->default_service : s->service;
}

static int by_time(const void *a, const void *b, void *ctx)
{
    tycho_loki_entry_t *const *en = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int64_t ta = en[ia]->ts_ns, tb = en[ib]->ts_ns;
    if (ta != tb) return ta < tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib; /* stable: arrival order */
}

/* Whether the stream's entries are already in by_time order. */
static int in_time_order(tycho_loki_entry_t *const *en, const stream_t *st)
{
    for (size_t k = 1; k < st->n; k++)
        if (en[st->idx[k - 1]]->ts_ns > en[st->idx[k]]->ts_ns) return 0;
    return 1;
}

int tycho_loki_append_selector(tycho_buf_t *out, const char *const *names,
                               const char *const *values, size_t n)
{
    if (tycho_buf_puts(out, "{")) return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (tycho_buf_printf(out, "%s%s=\"", i ? ", " : "", names[i])) return -ENOMEM;
        for (const char *c = values[i]; *c; c++) {
            const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : NULL;
            if (esc ? tycho_buf_puts(out, esc) : tycho_buf_append(out, c, 1)) return -ENOMEM;
        }
        if (tycho_buf_puts(out, "\"")) return -ENOMEM;
    }
    return tycho_buf_puts(out, "}");
}

/* The stream's label names/values, sorted by name. Returns the count. */
static size_t stream_labels(const stream_t *s, const tycho_loki_options_t *o, const char **names,
                            const char **values)
{
    size_t n = 0;
    const tycho_export_kvs_t *st = o->labels;
    const char *fixed_n[2] = {"level", "service"};
    const char *fixed_v[2] = {s->level, stream_service(s)};
    size_t i = 0, j = 0, ns = st ? st->n : 0;
    while (i < 2 || j < ns) {
        if (j >= ns || (i < 2 && strcmp(fixed_n[i], st->items[j].key) < 0)) {
            names[n] = fixed_n[i];
            values[n++] = fixed_v[i++];
        } else {
            names[n] = st->items[j].key;
            values[n++] = st->items[j++].value;
        }
    }
    return n;
}

/* The structured metadata of an entry: pair m (0, 1, 2: the fields F_TRACE,
 * F_SPAN, F_REQUEST) is v[m] (n[m] bytes), NULL when the entry has no such
 * id or the options keep the ids in the line only. */
static void metadata(const tycho_loki_entry_t *e, const tycho_loki_options_t *o, const char *v[3],
                     size_t n[3])
{
    v[0] = e->trace_id, v[1] = e->span_id, v[2] = e->request_id;
    n[0] = e->trace_id_len, n[1] = e->span_id_len, n[2] = e->request_id_len;
    if (o->no_metadata) v[0] = v[1] = v[2] = NULL;
}

static int encode_json(tycho_loki_entry_t *const *en, const stream_t *st, size_t nst,
                       const tycho_loki_options_t *o, tycho_buf_t *out)
{
    const char *names[16], *values[16];
    if (tycho_buf_puts(out, "{\"streams\":[")) return -ENOMEM;
    for (size_t s = 0; s < nst; s++) {
        size_t nl = stream_labels(&st[s], o, names, values);
        if (tycho_buf_puts(out, s ? ",{\"stream\":{" : "{\"stream\":{")) return -ENOMEM;
        for (size_t i = 0; i < nl; i++) {
            if ((i && tycho_buf_puts(out, ",")) ||
                tycho_buf_append_json_string(out, names[i], strlen(names[i])) ||
                tycho_buf_puts(out, ":") ||
                tycho_buf_append_json_string(out, values[i], strlen(values[i])))
                return -ENOMEM;
        }
        if (tycho_buf_puts(out, "},\"values\":[")) return -ENOMEM;
        for (size_t k = 0; k < st[s].n; k++) {
            const tycho_loki_entry_t *e = en[st[s].idx[k]];
            /* the timestamp MUST be a string of unix nanoseconds */
            if (tycho_buf_printf(out, "%s[\"%lld\",", k ? "," : "", (long long)e->ts_ns) ||
                tycho_buf_append_json_string(out, e->line, e->line_len))
                return -ENOMEM;
            const char *mv[3];
            size_t ml[3];
            metadata(e, o, mv, ml);
            int any = 0;
            for (int m = 0; m < 3; m++) {
                if (!mv[m]) continue;
                if (tycho_buf_puts(out, any ? "," : ",{") ||
                    tycho_buf_append_json_string(out, field_names[F_TRACE + m],
                                                 field_lens[F_TRACE + m]) ||
                    tycho_buf_puts(out, ":") || tycho_buf_append_json_string(out, mv[m], ml[m]))
                    return -ENOMEM;
                any = 1;
            }
            if ((any && tycho_buf_puts(out, "}")) || tycho_buf_puts(out, "]")) return -ENOMEM;
        }
        if (tycho_buf_puts(out, "]}")) return -ENOMEM;
    }
    return tycho_buf_puts(out, "]}");
}

/* PushRequest {repeated StreamAdapter streams = 1}, StreamAdapter {labels = 1,
 * repeated EntryAdapter entries = 2}, EntryAdapter {timestamp = 1, line = 2,
 * repeated LabelPairAdapter structured_metadata = 3}, LabelPairAdapter {name
 * = 1, value = 2} (proto/loki_push.proto), written by hand in one pass (each
 * stream's and entry's length written after its body: pb_write's
 * tycho_pb_out_begin/end), then snappy. */
typedef struct lokiw {
    tycho_pb_out_t o;
    const tycho_loki_options_t *opts; /* the caller's */
    tycho_export_arena_t a;           /* UTF-8 clean-ups */
    tycho_buf_t sel;                  /* the selector of the stream being written */
} lokiw_t;

/* Guessed sizes of lengths: a stream holds 16 KiB to 2 MiB of lines (a push
 * up to TYCHO_LOKI_BATCH_BYTES, 1 MiB by default); an entry, a log line of
 * tycho's logger, 128 B to 16 KiB. A wrong guess moves the body once. */
enum { GUESS_ENTRY = 2, GUESS_STREAM = 3 };

/* The most bytes an entry takes besides its line and metadata values: its
 * Timestamp (19); a tag and a length for the line, each of the three pairs,
 * its name and its value (7 times 11); the names (25). */
enum { ENTRY_FRAME = 19 + 7 * (1 + TYCHO_PB_VARINT_MAX) + 25 };

/* The bytes to write for s[0..n) (s[n] readable): s itself when utf8, else
 * its UTF-8 clean-up; NULL (the writer failed) on ENOMEM. */
static const char *utf8_take(lokiw_t *w, const char *s, size_t *n, int utf8)
{
    const char *c = tycho_export_arena_utf8_n(&w->a, s, n, utf8);
    if (!c) w->o.failed = 1;
    return c;
}

/* EntryAdapter.timestamp = 1: google.protobuf.Timestamp {seconds = 1, nanos
 * = 2}, always written. Its body takes 17 bytes at most (a negative second
 * 11, nanos 6), so its length one, filled in after it. */
static uint8_t *put_timestamp(uint8_t *p, int64_t ns)
{
    int64_t sec = ns / 1000000000, nanos = ns % 1000000000;
    if (nanos < 0) {
        nanos += 1000000000;
        sec -= 1;
    }
    *p++ = 1 << 3 | TYCHO_PB_LEN;
    uint8_t *len = p++;
    p = tycho_pb_put_varint_field(p, 1, (uint64_t)sec);
    p = tycho_pb_put_varint_field(p, 2, (uint64_t)nanos);
    *len = (uint8_t)(p - len - 1);
    return p;
}

/* EntryAdapter.structured_metadata = 3, the pair m (0, 1, 2: the fields
 * F_TRACE, F_SPAN, F_REQUEST): its length follows from the strings' (never
 * empty), so it goes first. */
static uint8_t *put_pair(uint8_t *p, int m, const char *value, size_t n)
{
    const char *name = field_names[F_TRACE + m];
    size_t nn = field_lens[F_TRACE + m];
    p = tycho_pb_put_len(p, 3, tycho_pb_len_size(nn) + tycho_pb_len_size(n));
    p = tycho_pb_put_bytes(p, 1, name, nn);
    return tycho_pb_put_bytes(p, 2, value, n);
}

/* StreamAdapter.entries = 2: written at a pointer after one room check for
 * the whole entry (the line is in memory: its length plus the frame cannot
 * overflow). */
static void entry(lokiw_t *w, const tycho_loki_entry_t *e)
{
    size_t n = e->line_len; /* the entry's copy of the line is NUL-terminated */
    const char *line = utf8_take(w, e->line, &n, e->utf8);
    if (!line) return;
    const char *mv[3];
    size_t ml[3], room = ENTRY_FRAME + n;
    metadata(e, w->opts, mv, ml);
    for (int m = 0; m < 3; m++)
        room += mv[m] ? ml[m] : 0;
    tycho_pb_mark_t mark = tycho_pb_out_begin(&w->o, 2, GUESS_ENTRY);
    if (!tycho_pb_out_room(&w->o, room)) return;
    uint8_t *p = put_timestamp(tycho_pb_out_at(&w->o), e->ts_ns);
    if (n) p = tycho_pb_put_bytes(p, 2, line, n);
    for (int m = 0; m < 3; m++)
        if (mv[m]) p = put_pair(p, m, mv[m], ml[m]);
    tycho_pb_out_advance(&w->o, p);
    tycho_pb_out_end(&w->o, mark);
}

/* PushRequest.streams = 1: its labels (a selector, never empty), then its
 * entries in time order. */
static void stream(lokiw_t *w, tycho_loki_entry_t *const *en, const stream_t *st)
{
    const char *names[16], *values[16];
    size_t nl = stream_labels(st, w->opts, names, values);
    tycho_buf_reset(&w->sel);
    if (tycho_loki_append_selector(&w->sel, names, values, nl)) {
        w->o.failed = 1;
        return;
    }
    size_t n = w->sel.len;
    const char *labels = utf8_take(w, w->sel.data, &n, 0);
    if (!labels) return;
    tycho_pb_mark_t mark = tycho_pb_out_begin(&w->o, 1, GUESS_STREAM);
    tycho_pb_out_bytes(&w->o, 1, labels, n);
    for (size_t k = 0; k < st->n; k++)
        entry(w, en[st->idx[k]]);
    tycho_pb_out_end(&w->o, mark);
}

static int encode_proto(tycho_loki_entry_t *const *en, const stream_t *st, size_t nst,
                        const tycho_loki_options_t *o, tycho_buf_t *out)
{
    lokiw_t w = {.opts = o, .a = TYCHO_EXPORT_ARENA_INIT, .sel = TYCHO_BUF_INIT};
    tycho_buf_t tmp = TYCHO_BUF_INIT;
    tycho_buf_t *raw = o->scratch ? o->scratch : &tmp;
    tycho_buf_reset(raw);
    tycho_pb_out_init(&w.o, raw);
    for (size_t s = 0; s < nst; s++)
        stream(&w, en, &st[s]);
    int rc = tycho_pb_out_finish(&w.o);
    if (rc == 0) rc = tycho_export_snappy(raw->data, raw->len, out);
    tycho_export_arena_free(&w.a);
    tycho_buf_free(&w.sel);
    tycho_buf_free(&tmp);
    return rc;
}

int tycho_loki_encode(tycho_loki_entry_t *const *entries, size_t n, const tycho_loki_options_t *o,
                      tycho_buf_t *out)
{
    stream_t *st = NULL;
    size_t nst = 0, cap = 0;
    int rc = -ENOMEM;
    const char *defsvc =
        o->default_service && *o->default_service ? o->default_service : TYCHO_SERVICE_NAME_DEFAULT;
    size_t defsvc_len = strlen(defsvc);
    for (size_t i = 0; i < n; i++) {
        const tycho_loki_entry_t *e = entries[i];
        const char *svc = e->service ? e->service : defsvc;
        size_t svc_len = e->service ? e->service_len : defsvc_len, s;
        for (s = 0; s < nst; s++)
            if (st[s].level == e->level && st[s].service_len == svc_len &&
                memcmp(stream_service(&st[s]), svc, svc_len) == 0)
                break;
        if (s == nst) {
            if (nst == cap) {
                size_t nc = cap ? cap * 2 : 8;
                stream_t *p = realloc(st, nc * sizeof *st);
                if (!p) goto out;
                st = p;
                cap = nc;
            }
            stream_t *ns = &st[nst++];
            *ns = (stream_t){.default_service = e->service ? NULL : defsvc,
                             .service_len = svc_len,
                             .level = e->level};
            if (e->service) { /* at most MAX_FIELD bytes (copy_field, from_log) */
                memcpy(ns->service, svc, svc_len);
                ns->service[svc_len] = 0;
            }
        }
        if (st[s].n == st[s].cap) {
            size_t nc = st[s].cap ? st[s].cap * 2 : 16;
            size_t *p = realloc(st[s].idx, nc * sizeof *p);
            if (!p) goto out;
            st[s].idx = p;
            st[s].cap = nc;
        }
        st[s].idx[st[s].n++] = i;
    }
    for (size_t s = 0; s < nst; s++)
        if (!in_time_order(entries, &st[s])) /* the usual case is: no sort */
            qsort_r(st[s].idx, st[s].n, sizeof *st[s].idx, by_time, (void *)entries);
    rc = o->json ? encode_json(entries, st, nst, o, out) : encode_proto(entries, st, nst, o, out);
out:
    for (size_t s = 0; s < nst; s++)
        free(st[s].idx);
    free(st);
    return rc;
}
