/* export_gzip — gzip (RFC 1952) members of request bodies, for
 * OTEL_EXPORTER_OTLP_COMPRESSION=gzip: libdeflate at its fastest level
 * (about 3x the speed of zlib's fastest on OTLP spans, and a little
 * smaller), since the telemetry thread shares the CPU with the workers. A
 * compressor keeps its tables from one body to the next: one per pipeline,
 * used by one thread at a time. */
#ifndef TYCHO_EXPORTERS_EXPORT_GZIP_H
#define TYCHO_EXPORTERS_EXPORT_GZIP_H

#include <stddef.h>

#include "core/buf.h"

typedef struct tycho_export_gzip tycho_export_gzip_t;

/* NULL on ENOMEM. */
tycho_export_gzip_t *tycho_export_gzip_new(void);
void tycho_export_gzip_free(tycho_export_gzip_t *g); /* NULL is fine */

/* Appends the gzip member holding in[0..n) to out. 0, -ENOMEM or -EIO. */
int tycho_export_gzip(tycho_export_gzip_t *g, const void *in, size_t n, tycho_buf_t *out);

#endif
