#include "telemetry/trace_context.h"

#include "core/percent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* --- hex and ids ---------------------------------------------------------- */

#define HEX_ROW(h)                                                                                 \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"

/* Both digits of byte b at 2b, copied in one move: every request encodes 24
 * id bytes for its log context. */
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3") HEX_ROW("4")
    HEX_ROW("5") HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b")
        HEX_ROW("c") HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");

void tycho_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
    out[2 * n] = 0;
}

static int hexval(char c, int allow_upper)
{
    return !allow_upper && c >= 'A' && c <= 'F' ? -1 : tycho_hex_digit((unsigned char)c);
}

int tycho_hex_decode(const char *in, size_t n, uint8_t *out, int allow_upper)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i], allow_upper), lo = hexval(in[2 * i + 1], allow_upper);
        if (hi < 0 || lo < 0) return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int tycho_id_is_zero(const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (id[i]) return 0;
    return 1;
}

/* Per-thread buffer so most ids cost a memcpy, not a syscall: 4 KiB is one
 * getrandom(2) per ~170 requests (trace + span id, 24 bytes each); 256 bytes
 * was one per ~10 (about 0.5 % of a loaded worker's core in perf). A
 * forked child would repeat its parent's pending bytes; tycho does not fork
 * after start. */
#define RAND_BUF 4096
static _Thread_local struct {
    uint8_t buf[RAND_BUF];
    size_t pos;
} t_rand = {.pos = RAND_BUF};

static void fill_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        break;
    }
    if (got == n) return;
    /* getrandom unavailable (old kernel, seccomp): /dev/urandom, then a
     * clock-seeded splitmix64 so ids stay unique even if not unpredictable. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r > 0)
                got += (size_t)r;
            else if (!(r < 0 && errno == EINTR))
                break;
        }
        close(fd);
    }
    static _Thread_local uint64_t x;
    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&x;
    }
    for (; got < n; got++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        buf[got] = (uint8_t)(z ^ (z >> 31));
    }
}

void tycho_trace_random(void *out, size_t n)
{
    uint8_t *o = out;
    if (n > sizeof t_rand.buf) {
        fill_random(o, n);
        return;
    }
    if (sizeof t_rand.buf - t_rand.pos < n) {
        fill_random(t_rand.buf, sizeof t_rand.buf);
        t_rand.pos = 0;
    }
    memcpy(o, t_rand.buf + t_rand.pos, n);
    /* Used bytes are wiped so a core dump does not reveal past ids' source. */
    memset(t_rand.buf + t_rand.pos, 0, n);
    t_rand.pos += n;
}

void tycho_trace_new_trace_id(uint8_t out[16])
{
    uint32_t now = (uint32_t)time(NULL);
    out[0] = (uint8_t)(now >> 24);
    out[1] = (uint8_t)(now >> 16);
    out[2] = (uint8_t)(now >> 8);
    out[3] = (uint8_t)now;
    tycho_trace_random(out + 4, 12);
}

void tycho_trace_new_span_id(uint8_t out[8])
{
    do
        tycho_trace_random(out, 8);
    while (tycho_id_is_zero(out, 8));
}

/* --- traceparent --------------------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s))
        (*s)++, (*n)--;
    while (*n && is_ows((*s)[*n - 1]))
        (*n)--;
}

int tycho_traceparent_parse(const char *s, size_t n, tycho_traceparent_t *out)
{
    if (!s) return -EINVAL;
    trim(&s, &n);
    if (n < TYCHO_TRACEPARENT_LEN) return -EINVAL;
    uint8_t version;
    if (tycho_hex_decode(s, 1, &version, 0) != 0 || version == 0xff) return -EINVAL;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return -EINVAL;
    if (version == 0 && n != TYCHO_TRACEPARENT_LEN) return -EINVAL;
    /* A future version may append fields, always after a '-'. */
    if (version > 0 && n > TYCHO_TRACEPARENT_LEN && s[TYCHO_TRACEPARENT_LEN] != '-') return -EINVAL;
    tycho_traceparent_t tp = {.version = version};
    if (tycho_hex_decode(s + 3, 16, tp.trace_id, 0) != 0 ||
        tycho_hex_decode(s + 36, 8, tp.parent_id, 0) != 0 ||
        tycho_hex_decode(s + 53, 1, &tp.flags, 0) != 0)
        return -EINVAL;
    if (tycho_id_is_zero(tp.trace_id, 16) || tycho_id_is_zero(tp.parent_id, 8)) return -EINVAL;
    *out = tp;
    return 0;
}

