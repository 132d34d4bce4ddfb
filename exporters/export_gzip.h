/* export_gzip — gzip (RFC 1952) compression of a request body, for
 * OTEL_EXPORTER_OTLP_COMPRESSION=gzip. zlib's fastest level: the telemetry
 * thread shares the CPU with the workers, and OTLP spans still shrink about
 * fivefold. Any thread. */
#ifndef TYCHO_EXPORTERS_EXPORT_GZIP_H
#define TYCHO_EXPORTERS_EXPORT_GZIP_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the gzip member holding in[0..n) to out. 0, -ENOMEM or -EIO. */
int tycho_export_gzip(const void *in, size_t n, tycho_buf_t *out);

#endif
