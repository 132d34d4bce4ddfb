/* pb_write — the protobuf wire format written by hand: varints, tags and
 * length-delimited fields, in one pass onto a growable buffer
 * (tycho_pb_out_*: each sub-message's length written after its body). A
 * small message whose lengths follow from its strings may be written whole
 * at tycho_pb_out_at after one tycho_pb_out_room check, with tycho_pb_put_*.
 * For the hottest export messages (the OTLP request, the Loki push), where
 * protobuf-c's generic descriptor walk showed in profiles; the schemas stay
 * in exporters/proto/ and the tests decode with protobuf-c and protobufjs.
 * Callers follow proto3's rules as protobuf-c applies them: zero scalars and
 * empty strings are left out, sub-messages that are set are always written.
 * Pure functions, any thread (a tycho_pb_out_t: the thread owning its buffer). */
#ifndef TYCHO_EXPORTERS_PB_WRITE_H
#define TYCHO_EXPORTERS_PB_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"

enum { TYCHO_PB_VARINT = 0, TYCHO_PB_I64 = 1, TYCHO_PB_LEN = 2, TYCHO_PB_I32 = 5 };

/* The most bytes a varint takes (a uint64_t). */
#define TYCHO_PB_VARINT_MAX 10

/* Bytes of v as a varint (1..10; a negative int64 takes 10). */
static inline size_t tycho_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Bytes of a length-delimited field of len bytes (field numbers below 16:
 * a one-byte tag). */
static inline size_t tycho_pb_len_size(size_t len)
{
    return 1 + tycho_pb_varint_size(len) + len;
}

/* Each writes at p and returns the position after what it wrote (any field
 * number; a room check counting one byte per tag assumes fields below 16).
 * Inline: called per attribute, they showed as calls in profiles. */
static inline uint8_t *tycho_pb_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *tycho_pb_put_tag(uint8_t *p, unsigned field, unsigned wire_type)
{
    return tycho_pb_put_varint(p, (uint64_t)field << 3 | wire_type);
}

/* tag and length only */
static inline uint8_t *tycho_pb_put_len(uint8_t *p, unsigned field, size_t len)
{
    return tycho_pb_put_varint(tycho_pb_put_tag(p, field, TYCHO_PB_LEN), len);
}

/* memcpy, without a call for up to 16 bytes (attribute values are mostly
 * that short): two overlapping moves of 8, 4 or 1 bytes. */
static inline void tycho_pb_copy(uint8_t *d, const void *src, size_t n)
{
    const uint8_t *s = src;
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n) { /* 1 to 3: first, middle, last */
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

static inline uint8_t *tycho_pb_put_bytes(uint8_t *p, unsigned field, const void *s, size_t n)
{
    p = tycho_pb_put_len(p, field, n);
    tycho_pb_copy(p, s, n);
    return p + n;
}

uint8_t *tycho_pb_put_varint_field(uint8_t *p, unsigned field, uint64_t v); /* nothing for 0 */

/* 8 bytes, little-endian. */
static inline uint8_t *tycho_pb_put_fixed64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8); /* one store: GCC -O2 kept the byte loop as 8 */
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
    return p + 8;
}

/* A fixed64 field (tag and value); nothing for 0. */
static inline uint8_t *tycho_pb_put_fixed64_field(uint8_t *p, unsigned field, uint64_t v)
{
    if (!v) return p;
    return tycho_pb_put_fixed64(tycho_pb_put_tag(p, field, TYCHO_PB_I64), v);
}

/* One pass onto a growable buffer: writes append at b->len. The first failed
 * allocation marks the writer failed; every later write is then skipped and
 * tycho_pb_out_finish puts b back as it was. Any field number here. */
typedef struct tycho_pb_out {
    tycho_buf_t *b;
    size_t start; /* b->len when the writer began */
    int failed;
} tycho_pb_out_t;

/* An open sub-message: where its body starts, and the bytes kept before it
 * for its length. */
typedef struct tycho_pb_mark {
    size_t body;
    size_t reserved;
} tycho_pb_mark_t;

void tycho_pb_out_init(tycho_pb_out_t *o, tycho_buf_t *b);
/* Makes room for n more bytes at b->len (amortised doubling): 1, or 0 with
 * failed set. */
int tycho_pb_out_grow(tycho_pb_out_t *o, size_t n);
static inline int tycho_pb_out_room(tycho_pb_out_t *o, size_t n)
{
    if (o->b->cap - o->b->len > n) return 1; /* cap > len once anything was reserved */
    return tycho_pb_out_grow(o, n);
}
/* The write position, valid until the next room check. */
static inline uint8_t *tycho_pb_out_at(tycho_pb_out_t *o)
{
    return (uint8_t *)o->b->data + o->b->len;
}
/* Ends a write made at tycho_pb_out_at after a room check: p is past its end. */
static inline void tycho_pb_out_advance(tycho_pb_out_t *o, uint8_t *p)
{
    o->b->len = (size_t)(p - (uint8_t *)o->b->data);
}
void tycho_pb_out_varint(tycho_pb_out_t *o, unsigned field, uint64_t v);  /* nothing for 0 */
void tycho_pb_out_fixed64(tycho_pb_out_t *o, unsigned field, uint64_t v); /* nothing for 0 */
void tycho_pb_out_fixed32(tycho_pb_out_t *o, unsigned field, uint32_t v); /* nothing for 0 */
/* A length-delimited field, written even when n is 0. */
void tycho_pb_out_bytes(tycho_pb_out_t *o, unsigned field, const void *s, size_t n);
/* Opens sub-message field: its tag, then guess bytes kept for its length
 * (the varint size its body most likely takes; a wrong guess only costs a
 * move of the body when it ends). */
tycho_pb_mark_t tycho_pb_out_begin(tycho_pb_out_t *o, unsigned field, size_t guess);
/* Writes the length of the sub-message opened at m, as a minimal varint. */
void tycho_pb_out_end(tycho_pb_out_t *o, tycho_pb_mark_t m);
/* NUL-terminates b: 0, or -ENOMEM when a write failed (b->len back to its
 * value at init). */
int tycho_pb_out_finish(tycho_pb_out_t *o);

#endif
