#include "exporters/export_gzip.h"

#include <errno.h>
#include <libdeflate.h>
#include <stdlib.h>

#define FASTEST 1 /* libdeflate's levels run 0 (store) to 12 */

struct tycho_export_gzip {
    struct libdeflate_compressor *c;
};

tycho_export_gzip_t *tycho_export_gzip_new(void)
{
    tycho_export_gzip_t *g = malloc(sizeof *g);
    if (g && !(g->c = libdeflate_alloc_compressor(FASTEST))) {
        free(g);
        g = NULL;
    }
    return g;
}

void tycho_export_gzip_free(tycho_export_gzip_t *g)
{
    if (!g) return;
    libdeflate_free_compressor(g->c);
    free(g);
}

int tycho_export_gzip(tycho_export_gzip_t *g, const void *in, size_t n, tycho_buf_t *out)
{
    size_t max = libdeflate_gzip_compress_bound(g->c, n);
    if (tycho_buf_reserve(out, max + 1) != 0) return -ENOMEM;
    size_t got = libdeflate_gzip_compress(g->c, in, n, out->data + out->len, max);
    if (got == 0) return -EIO; /* not within the bound: cannot happen */
    out->len += got;
    out->data[out->len] = 0;
    return 0;
}
