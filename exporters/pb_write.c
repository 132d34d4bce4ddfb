#include "exporters/pb_write.h"

#include <string.h>

uint8_t *tycho_pb_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

uint8_t *tycho_pb_put_varint_field(uint8_t *p, unsigned field, uint64_t v)
{
    if (!v) return p;
    *p++ = (uint8_t)(field << 3 | TYCHO_PB_VARINT);
    return tycho_pb_put_varint(p, v);
}

uint8_t *tycho_pb_put_len(uint8_t *p, unsigned field, size_t len)
{
    *p++ = (uint8_t)(field << 3 | TYCHO_PB_LEN);
    return tycho_pb_put_varint(p, len);
}

uint8_t *tycho_pb_put_bytes(uint8_t *p, unsigned field, const void *s, size_t n)
{
    p = tycho_pb_put_len(p, field, n);
    if (n) memcpy(p, s, n);
    return p + n;
}
