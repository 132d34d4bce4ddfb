/* trace_context — trace propagation: W3C traceparent/tracestate (Trace
 * Context Level 2) and AWS X-Amzn-Trace-Id, their precedence on extraction,
 * the outgoing headers, and X-Ray-compatible trace/span id generation.
 * Pure functions plus a per-thread random buffer: any thread.
 * Rules and choices: PROTOCOLS.md section 4 and server/telemetry/README.md. */
#ifndef TYCHO_TELEMETRY_TRACE_CONTEXT_H
#define TYCHO_TELEMETRY_TRACE_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#define TYCHO_TRACE_FLAG_SAMPLED 0x01 /* W3C trace-flags bit 0 */
#define TYCHO_TRACE_FLAG_RANDOM 0x02  /* Level 2: right-most 7 bytes of the trace id are random */

#define TYCHO_TRACEPARENT_LEN 55 /* version 00 */
#define TYCHO_TRACESTATE_MAX_MEMBERS 32
#define TYCHO_TRACESTATE_MAX_LEN 512 /* what we keep and propagate */
#define TYCHO_XRAY_LINEAGE_MAX 256
#define TYCHO_XRAY_EXTRA_MAX 512
#define TYCHO_XRAY_HEADER_MAX (100 + TYCHO_XRAY_LINEAGE_MAX + TYCHO_XRAY_EXTRA_MAX)

/* --- hex and ids ---------------------------------------------------------- */

/* Writes 2n lowercase hex digits and a NUL. */
void tycho_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes 2n hex digits; lowercase only unless allow_upper. 0 or -EINVAL. */
int tycho_hex_decode(const char *in, size_t n, uint8_t *out, int allow_upper);
int tycho_id_is_zero(const uint8_t *id, size_t n);

/* Fills buf from a per-thread buffer refilled by getrandom(2). */
void tycho_trace_random(void *buf, size_t n);
/* X-Ray compatible: big-endian uint32 of time(NULL), then 12 random bytes. */
void tycho_trace_new_trace_id(uint8_t out[16]);
/* 8 random bytes, never all zero. */
void tycho_trace_new_span_id(uint8_t out[8]);

/* --- traceparent --------------------------------------------------------- */

typedef struct tycho_traceparent {
    uint8_t version;
    uint8_t trace_id[16];
    uint8_t parent_id[8];
    uint8_t flags;
} tycho_traceparent_t;

/* Parses a traceparent value (surrounding spaces/tabs ignored): lowercase hex
 * only; version ff, all-zero ids, and version 00 with trailing data are
 * invalid; a higher version needs >= 55 chars and '-' after the flags, and
 * only its first 55 chars are read. 0 or -EINVAL. */
int tycho_traceparent_parse(const char *s, size_t n, tycho_traceparent_t *out);
/* Always version 00; flags keep only the bits defined by Level 2 (0x03).
 * Writes 55 chars and a NUL into out; returns 55. */
size_t tycho_traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
                                char out[TYCHO_TRACEPARENT_LEN + 1]);

/* --- tracestate ------------------------------------------------------------ */

/* The canonical form: members joined by ',', no spaces, no empty members,
 * at most 32 members and TYCHO_TRACESTATE_MAX_LEN chars. */
typedef struct tycho_tracestate {
    unsigned nmembers;
    size_t len;
    char str[TYCHO_TRACESTATE_MAX_LEN + 2 * 257 + 2];
} tycho_tracestate_t;

void tycho_tracestate_init(tycho_tracestate_t *ts);
/* Parses a (possibly comma-joined multi-header) tracestate value. Empty and
 * whitespace-only members are tolerated. An invalid member, a duplicate key
 * or more than 32 members makes the whole value invalid: -EINVAL and ts is
 * left empty (it is then discarded, as OTel implementations do). A valid one
 * longer than 512 chars is truncated per the spec: entries longer than 128
 * chars go first (right-most first), then entries from the right. */
int tycho_tracestate_parse(const char *s, size_t n, tycho_tracestate_t *ts);
/* Adds key=value at the left, replacing an existing entry of that key; past
 * 32 members the right-most is dropped, then the 512-char rule applies.
 * 0 or -EINVAL (bad key or value). */
int tycho_tracestate_set(tycho_tracestate_t *ts, const char *key, const char *value);
/* Pointer into ts->str to the value of key (not NUL-terminated: *len), or NULL. */
const char *tycho_tracestate_get(const tycho_tracestate_t *ts, const char *key, size_t *len);
int tycho_tracestate_valid_key(const char *k, size_t n);
int tycho_tracestate_valid_value(const char *v, size_t n);

/* --- X-Amzn-Trace-Id ------------------------------------------------------ */

