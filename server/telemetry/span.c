#include "telemetry/span.h"

#include "core/swar.h"
#include "telemetry/trace_context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_MIN 4096
/* The first capacity of an arena array; the span's own attributes start at
 * 16: the server span sets 11, and growing 4 -> 8 -> 16 copied twice and
 * left 384 dead bytes in the arena. */
#define ARRAY_FIRST 4
#define SPAN_ATTRS_FIRST 16

struct tycho_span_chunk {
    struct tycho_span_chunk *next;
    max_align_t align_[];
};

uint64_t tycho_span_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* *out from the variable name when it is a whole number that fits; else
 * *out is kept and the value is named in msg (appended, "; "-separated). */
static int env_u32(const char *name, uint32_t *out, char *msg, size_t msglen)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v >= '0' && *v <= '9' && !*end && !errno && n <= UINT32_MAX) {
        *out = (uint32_t)n;
        return 0;
    }
    size_t used = strnlen(msg, msglen);
    snprintf(msg + used, msglen - used, "%s%s: not a whole number in [0, %u]: %.40s (using %u)",
             used ? "; " : "", name, UINT32_MAX, v, *out);
    return 1;
}

int tycho_span_limits_from_env(tycho_span_limits_t *l, char *msg, size_t msglen)
{
    uint32_t generic = l->max_attrs;
    int bad = 0;
    if (msglen) msg[0] = '\0';
    bad += env_u32("OTEL_ATTRIBUTE_COUNT_LIMIT", &generic, msg, msglen);
    l->max_attrs = l->max_event_attrs = l->max_link_attrs = generic;
    bad += env_u32("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", &l->max_attrs, msg, msglen);
    bad += env_u32("OTEL_SPAN_EVENT_COUNT_LIMIT", &l->max_events, msg, msglen);
    bad += env_u32("OTEL_SPAN_LINK_COUNT_LIMIT", &l->max_links, msg, msglen);
    bad += env_u32("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", &l->max_event_attrs, msg, msglen);
    bad += env_u32("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", &l->max_link_attrs, msg, msglen);
    bad += env_u32("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", &l->max_value_len, msg, msglen);
    bad += env_u32("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", &l->max_value_len, msg, msglen);
    return bad;
}

/* --- arena --------------------------------------------------------------- */

#define ARENA_ROUND(n) (((n) + 7) & ~(size_t)7)

/* arena_alloc when n does not fit what is left: a new chunk (what was left
 * of the current one is abandoned). Out of line: a rare path. */
static __attribute__((noinline)) void *arena_alloc_chunk(tycho_span_t *s, size_t n)
{
    if (s->used + n > s->limits.max_bytes) return NULL;
    size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
    struct tycho_span_chunk *c = malloc(sizeof *c + size);
    if (!c) return NULL;
    c->next = s->chunks;
    s->chunks = c;
    s->cur = (char *)c->align_ + n;
    s->left = size - n;
    s->used += n;
    return c->align_;
}

/* n bytes (rounded up to 8) from the arena; NULL over the byte budget or on
 * ENOMEM. Inline: a few per attribute. */
static inline void *arena_alloc(tycho_span_t *s, size_t n)
{
    n = ARENA_ROUND(n);
    if (n > s->left) return arena_alloc_chunk(s, n);
    if (s->used + n > s->limits.max_bytes) return NULL;
    void *p = s->cur;
    s->cur += n;
    s->left -= n;
    s->used += n;
    return p;
}

/* Counts n bytes against the byte budget as arena_alloc would, without
 * taking them: a well-known key costs what its copy would, so what is
 * dropped does not depend on how a key was set. -ENOSPC over budget. */
static int arena_charge(tycho_span_t *s, size_t n)
{
    n = ARENA_ROUND(n);
    if (s->used + n > s->limits.max_bytes) return -ENOSPC;
    s->used += n;
    return 0;
}

/* The high bit of each byte of w that is >= 0x80 or 0. */
static uint64_t not_ascii(uint64_t w)
{
    return tycho_swar_high(w) | tycho_swar_below(w, 1);
}

/* Copies 8 bytes from p to d; not_ascii of them. */
static uint64_t copy_word(char *d, const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    memcpy(d, &w, 8);
    return not_ascii(w);
}

