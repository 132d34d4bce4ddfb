#include "exporters/export_snappy.h"

#include <errno.h>
#include <snappy-c.h>

int tycho_export_snappy(const void *in, size_t n, tycho_buf_t *out)
{
    size_t max = snappy_max_compressed_length(n);
    if (tycho_buf_reserve(out, max + 1) != 0) return -ENOMEM;
    size_t len = max;
    if (snappy_compress(in, n, out->data + out->len, &len) != SNAPPY_OK) return -EIO;
    out->len += len;
    out->data[out->len] = 0;
    return 0;
}
