/* otlp_encode — OTLP/HTTP protobuf bodies for traces (PROTOCOLS.md section
 * 3): one ExportTraceServiceRequest holding one ResourceSpans (the process's
 * resource) with one ScopeSpans (scope "tycho", version TYCHO_VERSION), and
 * the reading of the ExportTraceServiceResponse. Pure functions, any thread;
 * spans are only read. Strings that are not valid UTF-8 are sent with
 * U+FFFD in place of the bad bytes (receivers reject invalid UTF-8). */
#ifndef TYCHO_EXPORTERS_OTLP_ENCODE_H
#define TYCHO_EXPORTERS_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "exporters/export_config.h"
#include "telemetry/span.h"

#define TYCHO_OTLP_SCOPE_NAME "tycho"
#define TYCHO_OTLP_CONTENT_TYPE "application/x-protobuf"

/* Span.flags: W3C flags in bits 0-7, then HAS_IS_REMOTE and IS_REMOTE. */
#define TYCHO_OTLP_FLAG_HAS_IS_REMOTE 0x100u
#define TYCHO_OTLP_FLAG_IS_REMOTE 0x200u

/* Semantic-convention resource keys whose values are string arrays (the
 * ECS log group and stream names and ARNs): their comma-separated value is
 * sent as an ArrayValue of strings. */
int tycho_otlp_is_array_key(const char *key);

/* Appends the encoded request to out. resource: string attributes. 0,
 * -ENOMEM. */
int tycho_otlp_encode_traces(const tycho_export_kvs_t *resource, tycho_span_t *const *spans,
                             size_t n, tycho_buf_t *out);

/* Reads a 2xx response body, or its start: a body cut short gives what
 * its bytes hold (the count, the start of the message). An empty body or
 * one without partial_success is full success (*rejected 0, msg ""). 0, or
 * -EINVAL when the body is not an ExportTraceServiceResponse (then success
 * is assumed by the caller). */
int tycho_otlp_parse_response(const void *body, size_t len, int64_t *rejected, char *msg,
                              size_t msglen);

#endif