/* Copies k bytes (sz <= k <= 2 * sz) from p to d as two
 * overlapping loads of size sz and returns not_ascii of both; pad fills the
 * lanes a load leaves empty with 0x01, neither NUL nor >= 0x80 (on a
 * big-endian machine it lands on the wrong lanes: nothing is vouched for). */
/* Inlined so that sz is a constant and each memcpy one move. */
static inline __attribute__((always_inline)) uint64_t copy_pair(char *d, const char *p, size_t k,
                                                                size_t sz, uint64_t pad)
{
    uint64_t a = 0, b = 0;
    memcpy(&a, p, sz);
    memcpy(&b, p + k - sz, sz);
    memcpy(d, &a, sz);
    memcpy(d + k - sz, &b, sz);
    return not_ascii(a | pad) | not_ascii(b | pad);
}

/* Copies n bytes to d a word at a time; 1 when they are all ASCII without
 * NUL: valid UTF-8 that the OTLP encoder then need not scan again (the
 * check rides on the copy, while the bytes are in registers). */
static int copy_ascii(char *d, const char *p, size_t n)
{
    uint64_t bad = 0;
    if (n >= 8) {
        size_t i = 0;
        for (; n - i > 8; i += 8)
            bad |= copy_word(d + i, p + i);
        bad |= copy_word(d + n - 8, p + n - 8); /* the last word, overlapping */
    } else if (n >= 4) {
        bad = copy_pair(d, p, n, 4, 0x0101010100000000ull);
    } else if (n >= 2) {
        bad = copy_pair(d, p, n, 2, 0x0101010101010000ull);
    } else if (n == 1) {
        d[0] = p[0];
        bad = not_ascii((unsigned char)p[0] | 0x0101010101010100ull);
    }
    return !bad;
}

/* The length of p (n bytes) cut to at most max, not inside a UTF-8
 * sequence. */
