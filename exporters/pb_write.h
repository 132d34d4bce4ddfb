/* pb_write — the protobuf wire format written by hand: varints, tags and
 * length-delimited fields, into a buffer sized beforehand (size first, then
 * write, as protobuf-c does). For the hottest export messages, where
 * protobuf-c's generic descriptor walk showed in profiles; the schemas stay
 * in exporters/proto/ and the tests decode with protobuf-c and protobufjs.
 * Callers follow proto3's rules as protobuf-c applies them: zero scalars and
 * empty strings are left out, sub-messages that are set are always written.
 * Pure functions, any thread. */
#ifndef TYCHO_EXPORTERS_PB_WRITE_H
#define TYCHO_EXPORTERS_PB_WRITE_H

#include <stddef.h>
#include <stdint.h>

enum { TYCHO_PB_VARINT = 0, TYCHO_PB_LEN = 2 };

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

/* Bytes of a varint field of value v, 0 when v is 0 (left out). */
static inline size_t tycho_pb_varint_field_size(uint64_t v)
{
    return v ? 1 + tycho_pb_varint_size(v) : 0;
}

/* Each writes at p and returns the position after what it wrote. field < 16. */
uint8_t *tycho_pb_put_varint(uint8_t *p, uint64_t v);
uint8_t *tycho_pb_put_varint_field(uint8_t *p, unsigned field, uint64_t v); /* nothing for 0 */
uint8_t *tycho_pb_put_len(uint8_t *p, unsigned field, size_t len); /* tag and length only */
uint8_t *tycho_pb_put_bytes(uint8_t *p, unsigned field, const void *s, size_t n);

#endif