size_t tycho_traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
                                char out[TYCHO_TRACEPARENT_LEN + 1])
{
    uint8_t f = flags & (TYCHO_TRACE_FLAG_SAMPLED | TYCHO_TRACE_FLAG_RANDOM);
    memcpy(out, "00-", 3);
    tycho_hex_encode(trace_id, 16, out + 3);
    out[35] = '-';
    tycho_hex_encode(span_id, 8, out + 36);
    out[52] = '-';
    tycho_hex_encode(&f, 1, out + 53);
    return TYCHO_TRACEPARENT_LEN;
}

/* --- tracestate ------------------------------------------------------------ */

struct member {
    const char *p; /* "key=value" */
    size_t len;
    size_t klen;
};

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/' || c == '@';
}

/* Level 2 key (lenient toward Level 1's tenant@system): [a-z0-9][a-z0-9_-*@/]{0,255}. */
int tycho_tracestate_valid_key(const char *k, size_t n)
{
    if (n == 0 || n > 256) return 0;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9'))) return 0;
    for (size_t i = 1; i < n; i++)
        if (!key_char(k[i])) return 0;
    return 1;
}

/* 1..256 chars of 0x20-0x7E without ',' and '=', not ending in a space. */
int tycho_tracestate_valid_value(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return 0;
    }
    return 1;
}

void tycho_tracestate_init(tycho_tracestate_t *ts)
{
    ts->nmembers = 0;
    ts->len = 0;
    ts->str[0] = 0;
}

/* Drops members until the joined length fits the limit: first the right-most
 * member longer than 128 chars, repeatedly; then from the right. */
static void truncate_members(struct member *m, unsigned *n)
{
    for (;;) {
        size_t total = 0;
        for (unsigned i = 0; i < *n; i++)
            total += m[i].len + (i ? 1 : 0);
        if (total <= TYCHO_TRACESTATE_MAX_LEN) return;
        int victim = -1;
        for (int i = (int)*n - 1; i >= 0; i--)
            if (m[i].len > 128) {
                victim = i;
                break;
            }
        if (victim < 0) victim = (int)*n - 1;
        memmove(&m[victim], &m[victim + 1], (*n - (unsigned)victim - 1) * sizeof *m);
        (*n)--;
    }
}

/* Rebuilds ts->str from members that may point into ts->str itself. */
static void store_members(tycho_tracestate_t *ts, struct member *m, unsigned n)
{
    char tmp[sizeof ts->str];
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i) tmp[off++] = ',';
        memcpy(tmp + off, m[i].p, m[i].len);
        off += m[i].len;
    }
    memcpy(ts->str, tmp, off);
    ts->str[off] = 0;
    ts->len = off;
    ts->nmembers = n;
}

static int split_members(const char *s, size_t n, struct member *m, unsigned max, unsigned *count)
{
    unsigned k = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        const char *p = s + i;
        size_t len = j - i;
        trim(&p, &len);
        if (len) {
            const char *eq = memchr(p, '=', len);
            if (!eq) return -EINVAL;
            size_t klen = (size_t)(eq - p);
            if (!tycho_tracestate_valid_key(p, klen) ||
                !tycho_tracestate_valid_value(eq + 1, len - klen - 1))
                return -EINVAL;
            for (unsigned q = 0; q < k; q++)
                if (m[q].klen == klen && memcmp(m[q].p, p, klen) == 0) return -EINVAL;
            if (k == max) return -EINVAL;
            m[k++] = (struct member){p, len, klen};
        }
        i = j + 1;
    }
    *count = k;
    return 0;
}

int tycho_tracestate_parse(const char *s, size_t n, tycho_tracestate_t *ts)
{
    tycho_tracestate_init(ts);
    if (!s || n == 0) return 0;
    struct member m[TYCHO_TRACESTATE_MAX_MEMBERS];
    unsigned k;
    if (split_members(s, n, m, TYCHO_TRACESTATE_MAX_MEMBERS, &k) != 0) return -EINVAL;
    truncate_members(m, &k);
    store_members(ts, m, k);
    return 0;
}

int tycho_tracestate_set(tycho_tracestate_t *ts, const char *key, const char *value)
{
    size_t klen = strlen(key), vlen = strlen(value);
    if (!tycho_tracestate_valid_key(key, klen) || !tycho_tracestate_valid_value(value, vlen))
        return -EINVAL;
    struct member m[TYCHO_TRACESTATE_MAX_MEMBERS + 1];
    unsigned k = 0;
    if (split_members(ts->str, ts->len, m + 1, TYCHO_TRACESTATE_MAX_MEMBERS, &k) != 0)
        k = 0; /* cannot happen: ts holds a canonical list */
    unsigned out = 1;
    for (unsigned i = 1; i <= k; i++)
        if (!(m[i].klen == klen && memcmp(m[i].p, key, klen) == 0)) m[out++] = m[i];
    char entry[2 * 257 + 2];
    int len = snprintf(entry, sizeof entry, "%s=%s", key, value);
    m[0] = (struct member){entry, (size_t)len, klen};
    if (out > TYCHO_TRACESTATE_MAX_MEMBERS) out = TYCHO_TRACESTATE_MAX_MEMBERS;
    truncate_members(m, &out);
    store_members(ts, m, out);
    return 0;
}

