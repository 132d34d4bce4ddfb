/* span — the span model, one allocation per span: the struct carries a small
 * arena that holds its strings, attributes, events and links (overflow
 * chunks only for big spans), so tycho_span_free releases everything. Every
 * OTLP Span field has a home here (PROTOCOLS.md section 3). A span belongs to
 * one thread at a time: the worker that builds it, then (after it is pushed
 * on a ring) the telemetry thread that encodes and frees it. A span made
 * from a span_pool goes back to that pool when freed (any thread). */
#ifndef TYCHO_TELEMETRY_SPAN_H
#define TYCHO_TELEMETRY_SPAN_H

#include "core/buf.h"
#include "telemetry/span_pool.h"

#include <stddef.h>
#include <stdint.h>

/* Numbered as OTLP's SpanKind. */
typedef enum {
    TYCHO_SPAN_KIND_INTERNAL = 1,
    TYCHO_SPAN_KIND_SERVER = 2,
    TYCHO_SPAN_KIND_CLIENT = 3,
    TYCHO_SPAN_KIND_PRODUCER = 4,
    TYCHO_SPAN_KIND_CONSUMER = 5,
} tycho_span_kind_t;

/* Numbered as OTLP's Status.StatusCode. */
typedef enum {
    TYCHO_SPAN_STATUS_UNSET = 0,
    TYCHO_SPAN_STATUS_OK = 1,
    TYCHO_SPAN_STATUS_ERROR = 2,
} tycho_span_status_t;

typedef enum {
    TYCHO_ATTR_STRING,
    TYCHO_ATTR_INT,
    TYCHO_ATTR_DOUBLE,
    TYCHO_ATTR_BOOL,
    TYCHO_ATTR_STRING_ARRAY, /* OTel's string[] (an OTLP ArrayValue of strings) */
} tycho_attr_type_t;

/* A string by pointer and length (p may be NULL when n is 0). */
typedef struct tycho_attr_str {
    const char *p;
    size_t n;
} tycho_attr_str_t;

/* A value to set (borrowed by the setter, copied into the span). */
typedef struct tycho_attr_value {
    tycho_attr_type_t type;
    union {
        const char *s;
        const tycho_attr_str_t *sv; /* STRING_ARRAY: its n strings */
    };
    size_t n; /* string length, (size_t)-1 -> strlen; STRING_ARRAY: how many strings */
    int64_t i;
    double d;
    int b;
    int utf8; /* the caller vouches that s (every string of sv) is valid UTF-8 without NUL */
} tycho_attr_value_t;

#define TYCHO_AV_STR(v) ((tycho_attr_value_t){TYCHO_ATTR_STRING, {(v)}, (size_t)-1, 0, 0, 0, 0})
#define TYCHO_AV_STRN(v, len) ((tycho_attr_value_t){TYCHO_ATTR_STRING, {(v)}, (len), 0, 0, 0, 0})
/* A string tycho made or checked (a known method, an IP address, "1.1"):
 * valid UTF-8 without NUL, which the OTLP encoder then need not check. */
#define TYCHO_AV_UTF8N(v, len) ((tycho_attr_value_t){TYCHO_ATTR_STRING, {(v)}, (len), 0, 0, 0, 1})
#define TYCHO_AV_INT(v) ((tycho_attr_value_t){TYCHO_ATTR_INT, {NULL}, 0, (int64_t)(v), 0, 0, 0})
#define TYCHO_AV_DBL(v) ((tycho_attr_value_t){TYCHO_ATTR_DOUBLE, {NULL}, 0, 0, (double)(v), 0, 0})
#define TYCHO_AV_BOOL(v) ((tycho_attr_value_t){TYCHO_ATTR_BOOL, {NULL}, 0, 0, 0, (v) ? 1 : 0, 0})
/* n strings (a tycho_attr_str_t array; n 0 is the empty array): each copied
 * and cut at the value length limit on its own, as the spec says for arrays
 * of strings. */
#define TYCHO_AV_STRV(items, count)                                                                \
    ((tycho_attr_value_t){TYCHO_ATTR_STRING_ARRAY, {.sv = (items)}, (count), 0, 0, 0, 0})

/* Bits of tycho_attr_t.utf8: which strings are known valid UTF-8 without
 * NUL (a well-known key, a value set with TYCHO_AV_UTF8N, any key or value
 * found all ASCII while it was copied). */
enum { TYCHO_ATTR_KEY_UTF8 = 1, TYCHO_ATTR_VALUE_UTF8 = 2 };

/* A well-known key's bytes (see tycho_attr_t.known) stay readable this far
 * past their start, zero after the name: an encoder may copy a fixed-size
 * block instead of counting. Every well-known name is shorter. */
#define TYCHO_SPAN_KEY_PAD 32

/* A stored attribute (strings live in the span's arena, well-known keys in
 * a static table). */