typedef enum {
    TYCHO_XRAY_SAMPLED_ABSENT = -1,
    TYCHO_XRAY_SAMPLED_NO = 0,
    TYCHO_XRAY_SAMPLED_YES = 1,
    TYCHO_XRAY_SAMPLED_REQUESTED = 2, /* Sampled=? : the receiver decides */
} tycho_xray_sampled_t;

typedef struct tycho_xray_header {
    int has_root;
    uint8_t root[16]; /* 8 hex epoch + 24 hex, as one 16-byte trace id */
    int has_parent;
    uint8_t parent[8];
    tycho_xray_sampled_t sampled;
    char self[64];                            /* the ALB's Self value, or "" (never re-emitted) */
    char lineage[TYCHO_XRAY_LINEAGE_MAX + 1]; /* Lineage value, or "" */
    char extra[TYCHO_XRAY_EXTRA_MAX + 1];     /* unknown fields "K=v;K2=v2", arrival order */
} tycho_xray_header_t;

/* An absent header: no Root or Parent, Sampled absent, no Self, Lineage or
 * extras (what tycho_trace_extract leaves without X-Amzn-Trace-Id). */
void tycho_xray_header_init(tycho_xray_header_t *h);
/* Parses X-Amzn-Trace-Id. Fields are split on ';' (spaces trimmed, keys are
 * case-sensitive as AWS writes them); an invalid Root or Parent is treated as
 * absent; hex in Root/Parent is accepted in either case and normalised.
 * Unknown fields (printable ASCII only) are kept in order while they fit.
 * Returns 0 when a valid Root was found, -EINVAL otherwise (the other fields
 * are filled either way). */
int tycho_xray_parse(const char *s, size_t n, tycho_xray_header_t *out);
/* Root=1-<8>-<24>[;Parent=<16>][;Sampled=0|1|?][;Lineage=..][;extras].
 * parent may be NULL; sampled ABSENT omits the field; carry (may be NULL)
 * supplies Lineage and the unknown fields. Returns the length, or -ENOSPC. */
int tycho_xray_format(const uint8_t trace_id[16], const uint8_t *parent,
                      tycho_xray_sampled_t sampled, const tycho_xray_header_t *carry, char *out,
                      size_t cap);

/* --- extraction: precedence between the two formats ---------------------- */

typedef enum {
    TYCHO_TRACE_SRC_NONE,      /* nothing usable: start a new trace */
    TYCHO_TRACE_SRC_W3C,       /* a valid traceparent (wins over X-Amzn-Trace-Id) */
    TYCHO_TRACE_SRC_XRAY,      /* X-Amzn-Trace-Id with Root and Parent */
    TYCHO_TRACE_SRC_XRAY_ROOT, /* X-Amzn-Trace-Id with a Root only (e.g. added by an ALB) */
} tycho_trace_source_t;

typedef struct tycho_trace_incoming {
    tycho_trace_source_t source;
    uint8_t trace_id[16]; /* set unless source NONE */
    int has_parent;       /* a remote parent span: W3C, XRAY */
    uint8_t parent_span_id[8];
    uint8_t flags;                 /* W3C trace-flags of the parent (sampled bit from X-Ray) */
    int sampling_decided;          /* 0: no parent decision (Sampled=? or absent, Root only) */
    tycho_tracestate_t tracestate; /* only from a valid traceparent, else empty */
    tycho_xray_header_t xray;      /* the parsed X-Amzn-Trace-Id: Lineage and extras carry on */
} tycho_trace_incoming_t;

/* Applies the precedence (any header may be NULL): a valid traceparent wins
 * (with its tracestate); else an X-Amzn-Trace-Id with a valid Root (and
 * Parent, when present and valid); else nothing. Never fails. */
void tycho_trace_extract(const char *traceparent, size_t tplen, const char *tracestate,
                         size_t tslen, const char *xamzn, size_t xlen, tycho_trace_incoming_t *out);

/* --- injection: the headers of an outgoing call --------------------------- */

typedef struct tycho_trace_headers {
    char traceparent[TYCHO_TRACEPARENT_LEN + 1];
    char tracestate[sizeof(((tycho_tracestate_t *)0)->str)]; /* "" when empty: omit the header */
    char xamzn[TYCHO_XRAY_HEADER_MAX];
} tycho_trace_headers_t;

/* Formats traceparent, tracestate and X-Amzn-Trace-Id (Sampled from the
 * sampled flag, Lineage and extras from carry) for a call whose parent is
 * span_id. tracestate and carry may be NULL. */
void tycho_trace_inject(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
                        const tycho_tracestate_t *tracestate, const tycho_xray_header_t *carry,
                        tycho_trace_headers_t *out);

#endif
