/* prometheus_text — renders a metrics snapshot in the Prometheus text
 * exposition format 0.0.4 (what /metrics serves). Pure functions over a
 * snapshot: any thread, no shared state. */
#ifndef TYCHO_TELEMETRY_PROMETHEUS_TEXT_H
#define TYCHO_TELEMETRY_PROMETHEUS_TEXT_H

#include "core/buf.h"
#include "telemetry/metrics.h"

#define TYCHO_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends the exposition of every family: HELP and TYPE once per family
 * (alone for a family without series yet), histograms as cumulative
 * _bucket{le} (with +Inf), _sum and _count. Returns 0 or -ENOMEM. */
int tycho_prom_render(const tycho_metrics_snapshot_t *snap, tycho_buf_t *out);

/* Formats a sample value the way Prometheus parses it back exactly: "+Inf",
 * "-Inf", "NaN", otherwise the JSON number text of tycho_buf_number_text
 * (exact integers as digits, the rest in the shortest form that reads back
 * as v). out needs TYCHO_BUF_NUMBER_MAX bytes; returns the length. */
size_t tycho_prom_format_double(double v, char out[TYCHO_BUF_NUMBER_MAX]);

/* Appends s with the label-value escapes (backslash, double quote, newline);
 * invalid UTF-8 becomes U+FFFD. help=1 uses the HELP escapes (backslash and
 * newline only). Returns 0 or -ENOMEM. */
int tycho_prom_append_escaped(tycho_buf_t *out, const char *s, size_t n, int help);

#endif