typedef struct tycho_attr {
    const char *key;
    uint32_t klen; /* strlen(key), so that the encoder need not count it */
    tycho_attr_type_t type;
    uint8_t utf8;  /* TYCHO_ATTR_*_UTF8 bits */
    uint8_t known; /* 1 + its tycho_span_key_t when key is a well-known key, else 0 */
    union {
        tycho_attr_str_t s;
        struct {
            const tycho_attr_str_t *items; /* in the arena, each string NUL-terminated */
            size_t n;
        } sv; /* STRING_ARRAY; VALUE_UTF8 in utf8 vouches for every string */
        int64_t i;
        double d;
        int b;
    } v;
} tycho_attr_t;

typedef struct tycho_attrs {
    tycho_attr_t *items;
    uint32_t n, cap, max;
    uint32_t dropped; /* over the count limit, or the span's byte budget */
    /* bit k: the well-known key k is among items (a key set by string that
     * spells a well-known name is stored as that key), so setting a
     * well-known key that is not there yet needs no search */
    uint32_t known;
    /* slots kept for well-known keys not set yet (tycho_span_reserve_known):
     * other keys stop short of them */
    uint32_t reserved;
} tycho_attrs_t;

typedef struct tycho_span_event {
    const char *name;
    uint64_t time_ns;
    tycho_attrs_t attrs;
} tycho_span_event_t;

typedef struct tycho_span_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* W3C trace flags of the linked context */
    int is_remote;
    const char *trace_state; /* "" when none */
    tycho_attrs_t attrs;
} tycho_span_link_t;

/* OTEL_SPAN_*_LIMIT semantics; 0 in max_value_len means unlimited. max_bytes
 * bounds the arena: what does not fit is dropped and counted. */
typedef struct tycho_span_limits {
    uint32_t max_attrs, max_events, max_links, max_event_attrs, max_link_attrs;
    uint32_t max_value_len;
    size_t max_bytes;
} tycho_span_limits_t;

#define TYCHO_SPAN_LIMITS_DEFAULT                                                                  \
    {                                                                                              \
        128, 128, 128, 128, 128, 0, 64 * 1024                                                      \
    }

struct tycho_span_chunk;

typedef struct tycho_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* zero when has_parent is 0 */
    int has_parent;
    int parent_is_remote;
    uint8_t flags;           /* W3C trace flags; sampled = flags & TYCHO_TRACE_FLAG_SAMPLED */
    const char *trace_state; /* "" when none */
    const char *name;
    uint8_t name_utf8; /* name is valid UTF-8 without NUL (found ASCII when set) */
    tycho_span_kind_t kind;
    uint64_t start_ns, end_ns; /* unix ns; end 0 until ended */
    tycho_attrs_t attrs;
    tycho_span_event_t *events;
    uint32_t nevents, events_cap, dropped_events;
    tycho_span_link_t *links;
    uint32_t nlinks, links_cap, dropped_links;
    tycho_span_status_t status;
    const char *status_message; /* "" unless ERROR with a description */

    /* arena, private */
    tycho_span_pool_t *pool; /* where the block goes back; NULL: free() */
    tycho_span_limits_t limits;
    struct tycho_span_chunk *chunks;
    char *cur;
    size_t left;
    size_t used;
} tycho_span_t;

/* Bytes of arena allocated together with the span itself: enough for a
 * typical server span (a dozen attributes, no events) in one block. */
#define TYCHO_SPAN_INLINE_ARENA 1536
/* The size of a span's block: what a span_pool for spans is made with. */
#define TYCHO_SPAN_BLOCK_SIZE (sizeof(tycho_span_t) + TYCHO_SPAN_INLINE_ARENA)

/* Reads OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
 * OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT,
 * OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT and
 * OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT over the defaults. An invalid
 * value is ignored (the spec asks to warn, not fail): the count of them is
 * returned and msg names each with the value used instead, for one warning.
 * Main thread, before workers start. */
int tycho_span_limits_from_env(tycho_span_limits_t *l, char *msg, size_t msglen);

/* Unix time now, in ns. */
uint64_t tycho_span_now_ns(void);

/* A span named name, started now (start_ns may be overwritten), with zero
 * ids: set them with tycho_span_set_ids. limits NULL -> defaults. NULL on
 * ENOMEM. */
tycho_span_t *tycho_span_new(const char *name, tycho_span_kind_t kind,
                             const tycho_span_limits_t *limits);
/* tycho_span_new with its block taken from pool (made with
 * TYCHO_SPAN_BLOCK_SIZE; on the pool owner's thread). pool NULL -> malloc.
 * The pool must outlive the span. */
tycho_span_t *tycho_span_new_from(tycho_span_pool_t *pool, const char *name, tycho_span_kind_t kind,
                                  const tycho_span_limits_t *limits);
/* Frees the span and everything it holds, its block back to its pool if it
 * has one (any thread). NULL is fine. */
void tycho_span_free(tycho_span_t *s);