const char *tycho_tracestate_get(const tycho_tracestate_t *ts, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    const char *p = ts->str, *end = ts->str + ts->len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if ((size_t)(e - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            *len = (size_t)(e - p) - klen - 1;
            return p + klen + 1;
        }
        p = e + 1;
    }
    return NULL;
}

/* --- X-Amzn-Trace-Id ------------------------------------------------------ */

/* "1-<8 hex>-<24 hex>" into a 16-byte id; not all zero. */
static int parse_xray_root(const char *v, size_t n, uint8_t out[16])
{
    if (n != 35 || v[0] != '1' || v[1] != '-' || v[10] != '-') return -EINVAL;
    uint8_t id[16];
    if (tycho_hex_decode(v + 2, 4, id, 1) != 0 || tycho_hex_decode(v + 11, 12, id + 4, 1) != 0)
        return -EINVAL;
    if (tycho_id_is_zero(id, 16)) return -EINVAL;
    memcpy(out, id, 16);
    return 0;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

void tycho_xray_header_init(tycho_xray_header_t *h)
{
    h->has_root = h->has_parent = 0;
    memset(h->root, 0, sizeof h->root);
    memset(h->parent, 0, sizeof h->parent);
    h->sampled = TYCHO_XRAY_SAMPLED_ABSENT;
    h->self[0] = h->lineage[0] = h->extra[0] = 0;
}

int tycho_xray_parse(const char *s, size_t n, tycho_xray_header_t *out)
{
    memset(out, 0, sizeof *out);
    out->sampled = TYCHO_XRAY_SAMPLED_ABSENT;
    size_t extra_len = 0;
    bool seen_root = false, seen_parent = false, seen_sampled = false;
    for (size_t i = 0; s && i <= n;) {
        size_t j = i;
        while (j < n && s[j] != ';')
            j++;
        const char *p = s + i;
        size_t len = j - i;
        i = j + 1;
        trim(&p, &len);
        const char *eq = len ? memchr(p, '=', len) : NULL;
        if (!eq || eq == p) continue; /* not a field */
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vlen = len - klen - 1;
        trim(&v, &vlen);
        if (key_is(p, klen, "Root")) {
            if (!seen_root) out->has_root = parse_xray_root(v, vlen, out->root) == 0;
            seen_root = true;
        } else if (key_is(p, klen, "Parent")) {
            if (!seen_parent)
                out->has_parent = vlen == 16 && tycho_hex_decode(v, 8, out->parent, 1) == 0 &&
                                  !tycho_id_is_zero(out->parent, 8);
            seen_parent = true;
        } else if (key_is(p, klen, "Sampled")) {
            if (!seen_sampled && vlen == 1) {
                if (v[0] == '1')
                    out->sampled = TYCHO_XRAY_SAMPLED_YES;
                else if (v[0] == '0')
                    out->sampled = TYCHO_XRAY_SAMPLED_NO;
                else if (v[0] == '?')
                    out->sampled = TYCHO_XRAY_SAMPLED_REQUESTED;
            }
            seen_sampled = true;
        } else if (key_is(p, klen, "Self")) {
            if (vlen < sizeof out->self && printable(v, vlen)) {
                memcpy(out->self, v, vlen);
                out->self[vlen] = 0;
            }
        } else if (key_is(p, klen, "Lineage")) {
            if (vlen <= TYCHO_XRAY_LINEAGE_MAX && printable(v, vlen)) {
                memcpy(out->lineage, v, vlen);
                out->lineage[vlen] = 0;
            }
        } else if (printable(p, len)) {
            size_t need = len + (extra_len ? 1 : 0);
            if (extra_len + need <= TYCHO_XRAY_EXTRA_MAX) {
                if (extra_len) out->extra[extra_len++] = ';';
                memcpy(out->extra + extra_len, p, len);
                extra_len += len;
                out->extra[extra_len] = 0;
            }
        }
    }
    if (!out->has_root) out->has_parent = 0; /* a Parent without a trace means nothing */
    return out->has_root ? 0 : -EINVAL;
}

int tycho_xray_format(const uint8_t trace_id[16], const uint8_t *parent,
                      tycho_xray_sampled_t sampled, const tycho_xray_header_t *carry, char *out,
                      size_t cap)
{
    char epoch[9], rnd[25], par[17];
    tycho_hex_encode(trace_id, 4, epoch);
    tycho_hex_encode(trace_id + 4, 12, rnd);
    int n = snprintf(out, cap, "Root=1-%s-%s", epoch, rnd);
    if (parent) {
        tycho_hex_encode(parent, 8, par);
        n += snprintf(out + (n < (int)cap ? n : 0), n < (int)cap ? cap - (size_t)n : 0,
                      ";Parent=%s", par);
    }
    if (sampled != TYCHO_XRAY_SAMPLED_ABSENT) {
        char c = sampled == TYCHO_XRAY_SAMPLED_YES  ? '1'
                 : sampled == TYCHO_XRAY_SAMPLED_NO ? '0'
                                                    : '?';
        n += snprintf(out + (n < (int)cap ? n : 0), n < (int)cap ? cap - (size_t)n : 0,
                      ";Sampled=%c", c);
    }
    if (carry && carry->lineage[0])
        n += snprintf(out + (n < (int)cap ? n : 0), n < (int)cap ? cap - (size_t)n : 0,
                      ";Lineage=%s", carry->lineage);
    if (carry && carry->extra[0])
        n += snprintf(out + (n < (int)cap ? n : 0), n < (int)cap ? cap - (size_t)n : 0, ";%s",
                      carry->extra);
    if (n < 0 || (size_t)n >= cap) return -ENOSPC;
    return n;
}

/* --- extraction and injection -------------------------------------------- */

void tycho_trace_extract(const char *traceparent, size_t tplen, const char *tracestate,
                         size_t tslen, const char *xamzn, size_t xlen, tycho_trace_incoming_t *out)
{
    memset(out, 0, sizeof *out);
    tycho_tracestate_init(&out->tracestate);
    out->source = TYCHO_TRACE_SRC_NONE;
    int xrc = xamzn ? tycho_xray_parse(xamzn, xlen, &out->xray) : -EINVAL;
    if (!xamzn) out->xray.sampled = TYCHO_XRAY_SAMPLED_ABSENT;

    tycho_traceparent_t tp;
    if (traceparent && tycho_traceparent_parse(traceparent, tplen, &tp) == 0) {
        out->source = TYCHO_TRACE_SRC_W3C;
        memcpy(out->trace_id, tp.trace_id, 16);
        memcpy(out->parent_span_id, tp.parent_id, 8);
        out->has_parent = 1;
        out->flags = tp.flags;
        out->sampling_decided = 1;
        /* An invalid tracestate is dropped on its own; the traceparent stands. */
        if (tracestate && tycho_tracestate_parse(tracestate, tslen, &out->tracestate) != 0)
            tycho_tracestate_init(&out->tracestate);
        return;
    }
    if (xrc != 0) return; /* no (valid) Root: a new trace; tracestate alone is discarded */
    memcpy(out->trace_id, out->xray.root, 16);
    if (out->xray.has_parent) {
        out->source = TYCHO_TRACE_SRC_XRAY;
        out->has_parent = 1;
        memcpy(out->parent_span_id, out->xray.parent, 8);
    } else {
        out->source = TYCHO_TRACE_SRC_XRAY_ROOT;
    }
    if (out->xray.sampled == TYCHO_XRAY_SAMPLED_YES || out->xray.sampled == TYCHO_XRAY_SAMPLED_NO) {
        out->sampling_decided = out->has_parent;
        if (out->xray.sampled == TYCHO_XRAY_SAMPLED_YES) out->flags = TYCHO_TRACE_FLAG_SAMPLED;
    }
}

void tycho_trace_inject(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
                        const tycho_tracestate_t *tracestate, const tycho_xray_header_t *carry,
                        tycho_trace_headers_t *out)
{
    tycho_traceparent_format(trace_id, span_id, flags, out->traceparent);
    if (tracestate && tracestate->len)
        memcpy(out->tracestate, tracestate->str, tracestate->len + 1);
    else
        out->tracestate[0] = 0;
    tycho_xray_sampled_t s =
        (flags & TYCHO_TRACE_FLAG_SAMPLED) ? TYCHO_XRAY_SAMPLED_YES : TYCHO_XRAY_SAMPLED_NO;
    if (tycho_xray_format(trace_id, span_id, s, carry, out->xamzn, sizeof out->xamzn) < 0)
        tycho_xray_format(trace_id, span_id, s, NULL, out->xamzn, sizeof out->xamzn);
}
