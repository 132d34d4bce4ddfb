/* sampler — the head sampling decision for a new span, configured like
 * every OpenTelemetry SDK by OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
 * A sampler is immutable after configuration: any thread may decide. */
#ifndef TYCHO_TELEMETRY_SAMPLER_H
#define TYCHO_TELEMETRY_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TYCHO_SAMPLER_ALWAYS_ON,
    TYCHO_SAMPLER_ALWAYS_OFF,
    TYCHO_SAMPLER_TRACEIDRATIO,
    TYCHO_SAMPLER_PARENTBASED_ALWAYS_ON, /* the default */
    TYCHO_SAMPLER_PARENTBASED_ALWAYS_OFF,
    TYCHO_SAMPLER_PARENTBASED_TRACEIDRATIO,
} tycho_sampler_kind_t;

typedef struct tycho_sampler {
    tycho_sampler_kind_t kind;
    double ratio;       /* the *traceidratio samplers, [0, 1] */
    uint64_t threshold; /* sample when the trace id's low 56 bits are >= this */
} tycho_sampler_t;

/* What the parent said. UNDECIDED (X-Ray Sampled=? or no Sampled field, or
 * an ALB Root without Parent) is decided like a root span. */
typedef enum {
    TYCHO_PARENT_NONE,
    TYCHO_PARENT_SAMPLED,
    TYCHO_PARENT_NOT_SAMPLED,
    TYCHO_PARENT_UNDECIDED,
} tycho_parent_state_t;

/* Configures from a sampler name and argument (NULL name -> the default
 * parentbased_always_on; NULL/"" arg -> ratio 1.0). Returns 0; 1 when the
 * argument was invalid and ignored as the spec says (ratio 1.0, warning in
 * msg); -EINVAL for an unknown name, -ENOTSUP for jaeger_remote and xray
 * (message in msg). */
int tycho_sampler_configure(tycho_sampler_t *s, const char *name, const char *arg, char *msg,
                            size_t msglen);
/* Same, from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. */
int tycho_sampler_from_env(tycho_sampler_t *s, char *msg, size_t msglen);
const char *tycho_sampler_name(const tycho_sampler_t *s);

/* The ratio decision alone: deterministic in the trace id. It uses the
 * right-most 7 bytes (56 bits) of randomness as the W3C Level 2 /
 * OTel probability sampler does, so a higher ratio samples a superset of
 * what a lower one samples, and every service with the same ratio agrees. */
int tycho_sampler_ratio_decide(uint64_t threshold, const uint8_t trace_id[16]);
uint64_t tycho_sampler_ratio_threshold(double ratio);

/* 1 to record and export the span, 0 to drop it. */
int tycho_sampler_should_sample(const tycho_sampler_t *s, const uint8_t trace_id[16],
                                tycho_parent_state_t parent);

#endif