/* parent_span_id NULL -> a root span. */
void tycho_span_set_ids(tycho_span_t *s, const uint8_t trace_id[16], const uint8_t span_id[8],
                        const uint8_t *parent_span_id, int parent_is_remote, uint8_t flags);
int tycho_span_set_name(tycho_span_t *s, const char *name);      /* 0 or -ENOMEM */
int tycho_span_set_trace_state(tycho_span_t *s, const char *ts); /* 0 or -ENOMEM */
/* end_ns 0 -> now. */
void tycho_span_end(tycho_span_t *s, uint64_t end_ns);
int tycho_span_sampled(const tycho_span_t *s);

/* OTel rules: UNSET is ignored; OK is final; the message is kept only for
 * ERROR, cut to max_bytes / 8 (on a UTF-8 boundary). */
void tycho_span_set_status(tycho_span_t *s, tycho_span_status_t code, const char *message);

/* Sets (or replaces) an attribute. 0; -ENOSPC when dropped (count limit or
 * byte budget, which a string array's strings and its item table count
 * against as a whole: it is kept whole or dropped; counted in dropped);
 * -EINVAL for an empty key. */
int tycho_span_set_attr(tycho_span_t *s, const char *key, tycho_attr_value_t v);

/* The attribute keys of the server span, as tycho_span_key_name spells them
 * (OTel semantic conventions). */
typedef enum {
    TYCHO_KEY_HTTP_REQUEST_METHOD,
    TYCHO_KEY_URL_PATH,
    TYCHO_KEY_URL_QUERY,
    TYCHO_KEY_HTTP_ROUTE,
    TYCHO_KEY_HTTP_RESPONSE_STATUS_CODE,
    TYCHO_KEY_CLIENT_ADDRESS,
    TYCHO_KEY_USER_AGENT_ORIGINAL,
    TYCHO_KEY_SERVER_ADDRESS,
    TYCHO_KEY_SERVER_PORT,
    TYCHO_KEY_NETWORK_PROTOCOL_VERSION,
    TYCHO_KEY_HTTP_REQUEST_ID,
    TYCHO_KEY_URL_SCHEME,
    TYCHO_KEY_ERROR_TYPE,
    TYCHO_KEY_HTTP_REQUEST_METHOD_ORIGINAL,
    TYCHO_KEY_NETWORK_PEER_ADDRESS,
    TYCHO_KEY_NETWORK_PEER_PORT,
    TYCHO_KEY_COUNT
} tycho_span_key_t;

const char *tycho_span_key_name(tycho_span_key_t k);
/* tycho_span_set_attr with a well-known key: the key is not copied (its
 * bytes still count against the byte budget), and a key not set yet is
 * appended without a search. */
int tycho_span_set_key(tycho_span_t *s, tycho_span_key_t key, tycho_attr_value_t v);
/* Keeps n of the span's attribute slots for well-known keys (tycho's own,
 * set when the span ends): attributes with other keys are dropped once only
 * those slots are left, so a handler's attributes cannot crowd out the
 * semantic-convention ones. Each well-known key added uses one. */
void tycho_span_reserve_known(tycho_span_t *s, uint32_t n);
/* Events and links: NULL when dropped (counted) or on ENOMEM. */
tycho_span_event_t *tycho_span_add_event(tycho_span_t *s, const char *name, uint64_t time_ns);
int tycho_span_event_set_attr(tycho_span_t *s, tycho_span_event_t *ev, const char *key,
                              tycho_attr_value_t v);
/* An "exception" event with exception.type/.message/.stacktrace (NULLs are
 * skipped), per the OTel semantic conventions. time_ns 0 -> now. The
 * message keeps its first max_bytes / 8 bytes, the stack trace its last. */
int tycho_span_record_exception(tycho_span_t *s, const char *type, const char *message,
                                const char *stacktrace, uint64_t time_ns);
tycho_span_link_t *tycho_span_add_link(tycho_span_t *s, const uint8_t trace_id[16],
                                       const uint8_t span_id[8], uint8_t flags, int is_remote,
                                       const char *trace_state);
int tycho_span_link_set_attr(tycho_span_t *s, tycho_span_link_t *link, const char *key,
                             tycho_attr_value_t v);

/* Looks an attribute up (NULL if absent). */
const tycho_attr_t *tycho_span_get_attr(const tycho_attrs_t *a, const char *key);
const char *tycho_span_kind_name(tycho_span_kind_t k);     /* "SERVER", ... */
const char *tycho_span_status_name(tycho_span_status_t c); /* "UNSET", "OK", "ERROR" */

/* Appends the span as one JSON object and '\n' (the TYCHO_TRACES_STDOUT
 * debug sink): ids lowercase hex, times in unix ns, attributes as an object
 * (a string array as a JSON array of strings), non-finite doubles as the strings
 * "NaN"/"Infinity"/"-Infinity", strings JSON-escaped with invalid UTF-8 replaced. 0 or -ENOMEM. */
int tycho_span_to_json(const tycho_span_t *s, tycho_buf_t *out);

#endif
