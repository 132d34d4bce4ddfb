#include "exporters/pb_write.h"

#include <errno.h>
#include <string.h>

uint8_t *tycho_pb_put_varint_field(uint8_t *p, unsigned field, uint64_t v)
{
    if (!v) return p;
    return tycho_pb_put_varint(tycho_pb_put_tag(p, field, TYCHO_PB_VARINT), v);
}

void tycho_pb_out_init(tycho_pb_out_t *o, tycho_buf_t *b)
{
    *o = (tycho_pb_out_t){.b = b, .start = b->len};
}

int tycho_pb_out_grow(tycho_pb_out_t *o, size_t n)
{
    if (o->failed) return 0;
    if (tycho_buf_reserve(o->b, n) == 0) return 1;
    o->failed = 1;
    return 0;
}

void tycho_pb_out_varint(tycho_pb_out_t *o, unsigned field, uint64_t v)
{
    if (!v || !tycho_pb_out_room(o, 2 * TYCHO_PB_VARINT_MAX)) return;
    tycho_pb_out_advance(o, tycho_pb_put_varint_field(tycho_pb_out_at(o), field, v));
}

void tycho_pb_out_fixed64(tycho_pb_out_t *o, unsigned field, uint64_t v)
{
    if (!v || !tycho_pb_out_room(o, TYCHO_PB_VARINT_MAX + 8)) return;
    tycho_pb_out_advance(o, tycho_pb_put_fixed64_field(tycho_pb_out_at(o), field, v));
}

void tycho_pb_out_fixed32(tycho_pb_out_t *o, unsigned field, uint32_t v)
{
    if (!v || !tycho_pb_out_room(o, TYCHO_PB_VARINT_MAX + 4)) return;
    uint8_t *p = tycho_pb_put_tag(tycho_pb_out_at(o), field, TYCHO_PB_I32);
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    tycho_pb_out_advance(o, p);
}

void tycho_pb_out_bytes(tycho_pb_out_t *o, unsigned field, const void *s, size_t n)
{
    if (n > SIZE_MAX - 2 * TYCHO_PB_VARINT_MAX) {
        o->failed = 1;
        return;
    }
    if (!tycho_pb_out_room(o, 2 * TYCHO_PB_VARINT_MAX + n)) return;
    tycho_pb_out_advance(o, tycho_pb_put_bytes(tycho_pb_out_at(o), field, s, n));
}

tycho_pb_mark_t tycho_pb_out_begin(tycho_pb_out_t *o, unsigned field, size_t guess)
{
    tycho_pb_mark_t m = {o->b->len, guess};
    if (!tycho_pb_out_room(o, TYCHO_PB_VARINT_MAX + guess)) return m;
    tycho_pb_out_advance(o, tycho_pb_put_tag(tycho_pb_out_at(o), field, TYCHO_PB_LEN) + guess);
    m.body = o->b->len;
    return m;
}

void tycho_pb_out_end(tycho_pb_out_t *o, tycho_pb_mark_t m)
{
    if (o->failed) return;
    size_t body = o->b->len - m.body, k = tycho_pb_varint_size(body);
    if (k > m.reserved && !tycho_pb_out_room(o, k - m.reserved)) return;
    uint8_t *len_at = (uint8_t *)o->b->data + m.body - m.reserved;
    if (k != m.reserved) { /* the guess was wrong: the body moves to just after k bytes */
        memmove(len_at + k, len_at + m.reserved, body);
        o->b->len = m.body - m.reserved + k + body;
    }
    tycho_pb_put_varint(len_at, body);
}

int tycho_pb_out_finish(tycho_pb_out_t *o)
{
    if (o->failed) o->b->len = o->start;
    if (o->b->data) o->b->data[o->b->len] = 0;
    return o->failed ? -ENOMEM : 0;
}
