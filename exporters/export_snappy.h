/* export_snappy — snappy *block* compression (a varint of the raw length,
 * then the compressed elements; never the framed "sNaPpY" stream format),
 * which both Prometheus remote write and Loki require (PROTOCOLS.md, shared
 * building blocks). Any thread. */
#ifndef TYCHO_EXPORTERS_EXPORT_SNAPPY_H
#define TYCHO_EXPORTERS_EXPORT_SNAPPY_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the compressed form of in[0..n) to out. 0, -ENOMEM or -EIO. */
int tycho_export_snappy(const void *in, size_t n, tycho_buf_t *out);

#endif
