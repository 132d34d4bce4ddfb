#include "exporters/export_gzip.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* windowBits 15 + 16: a gzip header and trailer around the deflate data. */
#define GZIP_WINDOW (15 + 16)

int tycho_export_gzip(const void *in, size_t n, tycho_buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t max = deflateBound(&z, (uLong)n);
    int rc = 0;
    if (n > UINT32_MAX || max > UINT32_MAX || tycho_buf_reserve(out, max + 1) != 0) {
        rc = -ENOMEM;
    } else {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)max;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            rc = -EIO;
        } else {
            out->len += z.total_out;
            out->data[out->len] = 0;
        }
    }
    deflateEnd(&z);
    return rc;
}