static inline size_t utf8_cut(const char *p, size_t n, size_t max)
{
    if (n <= max) return n;
    n = max;
    while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A copy of p in the arena: n bytes (cut at max_value_len on a UTF-8
 * boundary when limit), its length in *outlen (may be NULL) and in *ascii
 * whether copy_ascii vouched for it (NULL: not checked, a plain copy). */
static inline const char *arena_strndup_len(tycho_span_t *s, const char *p, size_t n, int limit,
                                            size_t *outlen, int *ascii)
{
    if (limit && s->limits.max_value_len) n = utf8_cut(p, n, s->limits.max_value_len);
    if (n >= s->limits.max_bytes) return NULL; /* over budget anyway, and n + 1 cannot wrap */
    char *d = arena_alloc(s, n + 1);
    if (!d) return NULL;
    if (ascii)
        *ascii = copy_ascii(d, p, n);
    else
        memcpy(d, p, n);
    d[n] = 0;
    if (outlen) *outlen = n;
    return d;
}

static const char *arena_strndup(tycho_span_t *s, const char *p, size_t n, int limit)
{
    return arena_strndup_len(s, p, n, limit, NULL, NULL);
}

/* p (NULL -> "") copied whole. */
static const char *arena_strdup(tycho_span_t *s, const char *p)
{
    return arena_strndup_len(s, p ? p : "", p ? strlen(p) : 0, 0, NULL, NULL);
}

/* Grows an arena array to first, then twice its size (the old block stays
 * in the arena until free). */
static void *grow(tycho_span_t *s, void *items, uint32_t n, uint32_t *cap, size_t elem,
                  uint32_t first)
{
    if (n < *cap) return items;
    uint32_t ncap = *cap ? *cap * 2 : first;
    void *p = arena_alloc(s, ncap * elem);
    if (!p) return NULL;
    if (n) memcpy(p, items, n * elem);
    *cap = ncap;
    return p;
}

/* --- lifecycle ----------------------------------------------------------- */

tycho_span_t *tycho_span_new(const char *name, tycho_span_kind_t kind,
                             const tycho_span_limits_t *limits)
{
    return tycho_span_new_from(NULL, name, kind, limits);
}

/* A recycled block starts as a fresh one: every field is set here. */
tycho_span_t *tycho_span_new_from(tycho_span_pool_t *pool, const char *name, tycho_span_kind_t kind,
                                  const tycho_span_limits_t *limits)
{
    static const tycho_span_limits_t defaults = TYCHO_SPAN_LIMITS_DEFAULT;
    tycho_span_t *s = pool ? tycho_span_pool_take(pool) : malloc(TYCHO_SPAN_BLOCK_SIZE);
    if (!s) return NULL;
    memset(s, 0, sizeof *s);
    s->pool = pool;
    s->limits = limits ? *limits : defaults;
    if (s->limits.max_bytes < TYCHO_SPAN_INLINE_ARENA)
        s->limits.max_bytes = TYCHO_SPAN_INLINE_ARENA;
    s->cur = (char *)(s + 1);
    s->left = TYCHO_SPAN_INLINE_ARENA;
    s->kind = kind;
    s->start_ns = tycho_span_now_ns();
    s->trace_state = "";
    s->status_message = "";
    s->attrs.max = s->limits.max_attrs;
    if (tycho_span_set_name(s, name) != 0) {
        tycho_span_free(s);
        return NULL;
    }
    return s;
}

void tycho_span_free(tycho_span_t *s)
{
    if (!s) return;
    struct tycho_span_chunk *c = s->chunks;
    while (c) {
        struct tycho_span_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (s->pool)
        tycho_span_pool_give(s->pool, s);
    else
        free(s);
}

void tycho_span_set_ids(tycho_span_t *s, const uint8_t trace_id[16], const uint8_t span_id[8],
                        const uint8_t *parent_span_id, int parent_is_remote, uint8_t flags)
{
    memcpy(s->trace_id, trace_id, 16);
    memcpy(s->span_id, span_id, 8);
    s->has_parent = parent_span_id != NULL;
    if (parent_span_id)
        memcpy(s->parent_span_id, parent_span_id, 8);
    else
        memset(s->parent_span_id, 0, 8);
    s->parent_is_remote = parent_span_id && parent_is_remote;
    s->flags = flags;
}

/* A name is cut to a quarter of the byte budget (16 KiB by default): one
 * that did not fit would cost the whole span, which tycho.trace.span then
 * ran without, silently. */
int tycho_span_set_name(tycho_span_t *s, const char *name)
{
    int ascii;
    const char *p = name ? name : "";
    size_t len = utf8_cut(p, strlen(p), s->limits.max_bytes / 4);
    const char *n = arena_strndup_len(s, p, len, 0, NULL, &ascii);
    if (!n) return -ENOMEM;
    s->name = n;
    s->name_utf8 = (uint8_t)ascii;
    return 0;
}

int tycho_span_set_trace_state(tycho_span_t *s, const char *ts)
{
    const char *n = arena_strdup(s, ts);
    if (!n) return -ENOMEM;
    s->trace_state = n;
    return 0;
}

void tycho_span_end(tycho_span_t *s, uint64_t end_ns)
{
    s->end_ns = end_ns ? end_ns : tycho_span_now_ns();
    if (s->end_ns < s->start_ns) s->end_ns = s->start_ns; /* OTLP: end >= start */
}

int tycho_span_sampled(const tycho_span_t *s)
{
    return (s->flags & TYCHO_TRACE_FLAG_SAMPLED) != 0;
}

/* An error's text (status message, exception message and stack trace) gets
 * at most an eighth of the byte budget (8 KiB by default) each: the three
 * repeat one message (a Lua traceback starts with it), and a long one would
 * otherwise not fit and be dropped from all three, leaving an ERROR span
 * with no word of what failed. */
static size_t error_text_max(const tycho_span_t *s)
{
    return s->limits.max_bytes / 8;
}

void tycho_span_set_status(tycho_span_t *s, tycho_span_status_t code, const char *message)
{
    if (code == TYCHO_SPAN_STATUS_UNSET || s->status == TYCHO_SPAN_STATUS_OK) return;
    s->status = code;
    s->status_message = "";
    if (code == TYCHO_SPAN_STATUS_ERROR && message && *message) {
        size_t n = utf8_cut(message, strlen(message), error_text_max(s));
        const char *m = arena_strndup(s, message, n, 1);
        if (m) s->status_message = m;
    }
}

/* --- attributes, events, links -------------------------------------------- */

/* Each name zero-padded to TYCHO_SPAN_KEY_PAD bytes (span.h's promise to
 * encoders); a name that did not fit would not compile. */
#define KEY(name)                                                                                  \
    {                                                                                              \
        name, sizeof name - 1                                                                      \
    }

static const struct {
    char name[TYCHO_SPAN_KEY_PAD];
    uint32_t len;
} KEYS[TYCHO_KEY_COUNT] = {
    [TYCHO_KEY_HTTP_REQUEST_METHOD] = KEY("http.request.method"),
    [TYCHO_KEY_URL_PATH] = KEY("url.path"),
    [TYCHO_KEY_URL_QUERY] = KEY("url.query"),
    [TYCHO_KEY_HTTP_ROUTE] = KEY("http.route"),
    [TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE] = KEY("http.response.status_code"),
    [TYCHO_KEY_CLIENT_ADDRESS] = KEY("client.address"),
    [TYCHO_KEY_USER_AGENT_ORIGINAL] = KEY("user_agent.original"),
    [TYCHO_KEY_SERVER_ADDRESS] = KEY("server.address"),
    [TYCHO_KEY_SERVER_PORT] = KEY("server.port"),
    [TYCHO_KEY_NETWORK_PROTOCOL_VERSION] = KEY("network.protocol.version"),
    [TYCHO_KEY_HTTP_REQUEST_ID] = KEY("http.request.id"),
    [TYCHO_KEY_URL_SCHEME] = KEY("url.scheme"),
    [TYCHO_KEY_ERROR_TYPE] = KEY("error.type"),
    [TYCHO_KEY_HTTP_REQUEST_METHOD_ORIGINAL] = KEY("http.request.method_original"),
    [TYCHO_KEY_NETWORK_PEER_ADDRESS] = KEY("network.peer.address"),
    [TYCHO_KEY_NETWORK_PEER_PORT] = KEY("network.peer.port"),
};

_Static_assert(TYCHO_KEY_COUNT <= 32, "tycho_attrs_t.known has a bit per well-known key");

const char *tycho_span_key_name(tycho_span_key_t k)
{
    return KEYS[k].name;
}

/* The key of an attribute being set: a well-known key (known = 1 + its
 * tycho_span_key_t; name in KEYS) or any other string. */
typedef struct key_ref {
    const char *name;
    uint32_t len;
    uint8_t known;
} key_ref_t;

static key_ref_t known_ref(tycho_span_key_t k)
{
    return (key_ref_t){KEYS[k].name, KEYS[k].len, (uint8_t)(k + 1)};
}

/* key (n bytes) as a key_ref: a well-known name becomes that key, so that
 * each name has one spelling in an attribute array. */
static key_ref_t name_ref(const char *key, size_t n)
{
    for (int k = 0; k < TYCHO_KEY_COUNT; k++)
        if (KEYS[k].len == n && memcmp(KEYS[k].name, key, n) == 0)
            return known_ref((tycho_span_key_t)k);
    return (key_ref_t){key, (uint32_t)n, 0};
}

/* The slot holding key, NULL if absent. A well-known key is only searched
 * when its bit says it is there, and then by pointer. */
static tycho_attr_t *find(const tycho_attrs_t *a, key_ref_t k)
{
    if (k.known && !(a->known & 1u << (k.known - 1))) return NULL;
    for (uint32_t i = 0; i < a->n; i++) {
        tycho_attr_t *at = &a->items[i];
        if (k.known ? at->key == k.name
                    : !at->known && at->klen == k.len && memcmp(at->key, k.name, k.len) == 0)
            return at;
    }
    return NULL;
}

const tycho_attr_t *tycho_span_get_attr(const tycho_attrs_t *a, const char *key)
{
    return key ? find(a, name_ref(key, strlen(key))) : NULL;
}

/* The slot after the last attribute (growing the array), NULL when a new
 * attribute does not fit the count limit (less the reserved slots, for a
 * key that is not well-known) or the arena. */
static tycho_attr_t *next_slot(tycho_span_t *s, tycho_attrs_t *a, int known)
{
    if (a->n + (known ? 0 : a->reserved) >= a->max) return NULL;
    if (a->n == a->cap) {
        uint32_t first = a == &s->attrs ? SPAN_ATTRS_FIRST : ARRAY_FIRST;
        tycho_attr_t *items = grow(s, a->items, a->n, &a->cap, sizeof *items, first);
        if (!items) return NULL;
        a->items = items; /* grow raised cap: items must follow even if the key is dropped */
    }
    return &a->items[a->n];
}

/* One string of a value copied into the arena as *out, cut at
 * max_value_len on a UTF-8 boundary (which keeps it valid UTF-8); *utf8
 * when the caller vouched for it or copy_ascii found it ASCII. -ENOSPC when
 * it does not fit. */
static inline int store_str(tycho_span_t *s, const char *p, size_t n, int vouched,
                            tycho_attr_str_t *out, int *utf8)
{
    *utf8 = vouched;
    const char *d = arena_strndup_len(s, p, n, 1, &out->n, vouched ? NULL : utf8);
    if (!d) return -ENOSPC;
    out->p = d;
    return 0;
}

/* A string value (NULL -> "") into at; VALUE_UTF8 as store_str found. */
static inline int store_string(tycho_span_t *s, const tycho_attr_value_t *v, tycho_attr_t *at)
{
    const char *p = v->s ? v->s : "";
    size_t n = v->s ? (v->n == (size_t)-1 ? strlen(p) : v->n) : 0;
    int utf8;
    if (store_str(s, p, n, v->utf8, &at->v.s, &utf8) != 0) return -ENOSPC;
    at->utf8 = utf8 ? TYCHO_ATTR_VALUE_UTF8 : 0;
    return 0;
}

/* A string array value into at: its item table, then each string as
 * store_str copies one (the spec's value length limit applies to each
 * string of an array); VALUE_UTF8 when every string is vouched for.
 * -ENOSPC when it does not fit whole. Out of line: rare, and kept from the
 * string path's register use. */
static __attribute__((noinline)) int store_strings(tycho_span_t *s, const tycho_attr_value_t *v,
                                                   tycho_attr_t *at)
{
    size_t count = v->n;
    if (count > s->limits.max_bytes / sizeof(tycho_attr_str_t)) return -ENOSPC; /* no overflow */
    tycho_attr_str_t *items = NULL;
    if (count && !(items = arena_alloc(s, count * sizeof *items))) return -ENOSPC;
    int all = 1;
    for (size_t i = 0; i < count; i++) {
        int utf8;
        const tycho_attr_str_t *in = &v->sv[i];
        if (store_str(s, in->p ? in->p : "", in->p ? in->n : 0, v->utf8, &items[i], &utf8) != 0)
            return -ENOSPC;
        all &= utf8;
    }
    at->v.sv.items = items;
    at->v.sv.n = count;
    at->utf8 = all ? TYCHO_ATTR_VALUE_UTF8 : 0;
    return 0;
}

/* v's type and value into at (its key fields untouched); -ENOSPC when a
 * string does not fit. */
static inline int store_value(tycho_span_t *s, const tycho_attr_value_t *v, tycho_attr_t *at)
{
    at->type = v->type;
    /* Tests, not a switch: five cases made GCC's jump table, slower for the
     * strings and ints of the server span than two compares. */
    if (v->type == TYCHO_ATTR_STRING) return store_string(s, v, at);
    if (v->type == TYCHO_ATTR_STRING_ARRAY) return store_strings(s, v, at);
    if (v->type == TYCHO_ATTR_INT)
        at->v.i = v->i;
    else if (v->type == TYCHO_ATTR_DOUBLE)
        at->v.d = v->d;
    else
        at->v.b = v->b ? 1 : 0;
    at->utf8 = 0;
    return 0;
}

/* The key of a new attribute: a well-known key is kept by pointer and
 * charged what its copy would cost (what is dropped does not depend on how
 * a key was set), any other is copied. -ENOSPC when it does not fit. */
static int store_key(tycho_span_t *s, key_ref_t k, tycho_attr_t *at)
{
    at->klen = k.len;
    at->known = k.known;
    if (k.known) {
        if (arena_charge(s, k.len + 1) != 0) return -ENOSPC;
        at->key = k.name;
        at->utf8 |= TYCHO_ATTR_KEY_UTF8;
        return 0;
    }
    int ascii;
    at->key = arena_strndup_len(s, k.name, k.len, 0, NULL, &ascii);
    if (!at->key) return -ENOSPC;
    if (ascii) at->utf8 |= TYCHO_ATTR_KEY_UTF8;
    return 0;
}

/* Sets (replacing keeps the key and position) or appends key = v. A new
 * attribute is built in the slot past the last, which only counts once
 * complete. */
static int attrs_set(tycho_span_t *s, tycho_attrs_t *a, key_ref_t k, const tycho_attr_value_t *v)
{
    tycho_attr_t *slot = find(a, k);
    if (slot) {
        tycho_attr_t nv = *slot;
        if (store_value(s, v, &nv) != 0) goto drop;
        nv.utf8 |= slot->utf8 & TYCHO_ATTR_KEY_UTF8;
        *slot = nv;
        return 0;
    }
    tycho_attr_t *at = next_slot(s, a, k.known != 0);
    if (!at || store_value(s, v, at) != 0 || store_key(s, k, at) != 0) goto drop;
    if (k.known) {
        a->known |= 1u << (k.known - 1);
        if (a->reserved) a->reserved--;
    }
    a->n++;
    return 0;
drop:
    a->dropped++;
    return -ENOSPC;
}

/* attrs_set with a key given by string: NULL or "" is -EINVAL. */
static int attrs_set_name(tycho_span_t *s, tycho_attrs_t *a, const char *key, tycho_attr_value_t v)
{
    if (!key || !*key) return -EINVAL;
    size_t n = strlen(key);
    if (n > UINT32_MAX) { /* far over any byte budget */
        a->dropped++;
        return -ENOSPC;
    }
    return attrs_set(s, a, name_ref(key, n), &v);
}

int tycho_span_set_key(tycho_span_t *s, tycho_span_key_t key, tycho_attr_value_t v)
{
    return attrs_set(s, &s->attrs, known_ref(key), &v);
}

int tycho_span_set_attr(tycho_span_t *s, const char *key, tycho_attr_value_t v)
{
    return attrs_set_name(s, &s->attrs, key, v);
}

int tycho_span_event_set_attr(tycho_span_t *s, tycho_span_event_t *ev, const char *key,
                              tycho_attr_value_t v)
{
    return attrs_set_name(s, &ev->attrs, key, v);
}

int tycho_span_link_set_attr(tycho_span_t *s, tycho_span_link_t *link, const char *key,
                             tycho_attr_value_t v)
{
    return attrs_set_name(s, &link->attrs, key, v);
}

void tycho_span_reserve_known(tycho_span_t *s, uint32_t n)
{
    s->attrs.reserved = n;
}

tycho_span_event_t *tycho_span_add_event(tycho_span_t *s, const char *name, uint64_t time_ns)
{
    if (s->nevents >= s->limits.max_events) goto drop;
    tycho_span_event_t *evs =
        grow(s, s->events, s->nevents, &s->events_cap, sizeof *evs, ARRAY_FIRST);
    if (!evs) goto drop;
    s->events = evs;
    const char *n = arena_strdup(s, name);
    if (!n) goto drop;
    tycho_span_event_t *ev = &s->events[s->nevents++];
    memset(ev, 0, sizeof *ev);
    ev->name = n;
    ev->time_ns = time_ns ? time_ns : tycho_span_now_ns();
    ev->attrs.max = s->limits.max_event_attrs;
    return ev;
drop:
    s->dropped_events++;
    return NULL;
}

int tycho_span_record_exception(tycho_span_t *s, const char *type, const char *message,
                                const char *stacktrace, uint64_t time_ns)
{
    tycho_span_event_t *ev = tycho_span_add_event(s, "exception", time_ns);
    if (!ev) return -ENOSPC;
    int rc = 0;
    size_t max = error_text_max(s);
    if (type) rc |= tycho_span_event_set_attr(s, ev, "exception.type", TYCHO_AV_STR(type));
    if (message) {
        size_t n = utf8_cut(message, strlen(message), max);
        rc |= tycho_span_event_set_attr(s, ev, "exception.message", TYCHO_AV_STRN(message, n));
    }
    if (stacktrace) { /* its end: the frames follow the message it starts with */
        size_t n = strlen(stacktrace), skip = n > max ? n - max : 0;
        while (skip < n && ((unsigned char)stacktrace[skip] & 0xC0) == 0x80)
            skip++;
        rc |= tycho_span_event_set_attr(s, ev, "exception.stacktrace",
                                        TYCHO_AV_STRN(stacktrace + skip, n - skip));
    }
    return rc ? -ENOSPC : 0;
}

tycho_span_link_t *tycho_span_add_link(tycho_span_t *s, const uint8_t trace_id[16],
                                       const uint8_t span_id[8], uint8_t flags, int is_remote,
                                       const char *trace_state)
{
    if (s->nlinks >= s->limits.max_links) goto drop;
    tycho_span_link_t *ls = grow(s, s->links, s->nlinks, &s->links_cap, sizeof *ls, ARRAY_FIRST);
    if (!ls) goto drop;
    s->links = ls;
    const char *ts = arena_strdup(s, trace_state);
    if (!ts) goto drop;
    tycho_span_link_t *l = &s->links[s->nlinks++];
    memset(l, 0, sizeof *l);
    memcpy(l->trace_id, trace_id, 16);
    memcpy(l->span_id, span_id, 8);
    l->flags = flags;
    l->is_remote = is_remote;
    l->trace_state = ts;
    l->attrs.max = s->limits.max_link_attrs;
    return l;
drop:
    s->dropped_links++;
    return NULL;
}

const char *tycho_span_kind_name(tycho_span_kind_t k)
{
    switch (k) {
    case TYCHO_SPAN_KIND_INTERNAL:
        return "INTERNAL";
    case TYCHO_SPAN_KIND_SERVER:
        return "SERVER";
    case TYCHO_SPAN_KIND_CLIENT:
        return "CLIENT";
    case TYCHO_SPAN_KIND_PRODUCER:
        return "PRODUCER";
    case TYCHO_SPAN_KIND_CONSUMER:
        return "CONSUMER";
    }
    return "UNSPECIFIED";
}

const char *tycho_span_status_name(tycho_span_status_t c)
{
    switch (c) {
    case TYCHO_SPAN_STATUS_UNSET:
        return "UNSET";
    case TYCHO_SPAN_STATUS_OK:
        return "OK";
    case TYCHO_SPAN_STATUS_ERROR:
        return "ERROR";
    }
    return "UNSET";
}

/* --- JSON ------------------------------------------------------------------ */

static int json_str(tycho_buf_t *b, const char *s)
{
    return tycho_buf_append_json_string(b, s, strlen(s));
}

static int json_hex(tycho_buf_t *b, const char *key, const uint8_t *id, size_t n)
{
    char hex[33];
    tycho_hex_encode(id, n, hex);
    return tycho_buf_printf(b, ",\"%s\":\"%s\"", key, hex);
}

/* A string array as a JSON array of strings. */
static int json_strings(tycho_buf_t *b, const tycho_attr_t *at)
{
    int rc = tycho_buf_puts(b, "[");
    for (size_t i = 0; i < at->v.sv.n; i++) {
        if (i) rc |= tycho_buf_puts(b, ",");
        rc |= tycho_buf_append_json_string(b, at->v.sv.items[i].p, at->v.sv.items[i].n);
    }
    return rc | tycho_buf_puts(b, "]");
}

static int json_attrs(tycho_buf_t *b, const tycho_attrs_t *a)
{
    int rc = tycho_buf_puts(b, "\"attributes\":{");
    for (uint32_t i = 0; i < a->n; i++) {
        const tycho_attr_t *at = &a->items[i];
        if (i) rc |= tycho_buf_puts(b, ",");
        rc |= json_str(b, at->key);
        rc |= tycho_buf_puts(b, ":");
        switch (at->type) {
        case TYCHO_ATTR_STRING:
            rc |= tycho_buf_append_json_string(b, at->v.s.p, at->v.s.n);
            break;
        case TYCHO_ATTR_INT:
            rc |= tycho_buf_printf(b, "%lld", (long long)at->v.i);
            break;
        case TYCHO_ATTR_BOOL:
            rc |= tycho_buf_puts(b, at->v.b ? "true" : "false");
            break;
        case TYCHO_ATTR_DOUBLE:
            rc |= tycho_buf_append_json_number(b, at->v.d);
            break;
        case TYCHO_ATTR_STRING_ARRAY:
            rc |= json_strings(b, at);
            break;
        }
    }
    rc |= tycho_buf_puts(b, "}");
    if (a->dropped) rc |= tycho_buf_printf(b, ",\"dropped_attributes_count\":%u", a->dropped);
    return rc;
}

int tycho_span_to_json(const tycho_span_t *s, tycho_buf_t *b)
{
    size_t mark = b->len;
    int rc = tycho_buf_puts(b, "{\"name\":");
    rc |= json_str(b, s->name);
    rc |= tycho_buf_printf(b, ",\"kind\":\"%s\"", tycho_span_kind_name(s->kind));
    rc |= json_hex(b, "trace_id", s->trace_id, 16);
    rc |= json_hex(b, "span_id", s->span_id, 8);
    if (s->has_parent) {
        rc |= json_hex(b, "parent_span_id", s->parent_span_id, 8);
        if (s->parent_is_remote) rc |= tycho_buf_puts(b, ",\"parent_is_remote\":true");
    }
    if (*s->trace_state) {
        rc |= tycho_buf_puts(b, ",\"trace_state\":");
        rc |= json_str(b, s->trace_state);
    }
    rc |= tycho_buf_printf(b, ",\"flags\":%u,\"sampled\":%s", s->flags,
                           tycho_span_sampled(s) ? "true" : "false");
    rc |= tycho_buf_printf(b, ",\"start_time_unix_nano\":%llu,\"end_time_unix_nano\":%llu",
                           (unsigned long long)s->start_ns, (unsigned long long)s->end_ns);
    if (s->end_ns >= s->start_ns)
        rc |= tycho_buf_printf(b, ",\"duration_ms\":%.3f", (double)(s->end_ns - s->start_ns) / 1e6);
    rc |= tycho_buf_printf(b, ",\"status\":{\"code\":\"%s\"", tycho_span_status_name(s->status));
    if (*s->status_message) {
        rc |= tycho_buf_puts(b, ",\"message\":");
        rc |= json_str(b, s->status_message);
    }
    rc |= tycho_buf_puts(b, "},");
    rc |= json_attrs(b, &s->attrs);
    if (s->nevents) {
        rc |= tycho_buf_puts(b, ",\"events\":[");
        for (uint32_t i = 0; i < s->nevents; i++) {
            const tycho_span_event_t *e = &s->events[i];
            rc |= tycho_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
            rc |= json_str(b, e->name);
            rc |= tycho_buf_printf(b, ",\"time_unix_nano\":%llu,", (unsigned long long)e->time_ns);
            rc |= json_attrs(b, &e->attrs);
            rc |= tycho_buf_puts(b, "}");
        }
        rc |= tycho_buf_puts(b, "]");
    }
    if (s->dropped_events)
        rc |= tycho_buf_printf(b, ",\"dropped_events_count\":%u", s->dropped_events);
    if (s->nlinks) {
        rc |= tycho_buf_puts(b, ",\"links\":[");
        for (uint32_t i = 0; i < s->nlinks; i++) {
            const tycho_span_link_t *l = &s->links[i];
            rc |= tycho_buf_puts(b, i ? ",{" : "{");
            char hex[33];
            tycho_hex_encode(l->trace_id, 16, hex);
            rc |= tycho_buf_printf(b, "\"trace_id\":\"%s\"", hex);
            rc |= json_hex(b, "span_id", l->span_id, 8);
            rc |= tycho_buf_printf(b, ",\"flags\":%u", l->flags);
            if (l->is_remote) rc |= tycho_buf_puts(b, ",\"is_remote\":true");
            if (*l->trace_state) {
                rc |= tycho_buf_puts(b, ",\"trace_state\":");
                rc |= json_str(b, l->trace_state);
            }
            rc |= tycho_buf_puts(b, ",");
            rc |= json_attrs(b, &l->attrs);
            rc |= tycho_buf_puts(b, "}");
        }
        rc |= tycho_buf_puts(b, "]");
    }
    if (s->dropped_links)
        rc |= tycho_buf_printf(b, ",\"dropped_links_count\":%u", s->dropped_links);
    rc |= tycho_buf_puts(b, "}\n");
    if (rc) {
        /* Never leave half a line behind. */
        b->len = mark;
        if (b->data) b->data[mark] = 0;
        return -ENOMEM;
    }
    return 0;
}
